//! `ggen new` and `ggen update` through the real binary: the bundled
//! catalogue generates real projects, updates keep local edits, and hostile
//! projects and packages are refused.

use std::collections::BTreeMap;
use std::path::Path;

use ggen_test_support::Pkg;

use crate::common::{Home, outcome};

/// `ggen <args>` (top level) in `home`: (succeeded, stdout, stderr).
fn top(home: &Home, args: &[&str]) -> (bool, String, String) {
    outcome(home.bin().args(args))
}

fn top_ok(home: &Home, args: &[&str]) -> String {
    let (ok, out, err) = top(home, args);
    assert!(ok, "ggen {}\nstdout: {out}\nstderr: {err}", args.join(" "));
    out
}

fn top_fails(home: &Home, args: &[&str], needles: &[&str]) -> String {
    let (ok, out, err) = top(home, args);
    assert!(!ok, "ggen {} should fail\nstdout: {out}", args.join(" "));
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}:\n{err}");
    }
    err
}

fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every file under `dir` with its bytes (the answers file included).
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    crate::common::walk(dir)
        .into_iter()
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.strip_prefix(dir).unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

/// Publishes `pkg` into `home`'s local registry from a source directory.
fn publish(home: &Home, pkg: &Pkg) {
    let dir = pkg.write_dir(home.path());
    home.succeeds(&["publish", dir.to_str().unwrap()]);
}

/// A template whose v1 and v2 differ in lines far apart, for update tests.
fn app(version: &str, body: &str) -> Pkg {
    Pkg::new("app-tmpl", version)
        .without("templates/main.rs.tmpl")
        .variable(
            "name",
            r#"{ default = "demo", description = "Project name", pattern = "[a-z][a-z0-9-]*" }"#,
        )
        .template("README.md", body)
}

const V1: &str = "# {{ name }}\n\nintro\n\n## Usage\n\nrun it\n\n## License\n\nMIT\n";
const V2: &str = "# {{ name }}\n\nintro\n\n## Usage\n\nrun it\n\n## License\n\nMIT OR Apache-2.0\n";

#[test]
fn hello_world_generates_a_crate_that_builds_and_passes_its_test() {
    let home = Home::new();
    let dir = home.path().join("greeter");
    let d = dir.to_str().unwrap();
    top_ok(
        &home,
        &[
            "new",
            "hello-world",
            d,
            "--var",
            "project_name=greeter",
            "--var",
            "greeting=Hi there",
        ],
    );
    let cargo: toml::Table = toml::from_str(&read(&dir, "Cargo.toml")).unwrap();
    assert_eq!(cargo["package"]["name"].as_str(), Some("greeter"));
    assert!(read(&dir, "src/main.rs").contains("\"Hi there\""));
    let record = read(&dir, ".ggen-answers.toml");
    assert!(
        record.contains("package = \"hello-world\"")
            && record.contains("project_name = \"greeter\""),
        "{record}"
    );
    // The generated project is a real crate: cargo builds it and its test passes.
    let out = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["test", "--offline", "--quiet"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", home.path().join("target"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo test in the generated project:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
}

#[test]
fn every_bundled_package_renders_with_its_defaults() {
    let home = Home::new();
    let list = home.json(&["list"]);
    let names = crate::common::listed_names(&list);
    assert!(names.len() >= 20, "{names:?}");
    let mut generated = 0;
    for name in &names {
        let versions = home.json(&["versions", name]);
        for v in versions["versions"].as_array().expect("versions") {
            let version = v["version"].as_str().unwrap();
            let dir = home.path().join(format!("out-{name}-{version}"));
            top_ok(
                &home,
                &[
                    "new",
                    &format!("{name}@={version}"),
                    dir.to_str().unwrap(),
                    "--defaults",
                ],
            );
            for (rel, bytes) in snapshot(&dir) {
                let text = String::from_utf8_lossy(&bytes);
                if rel != ".ggen-answers.toml" {
                    assert!(
                        !text.contains("{{") && !text.contains("{%"),
                        "{name}@{version}: template syntax left in {rel}"
                    );
                }
                let file = rel.rsplit('/').next().unwrap();
                match file {
                    "Cargo.toml" | "pyproject.toml" => {
                        toml::from_str::<toml::Table>(&text)
                            .unwrap_or_else(|e| panic!("{name}@{version}: {rel}: {e}"));
                    }
                    "package.json" => {
                        serde_json::from_str::<serde_json::Value>(&text)
                            .unwrap_or_else(|e| panic!("{name}@{version}: {rel}: {e}"));
                    }
                    _ => {}
                }
            }
            generated += 1;
        }
    }
    assert!(generated >= 28, "{generated}");
}

#[test]
fn dependencies_render_first_and_a_package_extends_their_files() {
    let home = Home::new();
    let dir = home.path().join("svc");
    let out = top_ok(
        &home,
        &[
            "new",
            "rust-cli@^1.2",
            dir.to_str().unwrap(),
            "--defaults",
            "--var",
            "project_name=my-tool",
        ],
    );
    assert!(out.contains("rust-base 1.1.0, rust-cli 1.2.0"), "{out}");
    // rust-base's file, with the default computed from another answer.
    assert!(read(&dir, "src/lib.rs").contains("my_tool::add"));
    // rust-cli takes Cargo.toml over (`[template] extends`).
    let cargo: toml::Table = toml::from_str(&read(&dir, "Cargo.toml")).unwrap();
    assert!(cargo["dependencies"].get("clap").is_some());

    // Two packages writing one path without `extends`: an error naming both.
    publish(
        &home,
        &Pkg::new("base-a", "1.0.0")
            .without("templates/main.rs.tmpl")
            .template("shared.txt", "a\n"),
    );
    publish(
        &home,
        &Pkg::new("top-b", "1.0.0")
            .without("templates/main.rs.tmpl")
            .dep("base-a", "^1")
            .template("shared.txt", "b\n"),
    );
    let clash = home.path().join("clash");
    top_fails(
        &home,
        &["new", "top-b", clash.to_str().unwrap()],
        &["shared.txt", "base-a@1.0.0", "top-b@1.0.0", "extends"],
    );
    assert!(!clash.exists(), "a failed generation leaves nothing");
}

#[test]
fn answers_are_validated_and_a_missing_required_one_is_named() {
    let home = Home::new();
    publish(
        &home,
        &Pkg::new("needs-owner", "1.0.0")
            .without("templates/main.rs.tmpl")
            .variable("owner", r#"{ description = "Who owns the service" }"#)
            .variable(
                "port",
                r#"{ type = "integer", default = 8080, min = 1024, max = 65535 }"#,
            )
            .template("owner.txt", "{{ owner }}:{{ port }}\n"),
    );
    let dir = home.path().join("p");
    let d = dir.to_str().unwrap();
    top_fails(
        &home,
        &["new", "needs-owner", d],
        &[
            "no answer for `owner`",
            "Who owns the service",
            "--var owner=",
        ],
    );
    top_fails(
        &home,
        &[
            "new",
            "needs-owner",
            d,
            "--var",
            "owner=ops",
            "--var",
            "port=80",
        ],
        &["`port`", "below the minimum 1024"],
    );
    top_fails(
        &home,
        &["new", "needs-owner", d, "--var", "ownr=ops"],
        &["`ownr` is not a variable"],
    );
    assert!(!dir.exists());
    // An answers file works, and the record of one project seeds another.
    let answers = home.path().join("answers.toml");
    std::fs::write(&answers, "owner = \"ops\"\nport = 9000\n").unwrap();
    top_ok(
        &home,
        &[
            "new",
            "needs-owner",
            d,
            "--answers",
            answers.to_str().unwrap(),
        ],
    );
    assert_eq!(read(&dir, "owner.txt"), "ops:9000\n");
    let again = home.path().join("q");
    let record = dir.join(".ggen-answers.toml");
    top_ok(
        &home,
        &[
            "new",
            "needs-owner",
            again.to_str().unwrap(),
            "--answers",
            record.to_str().unwrap(),
        ],
    );
    assert_eq!(read(&again, "owner.txt"), "ops:9000\n");
}

#[test]
fn a_dry_run_lists_files_and_answers_and_writes_nothing() {
    let home = Home::new();
    // A dry run creates no registry, as for install.
    home.succeeds(&["init"]);
    let dir = home.path().join("dry");
    let out = top_ok(
        &home,
        &["new", "hello-world", dir.to_str().unwrap(), "--dry-run"],
    );
    assert!(
        out.contains("Cargo.toml") && out.contains("project_name = \"hello-world\""),
        "{out}"
    );
    assert!(!dir.exists());
    let v: serde_json::Value = serde_json::from_str(&top_ok(
        &home,
        &[
            "new",
            "hello-world",
            dir.to_str().unwrap(),
            "--dry-run",
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["answers"]["project_name"], "hello-world");
    assert!(!dir.exists());
}

#[test]
fn update_keeps_a_local_edit_and_applies_upstream_changes() {
    let home = Home::new();
    publish(&home, &app("1.0.0", V1).template("old.txt", "goes away\n"));
    let dir = home.path().join("proj");
    let d = dir.to_str().unwrap();
    top_ok(&home, &["new", "app-tmpl", d, "--var", "name=proj"]);
    // The user edits the intro.
    let edited = read(&dir, "README.md").replace("intro", "intro, edited by hand");
    std::fs::write(dir.join("README.md"), &edited).unwrap();
    // Upstream changes the license line, removes a file and adds one.
    publish(
        &home,
        &app("1.1.0", V2).template("new.txt", "{{ name }} is new\n"),
    );
    let before = snapshot(&dir);
    let out = top_ok(&home, &["update", d, "--dry-run"]);
    assert!(out.contains("-MIT\n+MIT OR Apache-2.0"), "{out}");
    assert_eq!(snapshot(&dir), before, "a dry run writes nothing");

    let out = top_ok(&home, &["update", d]);
    assert!(
        out.contains("README.md: merged") && out.contains("1.0.0 to 1.1.0"),
        "{out}"
    );
    let readme = read(&dir, "README.md");
    assert!(readme.contains("intro, edited by hand"), "{readme}");
    assert!(readme.contains("MIT OR Apache-2.0"), "{readme}");
    assert_eq!(read(&dir, "new.txt"), "proj is new\n");
    assert!(!dir.join("old.txt").exists());
    let record = read(&dir, ".ggen-answers.toml");
    assert!(record.contains("version = \"1.1.0\""), "{record}");
    // Again: nothing to do.
    let out = top_ok(&home, &["update", d]);
    assert!(out.contains("up to date"), "{out}");
}

#[test]
fn a_project_generated_with_optional_dependencies_keeps_them_on_update() {
    let home = Home::new();
    publish(
        &home,
        &Pkg::new("extra-ci", "1.0.0")
            .without("templates/main.rs.tmpl")
            .template("ci.yml", "ci\n"),
    );
    publish(&home, &app("1.0.0", V1).optional_dep("extra-ci", "^1"));
    let dir = home.path().join("proj");
    let d = dir.to_str().unwrap();
    top_ok(&home, &["new", "app-tmpl", d, "--with-optional"]);
    assert_eq!(read(&dir, "ci.yml"), "ci\n");
    publish(&home, &app("1.1.0", V2).optional_dep("extra-ci", "^1"));
    // No --with-optional this time: the project's record remembers it.
    top_ok(&home, &["update", d]);
    assert_eq!(
        read(&dir, "ci.yml"),
        "ci\n",
        "the optional package's file stays"
    );
    assert!(read(&dir, "README.md").contains("MIT OR Apache-2.0"));
}

#[test]
fn conflicting_edits_get_markers_and_a_failing_exit() {
    let home = Home::new();
    publish(&home, &app("1.0.0", V1));
    let dir = home.path().join("proj");
    let d = dir.to_str().unwrap();
    top_ok(&home, &["new", "app-tmpl", d]);
    std::fs::write(
        dir.join("README.md"),
        read(&dir, "README.md").replace("\nMIT\n", "\nproprietary\n"),
    )
    .unwrap();
    publish(&home, &app("1.1.0", V2));
    let (ok, out, _) = top(&home, &["update", d]);
    assert!(!ok, "conflicts fail the command, as in git merge");
    assert!(
        out.contains("CONFLICT") && out.contains("conflicts in 1 file"),
        "{out}"
    );
    let readme = read(&dir, "README.md");
    assert!(
        readme.contains("<<<<<<<")
            && readme.contains("proprietary")
            && readme.contains("MIT OR Apache-2.0"),
        "{readme}"
    );
    // The update completed: the project now records the new version.
    assert!(read(&dir, ".ggen-answers.toml").contains("version = \"1.1.0\""));
}

#[test]
fn a_new_question_is_answered_on_update_and_an_answer_can_change() {
    let home = Home::new();
    publish(&home, &app("1.0.0", V1));
    let dir = home.path().join("proj");
    let d = dir.to_str().unwrap();
    top_ok(&home, &["new", "app-tmpl", d]);
    publish(
        &home,
        &app("1.1.0", V1)
            .variable("owner", r#"{ description = "Team that owns it" }"#)
            .template("OWNERS", "{{ owner }}\n"),
    );
    top_fails(&home, &["update", d], &["no answer for `owner`"]);
    assert!(
        read(&dir, ".ggen-answers.toml").contains("version = \"1.0.0\""),
        "a failed update changes nothing"
    );
    top_ok(&home, &["update", d, "--var", "owner=platform"]);
    assert_eq!(read(&dir, "OWNERS"), "platform\n");
    // Same version, changed answer: the project is re-rendered.
    top_ok(&home, &["update", d, "--var", "owner=infra"]);
    assert_eq!(read(&dir, "OWNERS"), "infra\n");
}

#[test]
fn an_update_names_a_newer_major_version_and_moves_with_to() {
    let home = Home::new();
    publish(&home, &app("1.0.0", V1));
    let dir = home.path().join("proj");
    let d = dir.to_str().unwrap();
    top_ok(&home, &["new", "app-tmpl", d]);
    publish(&home, &app("2.0.0", V2));
    let (ok, out, err) = top(&home, &["update", d]);
    assert!(ok, "{err}");
    assert!(
        out.contains("up to date")
            && err.contains("app-tmpl 2.0.0 is available")
            && err.contains("--to ^2"),
        "{out}\n{err}"
    );
    top_ok(&home, &["update", d, "--to", "^2"]);
    assert!(read(&dir, "README.md").contains("MIT OR Apache-2.0"));
}

#[cfg(unix)]
#[test]
fn an_interrupted_update_is_rolled_back_by_the_next_one() {
    let home = Home::new();
    let many = |v: &str, body: &str| {
        (0..6).fold(app(v, body), |p, i| {
            p.template(&format!("f{i}.txt"), format!("{v} {i}\n"))
        })
    };
    publish(&home, &many("1.0.0", V1));
    let dir = home.path().join("proj");
    let d = dir.to_str().unwrap();
    top_ok(&home, &["new", "app-tmpl", d]);
    publish(&home, &many("1.1.0", V2));
    let before = snapshot(&dir);
    // Each write of the update pauses 300 ms; the kill lands after a few.
    let mut cmd = crate::common::std_bin(home.path(), "test-user");
    cmd.args(["update", d])
        .env("GGEN_FAULT_DELAY_MS", "300")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1000));
    child.kill().unwrap();
    child.wait().unwrap();
    let torn = snapshot(&dir);
    assert_ne!(torn, before, "the kill should land mid-update");
    assert!(read(&dir, ".ggen-answers.toml").contains("version = \"1.0.0\""));
    // Where the kill lands inside a write, that write's temp file stays
    // behind; make sure of one, so the rollback is seen to remove it.
    std::fs::write(dir.join(".ggen-tmp-cut-short"), "1.1.0 2\n").unwrap();
    // The next update rolls back first; asked for the recorded version, it
    // then has nothing to do, which leaves the project exactly as it was.
    let (ok, out, err) = top(&home, &["update", d, "--to", "=1.0.0"]);
    assert!(ok, "{out}\n{err}");
    assert!(err.contains("Rolled back an interrupted update"), "{err}");
    assert_eq!(snapshot(&dir), before);
    // And an update from there completes.
    top_ok(&home, &["update", d]);
    assert_eq!(read(&dir, "f0.txt"), "1.1.0 0\n");
}

/// A journal that is not one ggen wrote (garbled, or naming a path outside
/// the project) stops the update with a message naming it; nothing in the
/// project is touched until a person has looked.
#[test]
fn a_garbled_or_hostile_update_journal_is_refused() {
    let home = Home::new();
    publish(&home, &app("1.0.0", V1));
    let dir = home.path().join("proj");
    let d = dir.to_str().unwrap();
    top_ok(&home, &["new", "app-tmpl", d]);
    publish(&home, &app("1.1.0", V2));
    let before = snapshot(&dir);
    let canonical = std::fs::canonicalize(&dir).unwrap();
    let digest =
        ggen_marketplace_core::checksum::sha256_hex(canonical.as_os_str().as_encoded_bytes());
    let journals = home.path().join("transactions");
    std::fs::create_dir_all(&journals).unwrap();
    let journal = journals.join(format!("project-{}.json", &digest[..32]));
    std::fs::write(&journal, b"{ not json").unwrap();
    top_fails(
        &home,
        &["update", d],
        &["interrupted update", "is unreadable", "delete both"],
    );
    assert_eq!(snapshot(&dir), before);
    let hostile = serde_json::json!({
        "project": d,
        "entries": [{ "path": "../outside.txt", "backup": null, "executable": false }],
        "created_dirs": [],
    });
    std::fs::write(&journal, hostile.to_string()).unwrap();
    top_fails(&home, &["update", d], &["names `../outside.txt`"]);
    assert_eq!(snapshot(&dir), before);
    assert!(!home.path().join("outside.txt").exists());
    // Once the person has looked and deleted it, updates go on.
    std::fs::remove_file(&journal).unwrap();
    top_ok(&home, &["update", d]);
    assert!(read(&dir, ".ggen-answers.toml").contains("version = \"1.1.0\""));
}

#[cfg(unix)]
#[test]
fn a_link_planted_in_the_project_is_never_written_through() {
    let home = Home::new();
    publish(&home, &app("1.0.0", V1).template("docs/guide.md", "v1\n"));
    let dir = home.path().join("proj");
    let d = dir.to_str().unwrap();
    top_ok(&home, &["new", "app-tmpl", d]);
    publish(&home, &app("1.1.0", V2).template("docs/guide.md", "v2\n"));
    // Someone replaces docs/ with a link to a directory outside the project.
    let outside = home.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("guide.md"), "v1\n").unwrap();
    std::fs::remove_dir_all(dir.join("docs")).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("docs")).unwrap();
    let before = snapshot(&dir);
    top_fails(
        &home,
        &["update", d],
        &["docs", "is a symbolic link", "Nothing was changed"],
    );
    assert_eq!(
        read(&outside, "guide.md"),
        "v1\n",
        "the file behind the link is untouched"
    );
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn a_hostile_answers_file_is_refused() {
    let home = Home::new();
    publish(&home, &app("1.0.0", V1));
    let dir = home.path().join("proj");
    let d = dir.to_str().unwrap();
    top_ok(&home, &["new", "app-tmpl", d]);
    let record = dir.join(".ggen-answers.toml");
    let good = read(&dir, ".ggen-answers.toml");
    for (bad, needle) in [
        (
            good.replace("name = \"app-tmpl\"", "name = \"../../../etc\""),
            "packages",
        ),
        (good.replace("checksum = \"", "checksum = \"00"), "SHA-256"),
        (format!("evil = true\n{good}"), "unknown field"),
    ] {
        std::fs::write(&record, bad).unwrap();
        top_fails(&home, &["update", d], &[".ggen-answers.toml", needle]);
    }
    // A checksum the registry does not have: the base cannot be trusted.
    let digits = good.split("checksum = \"").nth(1).unwrap()[..64].to_string();
    let other = if digits.starts_with('0') { "1" } else { "0" }.repeat(64);
    std::fs::write(&record, good.replace(&digits, &other)).unwrap();
    top_fails(
        &home,
        &["update", d],
        &["not the archive this project was generated from"],
    );
}

#[test]
fn templates_cannot_escape_the_project_or_plant_git_hooks() {
    let home = Home::new();
    publish(
        &home,
        &Pkg::new("evil-tmpl", "1.0.0")
            .without("templates/main.rs.tmpl")
            .variable("where", r#"{ default = "ok" }"#)
            .template("{{ where }}/x.txt", "x\n"),
    );
    let dir = home.path().join("p");
    let d = dir.to_str().unwrap();
    top_fails(
        &home,
        &["new", "evil-tmpl", d, "--var", "where=../../escaped"],
        &["leaves the project"],
    );
    top_fails(
        &home,
        &["new", "evil-tmpl", d, "--var", "where=.git/hooks"],
        &[".git"],
    );
    assert!(!dir.exists());
    assert!(!home.path().join("escaped").exists());
}

/// Questions asked on a real terminal: `script` gives ggen a pseudo-terminal,
/// and each answer is typed once its prompt has appeared.
#[cfg(unix)]
#[test]
fn questions_are_asked_on_a_terminal_and_a_wrong_answer_is_asked_again() {
    use std::io::{Read, Write};
    let has_script = std::process::Command::new("script")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok();
    if !has_script {
        assert!(
            std::env::var_os("CI").is_none(),
            "`script` (util-linux) is missing under CI"
        );
        eprintln!("SKIP: no `script` command");
        return;
    }
    let home = Home::new();
    let dir = home.path().join("asked");
    let ggen = assert_cmd::cargo::cargo_bin("ggen");
    let command = format!("{} new hello-world {}", ggen.display(), dir.display());
    let mut child = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("GGEN_HOME", home.path())
        .env("GGEN_CONFIG_DIR", home.path().join("config"))
        .env("GGEN_USER_ID", "test-user")
        .env("TERM", "dumb")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = String::new();
    let mut wait_for = |needle: &str, seen: &mut String| {
        let mut buf = [0u8; 4096];
        while !seen.contains(needle) {
            let n = stdout.read(&mut buf).unwrap();
            assert!(n > 0, "ggen ended before asking {needle:?}:\n{seen}");
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    };
    wait_for("(project_name)", &mut seen);
    stdin.write_all(b"Not Valid\r").unwrap();
    wait_for("does not match the pattern", &mut seen);
    stdin.write_all(b"asked-tool\r").unwrap();
    wait_for("(greeting)", &mut seen);
    stdin.write_all(b"\r").unwrap(); // the default
    wait_for("Generated", &mut seen);
    drop(stdin);
    assert!(child.wait().unwrap().success(), "{seen}");
    assert!(read(&dir, "Cargo.toml").contains("name = \"asked-tool\""));
    assert!(read(&dir, "src/main.rs").contains("\"Hello, world!\""));
}

#[test]
fn verify_signature_refuses_an_unsigned_package_before_writing() {
    let home = Home::new();
    let dir = home.path().join("signed-only");
    let err = top_fails(
        &home,
        &[
            "new",
            "hello-world",
            dir.to_str().unwrap(),
            "--verify-signature",
        ],
        &["hello-world"],
    );
    assert!(err.to_lowercase().contains("sign"), "{err}");
    assert!(!dir.exists());
}
