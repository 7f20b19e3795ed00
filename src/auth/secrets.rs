//! Client secrets: generated with the OS random source, stored only as argon2id hashes.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

use crate::error::Error;

fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buffer);
    URL_SAFE_NO_PAD.encode(buffer)
}

/// A new public client identifier.
pub fn new_client_id() -> String {
    format!("lpc_{}", random_token(12))
}

/// A new client secret (256 bits).
pub fn new_secret() -> String {
    format!("lps_{}", random_token(32))
}

pub fn hash(secret: &str) -> Result<String, Error> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("hashing failed: {e}")))
}

/// Constant-time verification of a secret against its stored hash.
pub fn verify(secret: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(secret.as_bytes(), &parsed)
            .is_ok()
    })
}

/// An argon2id hash of a random string nobody knows, with the default parameters: checked
/// against for unknown clients, so that they cost as much time as known ones.
pub const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0rXQmnNCzA4dzgGsZ6ChZF8zqTWVfLWgjkHn5TCJ/a4";
