//! Generating a project from a package (`ggen new`) and bringing it to a newer
//! template version later (`ggen update`).
//!
//! Both fetch and verify packages exactly as an install does (registry
//! checksum, signature policy), render them with `ggen-template` in memory,
//! and only then write: a new project appears whole (staged beside it, then
//! renamed), an update goes through a journal (see `journal`). The project
//! records its origin in `.ggen-answers.toml`; an update renders the recorded
//! versions with the recorded answers as the base of a three-way merge.
//!
//! `install` is unchanged: it places packages as they are published.
//!
//! | module | holds |
//! |---|---|
//! | `stack` | the packages of a generation, resolved or pinned, verified |
//! | `update` | the update: base, theirs, ours, the plan and its report |
//! | `project` | reading and writing files of an untrusted project |
//! | `journal` | the update transaction and its rollback |

use std::path::{Path, PathBuf};

use ggen_marketplace_core::{BackendKind, MarketplaceError};
use ggen_template::{
    AnswerSources, Answers, ProjectRecord, Prompter, RecordedPackage, render, resolve_answers,
};
use semver::{Version, VersionReq};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::marketplace::Marketplace;
use crate::ops::install::Event;

mod journal;
mod project;
mod stack;
mod update;

pub use update::{FileChange, ProjectUpdateOptions, ProjectUpdateReport};

/// How `ggen new` runs.
#[derive(Debug, Clone, Default)]
pub struct GenerateOptions {
    /// `--var NAME=VALUE` answers, as typed (converted to each variable's kind).
    pub vars: Vec<(String, String)>,
    /// A file of answers (TOML, JSON or YAML; a project's `.ggen-answers.toml` works too).
    pub answers_file: Option<PathBuf>,
    /// Render optional dependencies too.
    pub include_optional: bool,
    /// Every package must carry a valid signature from a trusted key.
    pub verify_signatures: bool,
    /// Resolve, fetch and render, but write nothing.
    pub dry_run: bool,
}

/// One file of a generated project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GeneratedFile {
    /// Relative to the project.
    pub path: String,
    /// The package that wrote it (`name@version`).
    pub package: String,
    /// Its size.
    pub bytes: u64,
}

/// What `ggen new` did (or, in a dry run, would do).
#[derive(Debug, Clone, Serialize)]
pub struct GenerateReport {
    /// The project directory.
    pub dir: PathBuf,
    /// The package generated.
    pub package: String,
    /// Its version.
    pub version: Version,
    /// Every package rendered, dependencies first.
    pub packages: Vec<RecordedPackage>,
    /// The files written (the answers file aside).
    pub files: Vec<GeneratedFile>,
    /// The answers used, recorded in the project.
    pub answers: Answers,
    /// Nothing was written.
    pub dry_run: bool,
    /// The backend that answered.
    pub backend_used: BackendKind,
    /// Things the user should know that did not stop the generation.
    pub warnings: Vec<String>,
}

impl Marketplace {
    /// Generates a project from `name@req` (and its dependencies) into `dir`,
    /// which must not exist or be empty.
    pub fn generate(
        &self,
        name: &str,
        req: &VersionReq,
        dir: &Path,
        opts: &GenerateOptions,
        prompter: Option<&mut dyn Prompter>,
        on_event: &dyn Fn(Event<'_>),
    ) -> Result<GenerateReport> {
        project::check_new(dir)?;
        let mut given = match &opts.answers_file {
            Some(f) => read_answers_file(f)?,
            None => Answers::new(),
        };
        for (k, v) in &opts.vars {
            given.insert(k.clone(), serde_json::Value::String(v.clone()));
        }
        let ((stack, source, backend_used), warnings) =
            self.with_fetch_context(opts.verify_signatures, on_event, |ctx| {
                let stack = stack::resolve_stack(ctx, name, req, opts.include_optional)?;
                Ok((stack, ctx.source.clone(), ctx.backend.last_used()))
            })?;
        let resolved = resolve_answers(
            &stack.manifests(),
            AnswerSources {
                given,
                recorded: Answers::new(),
                prompter,
            },
        )?;
        let tree = render(&stack.sources, &resolved)?;
        let root = stack.root().clone();
        let record = ProjectRecord {
            package: root.name.clone(),
            version: root.version.clone(),
            registry: source,
            with_optional: opts.include_optional,
            packages: stack.recorded.clone(),
            answers: resolved.answers.clone(),
        };
        if !opts.dry_run {
            project::create(dir, &tree, &record)?;
        }
        Ok(GenerateReport {
            dir: dir.to_path_buf(),
            package: root.name,
            version: root.version,
            packages: stack.recorded,
            files: tree
                .iter()
                .map(|(path, f)| GeneratedFile {
                    path: path.clone(),
                    package: f.package.clone(),
                    bytes: f.data.len() as u64,
                })
                .collect(),
            answers: resolved.answers,
            dry_run: opts.dry_run,
            backend_used,
            warnings,
        })
    }
}

/// Reads an answers file: a table of `name = value`, or a project's
/// `.ggen-answers.toml` (its `[answers]` table), in TOML, JSON or YAML by
/// extension (TOML otherwise).
fn read_answers_file(path: &Path) -> Result<Answers> {
    let meta = std::fs::metadata(path).map_err(|e| MarketplaceError::io(path, e))?;
    if meta.len() > ggen_template::MAX_ANSWERS_BYTES {
        return Err(Error::Setup(format!(
            "{} is {} bytes; an answers file is at most {}",
            path.display(),
            meta.len(),
            ggen_template::MAX_ANSWERS_BYTES
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| MarketplaceError::io(path, e))?;
    let bad = |e: String| Error::Setup(format!("answers file {}: {e}", path.display()));
    let value: serde_json::Value = match path.extension().and_then(|e| e.to_str()) {
        Some("json") => serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?,
        Some("yaml" | "yml") => serde_norway::from_str(&text).map_err(|e| bad(e.to_string()))?,
        _ => toml::from_str(&text).map_err(|e| bad(e.message().to_string()))?,
    };
    let serde_json::Value::Object(mut table) = value else {
        return Err(bad("is not a table of NAME = VALUE".into()));
    };
    if table.contains_key("package")
        && let Some(serde_json::Value::Object(answers)) = table.remove("answers")
    {
        table = answers;
    }
    Ok(table.into_iter().collect())
}
