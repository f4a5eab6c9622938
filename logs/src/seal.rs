//! The seam for stream secrets (the sink's authorization header, the signing keys): this crate
//! never encrypts; the embedder seals with its master key and the store keeps the bytes. The
//! stream id and the secret's name travel with each call, to be bound as associated data, so a
//! sealed value copied to another stream or slot does not open.

use actionflow_store::SealedBytes;

/// Which secret of which stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretSlot<'a> {
    pub tenant_id: &'a str,
    pub stream_id: &'a str,
    /// `authorization` or `signing_key`.
    pub name: &'static str,
}

/// Seals and opens stream secrets.
pub trait SecretSeal: Send + Sync {
    /// `None` when the value cannot be sealed.
    fn seal(&self, slot: SecretSlot<'_>, clear: &[u8]) -> Option<SealedBytes>;
    /// `None` when the value does not open (another master key, another slot, tampering).
    fn open(&self, slot: SecretSlot<'_>, sealed: &SealedBytes) -> Option<Vec<u8>>;
}
