//! Errors of the facade: a backend's error, or one of setup and configuration.

use std::path::PathBuf;

pub use ggen_marketplace_core::{Hint, MarketplaceError};

/// The facade's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything the facade can fail with: a backend's error, or one of setup,
/// configuration, resolution or signing. Every variant answers [`Hint`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A backend (or the model) refused.
    #[error(transparent)]
    Marketplace(#[from] MarketplaceError),

    /// `config.yaml` is unreadable or has a bad key.
    #[error("config {}: {message}", path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// The key and what is wrong with it.
        message: String,
        /// What to write instead, when the mistake is a known one.
        fix: Option<String>,
    },

    /// An environment variable has a bad value.
    #[error("{var}: {message}")]
    Env {
        /// The variable.
        var: String,
        /// What is wrong with it.
        message: String,
        /// What to set instead, when the mistake is a known one.
        fix: Option<String>,
    },

    /// No set of versions satisfies the request; the message explains why.
    /// Boxed: the explanation is large and errors travel through every `Result`.
    #[error(transparent)]
    Resolve(Box<ggen_marketplace_core::resolve::ResolveError>),

    /// A key, signature or trust-store problem.
    #[error(transparent)]
    Signing(Box<ggen_marketplace_core::signing::SigningError>),

    /// Generating or updating a project from templates failed.
    #[error(transparent)]
    Template(Box<ggen_template::TemplateError>),

    /// A refusal with its explanation (the message says what to do).
    #[error("{0}")]
    Setup(String),

    /// A build without the needed backend.
    #[error(
        "the {backend} backend is not compiled into this build; rebuild with `--features {feature}`"
    )]
    NotCompiled {
        /// The backend that is missing.
        backend: String,
        /// The feature that compiles it.
        feature: String,
    },
}

impl From<ggen_marketplace_core::resolve::ResolveError> for Error {
    fn from(e: ggen_marketplace_core::resolve::ResolveError) -> Self {
        Self::Resolve(Box::new(e))
    }
}

impl From<ggen_template::TemplateError> for Error {
    fn from(e: ggen_template::TemplateError) -> Self {
        match e {
            ggen_template::TemplateError::Marketplace(m) => Self::Marketplace(m),
            other => Self::Template(Box::new(other)),
        }
    }
}

impl From<ggen_marketplace_core::signing::SigningError> for Error {
    fn from(e: ggen_marketplace_core::signing::SigningError) -> Self {
        Self::Signing(Box::new(e))
    }
}

impl Hint for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Marketplace(e) => e.hint(),
            Self::Resolve(e) => e.hint(),
            Self::Signing(e) => e.hint(),
            Self::Template(e) => e.hint(),
            Self::Config { fix, .. } => fix.clone().or_else(|| {
                Some("fix the key named above, or move the file away to use the defaults".into())
            }),
            Self::Env { var, fix, .. } => fix
                .clone()
                .or_else(|| Some(format!("unset {var} or give it a valid value"))),
            _ => None,
        }
    }
}
