//! Errors of the facade: a backend's error, or one of setup and configuration.

use std::path::PathBuf;

pub use ggen_marketplace_core::MarketplaceError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Marketplace(#[from] MarketplaceError),

    #[error("config {}: {message}", path.display())]
    Config { path: PathBuf, message: String },

    #[error("{var}: {message}")]
    Env { var: String, message: String },

    /// No set of versions satisfies the request; the message explains why.
    /// Boxed: the explanation is large and errors travel through every `Result`.
    #[error(transparent)]
    Resolve(Box<ggen_marketplace_core::resolve::ResolveError>),

    /// A key, signature or trust-store problem.
    #[error(transparent)]
    Signing(Box<ggen_marketplace_core::signing::SigningError>),

    #[error("{0}")]
    Setup(String),

    /// A build without the needed backend.
    #[error(
        "the {backend} backend is not compiled into this build; rebuild with `--features {feature}`"
    )]
    NotCompiled { backend: String, feature: String },
}

impl From<ggen_marketplace_core::resolve::ResolveError> for Error {
    fn from(e: ggen_marketplace_core::resolve::ResolveError) -> Self {
        Self::Resolve(Box::new(e))
    }
}

impl From<ggen_marketplace_core::signing::SigningError> for Error {
    fn from(e: ggen_marketplace_core::signing::SigningError) -> Self {
        Self::Signing(Box::new(e))
    }
}

impl Error {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Marketplace(e) => e.hint(),
            Self::Resolve(e) => e.hint(),
            Self::Signing(e) => e.hint(),
            Self::Config { .. } => {
                Some("fix the key named above, or move the file away to use the defaults".into())
            }
            Self::Env { var, .. } => Some(format!("unset {var} or give it a valid value")),
            _ => None,
        }
    }
}
