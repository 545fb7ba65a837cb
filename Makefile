# Ticketflow — `make run` starts a node (for now: the built-in demo), `make test` runs every test.
SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)
SWIFT ?= swift
DEB_PACKAGES := libzmq3-dev libsqlite3-dev pkg-config tzdata curl etcd-server
BIN := .build/release/ticketflow

.PHONY: run test bench build deps browser-deps check-workflows clean api-check fuzz nemesis

## deps: install the Debian packages the build needs, quietly, only when missing.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

build: deps
	$(SWIFT) build -c release --product ticketflow

## run: a single node with the default workflow, its SQLite file under ./data, on http://127.0.0.1:8080.
## The first admin's token and password are $$TICKETFLOW_ADMIN_TOKEN and $$TICKETFLOW_ADMIN_PASSWORD,
## or development defaults (docs/security.md).
run: build
	@token=$${TICKETFLOW_ADMIN_TOKEN:-dev-admin-token-change-me}; password=$${TICKETFLOW_ADMIN_PASSWORD:-dev-admin-password}; \
	echo "API:     curl -H 'Authorization: Bearer $$token' http://127.0.0.1:8080/api/v1/tickets"; \
	echo "browser: http://127.0.0.1:8080/login as admin@localhost with password $$password (set on a fresh ./data only)"; \
	TICKETFLOW_ADMIN_TOKEN=$$token TICKETFLOW_ADMIN_PASSWORD=$$password $(BIN) serve --workflow workflows/b2c-support.yaml --data ./data --host 127.0.0.1 --port 8080

## browser-deps: Debian's chromium and Playwright for Python (in .build/venv-browser), for the
## end-to-end browser test; installed only when missing.
BROWSER_VENV := .build/venv-browser
browser-deps:
	@missing=""; for p in chromium python3-venv; do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
	@$(BROWSER_VENV)/bin/python -c "import playwright" 2>/dev/null || { \
	  echo "installing Playwright into $(BROWSER_VENV)"; \
	  python3 -m venv $(BROWSER_VENV) && $(BROWSER_VENV)/bin/pip install -q playwright; }

## test: unit, workflow and end-to-end tests (the end-to-end tests run the built executable;
## the browser test drives Debian's chromium with Playwright).
test: deps browser-deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	TICKETFLOW_NEMESIS_SECONDS=80 $(SWIFT) test --skip-build --filter NemesisTests
	$(SWIFT) run -q ticketflow test workflows/tests
	$(SWIFT) run -q ticketflow-fuzz tests/fuzz/workflow
	EXAMPLES=$${EXAMPLES:-60} tools/api-check.sh

## bench: every benchmark beside its baseline (not tests); writes bench/results/latest.md. See docs/benchmarks.md.
bench: deps
	$(SWIFT) build -c release --product ticketflow
	$(SWIFT) build -c release --product ticketflow-bench
	@command -v wrk >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); $$SUDO apt-get install -y -qq wrk >/dev/null; }
	bench/run.sh

## nemesis: the replicated cluster under SIGKILL and SIGSTOP for NEMESIS_SECONDS (default 600)
## while clients write, then the checker (Tests/EndToEndTests/NemesisTests.swift); make test
## runs it for 80 s. Prints the figures: kills, pauses, acknowledged, lost, duplicated, longest
## unavailability per partition.
NEMESIS_SECONDS ?= 600
nemesis: deps
	$(SWIFT) build --build-tests
	TICKETFLOW_NEMESIS_SECONDS=$(NEMESIS_SECONDS) $(SWIFT) test --skip-build --filter NemesisTests

## api-check: schemathesis (every check, with a token) against a fresh node, driven by docs/openapi.yaml;
## make test runs it with 60 examples an operation, this target with 200 (it installs schemathesis from PyPI).
api-check: deps
	tools/api-check.sh

## fuzz: libFuzzer on the workflow loader (swiftc -sanitize=fuzzer), FUZZ_SECONDS long (default
## 300), from the corpus in tests/fuzz/workflow; an input that crashes, hangs (10 s) or grows
## past 2 GB is kept under .build/fuzz/findings and fails the target. Not part of make test,
## which replays the corpus instead.
FUZZ_SECONDS ?= 300
fuzz: deps
	$(SWIFT) build -c release --scratch-path .build/fuzz --product ticketflow-fuzz -Xswiftc -sanitize=fuzzer -Xswiftc -DTICKETFLOW_FUZZ
	@mkdir -p .build/fuzz/corpus .build/fuzz/findings
	.build/fuzz/release/ticketflow-fuzz -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
	  -artifact_prefix=.build/fuzz/findings/ -print_final_stats=1 .build/fuzz/corpus tests/fuzz/workflow

clean:
	rm -rf .build
