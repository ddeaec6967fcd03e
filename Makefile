# ingestd — the two set-up commands are `make run` and `make test`.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
BIN      := bin/ingestd
# An execution count, not a duration: a duration races the fuzz coordinator's deadline in Go 1.26
# and fails at random with "context deadline exceeded" (go.dev/issue/75804, fixed in Go 1.27).
FUZZTIME ?= 20000x
# Minimizing each new interesting input is capped, so that a run's length stays predictable.
FUZZMINTIME ?= 1s

.PHONY: run build test deps vet fmt-check unit fuzz bench bench-compare loadtest clean

run:
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/ingestd serve

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/ingestd

# The whole suite as CI runs it: format, vet, unit + integration + end-to-end tests under the
# race detector, the allocation tests (which need a build without -race), and each fuzz target
# for a few seconds.
test: deps fmt-check vet unit fuzz

# The real servers of the integration tests (rsyslog, VictoriaLogs, otelhec), installed when missing.
deps:
	bash .ci/test-deps

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# Integration tests find rsyslogd on PATH (Debian puts it in /usr/sbin), VictoriaLogs and the
# OpenTelemetry HEC receiver here.
TEST_ENV := PATH="/usr/sbin:$$PATH" VICTORIA_LOGS_BIN="$(CURDIR)/bin/tools/victoria-logs" OTELHEC_BIN="$(CURDIR)/bin/tools/otelhec"

unit:
	$(TEST_ENV) $(GO) test -race -count=1 ./...
	$(TEST_ENV) $(GO) test -count=1 -run 'Alloc' ./...

fuzz:
	$(GO) test ./core/decode -run '^$$' -fuzz '^FuzzScan$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME)
	$(GO) test ./core -run '^$$' -fuzz '^FuzzIngest$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME)
	$(GO) test ./core -run '^$$' -fuzz '^FuzzIndexed$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME)
	$(GO) test ./core -run '^$$' -fuzz '^FuzzParseRecord$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME)
	$(GO) test ./core/fieldpath -run '^$$' -fuzz '^FuzzLookup$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME)
	$(GO) test ./core/jsonraw -run '^$$' -fuzz '^FuzzStrEnd$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME)
	$(GO) test ./core/condition -run '^$$' -fuzz '^FuzzCompile$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME)
	$(GO) test ./core/mask -run '^$$' -fuzz '^FuzzApply$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME)
	$(GO) test ./core/kv -run '^$$' -fuzz '^FuzzAppendJSON$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME)
	$(GO) test ./core/jsonedit -run '^$$' -fuzz '^FuzzApply$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME)
	$(GO) test ./core/processor/enrich -run '^$$' -fuzz '^FuzzProcess$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME)
	$(GO) test ./core/processor/parse -run '^$$' -fuzz '^FuzzProcess$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME)
	$(GO) test ./core/processor/parse -run '^$$' -fuzz '^FuzzCompactJSON$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME)
	$(GO) test ./core/processor/mask -run '^$$' -fuzz '^FuzzProcess$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME)
	$(GO) test ./sinks/http -run '^$$' -fuzz '^FuzzAppendArray$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME)
	$(GO) test ./sinks/http -run '^$$' -fuzz '^FuzzRetryAfter$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME)
	$(GO) test ./wal -run '^$$' -fuzz '^FuzzReader$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME)
	$(GO) test ./sinks/s3 -run '^$$' -fuzz '^FuzzParseTime$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME)
	$(GO) test ./sinks/parquet -run '^$$' -fuzz '^FuzzParseRFC3339$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME)
	$(GO) test ./sinks/parquet -run '^$$' -fuzz '^FuzzEncode$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME)
	$(GO) test ./sinks/kafka -run '^$$' -fuzz '^FuzzFill$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME)
	$(GO) test ./sinks/nats -run '^$$' -fuzz '^FuzzAppendID$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME)
	$(GO) test ./sinks/elasticsearch -run '^$$' -fuzz '^FuzzParseAnswer$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME)
	$(GO) test ./sinks/elasticsearch -run '^$$' -fuzz '^FuzzAppendTime$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME)
	$(GO) test ./sinks/elasticsearch -run '^$$' -fuzz '^FuzzAppendStamped$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME)
	$(GO) test ./sinks/syslog -run '^$$' -fuzz '^FuzzEncode$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME)
	$(GO) test ./sinks/splunkhec -run '^$$' -fuzz '^FuzzParseAnswer$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME)

bench:
	$(GO) test ./bench -run '^$$' -bench . -benchmem

# Ingest and Baseline in one run, compared workload by workload.
BENCHSTAT := golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
bench-compare:
	$(GO) test ./bench -run '^$$' -bench . -benchmem -cpu 1 -count 6 | tee bench.txt
	$(GO) run $(BENCHSTAT) -col '.name@(Baseline Ingest)' bench.txt

# The server gets CPU 1 alone (taskset) and vegeta the rest, so the figures are ingestd's
# on one core rather than a contest for the CPUs. LOADTEST_FLAGS adds flags (-sink stdout, ...).
LOADTEST_FLAGS ?=
loadtest: build
	$(GO) run ./bench/loadtest -bin $(BIN) $$( [ $$(nproc) -ge 2 ] && echo -server-cpu 1 ) $(LOADTEST_FLAGS)

clean:
	rm -rf bin data bench.txt
