//! ggen-template's tests: packages are built as real archives and rendered.

mod check;
mod render;

use ggen_marketplace_core::archive::pack_entries;
use ggen_template::TemplateSource;

/// A package archive with `manifest` (the text after `[package]`'s
/// name/version lines) and `files` under `templates/`.
pub fn package(name: &str, extra_manifest: &str, files: &[(&str, &[u8])]) -> TemplateSource {
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"1.0.0\"\ndescription = \"d\"\nlicense = \"MIT\"\n{extra_manifest}"
    );
    let mut entries: Vec<(String, &[u8])> = vec![("gpack.toml".into(), manifest.as_bytes())];
    for (p, d) in files {
        entries.push((format!("templates/{p}"), d));
    }
    let refs: Vec<(&str, &[u8])> = entries.iter().map(|(p, d)| (p.as_str(), *d)).collect();
    let bytes = pack_entries(&refs).expect("packs");
    TemplateSource::from_archive(&bytes).expect("reads")
}
