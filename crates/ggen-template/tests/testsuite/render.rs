use ggen_template::{AnswerSources, Answers, TemplateError, render, resolve_answers};
use serde_json::json;

use crate::package;

fn answers(
    stack: &[&ggen_template::TemplateSource],
    given: &[(&str, &str)],
) -> ggen_template::Resolved {
    let manifests: Vec<_> = stack.iter().rev().map(|s| &s.manifest).collect();
    resolve_answers(
        &manifests,
        AnswerSources {
            given: given
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect::<Answers>(),
            ..AnswerSources::default()
        },
    )
    .unwrap()
}

#[test]
fn files_and_their_names_are_rendered() {
    let p = package(
        "app",
        "[variables]\nname = { default = \"demo\" }\n",
        &[
            ("src/{{ name }}.rs", b"// {{ name }}\n"),
            ("plain.txt", b"no template here\n"),
        ],
    );
    let tree = render(
        std::slice::from_ref(&p),
        &answers(&[&p], &[("name", "tool")]),
    )
    .unwrap();
    assert_eq!(tree["src/tool.rs"].data, b"// tool\n");
    assert_eq!(tree["plain.txt"].data, b"no template here\n");
    assert_eq!(tree["src/tool.rs"].package, "app@1.0.0");
}

#[test]
fn a_name_that_renders_empty_leaves_the_file_out() {
    let p = package(
        "app",
        "[variables]\nci = { default = false }\n",
        &[("{% if ci %}ci.yml{% endif %}", b"ci\n"), ("keep", b"k\n")],
    );
    let tree = render(std::slice::from_ref(&p), &answers(&[&p], &[])).unwrap();
    assert_eq!(tree.keys().collect::<Vec<_>>(), ["keep"]);
    let tree = render(std::slice::from_ref(&p), &answers(&[&p], &[("ci", "true")])).unwrap();
    assert!(tree.contains_key("ci.yml"));
}

#[test]
fn a_templated_path_that_leaves_the_project_is_refused() {
    let p = package(
        "evil",
        "[variables]\nname = { default = \"ok\" }\n",
        &[("{{ name }}/x", b"x")],
    );
    for bad in ["..", "../../home", "/etc", "a\\b", ".git", ".GIT/hooks"] {
        let e = render(std::slice::from_ref(&p), &answers(&[&p], &[("name", bad)])).unwrap_err();
        assert!(matches!(e, TemplateError::UnsafePath { .. }), "{bad}: {e}");
    }
    // A slash inside an answer splits the path into parts, each checked.
    let e = render(
        std::slice::from_ref(&p),
        &answers(&[&p], &[("name", "a/../../b")]),
    )
    .unwrap_err();
    assert!(matches!(e, TemplateError::UnsafePath { .. }), "{e}");
}

#[test]
fn a_template_cannot_write_the_answers_file_or_git_hooks() {
    for path in [
        ".ggen-answers.toml",
        ".git/hooks/pre-commit",
        "sub/.git/config",
    ] {
        let p = package("evil", "", &[(path, b"x")]);
        let e = render(std::slice::from_ref(&p), &answers(&[&p], &[])).unwrap_err();
        assert!(matches!(e, TemplateError::UnsafePath { .. }), "{path}: {e}");
    }
}

#[test]
fn binary_and_raw_files_are_copied_untouched() {
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\0\0{{ name }}";
    let p = package(
        "app",
        "[variables]\nname = { default = \"demo\" }\n\n[template]\nraw = [\"verbatim/**\"]\n",
        &[
            ("logo.png", png),
            ("verbatim/ci.yml", b"run: ${{ matrix.os }} {{ name }}\n"),
            ("rendered.txt", b"{{ name }}\n"),
        ],
    );
    let tree = render(std::slice::from_ref(&p), &answers(&[&p], &[])).unwrap();
    assert_eq!(tree["logo.png"].data, png);
    assert_eq!(
        tree["verbatim/ci.yml"].data,
        b"run: ${{ matrix.os }} {{ name }}\n"
    );
    assert_eq!(tree["rendered.txt"].data, b"demo\n");
}

#[test]
fn two_packages_writing_one_file_is_an_error_naming_both() {
    let base = package("base", "", &[("Cargo.toml", b"base\n")]);
    let app = package("app", "", &[("Cargo.toml", b"app\n")]);
    let e = render(&[base, app], &answers(&[], &[])).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("Cargo.toml")
            && text.contains("base@1.0.0")
            && text.contains("app@1.0.0")
            && text.contains("extends"),
        "{text}"
    );
}

#[test]
fn a_package_that_extends_a_file_replaces_it_and_can_read_it() {
    let base = package(
        "base",
        "",
        &[("README.md", b"# Base\n"), ("lib.rs", b"lib\n")],
    );
    let app = package(
        "app",
        "[template]\nextends = [\"README.md\"]\n",
        &[("README.md", b"{{ extended }}## App\n")],
    );
    let tree = render(&[base, app], &answers(&[], &[])).unwrap();
    assert_eq!(tree["README.md"].data, b"# Base\n## App\n");
    assert_eq!(tree["README.md"].package, "app@1.0.0");
    assert_eq!(tree["lib.rs"].package, "base@1.0.0");
}

#[test]
fn a_template_error_names_the_package_file_and_line() {
    let p = package("app", "", &[("a.txt", b"fine\n{{ undeclared }}\n")]);
    let e = render(std::slice::from_ref(&p), &answers(&[&p], &[])).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("app@1.0.0: templates/a.txt:2"), "{text}");
}

#[test]
fn executable_bits_survive() {
    use ggen_marketplace_core::archive::pack_dir;
    let dir = tempfile_dir();
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(
        dir.join("gpack.toml"),
        "[package]\nname = \"s\"\nversion = \"1.0.0\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("templates/run.sh"), "#!/bin/sh\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.join("templates/run.sh"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
    }
    let p = ggen_template::TemplateSource::from_archive(&pack_dir(&dir).unwrap()).unwrap();
    let tree = render(std::slice::from_ref(&p), &answers(&[&p], &[])).unwrap();
    assert_eq!(tree["run.sh"].executable, cfg!(unix));
    std::fs::remove_dir_all(&dir).unwrap();
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("ggen-template-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
