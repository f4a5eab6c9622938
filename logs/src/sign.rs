//! Standard Webhooks signatures: `webhook-id`, `webhook-timestamp` (unix seconds) and
//! `webhook-signature` = space-separated `v1,<base64 HMAC-SHA256(key, id.timestamp.body)>`, one per
//! live key (the current one and, during a rotation's overlap, the previous one). Secrets are
//! `whsec_` + base64 of 32 random bytes; the key is the decoded bytes.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::{Error, Result};

/// The prefix of a signing secret.
pub const SECRET_PREFIX: &str = "whsec_";
const KEY_BYTES: usize = 32;

/// A signing key; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey(Vec<u8>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

impl SigningKey {
    /// A new random key.
    pub fn generate() -> SigningKey {
        let mut key = vec![0u8; KEY_BYTES];
        rand::rng().fill_bytes(&mut key);
        SigningKey(key)
    }

    /// The `whsec_…` form shown to the user (once) and parsed back by receivers.
    pub fn secret(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// Parses a `whsec_…` secret (24 to 64 bytes of key).
    pub fn from_secret(secret: &str) -> Result<SigningKey> {
        let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| Error::invalid("secret", "not whsec_ followed by base64"))?;
        if !(24..=64).contains(&key.len()) {
            return Err(Error::invalid("secret", "the key must be 24 to 64 bytes"));
        }
        Ok(SigningKey(key))
    }

    /// The raw bytes (to seal).
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// From sealed-and-opened bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> SigningKey {
        SigningKey(bytes)
    }

    /// `v1,<base64 signature>` of `id.timestamp.body`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            // HMAC takes keys of any length; this arm cannot be reached.
            Err(_) => return String::new(),
        };
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }

    /// Whether `header` (space-separated signatures) holds a valid `v1` signature by this key.
    pub fn verify(&self, id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
        let expected = self.sign(id, timestamp, body);
        header.split(' ').any(|candidate| {
            candidate.len() == expected.len()
                && candidate
                    .bytes()
                    .zip(expected.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        })
    }
}

/// The `webhook-signature` header for `keys` (current first).
pub fn signature_header(keys: &[SigningKey], id: &str, timestamp: i64, body: &[u8]) -> String {
    keys.iter()
        .map(|key| key.sign(id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_webhooks_example_verifies() {
        // From the Standard Webhooks specification's test vectors.
        let key = SigningKey::from_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .unwrap_or_else(|_| SigningKey::generate());
        let body = br#"{"test": 2432232314}"#;
        let signature = key.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let header = signature_header(
            &[SigningKey::generate(), key.clone()],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            body,
        );
        assert!(key.verify("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body, &header));
        assert!(!key.verify("msg_other", 1614265330, body, &header));
        let again = SigningKey::from_secret(&key.secret()).map(|k| k == key);
        assert_eq!(again.ok(), Some(true));
        assert!(SigningKey::from_secret("whsec_short").is_err());
    }
}
