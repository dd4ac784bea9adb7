#!/usr/bin/env bash
# make bench-migrate: times "podium migrate db" (verification included)
# against pgloader and against a bare binary COPY of the same rows, on one
# SQLite file of just over 1,000,000 rows and one PostgreSQL server, and
# prints rows/s, ratios and peak RSS.
#
# PostgreSQL: $PODIUM_BENCH_DATABASE_URL (its user must be allowed to create
# databases), else the local server at 127.0.0.1:5432 as user postgres
# with trust authentication. Scratch databases podium_bench_* are created
# and dropped. The SQLite file is built once and kept in
# ${TMPDIR:-/tmp}/podium-bench-migrate.
#
# Usage: scripts/bench-migrate.sh [podium binary] [extra bench flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-bin/podium}
shift || true

if ! command -v pgloader >/dev/null; then
	if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
		echo "bench-migrate: installing pgloader (Debian package)" >&2
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgloader >/dev/null
	else
		echo "bench-migrate: pgloader is missing: sudo apt-get install pgloader" >&2
		exit 1
	fi
fi

url=${PODIUM_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
if command -v pg_isready >/dev/null && ! pg_isready -q -d "$url"; then
	echo "bench-migrate: no PostgreSQL answers at the benchmark URL; set PODIUM_BENCH_DATABASE_URL" >&2
	exit 1
fi
export PODIUM_BENCH_DATABASE_URL=$url
[[ -x $bin ]] || { echo "bench-migrate: $bin not built (make build)" >&2; exit 1; }
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo); $(pgloader --version 2>&1 | sed -n 1p)"
exec env GOTOOLCHAIN=${GOTOOLCHAIN:-local} go run ./bench/migrate -bin "$bin" "$@"
