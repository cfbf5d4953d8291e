//! {{ description }}
//!
//! # Example
//!
//! ```
//! use {{ crate_name }}::Slug;
//!
//! let slug = Slug::parse("Hello, World!")?;
//! assert_eq!(slug.as_str(), "hello-world");
//! # Ok::<(), {{ crate_name }}::Error>(())
//! ```

mod error;

use std::fmt;
use std::str::FromStr;

pub use crate::error::Error;

/// Result type used throughout this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A URL-safe identifier: lowercase ASCII letters and digits separated by
/// single hyphens, never starting or ending with a hyphen.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slug(String);

impl Slug {
    /// Maximum length of a slug in bytes.
    pub const MAX_LEN: usize = 64;

    /// Builds a slug from free text. Runs of anything that is not an ASCII
    /// letter or digit become a single hyphen.
    ///
    /// ```
    /// # use {{ crate_name }}::{Error, Slug};
    /// assert_eq!(Slug::parse("  Rust 2024 -- Edition ")?.as_str(), "rust-2024-edition");
    /// assert_eq!(Slug::parse("!!!"), Err(Error::Empty));
    /// # Ok::<(), Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] if the input has no letters or digits, [`Error::TooLong`]
    /// if the slug would exceed [`Slug::MAX_LEN`].
    pub fn parse(input: &str) -> Result<Self> {
        let mut slug = String::with_capacity(input.len());
        let mut pending_hyphen = false;
        for ch in input.chars() {
            if ch.is_ascii_alphanumeric() {
                if pending_hyphen && !slug.is_empty() {
                    slug.push('-');
                }
                pending_hyphen = false;
                slug.push(ch.to_ascii_lowercase());
            } else {
                pending_hyphen = true;
            }
        }
        if slug.is_empty() {
            return Err(Error::Empty);
        }
        if slug.len() > Self::MAX_LEN {
            return Err(Error::TooLong {
                len: slug.len(),
                max: Self::MAX_LEN,
            });
        }
        Ok(Self(slug))
    }

    /// The slug as a string slice.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Slug {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl AsRef<str> for Slug {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapses_separators() {
        assert_eq!(Slug::parse("a  --  b").unwrap().as_str(), "a-b");
    }

    #[test]
    fn trims_leading_and_trailing_separators() {
        assert_eq!(Slug::parse("--a--").unwrap().as_str(), "a");
    }

    #[test]
    fn rejects_too_long_input() {
        let input = "x".repeat(Slug::MAX_LEN + 1);
        assert!(matches!(Slug::parse(&input), Err(Error::TooLong { .. })));
    }
}
