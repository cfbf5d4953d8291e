//! {{ description }}
//!
//! # Example
//!
//! ```
//! assert_eq!({{ crate_name }}::add(2, 3), 5);
//! ```

/// Adds two numbers, saturating at `u64::MAX` instead of overflowing.
///
/// ```
/// assert_eq!({{ crate_name }}::add(u64::MAX, 1), u64::MAX);
/// ```
#[must_use]
pub fn add(left: u64, right: u64) -> u64 {
    left.saturating_add(right)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_small_numbers() {
        assert_eq!(add(2, 2), 4);
    }

    #[test]
    fn saturates_on_overflow() {
        assert_eq!(add(u64::MAX, 10), u64::MAX);
    }
}
