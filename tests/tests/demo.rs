//! `make demo` in the test suite: the same binary, every step must reach its expected state.

#[test]
fn the_demo_reaches_every_expected_state() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_strata-demo")).output().expect("run the demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the demo failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("demo finished: every step reached its expected state."));
    assert_eq!(stdout.matches("   ok   ").count(), 15, "every check ran:\n{stdout}");
}
