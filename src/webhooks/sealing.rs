//! Signing secrets at rest. HMAC needs the secret itself, so it cannot be hashed like a client
//! secret; it is sealed (XChaCha20-Poly1305) with a key kept beside the signing keys, so that a
//! copy of the database alone does not let anyone sign webhooks as the service.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

use crate::error::Error;

const PREFIX: &str = "sealed:v1:";
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
        let path = keys_dir.join(FILE);
        let io = |e: std::io::Error| Error::Internal(format!("{}: {e}", path.display()));
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(mut file) => file
                .write_all(STANDARD.encode(key).as_bytes())
                .map_err(io)?,
            // Another instance (or an earlier start) made it: use that one.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(e)),
        }
        let text = std::fs::read_to_string(&path).map_err(io)?;
        let key = STANDARD
            .decode(text.trim())
            .ok()
            .filter(|k| k.len() == 32)
            .ok_or_else(|| Error::Internal(format!("{} is not a 32-byte key", path.display())))?;
        Ok(SecretSeal {
            cipher: XChaCha20Poly1305::new_from_slice(&key)
                .map_err(|_| Error::Internal("bad webhook secrets key".into()))?,
        })
    }

    /// The stored form of a secret.
    pub fn seal(&self, secret: &str) -> String {
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(&XNonce::from(nonce), secret.as_bytes())
            .expect("sealing a short secret cannot fail");
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        format!("{PREFIX}{}", STANDARD.encode(bytes))
    }

    /// A secret back from its stored form.
    pub fn unseal(&self, stored: &str) -> Result<String, Error> {
        let broken = || Error::Internal("a webhook secret cannot be opened with this key".into());
        let bytes = STANDARD
            .decode(stored.strip_prefix(PREFIX).ok_or_else(broken)?)
            .map_err(|_| broken())?;
        if bytes.len() < 24 {
            return Err(broken());
        }
        let (nonce, sealed) = bytes.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| broken())?;
        let opened = self
            .cipher
            .decrypt(&XNonce::from(nonce), sealed)
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
        let stored = seal.seal("whsec_abc");
        assert!(stored.starts_with(PREFIX) && !stored.contains("abc"));
        assert_eq!(seal.unseal(&stored).unwrap(), "whsec_abc");
        // The same folder gives the same key; another folder's key cannot open it.
        assert_eq!(
            SecretSeal::open(dir.path())
                .unwrap()
                .unseal(&stored)
                .unwrap(),
            "whsec_abc"
        );
        let other = tempfile::tempdir().unwrap();
        assert!(
            SecretSeal::open(other.path())
                .unwrap()
                .unseal(&stored)
                .is_err()
        );
        assert!(seal.unseal("whsec_abc").is_err());
    }
}
