//! Running commands in tests: a failure shows what the command said.

use std::process::Output;

/// The output of a command that must have succeeded; otherwise the test
/// fails with the command's stderr (and `context`, when not empty).
pub fn succeeded(output: std::io::Result<Output>, context: &str) -> Output {
    let out = output.expect("the command could not be started");
    assert!(
        out.status.success(),
        "{context}{}{}",
        if context.is_empty() { "" } else { ": " },
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Whether `command` can be run (`command probe`). Without it a test says
/// `SKIP` (naming `what`, and how to get the command: `install`) and passes,
/// except under `CI`, where it fails: CI installs every such command
/// (`scripts/test-setup`).
pub(crate) fn tool_available(command: &str, probe: &str, install: &str, what: &str) -> bool {
    let found = std::process::Command::new(command)
        .arg(probe)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "the `{command}` command is not on PATH ({install}) and CI is set"
        );
        eprintln!("SKIP {what}: no `{command}` on PATH; {install} to run it");
    }
    found
}
