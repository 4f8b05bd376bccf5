//! Secrets at rest: AES-256-GCM under a master key, and hashing of tokens and passwords.
//!
//! The master key comes from `TASKBRIDGE_MASTER_KEY` (base64 of 32 bytes) or is generated
//! once into `<data dir>/master.key` with 0600 permissions. Each ciphertext records the
//! key's fingerprint, so decrypting with another key says so instead of "corrupted".

use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use anyhow::Context;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::path::Path;

/// Why a secret could not be decrypted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    /// Encrypted under another master key.
    #[error("this secret was encrypted with master key {stored}, but the loaded master key is {loaded}: start Taskbridge with the original TASKBRIDGE_MASTER_KEY (or master.key file)")]
    WrongKey {
        /// Fingerprint recorded in the ciphertext.
        stored: String,
        /// Fingerprint of the loaded key.
        loaded: String,
    },
    /// Right key, but the bytes were altered or belong to another record.
    #[error("the stored secret failed its integrity check: it was altered, truncated, or copied from another record; enter it again")]
    Tampered,
    /// Not something this module wrote.
    #[error("the stored secret is not in a recognised format")]
    Malformed,
}

/// The key that encrypts partner secrets. Never serialised, never logged.
pub struct MasterKey {
    cipher: Aes256Gcm,
    fingerprint: String,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.fingerprint)
    }
}

impl MasterKey {
    /// Builds a key from 32 raw bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        let fingerprint = hex8(&Sha256::digest(bytes));
        Self { cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(bytes)), fingerprint }
    }

    /// Parses the base64 form used by `TASKBRIDGE_MASTER_KEY` and `master.key`.
    pub fn from_base64(text: &str) -> anyhow::Result<Self> {
        let raw = STANDARD.decode(text.trim()).context("TASKBRIDGE_MASTER_KEY must be base64 (e.g. the output of `openssl rand -base64 32`)")?;
        let bytes: [u8; 32] =
            raw.try_into().map_err(|v: Vec<u8>| anyhow::anyhow!("TASKBRIDGE_MASTER_KEY must decode to 32 bytes, got {}", v.len()))?;
        Ok(Self::from_bytes(&bytes))
    }

    /// The configured key, or the one in `<data_dir>/master.key`, generating it on first use.
    pub fn load_or_create(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<Self> {
        if let Some(text) = configured.filter(|t| !t.trim().is_empty()) {
            return Self::from_base64(text);
        }
        let path = data_dir.join("master.key");
        if path.exists() {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            return Self::from_base64(&text).with_context(|| format!("in {}", path.display()));
        }
        std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        write_private(&path, &STANDARD.encode(bytes))?;
        tracing::info!(path = %path.display(), "generated a new master key; back it up with the database");
        Ok(Self::from_bytes(&bytes))
    }

    /// Short public identifier of the key (first 8 hex digits of its SHA-256).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Encrypts `plaintext`, bound to `context` (e.g. `partner:7:autotask_secret`) so a
    /// ciphertext copied to another record fails to decrypt.
    pub fn encrypt(&self, plaintext: &str, context: &str) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = self.cipher.encrypt(&nonce, Payload { msg: plaintext.as_bytes(), aad: context.as_bytes() }).unwrap_or_default(); // AES-GCM encryption only fails for >64 GiB inputs
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&sealed);
        format!("v1.{}.{}", self.fingerprint, URL_SAFE_NO_PAD.encode(blob))
    }

    /// Decrypts what [`MasterKey::encrypt`] produced for the same `context`.
    pub fn decrypt(&self, sealed: &str, context: &str) -> Result<String, SecretError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some("v1"), Some(fingerprint), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(SecretError::Malformed);
        };
        if fingerprint != self.fingerprint {
            return Err(SecretError::WrongKey { stored: fingerprint.to_string(), loaded: self.fingerprint.clone() });
        }
        let blob = URL_SAFE_NO_PAD.decode(body).map_err(|_| SecretError::Malformed)?;
        if blob.len() < 12 + 16 {
            return Err(SecretError::Tampered);
        }
        let (nonce, ciphertext) = blob.split_at(12);
        let plain =
            self.cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: context.as_bytes() }).map_err(|_| SecretError::Tampered)?;
        String::from_utf8(plain).map_err(|_| SecretError::Tampered)
    }
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn hex8(bytes: &[u8]) -> String {
    bytes.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 in hex: how session cookies and API tokens are stored (they are random and
/// long, so a fast hash is enough; passwords use argon2id).
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// `bytes` random bytes, URL-safe base64.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// Hashes a password with argon2id (the crate's defaults: 19 MiB, 2 passes).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

/// Checks a password against an argon2 hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash).map(|parsed| argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> MasterKey {
        MasterKey::from_bytes(&[byte; 32])
    }

    #[test]
    fn secrets_round_trip_under_the_same_key_and_context() {
        let k = key(1);
        let sealed = k.encrypt("s3cret!", "partner:1:autotask");
        assert!(!sealed.contains("s3cret"));
        assert_eq!(k.decrypt(&sealed, "partner:1:autotask").unwrap(), "s3cret!");
    }

    #[test]
    fn the_same_secret_encrypts_differently_each_time() {
        let k = key(1);
        assert_ne!(k.encrypt("x", "c"), k.encrypt("x", "c"));
    }

    #[test]
    fn a_wrong_key_is_named_as_such() {
        let sealed = key(1).encrypt("s3cret!", "c");
        let err = key(2).decrypt(&sealed, "c").unwrap_err();
        assert!(matches!(err, SecretError::WrongKey { .. }));
        assert!(err.to_string().contains("TASKBRIDGE_MASTER_KEY"));
    }

    #[test]
    fn tampered_ciphertext_is_refused() {
        let k = key(1);
        let sealed = k.encrypt("s3cret!", "c");
        let (head, body) = sealed.rsplit_once('.').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(body).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let forged = format!("{head}.{}", URL_SAFE_NO_PAD.encode(bytes));
        assert_eq!(k.decrypt(&forged, "c").unwrap_err(), SecretError::Tampered);
    }

    #[test]
    fn a_secret_moved_to_another_record_is_refused() {
        let k = key(1);
        let sealed = k.encrypt("s3cret!", "partner:1:autotask");
        assert_eq!(k.decrypt(&sealed, "partner:2:autotask").unwrap_err(), SecretError::Tampered);
    }

    #[test]
    fn garbage_is_malformed() {
        assert_eq!(key(1).decrypt("hello", "c").unwrap_err(), SecretError::Malformed);
    }

    #[test]
    fn a_generated_key_file_is_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = MasterKey::load_or_create(None, dir.path()).unwrap();
        let second = MasterKey::load_or_create(None, dir.path()).unwrap();
        assert_eq!(first.fingerprint(), second.fingerprint());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("master.key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let sealed = first.encrypt("x", "c");
        assert_eq!(second.decrypt(&sealed, "c").unwrap(), "x");
    }

    #[test]
    fn a_configured_key_must_be_32_bytes_of_base64() {
        assert!(MasterKey::from_base64("not base64!").is_err());
        assert!(MasterKey::from_base64(&STANDARD.encode([0u8; 16])).is_err());
        assert!(MasterKey::from_base64(&STANDARD.encode([0u8; 32])).is_ok());
    }

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("wrong horse battery", &hash));
        assert!(!verify_password("x", "not a hash"));
    }
}
