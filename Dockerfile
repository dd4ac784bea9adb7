# syntax=docker/dockerfile:1
#
# Podium in a container: one static binary on Debian slim, with python3 for
# report renders, running as the unprivileged user podium (uid 999).
#
#   docker build --build-arg VERSION="$(git describe --always --dirty)" -t podium .
#   docker run -d -p 3939:3939 -v podium-data:/var/lib/podium podium
#
# Configuration: mount a file at /etc/podium/podium.gcfg (read if present),
# or set PODIUM_* variables. Because the container runs as podium, every
# application runs as podium too: keep [Applications] RunAs = podium (the
# default). For PostgreSQL, set its URL in the configuration, not here.
#
# The content sandbox (docs/security.md) needs root and namespaces, which
# an unprivileged container does not have: this image sets
# PODIUM_APPLICATIONS_SANDBOX=false, so content processes are not isolated
# from each other (ha check and /__ping__ say so). To isolate them, run
# podium on the host (deploy/systemd) rather than in this container.

ARG GO_VERSION=1.26

## Build: a static binary, no cgo, reproducible paths.
FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOTOOLCHAIN=local
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# VERSION_VAR must match the Makefile's: the variable -X stamps.
ARG VERSION=dev
ARG VERSION_VAR=main.version
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags "-s -w -X ${VERSION_VAR}=${VERSION}" -o /out/podium ./cmd/podium

## Run.
FROM debian:bookworm-slim
# ca-certificates: TLS to PostgreSQL and the HTTPS calls of apps and
# reports (Podium sends no webhooks); python3: report renders; wget: the
# health check; tzdata: schedules in local time zones.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates python3 tzdata wget \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 999 podium \
 && useradd --system --uid 999 --gid podium --home-dir /var/lib/podium \
            --no-create-home --shell /usr/sbin/nologin podium \
 && install -d -o podium -g podium -m 0750 /var/lib/podium \
 && install -d -m 0755 /etc/podium
COPY --from=build /out/podium /usr/local/bin/podium

ENV PODIUM_SERVER_DATADIR=/var/lib/podium PODIUM_APPLICATIONS_SANDBOX=false
VOLUME /var/lib/podium
WORKDIR /var/lib/podium
EXPOSE 3939
USER podium:podium
# Podium stops cleanly on SIGTERM; give it longer than its own shutdown
# timeout with `docker stop -t 30`.
STOPSIGNAL SIGTERM
# Assumes the default [HTTP] Listen = :3939.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD wget -q -O /dev/null http://127.0.0.1:3939/__ping__ || exit 1
ENTRYPOINT ["podium"]
CMD ["serve"]
