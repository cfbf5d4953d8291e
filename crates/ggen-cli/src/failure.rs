//! How every command fails: a message and, when known, what to do next.
//!
//! Any error that answers [`Hint`] (the facade's, the core's, the operating
//! system's) turns into a [`Failure`] with `?`, so the CLI never asks which
//! type an error is; the CLI's own refusals are built with [`Failure::new`].

use std::fmt::Display;
use std::process::ExitCode;

use ggen_marketplace::Hint;

/// A failed command, ready to print.
#[derive(Debug)]
pub struct Failure {
    /// What went wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl Failure {
    /// A refusal of the CLI's own.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
        }
    }

    /// Adds the next step.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl<E: Display + Hint> From<E> for Failure {
    fn from(e: E) -> Self {
        Self {
            message: e.to_string(),
            hint: e.hint(),
        }
    }
}

/// What a command returns.
pub type CliResult<T = ExitCode> = Result<T, Failure>;
