//! [`Pkg`]: a package version for a test, built like cargo-test-support's
//! `Package::new("a", "1.0.0").dep("b", "^1").publish()`. Its archive holds a
//! real `gpack.toml` that says what the release says, so the same package can
//! be published to a backend, uploaded to a registry server (which reads the
//! manifest), or written out as a source directory for `ggen publish`.

use std::path::{Path, PathBuf};

use ggen_marketplace_core::archive::pack_entries;
use ggen_marketplace_core::checksum::sha256_hex;
use ggen_marketplace_core::{Manifest, MarketplaceBackend, PackageVersion};

/// A package version under construction.
#[derive(Debug, Clone)]
pub struct Pkg {
    name: String,
    version: String,
    description: String,
    category: Option<String>,
    license: Option<String>,
    tags: Vec<String>,
    keywords: Vec<String>,
    authors: Vec<String>,
    deps: Vec<(String, String, bool)>,
    variables: Vec<(String, String)>,
    template: Option<String>,
    files: Vec<(String, Vec<u8>)>,
}

impl Pkg {
    /// `name@version` with a description naming it, license MIT, and two
    /// files whose contents name it too (so every version has its own checksum).
    pub fn new(name: &str, version: &str) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            description: format!("The {name} template, for tests"),
            category: None,
            license: Some("MIT".into()),
            tags: Vec::new(),
            keywords: Vec::new(),
            authors: Vec::new(),
            deps: Vec::new(),
            variables: Vec::new(),
            template: None,
            files: vec![
                ("README.md".into(), format!("# {name}\n").into_bytes()),
                (
                    "templates/main.rs.tmpl".into(),
                    format!("// {name} {version}\nfn main() {{}}\n").into_bytes(),
                ),
            ],
        }
    }

    /// Replaces the description.
    pub fn description(mut self, text: &str) -> Self {
        self.description = text.into();
        self
    }

    /// Sets the category.
    pub fn category(mut self, category: &str) -> Self {
        self.category = Some(category.into());
        self
    }

    /// Sets the license (`None`: no license key in the manifest).
    pub fn license(mut self, license: Option<&str>) -> Self {
        self.license = license.map(str::to_string);
        self
    }

    /// Adds tags.
    pub fn tags(mut self, tags: &[&str]) -> Self {
        self.tags.extend(tags.iter().map(|t| t.to_string()));
        self
    }

    /// Adds keywords.
    pub fn keywords(mut self, keywords: &[&str]) -> Self {
        self.keywords.extend(keywords.iter().map(|t| t.to_string()));
        self
    }

    /// Adds an author.
    pub fn author(mut self, author: &str) -> Self {
        self.authors.push(author.into());
        self
    }

    /// Depends on `name` with requirement `req`.
    pub fn dep(mut self, name: &str, req: &str) -> Self {
        self.deps.push((name.into(), req.into(), false));
        self
    }

    /// An optional dependency.
    pub fn optional_dep(mut self, name: &str, req: &str) -> Self {
        self.deps.push((name.into(), req.into(), true));
        self
    }

    /// Declares a template variable: `decl` is its inline TOML table, e.g.
    /// `{ default = "demo", pattern = "[a-z]+" }`.
    pub fn variable(mut self, name: &str, decl: &str) -> Self {
        self.variables.push((name.into(), decl.into()));
        self
    }

    /// The body of the manifest's `[template]` section, e.g. `extends = ["a"]`.
    pub fn template_section(mut self, body: &str) -> Self {
        self.template = Some(body.into());
        self
    }

    /// Adds (or replaces) a file under `templates/`: a file the package generates.
    pub fn template(self, path: &str, contents: impl Into<Vec<u8>>) -> Self {
        self.file(&format!("templates/{path}"), contents)
    }

    /// Leaves out a file (e.g. the default `templates/main.rs.tmpl`).
    pub fn without(mut self, path: &str) -> Self {
        self.files.retain(|(p, _)| p != path);
        self
    }

    /// Adds (or replaces) a file.
    pub fn file(mut self, path: &str, contents: impl Into<Vec<u8>>) -> Self {
        self.files.retain(|(p, _)| p != path);
        self.files.push((path.into(), contents.into()));
        self
    }

    /// The package name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `gpack.toml` this package carries.
    pub fn manifest(&self) -> String {
        let list = |xs: &[String]| {
            xs.iter()
                .map(|x| format!("{x:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut m = format!(
            "[package]\nname = {:?}\nversion = {:?}\ndescription = {:?}\n",
            self.name, self.version, self.description
        );
        if let Some(c) = &self.category {
            m.push_str(&format!("category = {c:?}\n"));
        }
        if let Some(l) = &self.license {
            m.push_str(&format!("license = {l:?}\n"));
        }
        for (key, values) in [
            ("tags", &self.tags),
            ("keywords", &self.keywords),
            ("authors", &self.authors),
        ] {
            if !values.is_empty() {
                m.push_str(&format!("{key} = [{}]\n", list(values)));
            }
        }
        if !self.deps.is_empty() {
            m.push_str("\n[dependencies]\n");
            for (name, req, optional) in &self.deps {
                if *optional {
                    m.push_str(&format!(
                        "{name:?} = {{ version = {req:?}, optional = true }}\n"
                    ));
                } else {
                    m.push_str(&format!("{name:?} = {req:?}\n"));
                }
            }
        }
        if !self.variables.is_empty() {
            m.push_str("\n[variables]\n");
            for (name, decl) in &self.variables {
                m.push_str(&format!("{name} = {decl}\n"));
            }
        }
        if let Some(t) = &self.template {
            m.push_str(&format!("\n[template]\n{t}\n"));
        }
        m
    }

    fn entries(&self) -> Vec<(String, Vec<u8>)> {
        let mut all = vec![("gpack.toml".to_string(), self.manifest().into_bytes())];
        all.extend(self.files.iter().cloned());
        all.sort();
        all
    }

    /// The package's `.tar.gz`, packed as `ggen publish` packs a directory.
    pub fn archive(&self) -> Vec<u8> {
        let entries = self.entries();
        let refs: Vec<(&str, &[u8])> = entries
            .iter()
            .map(|(p, b)| (p.as_str(), b.as_slice()))
            .collect();
        pack_entries(&refs).expect("an in-memory archive packs")
    }

    /// The release a registry makes of the archive: its manifest's metadata,
    /// checksum and size.
    pub fn release(&self) -> (PackageVersion, Vec<u8>) {
        let archive = self.archive();
        let manifest = Manifest::from_archive(&archive).expect("the manifest we wrote parses");
        let mut release = manifest.to_package_version();
        release.checksum = Some(sha256_hex(&archive));
        release.size = Some(archive.len() as u64);
        (release, archive)
    }

    /// Publishes it through `backend`; returns the release.
    pub fn publish(&self, backend: &dyn MarketplaceBackend) -> PackageVersion {
        let (release, archive) = self.release();
        backend
            .publish(&release, &archive)
            .unwrap_or_else(|e| panic!("publishing {}: {e}", release.id()));
        release
    }

    /// Writes it as a package source directory under `root`
    /// (`src-NAME-VERSION`), ready for `ggen marketplace publish`.
    pub fn write_dir(&self, root: &Path) -> PathBuf {
        let dir = root.join(format!("src-{}-{}", self.name, self.version));
        for (path, bytes) in self.entries() {
            let file = dir.join(path);
            std::fs::create_dir_all(file.parent().expect("files are below the root")).unwrap();
            std::fs::write(file, bytes).unwrap();
        }
        dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_archive_carries_what_the_release_says() {
        let pkg = Pkg::new("rust-web", "0.9.0")
            .description("Axum service")
            .category("web")
            .tags(&["rust", "web"])
            .keywords(&["http"])
            .author("Jane <j@example.com>")
            .dep("rust-cli", "^1")
            .optional_dep("extras", "*");
        let (release, archive) = pkg.release();
        assert_eq!(release.name, "rust-web");
        assert_eq!(release.tags, ["rust", "web"]);
        assert_eq!(release.category.as_deref(), Some("web"));
        assert_eq!(release.dependencies.len(), 2);
        assert!(release.dependencies.iter().any(|d| d.optional));
        assert_eq!(release.checksum, Some(sha256_hex(&archive)));
        assert_eq!(pkg.archive(), archive, "packing is deterministic");
        let dir = tempfile::tempdir().unwrap();
        let src = pkg.write_dir(dir.path());
        assert_eq!(
            ggen_marketplace_core::archive::pack_dir(&src).unwrap(),
            archive,
            "the source directory packs to the same archive"
        );
    }
}
