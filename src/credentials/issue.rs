//! Issuing a credential: the records and attainments a person chooses, as claims signed by
//! the service's key, with a slot in the revocation status list.

use crate::db::ids::{AttainmentId, PersonId, RecordId};
use chrono::Duration;
use serde_json::{Value, json};

use super::did::did;
use super::model::{CredentialRequest, IssuedCredential};
use super::{CREDENTIAL_TYPE, MAX_LIVE_PER_PERSON, MAX_RECORDS, status, store};
use crate::attainments::{self, Attainment};
use crate::auth::keys::Keys;
use crate::db::types::{Json, Timestamp};
use crate::db::{DbConnection, transaction};
use crate::error::{Error, FieldError};
use crate::frameworks;
use crate::records::model::Provenance;
use crate::records::{RecordRow, RecordWithIssuer};

/// Creates a credential of chosen records and attainments, signed by the service's key.
pub fn issue(
    conn: &mut DbConnection,
    keys: &Keys,
    public_url: &str,
    person_id: PersonId,
    request: CredentialRequest,
) -> Result<IssuedCredential, Error> {
    let valid_days = check(&request)?;
    transaction(conn, |conn| {
        let mut errors = Vec::new();
        let mut rows = chosen_records(conn, person_id, &request, &mut errors)?;
        let attainment_claims = attainment_claims(conn, person_id, &request, &mut errors)?;
        if rows.len() > MAX_RECORDS {
            let field = if request.records_where.is_some() {
                "records_where"
            } else {
                "record_ids"
            };
            errors.push(FieldError::new(
                field,
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
        if store::live_count(conn, person_id)? >= MAX_LIVE_PER_PERSON {
            return Err(Error::Conflict(format!(
                "you hold {MAX_LIVE_PER_PERSON} live credentials, the most one person may: revoke one you no longer need first"
            )));
        }
        let mut subject = json!({"records": record_claims, "attainments": attainment_claims});
        if request.include_name
            && let Some(name) = crate::people::get(conn, person_id)?.display_name
        {
            subject["name"] = json!(name);
        }
        sign(conn, keys, public_url, person_id, subject, valid_days)
    })
}

/// The request's own limits; answers how many days the credential is valid.
fn check(request: &CredentialRequest) -> Result<i64, Error> {
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
    if errors.is_empty() {
        Ok(valid_days)
    } else {
        Err(Error::Validation(errors))
    }
}

/// The records chosen by id, and those a choice selects (one more than a credential holds is
/// enough to refuse the choice).
fn chosen_records(
    conn: &mut DbConnection,
    person_id: PersonId,
    request: &CredentialRequest,
    errors: &mut Vec<FieldError>,
) -> Result<Vec<RecordWithIssuer>, Error> {
    let ids: Vec<RecordId> = request.record_ids.iter().map(|i| RecordId(*i)).collect();
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
    Ok(rows)
}

/// A claim for each chosen attainment, named in the words of its framework.
fn attainment_claims(
    conn: &mut DbConnection,
    person_id: PersonId,
    request: &CredentialRequest,
    errors: &mut Vec<FieldError>,
) -> Result<Vec<Value>, Error> {
    let mut claims = Vec::new();
    for (i, id) in request.attainment_ids.iter().enumerate() {
        match attainments::get(conn, person_id, AttainmentId(*id)) {
            Ok(attainment) => claims.push(attainment_claim(conn, &attainment)?),
            Err(Error::NotFound(_)) => errors.push(FieldError::new(
                format!("attainment_ids[{i}]"),
                "is not one of your attainments",
            )),
            Err(other) => return Err(other),
        }
    }
    Ok(claims)
}

fn attainment_claim(conn: &mut DbConnection, a: &Attainment) -> Result<Value, Error> {
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
    Ok(claim)
}

fn record_claim(row: &RecordRow, issuer_name: Option<&str>) -> Value {
    let content = row.content();
    let mut claim = json!({
        "type": "TrainingRecord",
        "id": format!("urn:uuid:{}", row.id),
        "kind": content.learning.kind,
        "title": content.learning.title,
        "provenance": row.provenance(),
    });
    let object = claim.as_object_mut().expect("a JSON object");
    let mut put = |key: &str, value: Value| {
        if !value.is_null() {
            object.insert(key.into(), value);
        }
    };
    put("activityCode", json!(content.learning.activity_code));
    put("provider", json!(content.learning.provider_name));
    put("startedAt", json!(content.learning.started_at));
    put("completedAt", json!(content.learning.completed_at));
    put("expiresAt", json!(content.learning.expires_at));
    put("result", json!(content.learning.result));
    put("score", json!(content.learning.score));
    put("hours", json!(content.learning.hours));
    if row.provenance() == Provenance::Issued {
        // No `id` when the issuer is unknown: JSON-LD allows no null identifier.
        let mut issued_by = json!({"name": issuer_name});
        if let Some(issuer) = row.issuer_organisation_id {
            issued_by["id"] = json!(format!("urn:uuid:{issuer}"));
        }
        put("issuedBy", issued_by);
    }
    claim
}

/// Takes a status-list slot for the credential and signs it.
fn sign(
    conn: &mut DbConnection,
    keys: &Keys,
    public_url: &str,
    person_id: PersonId,
    subject: Value,
    valid_days: i64,
) -> Result<IssuedCredential, Error> {
    let now = Timestamp::now();
    let expires_at = Timestamp::from(now.0 + Duration::days(valid_days));
    let summary = Json(json!({
        "records": subject["records"].as_array().map_or(0, Vec::len),
        "attainments": subject["attainments"].as_array().map_or(0, Vec::len),
    }));
    // One reading of the key folder both signs and is recorded as the signer.
    let ring = keys.current();
    let kid = ring.active().kid.clone();
    let row = store::store_with_free_slot(conn, person_id, summary, now, expires_at, &kid)?;
    let (status_list, status_index) = (row.status_list, row.status_index);
    let base = public_url.trim_end_matches('/');
    let list_url = format!("{base}{}", status::path(status_list));
    let claims = json!({
        "iss": did(public_url),
        "jti": format!("urn:uuid:{}", row.id),
        "iat": now.0.timestamp(),
        "nbf": now.0.timestamp(),
        "exp": expires_at.0.timestamp(),
        "vc": {
            "@context": ["https://www.w3.org/2018/credentials/v1", "https://www.w3.org/ns/credentials/status/v1", super::context::url(public_url)],
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
    let jwt = ring.sign_with(&kid, &claims, CREDENTIAL_TYPE)?;
    Ok(IssuedCredential {
        id: row.id.0,
        jwt,
        expires_at: expires_at.0,
    })
}
