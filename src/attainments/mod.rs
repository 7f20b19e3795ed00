//! Attainments: a person's evidenced claims to learning outcomes, verified by organisations
//! that hold a live write grant from them.

pub mod handlers;
pub mod model;
pub mod store;
mod verification;

use crate::db::ids::{AttainmentId, PersonId};
use chrono::{NaiveDate, Utc};

pub use model::*;
pub use store::{AttainmentRow, delete, get, list, shared, view};

use store::row;
pub use verification::{Verifier, progress, verify};

use crate::db::types::{Json, Timestamp};
use crate::db::{DbConnection, transaction};
use crate::error::{Error, FieldError};
use crate::frameworks::{self, Framework};
use crate::http::etag::{self, Precondition};
use crate::records::model::is_https_url;

const MAX_RECORD_EVIDENCE: usize = 50;
const MAX_LINKS: usize = 20;

fn too_long(reflection: Option<&str>) -> bool {
    reflection.is_some_and(|r| r.chars().count() > 5000)
}

/// A reflection too long as sent, even if trimming would bring it within the limit.
fn refuse_long_reflection(errors: &mut Vec<FieldError>, sent_too_long: bool) {
    if sent_too_long && !errors.iter().any(|e| e.field == "reflection") {
        errors.push(FieldError::new(
            "reflection",
            "must be at most 5000 characters",
        ));
    }
}

/// Checks level, date, reflection and evidence against the framework and the person's records.
fn check(
    conn: &mut DbConnection,
    person_id: PersonId,
    framework: &Framework,
    level: i32,
    achieved_on: NaiveDate,
    reflection: Option<&str>,
    evidence: &AttainmentEvidence,
) -> Result<Vec<FieldError>, Error> {
    let mut errors = Vec::new();
    if !framework.has_level(level) {
        errors.push(FieldError::new(
            "level",
            format!(
                "must be a level of the framework's scale (1 to {})",
                framework.levels.len()
            ),
        ));
    }
    if achieved_on > Utc::now().date_naive() {
        errors.push(FieldError::new("achieved_on", "must not be in the future"));
    }
    if too_long(reflection) {
        errors.push(FieldError::new(
            "reflection",
            "must be at most 5000 characters",
        ));
    }
    if evidence.record_ids.len() > MAX_RECORD_EVIDENCE {
        errors.push(FieldError::new(
            "evidence.record_ids",
            format!("at most {MAX_RECORD_EVIDENCE} records"),
        ));
    }
    if evidence.links.len() > MAX_LINKS {
        errors.push(FieldError::new(
            "evidence.links",
            format!("at most {MAX_LINKS} links"),
        ));
    }
    for (i, link) in evidence.links.iter().enumerate() {
        if link.url.chars().count() > 2000 || !is_https_url(&link.url) {
            errors.push(FieldError::new(
                format!("evidence.links[{i}].url"),
                "must be an absolute https URL",
            ));
        }
        if link
            .description
            .as_ref()
            .is_some_and(|d| d.chars().count() > 500)
        {
            errors.push(FieldError::new(
                format!("evidence.links[{i}].description"),
                "must be at most 500 characters",
            ));
        }
    }
    errors.extend(crate::records::store::not_owned(
        conn,
        person_id,
        &evidence.record_ids,
        "evidence.record_ids",
    )?);
    Ok(errors)
}

/// Records a new self-assessed attainment.
pub fn create(
    conn: &mut DbConnection,
    person_id: PersonId,
    input: AttainmentInput,
) -> Result<Attainment, Error> {
    let Some(framework) = frameworks::find(conn, &input.framework.code, &input.framework.version)?
    else {
        return Err(Error::invalid("framework", "no such framework version"));
    };
    let Some(domain) = framework.domain_of(&input.outcome_code) else {
        return Err(Error::invalid(
            "outcome_code",
            "no such outcome in this framework version",
        ));
    };
    // The length as sent, as the documented maxLength says, then trimmed.
    let sent_too_long = too_long(input.reflection.as_deref());
    let reflection = input
        .reflection
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    let mut errors = check(
        conn,
        person_id,
        &framework,
        input.level,
        input.achieved_on,
        reflection.as_deref(),
        &input.evidence,
    )?;
    refuse_long_reflection(&mut errors, sent_too_long);
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    if store::held(conn, person_id)? >= MAX_PER_PERSON {
        return Err(Error::Conflict(format!(
            "a passport holds at most {MAX_PER_PERSON} attainments: delete some you no longer need first"
        )));
    }
    let now = Timestamp::now();
    let row = AttainmentRow {
        id: AttainmentId::new(),
        person_id,
        framework_code: framework.code.clone(),
        framework_version: framework.version.clone(),
        outcome_code: input.outcome_code,
        domain_code: domain.code.clone(),
        level: input.level,
        achieved_on: input.achieved_on,
        reflection,
        evidence: Json::of(&input.evidence),
        status: AttainmentStatus::SelfAssessed.as_str().into(),
        verification_id: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    store::insert(conn, &row)?;
    view(conn, row)
}

/// The most attainments one passport holds.
pub const MAX_PER_PERSON: i64 = 5_000;

/// Changes an attainment if it is still at a version the caller has seen; a verified one
/// returns to `self_assessed`.
pub fn update(
    conn: &mut DbConnection,
    person_id: PersonId,
    id: AttainmentId,
    patch: AttainmentPatch,
    precondition: &Precondition,
) -> Result<Attainment, Error> {
    transaction(conn, |conn| {
        let mut row = row(conn, person_id, id)?;
        // The body is checked first: a malformed change is refused as such, whatever its ETag.
        let unchanged_since_read = precondition.allows(row.id, row.version);
        let framework = frameworks::get(conn, &row.framework_code, &row.framework_version)?;
        if let Some(level) = patch.level {
            row.level = level;
        }
        if let Some(date) = patch.achieved_on {
            row.achieved_on = date;
        }
        let sent_too_long = match &patch.reflection {
            crate::http::patch::Patch::Set(text) => too_long(Some(text)),
            _ => false,
        };
        patch.reflection.apply(&mut row.reflection);
        row.reflection = row
            .reflection
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty());
        let evidence = patch.evidence.unwrap_or_else(|| row.evidence());
        let errors = check(
            conn,
            person_id,
            &framework,
            row.level,
            row.achieved_on,
            row.reflection.as_deref(),
            &evidence,
        )?;
        let mut errors = errors;
        refuse_long_reflection(&mut errors, sent_too_long);
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        row.evidence = Json::of(&evidence);
        row.status = AttainmentStatus::SelfAssessed.as_str().into();
        row.verification_id = None;
        if !unchanged_since_read {
            return Err(Error::PreconditionFailed);
        }
        let read_version = row.version;
        row.version += 1;
        row.updated_at = Timestamp::now();
        let rows = store::write_over(conn, &row, read_version)?;
        etag::written(rows)?;
        view(conn, row)
    })
}
