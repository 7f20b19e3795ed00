//! Issuing credentials: the records and attainments a person chooses, signed by the service's
//! key in the format asked for, each with a slot in the revocation status list.

use std::collections::HashMap;

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use super::badge::{self, Badge};
use super::did::did;
use super::model::{CredentialFormat, CredentialRequest, IssueAnswer, IssuedBadges};
use super::ob3::{self, ClrContents, Validity};
use super::signer::{Issued, Signer};
use super::{MAX_LIVE_PER_PERSON, MAX_RECORDS, passport, recipient, store};
use crate::attainments::{self, Attainment};
use crate::auth::keys::Keys;
use crate::db::ids::{AttainmentId, PersonId, RecordId};
use crate::db::{DbConnection, transaction};
use crate::error::{Error, FieldError};
use crate::frameworks::{self, Framework};
use crate::records::RecordWithIssuer;

/// Open Badges credentials one request may ask for.
pub const MAX_BADGES: usize = 50;

/// What the person chose, read once for every format.
struct Chosen {
    records: Vec<RecordWithIssuer>,
    attainments: Vec<(Attainment, usize)>,
    frameworks: Vec<Framework>,
}

impl Chosen {
    fn count(&self) -> usize {
        self.records.len() + self.attainments.len()
    }

    /// A credential of everything chosen.
    fn issued(&self, format: CredentialFormat) -> Issued {
        Issued {
            format,
            records: self.records.len(),
            attainments: self.attainments.len(),
            record_id: None,
            attainment_id: None,
        }
    }
}

/// Creates the credentials of chosen records and attainments, signed by the service's key.
pub fn issue(
    conn: &mut DbConnection,
    keys: &Keys,
    public_url: &str,
    person_id: PersonId,
    request: CredentialRequest,
) -> Result<IssueAnswer, Error> {
    let valid_days = check(&request)?;
    transaction(conn, |conn| {
        let chosen = choose(conn, person_id, &request)?;
        let new = match request.format {
            CredentialFormat::Ob3 => chosen.count() as i64,
            _ => 1,
        };
        // Counted with the person's row held, so that concurrent requests cannot both pass.
        let person = crate::people::store::lock(conn, person_id)?;
        let live = store::live_count(conn, person_id)?;
        if live + new > MAX_LIVE_PER_PERSON {
            return Err(Error::Conflict(format!(
                "you hold {live} live credentials, and {MAX_LIVE_PER_PERSON} is the most one person may: revoke those you no longer need first"
            )));
        }
        let holder_name = person.display_name.clone().filter(|_| request.include_name);
        // What badges and CLRs name their holder by (a passport credential names none).
        let holder = || recipient::Binding::new(&person, request.bind_to.as_deref());
        let now = Utc::now();
        let ends = now + Duration::days(valid_days);
        let signer = Signer::new(keys, person_id);
        match request.format {
            CredentialFormat::Passport => {
                let subject = passport_subject(&chosen, holder_name.as_deref());
                let what = chosen.issued(CredentialFormat::Passport);
                let issued = signer.sign(conn, public_url, what, ends, |id, status| {
                    let now = Utc::now().timestamp();
                    Ok(json!({"iss": did(public_url), "jti": id, "iat": now, "nbf": now,
                              "exp": ends.timestamp(), "vc": passport::credential(public_url, subject.clone(), status)}))
                })?;
                Ok(IssueAnswer::One(issued))
            }
            CredentialFormat::Ob3 => {
                let holder = holder()?;
                let mut credentials = Vec::new();
                for badge in badges(public_url, &chosen) {
                    let validity = Validity {
                        from: badge.valid_from.unwrap_or(now),
                        until: badge.valid_until.map_or(ends, |u| u.min(ends)),
                        awarded: now,
                    };
                    let what = Issued {
                        format: CredentialFormat::Ob3,
                        records: usize::from(badge.record_id.is_some()),
                        attainments: usize::from(badge.attainment_id.is_some()),
                        record_id: badge.record_id,
                        attainment_id: badge.attainment_id,
                    };
                    let issued =
                        signer.sign(conn, public_url, what, validity.until, |id, status| {
                            let credential = ob3::achievement_credential(
                                id,
                                &badge,
                                &holder.objects(),
                                validity,
                            );
                            Ok(ob3::jwt_payload(credential, status, validity))
                        })?;
                    credentials.push(issued);
                }
                Ok(IssueAnswer::Badges(IssuedBadges {
                    format: CredentialFormat::Ob3,
                    credentials,
                }))
            }
            CredentialFormat::Clr2 => {
                let holder = holder()?;
                let visible = crate::records::shared::achieved_count(conn, person_id)?;
                let held = attainments::store::count(conn, person_id)?;
                let contents = ClrContents {
                    holder_name: holder_name.as_deref(),
                    badges: badges(public_url, &chosen)
                        .into_iter()
                        .map(|b| (format!("urn:uuid:{}", uuid::Uuid::new_v4()), b))
                        .collect(),
                    frameworks: chosen.frameworks.iter().collect(),
                    evidence_links: chosen
                        .attainments
                        .iter()
                        .flat_map(|(a, _)| a.evidence.record_ids.iter().map(|r| (a.id, *r)))
                        .collect(),
                    partial: (chosen.records.iter().filter(|(r, _)| !r.hidden).count() as i64)
                        < visible
                        || (chosen.attainments.len() as i64) < held,
                };
                let validity = Validity {
                    from: now,
                    until: ends,
                    awarded: now,
                };
                let what = chosen.issued(CredentialFormat::Clr2);
                let issued = signer.sign(conn, public_url, what, ends, |id, status| {
                    let credential =
                        ob3::clr_credential(public_url, id, &contents, &holder, validity);
                    Ok(ob3::jwt_payload(credential, status, validity))
                })?;
                Ok(IssueAnswer::One(issued))
            }
        }
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
    if request.format == CredentialFormat::Passport && request.bind_to.is_some() {
        errors.push(FieldError::new(
            "bind_to",
            "a passport credential names no holder: ask for `ob3` or `clr2` to bind one",
        ));
    }
    if errors.is_empty() {
        Ok(valid_days)
    } else {
        Err(Error::Validation(errors))
    }
}

/// The chosen records (by id, then by choice) and attainments with their frameworks; every
/// choice that is not the person's to make is refused, naming it.
fn choose(
    conn: &mut DbConnection,
    person_id: PersonId,
    request: &CredentialRequest,
) -> Result<Chosen, Error> {
    let mut errors = Vec::new();
    let mut records = chosen_records(conn, person_id, request, &mut errors)?;
    let mut attainments = Vec::new();
    let mut frameworks: Vec<Framework> = Vec::new();
    let mut framework_at: HashMap<(String, String), usize> = HashMap::new();
    for (i, id) in request.attainment_ids.iter().enumerate() {
        match attainments::get(conn, person_id, AttainmentId(*id)) {
            Ok(attainment) => {
                let key = (
                    attainment.framework.code.clone(),
                    attainment.framework.version.clone(),
                );
                let at = match framework_at.get(&key) {
                    Some(at) => *at,
                    None => {
                        frameworks.push(frameworks::get(conn, &key.0, &key.1)?);
                        framework_at.insert(key, frameworks.len() - 1);
                        frameworks.len() - 1
                    }
                };
                if !attainments
                    .iter()
                    .any(|(a, _): &(Attainment, usize)| a.id == attainment.id)
                {
                    attainments.push((attainment, at));
                }
            }
            Err(Error::NotFound(_)) => errors.push(FieldError::new(
                format!("attainment_ids[{i}]"),
                "is not one of your attainments",
            )),
            Err(other) => return Err(other),
        }
    }
    if request.format != CredentialFormat::Passport {
        badge_worthy(request, &mut records, &mut errors);
    }
    let field = if request.records_where.is_some() {
        "records_where"
    } else {
        "record_ids"
    };
    if records.len() > MAX_RECORDS {
        errors.push(FieldError::new(
            field,
            format!(
                "chooses {} records; one credential holds at most {MAX_RECORDS}",
                records.len()
            ),
        ));
    }
    if request.format == CredentialFormat::Ob3 && records.len() + attainments.len() > MAX_BADGES {
        let field = if records.len() > MAX_BADGES {
            field
        } else {
            "attainment_ids"
        };
        errors.push(FieldError::new(
            field,
            format!(
                "chooses {} records and attainments; one request makes at most {MAX_BADGES} badges",
                records.len() + attainments.len()
            ),
        ));
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    if records.is_empty() && attainments.is_empty() {
        return Err(Error::invalid(
            "record_ids",
            "choose at least one record or attainment",
        ));
    }
    records.sort_by_key(|(r, _)| r.id);
    Ok(Chosen {
        records,
        attainments,
        frameworks,
    })
}

/// A badge says something was achieved: a record that lapsed or was failed is refused when
/// chosen by id, and left out when a choice selects it.
fn badge_worthy(
    request: &CredentialRequest,
    records: &mut Vec<RecordWithIssuer>,
    errors: &mut Vec<FieldError>,
) {
    let now = Utc::now();
    let why_not = |r: &crate::records::RecordRow| {
        if let Some(expired) = r.expires_at.filter(|e| e.0 <= now) {
            Some(format!(
                "expired on {}: a lapsed record is not issued as a badge",
                expired.0.to_rfc3339()
            ))
        } else if r.result.as_deref() == Some("failed") {
            Some("was failed: a badge says something was achieved".to_owned())
        } else {
            None
        }
    };
    for (i, id) in request.record_ids.iter().enumerate() {
        if let Some(why) = records
            .iter()
            .find(|(r, _)| r.id.0 == *id)
            .and_then(|(r, _)| why_not(r))
        {
            errors.push(FieldError::new(format!("record_ids[{i}]"), why));
        }
    }
    records.retain(|(r, _)| request.record_ids.contains(&r.id.0) || why_not(r).is_none());
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

fn passport_subject(chosen: &Chosen, holder_name: Option<&str>) -> Value {
    let records: Vec<Value> = chosen
        .records
        .iter()
        .map(|(r, name)| passport::record_claim(r, name.as_deref()))
        .collect();
    let attainments: Vec<Value> = chosen
        .attainments
        .iter()
        .map(|(a, f)| passport::attainment_claim(a, &chosen.frameworks[*f]))
        .collect();
    let mut subject = json!({"records": records, "attainments": attainments});
    if let Some(name) = holder_name {
        subject["name"] = json!(name);
    }
    subject
}

fn badges(public_url: &str, chosen: &Chosen) -> Vec<Badge> {
    let records = chosen
        .records
        .iter()
        .map(|(r, name)| badge::of_record(public_url, r, name.as_deref()));
    let attainments = chosen
        .attainments
        .iter()
        .map(|(a, f)| badge::of_attainment(public_url, a, &chosen.frameworks[*f]));
    records.chain(attainments).collect()
}
