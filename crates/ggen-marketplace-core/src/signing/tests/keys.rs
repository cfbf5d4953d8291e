use super::*;
use ed25519_dalek::pkcs8::spki::der::pem::{self, LineEnding};

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn keypair_files_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys/signing.pem");
    let key = generate_keypair().unwrap();
    write_keypair(&path, &key, false).unwrap();
    let pub_path = dir.path().join("keys/signing.pem.pub");
    assert_eq!(public_key_path(&path), pub_path);
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{text}");
    let pub_text = fs::read_to_string(&pub_path).unwrap();
    assert!(
        pub_text.starts_with("-----BEGIN PUBLIC KEY-----\n"),
        "{pub_text}"
    );
    assert_eq!(load_signing_key(&path).unwrap(), key);
    assert_eq!(load_verifying_key(&pub_path).unwrap(), key.verifying_key());
    assert_eq!(load_verifying_key(&path).unwrap(), key.verifying_key());
    // Only the two key files; no temp files left behind.
    assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 2);
    #[cfg(unix)]
    {
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&pub_path), 0o644);
    }
}

#[test]
fn keygen_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.pem");
    let first = generate_keypair().unwrap();
    write_keypair(&path, &first, false).unwrap();
    let second = generate_keypair().unwrap();
    let err = write_keypair(&path, &second, false).unwrap_err();
    assert!(matches!(err, SigningError::KeyExists { .. }), "{err}");
    assert_eq!(load_signing_key(&path).unwrap(), first);

    // Only the .pub exists: still refused, and the private key is not written.
    let lone = dir.path().join("lone.pem");
    fs::write(public_key_path(&lone), "x").unwrap();
    let err = write_keypair(&lone, &second, false).unwrap_err();
    assert!(
        matches!(err, SigningError::KeyExists { ref path } if path.ends_with("lone.pem.pub")),
        "{err}"
    );
    assert!(!lone.exists());

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    }
    write_keypair(&path, &second, true).unwrap();
    assert_eq!(load_signing_key(&path).unwrap(), second);
    assert_eq!(
        load_verifying_key(&public_key_path(&path)).unwrap(),
        second.verifying_key()
    );
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn generated_keys_differ() {
    let a = generate_keypair().unwrap();
    let b = generate_keypair().unwrap();
    assert_ne!(a.to_bytes(), b.to_bytes());
}

/// An EC P-256 PKCS#8 key made by `openssl genpkey -algorithm EC -pkeyopt
/// ec_paramgen_curve:P-256` (a throwaway test key).
const EC_P256_PKCS8: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgDoQJO4R3GDfYD5yV
ZV2DnFbXTN4t/HicxWM3Nex/D1ihRANCAAR/Qywgok/0Zz0+mdXJUxu//gE03ikX
oSF5ptw+f9YXeeSACNTR+sDGyCrSuqdQs0uhOQVKnyPCEmBjcRBoh5kl
-----END PRIVATE KEY-----
";

/// An Ed25519 key made by `openssl genpkey -algorithm ed25519` (a throwaway test key).
const OPENSSL_ED25519: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIDNN/Bv7k3OjvzY2LlrF6WnR4hKFfi6vyGTfmg1em6gi
-----END PRIVATE KEY-----
";
const OPENSSL_ED25519_PUB: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAvFk74Tl4m2uKcMekffFSJfoaOR2WTri2tXQQ3xA7dDI=
-----END PUBLIC KEY-----
";

pub(super) fn write(dir: &Path, name: &str, body: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, body).unwrap();
    p
}

#[test]
fn key_loading_errors_are_precise() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    let err = load_signing_key(&d.join("nope.pem")).unwrap_err();
    assert!(matches!(err, SigningError::KeyMissing { .. }), "{err}");
    assert!(err.to_string().contains("does not exist"));

    let p = write(d, "garbage.pem", "hello, I am not a key\n");
    let err = load_verifying_key(&p).unwrap_err();
    assert!(matches!(err, SigningError::NotPem { .. }), "{err}");

    let p = write(
        d,
        "badb64.pem",
        "-----BEGIN PRIVATE KEY-----\n!!!notbase64!!!\n-----END PRIVATE KEY-----\n",
    );
    let err = load_signing_key(&p).unwrap_err();
    assert!(matches!(err, SigningError::NotPem { .. }), "{err}");

    // Cut in the middle of the text: no END line.
    let p = write(d, "cut.pem", &OPENSSL_ED25519[..40]);
    let err = load_signing_key(&p).unwrap_err();
    assert!(matches!(err, SigningError::NotPem { .. }), "{err}");

    // Valid PEM around truncated DER.
    let (_, der) = pem::decode_vec(OPENSSL_ED25519.as_bytes()).unwrap();
    let truncated =
        pem::encode_string("PRIVATE KEY", LineEnding::LF, &der[..der.len() - 5]).unwrap();
    let p = write(d, "trunc.pem", truncated);
    let err = load_signing_key(&p).unwrap_err();
    assert!(matches!(err, SigningError::MalformedKey { .. }), "{err}");
    let (_, der) = pem::decode_vec(OPENSSL_ED25519_PUB.as_bytes()).unwrap();
    let truncated =
        pem::encode_string("PUBLIC KEY", LineEnding::LF, &der[..der.len() - 1]).unwrap();
    let p = write(d, "trunc.pub", truncated);
    let err = load_verifying_key(&p).unwrap_err();
    assert!(matches!(err, SigningError::MalformedKey { .. }), "{err}");

    let p = write(d, "ec.pem", EC_P256_PKCS8);
    let err = load_signing_key(&p).unwrap_err();
    assert!(matches!(err, SigningError::WrongKeyType { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("is not Ed25519 (found OID 1.2.840.10045.2.1, EC)"),
        "{err}"
    );
    let err = load_verifying_key(&p).unwrap_err();
    assert!(matches!(err, SigningError::WrongKeyType { .. }), "{err}");

    let p = write(
        d,
        "cert.pem",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    );
    let err = load_verifying_key(&p).unwrap_err();
    assert!(matches!(err, SigningError::NotAKey { .. }), "{err}");

    let p = write(
        d,
        "enc.pem",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
    );
    let err = load_signing_key(&p).unwrap_err();
    assert!(matches!(err, SigningError::EncryptedKey { .. }), "{err}");

    let p = write(d, "pub.pem", OPENSSL_ED25519_PUB);
    let err = load_signing_key(&p).unwrap_err();
    assert!(matches!(err, SigningError::NotAPrivateKey { .. }), "{err}");

    // A weak public key in valid SPKI is refused on load.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak = VerifyingKey::from_bytes(&identity).unwrap();
    let p = write(d, "weak.pub", public_key_pem(&weak));
    let err = load_verifying_key(&p).unwrap_err();
    assert!(matches!(err, SigningError::WeakKey { .. }), "{err}");
}

#[test]
fn openssl_made_ed25519_key_constant_loads() {
    let dir = tempfile::tempdir().unwrap();
    let k = write(dir.path(), "k.pem", OPENSSL_ED25519);
    let p = write(dir.path(), "k.pub", OPENSSL_ED25519_PUB);
    let key = load_signing_key(&k).unwrap();
    assert_eq!(load_verifying_key(&p).unwrap(), key.verifying_key());
    assert_eq!(load_verifying_key(&k).unwrap(), key.verifying_key());
}

// --- OpenSSL interop ---

#[test]
fn openssl_rejects_nothing_we_write_and_reads_our_keys() {
    require_openssl!();
    let dir = tempfile::tempdir().unwrap();
    let k = dir.path().join("k.pem");
    let key = generate_keypair().unwrap();
    write_keypair(&k, &key, false).unwrap();
    let pubp = public_key_path(&k);

    let out = openssl(&["pkey", "-in", s(&k), "-noout", "-text"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("ED25519"), "{text}");

    let out = openssl(&["pkey", "-pubin", "-in", s(&pubp), "-noout", "-text"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("ED25519 Public-Key"), "{text}");
    // The public key OpenSSL prints is ours.
    let printed: String = text
        .lines()
        .skip_while(|l| !l.starts_with("pub:"))
        .skip(1)
        .flat_map(|l| l.trim().split(':'))
        .collect();
    assert_eq!(printed, hex::encode(key.verifying_key().as_bytes()));

    // OpenSSL derives the same public key from our private key.
    let out = openssl(&["pkey", "-in", s(&k), "-pubout"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        fs::read_to_string(&pubp).unwrap()
    );
}

#[test]
fn openssl_verifies_our_signatures() {
    require_openssl!();
    let dir = tempfile::tempdir().unwrap();
    let k = dir.path().join("k.pem");
    let key = generate_keypair().unwrap();
    write_keypair(&k, &key, false).unwrap();
    let (statement, sig) = sign(
        &key,
        "hello-world",
        &v("2.0.0"),
        &sha256_hex(ARCHIVE),
        ARCHIVE.len() as u64,
        Utc::now(),
    )
    .unwrap();
    let st = write(dir.path(), "x.statement", &statement);
    let sg = write(dir.path(), "x.sig", sig);
    let pubp = public_key_path(&k);
    let out = openssl(&[
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        s(&pubp),
        "-rawin",
        "-in",
        s(&st),
        "-sigfile",
        s(&sg),
    ]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Signature Verified Successfully"));

    // And OpenSSL refuses a tampered statement, so the check above means something.
    let mut tampered = statement.clone();
    tampered[40] ^= 1;
    let st2 = write(dir.path(), "y.statement", tampered);
    let out = openssl(&[
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        s(&pubp),
        "-rawin",
        "-in",
        s(&st2),
        "-sigfile",
        s(&sg),
    ]);
    assert!(!out.status.success());
}

#[test]
fn we_verify_openssl_signatures_with_openssl_keys() {
    require_openssl!();
    let dir = tempfile::tempdir().unwrap();
    let k = dir.path().join("k.pem");
    let out = openssl(&["genpkey", "-algorithm", "ed25519", "-out", s(&k)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = load_signing_key(&k).unwrap();
    let pubp = dir.path().join("k.pub");
    let out = openssl(&["pkey", "-in", s(&k), "-pubout", "-out", s(&pubp)]);
    assert!(out.status.success());
    assert_eq!(load_verifying_key(&pubp).unwrap(), key.verifying_key());

    let (statement, ours) = sign(
        &key,
        "hello-world",
        &v("1.0.0"),
        &sha256_hex(ARCHIVE),
        ARCHIVE.len() as u64,
        Utc::now(),
    )
    .unwrap();
    let st = write(dir.path(), "x.statement", &statement);
    let sg = dir.path().join("x.sig");
    let out = openssl(&[
        "pkeyutl",
        "-sign",
        "-inkey",
        s(&k),
        "-rawin",
        "-in",
        s(&st),
        "-out",
        s(&sg),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: [u8; 64] = fs::read(&sg).unwrap().try_into().unwrap();
    // Ed25519 is deterministic: OpenSSL and dalek produce the same bytes.
    assert_eq!(theirs, ours);
    let rec = signature_record(&key.verifying_key(), &statement, &theirs);
    let ok = verify(&rec, "hello-world", &v("1.0.0"), ARCHIVE).unwrap();
    assert_eq!(ok.key_id, key_id(&key.verifying_key()));
    assert!(matches!(
        verify(&rec, "hello-world", &v("1.0.1"), ARCHIVE),
        Err(SigningError::VersionMismatch { .. })
    ));
}

#[test]
fn openssl_rsa_and_ec_keys_are_refused_as_not_ed25519() {
    require_openssl!();
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[&str], &str); 3] = [
        (
            "rsa.pem",
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"],
            "1.2.840.113549.1.1.1, RSA",
        ),
        (
            "ec.pem",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            "1.2.840.10045.2.1, EC",
        ),
        ("ed448.pem", &["-algorithm", "ed448"], "1.3.101.113, Ed448"),
    ];
    for (file, args, found) in cases {
        let k = dir.path().join(file);
        let mut full = vec!["genpkey"];
        full.extend_from_slice(args);
        full.extend_from_slice(&["-out", s(&k)]);
        let out = openssl(&full);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let err = load_signing_key(&k).unwrap_err();
        assert!(
            matches!(err, SigningError::WrongKeyType { .. }),
            "{file}: {err}"
        );
        assert!(err.to_string().contains(found), "{file}: {err}");
        let pubp = dir.path().join(format!("{file}.pub"));
        let out = openssl(&["pkey", "-in", s(&k), "-pubout", "-out", s(&pubp)]);
        assert!(out.status.success());
        let err = load_verifying_key(&pubp).unwrap_err();
        assert!(err.to_string().contains(found), "{file}.pub: {err}");
    }
    // Traditional (non-PKCS#8) RSA PEM.
    let k = dir.path().join("rsa.pem");
    let trad = dir.path().join("rsa-trad.pem");
    let out = openssl(&["pkey", "-in", s(&k), "-traditional", "-out", s(&trad)]);
    if out.status.success() {
        let err = load_signing_key(&trad).unwrap_err();
        assert!(matches!(err, SigningError::WrongKeyType { .. }), "{err}");
    }
}

// --- trust store ---
