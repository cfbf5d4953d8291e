//! proptest generators of unified packages, shared by the crates' property
//! tests (the V2 mapping round trip, the V1 -> V2 -> V1 identity).

use chrono::{TimeZone, Utc};
use proptest::prelude::*;

use ggen_marketplace_core::model::{Dependency, Package, PackageVersion, Signature};

/// Registry names, dots included (`io.ggen.x`).
pub fn name() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9_-]{0,8}(\\.[a-z0-9_-]{1,6}){0,3}"
}

pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("quote \" backslash \\ newline \n cr \r tab \t brace } ; DROP ALL ; #".to_string()),
        Just("nul \u{0} ctrl \u{1b} \u{7f} bom \u{feff} \u{fffe}".to_string()),
        any::<String>(),
        "\\PC{0,40}",
    ]
}

pub fn version() -> impl Strategy<Value = semver::Version> {
    (
        0u64..1000,
        0u64..1000,
        0u64..1000,
        prop::option::of("[a-z]{1,5}(\\.(0|[1-9][0-9]{0,2}))?"),
        prop::option::of("[a-z0-9]{1,6}"),
    )
        .prop_map(|(a, b, c, pre, build)| {
            let mut s = format!("{a}.{b}.{c}");
            if let Some(p) = pre {
                s.push('-');
                s.push_str(&p);
            }
            if let Some(b) = build {
                s.push('+');
                s.push_str(&b);
            }
            s.parse().unwrap()
        })
}

pub fn req() -> impl Strategy<Value = semver::VersionReq> {
    prop_oneof![
        Just("*"),
        Just("^1.2"),
        Just("~0.3.1"),
        Just(">=1, <2"),
        Just("=1.0.0-beta.1")
    ]
    .prop_map(|s| s.parse().unwrap())
}

pub fn release(name: String) -> impl Strategy<Value = PackageVersion> {
    let strs = || prop::collection::vec(text(), 0..4);
    (
        version(),
        text(),
        prop::option::of(text()),
        (strs(), strs(), strs()),
        (
            prop::option::of(text()),
            prop::option::of(text()),
            prop::option::of(text()),
        ),
        prop::collection::vec((name_strategy(), req(), any::<bool>()), 0..3),
        (
            any::<bool>(),
            prop::option::of(text()),
            prop::option::of(text()),
            prop::option::of("[0-9a-f]{64}"),
            prop::option::of(any::<u64>()),
        ),
        prop::option::of((text(), text(), "[0-9a-f]{64}", "[0-9a-f]{128}", text())),
        (
            any::<bool>(),
            prop::option::of(0i64..253_402_300_799),
            0u32..1_000_000_000,
        ),
    )
        .prop_map(
            move |(
                ver,
                description,
                category,
                (tags, keywords, authors),
                (license, repository, homepage),
                deps,
                (pr, path, url, checksum, size),
                sig,
                (yanked, ts, nanos),
            )| {
                let mut v = PackageVersion::new(name.clone(), ver);
                v.description = description;
                v.category = category;
                v.tags = tags;
                v.keywords = keywords;
                v.authors = authors;
                v.license = license;
                v.repository = repository;
                v.homepage = homepage;
                v.dependencies = deps
                    .into_iter()
                    .map(|(n, req, optional)| Dependency {
                        name: n,
                        req,
                        optional,
                    })
                    .collect();
                v.production_ready = pr;
                v.path = path;
                v.download_url = url;
                v.checksum = checksum;
                v.size = size;
                v.signature =
                    sig.map(
                        |(algorithm, key_id, public_key, signature, statement)| Signature {
                            algorithm,
                            key_id,
                            public_key,
                            signature,
                            statement,
                        },
                    );
                v.yanked = yanked;
                v.published_at = ts.map(|s| Utc.timestamp_opt(s, nanos).unwrap());
                v
            },
        )
}

fn name_strategy() -> BoxedStrategy<String> {
    name().boxed()
}

pub fn package() -> impl Strategy<Value = Package> {
    (name(), any::<u64>(), any::<u64>(), 1usize..6).prop_flat_map(|(n, downloads, stars, count)| {
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
    })
}

/// 1-4 packages with distinct names, sorted by name (a small registry).
pub fn catalogue() -> impl Strategy<Value = Vec<Package>> {
    prop::collection::vec(package(), 1..5).prop_map(|mut ps| {
        ps.sort_by(|a, b| a.name.cmp(&b.name));
        ps.dedup_by(|a, b| a.name == b.name);
        ps
    })
}
