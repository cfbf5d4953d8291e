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

/// The `sh tested` blocks of a markdown file, with the line each starts on.
fn tested_blocks(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        match &mut current {
            None if line.trim_start().starts_with("```sh tested") => {
                current = Some((i + 1, String::new()))
            }
            Some(_) if line.trim_start().starts_with("```") => out.push(current.take().unwrap()),
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    assert!(current.is_none(), "an unterminated code block");
    out
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
    for (line, body) in &blocks {
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
