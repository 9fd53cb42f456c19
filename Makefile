# Strata: `make test` is the whole check (what CI runs); `make demo` shows Strata at work on the emulator.
VENV    := .venv
PYTHON  := $(VENV)/bin/python
CARGO   ?= cargo

.PHONY: test demo venv lint build unit-and-integration clean

test: venv lint build unit-and-integration

# Strata's main job on the embedded emulator, step by step (see tests/src/bin/strata-demo.rs).
demo: venv build
	./target/debug/strata-demo

# The emulator's Python packages (moto server, cbor2) and cargo-lambda, pinned.
venv: $(VENV)/.installed
$(VENV)/.installed: tests/emulator/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/emulator/requirements.txt
	touch $@

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# The end-to-end tests run the function binaries under a Runtime API: build them first.
build:
	$(CARGO) build --workspace --bins

unit-and-integration:
	$(CARGO) test --workspace

clean:
	rm -rf $(VENV) target
