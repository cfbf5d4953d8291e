//! Sticky A/B bucketing, compatible with Unleash's gradual rollout:
//! `murmur3_x86_32("{group}:{subject}", seed 0) % 100 + 1`, in V2 when `<= percentage`.
//! A subject's bucket never changes, so raising the percentage only adds subjects.

use std::io::Cursor;
use std::path::Path;

/// The subject's bucket in 1..=100 for `group` (the operation name).
pub fn bucket(group: &str, subject: &str) -> u32 {
    let key = format!("{group}:{subject}");
    let hash =
        murmur3::murmur3_32(&mut Cursor::new(key.as_bytes()), 0).expect("reading from memory");
    hash % 100 + 1
}

pub fn in_v2(group: &str, subject: &str, v2_percentage: u8) -> bool {
    bucket(group, subject) <= u32::from(v2_percentage)
}

/// `GGEN_USER_ID`, else an installation id created once in `config_dir`.
pub fn subject(config_dir: &Path, given: Option<&str>, persist: bool) -> String {
    if let Some(id) = given {
        return id.to_string();
    }
    let path = config_dir.join("installation-id");
    if let Ok(id) = std::fs::read_to_string(&path) {
        let id = id.trim();
        if !id.is_empty() {
            return id.to_string();
        }
    }
    let id = format!("{:032x}", rand::random::<u128>());
    // Best effort: without a writable config dir the subject is per process.
    if persist {
        let _ = ggen_marketplace_core::fsutil::atomic_write(&path, id.as_bytes());
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unleash_reference_values() {
        // Unleash's normalizedValue("123", "gr1") == 73 (from its client specification tests).
        assert_eq!(bucket("gr1", "123"), 73);
        // and normalizedValue("999", "groupX") == 25.
        assert_eq!(bucket("groupX", "999"), 25);
    }

    #[test]
    fn share_is_within_one_point_and_sticky() {
        for pct in [1u8, 10, 25, 50, 90] {
            let n = 10_000;
            let inside = (0..n)
                .filter(|i| in_v2("search", &format!("user-{i}"), pct))
                .count();
            let share = inside as f64 * 100.0 / n as f64;
            assert!(
                (share - f64::from(pct)).abs() <= 1.0,
                "{pct}% gave {share}%"
            );
        }
        for i in 0..1000 {
            let s = format!("user-{i}");
            // Raising the percentage only adds subjects.
            if in_v2("search", &s, 10) {
                assert!(in_v2("search", &s, 25));
            }
            assert_eq!(in_v2("search", &s, 25), in_v2("search", &s, 25));
        }
    }
}
