//! Every make target finds Cargo's output where Cargo puts it, with and without `CARGO_TARGET_DIR` (issue 19:
//! `make demo` ran `./target/debug/strata-demo`). `make -n` prints the commands without running them; `.ci/run`
//! also runs `make demo` for real from a target folder moved elsewhere.

use std::process::Command;

use strata_tests::workspace_root;

const TARGETS: [&str; 4] = ["demo", "bench", "package", "deploy"];

fn dry_run(target: &str, target_dir: Option<&str>) -> String {
    let mut make = Command::new("make");
    make.args(["-n", target, "REGION=us-east-1", "BUCKET=b", "HOSTED_ZONE_ID=Z1"]).current_dir(workspace_root());
    make.env_remove("CARGO_TARGET_DIR").env_remove("CARGO_BUILD_TARGET_DIR").env_remove("MAKEFLAGS");
    if let Some(dir) = target_dir {
        make.env("CARGO_TARGET_DIR", dir);
    }
    let out = make.output().expect("make");
    assert!(out.status.success(), "make -n {target}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Paths into a target folder the commands name: `<dir>/debug/...`, `<dir>/lambda/...`, or a bare `target/`.
fn target_paths(commands: &str) -> Vec<&str> {
    commands
        .split(|c: char| c.is_whitespace() || c == ';' || c == '=' || c == '"')
        .filter(|word| word.contains("target/") || word.contains("/debug/") || word.contains("/lambda/"))
        .collect()
}

#[test]
fn make_targets_follow_cargo_target_dir() {
    let elsewhere = "/some/where";
    for target in TARGETS {
        let commands = dry_run(target, Some(elsewhere));
        for path in target_paths(&commands) {
            assert!(
                path.starts_with(elsewhere),
                "make {target} with CARGO_TARGET_DIR={elsewhere} uses {path}:\n{commands}"
            );
        }
    }
    let demo = dry_run("demo", Some(elsewhere));
    assert!(demo.lines().any(|l| l == "/some/where/debug/strata-demo"), "the demo binary from there:\n{demo}");
    let deploy = dry_run("deploy", Some(elsewhere));
    assert!(deploy.contains("/some/where/lambda/$fn/bootstrap.zip"), "the zips from there:\n{deploy}");
}

#[test]
fn make_targets_use_the_workspace_target_folder_by_default() {
    let default = workspace_root().join("target");
    let default = default.to_str().unwrap();
    for target in TARGETS {
        let commands = dry_run(target, None);
        for path in target_paths(&commands) {
            assert!(path.starts_with(default), "make {target} uses {path}, not under {default}:\n{commands}");
        }
    }
    let demo = dry_run("demo", None);
    assert!(demo.lines().any(|l| l == format!("{default}/debug/strata-demo")), "{demo}");
}
