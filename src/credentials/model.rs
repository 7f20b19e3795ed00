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
