use super::*;

#[test]
fn round_trip() {
    let (key, sig) = signed();
    assert_eq!(sig.algorithm, "ed25519");
    assert_eq!(sig.key_id, key_id(&key.verifying_key()));
    assert_eq!(sig.public_key, hex::encode(key.verifying_key().as_bytes()));
    assert_eq!(sig.signature.len(), 128);
    let ok = verify_hello(&sig).unwrap();
    assert_eq!(ok.key_id, sig.key_id);
    assert_eq!(ok.public_key, key.verifying_key());
    assert_eq!(ok.statement.name, "hello-world");
    assert_eq!(ok.statement.size, ARCHIVE.len() as u64);
    assert_eq!(ok.statement.signed_at, t("2026-11-23T12:00:00Z"));
    // The record survives JSON (the index stores it).
    let json = serde_json::to_string(&sig).unwrap();
    let back: Signature = serde_json::from_str(&json).unwrap();
    verify_hello(&back).unwrap();
}

#[test]
fn flipped_archive_byte_is_refused() {
    let (_, sig) = signed();
    let mut archive = ARCHIVE.to_vec();
    archive[10] ^= 1;
    let err = verify(&sig, "hello-world", &v("1.0.0"), &archive).unwrap_err();
    assert!(matches!(err, SigningError::DigestMismatch { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("archive sha256 does not match the signed statement")
    );
    let err = verify(
        &sig,
        "hello-world",
        &v("1.0.0"),
        &ARCHIVE[..ARCHIVE.len() - 1],
    )
    .unwrap_err();
    assert!(matches!(err, SigningError::DigestMismatch { .. }), "{err}");
}

#[test]
fn flipped_signature_byte_is_refused() {
    let (_, sig) = signed();
    for i in [0usize, 31, 32, 40] {
        let mut raw = hex::decode(&sig.signature).unwrap();
        raw[i] ^= 0x01;
        let bad = Signature {
            signature: hex::encode(&raw),
            ..sig.clone()
        };
        let err = verify_hello(&bad).unwrap_err();
        assert!(
            matches!(
                err,
                SigningError::BadSignature | SigningError::NonCanonicalSignature
            ),
            "byte {i}: {err}"
        );
    }
    let mut raw = hex::decode(&sig.signature).unwrap();
    raw[5] ^= 0x80;
    let bad = Signature {
        signature: hex::encode(&raw),
        ..sig.clone()
    };
    let err = verify_hello(&bad).unwrap_err();
    assert!(matches!(err, SigningError::BadSignature), "{err}");
    assert_eq!(err.to_string(), "signature does not verify");

    let short = Signature {
        signature: sig.signature[..126].to_string(),
        ..sig.clone()
    };
    let err = verify_hello(&short).unwrap_err();
    assert!(matches!(err, SigningError::MalformedSignature(_)), "{err}");
}

#[test]
fn altered_statement_is_refused() {
    let (_, sig) = signed();
    // Any edit to the signed bytes, even one that still parses, breaks the signature.
    let edits = [
        sig.statement.replace("size: ", "size: 1"),
        sig.statement.replace("hello-world", "hello-worle"),
        sig.statement.replace("12:00:00Z", "12:00:01Z"),
        format!("{} ", sig.statement),
    ];
    for statement in edits {
        let bad = Signature {
            statement,
            ..sig.clone()
        };
        let err = verify_hello(&bad).unwrap_err();
        assert!(matches!(err, SigningError::BadSignature), "{err}");
    }
    let mut bytes = sig.statement.clone().into_bytes();
    bytes[3] ^= 0x20;
    let bad = Signature {
        statement: String::from_utf8(bytes).unwrap(),
        ..sig.clone()
    };
    assert!(matches!(
        verify_hello(&bad),
        Err(SigningError::BadSignature)
    ));
}

/// Why a fresh key's signature for `a@1.0.0` is refused for `name@version`.
fn refusal_of_a_as(name: &str, version: &str) -> SigningError {
    let key = generate_keypair().unwrap();
    let sig = sign_archive(&key, "a", &v("1.0.0"), ARCHIVE, Utc::now()).unwrap();
    verify(&sig, name, &v(version), ARCHIVE).unwrap_err()
}

#[test]
fn signature_for_another_package_is_refused() {
    let err = refusal_of_a_as("b", "1.0.0");
    assert!(matches!(err, SigningError::NameMismatch { .. }), "{err}");
    assert_eq!(err.to_string(), "signature is for package a, not b");
}

#[test]
fn signature_for_another_version_is_refused() {
    let err = refusal_of_a_as("a", "1.1.0");
    assert!(matches!(err, SigningError::VersionMismatch { .. }), "{err}");
    assert_eq!(err.to_string(), "signature is for version 1.0.0, not 1.1.0");
}

#[test]
fn wrong_key_id_is_refused() {
    let (_, sig) = signed();
    let bad = Signature {
        key_id: "0000000000000000".into(),
        ..sig.clone()
    };
    let err = verify_hello(&bad).unwrap_err();
    assert!(matches!(err, SigningError::KeyIdMismatch { .. }), "{err}");
    assert!(err.to_string().starts_with("key id mismatch"));

    // Another key's public key with its own id: the statement's key id (signed)
    // gives it away even before the signature does.
    let other = generate_keypair().unwrap().verifying_key();
    let swapped = Signature {
        key_id: key_id(&other),
        public_key: hex::encode(other.as_bytes()),
        ..sig.clone()
    };
    let err = verify_hello(&swapped).unwrap_err();
    assert!(matches!(err, SigningError::BadSignature), "{err}");

    // A statement naming a different key id, correctly signed, is still refused.
    let key = generate_keypair().unwrap();
    let statement = Statement {
        name: "hello-world".into(),
        version: v("1.0.0"),
        sha256: sha256_hex(ARCHIVE),
        size: ARCHIVE.len() as u64,
        key_id: "fedcba9876543210".into(),
        signed_at: t("2026-01-01T00:00:00Z"),
    }
    .to_bytes();
    let raw = key.sign(&statement).to_bytes();
    let rec = signature_record(&key.verifying_key(), &statement, &raw);
    let err = verify_hello(&rec).unwrap_err();
    assert!(
        matches!(
            err,
            SigningError::KeyIdMismatch {
                place: "the signed statement",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn other_algorithm_and_bad_public_key_are_refused() {
    let (_, sig) = signed();
    let mut rsa = sig.clone();
    rsa.algorithm = "rsa".into();
    assert!(matches!(
        verify_hello(&rsa),
        Err(SigningError::UnsupportedAlgorithm(_))
    ));
    let mut short = sig;
    short.public_key.truncate(62);
    assert!(matches!(
        verify_hello(&short),
        Err(SigningError::InvalidPublicKey(_))
    ));
}

/// The classic forgery against lax verifiers: public key = identity point,
/// R = identity, S = 0 satisfies [S]B = R + [k]A for every message.
#[test]
fn small_order_public_keys_are_refused() {
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let all_zero = [0u8; 32];
    let statement = Statement {
        name: "hello-world".into(),
        version: v("1.0.0"),
        sha256: sha256_hex(ARCHIVE),
        size: ARCHIVE.len() as u64,
        key_id: String::new(),
        signed_at: t("2026-01-01T00:00:00Z"),
    };
    for weak in [identity, all_zero] {
        let vk = VerifyingKey::from_bytes(&weak).expect("decodes as a point");
        assert!(vk.is_weak());
        let statement = Statement {
            key_id: key_id(&vk),
            ..statement.clone()
        }
        .to_bytes();
        let mut raw = [0u8; 64];
        raw[..32].copy_from_slice(&identity); // R = identity, S = 0
        let forged = ed25519_dalek::Signature::from_bytes(&raw);
        if weak == identity {
            // A lax verifier is fooled; this is what the strict checks are for.
            assert!(vk.verify(&statement, &forged).is_ok());
        }
        assert!(vk.verify_strict(&statement, &forged).is_err());
        let rec = signature_record(&vk, &statement, &raw);
        let err = verify_hello(&rec).unwrap_err();
        assert!(matches!(err, SigningError::WeakKey { .. }), "{err}");
        assert!(matches!(
            parse_public_key_hex(&hex::encode(weak)),
            Err(SigningError::WeakKey { .. })
        ));
    }
}

/// S + L is the same scalar mod L: a malleated copy of a valid signature.
#[test]
fn non_canonical_signature_is_refused() {
    let (key, sig) = signed();
    let mut raw: [u8; 64] = hex::decode(&sig.signature).unwrap().try_into().unwrap();
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = raw[32 + i] as u16 + GROUP_ORDER_LE[i] as u16 + carry;
        raw[32 + i] = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0);
    assert!(!is_canonical_scalar(&raw[32..]));
    let malleated = ed25519_dalek::Signature::from_bytes(&raw);
    assert!(
        key.verifying_key()
            .verify_strict(sig.statement.as_bytes(), &malleated)
            .is_err()
    );
    let bad = Signature {
        signature: hex::encode(raw),
        ..sig
    };
    let err = verify_hello(&bad).unwrap_err();
    assert!(matches!(err, SigningError::NonCanonicalSignature), "{err}");
}

#[test]
fn canonical_scalar_boundary() {
    let mut l_minus_1 = GROUP_ORDER_LE;
    l_minus_1[0] -= 1;
    assert!(is_canonical_scalar(&l_minus_1));
    assert!(!is_canonical_scalar(&GROUP_ORDER_LE));
    assert!(is_canonical_scalar(&[0u8; 32]));
    assert!(!is_canonical_scalar(&[0xff; 32]));
}

#[test]
fn signing_error_converts_into_marketplace_error() {
    let e: MarketplaceError = SigningError::BadSignature.into();
    assert_eq!(e.to_string(), "signature does not verify");
    let e: MarketplaceError =
        SigningError::io(Path::new("/k"), std::io::ErrorKind::Other.into()).into();
    assert!(matches!(e, MarketplaceError::Io { .. }));
}

// --- key files ---
