# Strata: `make test` is the whole check (what CI runs); `make demo` shows Strata at work on the emulator.
VENV    := .venv
PYTHON  := $(VENV)/bin/python
CARGO   ?= cargo

.PHONY: test demo bench venv lint lint-infra build unit-and-integration package deploy deploy-args clean

test: venv lint lint-infra build unit-and-integration

# Strata's main job on the embedded emulator, step by step (see tests/src/bin/strata-demo.rs).
demo: venv build
	./target/debug/strata-demo

# Benchmarks (not timed tests): the rebalancer simulation, then cold start / RSS / sizes / AWS calls per
# invocation / scale-out critical path of the release binaries (docs/benchmarks.md holds a run).
bench: venv
	$(CARGO) build --release $(addprefix -p ,$(FUNCTIONS))
	$(CARGO) bench -p strata-core --bench rebalance_sim
	$(CARGO) run -p strata-tests --bin strata-bench

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

# Every test; the fault-injection suite runs last, uncaptured, so that its summary line (seeds, runs, leaks,
# duplicates) shows in CI's output.
unit-and-integration:
	$(CARGO) test --workspace -- --skip every_seed_converges
	$(CARGO) test -p strata-tests --test faults -- --nocapture

# Deployable zips, target/lambda/<function>/bootstrap.zip, for Lambda's provided.al2023 runtime on arm64.
# cargo-lambda cross-compiles with zig, from the ziglang package of the venv.
FUNCTIONS := provisioner asg-registrar alb-scaler dns-rebalancer
LAMBDA_DIR = $(or $(CARGO_TARGET_DIR),target)/lambda
package: venv
	rustup target add aarch64-unknown-linux-gnu
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo-lambda lambda build --release --arm64 --output-format zip \
		$(addprefix --package ,$(FUNCTIONS))

# One region's Strata stack (run it once per region, or see README.md "Deploy" for a StackSet):
#   make deploy REGION=us-east-1 BUCKET=<artifact bucket in that region> HOSTED_ZONE_ID=Z... [STACK=strata]
#               [PARAMS="DryRun=true LogLevel=debug"]
# The zips go to s3://$(BUCKET)/strata/<function>/<sha256>.zip, so an update replaces only changed functions.
STACK ?= strata
ZIP_KEYS := provisioner:ProvisionerZipKey asg-registrar:AsgRegistrarZipKey alb-scaler:AlbScalerZipKey \
	dns-rebalancer:DnsRebalancerZipKey
deploy: deploy-args package
	set -e; keys=""; \
	for pair in $(ZIP_KEYS); do \
		fn=$${pair%%:*}; zip=$(LAMBDA_DIR)/$$fn/bootstrap.zip; \
		key=strata/$$fn/$$(sha256sum $$zip | cut -d' ' -f1).zip; \
		aws s3 cp --region $(REGION) --only-show-errors $$zip s3://$(BUCKET)/$$key; \
		keys="$$keys $${pair##*:}=$$key"; \
	done; \
	aws cloudformation deploy --region $(REGION) --stack-name $(STACK) --template-file infra/template.yaml \
		--capabilities CAPABILITY_IAM --no-fail-on-empty-changeset \
		--parameter-overrides ArtifactBucket=$(BUCKET) HostedZoneId=$(HOSTED_ZONE_ID) $$keys $(PARAMS)
deploy-args:
	@test -n "$(REGION)" && test -n "$(BUCKET)" && test -n "$(HOSTED_ZONE_ID)" || \
		{ echo "usage: make deploy REGION=... BUCKET=... HOSTED_ZONE_ID=... [STACK=strata] [PARAMS=...]"; exit 2; }

clean:
	rm -rf $(VENV) $(VENV_LINT) target
