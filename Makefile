# idvbus — make targets. `make test` is the test command CI runs (.ci/run).
GO      ?= go
PKGS    ?= ./...
BIN     := bin
IMGDIR  := build/images
# Images are built locally FROM scratch; nothing is ever pulled.
TAG     ?= local

# testcontainers without a registry: no Ryuk reaper image (the literal word
# "true"), and the Docker host reached on loopback (this VM has /.dockerenv,
# which would otherwise make testcontainers dial the default gateway).
export TESTCONTAINERS_RYUK_DISABLED := true
export TESTCONTAINERS_HOST_OVERRIDE ?= 127.0.0.1

.PHONY: all test test-short vet build images fuzz bench run clean

all: build test

## test: vet, then every test with the race detector (container tests skip without Docker
## unless IDVBUS_REQUIRE_DOCKER=1, as in CI).
test: vet
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

## test-short: unit and in-process tests only (no containers).
test-short:
	$(GO) test -short -count=1 $(PKGS)

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet $(PKGS)

## build: static binaries for this machine into bin/.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/ ./cmd/...

## images: idvbus/nats:$(TAG) (nats-server from the pinned module) and idvbus/ingest:$(TAG).
images:
	rm -rf $(IMGDIR) && mkdir -p $(IMGDIR)/nats $(IMGDIR)/ingest
	CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -ldflags='-s -w' -o $(IMGDIR)/nats/nats-server github.com/nats-io/nats-server/v2
	cp deploy/nats/Dockerfile deploy/nats/nats.conf $(IMGDIR)/nats/
	docker build -q -t idvbus/nats:$(TAG) $(IMGDIR)/nats
	CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -ldflags='-s -w' -o $(IMGDIR)/ingest/ingest ./cmd/ingest
	cp deploy/ingest/Dockerfile $(IMGDIR)/ingest/
	cp /etc/ssl/certs/ca-certificates.crt $(IMGDIR)/ingest/ 2>/dev/null || : > $(IMGDIR)/ingest/ca-certificates.crt
	docker build -q -t idvbus/ingest:$(TAG) $(IMGDIR)/ingest

## fuzz: run every fuzz target for FUZZTIME each (default 10s).
FUZZTIME ?= 10s
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; done

## bench: the benchmarks of docs/benchmarks.md.
bench:
	$(GO) test -run '^$$' -bench 'Ingest|Handler' -benchmem -count 5 ./pkg/ingest/ ./internal/app/
	$(GO) test -run '^$$' -bench 'BenchmarkEndToEndDelivery' -benchtime 5000x -count 3 ./internal/app/
	$(GO) test -run '^$$' -bench Parse -benchmem -benchtime 2s -count 3 ./pkg/normalize/ ./pkg/vendors/...
	$(GO) test -run '^$$' -bench 'BenchmarkNormalizer$$' -benchtime 20000x -count 3 ./pkg/normalize/

## run: the all-in-one with the development setup (same as `go run ./cmd/idvbus`).
run:
	$(GO) run ./cmd/idvbus

clean:
	rm -rf $(BIN) build
