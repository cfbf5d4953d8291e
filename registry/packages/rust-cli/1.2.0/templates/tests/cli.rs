//! Integration tests that run the compiled binary.

use std::io::Write;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_{{ project_name }}");

fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("{{ env_prefix }}_NAME")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    if !stdin.is_empty() {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(stdin.as_bytes()).expect("write to stdin");
    }
    child.wait_with_output().expect("binary runs")
}

#[test]
fn greets_by_name() {
    let out = run(&["greet", "Ferris"], "");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Hello, Ferris!\n");
}

#[test]
fn shouts() {
    let out = run(&["greet", "--shout"], "");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "HELLO, WORLD!\n");
}

#[test]
fn counts_standard_input() {
    let out = run(&["count"], "one two\nthree\n");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "2 lines, 3 words\n");
}

#[test]
fn missing_file_is_an_error() {
    let out = run(&["count", "this-file-does-not-exist.txt"], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open"));
}
