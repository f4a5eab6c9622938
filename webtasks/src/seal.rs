//! Extensions' secrets sealed with the actions' [`Sealer`] (AES-256-GCM under the master key, bound
//! to tenant, extension and name), and the storage tokens an execution gets: a sealed expiry bound
//! to the extension, so it opens for that extension's storage only and only until it expires.

use crate::error::{Error, Result};
use actionflow_actions::seal::Sealed;
use actionflow_actions::Sealer;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Never a secret's name (secret names hold no NUL): a token never opens as a secret, nor one as
/// a token.
const TOKEN_NAME: &str = "\0storage-token";
const TOKEN_PREFIX: &str = "wts_";

/// The identity an extension's secrets are sealed under (the Sealer's "action").
fn owner(container: &str, name: &str) -> String {
    format!("webtask:{container}/{name}")
}

#[derive(Serialize, Deserialize)]
struct SealedText {
    c: String,
    n: String,
}

/// The sealed secrets as the store keeps them (JSON text).
pub fn seal_secrets(
    sealer: &Sealer,
    tenant_id: &str,
    container: &str,
    name: &str,
    secrets: &BTreeMap<String, String>,
) -> Result<String> {
    let owner = owner(container, name);
    let mut sealed = BTreeMap::new();
    for (key, value) in secrets {
        let s = sealer
            .seal(tenant_id, &owner, key, value)
            .map_err(|e| Error::Internal(e.to_string()))?;
        sealed.insert(
            key.clone(),
            SealedText {
                c: B64.encode(&s.ciphertext),
                n: B64.encode(&s.nonce),
            },
        );
    }
    serde_json::to_string(&sealed).map_err(|e| Error::Internal(e.to_string()))
}

/// The stored secrets with `changes` applied: a value seals and sets (or replaces) that secret,
/// `None` removes it; the others keep their sealed values, never opened here.
pub fn merge_secrets(
    sealer: &Sealer,
    tenant_id: &str,
    container: &str,
    name: &str,
    stored: &str,
    changes: &BTreeMap<String, Option<String>>,
) -> Result<String> {
    let mut sealed: BTreeMap<String, SealedText> =
        serde_json::from_str(stored).map_err(|e| Error::Internal(e.to_string()))?;
    let set: BTreeMap<String, String> = changes
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.clone()?)))
        .collect();
    let fresh: BTreeMap<String, SealedText> =
        serde_json::from_str(&seal_secrets(sealer, tenant_id, container, name, &set)?)
            .map_err(|e| Error::Internal(e.to_string()))?;
    for key in changes.keys() {
        sealed.remove(key);
    }
    sealed.extend(fresh);
    serde_json::to_string(&sealed).map_err(|e| Error::Internal(e.to_string()))
}

/// The secrets in clear, for one execution.
pub fn open_secrets(
    sealer: &Sealer,
    tenant_id: &str,
    container: &str,
    name: &str,
    stored: &str,
) -> Result<BTreeMap<String, String>> {
    let owner = owner(container, name);
    let sealed: BTreeMap<String, SealedText> =
        serde_json::from_str(stored).map_err(|e| Error::Internal(e.to_string()))?;
    let mut out = BTreeMap::new();
    for (key, s) in sealed {
        let sealed = decode(&s.c, &s.n).ok_or_else(|| Error::Internal(format!("secret {key}")))?;
        let value = sealer
            .open(tenant_id, &owner, &key, &sealed)
            .map_err(|e| Error::Internal(e.to_string()))?;
        out.insert(key, value);
    }
    Ok(out)
}

/// The names of the stored secrets.
pub fn secret_names(stored: &str) -> Vec<String> {
    serde_json::from_str::<BTreeMap<String, serde_json::Value>>(stored)
        .map(|m| m.into_keys().collect())
        .unwrap_or_default()
}

fn decode(c: &str, n: &str) -> Option<Sealed> {
    Some(Sealed {
        ciphertext: B64.decode(c).ok()?,
        nonce: B64.decode(n).ok()?,
    })
}

/// A storage token for the extension, valid until `expires_unix` (seconds).
pub fn storage_token(
    sealer: &Sealer,
    tenant_id: &str,
    container: &str,
    name: &str,
    expires_unix: i64,
) -> Result<String> {
    let s = sealer
        .seal(
            tenant_id,
            &owner(container, name),
            TOKEN_NAME,
            &expires_unix.to_string(),
        )
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(format!(
        "{TOKEN_PREFIX}{}.{}",
        B64.encode(&s.nonce),
        B64.encode(&s.ciphertext)
    ))
}

/// Whether `token` looks like a storage token (and not a tenant token).
pub fn is_storage_token(token: &str) -> bool {
    token.starts_with(TOKEN_PREFIX)
}

/// Whether `token` is a live storage token of this extension.
pub fn check_storage_token(
    sealer: &Sealer,
    tenant_id: &str,
    container: &str,
    name: &str,
    token: &str,
    now_unix: i64,
) -> bool {
    let Some((n, c)) = token
        .strip_prefix(TOKEN_PREFIX)
        .and_then(|t| t.split_once('.'))
    else {
        return false;
    };
    let Some(sealed) = decode(c, n) else {
        return false;
    };
    sealer
        .open(tenant_id, &owner(container, name), TOKEN_NAME, &sealed)
        .ok()
        .and_then(|text| text.parse::<i64>().ok())
        .is_some_and(|expires| expires >= now_unix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_open_for_their_extension_only_and_expire() {
        let sealer = Sealer::new([7; 32]);
        let token = storage_token(&sealer, "t1", "c", "n", 100).unwrap_or_default();
        assert!(check_storage_token(&sealer, "t1", "c", "n", &token, 99));
        assert!(!check_storage_token(&sealer, "t1", "c", "n", &token, 101));
        assert!(!check_storage_token(
            &sealer, "t1", "c", "other", &token, 99
        ));
        assert!(!check_storage_token(&sealer, "t2", "c", "n", &token, 99));
        let mut secrets = BTreeMap::new();
        secrets.insert("k".to_owned(), "v".to_owned());
        let stored = seal_secrets(&sealer, "t1", "c", "n", &secrets).unwrap_or_default();
        assert!(!stored.contains("\"v\""));
        assert_eq!(
            open_secrets(&sealer, "t1", "c", "n", &stored).ok(),
            Some(secrets)
        );
        assert!(open_secrets(&sealer, "t1", "c", "m", &stored).is_err());
    }

    #[test]
    fn a_merge_keeps_what_it_does_not_name_without_opening_it() {
        let sealer = Sealer::new([7; 32]);
        let mut secrets = BTreeMap::new();
        secrets.insert("KEEP".to_owned(), "kept".to_owned());
        secrets.insert("GONE".to_owned(), "gone".to_owned());
        secrets.insert("NEW".to_owned(), "old".to_owned());
        let stored = seal_secrets(&sealer, "t1", "c", "n", &secrets).unwrap_or_default();
        let mut changes = BTreeMap::new();
        changes.insert("GONE".to_owned(), None);
        changes.insert("NEW".to_owned(), Some("new".to_owned()));
        changes.insert("ADDED".to_owned(), Some("added".to_owned()));
        let merged = merge_secrets(&sealer, "t1", "c", "n", &stored, &changes).unwrap_or_default();
        let kept = |s: &str| {
            let after = s.split("\"KEEP\":").nth(1).unwrap_or_default();
            after.split('}').next().map(str::to_owned)
        };
        assert_eq!(
            kept(&merged),
            kept(&stored),
            "the kept value is not re-sealed"
        );
        let open = open_secrets(&sealer, "t1", "c", "n", &merged).unwrap_or_default();
        let pairs: Vec<(&str, &str)> = open.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            pairs,
            [("ADDED", "added"), ("KEEP", "kept"), ("NEW", "new")]
        );
    }
}
