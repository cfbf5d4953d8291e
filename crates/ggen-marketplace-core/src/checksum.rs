//! SHA-256 checksums, lowercase hex, as the index stores them.

use sha2::{Digest, Sha256};

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Whether `s` is 64 lowercase hex characters.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Reads an archive through, hashing it, and fails at the end if the bytes
/// are not the ones `expected` names: a stream checked as it is sent, for
/// callers that never hold the archive whole (the server's downloads). A
/// mismatch is an `InvalidData` error on the last read, so whatever consumes
/// the stream (an HTTP response) is cut short rather than completed.
pub struct VerifyingReader<R> {
    inner: R,
    hasher: Sha256,
    expected: String,
    done: bool,
}

impl<R: std::io::Read> VerifyingReader<R> {
    /// Reads `inner`, which must hash to `expected` (lowercase hex).
    pub fn new(inner: R, expected: &str) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            expected: expected.to_string(),
            done: false,
        }
    }
}

impl<R: std::io::Read> std::io::Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.done {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.hasher.update(&buf[..n]);
            return Ok(n);
        }
        self.done = true;
        let actual = hex::encode(self.hasher.clone().finalize());
        if actual != self.expected {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "archive checksum mismatch: expected sha256 {}, got {actual}",
                    self.expected
                ),
            ));
        }
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(is_sha256_hex(&sha256_hex(b"")));
        assert!(!is_sha256_hex("ABC"));
    }

    #[test]
    fn a_verifying_reader_fails_at_the_end_of_altered_bytes() {
        use std::io::Read;
        let good = sha256_hex(b"archive bytes");
        let mut out = Vec::new();
        VerifyingReader::new(&b"archive bytes"[..], &good)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"archive bytes");
        let err = VerifyingReader::new(&b"archive bytez"[..], &good)
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    }
}
