//! Signing secrets at rest. HMAC needs the secret itself, so it cannot be hashed like a client
//! secret; it is sealed (XChaCha20-Poly1305) with a key kept beside the signing keys, so that a
//! copy of the database alone does not let anyone sign webhooks as the service.
//!
//! A sealed secret is bound to its subscription (the subscription id is the associated data):
//! someone who can write to the database but not read the key cannot move a secret they know
//! (their own organisation's) onto another organisation's subscription and so learn to forge
//! what it receives, nor swap two subscriptions' secrets. Secrets sealed before that binding
//! (`sealed:v1:`) are sealed again, bound, when the service starts; only bound ones open.

use crate::db::ids::WebhookId;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

use crate::error::Error;

const PREFIX: &str = "sealed:v2:";
/// Secrets sealed without their subscription id, before v2.
pub const UNBOUND_PREFIX: &str = "sealed:v1:";
const FILE: &str = "webhook-secrets.key";

/// Seals and opens signing secrets.
pub struct SecretSeal {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretSeal")
    }
}

impl SecretSeal {
    /// Loads the key from the keys folder, creating it (mode 0600) the first time. Every
    /// instance must see the same folder, as for the signing keys.
    pub fn open(keys_dir: &Path) -> Result<Self, Error> {
        let key = crate::auth::keys::secret_file(keys_dir, FILE)?;
        Ok(SecretSeal {
            cipher: XChaCha20Poly1305::new_from_slice(&key)
                .map_err(|_| Error::Internal("bad webhook secrets key".into()))?,
        })
    }

    /// The stored form of a subscription's secret.
    pub fn seal(&self, webhook_id: WebhookId, secret: &str) -> String {
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let payload = Payload {
            msg: secret.as_bytes(),
            aad: webhook_id.0.as_bytes(),
        };
        let sealed = self
            .cipher
            .encrypt(&XNonce::from(nonce), payload)
            .expect("sealing a short secret cannot fail");
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        format!("{PREFIX}{}", STANDARD.encode(bytes))
    }

    /// A subscription's secret back from its stored form; it opens only on the subscription it
    /// was sealed for.
    pub fn unseal(&self, webhook_id: WebhookId, stored: &str) -> Result<String, Error> {
        self.open_as(stored, PREFIX, webhook_id.0.as_bytes())
    }

    /// Seals a secret stored before secrets were bound to their subscription again, bound to
    /// it; `None` when it is not such a secret or this key cannot open it.
    pub fn upgrade(&self, webhook_id: WebhookId, stored: &str) -> Option<String> {
        if !stored.starts_with(UNBOUND_PREFIX) {
            return None;
        }
        let secret = self.open_as(stored, UNBOUND_PREFIX, &[]).ok()?;
        Some(self.seal(webhook_id, &secret))
    }

    /// Whether a stored secret still has to be bound to its subscription.
    pub fn is_unbound(stored: &str) -> bool {
        stored.starts_with(UNBOUND_PREFIX)
    }

    fn open_as(&self, stored: &str, prefix: &str, aad: &[u8]) -> Result<String, Error> {
        let broken = || Error::Internal("a webhook secret cannot be opened with this key".into());
        let bytes = STANDARD
            .decode(stored.strip_prefix(prefix).ok_or_else(broken)?)
            .map_err(|_| broken())?;
        if bytes.len() < 24 {
            return Err(broken());
        }
        let (nonce, sealed) = bytes.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| broken())?;
        let opened = self
            .cipher
            .decrypt(&XNonce::from(nonce), Payload { msg: sealed, aad })
            .map_err(|_| broken())?;
        String::from_utf8(opened).map_err(|_| broken())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let seal = SecretSeal::open(dir.path()).unwrap();
        let webhook = WebhookId::new();
        let stored = seal.seal(webhook, "whsec_abc");
        assert!(stored.starts_with(PREFIX) && !stored.contains("abc"));
        assert_eq!(seal.unseal(webhook, &stored).unwrap(), "whsec_abc");
        // The same folder gives the same key; another folder's key cannot open it.
        assert_eq!(
            SecretSeal::open(dir.path())
                .unwrap()
                .unseal(webhook, &stored)
                .unwrap(),
            "whsec_abc"
        );
        let other = tempfile::tempdir().unwrap();
        assert!(
            SecretSeal::open(other.path())
                .unwrap()
                .unseal(webhook, &stored)
                .is_err()
        );
        assert!(seal.unseal(webhook, "whsec_abc").is_err());
    }

    #[test]
    fn a_sealed_secret_opens_only_on_its_subscription() {
        let dir = tempfile::tempdir().unwrap();
        let seal = SecretSeal::open(dir.path()).unwrap();
        let (mine, theirs) = (WebhookId::new(), WebhookId::new());
        let stored = seal.seal(mine, "whsec_abc");
        assert!(seal.unseal(theirs, &stored).is_err());
        assert_eq!(seal.unseal(mine, &stored).unwrap(), "whsec_abc");
    }

    #[test]
    fn an_unbound_secret_is_bound_once_and_then_opens() {
        let dir = tempfile::tempdir().unwrap();
        let seal = SecretSeal::open(dir.path()).unwrap();
        let webhook = WebhookId::new();
        // A secret as stored before the binding: no associated data.
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let mut bytes = nonce.to_vec();
        bytes.extend(
            seal.cipher
                .encrypt(&XNonce::from(nonce), b"whsec_old".as_slice())
                .unwrap(),
        );
        let v1 = format!("{UNBOUND_PREFIX}{}", STANDARD.encode(bytes));
        assert!(SecretSeal::is_unbound(&v1));
        // Unbound secrets no longer open as they are.
        assert!(seal.unseal(webhook, &v1).is_err());
        let v2 = seal.upgrade(webhook, &v1).unwrap();
        assert!(!SecretSeal::is_unbound(&v2));
        assert_eq!(seal.unseal(webhook, &v2).unwrap(), "whsec_old");
        assert!(seal.upgrade(webhook, &v2).is_none(), "already bound");
        let other = tempfile::tempdir().unwrap();
        assert!(
            SecretSeal::open(other.path())
                .unwrap()
                .upgrade(webhook, &v1)
                .is_none()
        );
    }
}
