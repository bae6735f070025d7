# Stagecraft — the two commands a new machine needs:
#   make demo   set everything up and build + run an example through the frontend
#   make test   set everything up and run the whole test suite (unit, corpus, end-to-end)

SHELL := /bin/bash
CARGO ?= cargo
DOCKER ?= /usr/bin/docker
IMAGE ?= stagecraft:dev

.PHONY: all demo test e2e-env newest-daemon image unit e2e e2e-main e2e-newest lint schema clean

all: test

# Docker daemon (BuildKit), buildx, local base images and registry. Idempotent.
e2e-env:
	bash scripts/e2e-env.sh

# Debian testing's Docker (28.x) beside the main one, for the second e2e run.
# --refresh: moves to a newer version when testing has one (checked every 12 h).
newest-daemon: e2e-env
	bash scripts/e2e-newest-daemon.sh --refresh >/dev/null

# The frontend image, built offline from the working tree.
image: e2e-env
	bash scripts/build-image.sh $(IMAGE)

demo: image
	$(DOCKER) buildx build --progress=plain -f examples/go-hello/build.yaml -t stagecraft-demo --load examples/go-hello
	$(DOCKER) run --rm stagecraft-demo
	@echo "demo image size: $$($(DOCKER) image inspect -f '{{.Size}}' stagecraft-demo) bytes"

# Everything that needs no daemon: unit tests, snapshots, the bad-input corpus.
unit:
	$(CARGO) test --workspace

# Real builds through the daemon and the frontend image: every #[ignore]d
# test in frontend/tests (e2e*.rs), once on the main daemon (dockerd 26 from
# Debian trixie) and once on the newest (Debian testing's, see
# scripts/e2e-newest-daemon.sh). Three builds at a time: most time goes to
# RUN steps that wait for apt and pip on the network, not to the 2 cores.
E2E_TESTS = $(CARGO) test -p stagecraft --tests -- --ignored --test-threads=3
# Without -j, make runs the two one after the other, main first.
e2e: e2e-main e2e-newest
	@cat target/e2e-sizes.txt 2>/dev/null || true

e2e-main: image
	$(E2E_TESTS)

e2e-newest: image newest-daemon
	STAGECRAFT_E2E_DAEMON=newest $(E2E_TESTS)

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test: lint unit e2e

# Regenerates docs/stagecraft.schema.json from the spec types.
schema:
	$(CARGO) run -q -p stagecraft -- schema > docs/stagecraft.schema.json

clean:
	$(CARGO) clean
	rm -rf build
