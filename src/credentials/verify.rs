//! Checking a credential as a verifier would, with the service's own answer on revocation.

use crate::db::ids::CredentialId;
use chrono::Utc;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::Value;

use super::did::did;
use super::model::VerifyResult;
use super::{CREDENTIAL_TYPE, store};
use crate::auth::keys::Keys;
use crate::db::DbConnection;
use crate::error::Error;

/// Checks a credential: signature by a key of the service, issuer, validity period, revocation.
pub fn verify(
    conn: &mut DbConnection,
    keys: &Keys,
    public_url: &str,
    jwt: &str,
) -> Result<VerifyResult, Error> {
    let claims = match signed_claims(keys, jwt) {
        Ok(claims) => claims,
        Err(why) => {
            return Ok(VerifyResult {
                valid: false,
                errors: vec![why],
                claims: None,
            });
        }
    };
    let mut errors = Vec::new();
    let expected = did(public_url);
    if claims["iss"] != expected.as_str() {
        errors.push(format!(
            "issued by {}, not by this service ({expected})",
            claims["iss"]
        ));
    }
    let now = Utc::now().timestamp();
    let when = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .map(|d| d.to_rfc3339())
            .unwrap_or_default()
    };
    if let Some(exp) = claims["exp"].as_i64().filter(|exp| *exp <= now) {
        errors.push(format!("expired on {}", when(exp)));
    }
    if let Some(nbf) = claims["nbf"].as_i64().filter(|nbf| *nbf > now + 30) {
        errors.push(format!("not valid before {}", when(nbf)));
    }
    if let Some(problem) = revocation_problem(conn, &claims)? {
        errors.push(problem);
    }
    Ok(VerifyResult {
        valid: errors.is_empty(),
        errors,
        claims: Some(claims),
    })
}

/// The credential's claims, if it is a credential signed by a key of this service; otherwise
/// why not, in plain words.
fn signed_claims(keys: &Keys, jwt: &str) -> Result<Value, String> {
    let Ok(header) = jsonwebtoken::decode_header(jwt) else {
        return Err("this is not a JWT".into());
    };
    if !header
        .typ
        .as_deref()
        .is_some_and(|typ| typ.eq_ignore_ascii_case(CREDENTIAL_TYPE))
    {
        return Err(format!(
            "not a credential: its type is {}, where a credential's is {CREDENTIAL_TYPE}",
            header.typ.as_deref().unwrap_or("missing")
        ));
    }
    if header.alg != Algorithm::EdDSA {
        return Err(format!(
            "signed with {:?}, but this service signs only with EdDSA",
            header.alg
        ));
    }
    let Some(kid) = header.kid else {
        return Err("the credential does not say which key signed it (no kid)".into());
    };
    let Some(key) = keys.decoding(&kid) else {
        return Err(format!(
            "signed by a key this service does not know (kid {kid}): not issued here, or the key was retired"
        ));
    };
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["iss", "exp"]);
    jsonwebtoken::decode::<Value>(jwt, &key, &validation)
        .map(|data| data.claims)
        .map_err(|_| "the signature does not match: the credential was altered, or not signed by this service".into())
}

/// Why the service's own records refuse the credential, if they do: an id it never gave out,
/// or a revocation.
fn revocation_problem(conn: &mut DbConnection, claims: &Value) -> Result<Option<String>, Error> {
    let id = claims["jti"]
        .as_str()
        .and_then(|j| j.strip_prefix("urn:uuid:"))
        .and_then(|u| uuid::Uuid::parse_str(u).ok());
    let Some(id) = id else {
        return Ok(Some(
            "the credential has no id this service gave out".into(),
        ));
    };
    Ok(match store::revocation(conn, CredentialId(id))? {
        None => Some("this service has no record of issuing this credential".into()),
        Some(Some(at)) => Some(format!("revoked on {}", at.0.to_rfc3339())),
        Some(None) => None,
    })
}
