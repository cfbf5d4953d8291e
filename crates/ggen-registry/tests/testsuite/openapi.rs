//! The OpenAPI document against the live server: schemathesis (PyPI, installed
//! by `scripts/test-setup`) generates requests from the document, valid and
//! invalid, runs every check it has on the answers (status codes, content
//! types, headers and bodies as documented; valid requests accepted, invalid
//! ones refused; no 5xx), and any finding fails the test.

use std::process::Command;

use ggen_marketplace::Scope;

use crate::support::{Server, unthrottled};

/// Examples per operation and phase: enough to find what the document
/// leaves out, bounded to stay within CI time (about 20 s here).
const MAX_EXAMPLES: &str = "40";

#[test]
fn the_openapi_document_holds_against_the_live_server() {
    let server = Server::start(ggen_registry::ServeOptions {
        writes_per_token_per_minute: 0,
        ..unthrottled()
    });
    let token = server.token(&[Scope::Publish, Scope::Yank], "*");
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schemathesis.toml");
    // It keeps a cache of what it found in its working directory.
    let scratch = tempfile::tempdir().unwrap();
    let out = Command::new("schemathesis")
        .current_dir(scratch.path())
        .args(["--config-file", config, "run", "--checks", "all"])
        .args(["--max-examples", MAX_EXAMPLES, "--seed", "20261201"])
        .args(["--url", &server.base, "--header"])
        .arg(format!("Authorization: Bearer {token}"))
        .arg(server.url("/api/openapi.json"))
        .env("NO_COLOR", "1")
        .output()
        .expect("schemathesis is not installed: run scripts/test-setup (it installs it from PyPI)");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found what the OpenAPI document does not say:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // It tested every operation of the document, not some or none.
    let count = |label: &str| {
        report
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .map(|rest| rest.split('/').next_back().unwrap_or("").trim().to_string())
    };
    let selected = count("Selected:").expect("no operation count in the report");
    assert_eq!(count("Tested:"), Some(selected.clone()), "{report}");
    assert!(selected.parse::<usize>().unwrap() >= 11, "{report}");
}
