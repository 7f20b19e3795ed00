//! A portable, verifiable passport: W3C Verifiable Credentials secured as JWTs (VC-JWT), signed
//! by the service's key, with their revocation published as a Bitstring Status List.
//!
//! The issuer is the service as `did:web` of its public URL; its DID document lists the same
//! keys as the JWKS, so anyone can verify a credential offline with the JWKS alone, and
//! DID-based wallets accept it too.

pub mod handlers;
pub mod model;
pub mod status;

use chrono::{Duration, Utc};
use diesel::prelude::*;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Value, json};

pub use model::*;

use crate::attainments;
use crate::auth::keys::Keys;
use crate::db::schema::credentials;
use crate::db::types::{Id, Json, Timestamp};
use crate::db::{DbConnection, transaction};
use crate::error::{Error, FieldError};
use crate::frameworks;
use crate::http::pagination::{List, Page};
use crate::records::RecordRow;
use crate::records::model::Provenance;

/// The JWT type of every credential the service signs (VC-JOSE-COSE), checked on the way back
/// in so that no other token the service signs can pass for a credential (RFC 8725 3.11).
pub const CREDENTIAL_TYPE: &str = "vc+jwt";

/// Live (neither revoked nor expired) credentials one person may hold at once.
pub const MAX_LIVE_PER_PERSON: i64 = 100;
/// Records one credential may hold.
pub const MAX_RECORDS: usize = 500;

/// The service as a `did:web` DID: `https://passport.example.org` is `did:web:passport.example.org`,
/// a port is percent-encoded and path segments become `:`.
pub fn did(public_url: &str) -> String {
    let url = url::Url::parse(public_url).ok();
    let host = url
        .as_ref()
        .and_then(|u| u.host_str())
        .unwrap_or("localhost")
        .to_owned();
    let port = url
        .as_ref()
        .and_then(|u| u.port())
        .map(|p| format!("%3A{p}"))
        .unwrap_or_default();
    let path: String = url
        .as_ref()
        .map(|u| {
            u.path_segments()
                .map(|s| {
                    s.filter(|x| !x.is_empty())
                        .map(|x| format!(":{x}"))
                        .collect()
                })
                .unwrap_or_default()
        })
        .unwrap_or_default();
    format!("did:web:{host}{port}{path}")
}

/// The DID document of the service: the JWKS keys as `JsonWebKey2020` verification methods.
pub fn did_document(public_url: &str, keys: &Keys) -> Value {
    let did = did(public_url);
    let methods: Vec<Value> = keys
        .jwks()
        .keys
        .into_iter()
        .map(|k| {
            json!({"id": format!("{did}#{}", k.kid), "type": "JsonWebKey2020", "controller": did,
                   "publicKeyJwk": {"kty": k.kty, "crv": k.crv, "x": k.x, "kid": k.kid, "alg": k.alg}})
        })
        .collect();
    let ids: Vec<Value> = methods.iter().map(|m| m["id"].clone()).collect();
    json!({
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": ids,
        "authentication": ids,
    })
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = credentials)]
struct CredentialRow {
    id: Id,
    person_id: Option<Id>,
    status_list: i32,
    status_index: i32,
    summary: Json,
    created_at: Timestamp,
    expires_at: Timestamp,
    revoked_at: Option<Timestamp>,
}

impl CredentialRow {
    fn summary(&self) -> CredentialSummary {
        CredentialSummary {
            id: self.id.0,
            records: self
                .summary
                .0
                .get("records")
                .and_then(|v| v.as_u64())
                .unwrap_or(0) as usize,
            attainments: self
                .summary
                .0
                .get("attainments")
                .and_then(|v| v.as_u64())
                .unwrap_or(0) as usize,
            created_at: self.created_at.0,
            expires_at: self.expires_at.0,
            revoked_at: self.revoked_at.map(|t| t.0),
        }
    }
}

fn record_claim(row: &RecordRow, issuer_name: Option<&str>) -> Value {
    let content = row.content();
    let mut claim = json!({
        "type": "TrainingRecord",
        "id": format!("urn:uuid:{}", row.id),
        "kind": content.kind,
        "title": content.title,
        "provenance": row.provenance(),
    });
    let object = claim.as_object_mut().expect("a JSON object");
    let mut put = |key: &str, value: Value| {
        if !value.is_null() {
            object.insert(key.into(), value);
        }
    };
    put("activityCode", json!(content.activity_code));
    put("provider", json!(content.provider_name));
    put("startedAt", json!(content.started_at));
    put("completedAt", json!(content.completed_at));
    put("expiresAt", json!(content.expires_at));
    put("result", json!(content.result));
    put("score", json!(content.score));
    put("hours", json!(content.hours));
    if row.provenance() == Provenance::Issued {
        put(
            "issuedBy",
            json!({"id": row.issuer_organisation_id.map(|i| format!("urn:uuid:{i}")), "name": issuer_name}),
        );
    }
    claim
}

/// Creates a credential of chosen records and attainments, signed by the service's key.
pub fn issue(
    conn: &mut DbConnection,
    keys: &Keys,
    public_url: &str,
    person_id: Id,
    display_name: Option<String>,
    request: CredentialRequest,
) -> Result<IssuedCredential, Error> {
    let valid_days = request.valid_days.unwrap_or(365);
    let mut errors = Vec::new();
    if !(1..=1825).contains(&valid_days) {
        errors.push(FieldError::new("valid_days", "must be 1 to 1825"));
    }
    if request.record_ids.len() > 200 {
        errors.push(FieldError::new("record_ids", "at most 200"));
    }
    if request.attainment_ids.len() > 200 {
        errors.push(FieldError::new("attainment_ids", "at most 200"));
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    transaction(conn, |conn| {
        // The chosen records, and those a choice selects.
        let ids: Vec<Id> = request.record_ids.iter().map(|i| Id(*i)).collect();
        let mut rows = crate::records::store::some_of(conn, person_id, &ids)?;
        for (i, id) in ids.iter().enumerate() {
            match rows.iter().find(|(r, _)| r.id == *id) {
                None => errors.push(FieldError::new(
                    format!("record_ids[{i}]"),
                    "is not one of your records",
                )),
                Some((r, _)) if r.voided_at.is_some() => errors.push(FieldError::new(
                    format!("record_ids[{i}]"),
                    "was voided by its issuer and cannot go into a credential",
                )),
                _ => {}
            }
        }
        if let Some(choice) = &request.records_where {
            let kinds: Vec<String> = choice.kinds.iter().map(|k| k.as_str().to_owned()).collect();
            // One more than a credential holds is enough to refuse the choice.
            let selected = crate::records::shared::visible_matching_with_issuers(
                conn,
                person_id,
                &kinds,
                &choice.activity_codes,
                MAX_RECORDS as i64 + 1,
            )?;
            for item in selected {
                if !rows.iter().any(|(r, _)| r.id == item.0.id) {
                    rows.push(item);
                }
            }
        }
        let mut attainment_claims = Vec::new();
        for (i, id) in request.attainment_ids.iter().enumerate() {
            match attainments::get(conn, person_id, Id(*id)) {
                Ok(a) => {
                    let framework = frameworks::get(conn, &a.framework.code, &a.framework.version)?;
                    let outcome = framework
                        .domains
                        .iter()
                        .flat_map(|d| d.outcomes.iter())
                        .find(|o| o.code == a.outcome_code);
                    let level_name = framework
                        .levels
                        .iter()
                        .find(|l| l.level == a.level)
                        .map(|l| l.name.clone());
                    let mut claim = json!({
                        "type": "OutcomeAttainment",
                        "id": format!("urn:uuid:{}", a.id),
                        "framework": {"code": framework.code, "version": framework.version, "title": framework.title, "publisher": framework.publisher},
                        "outcome": {"code": a.outcome_code, "title": outcome.map(|o| o.title.clone())},
                        "level": a.level,
                        "levelName": level_name,
                        "achievedOn": a.achieved_on,
                        "status": a.status,
                    });
                    if let Some(v) = &a.verification {
                        claim["verifiedBy"] = json!({"organisation": {"id": format!("urn:uuid:{}", v.organisation_id), "name": v.organisation_name},
                                                     "assessorName": v.assessor_name, "assessorRole": v.assessor_role, "level": v.level, "verifiedAt": v.verified_at});
                    }
                    attainment_claims.push(claim);
                }
                Err(Error::NotFound(_)) => errors.push(FieldError::new(
                    format!("attainment_ids[{i}]"),
                    "is not one of your attainments",
                )),
                Err(other) => return Err(other),
            }
        }
        if rows.len() > MAX_RECORDS {
            errors.push(FieldError::new(
                if request.records_where.is_some() {
                    "records_where"
                } else {
                    "record_ids"
                },
                format!(
                    "chooses {} records; one credential holds at most {MAX_RECORDS}",
                    rows.len()
                ),
            ));
        }
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        if rows.is_empty() && attainment_claims.is_empty() {
            return Err(Error::invalid(
                "record_ids",
                "choose at least one record or attainment",
            ));
        }
        rows.sort_by_key(|(r, _)| r.id);
        let record_claims: Vec<Value> = rows
            .iter()
            .map(|(r, name)| record_claim(r, name.as_deref()))
            .collect();

        let now = Timestamp::now();
        let live: i64 = credentials::table
            .filter(credentials::person_id.eq(person_id))
            .filter(credentials::revoked_at.is_null())
            .filter(credentials::expires_at.gt(now))
            .count()
            .get_result(conn)?;
        if live >= MAX_LIVE_PER_PERSON {
            return Err(Error::Conflict(format!(
                "you hold {MAX_LIVE_PER_PERSON} live credentials, the most one person may: revoke one you no longer need first"
            )));
        }
        let expires_at = Timestamp::from(now.0 + Duration::days(valid_days));
        let summary =
            Json(json!({"records": record_claims.len(), "attainments": attainment_claims.len()}));
        let row = store_with_free_slot(conn, person_id, summary, now, expires_at)?;
        let (status_list, status_index) = (row.status_list, row.status_index);
        let base = public_url.trim_end_matches('/');
        let list_url = format!("{base}{}", status::path(status_list));
        let mut subject = json!({"records": record_claims, "attainments": attainment_claims});
        if let Some(name) = display_name.filter(|_| request.include_name) {
            subject["name"] = json!(name);
        }
        let claims = json!({
            "iss": did(public_url),
            "jti": format!("urn:uuid:{}", row.id),
            "iat": now.0.timestamp(),
            "nbf": now.0.timestamp(),
            "exp": expires_at.0.timestamp(),
            "vc": {
                "@context": ["https://www.w3.org/2018/credentials/v1", "https://www.w3.org/ns/credentials/status/v1"],
                "type": ["VerifiableCredential", "LearningPassportCredential"],
                "credentialSubject": subject,
                "credentialStatus": {
                    "id": format!("{list_url}#{status_index}"),
                    "type": "BitstringStatusListEntry",
                    "statusPurpose": "revocation",
                    "statusListIndex": status_index.to_string(),
                    "statusListCredential": list_url,
                },
            },
        });
        let jwt = keys.sign(&claims, CREDENTIAL_TYPE)?;
        Ok(IssuedCredential {
            id: row.id.0,
            jwt,
            expires_at: expires_at.0,
        })
    })
}

/// Stores a credential's row in a free slot of the current status list. Two instances may pick
/// the same slot at once: the unique slot decides, and the loser picks again.
fn store_with_free_slot(
    conn: &mut DbConnection,
    person_id: Id,
    summary: Json,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<CredentialRow, Error> {
    let mut attempts = 0;
    loop {
        let (status_list, status_index) = status::free_slot(conn)?;
        let row = CredentialRow {
            id: Id::new(),
            person_id: Some(person_id),
            status_list,
            status_index,
            summary: summary.clone(),
            created_at: now,
            expires_at,
            revoked_at: None,
        };
        match transaction(conn, |conn| {
            diesel::insert_into(credentials::table)
                .values(&row)
                .execute(conn)
                .map_err(Error::from)
        }) {
            Ok(_) => return Ok(row),
            Err(Error::Conflict(_)) if attempts < 5 => attempts += 1,
            Err(other) => return Err(other),
        }
    }
}

/// The person's credentials, newest first (summaries: the content lives only in the JWT).
pub fn list(
    conn: &mut DbConnection,
    person_id: Id,
    page: Page,
) -> Result<List<CredentialSummary>, Error> {
    let mut query = credentials::table
        .filter(credentials::person_id.eq(person_id))
        .order(credentials::id.desc())
        .select(CredentialRow::as_select())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(credentials::id.lt(after));
    }
    let rows: Vec<CredentialRow> = query.load(conn)?;
    Ok(List::from_rows(rows, page, |row| row.id).map(|row| row.summary()))
}

/// Revokes one of the person's credentials: verification reports it from now on.
pub fn revoke(conn: &mut DbConnection, person_id: Id, id: Id) -> Result<CredentialSummary, Error> {
    transaction(conn, |conn| {
        let row: CredentialRow = credentials::table
            .filter(credentials::id.eq(id))
            .filter(credentials::person_id.eq(person_id))
            .select(CredentialRow::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| Error::NotFound("no such credential of yours".into()))?;
        if row.revoked_at.is_none() {
            diesel::update(credentials::table.find(id))
                .set(credentials::revoked_at.eq(Some(Timestamp::now())))
                .execute(conn)?;
        }
        let row: CredentialRow = credentials::table
            .find(id)
            .select(CredentialRow::as_select())
            .first(conn)?;
        Ok(row.summary())
    })
}

/// Revokes every live credential of a person (on erasure).
pub fn revoke_all(conn: &mut DbConnection, person_id: Id) -> Result<usize, Error> {
    Ok(diesel::update(
        credentials::table
            .filter(credentials::person_id.eq(person_id))
            .filter(credentials::revoked_at.is_null()),
    )
    .set(credentials::revoked_at.eq(Some(Timestamp::now())))
    .execute(conn)?)
}

/// Checks a credential: signature by a key of the service, issuer, validity period, revocation.
pub fn verify(
    conn: &mut DbConnection,
    keys: &Keys,
    public_url: &str,
    jwt: &str,
) -> Result<VerifyResult, Error> {
    let invalid = |why: String| {
        Ok(VerifyResult {
            valid: false,
            errors: vec![why],
            claims: None,
        })
    };
    let Ok(header) = jsonwebtoken::decode_header(jwt) else {
        return invalid("this is not a JWT".into());
    };
    if !header
        .typ
        .as_deref()
        .is_some_and(|typ| typ.eq_ignore_ascii_case(CREDENTIAL_TYPE))
    {
        return invalid(format!(
            "not a credential: its type is {}, where a credential's is {CREDENTIAL_TYPE}",
            header.typ.as_deref().unwrap_or("missing")
        ));
    }
    if header.alg != Algorithm::EdDSA {
        return invalid(format!(
            "signed with {:?}, but this service signs only with EdDSA",
            header.alg
        ));
    }
    let Some(kid) = header.kid else {
        return invalid("the credential does not say which key signed it (no kid)".into());
    };
    let Some(key) = keys.decoding(&kid) else {
        return invalid(format!(
            "signed by a key this service does not know (kid {kid}): not issued here, or the key was retired"
        ));
    };
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["iss", "exp"]);
    let claims: Value = match jsonwebtoken::decode::<Value>(jwt, &key, &validation) {
        Ok(data) => data.claims,
        Err(_) => return invalid("the signature does not match: the credential was altered, or not signed by this service".into()),
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
    let id = claims["jti"]
        .as_str()
        .and_then(|j| j.strip_prefix("urn:uuid:"))
        .and_then(|u| uuid::Uuid::parse_str(u).ok());
    match id {
        None => errors.push("the credential has no id this service gave out".into()),
        Some(id) => {
            let revoked: Option<Option<Timestamp>> = credentials::table
                .find(Id(id))
                .select(credentials::revoked_at)
                .first(conn)
                .optional()?;
            match revoked {
                None => errors.push("this service has no record of issuing this credential".into()),
                Some(Some(at)) => errors.push(format!("revoked on {}", at.0.to_rfc3339())),
                Some(None) => {}
            }
        }
    }
    Ok(VerifyResult {
        valid: errors.is_empty(),
        errors,
        claims: Some(claims),
    })
}
