//! What each fuzz target checks, in one place: `fuzz/fuzz_targets/*.rs` hand
//! these functions libFuzzer's inputs (`cargo +nightly fuzz run <target>`), and
//! `tests/replay.rs` hands them a deterministic stream of mutated seeds on
//! stable, so every CI run exercises the same properties even without nightly.
//!
//! Each function must never panic on any input; where a parse succeeds it also
//! checks a property of the result (a round trip, nothing written outside the
//! destination, the literal read back unchanged).

use std::path::Path;

use ggen_marketplace_core::archive::{ExtractLimits, extract_tar_gz, read_file};
use ggen_marketplace_core::manifest::{Manifest, ManifestFormat};
use ggen_marketplace_core::search::{SearchQuery, tokenize};
use ggen_marketplace_v1::index::IndexFile;

/// The manifest readers (`gpack.toml`, `gpack.yaml`, legacy `package.toml`).
pub fn manifest(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for format in [
        ManifestFormat::GpackToml,
        ManifestFormat::GpackYaml,
        ManifestFormat::LegacyToml,
    ] {
        if let Ok(m) = Manifest::parse(text, format, Path::new("fuzz/gpack.toml")) {
            let v = m.to_package_version();
            assert_eq!(v.name, m.name);
            assert_eq!(v.version, m.version);
        }
    }
}

/// The V1 `index.json` reader: whatever it accepts must survive a write and a
/// second read unchanged.
pub fn index(data: &[u8]) {
    let path = Path::new("fuzz/index.json");
    let Ok(file) = IndexFile::parse(data, path) else {
        return;
    };
    let (packages, _report) = file.to_packages();
    let again = IndexFile::parse(&file.to_json(), path).expect("our own index.json parses");
    assert_eq!(again.to_packages().0, packages);
}

/// Archive extraction of raw bytes (mostly rejected at the gzip layer).
pub fn archive(data: &[u8]) {
    extract_checked(data);
}

/// Archive extraction of `data` gzipped, so the fuzzer works on the tar layer:
/// headers, paths, links, sizes.
pub fn archive_tar(data: &[u8]) {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).expect("in memory");
    extract_checked(&gz.finish().expect("in memory"));
}

fn extract_checked(bytes: &[u8]) {
    let limits = ExtractLimits {
        max_total_bytes: 1 << 20,
        max_files: 64,
        max_dirs: 64,
        max_path_len: 256,
    };
    let root = tempfile::tempdir().expect("temp dir");
    // Two levels of parents, so `../` and `../../` escapes land where we look.
    let dest = root.path().join("a/b/dest");
    std::fs::create_dir_all(&dest).expect("dest");
    let _ = extract_tar_gz(bytes, &dest, &limits);
    let _ = read_file(bytes, "gpack.toml", &limits);
    // Whatever happened, nothing may exist outside `dest` but its parents.
    let mut outside = Vec::new();
    let mut stack = vec![root.path().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let p = e.path();
            if p == dest {
                continue;
            }
            let rel = p
                .strip_prefix(root.path())
                .expect("under root")
                .to_path_buf();
            if rel == Path::new("a") || rel == Path::new("a/b") {
                stack.push(p);
            } else {
                outside.push(rel);
            }
        }
    }
    assert!(
        outside.is_empty(),
        "extraction wrote outside its destination: {outside:?}"
    );
}

/// The search query path shared by both backends: tokenizing and validation.
pub fn query(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let tokens = tokenize(&text);
    assert!(tokens.iter().all(|t| !t.is_empty()));
    let q = SearchQuery::text(text.as_ref());
    if q.validate().is_ok() {
        let _ = q.terms();
    }
}

/// SPARQL term escaping: any string, written as a literal the way the V2
/// remote store writes INSERT DATA (oxrdf's `Display`), must parse back as
/// exactly that literal and as nothing more than one triple.
pub fn sparql_literal(data: &[u8]) {
    use spargebra::term::{Literal, NamedNode, Quad, Term};
    let text = String::from_utf8_lossy(data).into_owned();
    let s = NamedNode::new_unchecked("https://ggen.io/marketplace/package/fuzz");
    let p = NamedNode::new_unchecked("https://ggen.io/marketplace/description");
    let literal = Literal::new_simple_literal(text.clone());
    let update = format!("INSERT DATA {{\n{s} {p} {literal} .\n}}");
    let parsed = spargebra::SparqlParser::new()
        .parse_update(&update)
        .unwrap_or_else(|e| panic!("our own INSERT DATA does not parse ({e}): {update}"));
    let [spargebra::GraphUpdateOperation::InsertData { data }] = parsed.operations.as_slice()
    else {
        panic!("one INSERT DATA expected, got {parsed}");
    };
    let [Quad { object, .. }] = data.as_slice() else {
        panic!("one triple expected, got {}", data.len());
    };
    match object {
        Term::Literal(l) => assert_eq!(l.value(), text),
        other => panic!("a literal expected, got {other}"),
    }
}

/// A target's body: must not panic on any input.
pub type Target = fn(&[u8]);

/// The targets, by name (`fuzz/fuzz_targets/<name>.rs`).
pub const TARGETS: &[(&str, Target)] = &[
    ("manifest", manifest),
    ("index", index),
    ("archive", archive),
    ("archive_tar", archive_tar),
    ("query", query),
    ("sparql_literal", sparql_literal),
];

/// Valid inputs to start from: mutating these reaches deep into each parser
/// far sooner than random bytes.
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    use ggen_test_support::corpus::{CorpusSpec, generate};
    let text = |items: &[&str]| items.iter().map(|s| s.as_bytes().to_vec()).collect();
    match target {
        "manifest" => text(&[
            "[package]\nname = \"hello-world\"\nversion = \"1.2.3\"\ndescription = \"A template\"\n\
             category = \"web\"\nauthors = [\"Ada\"]\nlicense = \"MIT\"\ntags = [\"rust\", \"cli\"]\n\
             keywords = [\"starter\"]\n\n[dependencies]\nrust-base = \"^1.0\"\n",
            "package:\n  name: yaml-pack\n  version: 0.1.0\n  description: From YAML\n",
            "[package]\nname = \"legacy\"\nversion = \"0.3.0\"\ndescription = \"Old style\"\n\
             [package.metadata]\nproduction_ready = true\n",
        ]),
        "index" => {
            let corpus = generate(&CorpusSpec::new(3));
            vec![IndexFile::from_packages(&corpus, "https://example.org", 1).to_json()]
        }
        "archive" | "archive_tar" => {
            let dir = tempfile::tempdir().expect("temp dir");
            std::fs::create_dir_all(dir.path().join("templates")).expect("mkdir");
            std::fs::write(
                dir.path().join("gpack.toml"),
                b"[package]\nname = \"a\"\nversion = \"1.0.0\"\n",
            )
            .expect("write");
            std::fs::write(dir.path().join("templates/main.rs.tmpl"), b"fn main() {}\n")
                .expect("write");
            let gz = ggen_marketplace_core::archive::pack_dir(dir.path()).expect("pack");
            if target == "archive" {
                vec![gz]
            } else {
                use std::io::Read;
                let mut tar = Vec::new();
                flate2::read::GzDecoder::new(gz.as_slice())
                    .read_to_end(&mut tar)
                    .expect("our own archive");
                vec![tar]
            }
        }
        "query" => text(&[
            "rust web service",
            "grpah qeury",
            "dashb",
            "x\") } ; DROP ALL ; #",
            "ünïcödé 日本語 \u{0} \t\n",
        ]),
        "sparql_literal" => text(&[
            "plain",
            "x\") } ; DROP ALL ; #",
            "quote \" backslash \\ newline \n tab \t",
            "\u{0}\u{1f}\u{7f}\u{feff}",
            "\"\"\" ''' <http://x> _:b ?v $w",
        ]),
        _ => Vec::new(),
    }
}

/// A small deterministic mutator for the stable replay: flips,
/// inserts, deletes, duplicates, truncates, and splices in bytes that matter to
/// these parsers.
pub struct Mutator(ggen_test_support::Rng);

impl Mutator {
    pub fn new(seed: u64) -> Self {
        Self(ggen_test_support::Rng::new(seed))
    }

    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { self.0.below(n) }
    }

    pub fn mutate(&mut self, input: &[u8]) -> Vec<u8> {
        const SPECIAL: &[u8] = b"\0\xff\"\\{}[]<>/.\n\r\t=:#-'$?";
        let mut out = input.to_vec();
        for _ in 0..1 + self.below(4) {
            let at = self.below(out.len() + 1);
            match self.below(7) {
                0 if !out.is_empty() => {
                    let i = self.below(out.len());
                    out[i] ^= 1 << self.below(8);
                }
                1 => {
                    let b = self.next() as u8;
                    out.insert(at, b);
                }
                2 if !out.is_empty() => {
                    out.remove(self.below(out.len()));
                }
                3 => {
                    let b = SPECIAL[self.below(SPECIAL.len())];
                    out.insert(at, b);
                }
                4 if !out.is_empty() => {
                    let from = self.below(out.len());
                    let len = self.below((out.len() - from).min(64) + 1);
                    let chunk = out[from..from + len].to_vec();
                    out.splice(at..at, chunk);
                }
                5 => out.truncate(at),
                _ => {
                    let b = out.get(at).copied().unwrap_or(b'a');
                    let n = 1 + self.below(32);
                    out.splice(at..at, std::iter::repeat_n(b, n));
                }
            }
        }
        out
    }
}
