//! Runs every code block marked `sh tested` in README.md and docs/*.md, in
//! order per file, in a fresh GGEN_HOME with the `ggen` under test first on
//! PATH, so the documentation cannot drift from the binary. The docs describe
//! the default build (both backends), so this runs in that build only.
#![cfg(feature = "marketplace-parallel")]

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A `sh tested` block: the line it starts on, the commands it needs
/// (`sh tested needs=virtuoso-t,isql-vt`), and its body.
struct Block {
    line: usize,
    needs: Vec<String>,
    body: String,
}

/// The `sh tested` blocks of a markdown file.
fn tested_blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut current: Option<Block> = None;
    for (i, line) in text.lines().enumerate() {
        match &mut current {
            None => {
                if let Some(info) = line.trim_start().strip_prefix("```sh tested") {
                    let needs = info
                        .split_whitespace()
                        .filter_map(|w| w.strip_prefix("needs="))
                        .flat_map(|list| list.split(',').map(str::to_string))
                        .collect();
                    current = Some(Block {
                        line: i + 1,
                        needs,
                        body: String::new(),
                    });
                }
            }
            Some(_) if line.trim_start().starts_with("```") => out.push(current.take().unwrap()),
            Some(block) => {
                block.body.push_str(line);
                block.body.push('\n');
            }
        }
    }
    assert!(current.is_none(), "an unterminated code block");
    out
}

/// Whether `command` is on PATH. A block whose commands are missing is
/// skipped with a message, except under `CI`, which installs them
/// (`scripts/test-setup`).
fn on_path(command: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {command}")])
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn run_file(md: &Path) -> usize {
    let text = std::fs::read_to_string(md).unwrap();
    let blocks = tested_blocks(&text);
    let home = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("ggen");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for Block { line, needs, body } in &blocks {
        if let Some(missing) = needs.iter().find(|c| !on_path(c)) {
            assert!(
                std::env::var_os("CI").is_none(),
                "{}:{line}: needs `{missing}`, which is not on PATH, and CI is set",
                md.display()
            );
            eprintln!("SKIP {}:{line}: `{missing}` is not on PATH", md.display());
            continue;
        }
        let out = std::process::Command::new("bash")
            .args(["-euo", "pipefail", "-c", body])
            .current_dir(home.path())
            .env_clear()
            .env("PATH", &path)
            .env("HOME", home.path())
            .env("GGEN_HOME", home.path().join("ggen-home"))
            .env("GGEN_CONFIG_DIR", home.path().join("config"))
            .env("GGEN_USER_ID", "docs-test")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}:{line}: block failed ({})\n--- block\n{body}--- stdout\n{}--- stderr\n{}",
            md.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    blocks.len()
}

#[test]
fn every_tested_block_in_the_docs_runs() {
    let mut files = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    let mut total = 0;
    for f in &files {
        total += run_file(f);
    }
    assert!(
        total >= 15,
        "only {total} tested blocks: did the marker change?"
    );
}

/// A table cell's text: one code span, its backticks (single or double) off.
fn code_cell(cell: &str) -> &str {
    let cell = cell.trim();
    match cell.strip_prefix("``") {
        Some(inner) => inner.strip_suffix("``").unwrap_or(inner).trim(),
        None => cell.trim_matches('`'),
    }
}

/// Each row of the configuration-mistakes table in troubleshooting.md holds:
/// its first column as `config.yaml` makes a command fail with an error that
/// names the file and says the second column, and a hint saying the third.
#[test]
fn the_configuration_mistakes_table_holds() {
    let text = std::fs::read_to_string(root().join("docs/troubleshooting.md")).unwrap();
    let section = text
        .split("## Configuration mistakes")
        .nth(1)
        .expect("troubleshooting.md has a Configuration mistakes section");
    let rows: Vec<Vec<&str>> = section
        .lines()
        .take_while(|l| !l.starts_with("## "))
        .filter(|l| l.starts_with("| `"))
        .map(|l| l.trim_matches('|').split(" | ").map(code_cell).collect())
        .collect();
    assert!(rows.len() >= 5, "only {} rows", rows.len());
    for row in rows {
        let [yaml, says, hint] = row[..] else {
            panic!("a row of three columns: {row:?}")
        };
        let home = crate::common::Home::new();
        home.write_config(yaml);
        let (ok, _, err) = home.run(&["search", "--query", "x"]);
        assert!(!ok, "{yaml}: accepted");
        let file = home.path().join("config/config.yaml");
        assert!(
            err.contains(&*file.to_string_lossy()),
            "{yaml}: the file is not named: {err}"
        );
        assert!(err.contains(says), "{yaml}: does not say {says:?}: {err}");
        let hint_line = err
            .lines()
            .find(|l| l.trim_start().starts_with("hint:"))
            .unwrap_or_default();
        assert!(
            hint_line.contains(hint),
            "{yaml}: the hint is not {hint:?}: {err}"
        );
    }
    // The environment gets the same check, naming the variable.
    let home = crate::common::Home::new();
    let (ok, _, err) = crate::common::outcome(
        home.ggen()
            .env("GGEN_MARKETPLACE_V2_ENDPOINT", "http://127.0.0.1:7878")
            .args(["search", "--query", "x"]),
    );
    assert!(!ok);
    assert!(
        err.contains("GGEN_MARKETPLACE_V2_ENDPOINT") && err.contains("http://127.0.0.1:7878/query"),
        "{err}"
    );
}

/// Every `GGEN_*` variable the sources read is in the configuration reference.
#[test]
fn every_environment_variable_is_documented() {
    fn collect(dir: &Path, out: &mut std::collections::BTreeSet<String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                collect(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                for part in text.split("\"GGEN_").skip(1) {
                    let name: String = part
                        .chars()
                        .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                        .collect();
                    if part[name.len()..].starts_with('"') {
                        out.insert(format!("GGEN_{name}"));
                    }
                }
            }
        }
    }
    let mut vars = std::collections::BTreeSet::new();
    for c in std::fs::read_dir(root().join("crates")).unwrap().flatten() {
        if c.path().join("src").is_dir() {
            collect(&c.path().join("src"), &mut vars);
        }
    }
    assert!(vars.len() >= 10, "{vars:?}");
    let reference = std::fs::read_to_string(root().join("docs/configuration.md")).unwrap();
    let missing: Vec<&String> = vars
        .iter()
        .filter(|v| !reference.contains(&format!("`{v}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "not in docs/configuration.md: {missing:?}"
    );
}
