//! DESIGN.md §5: V1 -> unified -> V2 -> unified -> V1 is the identity, on
//! generated packages: dotted names, unicode and control characters in text,
//! empty lists, many versions with pre-release and build metadata, optional
//! dependencies, signatures, yanks, timestamps.
#![cfg(feature = "marketplace-parallel")]

use chrono::{TimeZone, Utc};
use ggen_marketplace::v1::index::IndexFile;
use ggen_marketplace::v2::V2Backend;
use ggen_marketplace_core::MarketplaceBackend;
use ggen_marketplace_core::model::{Dependency, Package, PackageVersion, Signature};
use proptest::prelude::*;

fn name() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9_-]{0,8}(\\.[a-z0-9_-]{1,6}){0,3}"
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("Ünïcödé — “quotes” \" backslash \\ newline \n tab \t }; DROP ALL".to_string()),
        Just("nul \u{0} ctrl \u{1b} \u{7f} bom \u{feff}".to_string()),
        "\\PC{0,40}",
    ]
}

fn version() -> impl Strategy<Value = semver::Version> {
    (
        0u64..50,
        0u64..50,
        0u64..50,
        prop::option::of("[a-z]{1,5}(\\.(0|[1-9][0-9]{0,2}))?"),
        prop::option::of("[a-z0-9]{1,6}"),
    )
        .prop_map(|(a, b, c, pre, build)| {
            let mut s = format!("{a}.{b}.{c}");
            if let Some(p) = pre {
                s = format!("{s}-{p}");
            }
            if let Some(b) = build {
                s = format!("{s}+{b}");
            }
            s.parse().unwrap()
        })
}

fn release(package: String) -> impl Strategy<Value = PackageVersion> {
    let strs = || prop::collection::vec(text(), 0..3);
    (
        version(),
        text(),
        (prop::option::of(text()), prop::option::of(text())),
        (strs(), strs(), strs()),
        prop::collection::vec(
            (
                name(),
                prop_oneof![Just("*"), Just("^1.2"), Just("~0.3.1"), Just(">=1, <2")],
                any::<bool>(),
            ),
            0..3,
        ),
        (
            any::<bool>(),
            prop::option::of("[0-9a-f]{64}"),
            prop::option::of(0u64..1 << 40),
        ),
        prop::option::of(("[0-9a-f]{16}", "[0-9a-f]{64}", "[0-9a-f]{128}", text())),
        (any::<bool>(), prop::option::of(0i64..4_102_444_800)),
    )
        .prop_map(
            move |(
                ver,
                description,
                (category, license),
                (tags, keywords, authors),
                deps,
                (pr, checksum, size),
                sig,
                (yanked, ts),
            )| {
                let mut v = PackageVersion::new(package.clone(), ver);
                v.description = description;
                v.category = category;
                v.license = license;
                v.tags = tags;
                v.keywords = keywords;
                v.authors = authors;
                v.dependencies = deps
                    .into_iter()
                    .map(|(n, req, optional)| Dependency {
                        name: n,
                        req: req.parse().unwrap(),
                        optional,
                    })
                    .collect();
                v.production_ready = pr;
                v.checksum = checksum;
                v.size = size;
                v.signature = sig.map(|(key_id, public_key, signature, statement)| Signature {
                    algorithm: "ed25519".into(),
                    key_id,
                    public_key,
                    signature,
                    statement,
                });
                v.yanked = yanked;
                v.published_at = ts.map(|s| Utc.timestamp_opt(s, 0).unwrap());
                v
            },
        )
}

fn package() -> impl Strategy<Value = Package> {
    (name(), 0u64..1_000_000, 0u64..10_000, 1usize..8).prop_flat_map(
        |(n, downloads, stars, count)| {
            prop::collection::vec(release(n.clone()), count).prop_map(move |mut versions| {
                versions.sort_by(|a, b| a.version.cmp(&b.version));
                versions.dedup_by(|a, b| a.version == b.version);
                Package {
                    name: n.clone(),
                    downloads,
                    stars,
                    versions,
                }
            })
        },
    )
}

fn catalogue() -> impl Strategy<Value = Vec<Package>> {
    prop::collection::vec(package(), 1..5).prop_map(|mut ps| {
        ps.sort_by(|a, b| a.name.cmp(&b.name));
        ps.dedup_by(|a, b| a.name == b.name);
        ps
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]
    #[test]
    fn v1_to_v2_and_back_is_the_identity(packages in catalogue()) {
        // V1 -> unified
        let index = |ps: &[Package]| {
            let mut f = IndexFile::from_packages(ps, "https://example.com", 3);
            f.updated_at = None; // the only field that is "now", not data
            f.to_json()
        };
        let v1_json = index(&packages);
        let (unified, _) = IndexFile::parse(&v1_json, std::path::Path::new("index.json"))
            .unwrap()
            .to_packages();
        prop_assert_eq!(&unified, &packages);
        // unified -> V2 (the real backend on an in-memory Oxigraph store) -> unified
        let dir = tempfile::tempdir().unwrap();
        let v2 = V2Backend::in_memory(dir.path()).unwrap();
        let releases: Vec<(PackageVersion, Option<Vec<u8>>)> = unified
            .iter()
            .flat_map(|p| p.versions.iter().map(|v| (v.clone(), None)))
            .collect();
        v2.import(&releases).unwrap();
        let counters: Vec<(String, u64, u64)> = unified
            .iter()
            .map(|p| (p.name.clone(), p.downloads, p.stars))
            .collect();
        v2.set_counters(&counters).unwrap();
        let mut back: Vec<Package> = v2
            .list()
            .unwrap()
            .iter()
            .map(|s| v2.package(&s.name).unwrap())
            .collect();
        back.sort_by(|a, b| a.name.cmp(&b.name));
        prop_assert_eq!(&back, &packages);
        // unified -> V1: the same index.json, byte for byte
        let again = index(&back);
        prop_assert_eq!(again, v1_json);
    }
}
