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
