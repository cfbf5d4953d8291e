//! Errors returned by this crate.

/// Everything that can go wrong in `{{ crate_name }}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input contained no ASCII letters or digits.
    #[error("input contains no letters or digits")]
    Empty,

    /// The resulting slug is longer than allowed.
    #[error("slug is {len} bytes long, the maximum is {max}")]
    TooLong {
        /// Length of the slug that was produced.
        len: usize,
        /// Maximum allowed length.
        max: usize,
    },
}
