//! Turning gpacks into projects, and keeping projects in step with them.
//!
//! A gpack's `templates/` directory holds the files it generates; its manifest
//! declares the variables they use as a typed contract (kind, default,
//! validation, a condition for asking). This crate answers those questions,
//! renders a stack of packages (dependencies first) into an in-memory tree
//! with a sandboxed MiniJinja, and plans the three-way update of a generated
//! project to a new template version. It reads archives and writes nothing:
//! fetching, verifying and the transactional writes are the facade's.
//!
//! | module | holds |
//! |---|---|
//! | `engine` | the sandboxed template environment |
//! | `answers` | questions, answers, prompts, coercion and validation |
//! | `render` | templates to a tree of files, path rules, composition |
//! | `check` | templates against declared variables (for `validate`) |
//! | `record` | the project's answers file |
//! | `merge` | the three-way update plan and its diffs |
#![warn(missing_docs)]

mod answers;
mod check;
mod engine;
mod error;
mod merge;
mod record;
mod render;

pub use answers::{AnswerSources, Answers, Prompter, Question, Resolved, coerce, resolve_answers};
pub use check::{TemplateCheck, check_templates};
pub use error::{Result, TemplateError};
pub use merge::{FileUpdate, Outcome, plan_update, unified_diff};
pub use record::{ANSWERS_FILE, MAX_ANSWERS_BYTES, ProjectRecord, RecordedPackage};
pub use render::{
    RenderedFile, RenderedTree, SourceFile, TEMPLATES_DIR, TemplateSource, check_output_path,
    is_binary, render,
};
