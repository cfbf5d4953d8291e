//! Hostile ground: a target directory someone else prepared, and a registry
//! server that lies. Each test plants what an attacker would and checks that
//! ggen refuses with an error naming the file or server, and that nothing
//! outside the target changes.

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use common::{Home, walk};
use serde_json::json;

/// Every file under `dir` with the digest of its bytes, for before/after
/// comparisons (digests keep a failure's message readable).
fn contents(dir: &Path) -> Vec<(std::path::PathBuf, String)> {
    let mut files: Vec<_> = walk(dir)
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_default();
            (p, ggen_marketplace_core::checksum::sha256_hex(&bytes))
        })
        .collect();
    files.sort();
    files
}

/// Fails naming only the files that differ between two [`contents`] snapshots.
fn assert_same(
    before: &[(std::path::PathBuf, String)],
    after: &[(std::path::PathBuf, String)],
    what: &str,
) {
    let b: std::collections::BTreeMap<_, _> = before.iter().cloned().collect();
    let a: std::collections::BTreeMap<_, _> = after.iter().cloned().collect();
    let changed: Vec<_> = b
        .keys()
        .chain(a.keys())
        .filter(|k| b.get(*k) != a.get(*k))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert!(changed.is_empty(), "{what}: {changed:?}");
}

/// A directory outside the target with something worth keeping in it.
fn precious(root: &Path) -> std::path::PathBuf {
    let dir = root.join("precious");
    std::fs::create_dir_all(dir.join(".backup/hello-world")).unwrap();
    std::fs::write(dir.join("thesis.tex"), "years of work").unwrap();
    std::fs::write(dir.join(".backup/hello-world/x"), "x").unwrap();
    dir
}

/// A throw-away root holding a [`precious`] directory beside the targets a
/// test plants, and what that directory held to begin with.
struct Ground {
    root: tempfile::TempDir,
    outside: PathBuf,
    before: Vec<(PathBuf, String)>,
}

impl Ground {
    /// A new root with its precious directory.
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let outside = precious(root.path());
        let before = contents(&outside);
        Self {
            root,
            outside,
            before,
        }
    }

    /// The root itself.
    fn path(&self) -> &Path {
        self.root.path()
    }

    /// A new directory `name` in the root, beside the precious one.
    fn target(&self, name: &str) -> PathBuf {
        let dir = self.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Fails, saying `what`, if anything in the precious directory changed.
    fn assert_untouched(&self, what: &str) {
        assert_same(&self.before, &contents(&self.outside), what);
    }
}

/// The names directly in `dir`, in the order it lists them.
fn entry_names(dir: &Path) -> Vec<std::ffi::OsString> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect()
}

#[test]
fn a_journal_planted_in_the_target_is_refused_and_touches_nothing_outside() {
    let home = Home::new();
    let ground = Ground::new();
    let outside = &ground.outside;
    let target = ground.target("checkout");
    std::fs::create_dir_all(target.join("src")).unwrap();
    std::fs::write(target.join("src/main.rs"), "fn main() {}").unwrap();
    // What older ggen versions believed: a staging path anywhere, names unchecked.
    std::fs::write(
        target.join(".ggen-txn.json"),
        json!({
            "staging": outside,
            "moves": [["src", false], ["../precious", true]],
            "removals": ["../precious"],
            "new_lock_sha256": "00",
        })
        .to_string(),
    )
    .unwrap();
    for args in [
        vec!["install", "hello-world"],
        vec!["update"],
        vec!["remove", "hello-world"],
    ] {
        let (ok, _, err) = home.run_in(&target, &args);
        assert!(!ok, "{args:?} went ahead");
        assert!(err.contains(".ggen-txn.json"), "{args:?}: {err}");
    }
    ground.assert_untouched("something outside the target changed");
    assert!(
        target.join("src/main.rs").is_file(),
        "the checkout's own files were moved"
    );
}

#[test]
fn names_in_a_hostile_lockfile_are_refused_before_they_become_paths() {
    let home = Home::new();
    let ground = Ground::new();
    let target = ground.target("checkout");
    let sha = "ab".repeat(32);
    for name in ["../precious", "/tmp", "a/../../precious"] {
        std::fs::write(
            target.join("ggen.lock"),
            format!(
                "version = 1\n[[package]]\nname = {name:?}\nversion = \"1.0.0\"\nsource = \"x\"\nsha256 = \"{sha}\"\nrequested = true\n"
            ),
        )
        .unwrap();
        for args in [
            vec!["remove", name],
            vec!["update"],
            vec!["install", "hello-world"],
            vec!["list", "--installed"],
        ] {
            let (ok, _, err) = home.run_in(&target, &args);
            assert!(!ok, "{name}: {args:?} went ahead");
            assert!(
                err.contains("ggen.lock") || err.contains("invalid package name"),
                "{name} {args:?}: {err}"
            );
        }
    }
    ground.assert_untouched("something outside the target changed");
}

#[cfg(unix)]
#[test]
fn links_planted_in_the_target_are_not_followed_out_of_it() {
    use std::os::unix::fs::symlink;
    let home = Home::new();
    let ground = Ground::new();
    let outside = &ground.outside;
    let install = ["install", "hello-world"];

    // A link where ggen stages its work: replaced, never written through.
    let target = ground.target("t1");
    symlink(outside, target.join(".ggen-staging")).unwrap();
    home.succeeds_in(&target, &install);
    assert!(target.join("hello-world").is_dir());
    assert!(!target.join(".ggen-staging").exists());

    // A link as ggen.lock: refused, not read through.
    let target = ground.target("t2");
    let elsewhere = ground.path().join("elsewhere.lock");
    std::fs::write(&elsewhere, "version = 1\n").unwrap();
    symlink(&elsewhere, target.join("ggen.lock")).unwrap();
    home.fails_in(&target, &install, &["symbolic link"]);
    assert_eq!(
        std::fs::read_to_string(&elsewhere).unwrap(),
        "version = 1\n"
    );

    // A dangling link where older versions kept their lock file: the target is
    // locked through its own descriptor now, and the link is never opened.
    let target = ground.target("t3");
    symlink(
        outside.join("created-by-ggen"),
        target.join(".ggen.lock-guard"),
    )
    .unwrap();
    home.succeeds_in(&target, &install);
    assert!(!outside.join("created-by-ggen").exists());

    // A link where a package goes: an install of that name refuses to replace it.
    let target = ground.target("t4");
    symlink(outside, target.join("hello-world")).unwrap();
    home.fails_in(&target, &install, &["was not installed by ggen"]);

    ground.assert_untouched("something outside a target changed");
}

#[test]
fn a_damaged_journal_in_the_home_is_a_clear_error() {
    let home = Home::new();
    let target = home.path().join("app");
    let install = ["install", "hello-world"];
    home.succeeds_in(&target, &install);
    let journals = home.path().join("transactions");
    std::fs::create_dir_all(&journals).unwrap();
    // Plant a journal for this very target, as a crash would leave one, but garbled.
    let canonical = std::fs::canonicalize(&target).unwrap();
    let digest =
        ggen_marketplace_core::checksum::sha256_hex(canonical.as_os_str().as_encoded_bytes());
    let jpath = journals.join(format!("{}.json", &digest[..32]));
    std::fs::write(&jpath, r#"{"target": "x", "moves": [["../../etc", true]], "removals": [], "new_lock_sha256": "00"}"#).unwrap();
    let journal = jpath.to_string_lossy();
    home.fails_in(&target, &install, &[&*journal, "invalid package name"]);
    assert!(
        target.join("hello-world").is_dir(),
        "the installed package was touched"
    );
}

/// Every file under `dir` with its digest and modification time: a dry run
/// may not even rewrite a file with the same bytes.
fn exact_contents(dir: &Path) -> Vec<(std::path::PathBuf, String)> {
    contents(dir)
        .into_iter()
        .map(|(p, digest)| {
            let modified = std::fs::metadata(&p).and_then(|m| m.modified()).ok();
            (p, format!("{digest} {modified:?}"))
        })
        .collect()
}

/// The whole home is compared, the embedded V2 store's own files included:
/// a dry run opens that store read-only.
#[test]
fn a_dry_run_writes_nothing_anywhere() {
    // No registry yet: a dry run does not create one, and says what to do.
    let fresh = Home::new();
    let (before, names) = (exact_contents(fresh.path()), entry_names(fresh.path()));
    fresh.fails_in(
        &fresh.path().join("app"),
        &["install", "hello-world", "--dry-run"],
        &["no registry at", "ggen marketplace init"],
    );
    assert_same(
        &before,
        &exact_contents(fresh.path()),
        "a fresh home changed",
    );
    assert_eq!(entry_names(fresh.path()), names);

    let home = Home::new();
    home.json(&["init"]);
    let target = home.path().join("app");
    let home_before = exact_contents(home.path());
    for args in [
        vec!["install", "axum-service", "--dry-run"],
        vec!["install", "hello-world", "--dry-run", "--json"],
    ] {
        home.succeeds_in(&target, &args);
        assert!(!target.exists(), "{args:?} created the target");
    }
    assert_same(
        &home_before,
        &exact_contents(home.path()),
        "the home changed",
    );
    // An existing target: same.
    home.succeeds_in(&target, &["install", "hello-world"]);
    let src = common::package_dir(home.path(), "dry-pack", "1.0.0", "Dry run package", &[]);
    let home_before = exact_contents(home.path());
    let target_before = exact_contents(&target);
    let names_before = entry_names(&target);
    for args in [
        vec!["install", "axum-service", "--dry-run"],
        vec!["update", "--dry-run"],
    ] {
        home.succeeds_in(&target, &args);
    }
    let src = src.to_str().unwrap();
    home.succeeds(&["publish", src, "--dry-run"]);
    if cfg!(feature = "marketplace-parallel") {
        home.succeeds(&["migrate", "--dry-run"]);
    }
    assert_same(
        &home_before,
        &exact_contents(home.path()),
        "the home changed",
    );
    assert_same(
        &target_before,
        &exact_contents(&target),
        "the target changed",
    );
    assert_eq!(entry_names(&target), names_before);
}

// ---- a lying registry server -------------------------------------------------------

/// A registry server that answers each path with what the test says, however
/// wrong: the one fake in these tests, because no real server misbehaves on
/// demand.
struct Liar {
    url: String,
}

/// One answer of a lying server: path, status, content type, body.
type Answer = (String, u16, &'static str, Vec<u8>);

fn liar<P: Into<String>>(answers: Vec<(P, u16, &'static str, Vec<u8>)>) -> Liar {
    let answers: Vec<Answer> = answers
        .into_iter()
        .map(|(p, s, c, b)| (p.into(), s, c, b))
        .collect();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            let mut header = String::new();
            let mut length = 0usize;
            while reader.read_line(&mut header).is_ok() && header != "\r\n" && !header.is_empty() {
                if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                header.clear();
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            let path = path.split('?').next().unwrap_or_default().to_string();
            let (status, ctype, bytes) = answers
                .iter()
                .find(|(p, ..)| *p == path)
                .map(|(_, s, c, b)| (*s, *c, b.clone()))
                .unwrap_or((
                    404,
                    "application/json",
                    br#"{"error":{"code":"not_found","message":"no","hint":null}}"#.to_vec(),
                ));
            let _ = write!(
                conn,
                "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                bytes.len()
            );
            let _ = conn.write_all(&bytes);
        }
    });
    Liar { url }
}

fn version_json(name: &str, version: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut v = json!({
        "name": name, "version": version, "description": "d",
        "checksum": "ab".repeat(32), "dependencies": [],
    });
    for (k, val) in extra.as_object().unwrap() {
        v[k] = val.clone();
    }
    v
}

/// What a lying server says about package `name` at 1.0.0: its record and
/// its version list (both holding `record`), and the archive it serves.
fn served(name: &str, record: serde_json::Value, archive: Vec<u8>) -> Vec<Answer> {
    vec![
        (
            format!("/api/v1/packages/{name}"),
            200,
            "application/json",
            package_json(name, vec![record.clone()]),
        ),
        (
            format!("/api/v1/packages/{name}/versions"),
            200,
            "application/json",
            json!({"versions": [record], "backend_used": "v1"})
                .to_string()
                .into_bytes(),
        ),
        (
            format!("/api/v1/packages/{name}/1.0.0/download"),
            200,
            "application/gzip",
            archive,
        ),
    ]
}

fn package_json(name: &str, versions: Vec<serde_json::Value>) -> Vec<u8> {
    json!({"name": name, "downloads": 0, "stars": 0, "versions": versions, "backend_used": "v2"})
        .to_string()
        .into_bytes()
}

/// Runs `ggen marketplace <args> --registry <url>`: (succeeded, stdout, stderr).
fn run(home: &Home, url: &str, args: &[&str]) -> (bool, String, String) {
    home.run(&[args, &["--registry", url]].concat())
}

#[test]
fn answers_about_another_package_are_refused() {
    let home = Home::new();
    let target = home.path().join("app");
    let l = liar(vec![
        ("/api/v1/packages/foo", 200, "application/json", package_json("bar", vec![version_json("bar", "1.0.0", json!({}))])),
        ("/api/v1/packages/relabelled", 200, "application/json",
            package_json("relabelled", vec![version_json("bar", "1.0.0", json!({}))])),
        ("/api/v1/packages/twice", 200, "application/json",
            package_json("twice", vec![version_json("twice", "1.0.0", json!({})), version_json("twice", "1.0.0", json!({}))])),
        ("/api/v1/packages/baddep", 200, "application/json",
            package_json("baddep", vec![version_json("baddep", "1.0.0", json!({"dependencies": [{"name": "../../etc", "req": "*"}]}))])),
        ("/api/v1/packages/badsum", 200, "application/json",
            package_json("badsum", vec![version_json("badsum", "1.0.0", json!({"checksum": "../../x"}))])),
        ("/api/v1/packages/relabelled/versions", 200, "application/json",
            json!({"versions": [version_json("bar", "1.0.0", json!({}))], "backend_used": "v1"}).to_string().into_bytes()),
        ("/api/v1/search", 200, "application/json",
            json!({"hits": [{"name": "../evil", "version": "1.0.0", "description": "", "category": null, "tags": [], "downloads": 0, "score": 1.0}], "total": 1, "backend_used": "v1", "query_time_ms": 1.0}).to_string().into_bytes()),
        ("/api/v1/packages", 200, "application/json",
            json!({"packages": [{"name": "Evil Name", "version": "1.0.0", "description": "", "category": null, "tags": [], "downloads": 0, "stars": 0, "signed": false, "versions": 1}], "backend_used": "v1"}).to_string().into_bytes()),
    ]);
    for (args, needle) in [
        (vec!["info", "foo"], "asked for `foo`"),
        (vec!["info", "relabelled"], "version named `bar`"),
        (vec!["versions", "relabelled"], "version named `bar`"),
        (vec!["info", "twice"], "listed twice"),
        (vec!["info", "baddep"], "invalid package name"),
        (vec!["info", "badsum"], "not a SHA-256"),
        (
            vec![
                "install",
                "relabelled",
                "--target",
                target.to_str().unwrap(),
            ],
            "bar",
        ),
        (vec!["search", "--query", "x"], "invalid package name"),
        (vec!["list"], "invalid package name"),
    ] {
        let (ok, _, err) = run(&home, &l.url, &args);
        assert!(!ok, "{args:?} accepted a lying answer");
        assert!(
            err.contains("cannot be trusted") && err.contains(needle),
            "{args:?}: {err}"
        );
    }
    assert!(!target.join("relabelled").exists() && !target.join("bar").exists());
}

#[test]
fn a_signed_bar_cannot_be_installed_as_foo() {
    let home = Home::new();
    // A real package `bar`, really signed by a key the user trusts.
    let src = tempfile::tempdir().unwrap();
    let dir = common::package_dir(src.path(), "bar", "1.0.0", "the bar package", &[]);
    let key = home.trusted_key();
    let archive = ggen_marketplace_core::archive::pack_dir(&dir).unwrap();
    let signing_key = ggen_marketplace_core::signing::load_signing_key(&key).unwrap();
    let signature = ggen_marketplace_core::signing::sign_archive(
        &signing_key,
        "bar",
        &"1.0.0".parse().unwrap(),
        &archive,
        chrono::Utc::now(),
    )
    .unwrap();
    let sha = ggen_marketplace_core::checksum::sha256_hex(&archive);
    // The server relabels it `foo`, consistently in every field it controls.
    let relabelled = version_json(
        "foo",
        "1.0.0",
        json!({"checksum": sha, "size": archive.len(), "signature": signature}),
    );
    let l = liar(served("foo", relabelled, archive.clone()));
    let target = src.path().join("app");
    let t = target.to_str().unwrap();
    let install_foo = |l: &Liar| {
        run(
            &home,
            &l.url,
            &["install", "foo", "--verify-signature", "--target", t],
        )
    };
    let (ok, _, err) = install_foo(&l);
    assert!(!ok, "a signature for `bar` was accepted for `foo`");
    assert!(err.contains("bar") && err.contains("foo"), "{err}");
    assert!(!target.join("foo").exists());

    // Or it answers `foo` with `bar`'s own version record, untouched: the
    // signature then verifies for the name in the record, and only checking
    // it against the name asked for catches the swap.
    let genuine = version_json(
        "bar",
        "1.0.0",
        json!({"checksum": sha, "size": archive.len(), "signature": signature}),
    );
    let l = liar({
        let mut answers = served("foo", genuine, archive.clone());
        answers.push((
            "/api/v1/packages/bar/1.0.0/download".into(),
            200,
            "application/gzip",
            archive.clone(),
        ));
        answers
    });
    let (ok, _, err) = install_foo(&l);
    assert!(!ok, "`bar`, signed as itself, was installed as `foo`");
    assert!(err.contains("cannot be trusted"), "{err}");
    assert!(!target.join("foo").exists());
}

#[test]
fn oversized_answers_and_escape_sequences_are_refused_or_defused() {
    let home = Home::new();
    let huge = vec![b' '; 65 * 1024 * 1024];
    let hostile_text = "nice\u{1b}[2J\u{1b}]0;pwned\u{7}\u{9b}31m template";
    let l = liar(vec![
        ("/api/v1/packages/huge", 200, "application/json", huge),
        ("/api/v1/packages/shiny", 200, "application/json",
            package_json("shiny", vec![version_json("shiny", "1.0.0", json!({"description": hostile_text, "authors": [hostile_text], "tags": ["\u{1b}[31mred"]}))])),
        ("/api/v1/packages/fails", 500, "application/json",
            json!({"error": {"code": "x\u{1b}[2J", "message": format!("boom {hostile_text}"), "hint": "\u{1b}]0;title\u{7}"}}).to_string().into_bytes()),
    ]);
    let (ok, _, err) = run(&home, &l.url, &["info", "huge"]);
    assert!(!ok);
    assert!(err.contains("larger than"), "{err}");
    let (ok, out, err) = run(&home, &l.url, &["info", "shiny"]);
    assert!(ok, "{err}");
    assert!(
        !out.contains('\u{1b}') && !out.contains('\u{7}') && !out.contains('\u{9b}'),
        "{out:?}"
    );
    assert!(
        out.contains("\\u{1b}[2J"),
        "the escape is shown, defused: {out}"
    );
    let (ok, _, err) = run(&home, &l.url, &["info", "fails"]);
    assert!(!ok);
    assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "{err:?}");
    // JSON output escapes them itself.
    let (ok, out, _) = run(&home, &l.url, &["info", "shiny", "--json"]);
    assert!(ok && !out.contains('\u{1b}'));
}

#[test]
fn a_token_is_never_sent_in_clear_to_another_machine() {
    let home = Home::new();
    let src = tempfile::tempdir().unwrap();
    let dir = common::package_dir(src.path(), "quokka", "1.0.0", "q", &[]);
    // 192.0.2.0/24 is TEST-NET-1: nothing answers there, and nothing is sent.
    let started = std::time::Instant::now();
    let (ok, _, err) = home.publish_to(&dir, "http://192.0.2.1:8080", "ggen_secret");
    assert!(!ok);
    assert!(
        err.contains("plain http") && err.contains("https://"),
        "{err}"
    );
    assert!(!err.contains("ggen_secret"), "the token was printed: {err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "it tried to connect"
    );
    // Allowed explicitly, it goes on (and fails to connect, which takes a moment).
    let out = home
        .ggen()
        .env("GGEN_REGISTRY_ALLOW_INSECURE_HTTP", "1")
        .args(["info", "quokka"])
        .args(["--registry", "http://127.0.0.1:1", "--token", "ggen_secret"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("plain http"), "loopback is allowed: {err}");
}

/// A gzip'd tar whose one entry climbs out of the target (`../escaped.txt`),
/// written by hand because tar::Builder refuses such paths.
fn climbing_archive() -> Vec<u8> {
    let data = b"owned";
    let mut h = tar::Header::new_old();
    let path = b"../escaped.txt";
    h.as_old_mut().name[..path.len()].copy_from_slice(path);
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    let mut raw = h.as_bytes().to_vec();
    raw.extend_from_slice(data);
    raw.resize(raw.len().div_ceil(512) * 512, 0);
    raw.extend_from_slice(&[0; 1024]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&raw).unwrap();
    gz.finish().unwrap()
}

/// A registry can no longer accept such an archive (publish runs the
/// installer's rules), so a lying server serves one, with a matching checksum.
#[test]
fn an_archive_that_climbs_out_of_the_target_is_refused_and_the_target_unchanged() {
    let home = Home::new();
    let target = home.path().join("project");
    let t = target.to_str().unwrap();
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join("notes.txt"), "my own file").unwrap();
    let before = contents(&target);
    let hostile = climbing_archive();
    let sha = ggen_marketplace_core::checksum::sha256_hex(&hostile);
    let v = version_json(
        "hostile-pack",
        "1.0.0",
        json!({"checksum": sha, "size": hostile.len()}),
    );
    let l = liar(served("hostile-pack", v, hostile));
    let (ok, _, err) = run(&home, &l.url, &["install", "hostile-pack", "--target", t]);
    assert!(!ok);
    assert!(err.contains("escaped.txt") && err.contains(".."), "{err}");
    assert_same(&before, &contents(&target), "the target changed");
    let names = entry_names(&target);
    assert_eq!(names.len(), 1, "left behind: {names:?}");
    assert!(
        !home.path().join("escaped.txt").exists(),
        "wrote outside the target"
    );
}

#[test]
fn a_write_token_names_its_packages_and_its_owner() {
    let home = Home::new();
    for (args, needle) in [
        (vec!["--scope", "publish", "--owner", "acme"], "--package"),
        (vec!["--scope", "yank", "--package", "acme-*"], "--owner"),
        (
            vec!["--scope", "publish", "--owner", "acme", "--package", "../*"],
            "--package",
        ),
    ] {
        let (ok, _, err) = common::outcome(home.token_create().args(&args));
        assert!(!ok, "{args:?} made a token");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    // Explicitly every name is allowed; a read token needs neither.
    home.token_create()
        .args(["--scope", "publish", "--owner", "acme", "--package", "*"])
        .assert()
        .success();
    home.token_create()
        .args(["--scope", "read"])
        .assert()
        .success();
}
