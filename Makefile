# Strata: `make test` is the whole check (what CI runs); `make demo` shows Strata at work on the emulator.
VENV    := .venv
PYTHON  := $(VENV)/bin/python
CARGO   ?= cargo
# Cargo's target folder, wherever CARGO_TARGET_DIR (or a build.target-dir setting) puts it; exported so that
# cargo-lambda and the demo/bench binaries, which look for the other binaries there, follow it too.
TARGET_DIR := $(or $(shell $(CARGO) metadata --format-version 1 --no-deps 2>/dev/null | \
	python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null),$(CARGO_TARGET_DIR),target)
export CARGO_TARGET_DIR := $(TARGET_DIR)

.PHONY: test soak demo local local-wait local-stop bench venv lint lint-infra build build-release unit-and-integration package deploy deploy-args clean

test: venv lint lint-infra build build-release unit-and-integration

# Strata's main job on the embedded emulator, step by step (see tests/src/bin/strata-demo.rs).
demo: venv build
	$(TARGET_DIR)/debug/strata-demo

# One function at a time (README.md "Run the functions locally"): the emulator seeded as the demo seeds it, and
# cargo lambda watch on loopback; samples pointed at it in .strata-local/events/. Stops on Ctrl-C or `make local-stop`.
PORT        ?= 5000
INVOKE_PORT ?= 9000
LOCAL_DIR   := .strata-local
local: venv
	$(PYTHON) tests/emulator/strata_local.py --port $(PORT) --invoke-port $(INVOKE_PORT) --dir $(LOCAL_DIR)
local-wait:
	@$(PYTHON) tests/emulator/strata_local.py --wait --dir $(LOCAL_DIR)
local-stop:
	@$(PYTHON) tests/emulator/strata_local.py --stop --dir $(LOCAL_DIR)

# Benchmarks (not timed tests): the rebalancer simulation, the simulator's throughput, then cold start / RSS /
# sizes / AWS calls per invocation / scale-out critical path of the release binaries, and a compressed day on the
# emulator against the simulator (debug binaries; docs/benchmarks.md holds a run).
bench: venv build
	$(CARGO) build --release $(addprefix -p ,$(FUNCTIONS))
	$(CARGO) bench -p strata-core --bench rebalance_sim
	$(CARGO) bench -p strata-core --bench simulate_day
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
# The template is linted twice: as it is (no AlarmTopicArn), and with an alarm topic as the parameter's default,
# so that checkov, which evaluates parameters with their defaults, sees the SNS wiring too (the variant drops the
# skip of CKV_AWS_364 that only the empty default needs).
TOPIC_VARIANT := $(TARGET_DIR)/lint/template-alarm-topic.yaml
lint-infra: $(VENV_LINT)/.installed
	mkdir -p $(dir $(TOPIC_VARIANT))
	sed -e 's|^    Default: ""  # AlarmTopicArn$$|    Default: arn:aws:sns:us-east-1:123456789012:strata-alarms|' \
		-e '/^  AlbScalerAlarmTopicPermission:$$/,/^    Properties:$$/{/^    Metadata:$$/d; /^      checkov:$$/d;' \
		-e '/^        skip:$$/d; /^          - id: CKV_AWS_364$$/d; /^            comment: /d;}' \
		infra/template.yaml > $(TOPIC_VARIANT)
	! cmp -s infra/template.yaml $(TOPIC_VARIANT) || { echo "lint-infra: no AlarmTopicArn default to vary"; exit 1; }
	$(VENV_LINT)/bin/cfn-lint --non-zero-exit-code warning infra/template.yaml $(TOPIC_VARIANT) infra/examples/*.yaml
	$(VENV_LINT)/bin/checkov -f infra/template.yaml --framework cloudformation --skip-download --compact --quiet
	$(VENV_LINT)/bin/checkov -f $(TOPIC_VARIANT) --framework cloudformation --skip-download --compact --quiet
$(VENV_LINT)/.installed: tests/emulator/requirements-lint.txt
	python3 -m venv $(VENV_LINT)
	$(VENV_LINT)/bin/pip install --quiet --disable-pip-version-check -r tests/emulator/requirements-lint.txt
	touch $@

# The end-to-end tests run the function binaries under a Runtime API: build them first.
build:
	$(CARGO) build --workspace --bins

# The provisioner as it is deployed (release profile): a test shows that binary answers CloudFormation on a
# panic (the panic strategy is set per profile, not per package).
build-release:
	$(CARGO) build --release -p provisioner

# Every test; the fault-injection suite runs last, uncaptured, so that its summary line (seeds, runs, leaks,
# duplicates) shows in CI's output.
unit-and-integration:
	$(CARGO) test --workspace -- --skip every_seed_converges --skip seed_11_of_issue_20
	$(CARGO) test -p strata-tests --test faults -- --nocapture

# The fault suite on 50 seeds (lost answers included), each compared with the fault-free run; a failing seed
# prints the command that reruns it alone. About half an hour on 2 cores (docs/benchmarks.md holds a run).
SOAK_SEEDS ?= 50
SOAK_PARALLEL ?= 10
soak: venv build
	STRATA_FAULT_SEEDS=$(SOAK_SEEDS) STRATA_FAULT_PARALLEL=$(SOAK_PARALLEL) $(CARGO) test -p strata-tests --test faults -- --nocapture every_seed

# Deployable zips, <target>/lambda/<function>/bootstrap.zip, for Lambda's provided.al2023 runtime on arm64.
# cargo-lambda cross-compiles with zig, from the ziglang package of the venv.
FUNCTIONS := provisioner asg-registrar alb-scaler dns-rebalancer
LAMBDA_DIR = $(TARGET_DIR)/lambda
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
	rm -rf $(VENV) $(VENV_LINT)
	$(CARGO) clean --workspace
