//! The emulated AWS: a moto server (with Strata's CBOR front for CloudWatch) on 127.0.0.1 and an ephemeral
//! port, one per test, so no test ever sees another's resources. Dropping the handle stops the server; so
//! does the death of the test process, because the server exits when its stdin closes.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use serde_json::{Value, json};
use strata_core::aws::AwsClients;

use crate::workspace_root;

pub struct Emulator {
    pub endpoint: String,
    child: Child,
    _stdin: ChildStdin,
}

/// The Python of the project's venv (`make venv`), or `STRATA_PYTHON`.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("STRATA_PYTHON") {
        return p.into();
    }
    let venv = workspace_root().join(".venv/bin/python");
    assert!(venv.exists(), "no {} : run `make venv` (or `make test`) first, or set STRATA_PYTHON", venv.display());
    venv
}

impl Emulator {
    pub fn start() -> Self {
        let script = workspace_root().join("tests/emulator/strata_emulator.py");
        let mut child = Command::new(python())
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the emulator");
        let stdin = child.stdin.take().expect("emulator stdin");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("emulator stdout"))
            .read_line(&mut line)
            .expect("read emulator banner");
        let endpoint = line.strip_prefix("STRATA_EMULATOR_READY ").map(|s| s.trim().to_owned()).unwrap_or_else(|| {
            let _ = child.kill();
            panic!("the emulator did not start: {line:?}")
        });
        assert!(endpoint.starts_with("http://127.0.0.1:"), "the emulator must listen on loopback only: {endpoint}");
        Self { endpoint, child, _stdin: stdin }
    }

    /// The environment a function binary needs to reach this emulator.
    pub fn env(&self, region: &str) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_REGION", region),
            // Lambda sets both; boto3 reads only this one.
            ("AWS_DEFAULT_REGION", region),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_MAX_ATTEMPTS", "2"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// The tests' own credentials: unrestricted, as moto is.
    pub async fn sdk_config(&self, region: &str) -> SdkConfig {
        self.sdk_config_as(region, "testing").await
    }

    /// Credentials with the given access key id: a function's role (`runtime::role_access_key`) or a principal
    /// given to `configure_iam`.
    pub async fn sdk_config_as(&self, region: &str, access_key_id: &str) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_sdk_route53::config::Credentials::new(
                access_key_id,
                "testing",
                None,
                None,
                "strata-tests",
            ))
            .load()
            .await
    }

    pub async fn clients(&self, region: &str) -> AwsClients {
        AwsClients::from_config(&self.sdk_config(region).await).expect("clients")
    }

    /// Clients that sign with `access_key_id`, so that the emulator enforces that principal's policy.
    pub async fn clients_as(&self, region: &str, access_key_id: &str) -> AwsClients {
        AwsClients::from_config(&self.sdk_config_as(region, access_key_id).await).expect("clients")
    }

    fn control(&self, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/_strata/{path}", self.endpoint);
        let response = match body {
            Some(body) => ureq::post(&url).send_json(body),
            None => ureq::get(&url).call(),
        };
        let mut response = response.unwrap_or_else(|e| panic!("emulator {path}: {e}"));
        response.body_mut().read_json().expect("control endpoint answers JSON")
    }

    /// Creates the fixtures of a region (see `strata_control.py`).
    pub fn seed(&self, region: &str, asgs: Value) -> Fixture {
        let answer = self.control("seed", Some(json!({"region": region, "asgs": asgs})));
        serde_json::from_value(answer.clone()).unwrap_or_else(|e| panic!("seed answered {answer}: {e}"))
    }

    /// Every AWS call served so far with its start and end (seconds, monotonic clock of the emulator).
    pub fn calls_timed(&self) -> Vec<(String, f64, f64)> {
        let answer = self.control("calls", None);
        answer
            .as_array()
            .expect("a list")
            .iter()
            .map(|c| {
                let name = format!("{}:{}", c["service"].as_str().unwrap_or(""), c["operation"].as_str().unwrap_or(""));
                (name, c["start"].as_f64().unwrap_or(0.0), c["end"].as_f64().unwrap_or(f64::MAX))
            })
            .collect()
    }

    /// Every IAM action the calls of Strata's functions were authorized as, in order (each call's own action,
    /// then its dependent actions: see strata_iam.py). Calls signed with the tests' own credentials have none.
    pub fn authorizations(&self) -> Vec<Authorization> {
        let answer = self.control("calls", None);
        let mut found = Vec::new();
        for call in answer.as_array().expect("a list") {
            let Some(principal) = call["principal"].as_str() else { continue };
            let operation =
                format!("{}:{}", call["service"].as_str().unwrap_or(""), call["operation"].as_str().unwrap_or(""));
            for decision in call["authorizations"].as_array().into_iter().flatten() {
                found.push(Authorization {
                    function: principal.to_owned(),
                    call: operation.clone(),
                    action: decision["action"].as_str().unwrap_or("").to_owned(),
                    resource: decision["resource"].as_str().unwrap_or("").to_owned(),
                    allowed: decision["allowed"].as_bool().unwrap_or(false),
                });
            }
        }
        found
    }

    /// Sets the template's parameters the emulator resolves the roles with, a template other than
    /// `infra/template.yaml`, or principals with a policy of their own (see strata_iam.py).
    pub fn configure_iam(&self, spec: Value) -> Value {
        self.control("iam", Some(spec))
    }

    /// Every AWS call served so far, as `service:Operation`.
    pub fn calls(&self) -> Vec<String> {
        let answer = self.control("calls", None);
        answer
            .as_array()
            .expect("a list")
            .iter()
            .map(|c| format!("{}:{}", c["service"].as_str().unwrap_or(""), c["operation"].as_str().unwrap_or("")))
            .collect()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One IAM authorization of one call made by a function under its role.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Authorization {
    pub function: String,
    /// The call, as `service:Operation` (the emulator's call log).
    pub call: String,
    pub action: String,
    pub resource: String,
    pub allowed: bool,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct Fixture {
    pub region: String,
    pub vpc_id: String,
    pub subnet_ids: Vec<String>,
    pub security_group_id: String,
    pub certificate_arn: String,
    pub hosted_zone_id: String,
    pub asg_names: Vec<String>,
}

impl Emulator {
    /// A pre-signed S3 PUT URL on the emulator, as CloudFormation gives a custom resource.
    pub fn presigned_put(&self, bucket: &str, key: &str) -> String {
        self.control("presign", Some(json!({"bucket": bucket, "key": key})))["url"].as_str().expect("url").to_owned()
    }

    /// Stops `count` instances of an ASG: they stay registered but fail their target health checks.
    pub fn stop_instances(&self, region: &str, asg: &str, count: usize) -> Vec<String> {
        let answer = self.control("stop-instances", Some(json!({"region": region, "asg": asg, "count": count})));
        serde_json::from_value(answer["stopped"].clone()).expect("stopped ids")
    }

    /// Switches fault injection on (`rate` > 0) or off, deterministically for a `seed` (see strata_faults.py).
    pub fn set_faults(&self, rate: f64, seed: u64) -> Value {
        self.control("faults", Some(json!({"rate": rate, "seed": seed})))
    }

    /// Fault injection of only the given kinds (`throttle`, `500`, `503`, `reset`, `slow`).
    pub fn set_faults_kinds(&self, rate: f64, seed: u64, kinds: &[&str]) -> Value {
        self.control("faults", Some(json!({"rate": rate, "seed": seed, "kinds": kinds})))
    }

    /// Pauses (`rate` 0) or resumes fault injection, keeping its seed and counts.
    pub fn pause_faults(&self, rate: f64) {
        self.control("faults", Some(json!({"paused_rate": rate})));
    }

    /// How long DeleteTargetGroup answers ResourceInUse after its ALB's deletion (see strata_strict.py); applies
    /// to ALBs already deleted too, so 0 ends every window at once.
    pub fn set_target_group_in_use_seconds(&self, seconds: f64) -> Value {
        self.control("transients", Some(json!({"target_group_in_use_seconds": seconds})))
    }

    /// How long after its creation a load balancer is refused by AssociateWebACL (WAFUnavailableEntityException).
    pub fn set_web_acl_unavailable_seconds(&self, seconds: f64) -> Value {
        self.control("transients", Some(json!({"web_acl_unavailable_seconds": seconds})))
    }

    /// Sets ELBv2 account limits as DescribeAccountLimits answers them (see strata_limits.py; AWS's defaults
    /// otherwise), e.g. `{"application-load-balancers": 3}`.
    pub fn set_limits(&self, limits: Value) -> Value {
        self.control("limits", Some(limits))
    }

    /// Configures LCU capacity reservations (see strata_capacity.py), e.g. `{"reserved_lcu_quota": 5000}`; the
    /// answer holds the settings and every reservation by ALB ARN.
    pub fn set_capacity(&self, settings: Value) -> Value {
        self.control("capacity", Some(settings))
    }

    /// The LCU capacity reservations, by ALB ARN, and the settings.
    pub fn capacity(&self) -> Value {
        self.control("capacity", None)
    }

    /// Faults injected so far: `{"injected": {kind: count}, "calls": n, ...}`.
    pub fn faults(&self) -> Value {
        self.control("faults", None)
    }

    /// An S3 object's body, if it exists.
    pub fn object(&self, bucket: &str, key: &str) -> Option<String> {
        let url = format!("{}/_strata/object?bucket={bucket}&key={key}", self.endpoint);
        let mut response = ureq::get(&url).call().ok()?;
        response.body_mut().read_to_string().ok()
    }
}
