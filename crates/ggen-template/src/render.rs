//! Rendering a stack of packages (dependencies first) into one tree of files,
//! in memory: nothing is written until the whole tree has rendered.
//!
//! Every file under a package's `templates/` becomes the file at the same
//! relative path, with its name's `{{ }}` parts rendered too. A path part that
//! renders empty leaves the file out (a conditional file:
//! `{% if ci %}ci.yml{% endif %}`). Binary files (not UTF-8, or holding a NUL
//! byte) and files matching `[template] raw` are copied untouched. A rendered
//! path must stay inside the project and may not name `.git` (hooks there run
//! on the user's next commit) or the answers file.

use std::collections::BTreeMap;

use ggen_marketplace_core::Manifest;
use ggen_marketplace_core::archive::{ExtractLimits, read_files};
use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::answers::Resolved;
use crate::engine::{Engine, is_template};
use crate::error::{Result, TemplateError};
use crate::record::ANSWERS_FILE;

/// Where a package keeps the files it generates.
pub const TEMPLATES_DIR: &str = "templates/";

/// One package's templates, read from its archive.
#[derive(Debug, Clone)]
pub struct TemplateSource {
    /// The package's manifest (from the same archive).
    pub manifest: Manifest,
    /// Its files under `templates/`, paths relative to it.
    pub files: Vec<SourceFile>,
}

/// A file under `templates/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Relative to `templates/`, `/`-separated; may hold `{{ }}`.
    pub path: String,
    /// Its bytes.
    pub data: Vec<u8>,
    /// Its executable bit.
    pub executable: bool,
}

impl TemplateSource {
    /// Reads a package archive (already checked against its registry
    /// checksum) under the same rules an install applies.
    pub fn from_archive(bytes: &[u8]) -> Result<Self> {
        let manifest = Manifest::from_archive(bytes)?;
        let files = read_files(bytes, &ExtractLimits::default())?
            .into_iter()
            .filter_map(|f| {
                let path = f.path.strip_prefix(TEMPLATES_DIR)?.to_string();
                Some(SourceFile {
                    path,
                    data: f.data,
                    executable: f.executable,
                })
            })
            .collect();
        Ok(Self { manifest, files })
    }

    /// `name@version`.
    pub fn id(&self) -> String {
        format!("{}@{}", self.manifest.name, self.manifest.version)
    }
}

/// A file of the generated project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    /// Its bytes.
    pub data: Vec<u8>,
    /// Its executable bit.
    pub executable: bool,
    /// The package that wrote it (`name@version`).
    pub package: String,
}

/// The generated project, by relative path (`/`-separated).
pub type RenderedTree = BTreeMap<String, RenderedFile>;

/// Renders `stack` (each package after the packages it depends on) with
/// `answers` into one tree.
pub fn render(stack: &[TemplateSource], answers: &Resolved) -> Result<RenderedTree> {
    let engine = Engine::new();
    let mut tree = RenderedTree::new();
    for source in stack {
        let id = source.id();
        let raw = raw_patterns(&source.manifest);
        let extends = &source.manifest.template.extends;
        for file in &source.files {
            let Some(path) = render_path(&engine, &id, &file.path, answers)? else {
                continue;
            };
            let extending = match tree.get(&path) {
                Some(prev) if extends.contains(&path) => Some(prev),
                Some(prev) => {
                    return Err(TemplateError::Overlap {
                        path,
                        first: prev.package.clone(),
                        second: id,
                    });
                }
                None => None,
            };
            let data = if raw.is_match(&file.path) || is_binary(&file.data) {
                file.data.clone()
            } else {
                let text = std::str::from_utf8(&file.data).expect("is_binary checked UTF-8");
                if is_template(text) {
                    let mut context = answers.context.clone();
                    if let Some(prev) = extending {
                        context.insert(
                            "extended".into(),
                            String::from_utf8_lossy(&prev.data).into_owned().into(),
                        );
                    }
                    engine
                        .render(text, &context)
                        .map_err(|e| TemplateError::Render {
                            package: id.clone(),
                            file: format!("{TEMPLATES_DIR}{}", file.path),
                            line: e.line,
                            message: e.message,
                        })?
                        .into_bytes()
                } else {
                    file.data.clone()
                }
            };
            tree.insert(
                path,
                RenderedFile {
                    data,
                    executable: file.executable,
                    package: id.clone(),
                },
            );
        }
    }
    Ok(tree)
}

/// The manifest's `[template] raw` patterns (checked when it was read).
pub(crate) fn raw_patterns(manifest: &Manifest) -> GlobSet {
    let mut b = GlobSetBuilder::new();
    for p in &manifest.template.raw {
        if let Ok(g) = Glob::new(p) {
            b.add(g);
        }
    }
    b.build().unwrap_or_else(|_| GlobSet::empty())
}

/// Binary: not UTF-8, or a NUL byte in it (as git decides).
pub fn is_binary(data: &[u8]) -> bool {
    data.contains(&0) || std::str::from_utf8(data).is_err()
}

/// The rendered, checked output path of a template path; `None` when a part
/// renders empty (the file is left out).
fn render_path(
    engine: &Engine,
    package: &str,
    template: &str,
    answers: &Resolved,
) -> Result<Option<String>> {
    let mut parts = Vec::new();
    for part in template.split('/') {
        let rendered = if is_template(part) {
            engine
                .render(part, &answers.context)
                .map_err(|e| TemplateError::Render {
                    package: package.to_string(),
                    file: format!("{TEMPLATES_DIR}{template} (its name)"),
                    line: None,
                    message: e.message,
                })?
        } else {
            part.to_string()
        };
        if rendered.trim().is_empty() {
            return Ok(None);
        }
        parts.push(rendered);
    }
    let path = parts.join("/");
    if let Err(reason) = check_output_path(&path) {
        return Err(TemplateError::UnsafePath {
            package: package.to_string(),
            template: format!("{TEMPLATES_DIR}{template}"),
            rendered: path.escape_debug().to_string(),
            reason,
        });
    }
    Ok(Some(path))
}

/// Whether ggen may write `path` (relative, `/`-separated) inside a project:
/// no way out of it, no `.git`, not the answers file. The update reads a
/// project's own paths through this too.
pub fn check_output_path(path: &str) -> std::result::Result<(), String> {
    if path.len() > 1024 {
        return Err("is longer than 1024 bytes".into());
    }
    if path.starts_with('/') {
        return Err("is absolute".into());
    }
    if path.contains('\\') || path.chars().any(char::is_control) {
        return Err("holds a backslash or a control character".into());
    }
    for part in path.split('/') {
        match part {
            "" => return Err("has an empty part".into()),
            "." | ".." => return Err("leaves the project (`..` or `.`)".into()),
            p if p.eq_ignore_ascii_case(".git") => {
                return Err("is inside `.git`, which ggen never writes".into());
            }
            _ => {}
        }
    }
    if path == ANSWERS_FILE {
        return Err(format!("is {ANSWERS_FILE}, which only ggen writes"));
    }
    Ok(())
}
