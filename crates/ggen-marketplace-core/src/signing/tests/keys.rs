use super::*;
use ed25519_dalek::pkcs8::spki::der::pem::{self, LineEnding};

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// A new key pair written to `dir/name` (and `name.pub`): the key and its path.
fn keypair_at(dir: &Path, name: &str) -> (SigningKey, PathBuf) {
    let path = dir.join(name);
    let key = generate_keypair().unwrap();
    write_keypair(&path, &key, false).unwrap();
    (key, path)
}

#[test]
fn keypair_files_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let (key, path) = keypair_at(dir.path(), "keys/signing.pem");
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
    let (first, path) = keypair_at(dir.path(), "k.pem");
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

/// Writes `body` to `dir/name` and returns why `load` refuses that file.
fn refusal<T: std::fmt::Debug>(
    load: fn(&Path) -> Result<T, SigningError>,
    dir: &Path,
    name: &str,
    body: impl AsRef<[u8]>,
) -> SigningError {
    load(&write(dir, name, body)).unwrap_err()
}

/// A PEM block labelled `label` around `body` (which need not be valid base64).
fn pem_block(label: &str, body: &str) -> String {
    format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n")
}

/// The PEM text `key` again, its DER cut short by `cut` bytes.
fn truncated_der(key: &str, cut: usize) -> String {
    let (label, der) = pem::decode_vec(key.as_bytes()).unwrap();
    pem::encode_string(label, LineEnding::LF, &der[..der.len() - cut]).unwrap()
}

#[test]
fn key_loading_errors_are_precise() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    let err = load_signing_key(&d.join("nope.pem")).unwrap_err();
    assert!(matches!(err, SigningError::KeyMissing { .. }), "{err}");
    assert!(err.to_string().contains("does not exist"));

    let not_pem = [
        refusal(
            load_verifying_key,
            d,
            "garbage.pem",
            "hello, I am not a key\n",
        ),
        refusal(
            load_signing_key,
            d,
            "badb64.pem",
            pem_block("PRIVATE KEY", "!!!notbase64!!!"),
        ),
        // Cut in the middle of the text: no END line.
        refusal(load_signing_key, d, "cut.pem", &OPENSSL_ED25519[..40]),
    ];
    for err in not_pem {
        assert!(matches!(err, SigningError::NotPem { .. }), "{err}");
    }

    // Valid PEM around truncated DER.
    let malformed = [
        refusal(
            load_signing_key,
            d,
            "trunc.pem",
            truncated_der(OPENSSL_ED25519, 5),
        ),
        refusal(
            load_verifying_key,
            d,
            "trunc.pub",
            truncated_der(OPENSSL_ED25519_PUB, 1),
        ),
    ];
    for err in malformed {
        assert!(matches!(err, SigningError::MalformedKey { .. }), "{err}");
    }

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

    let err = refusal(
        load_verifying_key,
        d,
        "cert.pem",
        pem_block("CERTIFICATE", "AAAA"),
    );
    assert!(matches!(err, SigningError::NotAKey { .. }), "{err}");
    let err = refusal(
        load_signing_key,
        d,
        "enc.pem",
        pem_block("ENCRYPTED PRIVATE KEY", "AAAA"),
    );
    assert!(matches!(err, SigningError::EncryptedKey { .. }), "{err}");
    let err = refusal(load_signing_key, d, "pub.pem", OPENSSL_ED25519_PUB);
    assert!(matches!(err, SigningError::NotAPrivateKey { .. }), "{err}");

    // A weak public key in valid SPKI is refused on load.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak = VerifyingKey::from_bytes(&identity).unwrap();
    let err = refusal(load_verifying_key, d, "weak.pub", public_key_pem(&weak));
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

/// [`sign`] for `hello-world@version` over [`ARCHIVE`], now: statement and signature.
fn sign_hello(key: &SigningKey, version: &str) -> (Vec<u8>, [u8; 64]) {
    let (sha256, size) = (sha256_hex(ARCHIVE), ARCHIVE.len() as u64);
    sign(key, "hello-world", &v(version), &sha256, size, Utc::now()).unwrap()
}

/// `openssl pkeyutl -verify` of the signature in `sig` over `statement`, with `public_key`.
fn openssl_verify(public_key: &Path, statement: &Path, sig: &Path) -> std::process::Output {
    openssl(&[
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        s(public_key),
        "-rawin",
        "-in",
        s(statement),
        "-sigfile",
        s(sig),
    ])
}

/// Has OpenSSL write the public key of the private key `key` to `public_key`.
fn openssl_public_key(key: &Path, public_key: &Path) {
    openssl_ok(&["pkey", "-in", s(key), "-pubout", "-out", s(public_key)]);
}

#[test]
fn openssl_rejects_nothing_we_write_and_reads_our_keys() {
    require_openssl!();
    let dir = tempfile::tempdir().unwrap();
    let (key, k) = keypair_at(dir.path(), "k.pem");
    let pubp = public_key_path(&k);

    let out = openssl_ok(&["pkey", "-in", s(&k), "-noout", "-text"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ED25519"), "{text}");

    let out = openssl_ok(&["pkey", "-pubin", "-in", s(&pubp), "-noout", "-text"]);
    let text = String::from_utf8_lossy(&out.stdout);
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
    let out = openssl_ok(&["pkey", "-in", s(&k), "-pubout"]);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        fs::read_to_string(&pubp).unwrap()
    );
}

#[test]
fn openssl_verifies_our_signatures() {
    require_openssl!();
    let dir = tempfile::tempdir().unwrap();
    let (key, k) = keypair_at(dir.path(), "k.pem");
    let (statement, sig) = sign_hello(&key, "2.0.0");
    let st = write(dir.path(), "x.statement", &statement);
    let sg = write(dir.path(), "x.sig", sig);
    let pubp = public_key_path(&k);
    let out = openssl_verify(&pubp, &st, &sg);
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Signature Verified Successfully"));

    // And OpenSSL refuses a tampered statement, so the check above means something.
    let mut tampered = statement.clone();
    tampered[40] ^= 1;
    let st2 = write(dir.path(), "y.statement", tampered);
    assert!(!openssl_verify(&pubp, &st2, &sg).status.success());
}

#[test]
fn we_verify_openssl_signatures_with_openssl_keys() {
    require_openssl!();
    let dir = tempfile::tempdir().unwrap();
    let k = dir.path().join("k.pem");
    openssl_ok(&["genpkey", "-algorithm", "ed25519", "-out", s(&k)]);
    let key = load_signing_key(&k).unwrap();
    let pubp = dir.path().join("k.pub");
    openssl_public_key(&k, &pubp);
    assert_eq!(load_verifying_key(&pubp).unwrap(), key.verifying_key());

    let (statement, ours) = sign_hello(&key, "1.0.0");
    let st = write(dir.path(), "x.statement", &statement);
    let sg = dir.path().join("x.sig");
    openssl_ok(&[
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
    let theirs: [u8; 64] = fs::read(&sg).unwrap().try_into().unwrap();
    // Ed25519 is deterministic: OpenSSL and dalek produce the same bytes.
    assert_eq!(theirs, ours);
    let rec = signature_record(&key.verifying_key(), &statement, &theirs);
    let ok = verify_hello(&rec).unwrap();
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
        openssl_ok(&full);
        let err = load_signing_key(&k).unwrap_err();
        assert!(
            matches!(err, SigningError::WrongKeyType { .. }),
            "{file}: {err}"
        );
        assert!(err.to_string().contains(found), "{file}: {err}");
        let pubp = dir.path().join(format!("{file}.pub"));
        openssl_public_key(&k, &pubp);
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
