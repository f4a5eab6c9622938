//! Subresource-integrity (SRI) strings: parsing, choosing the strongest hash, verifying bytes.
//!
//! `dist.integrity` may list several hashes (`sha512-… sha1-…`); bytes are accepted when any hash of the
//! strongest listed algorithm matches. A bare hex `shasum` is used only when there is no integrity.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::Error;

/// Hash algorithms, weakest first (the derive order is the strength order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Algorithm {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Algorithm {
    fn from_name(name: &str) -> Option<Algorithm> {
        match name {
            "sha1" => Some(Algorithm::Sha1),
            "sha256" => Some(Algorithm::Sha256),
            "sha384" => Some(Algorithm::Sha384),
            "sha512" => Some(Algorithm::Sha512),
            _ => None,
        }
    }

    /// The name used in SRI strings and cache paths.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha384 => "sha384",
            Algorithm::Sha512 => "sha512",
        }
    }

    fn digest(self, bytes: &[u8]) -> Vec<u8> {
        match self {
            Algorithm::Sha1 => Sha1::digest(bytes).to_vec(),
            Algorithm::Sha256 => Sha256::digest(bytes).to_vec(),
            Algorithm::Sha384 => Sha384::digest(bytes).to_vec(),
            Algorithm::Sha512 => Sha512::digest(bytes).to_vec(),
        }
    }
}

/// The hashes of the strongest algorithm an integrity string lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Integrity {
    pub algorithm: Algorithm,
    /// Raw digests (any of them may match).
    pub digests: Vec<Vec<u8>>,
}

impl Integrity {
    /// Builds the integrity for a version from `dist.integrity`, else `dist.shasum`; refuses neither.
    pub fn from_dist(
        package: &str,
        integrity: Option<&str>,
        shasum: Option<&str>,
    ) -> Result<Integrity, Error> {
        let refuse = |reason: String| Error::BadIntegrity {
            package: package.to_string(),
            reason,
        };
        if let Some(sri) = integrity.filter(|s| !s.trim().is_empty()) {
            return Integrity::parse(sri)
                .ok_or_else(|| refuse(format!("unusable dist.integrity {sri:?}")));
        }
        if let Some(hex) = shasum.filter(|s| !s.trim().is_empty()) {
            let digest = decode_hex(hex.trim()).filter(|d| d.len() == 20);
            let digest = digest
                .ok_or_else(|| refuse(format!("dist.shasum {hex:?} is not a sha1 hex digest")))?;
            return Ok(Integrity {
                algorithm: Algorithm::Sha1,
                digests: vec![digest],
            });
        }
        Err(refuse(
            "the registry publishes neither dist.integrity nor dist.shasum".into(),
        ))
    }

    /// Parses an SRI string, keeping only the strongest known algorithm. `None` if nothing usable.
    pub fn parse(sri: &str) -> Option<Integrity> {
        let mut found: Vec<(Algorithm, Vec<u8>)> = Vec::new();
        for token in sri.split_whitespace() {
            let Some((name, rest)) = token.split_once('-') else {
                continue;
            };
            let Some(algorithm) = Algorithm::from_name(name) else {
                continue;
            };
            let b64 = rest.split('?').next().unwrap_or_default();
            if let Ok(digest) = STANDARD.decode(b64) {
                found.push((algorithm, digest));
            }
        }
        let strongest = found.iter().map(|(a, _)| *a).max()?;
        Some(Integrity {
            algorithm: strongest,
            digests: found
                .into_iter()
                .filter(|(a, _)| *a == strongest)
                .map(|(_, d)| d)
                .collect(),
        })
    }

    /// The SRI form of the first (canonical) digest, e.g. `sha512-…`.
    pub fn to_sri(&self) -> String {
        let first = self
            .digests
            .first()
            .map(|d| STANDARD.encode(d))
            .unwrap_or_default();
        format!("{}-{first}", self.algorithm.name())
    }

    /// The same integrity narrowed to each of its digests, in order.
    pub fn each(&self) -> impl Iterator<Item = Integrity> + '_ {
        self.digests.iter().map(|d| Integrity {
            algorithm: self.algorithm,
            digests: vec![d.clone()],
        })
    }

    /// Lower-case hex of the first digest: the content address in the cache.
    pub fn hex(&self) -> String {
        self.digests
            .first()
            .map(|d| encode_hex(d))
            .unwrap_or_default()
    }

    /// Checks `bytes`; returns the one digest they match, which is where they may be stored: an
    /// integrity listing several digests must not let one tarball stand in the cache under another's
    /// address. The error names the package and both hashes.
    pub fn verify(&self, package: &str, bytes: &[u8]) -> Result<Integrity, Error> {
        let actual = self.algorithm.digest(bytes);
        if self.digests.contains(&actual) {
            return Ok(Integrity {
                algorithm: self.algorithm,
                digests: vec![actual],
            });
        }
        Err(Error::IntegrityMismatch {
            package: package.to_string(),
            expected: self.to_sri(),
            actual: format!("{}-{}", self.algorithm.name(), STANDARD.encode(&actual)),
        })
    }
}

/// SRI `sha512-<base64>` of some bytes (used by tests and tools that publish packages).
pub fn sha512_sri(bytes: &[u8]) -> String {
    format!("sha512-{}", STANDARD.encode(Sha512::digest(bytes)))
}

fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}
