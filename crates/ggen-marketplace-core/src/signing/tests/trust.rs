use super::keys::write;
use super::*;

#[test]
fn trust_store_add_list_remove_persist() {
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("trust/trusted-keys.json");
    let now = t("2026-06-01T00:00:00Z");

    let mut store = TrustStore::open(&store_path).unwrap();
    assert!(store.list().is_empty());

    let a = generate_keypair().unwrap();
    let key_path = dir.path().join("a.pem");
    write_keypair(&key_path, &a, false).unwrap();
    let added = store
        .add_key_file(
            &public_key_path(&key_path),
            "Alice <a@example.com>",
            None,
            now,
        )
        .unwrap()
        .clone();
    assert_eq!(added.key_id, key_id(&a.verifying_key()));
    assert_eq!(added.public_key, hex::encode(a.verifying_key().as_bytes()));
    assert_eq!(added.added_at, now);
    assert!(!added.revoked);

    let b = generate_keypair().unwrap().verifying_key();
    store
        .add(&b, "bob", Some(t("2027-01-01T00:00:00Z")), now)
        .unwrap();
    // The same key again is refused, even from the private key file.
    let err = store
        .add_key_file(&key_path, "again", None, now)
        .unwrap_err();
    assert!(matches!(err, SigningError::AlreadyTrusted { .. }), "{err}");
    assert!(matches!(
        store.add(
            &generate_keypair().unwrap().verifying_key(),
            " \t",
            None,
            now
        ),
        Err(SigningError::InvalidLabel { .. })
    ));
    store.save().unwrap();

    let reopened = TrustStore::open(&store_path).unwrap();
    assert_eq!(reopened.list(), store.list());
    let ids: Vec<&str> = reopened.list().iter().map(|k| k.key_id.as_str()).collect();
    assert_eq!(ids, [key_id(&a.verifying_key()), key_id(&b)]);

    let mut store = reopened;
    let removed = store.remove(&key_id(&a.verifying_key())).unwrap();
    assert_eq!(removed.label, "Alice <a@example.com>");
    assert!(matches!(
        store.remove(&key_id(&a.verifying_key())),
        Err(SigningError::NotInTrustStore { .. })
    ));
    store.save().unwrap();
    let reopened = TrustStore::open(&store_path).unwrap();
    assert_eq!(reopened.list().len(), 1);
    assert_eq!(
        reopened.is_trusted(&key_id(&a.verifying_key()), now),
        TrustStatus::Unknown
    );
    assert_eq!(reopened.is_trusted(&key_id(&b), now), TrustStatus::Trusted);
}

#[test]
fn trust_needs_the_whole_key_and_covers_only_its_packages() {
    let now = t("2026-06-01T00:00:00Z");
    let trusted = generate_keypair().unwrap().verifying_key();
    let impostor = generate_keypair().unwrap().verifying_key();
    // An entry whose 64-bit id an impostor's key shares (as if ground to
    // collide): trust by id alone would accept the impostor.
    let store = TrustStore {
        path: PathBuf::from("(memory)"),
        keys: vec![TrustedKey {
            key_id: key_id(&impostor),
            label: "collision".into(),
            public_key: hex::encode(trusted.as_bytes()),
            added_at: now,
            expires_at: None,
            revoked: false,
            packages: Vec::new(),
        }],
    };
    assert_eq!(
        store.is_trusted(&key_id(&impostor), now),
        TrustStatus::Trusted
    );
    assert_eq!(
        store.status_for(&impostor, "anything", now),
        TrustStatus::Unknown
    );

    let dir = tempfile::tempdir().unwrap();
    let mut store = TrustStore::open(dir.path().join("trust.json")).unwrap();
    store.add(&trusted, "acme", None, now).unwrap();
    store
        .restrict(&key_id(&trusted), &["acme-*".to_string()])
        .unwrap();
    assert_eq!(
        store.status_for(&trusted, "acme-cli", now),
        TrustStatus::Trusted
    );
    assert_eq!(
        store.status_for(&trusted, "other-cli", now),
        TrustStatus::OtherPackages
    );
    assert!(
        store
            .restrict(&key_id(&trusted), &["../*".to_string()])
            .is_err()
    );
    store.save().unwrap();
    let reopened = TrustStore::open(dir.path().join("trust.json")).unwrap();
    assert_eq!(
        reopened.status_for(&trusted, "other-cli", now),
        TrustStatus::OtherPackages
    );
    store.restrict(&key_id(&trusted), &[]).unwrap();
    assert_eq!(
        store.status_for(&trusted, "other-cli", now),
        TrustStatus::Trusted
    );
}

#[test]
fn trust_store_expiry_and_revocation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trust.json");
    let mut store = TrustStore::open(&path).unwrap();
    let now = t("2026-06-01T00:00:00Z");
    let k = generate_keypair().unwrap().verifying_key();
    let id = key_id(&k);
    store
        .add(&k, "expiring", Some(t("2026-07-01T00:00:00Z")), now)
        .unwrap();

    assert_eq!(store.is_trusted(&id, now), TrustStatus::Trusted);
    assert!(store.is_trusted(&id, now).is_trusted());
    assert_eq!(
        store.is_trusted(&id, t("2026-06-30T23:59:59Z")),
        TrustStatus::Trusted
    );
    assert_eq!(
        store.is_trusted(&id, t("2026-07-01T00:00:00Z")),
        TrustStatus::Expired
    );
    assert_eq!(
        store.is_trusted(&id, t("2030-01-01T00:00:00Z")),
        TrustStatus::Expired
    );
    assert_eq!(
        store.is_trusted("0000000000000000", now),
        TrustStatus::Unknown
    );

    store.revoke(&id).unwrap();
    assert_eq!(store.is_trusted(&id, now), TrustStatus::Revoked);
    // Revocation wins over expiry.
    assert_eq!(
        store.is_trusted(&id, t("2030-01-01T00:00:00Z")),
        TrustStatus::Revoked
    );
    store.save().unwrap();
    let reopened = TrustStore::open(&path).unwrap();
    assert_eq!(reopened.is_trusted(&id, now), TrustStatus::Revoked);
    assert!(reopened.get(&id).unwrap().revoked);
    assert!(matches!(
        store.revoke("0000000000000000"),
        Err(SigningError::NotInTrustStore { .. })
    ));
}

#[test]
fn trust_store_checks_the_full_key_not_just_the_id() {
    let mut store = TrustStore::open(tempfile::tempdir().unwrap().path().join("t.json")).unwrap();
    let now = Utc::now();
    let k = generate_keypair().unwrap().verifying_key();
    store.add(&k, "k", None, now).unwrap();
    assert_eq!(store.status_of_key(&k, now), TrustStatus::Trusted);
    // Simulate an id collision: same id, different key.
    let other = generate_keypair().unwrap().verifying_key();
    store.keys[0].public_key = hex::encode(other.as_bytes());
    assert_eq!(store.is_trusted(&key_id(&k), now), TrustStatus::Trusted);
    assert_eq!(store.status_of_key(&k, now), TrustStatus::Unknown);
}

#[test]
fn corrupt_trust_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let k = generate_keypair().unwrap().verifying_key();
    let good = format!(
        r#"{{"version":1,"keys":[{{"key_id":"{}","label":"x","public_key":"{}","added_at":"2026-01-01T00:00:00Z"}}]}}"#,
        key_id(&k),
        hex::encode(k.as_bytes())
    );
    let p = write(dir.path(), "good.json", &good);
    let store = TrustStore::open(&p).unwrap();
    assert_eq!(
        store.is_trusted(&key_id(&k), Utc::now()),
        TrustStatus::Trusted
    );

    let bad_cases = [
        "not json".to_string(),
        good.replace(r#""version":1"#, r#""version":9"#),
        good.replace(&key_id(&k), "0000000000000000"),
        good.replace(&hex::encode(k.as_bytes()), &hex::encode([0u8; 32])),
        good.replace(
            "]}",
            &format!(",{}]}}", &good[good.find('[').unwrap() + 1..good.len() - 2]),
        ),
    ];
    for (i, body) in bad_cases.iter().enumerate() {
        let p = write(dir.path(), &format!("bad{i}.json"), body);
        let err = TrustStore::open(&p).unwrap_err();
        assert!(
            matches!(err, SigningError::CorruptTrustStore { .. }),
            "{i}: {body}: {err}"
        );
    }
}
