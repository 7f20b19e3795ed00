//! Verifiable credentials as the API takes and answers them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::records::RecordKind;

/// Records chosen by what they are, instead of one by one.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordChoice {
    #[serde(default)]
    pub kinds: Vec<RecordKind>,
    #[serde(default)]
    pub activity_codes: Vec<String>,
}

/// What to put in a credential.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialRequest {
    /// Records by id (the person's own; not voided). At most 200 in all.
    #[serde(default)]
    pub record_ids: Vec<uuid::Uuid>,
    /// And/or every record (not hidden, not voided) of these kinds or activity codes.
    pub records_where: Option<RecordChoice>,
    /// Attainments by id (the person's own). At most 200.
    #[serde(default)]
    pub attainment_ids: Vec<uuid::Uuid>,
    /// Put the person's display name in the credential (default: no personal data at all).
    #[serde(default)]
    pub include_name: bool,
    /// How long the credential is valid, 1 to 1825 days (default 365).
    #[schema(minimum = 1, maximum = 1825)]
    pub valid_days: Option<i64>,
}

/// A new credential.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssuedCredential {
    pub id: uuid::Uuid,
    /// The W3C Verifiable Credential, secured as a JWT (VC-JWT) signed by the service's key.
    pub jwt: String,
    pub expires_at: DateTime<Utc>,
}

/// A credential the person created (never its content).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CredentialSummary {
    pub id: uuid::Uuid,
    pub records: usize,
    pub attainments: usize,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A credential to check.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    pub jwt: String,
}

/// What a check found.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VerifyResult {
    pub valid: bool,
    /// What is wrong, in plain words; empty when valid.
    pub errors: Vec<String>,
    /// The credential's claims, once the signature is known to be good.
    #[schema(value_type = Option<Object>)]
    pub claims: Option<serde_json::Value>,
}
