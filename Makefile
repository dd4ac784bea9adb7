# Podium's build and test entry points. CI runs .ci/run, which runs `make test`.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

GO ?= go
# Never download another toolchain: build with the Go that is installed.
export GOTOOLCHAIN ?= local

# Version stamped into the binary. VERSION_VAR is the variable that -X sets.
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
VERSION_VAR ?= main.version
BIN ?= bin/podium
STATICCHECK ?= bin/staticcheck

# Tests: -race on two cores is slow, hence -p 2 and a generous timeout.
# CI machines are slower still: stretch every test deadline there
# (internal/testutil.Timeout reads PODIUM_TEST_TIMEOUT_SCALE).
PKGS ?= ./...
TESTFLAGS ?= -race -p 2 -timeout 30m
TEST_LOG ?= artifacts/go-test.log
# After the main run, fuzz the bundle unpacker for FUZZTIME (empty, the
# default, skips it; `make fuzz` runs it). Not part of make test by
# default: on this 2-core machine the coverage-guided worker sometimes sits
# at 0 execs/s for the whole of a short run, and the coordinator then fails
# with "context deadline exceeded" (seen in 1 run of 3), which says nothing
# about the unpacker. The seed corpus still runs in every make test.
FUZZTIME ?=
ifeq ($(CI),true)
export PODIUM_TEST_TIMEOUT_SCALE ?= 3
endif

.PHONY: build test test-unit cover deps vet clean fuzz

## build: the static podium binary in bin/.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w -X $(VERSION_VAR)=$(VERSION)' -o $(BIN) ./cmd/podium

## deps: install what the tests need (as root), or say what is missing.
deps:
	scripts/ensure-deps.sh

## test: gofmt and go vet, every test with the race detector, then a
## one-line summary.
test: deps vet
	@mkdir -p $(dir $(TEST_LOG))
	@start=$$(date +%s); rc=0; \
	$(GO) test $(TESTFLAGS) $(PKGS) 2>&1 | tee $(TEST_LOG) || rc=$$?; \
	if [[ $$rc -eq 0 && -n "$(FUZZTIME)" ]]; then \
		$(GO) test -run='^$$' -fuzz=FuzzUnpack -fuzztime=$(FUZZTIME) ./bundle 2>&1 | tee -a $(TEST_LOG) || rc=$$?; \
	fi; \
	secs=$$(( $$(date +%s) - start )); \
	ok=$$(grep -c '^ok ' $(TEST_LOG) || true); \
	failed=$$(grep -E '^FAIL[[:space:]]+[^[:space:]]+' $(TEST_LOG) | awk '{print $$2}' | sort -u | paste -sd' ' || true); \
	if [[ $$rc -eq 0 ]]; then \
		echo "make test: PASS: $$ok packages ok in $${secs}s (log: $(TEST_LOG))"; \
	else \
		echo "make test: FAIL (go test exit $$rc) after $${secs}s: $$ok packages ok; failed: $${failed:-see $(TEST_LOG)}"; \
	fi; \
	exit $$rc

## fuzz: fuzz the bundle unpacker (FUZZ_FOR, default 2m).
FUZZ_FOR ?= 2m
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzUnpack -fuzztime=$(FUZZ_FOR) ./bundle

## vet: gofmt must have nothing to say, then go vet, go.mod and go.sum
## tidy, staticcheck (pinned in tools/go.mod), and the import rules the
## package comments state (internal/importrules).
vet:
	@unformatted=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); \
	if [[ -n $$unformatted ]]; then echo "gofmt -l:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	@$(GO) mod tidy -diff || { echo "make vet: go.mod or go.sum is not tidy: run go mod tidy (the diff is above)"; exit 1; }
	cd tools && $(GO) build -o ../$(STATICCHECK) honnef.co/go/tools/cmd/staticcheck
	$(STATICCHECK) $(PKGS)
	$(GO) test -count=1 ./internal/importrules

## test-unit: the fast inner loop: every package but ./integration, no
## race detector, no fuzzing (under a minute on a quiet machine).
test-unit:
	$(GO) test -count=1 -timeout 10m $$($(GO) list $(PKGS) | grep -v '/integration$$')

## cover: statement coverage per package from each package's own tests
## (no -coverpkg, no -race; integration excluded: it runs the podium
## binary, which -cover does not see), then the total of the packages
## measured. The figures are computed from the profile, not from go
## test's output. COVER_PKGS narrows it, e.g. to the packages issue 25
## reports: make cover COVER_PKGS="./web ./web/dashboard ./publish ./scheduler ./server"
COVER_PROFILE ?= artifacts/cover.out
COVER_LOG ?= artifacts/cover.log
COVER_PKGS ?= $(PKGS)
cover:
	@mkdir -p $(dir $(COVER_PROFILE))
	@$(GO) test -count=1 -timeout 20m -coverprofile=$(COVER_PROFILE) $$($(GO) list $(COVER_PKGS) | grep -v '/integration$$') > $(COVER_LOG) 2>&1 || \
		{ grep -E '^(--- FAIL|FAIL|panic)' $(COVER_LOG); echo "make cover: tests failed (log: $(COVER_LOG))"; exit 1; }
	@awk -F'[: ]' 'NR > 1 { pkg = $$1; sub("/[^/]*$$", "", pkg); total[pkg] += $$3; if ($$4 > 0) covered[pkg] += $$3 } \
		END { for (k in total) printf "%-55s %5.1f%%\n", k, 100 * covered[k] / total[k] }' $(COVER_PROFILE) | sort
	@$(GO) tool cover -func=$(COVER_PROFILE) | tail -1

clean:
	rm -rf bin $(TEST_LOG)

# ---------------------------------------------------------------------------
# Benchmarks. Each target prints its figures, with the goal and the peer it
# is compared with in the same run where there is one (see its comment).
# They are not part of make test.
# ---------------------------------------------------------------------------
.PHONY: bench-migrate bench-watcher bench-scheduler bench-proxy bench-rolling bench-rolling-hard bench-upgrade

## bench-migrate: SQLite -> PostgreSQL migration throughput: podium migrate db
## vs pgloader vs a bare COPY, 1M rows (scripts/bench-migrate.sh says how).
bench-migrate: build
	scripts/bench-migrate.sh $(BIN)

## bench-upgrade: the schema upgrade of a SQLite database of the release of
## 2026-11-26 (schema 30) with 1M history rows (PODIUM_BENCH_ROWS): time, CPU
## time (the machine is shared), time per step and peak disk growth per
## million rows, against goose running the same SQL.
bench-upgrade:
	$(GO) test -run '^$$' -bench '^BenchmarkSchemaUpgrade$$' -benchtime 1x -count 1 -timeout 30m ./integration/

## bench-watcher: schema-version watcher latency: commit of an N+1 migration
## to detection and to the exit of an N node, median and max over
## PODIUM_BENCH_TRIALS (default 20) trials, with LISTEN and with polling only.
bench-watcher:
	$(GO) test -run '^$$' -bench '^BenchmarkSchemaWatcher$$' -benchtime 1x -timeout 30m ./integration/

## bench-rolling: a rolling upgrade of three nodes behind the shipped HAProxy
## configuration under client load: requests sent, failed (goal 0), p99
## during the upgrade vs steady state (goal <= 2x), upgrade duration. Then
## the hard variant (bench-rolling-hard).
bench-rolling: deps
	$(GO) test -run '^$$' -bench '^BenchmarkRollingUpgrade$$' -benchtime 1x -count 1 -timeout 10m ./integration/
	$(MAKE) bench-rolling-hard

## bench-rolling-hard: DrainDelay 0, an N+1 expand migration adding a column
## to every table requests use, closed-loop API-key and session traffic;
## PODIUM_BENCH_UPGRADES (default 20) consecutive upgrades: failed requests
## (goal 0), pg_stat_database deadlocks (goal 0), upgrade duration.
bench-rolling-hard: deps
	$(GO) test -run '^$$' -bench '^BenchmarkRollingUpgradeHard$$' -benchtime 1x -count 1 -timeout 60m ./integration/

## bench-scheduler: three nodes on one PostgreSQL with default scheduler
## settings: no-op claim throughput (jobs/s), due-to-start delay of
## scheduled renders (median, p99), kill-to-reclaim time. About 1.5 minutes.
bench-scheduler: deps
	$(GO) test -run '^$$' -bench '^BenchmarkScheduler$$' -benchtime 1x -count 1 -timeout 20m -v ./integration/

## bench-proxy: one app process reached directly, through Podium's proxy and
## through three peers (a bare HAProxy, Go's reverse proxy alone, a bare Go
## proxy), and through a node with [HTTP] FastPath = true, same load
## generator, interleaved rounds: requests/s and p50/p99 for small requests
## (PODIUM_BENCH_CONNS connections, PODIUM_BENCH_SECONDS per path,
## PODIUM_BENCH_ROUNDS rounds) for a Go and a Python app, the WebSocket round
## trip, and CPU per request of generator, app and proxy; and Podium with
## usage recording on against a node with [Usage] Enabled = false (every
## request is a visit: the worst case).
## Goals (issue 30): proxy CPU per request <= 1.5x HAProxy's (Go app),
## throughput >= 50% (Go app) and 85% (Python app) of direct, p99 <= 1.5x,
## WebSocket p50 <= 1.3x HAProxy's.
bench-proxy: deps
	$(GO) test -run '^$$' -bench '^BenchmarkProxy$$' -benchtime 1x -count 1 -timeout 10m ./integration/

.PHONY: bench-soak
## bench-soak: three nodes on one PostgreSQL behind HAProxy under a client
## load (reads, logins, deployments with task polling) while one node is
## SIGKILLed and restarted, one SIGSTOPped and SIGCONTed, and PostgreSQL
## restarted: requests, errors by kind, p50/p99 per operation, goroutines,
## threads, RSS and fds per node at start and end, acknowledged deployments
## lost (goal 0). About 2.5 minutes.
bench-soak: deps
	$(GO) test -run '^$$' -bench '^BenchmarkSoak$$' -benchtime 1x -count 1 -timeout 15m ./integration/

.PHONY: bench-start
## bench-start: node start-to-ready time (exec -> first 200 on /__ping__) on
## SQLite and PostgreSQL, empty database and restart, plus in-process Open;
## median and max over 10 starts each. Goal: under 300 ms on SQLite.
bench-start: deps
	$(GO) test -run '^$$' -bench BenchmarkStartToReady -benchtime 10x -count 1 ./integration

.PHONY: bench-scheduler-scale
## bench-scheduler-scale: N nodes (PODIUM_BENCH_NODES, default 10) on one
## PostgreSQL with pg_stat_statements, scheduled renders at
## PODIUM_BENCH_RATE per minute (default 1000), one window
## (PODIUM_BENCH_WINDOW seconds, default 60) before and one after the
## history grew by 100,000 rows: rates, lost due times, due-to-start,
## statements and CPU per job (docs/scheduling.md).
bench-scheduler-scale: deps
	$(GO) test -run '^$$' -bench '^BenchmarkSchedulerScale$$' -benchtime 1x -count 1 -timeout 20m -v ./integration/

.PHONY: bench-deploy
## bench-deploy: deploy-to-first-200 on a SQLite node for a static site, a
## Flask app whose Python environment is cached and one whose environment
## is new, plus the environment build time (median of PODIUM_BENCH_TRIALS,
## default 3). Goal: a cached environment adds under 1 s over static.
bench-deploy: deps
	$(GO) test -run '^$$' -bench '^BenchmarkDeploy$$' -benchtime 1x -count 1 -timeout 30m ./integration/
