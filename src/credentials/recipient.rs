//! Recipient binding as Open Badges 3.0 does it: the credential names its holder only by salted
//! SHA-256 hashes (`IdentityObject`s), so it reveals nothing of them, yet a verifier who is told
//! the holder's email or passport id can check that the credential was issued to them.

use rand::RngCore;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::model::{RecipientClaim, RecipientIdentity};
use crate::error::{Error, FieldError};
use crate::people::store::PersonRow;

/// Who a credential is bound to: the identities it names by salted hashes.
#[derive(Debug, Clone)]
pub struct Binding {
    identities: Vec<(&'static str, String)>,
}

impl Binding {
    /// The identities to bind a person's credentials to. Asked for explicitly, an identity the
    /// passport cannot vouch for is refused; by default, what it can vouch for is used. An
    /// Open Badges subject must name its holder, so no identity at all is refused.
    pub fn new(person: &PersonRow, asked: Option<&[RecipientIdentity]>) -> Result<Self, Error> {
        let vouched_email = person
            .email
            .as_deref()
            .filter(|_| person.email_verified)
            .map(normalised_email);
        let wanted: Vec<RecipientIdentity> = match asked {
            Some([]) => {
                return Err(Error::invalid(
                    "bind_to",
                    "an Open Badges or CLR credential names its holder: choose `email`, `passport_id` or both",
                ));
            }
            Some(asked) => asked.to_vec(),
            None if vouched_email.is_some() => {
                vec![RecipientIdentity::Email, RecipientIdentity::PassportId]
            }
            None => vec![RecipientIdentity::PassportId],
        };
        let mut identities = Vec::new();
        for (i, identity) in wanted.iter().enumerate() {
            if wanted[..i].contains(identity) {
                continue;
            }
            match identity {
                RecipientIdentity::Email => match &vouched_email {
                    Some(email) => identities.push(("emailAddress", email.clone())),
                    None => {
                        return Err(Error::Validation(vec![FieldError::new(
                            format!("bind_to[{i}]"),
                            "your passport holds no email your identity provider vouched for",
                        )]));
                    }
                },
                RecipientIdentity::PassportId => {
                    identities.push(("systemId", person.id.0.to_string()))
                }
            }
        }
        Ok(Binding { identities })
    }

    /// The identity objects of one credential subject, with salts of their own: two
    /// credentials of the same holder cannot be linked by their hashes.
    pub fn objects(&self) -> Vec<Value> {
        self.identities
            .iter()
            .map(|(identity_type, identity)| identity_object(identity_type, identity))
            .collect()
    }
}

/// Emails are compared as their owners type them, whatever the case.
fn normalised_email(email: &str) -> String {
    email.trim().to_lowercase()
}

fn identity_object(identity_type: &str, identity: &str) -> Value {
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    let salt = hex(&salt);
    json!({
        "type": "IdentityObject",
        "identityType": identity_type,
        "hashed": true,
        "identityHash": hash(identity, &salt),
        "salt": salt,
    })
}

/// `sha256$` and the hex SHA-256 of the identity followed by the salt (Open Badges 3.0
/// `IdentityHash`).
pub fn hash(identity: &str, salt: &str) -> String {
    let digest = Sha256::digest(format!("{identity}{salt}").as_bytes());
    format!("sha256${}", hex(&digest))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether the credential subject's identities match everything the verifier was told, and
/// what was found.
pub fn check(subject: &Value, claim: &RecipientClaim) -> (bool, String) {
    let objects: Vec<&Value> = subject["identifier"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let matches = |identity_type: &str, identity: &str| {
        objects.iter().any(|o| {
            o["identityType"] == identity_type
                && match (o["identityHash"].as_str(), o["hashed"].as_bool()) {
                    (Some(h), Some(true)) => hash(identity, o["salt"].as_str().unwrap_or("")) == h,
                    (Some(plain), _) => plain == identity,
                    _ => false,
                }
        })
    };
    let mut asked = Vec::new();
    let mut failed = Vec::new();
    if let Some(email) = &claim.email {
        asked.push("email");
        if !matches("emailAddress", &normalised_email(email)) {
            failed.push("email");
        }
    }
    if let Some(id) = claim.passport_id {
        asked.push("passport id");
        if !matches("systemId", &id.to_string()) {
            failed.push("passport id");
        }
    }
    let names = |identity_type: &str| objects.iter().any(|o| o["identityType"] == identity_type);
    let unbound: Vec<&str> = [
        (claim.email.is_some(), "emailAddress", "an email"),
        (claim.passport_id.is_some(), "systemId", "a passport id"),
    ]
    .into_iter()
    .filter(|(asked, identity_type, _)| *asked && !names(identity_type))
    .map(|(_, _, words)| words)
    .collect();
    if asked.is_empty() {
        (false, "no email or passport id was given to check".into())
    } else if objects.is_empty() {
        (
            false,
            "the credential names no holder: it is a bearer credential".into(),
        )
    } else if !unbound.is_empty() {
        (
            false,
            format!("the credential is not bound to {}", unbound.join(" or ")),
        )
    } else if failed.is_empty() {
        (
            true,
            format!("issued to the holder of this {}", asked.join(" and ")),
        )
    } else {
        (
            false,
            format!("not issued to the holder of this {}", failed.join(" and ")),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_the_open_badges_identity_hash() {
        // sha256("alice@example.org" + "salt")
        let expected = format!("sha256${}", hex(&Sha256::digest(b"alice@example.orgsalt")));
        assert_eq!(hash("alice@example.org", "salt"), expected);
        let subject = json!({"identifier": [{"type": "IdentityObject", "identityType": "emailAddress",
            "hashed": true, "identityHash": expected, "salt": "salt"}]});
        let claim = |email: &str| RecipientClaim {
            email: Some(email.into()),
            passport_id: None,
        };
        assert!(check(&subject, &claim(" Alice@Example.org")).0);
        assert!(!check(&subject, &claim("bob@example.org")).0);
        assert!(!check(&json!({}), &claim("alice@example.org")).0);
    }
}
