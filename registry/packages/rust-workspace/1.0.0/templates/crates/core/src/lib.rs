//! Core logic of {{ project_name }}: everything that is not command-line glue.

/// Summary statistics of a list of numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Number of values.
    pub count: usize,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Arithmetic mean.
    pub mean: f64,
}

/// Computes summary statistics; returns `None` for an empty slice.
#[must_use]
pub fn summarize(values: &[f64]) -> Option<Summary> {
    if values.is_empty() {
        return None;
    }
    let mut min = f64::INFINITY;
    let mut max = f64::NEG_INFINITY;
    let mut sum = 0.0;
    for &value in values {
        min = min.min(value);
        max = max.max(value);
        sum += value;
    }
    Some(Summary {
        count: values.len(),
        min,
        max,
        mean: sum / values.len() as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_input_has_no_summary() {
        assert_eq!(summarize(&[]), None);
    }

    #[test]
    fn summarizes_values() {
        let summary = summarize(&[3.0, 1.0, 4.0, 1.0, 5.0]).unwrap();
        assert_eq!(summary.count, 5);
        assert_eq!(summary.min, 1.0);
        assert_eq!(summary.max, 5.0);
        assert!((summary.mean - 2.8).abs() < 1e-12);
    }
}
