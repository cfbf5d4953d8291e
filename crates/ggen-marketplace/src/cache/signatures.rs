//! The signature-verification tier, the fourth cache tier.
//!
//! Verifying a signature is a pure function of the signature record, the
//! package name and version and the archive's digest and size, so a
//! successful answer can be kept for the life of the process without any
//! invalidation. What it does not cover is trust: whether the key is trusted
//! (or was revoked a second ago) is asked of the trust store every time,
//! after this check. Failures are not kept, so hostile input cannot fill the
//! cache. Sized from `GGEN_SIGNATURE_CACHE`, else `GGEN_CACHE_SIZE`, else
//! 10000 entries; 0 turns it off.

use std::sync::OnceLock;

use ggen_marketplace_core::checksum::sha256_hex;
use ggen_marketplace_core::model::Signature;
use ggen_marketplace_core::signing::{self, SigningError, VerifiedStatement};
use semver::Version;

type Tier = moka::sync::Cache<String, VerifiedStatement>;

fn tier() -> Option<&'static Tier> {
    static TIER: OnceLock<Option<Tier>> = OnceLock::new();
    TIER.get_or_init(|| {
        use crate::config::env;
        let entries = env::cache_size(&env::process_env, env::SIGNATURE_CACHE, 10_000);
        (entries > 0).then(|| Tier::builder().max_capacity(entries).build())
    })
    .as_ref()
}

/// [`signing::verify`], answered from memory when this exact signature was
/// verified over this exact archive before in this process.
pub fn verify(
    signature: &Signature,
    name: &str,
    version: &Version,
    archive: &[u8],
) -> Result<VerifiedStatement, SigningError> {
    let digest = sha256_hex(archive);
    let size = archive.len() as u64;
    let Some(tier) = tier() else {
        return signing::verify_digest(signature, name, version, &digest, size);
    };
    // Every input of the verification, unambiguously encoded (a JSON array).
    let key = sha256_hex(
        &serde_json::to_vec(&(signature, name, version.to_string(), &digest, size))
            .expect("signature records serialize"),
    );
    metrics::counter!(crate::observe::metrics::CACHE_REQUESTS, "tier" => "signature", "strategy" => "any")
        .increment(1);
    if let Some(hit) = tier.get(&key) {
        metrics::counter!(crate::observe::metrics::CACHE_HITS, "tier" => "signature", "strategy" => "any")
            .increment(1);
        return Ok(hit);
    }
    let verified = signing::verify_digest(signature, name, version, &digest, size)?;
    tier.insert(key, verified.clone());
    Ok(verified)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(archive: &[u8]) -> Signature {
        let key = signing::generate_keypair().unwrap();
        signing::sign_archive(
            &key,
            "cached",
            &Version::new(1, 0, 0),
            archive,
            chrono::Utc::now(),
        )
        .unwrap()
    }

    #[test]
    fn a_cached_success_never_covers_a_different_archive_or_a_forgery() {
        let archive = b"the archive".to_vec();
        let sig = signed(&archive);
        let v = Version::new(1, 0, 0);
        assert!(verify(&sig, "cached", &v, &archive).is_ok());
        // The second answer comes from memory and is the same.
        assert_eq!(
            verify(&sig, "cached", &v, &archive).unwrap(),
            signing::verify(&sig, "cached", &v, &archive).unwrap()
        );
        // A different archive, name or version is a different key: checked again.
        assert!(verify(&sig, "cached", &v, b"another archive").is_err());
        assert!(verify(&sig, "other", &v, &archive).is_err());
        assert!(verify(&sig, "cached", &Version::new(1, 0, 1), &archive).is_err());
        // So is a signature with one byte changed.
        let mut forged = sig.clone();
        let last = forged.signature.pop().unwrap();
        forged.signature.push(if last == '0' { '1' } else { '0' });
        assert!(verify(&forged, "cached", &v, &archive).is_err());
    }
}
