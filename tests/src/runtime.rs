//! A Lambda Runtime API (2018-06-01) served on loopback, driving a real function binary exactly as Lambda
//! does: the binary polls `/runtime/invocation/next`, gets an event, and posts a response or an error.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde_json::Value;
use strata_core::answer::Answer;
use tiny_http::{Header, Method, Response, Server};

use crate::target_dir;

/// What the function answered for one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Response(Value),
    Error { error_type: String, error_message: String },
}

impl Outcome {
    pub fn response(&self) -> &Value {
        match self {
            Self::Response(v) => v,
            Self::Error { error_type, error_message } => panic!("the function failed: {error_type}: {error_message}"),
        }
    }

    /// The typed answer of the alb-scaler, asg-registrar or dns-rebalancer (`R`: its report).
    pub fn answer<R: DeserializeOwned>(&self) -> Answer<R> {
        let value = self.response();
        serde_json::from_value(value.clone())
            .unwrap_or_else(|e| panic!("not an answer of this function ({e}): {value}"))
    }

    /// The first fleet's report of such an answer.
    pub fn first_report<R: DeserializeOwned>(&self) -> R {
        let Answer::Fleets { fleets } = self.answer::<R>() else { panic!("ignored: {}", self.response()) };
        fleets.into_iter().next().unwrap_or_else(|| panic!("no fleet in the answer: {}", self.response()))
    }
}

#[derive(Debug)]
pub struct Run {
    pub outcomes: Vec<Outcome>,
    /// Everything the function wrote (JSON log lines, EMF lines).
    pub logs: String,
    /// From exec to the first `/next` request (cold start).
    pub time_to_first_poll: Duration,
    /// From exec to the first answer (response or error) posted.
    pub time_to_first_answer: Duration,
    /// Peak resident memory (VmHWM) of the process, read just before it is stopped.
    pub peak_rss_kb: Option<u64>,
}

/// Where the function binaries are: `STRATA_BIN_DIR`, else `debug/` of Cargo's target folder.
pub fn binary(name: &str) -> PathBuf {
    let dir = std::env::var_os("STRATA_BIN_DIR").map(PathBuf::from).unwrap_or_else(|| target_dir().join("debug"));
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` first (make test does)",
        path.display()
    );
    path
}

/// A function binary built the way it is deployed: the release profile (whose `panic` setting, among others,
/// applies to every package), built by `make build` (`cargo build --release -p <name>`). Not built here: a cargo
/// run inside `cargo test` would wait on the lock that `cargo test` holds.
pub fn release_binary(name: &str) -> PathBuf {
    let path = target_dir().join("release").join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --release -p {name}` first (make test does)",
        path.display()
    );
    path
}

/// The functions deployed by `infra/template.yaml`, each with a role of its own.
pub const FUNCTIONS: [&str; 4] = ["provisioner", "asg-registrar", "alb-scaler", "dns-rebalancer"];

/// The access key id `function` signs with: the emulator maps it to the function's role in
/// `infra/template.yaml` and refuses what that role does not allow (tests/emulator/strata_iam.py derives the
/// same key). None for anything that is not one of Strata's functions.
pub fn role_access_key(function: &str) -> Option<String> {
    FUNCTIONS.contains(&function).then(|| {
        let upper: String = function.chars().filter(char::is_ascii_alphanumeric).collect();
        format!("ASIASTRATA{}", upper.to_ascii_uppercase())
    })
}

/// Runs `function` under the Runtime API, hands it `events` one by one, and stops it after the last answer.
pub fn run_function(function: &str, env: &[(String, String)], events: &[Value]) -> Run {
    run_binary(&binary(function), function, env, events, Duration::from_secs(120))
}

pub fn run_binary(
    path: &PathBuf,
    function: &str,
    env: &[(String, String)],
    events: &[Value],
    timeout: Duration,
) -> Run {
    run_command(Command::new(path), function, env, events, timeout)
}

/// Like `run_binary`, for any command that speaks the Runtime API (a Python function, for comparison).
pub fn run_command(
    mut command: Command,
    function: &str,
    env: &[(String, String)],
    events: &[Value],
    timeout: Duration,
) -> Run {
    let server = Server::http("127.0.0.1:0").expect("bind the Runtime API");
    let port = server.server_addr().to_ip().expect("an IP address").port();
    let log_path = std::env::temp_dir().join(format!("strata-{function}-{port}.log"));
    let log_file = std::fs::File::create(&log_path).expect("log file");
    let started = Instant::now();
    let mut child = command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("AWS_LAMBDA_FUNCTION_NAME", function)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{function}"))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/25/[$LATEST]test")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        // As on Lambda, a function runs with its own role's credentials, whatever the caller's environment.
        .envs(role_access_key(function).map(|key| ("AWS_ACCESS_KEY_ID", key)))
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().expect("log file"))
        .stderr(log_file)
        .spawn()
        .unwrap_or_else(|e| panic!("start {function}: {e}"));

    let mut outcomes = Vec::new();
    let mut next_event = 0;
    let mut time_to_first_poll = None;
    let mut time_to_first_answer = None;
    let deadline = Instant::now() + timeout;
    while outcomes.len() < events.len() || next_event < events.len() {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let Some(mut request) = server.recv_timeout(remaining).expect("Runtime API") else {
            let _ = child.kill();
            let logs = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("{function} gave no answer within {timeout:?}; its output:\n{logs}");
        };
        let url = request.url().to_owned();
        if request.method() == &Method::Get && url.ends_with("/runtime/invocation/next") {
            time_to_first_poll.get_or_insert_with(|| started.elapsed());
            if next_event == outcomes.len() && next_event < events.len() {
                let request_id = format!("req-{port}-{next_event}");
                let deadline_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() + 60_000;
                let body = serde_json::to_vec(&events[next_event]).unwrap();
                let response = Response::from_data(body)
                    .with_header(header("Lambda-Runtime-Aws-Request-Id", &request_id))
                    .with_header(header("Lambda-Runtime-Deadline-Ms", &deadline_ms.to_string()))
                    .with_header(header(
                        "Lambda-Runtime-Invoked-Function-Arn",
                        &format!("arn:aws:lambda:us-east-1:123456789012:function:{function}"),
                    ))
                    .with_header(header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000"))
                    .with_header(header("Content-Type", "application/json"));
                next_event += 1;
                let _ = request.respond(response);
            }
            // Otherwise leave the poll hanging, as Lambda does between invocations.
            continue;
        }
        let mut body = String::new();
        let _ = request.as_reader().read_to_string(&mut body);
        time_to_first_answer.get_or_insert_with(|| started.elapsed());
        if url.ends_with("/response") {
            outcomes.push(Outcome::Response(serde_json::from_str(&body).unwrap_or(Value::String(body))));
        } else if url.ends_with("/error") {
            let parsed: Value = serde_json::from_str(&body).unwrap_or_default();
            let error_type = parsed["errorType"].as_str().unwrap_or_default().to_owned();
            let error_message = parsed["errorMessage"].as_str().unwrap_or_default().to_owned();
            outcomes.push(Outcome::Error { error_type, error_message });
            if url.contains("/init/error") {
                let _ = request.respond(Response::empty(202));
                break;
            }
        }
        let _ = request.respond(Response::empty(202));
    }
    let peak_rss_kb = peak_rss_kb(child.id());
    let _ = child.kill();
    let _ = child.wait();
    let logs = std::fs::read_to_string(&log_path).unwrap_or_default();
    let _ = std::fs::remove_file(&log_path);
    Run {
        outcomes,
        logs,
        time_to_first_poll: time_to_first_poll.unwrap_or_default(),
        time_to_first_answer: time_to_first_answer.unwrap_or_default(),
        peak_rss_kb,
    }
}

/// VmHWM of a live process, from /proc (Linux).
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("a valid header")
}
