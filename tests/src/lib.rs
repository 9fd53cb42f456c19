//! Test support shared by every integration and end-to-end test: the emulated AWS, the Lambda Runtime API
//! harness that runs the real function binaries, and fixtures.

pub mod custom_resource;
pub mod emulator;
pub mod fixtures;
pub mod runtime;
pub mod state;

use std::path::PathBuf;

pub use emulator::{Emulator, Fixture};

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits in the workspace").to_path_buf()
}

/// A JSON file from `events/`.
pub fn event(name: &str) -> serde_json::Value {
    let path = workspace_root().join("events").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
