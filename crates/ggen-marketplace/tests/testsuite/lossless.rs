//! The migration contract: V1 -> unified -> V2 -> unified -> V1 is the identity, on
//! generated packages: dotted names, unicode and control characters in text,
//! empty lists, many versions with pre-release and build metadata, optional
//! dependencies, signatures, yanks, timestamps.
#![cfg(feature = "marketplace-parallel")]

use ggen_marketplace::v1::index::IndexFile;
use ggen_marketplace::v2::V2Backend;
use ggen_marketplace_core::MarketplaceBackend;
use ggen_marketplace_core::model::{Package, PackageVersion};
use ggen_test_support::strategies::catalogue;
use proptest::prelude::*;

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
