# Strata: `make test` is the whole check (what CI runs); `make demo` shows Strata at work on the emulator.
VENV    := .venv
PYTHON  := $(VENV)/bin/python
CARGO   ?= cargo

.PHONY: test demo venv lint lint-infra build unit-and-integration clean

test: venv lint lint-infra build unit-and-integration

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

# The deploy template (infra/): cfn-lint fails on errors and warnings, checkov on any failed check not skipped
# inline with its reason (offline, checkov reports no severities). Pinned, in their own venv: checkov pins an old
# boto3, with which the emulator's moto would answer CloudWatch in awsQuery only.
VENV_LINT := .venv-lint
lint-infra: $(VENV_LINT)/.installed
	$(VENV_LINT)/bin/cfn-lint --non-zero-exit-code warning infra/template.yaml infra/examples/*.yaml
	$(VENV_LINT)/bin/checkov -f infra/template.yaml --framework cloudformation --skip-download --compact --quiet
$(VENV_LINT)/.installed: tests/emulator/requirements-lint.txt
	python3 -m venv $(VENV_LINT)
	$(VENV_LINT)/bin/pip install --quiet --disable-pip-version-check -r tests/emulator/requirements-lint.txt
	touch $@

# The end-to-end tests run the function binaries under a Runtime API: build them first.
build:
	$(CARGO) build --workspace --bins

unit-and-integration:
	$(CARGO) test --workspace

clean:
	rm -rf $(VENV) $(VENV_LINT) target
