//! Tokens the service has already verified. A caller sends the same token with every request
//! until it expires, and checking its Ed25519 signature each time was the largest single cost
//! of an employer's read after the database. A token seen before is answered from memory: the
//! whole token is the key, so a token changed in any byte is verified afresh; an entry holds
//! only until the token's own expiry, and only while the key that signed it is in the key ring
//! (a retired key's tokens are refused at once, as before).

use std::collections::HashMap;
use std::sync::Mutex;

/// Tokens remembered, at most. Each costs about the token's length (under a kilobyte); beyond
/// this, expired entries are dropped, and if none has expired the memory starts afresh.
const CAPACITY: usize = 4096;

struct Entry<S> {
    subject: S,
    /// The token's `exp`, in seconds since the epoch.
    expires: i64,
    kid: String,
}

/// Verified tokens, by their whole text, with what each was found to say (`S`).
pub(super) struct Verified<S> {
    entries: Mutex<HashMap<String, Entry<S>>>,
}

impl<S> Default for Verified<S> {
    fn default() -> Self {
        Verified {
            entries: Mutex::default(),
        }
    }
}

impl<S: Clone> Verified<S> {
    /// The subject of a token verified before, if it has not expired at `now` (with `leeway`
    /// seconds, as verification allows) and `key_known` still says its key is in the ring.
    pub fn get(
        &self,
        token: &str,
        now: i64,
        leeway: i64,
        key_known: impl FnOnce(&str) -> bool,
    ) -> Option<S> {
        let (subject, kid) = {
            let entries = self.entries.lock().ok()?;
            let entry = entries.get(token)?;
            if entry.expires + leeway < now {
                return None;
            }
            (entry.subject.clone(), entry.kid.clone())
        };
        key_known(&kid).then_some(subject)
    }

    /// Remembers a token just verified.
    pub fn insert(&self, token: &str, subject: S, expires: i64, kid: &str, now: i64) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= CAPACITY {
            entries.retain(|_, entry| entry.expires >= now);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(
            token.to_owned(),
            Entry {
                subject,
                expires,
                kid: kid.to_owned(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::tokens::{PersonIdentity, TokenSubject};

    fn someone() -> TokenSubject {
        TokenSubject::Person(PersonIdentity {
            issuer: "https://passport.example".into(),
            subject: "ada".into(),
            email: None,
            email_verified: false,
            name: None,
        })
    }

    fn is_ada(subject: Option<TokenSubject>) -> bool {
        matches!(subject, Some(TokenSubject::Person(p)) if p.subject == "ada")
    }

    #[test]
    fn a_token_is_remembered_until_it_expires() {
        let verified = Verified::<TokenSubject>::default();
        verified.insert("t", someone(), 1_000, "k1", 900);
        assert!(is_ada(verified.get("t", 1_000, 30, |_| true)));
        assert!(is_ada(verified.get("t", 1_030, 30, |_| true)));
        assert!(verified.get("t", 1_031, 30, |_| true).is_none());
    }

    #[test]
    fn only_the_same_token_with_its_key_still_known_is_answered() {
        let verified = Verified::<TokenSubject>::default();
        verified.insert("t", someone(), 1_000, "k1", 900);
        assert!(verified.get("t2", 950, 30, |_| true).is_none());
        assert!(verified.get("t", 950, 30, |kid| kid != "k1").is_none());
    }

    #[test]
    fn a_full_memory_drops_expired_tokens_first() {
        let verified = Verified::<TokenSubject>::default();
        for i in 0..CAPACITY {
            let expires = if i == 0 { 2_000 } else { 500 };
            verified.insert(&format!("t{i}"), someone(), expires, "k1", 400);
        }
        verified.insert("new", someone(), 2_000, "k1", 1_000);
        assert!(is_ada(verified.get("t0", 1_000, 0, |_| true)));
        assert!(is_ada(verified.get("new", 1_000, 0, |_| true)));
        assert!(verified.get("t1", 450, 0, |_| true).is_none());
    }
}
