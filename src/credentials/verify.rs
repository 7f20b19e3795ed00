//! Checking a credential as a verifier would, with the service's own answer on revocation:
//! the passport's own credential, Open Badges 3.0 and CLR 2.0 alike.

use crate::db::ids::CredentialId;
use chrono::Utc;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::Value;

use super::did::{did, organisation_of};
use super::model::{CredentialFormat, RecipientClaim, VerifyCheck, VerifyResult};
use super::{CREDENTIAL_TYPE, recipient, store};
use crate::auth::keys::Keys;
use crate::db::DbConnection;
use crate::error::Error;

/// The checks' findings, in order.
#[derive(Default)]
struct Findings {
    checks: Vec<VerifyCheck>,
}

impl Findings {
    fn record(&mut self, check: &str, passed: bool, detail: impl Into<String>) {
        self.checks.push(VerifyCheck {
            check: check.to_owned(),
            passed,
            detail: detail.into(),
        });
    }

    fn result(self, format: Option<CredentialFormat>, claims: Option<Value>) -> VerifyResult {
        let errors: Vec<String> = self
            .checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.detail.clone())
            .collect();
        VerifyResult {
            valid: errors.is_empty(),
            format,
            checks: self.checks,
            errors,
            claims,
        }
    }
}

/// Checks a credential: signature by a key of the service, issuer, validity period,
/// revocation, and (when asked) its holder.
pub fn verify(
    conn: &mut DbConnection,
    keys: &Keys,
    public_url: &str,
    jwt: &str,
    holder: Option<&RecipientClaim>,
) -> Result<VerifyResult, Error> {
    let mut findings = Findings::default();
    let (claims, named_as_method) = match signed_claims(keys, jwt) {
        Ok(signed) => signed,
        Err(why) => {
            findings.record("signature", false, why);
            return Ok(findings.result(None, None));
        }
    };
    let format = format_of(&claims);
    if format != CredentialFormat::Passport && !named_as_method {
        findings.record(
            "signature",
            false,
            "an Open Badges or CLR credential of this service names its key as a method of its issuer's DID, and this one does not",
        );
        return Ok(findings.result(Some(format), None));
    }
    findings.record("signature", true, "signed by a key of this service");
    let issuer = claims["iss"].as_str().unwrap_or_default();
    let service = did(public_url);
    match organisation_of(public_url, issuer) {
        _ if issuer == service => findings.record(
            "issuer",
            true,
            format!("issued by this service ({service})"),
        ),
        // Only a badge is issued in an organisation's name; a CLR and a passport are the service's.
        Some(organisation) if format == CredentialFormat::Ob3 => findings.record(
            "issuer",
            true,
            format!("issued by organisation {organisation} as this service knows it ({issuer})"),
        ),
        _ => findings.record(
            "issuer",
            false,
            format!(
                "issued by {}, not by this service ({service})",
                claims["iss"]
            ),
        ),
    }
    validity(&mut findings, &claims);
    match revocation_problem(conn, &claims)? {
        Some(problem) => findings.record("status", false, problem),
        None => findings.record("status", true, "not revoked"),
    }
    if let Some(holder) = holder {
        let subject = match format {
            CredentialFormat::Passport => Value::Null,
            _ => claims["credentialSubject"].clone(),
        };
        let (passed, detail) = recipient::check(&subject, holder);
        findings.record("recipient", passed, detail);
    }
    Ok(findings.result(Some(format), Some(claims)))
}

/// Which of the service's credentials the claims are: the passport's wraps its credential in a
/// `vc` claim (VC-JWT 1.1); Open Badges and CLR credentials are the payload itself.
fn format_of(claims: &Value) -> CredentialFormat {
    let types = |t: &str| {
        claims["type"]
            .as_array()
            .is_some_and(|types| types.iter().any(|x| x == t))
    };
    if types("ClrCredential") {
        CredentialFormat::Clr2
    } else if types("OpenBadgeCredential") || types("AchievementCredential") {
        CredentialFormat::Ob3
    } else {
        CredentialFormat::Passport
    }
}

fn validity(findings: &mut Findings, claims: &Value) {
    let now = Utc::now().timestamp();
    let when = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .map(|d| d.to_rfc3339())
            .unwrap_or_default()
    };
    let exp = claims["exp"].as_i64();
    if let Some(exp) = exp.filter(|exp| *exp <= now) {
        findings.record(
            "validity_period",
            false,
            format!("expired on {}", when(exp)),
        );
    } else if let Some(nbf) = claims["nbf"].as_i64().filter(|nbf| *nbf > now + 30) {
        findings.record(
            "validity_period",
            false,
            format!("not valid before {}", when(nbf)),
        );
    } else {
        findings.record(
            "validity_period",
            true,
            format!("valid until {}", exp.map(when).unwrap_or_default()),
        );
    }
}

/// The credential's claims, and whether its key was named as a method of its issuer's DID, if it
/// is a credential signed by a key of this service; otherwise why not, in plain words.
fn signed_claims(keys: &Keys, jwt: &str) -> Result<(Value, bool), String> {
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
    let Some(named) = header.kid else {
        return Err("the credential does not say which key signed it (no kid)".into());
    };
    // A key named as a method of a DID (`did:web:…#kid`) is the key of that id.
    let (method_of, kid) = match named.rsplit_once('#') {
        Some((did, kid)) => (Some(did.to_owned()), kid.to_owned()),
        None => (None, named),
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
    let claims = jsonwebtoken::decode::<Value>(jwt, &key, &validation)
        .map(|data| data.claims)
        .map_err(|_| "the signature does not match: the credential was altered, or not signed by this service".to_owned())?;
    match method_of {
        Some(did) if claims["iss"] != did.as_str() => Err(format!(
            "the key is named as a method of {did}, but the credential's issuer is {}",
            claims["iss"]
        )),
        named => Ok((claims, named.is_some())),
    }
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
