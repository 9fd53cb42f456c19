//! The README's "Run the functions locally against the emulator" block, run as written (only the two ports are
//! swapped for free ones): `make local`, the provisioner's Create, Update and Delete and one sample of every other
//! function through `cargo lambda invoke`, `strata status` after each step that changes the fleet.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use strata_tests::custom_resource::{CfnAnswer, CfnStatus};
use strata_tests::workspace_root;

const SECTION: &str = "## Run the functions locally against the emulator";

fn readme_block() -> String {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).expect("README.md");
    let section = readme.split_once(SECTION).unwrap_or_else(|| panic!("README.md has no {SECTION:?}")).1;
    let block = section.split_once("```sh\n").expect("a sh block in the section").1;
    block.split_once("```").expect("the block ends").0.to_owned()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `strata status` tables in the output, in order: from a header line to the next blank or non-table line.
fn status_tables(output: &str) -> Vec<String> {
    let mut tables = Vec::new();
    let mut lines = output.lines().peekable();
    while let Some(line) = lines.next() {
        if line.starts_with("REGION ") && line.contains("SHARD") {
            let mut table = vec![line.to_owned()];
            while let Some(next) = lines.peek().filter(|l| l.starts_with("us-east-1 ") || l.starts_with("(no shard")) {
                table.push((*next).to_owned());
                lines.next();
            }
            tables.push(table.join("\n"));
        }
    }
    tables
}

#[test]
fn the_readme_local_run_creates_shows_and_deletes_a_fleet() {
    let block = readme_block();
    for command in
        ["make local ", "make local-wait", "cargo-lambda lambda invoke", "strata-cli -- status", "make local-stop"]
    {
        assert!(block.contains(command), "the block runs `{command}`:\n{block}");
    }
    assert!(block.contains("5000") && block.contains("9000"), "the block names its ports:\n{block}");
    let script = block.replace("5000", &free_port().to_string()).replace("9000", &free_port().to_string());

    let log_path = std::env::temp_dir().join(format!("strata-readme-{}.log", std::process::id()));
    let log = std::fs::File::create(&log_path).unwrap();
    let mut shell = Command::new("bash")
        .args(["-e", "-o", "pipefail", "-c", &script])
        .current_dir(workspace_root())
        // As from a shell: not as a sub-make of `make test` (whose jobserver the block's make must not join).
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .process_group(0)
        .spawn()
        .expect("bash");
    let deadline = Instant::now() + Duration::from_secs(900);
    let status = loop {
        if let Some(status) = shell.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    // Whatever is left of the block's process group (a `make local` a failed step left behind).
    let _ = Command::new("kill").args(["--", &format!("-{}", shell.id())]).stderr(Stdio::null()).status();
    let output = std::fs::read_to_string(&log_path).unwrap_or_default();
    let _ = std::fs::remove_file(&log_path);
    let status = status.unwrap_or_else(|| panic!("the README block did not finish in 15 minutes:\n{output}"));
    assert!(status.success(), "the README block failed ({status}):\n{output}");

    let answers: Vec<CfnAnswer> =
        output.lines().filter_map(|l| l.strip_prefix("CloudFormation received: ")).map(CfnAnswer::from_body).collect();
    let statuses: Vec<(CfnStatus, &str)> = answers.iter().map(|a| (a.status(), a.physical_resource_id())).collect();
    assert_eq!(
        statuses,
        vec![(CfnStatus::Success, "strata:web:us-east-1"); 3],
        "Create, Update, Delete answered:\n{output}"
    );
    assert_eq!(answers[0].data("RegionalDnsName"), "us-east-1.api.example.com", "{output}");

    let tables = status_tables(&output);
    assert_eq!(tables.len(), 3, "three `strata status` tables:\n{output}");
    assert!(tables[0].contains("web-s0") && tables[0].contains("serving"), "after Create:\n{}", tables[0]);
    assert!(tables[1].contains("web-s1"), "after the alarm, the scaler's shard 1:\n{}", tables[1]);
    assert!(tables[2].contains("(no shard of this fleet in the region)"), "after Delete:\n{}", tables[2]);
    assert!(!workspace_root().join(".strata-local/ready").exists(), "make local-stop stopped it");
}
