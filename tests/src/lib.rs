//! Test support shared by every integration and end-to-end test: the emulated AWS, the Lambda Runtime API
//! harness that runs the real function binaries, and fixtures.

pub mod census;
pub mod custom_resource;
pub mod day;
pub mod emulator;
pub mod fixtures;
pub mod runtime;
pub mod state;
pub mod waf;

use std::path::PathBuf;

pub use emulator::{Authorization, Emulator, Fixture};
use strata_core::names::ShardIndex;

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits in the workspace").to_path_buf()
}

/// Cargo's target folder: the one this very binary was built into (a test runs from `<target>/debug/deps`, a
/// bin from `<target>/debug`), so `CARGO_TARGET_DIR` or a `build.target-dir` setting is followed wherever it
/// points; `CARGO_TARGET_DIR`, then the workspace's `target/`, when the binary was moved out of it.
pub fn target_dir() -> PathBuf {
    let built_in = std::env::current_exe().ok().and_then(|exe| {
        let mut dir = exe.parent()?;
        if dir.ends_with("deps") {
            dir = dir.parent()?;
        }
        let target = dir.parent()?;
        (target.join("CACHEDIR.TAG").exists() || target.join(".rustc_info.json").exists()).then(|| target.to_path_buf())
    });
    built_in
        .or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from))
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// A JSON file from `events/`.
pub fn event(name: &str) -> serde_json::Value {
    let path = workspace_root().join("events").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Shard `s<index>`, as reports name it.
pub fn s(index: u8) -> ShardIndex {
    ShardIndex::new(index).expect("a shard index (0-49)")
}
