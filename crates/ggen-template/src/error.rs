//! What can go wrong generating or updating a project, each saying where.

use ggen_marketplace_core::{Hint, MarketplaceError};

/// The crate's result.
pub type Result<T, E = TemplateError> = std::result::Result<T, E>;

// Each variant's `#[error]` message is its documentation.
#[allow(missing_docs)]
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// A template (or a templated file name, default or condition) does not
    /// render: a syntax error, an undefined variable, a runaway loop.
    #[error("{package}: {file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Render {
        package: String,
        file: String,
        line: Option<usize>,
        message: String,
    },

    /// A rendered path would leave the project or write where ggen never writes.
    #[error("{package}: template `{template}` renders to the path `{rendered}`, which {reason}")]
    UnsafePath {
        package: String,
        template: String,
        rendered: String,
        reason: String,
    },

    /// Two packages of one generation write the same file.
    #[error(
        "`{path}` is written by both `{first}` and `{second}`; a package can take a file over from its dependency only by listing it in its manifest's `[template] extends`"
    )]
    Overlap {
        path: String,
        first: String,
        second: String,
    },

    /// A required question has no answer and nothing can be asked.
    #[error("no answer for `{name}` ({package}){}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    MissingAnswer {
        name: String,
        package: String,
        description: Option<String>,
    },

    /// An answer does not satisfy its variable's contract.
    #[error("`{name}` ({package}): {reason}")]
    InvalidAnswer {
        name: String,
        package: String,
        reason: String,
    },

    /// An answer for a variable no package of the generation declares.
    #[error("`{name}` is not a variable of {packages}")]
    UnknownVariable { name: String, packages: String },

    /// Variables whose defaults or conditions refer to each other in a circle.
    #[error("the defaults or conditions of {0} refer to each other in a circle")]
    Cycle(String),

    /// Two packages declare one variable with different kinds.
    #[error("`{name}` is a {first_kind} in `{first}` but a {second_kind} in `{second}`")]
    KindConflict {
        name: String,
        first: String,
        first_kind: &'static str,
        second: String,
        second_kind: &'static str,
    },

    /// The project's answers file cannot be used.
    #[error("{file}: {reason}")]
    Record { file: String, reason: String },

    /// Reading a package archive failed.
    #[error(transparent)]
    Marketplace(#[from] MarketplaceError),
}

impl Hint for TemplateError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Render { .. } => Some(
                "the package's template is broken: tell its publisher, or check it with `ggen marketplace validate DIR`".into(),
            ),
            Self::UnsafePath { .. } => Some(
                "nothing was written; this package cannot be generated safely. Tell its publisher".into(),
            ),
            Self::Overlap { .. } => Some(
                "generate the packages into different directories, or ask the later package's publisher to declare `[template] extends`".into(),
            ),
            Self::MissingAnswer { name, .. } => Some(format!(
                "pass --var {name}=VALUE, put it in an answers file (--answers FILE), or run in a terminal to be asked"
            )),
            Self::InvalidAnswer { name, .. } => {
                Some(format!("give another value with --var {name}=VALUE"))
            }
            Self::UnknownVariable { .. } => Some(
                "check the spelling; `ggen new NAME DIR --dry-run` lists the questions a package asks".into(),
            ),
            Self::Record { .. } => Some(
                "the answers file records where the project came from; restore it from version control, or generate the project anew".into(),
            ),
            Self::Marketplace(e) => e.hint(),
            Self::Cycle(_) | Self::KindConflict { .. } => None,
        }
    }
}
