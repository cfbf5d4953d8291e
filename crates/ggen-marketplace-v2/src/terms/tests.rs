//! The term index against small hand-made catalogues.

use super::file::PREAMBLE;
use super::*;
use ggen_marketplace_core::model::{Package, PackageVersion};
use ggen_marketplace_core::ranking::EXACT_NAME_SCORE;
use ggen_marketplace_core::search::{SearchQuery, SortOrder};

fn pkg(name: &str, desc: &str, tags: &[&str], downloads: u64) -> Package {
    let mut v = PackageVersion::new(name, "1.0.0".parse().unwrap());
    v.description = desc.into();
    v.tags = tags.iter().map(|s| s.to_string()).collect();
    Package {
        name: name.into(),
        downloads,
        stars: 0,
        versions: vec![v],
    }
}

fn index() -> TermIndex {
    TermIndex::build(
        7,
        vec![
            Doc::from_package(&pkg(
                "hello-world",
                "A friendly greeting template",
                &["example"],
                5,
            )),
            Doc::from_package(&pkg(
                "bibtex-references",
                "Bibliography management",
                &["latex"],
                50,
            )),
            Doc::from_package(&pkg(
                "rust-cli",
                "Command line apps in Rust",
                &["rust", "cli"],
                100,
            )),
            Doc::from_package(&pkg(
                "io.ggen.nextjs.ontology-crud",
                "CRUD from an ontology",
                &["nextjs"],
                1,
            )),
        ],
    )
}

/// The index saved in `dir` if it is at `generation`.
fn load_at(dir: &std::path::Path, generation: u64) -> Option<TermIndex> {
    TermIndex::load(dir).filter(|ix| ix.generation() == generation)
}

fn names(ix: &TermIndex, q: SearchQuery) -> Vec<String> {
    ix.search(&q)
        .unwrap()
        .0
        .iter()
        .map(|s| ix.doc(s.doc).unwrap().name.clone())
        .collect()
}

#[test]
fn exact_prefix_and_typo_candidates() {
    let ix = index();
    assert_eq!(ix.base().candidates("rust"), ["rust"]);
    assert!(ix.base().candidates("bib").contains(&"bibtex".to_string()));
    assert!(
        ix.base()
            .candidates("bib")
            .contains(&"bibliography".to_string())
    );
    assert!(ix.base().candidates("helo").contains(&"hello".to_string()));
    assert!(ix.base().candidates("wrld").contains(&"world".to_string()));
    // two edits allowed from 8 characters on
    assert!(
        ix.base()
            .candidates("bibliogrphy")
            .contains(&"bibliography".to_string())
    );
    assert!(
        ix.base()
            .candidates("ontologgy")
            .contains(&"ontology".to_string())
    );
    // one char: no prefix expansion, no typo
    assert!(ix.base().candidates("b").is_empty());
    // three chars: prefix yes, typos no
    assert!(!ix.base().candidates("rst").contains(&"rust".to_string()));
}

#[test]
fn ranking_matches_v1_rules() {
    let ix = index();
    assert_eq!(names(&ix, SearchQuery::text("helo wrld"))[0], "hello-world");
    assert_eq!(names(&ix, SearchQuery::text("bib"))[0], "bibtex-references");
    assert_eq!(names(&ix, SearchQuery::text("rust-cli"))[0], "rust-cli");
    assert_eq!(
        names(&ix, SearchQuery::text("io.ggen.nextjs.ontology-crud"))[0],
        "io.ggen.nextjs.ontology-crud"
    );
    let (hits, _) = ix.search(&SearchQuery::text("hello world")).unwrap();
    assert!(hits[0].score >= EXACT_NAME_SCORE);
    // No text: every package, by downloads.
    assert_eq!(
        names(&ix, SearchQuery::default()),
        [
            "rust-cli",
            "bibtex-references",
            "hello-world",
            "io.ggen.nextjs.ontology-crud"
        ]
    );
    assert!(
        ix.search(&SearchQuery::text("zzzzqqq"))
            .unwrap()
            .0
            .is_empty()
    );
}

#[test]
fn filters_and_sorts_read_the_columns() {
    let mut academic = pkg(
        "bibtex-references",
        "Bibliography management",
        &["latex"],
        50,
    );
    academic.versions[0].category = Some("Academic".into());
    let ix = TermIndex::build(
        1,
        vec![
            Doc::from_package(&academic),
            Doc::from_package(&pkg("rust-cli", "Command line apps", &["rust", "cli"], 100)),
            Doc::from_package(&pkg("rust-web", "Web services", &["rust", "web"], 7)),
        ],
    );
    let query = |category: Option<&str>, tags: &[&str], sort: SortOrder| {
        let q = SearchQuery {
            category: category.map(str::to_string),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            sort,
            ..SearchQuery::default()
        };
        names(&ix, q)
    };
    assert_eq!(
        query(Some("ACADEMIC"), &[], SortOrder::Relevance),
        ["bibtex-references"]
    );
    assert!(query(Some("web"), &[], SortOrder::Relevance).is_empty());
    assert_eq!(
        query(None, &["Rust"], SortOrder::Relevance),
        ["rust-cli", "rust-web"]
    );
    assert_eq!(
        query(None, &["rust", "web"], SortOrder::Relevance),
        ["rust-web"]
    );
    assert!(query(None, &["rust", "latex"], SortOrder::Relevance).is_empty());
    assert!(query(None, &["unknown"], SortOrder::Relevance).is_empty());
    assert_eq!(
        query(None, &[], SortOrder::Name),
        ["bibtex-references", "rust-cli", "rust-web"]
    );
    assert_eq!(
        query(None, &[], SortOrder::Downloads),
        ["rust-cli", "bibtex-references", "rust-web"]
    );
}

#[test]
fn persisted_index_loads_at_its_generation() {
    let dir = tempfile::tempdir().unwrap();
    let ix = index();
    ix.save(dir.path()).unwrap();
    let back = load_at(dir.path(), 7).expect("fresh");
    assert_eq!(back.all_docs().unwrap(), ix.all_docs().unwrap());
    assert_eq!(back.term_count(), ix.term_count());
    for q in ["helo", "bib", "rust cli", "hello world", "ontology", ""] {
        let (a, b) = (
            ix.search(&SearchQuery::text(q)).unwrap(),
            back.search(&SearchQuery::text(q)).unwrap(),
        );
        assert_eq!(a, b, "{q}");
    }
    // A loaded index changes and saves like a built one.
    let changed = back
        .with_counters(8, &[("hello-world".into(), 500, 3)])
        .unwrap();
    assert_eq!(names(&changed, SearchQuery::default())[0], "hello-world");
    assert_eq!(changed.doc(1).unwrap().summary.stars, 3);
    changed.save(dir.path()).unwrap();
    let again = load_at(dir.path(), 8).expect("fresh");
    assert_eq!(again.all_docs().unwrap(), changed.all_docs().unwrap());
    // The package record follows the counters, across a save.
    let p = again.package("hello-world").unwrap().expect("indexed");
    assert_eq!((p.downloads, p.stars), (500, 3));
    assert!(load_at(dir.path(), 7).is_none());
    std::fs::write(TermIndex::path(dir.path()), b"garbage").unwrap();
    assert!(load_at(dir.path(), 8).is_none());
}

/// Every truncation of the file is refused at load; a posting or document
/// damaged in place (the layout intact) is an error naming the file when
/// read, never a panic.
#[test]
fn a_damaged_index_file_is_refused_or_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let ix = index();
    ix.save(dir.path()).unwrap();
    let path = TermIndex::path(dir.path());
    let good = std::fs::read(&path).unwrap();
    for len in (0..good.len()).step_by(7) {
        std::fs::write(&path, &good[..len]).unwrap();
        assert!(load_at(dir.path(), 7).is_none(), "{len} bytes");
    }
    // Every byte of the body flipped in turn: load refuses it, or searches
    // and documents answer or fail cleanly.
    let (mut refused, mut failed) = (0, 0);
    for at in PREAMBLE..good.len() {
        let mut bad = good.clone();
        bad[at] ^= 0xff;
        std::fs::write(&path, &bad).unwrap();
        let Some(ix) = load_at(dir.path(), 7) else {
            refused += 1;
            continue;
        };
        for q in ["hello", "bib", "rust cli", ""] {
            if let Err(e) = ix.search(&SearchQuery::text(q)) {
                assert!(e.to_string().contains("index.bin"), "{e}");
                failed += 1;
            }
        }
        for i in 0..ix.len() as u32 {
            if let Err(e) = ix.doc(i) {
                assert!(e.to_string().contains("damaged"), "{e}");
                failed += 1;
            }
        }
        for name in ["hello-world", "bibtex-references", "rust-cli"] {
            match ix.package(name) {
                Ok(Some(p)) => assert_eq!(p.name, name),
                Ok(None) => {}
                Err(e) => {
                    assert!(e.to_string().contains("damaged"), "{e}");
                    failed += 1;
                }
            }
        }
    }
    // Both paths are exercised: refusals at load, errors on use.
    assert!(
        refused > 0 && failed > 0,
        "{refused} refused, {failed} failed"
    );
}

/// Postings out of (doc, field) order would send a window's sums to the
/// wrong doc: they are an error naming the file, never a panic or a
/// silently wrong score.
#[test]
fn postings_out_of_order_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let ix = index();
    ix.save(dir.path()).unwrap();
    let path = TermIndex::path(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    let len_of = |b: &[u8], k: usize| {
        u64::from_le_bytes(b[32 + 8 * k..40 + 8 * k].try_into().unwrap()) as usize
    };
    // "rust" has postings in three fields of `rust-cli`: swap the first two.
    let ord = ix.base().fst.get("rust").unwrap() as usize;
    let first = file::u32_at(ix.base().starts.as_ref(), ord).unwrap() as usize;
    assert!(file::u32_at(ix.base().starts.as_ref(), ord + 1).unwrap() as usize >= first + 2);
    // The postings section follows meta, the columns and the starts.
    let before: usize = (0..columns::SECTIONS + 2).map(|k| len_of(&bytes, k)).sum();
    let at = PREAMBLE + before + first * file::POSTING_BYTES;
    let (a, b) = (at..at + 8, at + 8..at + 16);
    let (x, y) = (bytes[a.clone()].to_vec(), bytes[b.clone()].to_vec());
    bytes[a].copy_from_slice(&y);
    bytes[b].copy_from_slice(&x);
    std::fs::write(&path, &bytes).unwrap();
    let damaged = load_at(dir.path(), 7).expect("the layout is intact");
    let e = damaged.search(&SearchQuery::text("rust")).unwrap_err();
    assert!(e.to_string().contains("out of order"), "{e}");
    assert!(e.to_string().contains("index.bin"), "{e}");
}

/// Summing a window of docs at a time gives the same hits, scores, parts
/// and totals whatever the window's size: one doc, an odd size, the size
/// used, and the whole catalogue at once.
#[test]
fn results_do_not_depend_on_the_window() {
    use super::score::WINDOW;
    use ggen_marketplace_core::search::plan_with;
    use ggen_test_support::corpus::{CorpusSpec, generate};
    let packages = generate(&CorpusSpec::new(5000));
    let ix = TermIndex::build(1, packages.iter().map(Doc::from_package).collect());
    for q in queries_of_every_kind() {
        let plan = plan_with(&q.text, false, ix.scheme());
        let want = ix.search_with(&q, &plan, ix.len()).unwrap();
        assert!(want.1 > 0, "{:?} matches", q.text);
        for window in [1, 7, WINDOW] {
            // Each doc's parts are added in the same order whatever the
            // window, so even the float sums are equal.
            let got = ix.search_with(&q, &plan, window).unwrap();
            assert_eq!(got, want, "{:?}, window {window}", q.text);
        }
    }
}

/// A posting carries its field's length up to 254 tokens; a longer field's
/// is read from the ranking columns, so BM25 still tells 300 from 400.
#[test]
fn long_fields_keep_their_length() {
    let long = |n: usize| {
        let mut words = vec!["needle".to_string()];
        words.extend((0..n - 1).map(|i| format!("filler{i}")));
        words.join(" ")
    };
    let ix = TermIndex::build(
        1,
        vec![
            Doc::from_package(&pkg("four-hundred", &long(400), &[], 0)),
            Doc::from_package(&pkg("three-hundred", &long(300), &[], 0)),
        ],
    );
    let (hits, _) = ix.search(&SearchQuery::text("needle")).unwrap();
    assert_eq!(
        names(&ix, SearchQuery::text("needle")),
        ["three-hundred", "four-hundred"]
    );
    assert!(hits[0].score > hits[1].score, "{hits:?}");
}

/// `info` reads a package's record: the package as given, versions in the
/// graph's order, and only ever the package the index names there.
#[test]
fn package_records_are_the_packages_and_are_checked() {
    let mut two = pkg("two-versions", "Two of them", &[], 9);
    let mut old = two.versions[0].clone();
    old.version = "0.9.0".parse().unwrap();
    two.versions.push(old);
    let ix = TermIndex::build(3, vec![Doc::from_package(&two)]);
    let dir = tempfile::tempdir().unwrap();
    ix.save(dir.path()).unwrap();
    let back = load_at(dir.path(), 3).expect("fresh");
    let mut sorted = two.clone();
    sorted.sort_versions();
    for ix in [&ix, &back] {
        assert_eq!(ix.package("two-versions").unwrap(), Some(sorted.clone()));
        assert_eq!(ix.package("three-versions").unwrap(), None);
    }
    // A record that is another package's is an error, not its answer.
    let mut swapped = Doc::from_package(&pkg("mine", "mine", &[], 1));
    swapped.record = doc::record_of(&pkg("theirs", "theirs", &[], 1));
    let ix = TermIndex::build(4, vec![swapped]);
    let err = ix.package("mine").unwrap_err().to_string();
    assert!(
        err.contains("package record") && err.contains("mine"),
        "{err}"
    );
}

/// Words, prefixes, typos, a filter, every order, and pages past the first,
/// with explanations.
fn queries_of_every_kind() -> Vec<SearchQuery> {
    let mut queries: Vec<SearchQuery> = [
        "rust web service",
        "graph",
        "dashb",
        "grpah qeury",
        "kubernetes helm chart",
        "payments",
        "template",
        "",
    ]
    .into_iter()
    .map(SearchQuery::text)
    .collect();
    let mut filtered = SearchQuery::text("template");
    filtered.category = Some("web".into());
    queries.push(filtered);
    for sort in [SortOrder::Downloads, SortOrder::Name, SortOrder::Recent] {
        for text in ["rust", ""] {
            let mut q = SearchQuery::text(text);
            q.sort = sort;
            q.offset = 37;
            queries.push(q);
        }
    }
    for q in &mut queries {
        q.explain = true;
    }
    queries
}

/// Everything a reader sees of `ix`, to compare two indexes by.
fn answers(ix: &TermIndex) -> Vec<String> {
    let mut out = vec![format!("{} packages", ix.len())];
    for q in queries_of_every_kind() {
        let (page, total) = ix.search(&q).unwrap();
        let hits: Vec<String> = page
            .iter()
            .map(|s| {
                let parts: Vec<String> = s.explain.iter().map(|p| format!("{p:?}")).collect();
                format!("{} {} {parts:?}", ix.doc(s.doc).unwrap().name, s.score)
            })
            .collect();
        out.push(format!("{q:?}: {total} {hits:?}"));
    }
    let mut listed: Vec<String> = ix.ids().map(|i| ix.doc(i).unwrap().name.clone()).collect();
    listed.sort();
    out.push(format!("{listed:?}"));
    out
}

/// A delta over a base answers every query exactly as one segment built
/// from the same docs does: the same hits, scores (to the bit), parts and
/// totals, in memory and once saved and loaded again.
#[test]
fn a_delta_answers_as_one_merged_segment() {
    use ggen_test_support::corpus::{CorpusSpec, generate};
    let packages = generate(&CorpusSpec::new(3000));
    let (first, later) = packages.split_at(2900);
    let base = TermIndex::build(1, first.iter().map(Doc::from_package).collect());
    // Changed packages (one of them thrice), new ones, and removed ones.
    let mut changed: Vec<Package> = first[..40].to_vec();
    for (i, p) in changed.iter_mut().enumerate() {
        p.downloads += 10_000 + i as u64;
        p.versions[0]
            .description
            .push_str(" now with graph dashboards");
    }
    let removed: Vec<String> = first[100..110].iter().map(|p| p.name.clone()).collect();
    let mut ix = base
        .with_changes(2, later.iter().map(Doc::from_package).collect(), &[])
        .unwrap();
    for (g, chunk) in (3..).zip(changed.chunks(10)) {
        ix = ix
            .with_changes(g, chunk.iter().map(Doc::from_package).collect(), &removed)
            .unwrap();
    }
    assert!(
        ix.delta_len() >= 140,
        "the changes are in a delta: {}",
        ix.delta_len()
    );
    let mut all: std::collections::BTreeMap<String, Package> = first
        .iter()
        .chain(later)
        .chain(&changed)
        .map(|p| (p.name.clone(), p.clone()))
        .collect();
    for r in &removed {
        all.remove(r);
    }
    let merged = TermIndex::build(6, all.values().map(Doc::from_package).collect());
    let want = answers(&merged);
    assert_eq!(answers(&ix), want);
    assert_eq!(ix.len(), 2990);
    for name in [&changed[0].name, &later[0].name, &first[500].name] {
        assert_eq!(ix.package(name).unwrap().as_ref(), all.get(name));
    }
    assert!(!ix.contains(&removed[0]) && ix.package(&removed[0]).unwrap().is_none());
    assert_eq!(ix.all_docs().unwrap(), merged.all_docs().unwrap());

    // Saved, only the delta is written once the base is on disk.
    let dir = tempfile::tempdir().unwrap();
    ix.save(dir.path()).unwrap();
    let base_file = std::fs::metadata(TermIndex::path(dir.path()))
        .unwrap()
        .modified()
        .unwrap();
    let next = ix
        .with_changes(7, vec![Doc::from_package(&first[7])], &[])
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    next.save(dir.path()).unwrap();
    let after = std::fs::metadata(TermIndex::path(dir.path()))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(base_file, after, "the base is not rewritten");
    let back = load_at(dir.path(), 7).expect("base and delta load");
    assert_eq!(back.delta_len(), next.delta_len());
    assert_eq!(answers(&back), answers(&next));
    assert_eq!(answers(&back), want);
}

/// Past `MERGE_AT` docs (or the size of the base) the delta is merged into
/// a new base, which saving writes and which leaves no delta file.
#[test]
fn a_large_delta_is_merged_into_the_base() {
    use ggen_test_support::corpus::{CorpusSpec, generate};
    let packages = generate(&CorpusSpec::new(70));
    let ix = TermIndex::build(1, packages[..30].iter().map(Doc::from_package).collect());
    let dir = tempfile::tempdir().unwrap();
    let small = ix
        .with_changes(
            2,
            packages[30..40].iter().map(Doc::from_package).collect(),
            &[],
        )
        .unwrap();
    assert_eq!(small.delta_len(), 10);
    small.save(dir.path()).unwrap();
    assert!(dir.path().join(file::DELTA_FILE).is_file());
    let big = small
        .with_changes(
            3,
            packages[40..].iter().map(Doc::from_package).collect(),
            &[],
        )
        .unwrap();
    assert_eq!((big.delta_len(), big.len(), big.generation()), (0, 70, 3));
    big.save(dir.path()).unwrap();
    assert!(!dir.path().join(file::DELTA_FILE).exists());
    assert_eq!(load_at(dir.path(), 3).unwrap().len(), 70);
}

/// A delta that names another base (a crash between the two renames, or
/// another process's merge) is left out, so the base answers alone at its
/// own generation; a delta holding a live base doc's name without listing
/// it as replaced still shows that package once.
#[test]
fn a_delta_of_another_base_or_with_duplicates_misleads_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let delta_path = dir.path().join(file::DELTA_FILE);
    let layered = index()
        .with_changes(
            8,
            vec![Doc::from_package(&pkg("new-one", "fresh", &[], 1))],
            &[],
        )
        .unwrap();
    layered.save(dir.path()).unwrap();
    let saved_delta = std::fs::read(&delta_path).unwrap();
    index().save(dir.path()).unwrap();
    std::fs::write(&delta_path, &saved_delta).unwrap();
    let back = TermIndex::load(dir.path()).unwrap();
    assert_eq!((back.generation(), back.len(), back.delta_len()), (7, 4, 0));
    assert!(!back.contains("new-one"));

    // A crafted delta: `rust-cli` again, without naming it as replaced.
    let base = TermIndex::load(dir.path()).unwrap();
    let mut crafted = Segment::build(
        9,
        vec![Doc::from_package(&pkg(
            "rust-cli",
            "Rust again",
            &["rust"],
            7,
        ))],
    );
    crafted.over = Some(Over {
        base: base.base().id,
        dead: vec!["no-such-package".into()],
    });
    crafted.save(&delta_path).unwrap();
    let back = TermIndex::load(dir.path()).unwrap();
    assert_eq!((back.generation(), back.len()), (9, 4));
    assert_eq!(names(&back, SearchQuery::text("rust")), ["rust-cli"]);
    assert_eq!(back.package("rust-cli").unwrap().unwrap().downloads, 7);
    // Merged, the delta's `rust-cli` is the one kept.
    let more = ["a-one", "a-two", "a-three"].map(|n| Doc::from_package(&pkg(n, "more", &[], 0)));
    let merged = back.with_changes(10, more.to_vec(), &[]).unwrap();
    assert_eq!((merged.delta_len(), merged.len()), (0, 7));
    assert_eq!(merged.package("rust-cli").unwrap().unwrap().downloads, 7);
}

/// A truncated or bit-flipped `delta.bin` never panics and never hides
/// the base: loading leaves the delta out (the base answers alone, at its
/// own generation), or the damage is an error naming the file when read.
#[test]
fn a_damaged_delta_file_leaves_the_base_or_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let layered = index()
        .with_changes(
            8,
            vec![Doc::from_package(&pkg("new-one", "fresh graph", &["x"], 1))],
            &[],
        )
        .unwrap();
    layered.save(dir.path()).unwrap();
    let path = dir.path().join(file::DELTA_FILE);
    let good = std::fs::read(&path).unwrap();
    for len in (0..good.len()).step_by(5) {
        std::fs::write(&path, &good[..len]).unwrap();
        let back = TermIndex::load(dir.path()).expect("the base still loads");
        assert_eq!(
            (back.generation(), back.len(), back.delta_len()),
            (7, 4, 0),
            "{len} bytes"
        );
    }
    let (mut left_out, mut failed) = (0, 0);
    for at in PREAMBLE..good.len() {
        let mut bad = good.clone();
        bad[at] ^= 0xff;
        std::fs::write(&path, &bad).unwrap();
        let back = TermIndex::load(dir.path()).expect("the base still loads");
        if back.delta_len() == 0 {
            assert_eq!(back.generation(), 7);
            left_out += 1;
            continue;
        }
        for q in ["fresh", "graph", "hello", ""] {
            if let Err(e) = back.search(&SearchQuery::text(q)) {
                assert!(e.to_string().contains("delta.bin"), "{e}");
                failed += 1;
            }
        }
        if let Err(e) = back.package("new-one") {
            assert!(e.to_string().contains("damaged"), "{e}");
            failed += 1;
        }
    }
    assert!(
        left_out > 0 && failed > 0,
        "{left_out} left out, {failed} failed"
    );
}
