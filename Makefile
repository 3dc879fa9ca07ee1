# ferry's own build. `make test` is what CI runs.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: build test bench fuzz lint cross install docs

build: ## build bin/ferry
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ferry ./cmd/ferry

# TESTFLAGS: the Docker and Kubernetes tests mostly wait on the Engine or the
# cluster, so up to 4 packages (-p 4) each run up to 4 of their tests at once
# (-parallel 4), more than the 2 cores of CI.
# Tests that change the process environment run alone, before the others;
# the Swarm tests run after them all (see test).
TESTFLAGS ?= -p 4 -parallel 4

# The Swarm tests (named TestSwarm*) run after the others, not beside them:
# leaving a swarm breaks the embedded DNS of containers on bridge networks
# that exist at that moment (moby/moby#45144, Engine 20.10), so a Swarm test
# ending while another test's services look each other up fails that test.
test: ## run every test (unit, end-to-end, examples)
	$(GO) test -count=1 -timeout 30m $(TESTFLAGS) -skip '^TestSwarm' ./...
	$(GO) test -count=1 -timeout 30m $(TESTFLAGS) -run '^TestSwarm' ./...

bench: build ## measure ferry against GNU make on a generated workspace (see bench/)
	$(GO) test -run '^$$' -bench . -benchtime 20x ./engine/
	$(GO) test -run '^$$' -bench . -benchtime 300x ./engine/exporter/
	$(GO) test -run '^$$' -bench 'Modules|ColdFetch' -benchtime 10x ./engine/mod/
	$(GO) run ./bench -ferry bin/ferry
	$(GO) run ./bench -ferry bin/ferry -chains 100 -length 50 -plain-make=false -noop-runs 5 -edit-runs 3 -eval-runs 3
	$(GO) run ./bench/up -ferry bin/ferry
	$(GO) run ./bench/up -ferry bin/ferry -pulled
	$(GO) run ./bench/context -ferry bin/ferry
	$(GO) run ./bench/health -ferry bin/ferry
	$(GO) run ./bench/watch -ferry bin/ferry
	$(GO) test -run '^$$' -bench 'WatchBurst' -benchtime 5x ./engine/watch/
	$(GO) test -run '^$$' -bench 'Batch5000' -benchtime 50x ./engine/dev/
	$(GO) test -run '^$$' -bench 'Rollout|CrashReport|ContextTar|ImageRebuild' -benchtime 5x ./builtins/docker/local/ ./builtins/docker/image/
	$(GO) run ./bench/liveupdate -ferry bin/ferry
	$(GO) test -run '^$$' -bench 'OutputPath' -benchtime 2s ./engine/console/
	$(GO) run ./bench/output -ferry bin/ferry
	$(GO) test -run '^$$' -bench 'BenchmarkUp' -benchtime 5x -timeout 20m ./builtins/k8s/

FUZZTIME ?= 10s

fuzz: ## run each fuzz target for FUZZTIME (CI does, briefly); an input that fails is saved under the package's testdata/fuzz
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) ./engine/
	$(GO) test -run '^$$' -fuzz '^FuzzRedact$$' -fuzztime $(FUZZTIME) ./engine/redact/

lint: ## gofmt, go vet, and the generated reference is current
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

cross: ## ferry builds for macOS and Windows (docs/platforms.md); CI runs it
	GOOS=darwin GOARCH=arm64 $(GO) build -o /dev/null ./cmd/ferry
	GOOS=windows GOARCH=amd64 $(GO) build -o /dev/null ./cmd/ferry

docs: ## regenerate docs/reference.md from the builtins' definitions, docs/stdlib.md from the stdlib's docstrings
	$(GO) run ./cmd/ferry doc > docs/reference.md
	$(GO) run ./cmd/ferry doc @std > docs/stdlib.md

install: ## install ferry into $(go env GOPATH)/bin
	$(GO) install -trimpath -ldflags '$(LDFLAGS)' ./cmd/ferry
