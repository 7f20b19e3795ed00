//! Signing a person's new credentials: each takes a slot of the revocation status list, is
//! recorded with the key that signs it, and is signed naming that key as its verifiers look it up.

use chrono::Utc;
use serde_json::{Value, json};

use super::model::{CredentialFormat, IssuedCredential};
use super::{CREDENTIAL_TYPE, status, store};
use crate::auth::keys::{KeyRing, Keys};
use crate::db::DbConnection;
use crate::db::ids::{AttainmentId, PersonId, RecordId};
use crate::db::types::{Json, Timestamp};
use crate::error::Error;

/// What a credential is, as its row remembers it: its format, how many records and attainments
/// it holds, and (for a badge) which one.
#[derive(Debug, Clone, Copy)]
pub struct Issued {
    pub format: CredentialFormat,
    pub records: usize,
    pub attainments: usize,
    pub record_id: Option<uuid::Uuid>,
    pub attainment_id: Option<uuid::Uuid>,
}

/// Signs credentials for one person with one reading of the key folder, which is also recorded
/// as each credential's signer.
pub struct Signer {
    ring: std::sync::Arc<KeyRing>,
    kid: String,
    person_id: PersonId,
}

impl Signer {
    pub fn new(keys: &Keys, person_id: PersonId) -> Self {
        let ring = keys.current();
        let kid = ring.active().kid.clone();
        Signer {
            ring,
            kid,
            person_id,
        }
    }

    /// Takes a status-list slot for a credential, builds its JWT payload from its id and status
    /// entry, and signs it.
    pub fn sign(
        &self,
        conn: &mut DbConnection,
        public_url: &str,
        what: Issued,
        expires_at: chrono::DateTime<Utc>,
        payload: impl FnOnce(&str, Value) -> Result<Value, Error>,
    ) -> Result<IssuedCredential, Error> {
        let summary = json!({"format": what.format.as_str(), "records": what.records, "attainments": what.attainments});
        let row = store::store_with_free_slot(
            conn,
            store::NewCredential {
                person_id: self.person_id,
                summary: Json(summary),
                now: Timestamp::now(),
                expires_at: Timestamp::from(expires_at),
                kid: &self.kid,
                record_id: what.record_id.map(RecordId),
                attainment_id: what.attainment_id.map(AttainmentId),
            },
        )?;
        let base = public_url.trim_end_matches('/');
        let list_url = format!("{base}{}", status::path(row.status_list));
        let status = json!({
            "id": format!("{list_url}#{}", row.status_index),
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": row.status_index.to_string(),
            "statusListCredential": list_url,
        });
        let id = format!("urn:uuid:{}", row.id);
        let claims = payload(&id, status)?;
        // A VC 2.0 credential (Open Badges, CLR) names its key as a method of its issuer's DID,
        // where did:web verifiers look it up; the passport's names it as the JWKS does.
        let named = match claims["iss"].as_str() {
            Some(issuer) if claims.get("vc").is_none() => format!("{issuer}#{}", self.kid),
            _ => self.kid.clone(),
        };
        let jwt = self
            .ring
            .sign_naming(&self.kid, &named, &claims, CREDENTIAL_TYPE)?;
        Ok(IssuedCredential {
            id: row.id.0,
            format: what.format,
            jwt,
            expires_at,
            record_id: what.record_id,
            attainment_id: what.attainment_id,
        })
    }
}
