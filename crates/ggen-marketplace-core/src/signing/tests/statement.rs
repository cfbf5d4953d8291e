use super::*;

#[test]
fn key_id_is_first_8_bytes_of_sha256_of_raw_key() {
    let key = SigningKey::from_bytes(&[7u8; 32]).verifying_key();
    let id = key_id(&key);
    assert_eq!(id.len(), 16);
    assert_eq!(id, sha256_hex(key.as_bytes())[..16]);
    assert!(is_key_id(&id));
}

#[test]
fn statement_has_the_documented_byte_form() {
    let key = SigningKey::from_bytes(&[1u8; 32]);
    let sha = sha256_hex(b"x");
    let (bytes, _) = sign(
        &key,
        "x",
        &v("1.2.3"),
        &sha,
        123,
        t("2026-11-23T12:00:00.999Z"),
    )
    .unwrap();
    let expected = format!(
        "ggen-marketplace-signature-v1\nname: x\nversion: 1.2.3\nsha256: {sha}\nsize: 123\nkey-id: {}\nsigned-at: 2026-11-23T12:00:00Z\n",
        key_id(&key.verifying_key())
    );
    assert_eq!(String::from_utf8(bytes.clone()).unwrap(), expected);
    let parsed = Statement::parse(&bytes).unwrap();
    assert_eq!(parsed.to_bytes(), bytes);
    assert_eq!(parsed.size, 123);
    assert_eq!(parsed.signed_at, t("2026-11-23T12:00:00Z"));
}

#[test]
fn statement_parse_is_strict() {
    let good = Statement {
        name: "pkg".into(),
        version: v("1.0.0-rc.1+build.5"),
        sha256: sha256_hex(b"a"),
        size: 0,
        key_id: "0123456789abcdef".into(),
        signed_at: t("2026-01-02T03:04:05Z"),
    }
    .to_string();
    Statement::parse(good.as_bytes()).unwrap();
    let sha = sha256_hex(b"a");
    let cases: Vec<(String, &str)> = vec![
        (good.trim_end().to_string(), "newline"),
        (format!("{good}extra: 1\n"), "expected 7 lines"),
        (
            good.replace(
                "ggen-marketplace-signature-v1",
                "ggen-marketplace-signature-v2",
            ),
            "first line",
        ),
        (
            good.replace(
                "name: pkg\nversion: 1.0.0-rc.1+build.5\n",
                "version: 1.0.0-rc.1+build.5\nname: pkg\n",
            ),
            "line 2 must be `name",
        ),
        (good.replace("name: pkg", "name:  pkg"), "name"),
        (
            good.replace("name: pkg", "Name: pkg"),
            "line 2 must be `name",
        ),
        (good.replace("name: pkg", "name: ../etc"), "name"),
        (good.replace("1.0.0-rc.1+build.5", "1.0"), "version"),
        (good.replace("1.0.0-rc.1+build.5", "01.0.0"), "version"),
        (good.replace(&sha, &sha.to_uppercase()), "sha256"),
        (good.replace(&sha, &sha[..63]), "sha256"),
        (good.replace("size: 0", "size: 00"), "size"),
        (good.replace("size: 0", "size: +0"), "size"),
        (good.replace("size: 0", "size: -1"), "size"),
        (
            good.replace("0123456789abcdef", "0123456789ABCDEF"),
            "key-id",
        ),
        (
            good.replace("0123456789abcdef", "0123456789abcde"),
            "key-id",
        ),
        (
            good.replace("2026-01-02T03:04:05Z", "2026-01-02T03:04:05+00:00"),
            "signed-at",
        ),
        (
            good.replace("2026-01-02T03:04:05Z", "2026-01-02T03:04:05.5Z"),
            "signed-at",
        ),
        (
            good.replace("2026-01-02T03:04:05Z", "2026-1-02T03:04:05Z"),
            "signed-at",
        ),
        (good.replace('\n', "\r\n"), ""),
        (format!("{good}\n"), "expected 7 lines"),
    ];
    for (text, needle) in cases {
        let err = Statement::parse(text.as_bytes()).expect_err(&text);
        assert!(
            matches!(err, SigningError::InvalidStatement(_)),
            "{text:?}: {err}"
        );
        assert!(
            err.to_string().contains(needle),
            "{text:?}: {err} (wanted {needle:?})"
        );
    }
    assert!(Statement::parse(b"\xff\n").is_err());
    assert!(Statement::parse(b"").is_err());
}

#[test]
fn sign_refuses_invalid_inputs() {
    let key = SigningKey::from_bytes(&[2u8; 32]);
    let now = t("2026-01-01T00:00:00Z");
    let sha = sha256_hex(b"x");
    assert!(matches!(
        sign(&key, "Bad\nname", &v("1.0.0"), &sha, 1, now),
        Err(SigningError::InvalidStatement(_))
    ));
    assert!(matches!(
        sign(&key, "ok", &v("1.0.0"), "abc", 1, now),
        Err(SigningError::InvalidStatement(_))
    ));
}

// --- sign / verify ---
