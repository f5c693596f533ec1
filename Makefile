# idvbus — make targets. `make test` is the test command CI runs (.ci/run).
GO      ?= go
PKGS    ?= ./...
BIN     := bin
IMGDIR  := build/images
# Images are built locally FROM scratch; nothing is ever pulled.
TAG     ?= local

# The build identity every binary reports (--version, idvbus_build_info,
# service.version; internal/buildinfo, docs/decisions.md D38). DATE is the
# commit's time, not the clock's, so two builds of one commit are the same bytes.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE    ?= $(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo unknown)
BUILDINFO := github.com/idvbus/idvbus/internal/buildinfo
LDFLAGS   := -X $(BUILDINFO).Version=$(VERSION) -X $(BUILDINFO).Commit=$(COMMIT) -X $(BUILDINFO).Date=$(DATE)

# testcontainers without a registry: no Ryuk reaper image (the literal word
# "true"), and the Docker host reached on loopback (this VM has /.dockerenv,
# which would otherwise make testcontainers dial the default gateway).
export TESTCONTAINERS_RYUK_DISABLED := true
export TESTCONTAINERS_HOST_OVERRIDE ?= 127.0.0.1

# The subscriber SDK (sdk/) is a module of its own, which ./... does not
# descend into: test, test-short, vet and fuzz run it as well.
SDK     := sdk

.PHONY: all test test-short vet lint tidy-check vulncheck build images fuzz bench chaos chaos-short run clean up down config-docs sdk-check release

all: build test

## test: vet, then every test with the race detector, the server's and the SDK's
## (container tests skip without Docker unless IDVBUS_REQUIRE_DOCKER=1, as in CI).
test: vet
	$(GO) test -race -count=1 -timeout 15m $(PKGS)
	cd $(SDK) && $(GO) test -race -count=1 -timeout 5m ./...

## test-short: unit and in-process tests only (no containers).
test-short:
	$(GO) test -short -count=1 $(PKGS)
	cd $(SDK) && $(GO) test -short -count=1 ./...

## config-docs: regenerate docs/config.md and schemas/config.schema.json after changing a config key.
config-docs:
	$(GO) generate ./internal/config

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet $(PKGS)
	cd $(SDK) && $(GO) vet ./...

## sdk-check: a fresh module requiring only the SDK builds the README's subscriber
## example, and its module graph holds no server dependency (tools/sdk-consumer-check.sh).
sdk-check:
	GO=$(GO) tools/sdk-consumer-check.sh

## lint: golangci-lint with .golangci.yml, the pinned version, built into bin/tools on first
## use (from the Go module proxy, so CI on a new machine gets the same one).
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := $(CURDIR)/$(BIN)/tools/golangci-lint-$(GOLANGCI_LINT_VERSION)
lint: $(GOLANGCI_LINT)
	$(GOLANGCI_LINT) run ./...
$(GOLANGCI_LINT):
	mkdir -p $(BIN)/tools/gl-$(GOLANGCI_LINT_VERSION)
	GOBIN=$(CURDIR)/$(BIN)/tools/gl-$(GOLANGCI_LINT_VERSION) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv $(BIN)/tools/gl-$(GOLANGCI_LINT_VERSION)/golangci-lint $@ && rmdir $(BIN)/tools/gl-$(GOLANGCI_LINT_VERSION)

## tidy-check: go.mod and go.sum are what `go mod tidy` makes them (prints the diff if not).
tidy-check:
	$(GO) mod tidy -diff

## vulncheck: govulncheck against the Go vulnerability database, built offline from the
## golang.org/x/vulndb module (.ci/vulncheck says so when it has to skip).
vulncheck:
	GO=$(GO) .ci/vulncheck

## build: static binaries for this machine into bin/.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='$(LDFLAGS)' -o $(BIN)/ ./cmd/...

## images: every image FROM scratch, tagged $(TAG): idvbus/nats (nats-server from the
## pinned module), idvbus/ingest, idvbus/normalizer, idvbus/notifier, idvbus/idvbus
## (all-in-one), idvbus/idvctl, idvbus/demo-subscriber. One go build for all binaries.
IMAGES := nats ingest normalizer notifier idvbus idvctl demo-subscriber
# What each image's build context holds besides deploy/<image>/ (see its Dockerfile).
ctx_nats            := nats-server healthcheck
ctx_ingest          := ingest healthcheck ca-certificates.crt
ctx_normalizer      := normalizer healthcheck ca-certificates.crt
ctx_notifier        := notifier healthcheck ca-certificates.crt
ctx_idvbus          := idvbus healthcheck ca-certificates.crt
ctx_idvctl          := idvctl ca-certificates.crt
ctx_demo-subscriber := demo-subscriber healthcheck
NATS_MODULE := github.com/nats-io/nats-server/v2
# The label internal/natscontainer checks, so tests reuse this nats image
# instead of rebuilding it (same inputs, same digest: see contextDigest there).
NATS_DIGEST  = $$({ cat deploy/nats/Dockerfile deploy/nats/nats.conf tools/healthcheck/main.go; \
	$(GO) list -m -f '{{with .Replace}}{{.Path}}@{{.Version}}{{else}}{{.Version}}{{end}}' $(NATS_MODULE); } | sha256sum | cut -d' ' -f1)

images:
	rm -rf $(IMGDIR) && mkdir -p $(IMGDIR)/bin
	CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -ldflags='-s -w $(LDFLAGS)' -o $(IMGDIR)/bin/ \
	  $(NATS_MODULE) ./cmd/ingest ./cmd/normalizer ./cmd/notifier ./cmd/idvbus ./cmd/idvctl \
	  ./tools/healthcheck ./examples/demo-subscriber
	cp /etc/ssl/certs/ca-certificates.crt $(IMGDIR)/bin/ 2>/dev/null || : > $(IMGDIR)/bin/ca-certificates.crt
	@set -e; for i in $(IMAGES); do mkdir $(IMGDIR)/$$i; cp deploy/$$i/* $(IMGDIR)/$$i/; done
	@set -e; $(foreach i,$(IMAGES),for f in $(ctx_$(i)); do ln -f $(IMGDIR)/bin/$$f $(IMGDIR)/$(i)/ 2>/dev/null || cp $(IMGDIR)/bin/$$f $(IMGDIR)/$(i)/; done;)
	@# The builds run side by side (each is a few COPYs); a failure prints its log.
	@set -e; pids=; for i in $(IMAGES); do \
	  label=; [ $$i != nats ] || label="--label io.idvbus.nats.context-digest=$(NATS_DIGEST)"; \
	  docker build -q $$label -t idvbus/$$i:$(TAG) $(IMGDIR)/$$i >$(IMGDIR)/$$i.log 2>&1 & pids="$$pids $$!:$$i"; \
	done; ok=1; for p in $$pids; do \
	  if wait $${p%%:*}; then echo "built idvbus/$${p#*:}:$(TAG)"; else ok=; echo "docker build idvbus/$${p#*:} failed:"; cat $(IMGDIR)/$${p#*:}.log; fi; \
	done; [ -n "$$ok" ]

## up: build the images and start the demo stack (docker-compose.yml); down: stop it, keep the data.
COMPOSE ?= docker-compose
up: images
	IDV_TAG=$(TAG) $(COMPOSE) up -d
down:
	$(COMPOSE) down

## fuzz: run every fuzz target for FUZZTIME each (default 10s).
FUZZTIME ?= 10s
fuzz:
	@set -e; for mod in . $(SDK); do (cd $$mod && for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; done); done

## bench: the benchmarks of docs/benchmarks.md.
bench:
	$(GO) test -run '^$$' -bench 'Ingest|Handler' -benchmem -count 5 ./internal/ingest/ ./internal/app/
	$(GO) test -run '^$$' -bench 'BenchmarkEndToEndDelivery' -benchtime 5000x -count 3 ./internal/app/
	$(GO) test -run '^$$' -bench Parse -benchmem -benchtime 2s -count 3 ./internal/normalize/ ./internal/vendors/...
	$(GO) test -run '^$$' -bench 'BenchmarkNormalizer$$' -benchtime 20000x -count 3 ./internal/normalize/

## chaos: the fault suite (test/chaos), full form: kill -9 of every service and of
## nats-server under load, subscriber outage, full store, frozen normalizer,
## ordering under kills, partition of a cluster node (Docker); loopback ports
## 18700-18799 only. It rewrites docs/reliability.md with the run's figures.
## chaos-short: the same scenarios, shorter and at a lower rate (CI, .ci/run).
chaos:
	IDVBUS_CHAOS=full $(GO) test -count=1 -timeout 60m -v -run . ./test/chaos/
chaos-short:
	IDVBUS_CHAOS=short $(GO) test -count=1 -timeout 20m -v -run . ./test/chaos/

## release: the five binaries for linux and darwin, amd64 and arm64, into dist/: one
## idvbus_<version>_<os>_<arch>.tar.gz each (binaries stripped, with LICENSE, README
## and CHANGELOG) and SHA256SUMS. Static (CGO_ENABLED=0), -trimpath, the build identity
## in ldflags; the archives are reproducible (sorted, owner 0, the commit's time).
## Nothing is published: tag, then upload dist/ (CHANGELOG.md, "Tag plan").
RELEASE_BINS := ingest normalizer notifier idvbus idvctl
PLATFORMS    := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64
DIST         := dist
release:
	rm -rf $(DIST) && mkdir -p $(DIST)
	@set -e; for p in $(PLATFORMS); do \
	  os=$${p%/*}; arch=$${p#*/}; name=idvbus_$(VERSION)_$${os}_$${arch}; \
	  echo "build $$name"; mkdir $(DIST)/$$name; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags='-s -w $(LDFLAGS)' \
	    -o $(DIST)/$$name/ $(addprefix ./cmd/,$(RELEASE_BINS)); \
	  cp LICENSE README.md CHANGELOG.md $(DIST)/$$name/; \
	  tar -C $(DIST) --sort=name --owner=0 --group=0 --numeric-owner --mtime='$(DATE)' -cf - $$name \
	    | gzip -n > $(DIST)/$$name.tar.gz; \
	  rm -r $(DIST)/$$name; \
	done
	cd $(DIST) && sha256sum *.tar.gz > SHA256SUMS && cat SHA256SUMS

## run: the all-in-one with the development setup (same as `go run ./cmd/idvbus`).
run:
	$(GO) run ./cmd/idvbus

clean:
	rm -rf $(BIN) build $(DIST)
