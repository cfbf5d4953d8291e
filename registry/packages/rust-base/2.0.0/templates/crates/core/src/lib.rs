//! {{ description }}
//!
//! # Example
//!
//! ```
//! assert_eq!({{ crate_name }}::add(2, 3), 5);
//! assert_eq!({{ crate_name }}::checked_add(u64::MAX, 1), None);
//! ```

/// Adds two numbers, saturating at `u64::MAX` instead of overflowing.
///
/// ```
/// assert_eq!({{ crate_name }}::add(u64::MAX, 1), u64::MAX);
/// ```
#[must_use]
pub const fn add(left: u64, right: u64) -> u64 {
    left.saturating_add(right)
}

/// Adds two numbers, returning `None` on overflow.
#[must_use]
pub const fn checked_add(left: u64, right: u64) -> Option<u64> {
    left.checked_add(right)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_small_numbers() {
        assert_eq!(add(2, 2), 4);
        assert_eq!(checked_add(2, 2), Some(4));
    }

    #[test]
    fn handles_overflow() {
        assert_eq!(add(u64::MAX, 10), u64::MAX);
        assert_eq!(checked_add(u64::MAX, 10), None);
    }
}
