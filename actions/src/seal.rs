//! Sealing of action secrets with AES-256-GCM under the server's master key. The tenant, action and
//! secret name are the associated data, so a sealed value copied to another row does not open.
//! The store only ever sees ciphertext and nonce; values exist in clear only in a test or execution
//! request on its way to the runtime.

use actionflow_logs::SecretSlot;
use actionflow_store::SealedBytes;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use rand::RngCore;
use std::io::Write;
use std::path::Path;

const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 12;

/// Seals and opens secret values. `Debug` never shows the key.
#[derive(Clone)]
pub struct Sealer {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<key redacted>)")
    }
}

/// A sealed secret value.
pub struct Sealed {
    pub ciphertext: Vec<u8>,
    pub nonce: Vec<u8>,
}

/// A value that could not be encrypted.
#[derive(Debug, thiserror::Error)]
#[error("a secret value could not be encrypted")]
pub struct SealError;

/// A sealed value that does not open (wrong master key, or a row moved or tampered with).
#[derive(Debug, thiserror::Error)]
#[error("secret {name} cannot be decrypted with this master key")]
pub struct OpenError {
    pub name: String,
}

fn associated_data(tenant_id: &str, action_id: &str, name: &str) -> Vec<u8> {
    format!("actionflow-secret-v1\0{tenant_id}\0{action_id}\0{name}").into_bytes()
}

/// The canary's associated data: no secret's (those start with `actionflow-secret-v1`).
const CANARY_AAD: &[u8] = b"actionflow:master-key-canary";
const CANARY_VALUE: &[u8] = b"actionflow master key canary v1";

/// The master key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key text is not 64 hex digits; `source` says where it came from.
    #[error("{origin}: {reason}")]
    Malformed { origin: String, reason: String },
    #[error("{what} {path}: {error}")]
    Io {
        what: &'static str,
        path: String,
        #[source]
        error: std::io::Error,
    },
}

impl KeyError {
    fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> KeyError + 'a {
        move |error| KeyError::Io {
            what,
            path: path.display().to_string(),
            error,
        }
    }
}

/// Where the master key came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `ACTIONFLOW_MASTER_KEY`.
    Env,
    /// An existing key file.
    File,
    /// A key file created just now with a new key.
    Created(std::path::PathBuf),
}

impl Sealer {
    pub fn new(key: [u8; KEY_BYTES]) -> Sealer {
        Sealer {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key)),
        }
    }

    /// The key given in the configuration (64 hex digits) when there is one, else from `key_file`,
    /// which is created with a fresh random key and mode 0600 when missing.
    pub fn load(given: Option<&str>, key_file: &Path) -> Result<(Sealer, KeySource), KeyError> {
        if let Some(hex_key) = given.filter(|k| !k.trim().is_empty()) {
            let key = parse_key(hex_key, "ACTIONFLOW_MASTER_KEY")?;
            return Ok((Sealer::new(key), KeySource::Env));
        }
        match std::fs::read_to_string(key_file) {
            Ok(text) => Ok((
                Sealer::new(parse_key(&text, &key_file.display().to_string())?),
                KeySource::File,
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_key_file(key_file),
            Err(e) => Err(KeyError::io("reading", key_file)(e)),
        }
    }

    /// Seals the canary's known value (see `master_key`).
    pub fn seal_canary(&self) -> Result<Sealed, SealError> {
        self.seal_bytes(CANARY_VALUE, CANARY_AAD)
    }

    /// Encrypts `msg` under a fresh random nonce with `aad` bound.
    fn seal_bytes(&self, msg: &[u8], aad: &[u8]) -> Result<Sealed, SealError> {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg, aad })
            .map_err(|_| SealError)?;
        Ok(Sealed {
            ciphertext,
            nonce: nonce.to_vec(),
        })
    }

    /// Whether `sealed` is the canary sealed with this key.
    pub fn opens_canary(&self, sealed: &Sealed) -> bool {
        if sealed.nonce.len() != NONCE_BYTES {
            return false;
        }
        let payload = Payload {
            msg: &sealed.ciphertext,
            aad: CANARY_AAD,
        };
        self.cipher
            .decrypt(Nonce::from_slice(&sealed.nonce), payload)
            .is_ok_and(|clear| clear == CANARY_VALUE)
    }

    /// Encrypts `value`; `Err` only if AES-GCM refuses (beyond 64 GiB of plaintext), so that an
    /// empty ciphertext is never stored in place of a value.
    pub fn seal(
        &self,
        tenant_id: &str,
        action_id: &str,
        name: &str,
        value: &str,
    ) -> Result<Sealed, SealError> {
        let aad = associated_data(tenant_id, action_id, name);
        self.seal_bytes(value.as_bytes(), &aad)
    }

    pub fn open(
        &self,
        tenant_id: &str,
        action_id: &str,
        name: &str,
        sealed: &Sealed,
    ) -> Result<String, OpenError> {
        let error = || OpenError {
            name: name.to_owned(),
        };
        if sealed.nonce.len() != NONCE_BYTES {
            return Err(error());
        }
        let aad = associated_data(tenant_id, action_id, name);
        let payload = Payload {
            msg: &sealed.ciphertext,
            aad: &aad,
        };
        let clear = self
            .cipher
            .decrypt(Nonce::from_slice(&sealed.nonce), payload)
            .map_err(|_| error())?;
        String::from_utf8(clear).map_err(|_| error())
    }
}

/// Log stream secrets (the sink's authorization, the signing keys) are sealed with the same key,
/// bound to tenant, stream and slot; their associated data never starts like an action secret's or
/// the canary's, so no sealed value opens as another kind.
impl actionflow_logs::SecretSeal for Sealer {
    fn seal(&self, slot: SecretSlot<'_>, clear: &[u8]) -> Option<SealedBytes> {
        let sealed = self.seal_bytes(clear, &stream_associated_data(slot)).ok()?;
        Some(SealedBytes {
            ciphertext: sealed.ciphertext,
            nonce: sealed.nonce,
        })
    }

    fn open(&self, slot: SecretSlot<'_>, sealed: &SealedBytes) -> Option<Vec<u8>> {
        if sealed.nonce.len() != NONCE_BYTES {
            return None;
        }
        let aad = stream_associated_data(slot);
        let payload = Payload {
            msg: &sealed.ciphertext,
            aad: &aad,
        };
        self.cipher
            .decrypt(Nonce::from_slice(&sealed.nonce), payload)
            .ok()
    }
}

fn stream_associated_data(slot: SecretSlot<'_>) -> Vec<u8> {
    format!(
        "actionflow-log-stream-v1\0{}\0{}\0{}",
        slot.tenant_id, slot.stream_id, slot.name
    )
    .into_bytes()
}

fn parse_key(text: &str, origin: &str) -> Result<[u8; KEY_BYTES], KeyError> {
    let malformed = |reason: String| KeyError::Malformed {
        origin: origin.to_owned(),
        reason,
    };
    let bytes = hex::decode(text.trim())
        .map_err(|_| malformed("the master key must be 64 hex digits".to_owned()))?;
    <[u8; KEY_BYTES]>::try_from(bytes).map_err(|bytes| {
        malformed(format!(
            "the master key must be 32 bytes (64 hex digits), found {} bytes",
            bytes.len()
        ))
    })
}

fn create_key_file(path: &Path) -> Result<(Sealer, KeySource), KeyError> {
    let mut key = [0u8; KEY_BYTES];
    rand::rng().fill_bytes(&mut key);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(KeyError::io("creating", dir))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = match options.open(path) {
        Ok(file) => file,
        // Another node or process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(path).map_err(KeyError::io("reading", path))?;
            let key = parse_key(&text, &path.display().to_string())?;
            return Ok((Sealer::new(key), KeySource::File));
        }
        Err(e) => return Err(KeyError::io("creating", path)(e)),
    };
    file.write_all(format!("{}\n", hex::encode(key)).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(KeyError::io("writing", path))?;
    tracing::info!(path = %path.display(), "created a new master key");
    Ok((Sealer::new(key), KeySource::Created(path.to_owned())))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_value_opens_only_under_its_own_tenant_action_and_name() {
        let sealer = Sealer::new([7; 32]);
        let sealed = sealer.seal("t1", "a1", "API_KEY", "s3cr3t").unwrap();
        assert!(!sealed.ciphertext.windows(6).any(|w| w == b"s3cr3t"));
        assert_eq!(
            sealer.open("t1", "a1", "API_KEY", &sealed).unwrap(),
            "s3cr3t"
        );
        assert!(sealer.open("t2", "a1", "API_KEY", &sealed).is_err());
        assert!(sealer.open("t1", "a2", "API_KEY", &sealed).is_err());
        assert!(sealer.open("t1", "a1", "OTHER", &sealed).is_err());
        assert!(Sealer::new([8; 32])
            .open("t1", "a1", "API_KEY", &sealed)
            .is_err());
    }

    #[test]
    fn a_stream_secret_opens_only_in_its_own_slot() {
        use actionflow_logs::SecretSeal;
        let slot = |tenant_id, stream_id, name| SecretSlot {
            tenant_id,
            stream_id,
            name,
        };
        let sealer = Sealer::new([7; 32]);
        let sealed =
            SecretSeal::seal(&sealer, slot("t1", "s1", "signing_key"), b"whsec_x").unwrap();
        let open = |s: SecretSlot<'_>| SecretSeal::open(&sealer, s, &sealed);
        assert_eq!(open(slot("t1", "s1", "signing_key")).unwrap(), b"whsec_x");
        assert!(open(slot("t2", "s1", "signing_key")).is_none());
        assert!(open(slot("t1", "s2", "signing_key")).is_none());
        assert!(open(slot("t1", "s1", "authorization")).is_none());
        let other = Sealer::new([8; 32]);
        assert!(SecretSeal::open(&other, slot("t1", "s1", "signing_key"), &sealed).is_none());
        let as_action = Sealed {
            ciphertext: sealed.ciphertext.clone(),
            nonce: sealed.nonce.clone(),
        };
        assert!(sealer.open("t1", "s1", "signing_key", &as_action).is_err());
    }

    #[test]
    fn the_canary_opens_only_under_its_key_and_is_no_secret() {
        let sealer = Sealer::new([7; 32]);
        let canary = sealer.seal_canary().unwrap();
        assert!(sealer.opens_canary(&canary));
        assert!(!Sealer::new([8; 32]).opens_canary(&canary));
        let secret = sealer
            .seal("t", "a", "n", "actionflow master key canary v1")
            .unwrap();
        assert!(!sealer.opens_canary(&secret), "a secret is not a canary");
        let truncated = Sealed {
            ciphertext: canary.ciphertext.clone(),
            nonce: vec![0; 3],
        };
        assert!(!sealer.opens_canary(&truncated));
    }

    #[cfg(unix)]
    #[test]
    fn the_key_file_is_created_once_with_mode_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/master.key");
        let (first, source) = Sealer::load(None, &path).unwrap();
        assert_eq!(source, KeySource::Created(path.clone()));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let sealed = first.seal("t", "a", "n", "v").unwrap();
        let (again, source) = Sealer::load(None, &path).unwrap();
        assert_eq!(source, KeySource::File);
        assert_eq!(again.open("t", "a", "n", &sealed).unwrap(), "v");
        assert!(Sealer::load(Some("abcd"), &path).is_err());
    }
}
