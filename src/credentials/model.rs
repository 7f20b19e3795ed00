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

/// What kind of credential to issue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CredentialFormat {
    /// One `LearningPassportCredential` (W3C VC data model 1.1) holding every chosen item.
    #[default]
    Passport,
    /// One Open Badges 3.0 `OpenBadgeCredential` (VC data model 2.0) per chosen record or
    /// attainment.
    Ob3,
    /// One CLR 2.0 `ClrCredential` (VC data model 2.0) holding an Open Badges 3.0 credential per
    /// chosen item, and how they are associated.
    Clr2,
}

impl CredentialFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialFormat::Passport => "passport",
            CredentialFormat::Ob3 => "ob3",
            CredentialFormat::Clr2 => "clr2",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Passport, Self::Ob3, Self::Clr2]
            .into_iter()
            .find(|f| f.as_str() == value)
    }
}

/// What an Open Badges 3.0 or CLR 2.0 credential binds its holder by: the salted SHA-256 hash of
/// it, as an Open Badges `IdentityObject`, so that a verifier who is told it can check that the
/// person presenting the credential is the one it was issued to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecipientIdentity {
    /// The email the person's identity provider vouched for (`emailAddress`).
    Email,
    /// The person's passport id (`systemId`).
    PassportId,
}

/// What to put in a credential.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialRequest {
    /// `passport` (the default), `ob3` or `clr2`.
    #[serde(default)]
    pub format: CredentialFormat,
    /// Records by id (the person's own; not voided). At most 200 in all.
    #[serde(default)]
    pub record_ids: Vec<uuid::Uuid>,
    /// And/or every record (not hidden, not voided) of these kinds or activity codes.
    #[serde(default, deserialize_with = "crate::http::body::object_only")]
    pub records_where: Option<RecordChoice>,
    /// Attainments by id (the person's own). At most 200.
    #[serde(default)]
    pub attainment_ids: Vec<uuid::Uuid>,
    /// `passport` and `clr2`: put the person's display name in the credential. Without it a
    /// passport credential holds no personal data at all, and a badge or CLR names its holder
    /// only by salted hashes (`bind_to`).
    #[serde(default)]
    pub include_name: bool,
    /// How long the credential is valid, 1 to 1825 days (default 365).
    #[schema(minimum = 1, maximum = 1825)]
    pub valid_days: Option<i64>,
    /// `ob3` and `clr2`: what binds the credential to its holder, as salted hashes (fresh salts
    /// in each credential). By default the vouched-for email (when the identity provider
    /// vouched for one) and the passport id; at least one (an Open Badges subject names its
    /// holder).
    pub bind_to: Option<Vec<RecipientIdentity>>,
}

/// A new credential.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssuedCredential {
    pub id: uuid::Uuid,
    pub format: CredentialFormat,
    /// The W3C Verifiable Credential, secured as a JWT (VC-JWT) signed by the service's key.
    pub jwt: String,
    pub expires_at: DateTime<Utc>,
    /// `ob3`: the record the badge is of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_id: Option<uuid::Uuid>,
    /// `ob3`: the attainment the badge is of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attainment_id: Option<uuid::Uuid>,
}

/// The Open Badges 3.0 credentials of one request: one per chosen record or attainment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssuedBadges {
    /// Always `ob3`.
    pub format: CredentialFormat,
    /// Records first (by id), then attainments in the order asked.
    pub credentials: Vec<IssuedCredential>,
}

/// What `POST /v1/me/credentials` answers: one credential (`passport`, `clr2`), or the list of
/// badges (`ob3`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum IssueAnswer {
    One(IssuedCredential),
    Badges(IssuedBadges),
}

/// A credential the person created (never its content).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CredentialSummary {
    pub id: uuid::Uuid,
    pub format: CredentialFormat,
    /// `ob3`: the record the badge is of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_id: Option<uuid::Uuid>,
    /// `ob3`: the attainment the badge is of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attainment_id: Option<uuid::Uuid>,
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
    /// Also check that the credential was issued to this holder (`ob3`, `clr2`): each given
    /// identity must match one of the credential's hashed identities.
    #[serde(default, deserialize_with = "crate::http::body::object_only")]
    pub recipient: Option<RecipientClaim>,
}

/// Who presents the credential, as the verifier knows them.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipientClaim {
    /// Compared case-insensitively.
    #[schema(max_length = 320)]
    pub email: Option<String>,
    pub passport_id: Option<uuid::Uuid>,
}

impl RecipientClaim {
    /// Refuses what no email could be, naming the field.
    pub fn check(&self) -> Result<(), crate::error::Error> {
        match &self.email {
            Some(email) if email.chars().count() > 320 => Err(crate::error::Error::invalid(
                "recipient.email",
                "at most 320 characters",
            )),
            _ => Ok(()),
        }
    }
}

/// One check of a verification.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VerifyCheck {
    /// `signature`, `issuer`, `validity_period`, `status` or `recipient`.
    pub check: String,
    pub passed: bool,
    /// What was found, in plain words.
    pub detail: String,
}

/// What a check found.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VerifyResult {
    pub valid: bool,
    /// The kind of credential, once its signature is known to be good.
    pub format: Option<CredentialFormat>,
    /// Every check made, in order; the ones after a failed signature are not made.
    pub checks: Vec<VerifyCheck>,
    /// What is wrong, in plain words; empty when valid.
    pub errors: Vec<String>,
    /// The credential's claims, once the signature is known to be good.
    #[schema(value_type = Option<Object>)]
    pub claims: Option<serde_json::Value>,
}

/// A Bitstring Status List credential secured as a JWT (VC-JWT): a compact JWS, three base64url
/// parts joined by dots, signed with a key of `/.well-known/jwks.json`. Its `credentialSubject`
/// holds `encodedList`, the GZIP-compressed, base64url-encoded bitstring.
#[derive(Debug, ToSchema)]
#[schema(
    value_type = String,
    content_media_type = "application/vc+jwt",
    pattern = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"
)]
pub struct StatusListCredential(pub String);

/// The service's DID document (W3C DID Core 1.0), as a `did:web` resolver reads it: the keys of
/// `/.well-known/jwks.json` as verification methods.
#[derive(Debug, Serialize, ToSchema)]
pub struct DidDocument {
    /// The DID Core and JSON Web Key 2020 contexts.
    #[serde(rename = "@context")]
    #[schema(example = json!(["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"]))]
    pub context: Vec<String>,
    /// The service's DID: `did:web` of its public URL.
    #[schema(example = "did:web:passport.example.org")]
    pub id: String,
    /// For an organisation's DID: the service's, which signs for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controller: Option<String>,
    /// The service's signing keys.
    #[serde(rename = "verificationMethod")]
    pub verification_method: Vec<VerificationMethod>,
    /// The ids of the keys that sign credentials.
    #[serde(rename = "assertionMethod")]
    pub assertion_method: Vec<String>,
    /// The ids of the keys that sign as the service.
    pub authentication: Vec<String>,
}

/// One signing key of the service, as a DID verification method.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationMethod {
    /// The DID and the key's `kid`: `did:web:…#kid`.
    pub id: String,
    /// Always `JsonWebKey2020`.
    #[serde(rename = "type")]
    #[schema(example = "JsonWebKey2020")]
    pub method_type: String,
    /// The service's DID.
    pub controller: String,
    #[serde(rename = "publicKeyJwk")]
    pub public_key_jwk: DidPublicKey,
}

/// A public Ed25519 key as a JWK (RFC 8037), as in the JWKS.
#[derive(Debug, Serialize, ToSchema)]
pub struct DidPublicKey {
    /// Always `OKP`.
    pub kty: String,
    /// Always `Ed25519`.
    pub crv: String,
    /// The public key, base64url.
    pub x: String,
    /// The key id, as in the `kid` header of what it signed.
    pub kid: String,
    /// Always `EdDSA`.
    pub alg: String,
}
