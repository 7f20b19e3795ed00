//! Attainments: a person's evidenced claims to learning outcomes, verified by organisations
//! that hold a live write grant from them.

pub mod handlers;
pub mod model;
mod verification;

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;

pub use model::*;
pub use verification::{Verifier, progress, verify};

use crate::db::schema::{attainment_verifications, attainments, organisations};
use crate::db::types::{Id, Json, Timestamp};
use crate::db::{DbConnection, transaction};
use crate::error::{Error, FieldError};
use crate::frameworks::{self, Framework};
use crate::http::etag::{self, Precondition};
use crate::http::pagination::{List, Page};
use crate::records::SharedScope;
use crate::records::model::is_https_url;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = attainments)]
pub struct AttainmentRow {
    pub id: Id,
    pub person_id: Id,
    pub framework_code: String,
    pub framework_version: String,
    pub outcome_code: String,
    pub domain_code: String,
    pub level: i32,
    pub achieved_on: NaiveDate,
    pub reflection: Option<String>,
    pub evidence: Json,
    pub status: String,
    pub verification_id: Option<Id>,
    pub version: i32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = attainment_verifications)]
struct VerificationRow {
    id: Id,
    attainment_id: Id,
    organisation_id: Id,
    assessor_name: String,
    assessor_role: String,
    level: i32,
    comment: Option<String>,
    verified_at: Timestamp,
}

impl AttainmentRow {
    pub fn evidence(&self) -> AttainmentEvidence {
        self.evidence.parse().unwrap_or_default()
    }

    pub fn is_verified(&self) -> bool {
        self.status == AttainmentStatus::Verified.as_str()
    }
}

const MAX_RECORD_EVIDENCE: usize = 50;
const MAX_LINKS: usize = 20;

/// The verifications of some attainments, newest first: one query.
pub(crate) fn verifications(
    conn: &mut DbConnection,
    ids: &[Id],
) -> Result<HashMap<Id, Vec<(Id, Verification)>>, Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(VerificationRow, String)> = attainment_verifications::table
        .inner_join(organisations::table)
        .filter(attainment_verifications::attainment_id.eq_any(ids))
        .order(attainment_verifications::id.desc())
        .select((VerificationRow::as_select(), organisations::name))
        .load(conn)?;
    let mut map: HashMap<Id, Vec<(Id, Verification)>> = HashMap::new();
    for (row, organisation_name) in rows {
        map.entry(row.attainment_id).or_default().push((
            row.id,
            Verification {
                organisation_id: row.organisation_id.0,
                organisation_name,
                assessor_name: row.assessor_name,
                assessor_role: row.assessor_role,
                level: row.level,
                comment: row.comment,
                verified_at: row.verified_at.0,
            },
        ));
    }
    Ok(map)
}

pub(crate) fn views(
    conn: &mut DbConnection,
    rows: Vec<AttainmentRow>,
    evidence_filter: Option<&HashSet<Id>>,
) -> Result<Vec<Attainment>, Error> {
    let ids: Vec<Id> = rows.iter().map(|r| r.id).collect();
    let mut all = verifications(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let history = all.remove(&row.id).unwrap_or_default();
            let current = row.verification_id.and_then(|v| {
                history
                    .iter()
                    .find(|(id, _)| *id == v)
                    .map(|(_, x)| x.clone())
            });
            let mut evidence = row.evidence();
            if let Some(visible) = evidence_filter {
                evidence.record_ids.retain(|id| visible.contains(&Id(*id)));
            }
            Attainment {
                id: row.id.0,
                framework: FrameworkRef {
                    code: row.framework_code.clone(),
                    version: row.framework_version.clone(),
                },
                outcome_code: row.outcome_code.clone(),
                domain_code: row.domain_code.clone(),
                level: row.level,
                achieved_on: row.achieved_on,
                reflection: row.reflection.clone(),
                evidence,
                status: if row.is_verified() {
                    AttainmentStatus::Verified
                } else {
                    AttainmentStatus::SelfAssessed
                },
                verification: current,
                verification_history: history.into_iter().map(|(_, v)| v).collect(),
                created_at: row.created_at.0,
                updated_at: row.updated_at.0,
                version: row.version,
            }
        })
        .collect())
}

pub fn view(conn: &mut DbConnection, row: AttainmentRow) -> Result<Attainment, Error> {
    Ok(views(conn, vec![row], None)?.remove(0))
}

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
    person_id: Id,
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
    person_id: Id,
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
    let held: i64 = attainments::table
        .filter(attainments::person_id.eq(person_id))
        .count()
        .get_result(conn)?;
    if held >= MAX_PER_PERSON {
        return Err(Error::Conflict(format!(
            "a passport holds at most {MAX_PER_PERSON} attainments: delete some you no longer need first"
        )));
    }
    let now = Timestamp::now();
    let row = AttainmentRow {
        id: Id::new(),
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
    diesel::insert_into(attainments::table)
        .values(&row)
        .execute(conn)?;
    view(conn, row)
}

/// The most attainments one passport holds.
pub const MAX_PER_PERSON: i64 = 5_000;

pub(crate) fn filtered(
    person_id: Id,
    filter: &AttainmentFilter,
) -> attainments::BoxedQuery<'static, crate::db::MultiBackend> {
    let mut query = attainments::table
        .filter(attainments::person_id.eq(person_id))
        .into_boxed();
    if let Some(code) = &filter.framework {
        query = query.filter(attainments::framework_code.eq(code.clone()));
        if let Some(version) = &filter.version {
            query = query.filter(attainments::framework_version.eq(version.clone()));
        }
    }
    if let Some(domain) = &filter.domain {
        query = query.filter(attainments::domain_code.eq(domain.clone()));
    }
    if let Some(status) = filter.status {
        query = query.filter(attainments::status.eq(status.as_str()));
    }
    query
}

/// A person's attainments, newest first.
pub fn list(
    conn: &mut DbConnection,
    person_id: Id,
    filter: &AttainmentFilter,
    page: Page,
) -> Result<List<Attainment>, Error> {
    let mut query = filtered(person_id, filter)
        .select(AttainmentRow::as_select())
        .order(attainments::id.desc())
        .limit(page.limit + 1);
    if let Some(after) = page.after {
        query = query.filter(attainments::id.lt(after));
    }
    let rows: Vec<AttainmentRow> = query.load(conn)?;
    let list = List::from_rows(rows, page, |r| r.id);
    Ok(List {
        items: views(conn, list.items, None)?,
        next_cursor: list.next_cursor,
    })
}

fn row(conn: &mut DbConnection, person_id: Id, id: Id) -> Result<AttainmentRow, Error> {
    attainments::table
        .filter(attainments::id.eq(id))
        .filter(attainments::person_id.eq(person_id))
        .select(AttainmentRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::NotFound("no such attainment".into()))
}

pub fn get(conn: &mut DbConnection, person_id: Id, id: Id) -> Result<Attainment, Error> {
    let row = row(conn, person_id, id)?;
    view(conn, row)
}

/// Changes an attainment if it is still at a version the caller has seen; a verified one
/// returns to `self_assessed`.
pub fn update(
    conn: &mut DbConnection,
    person_id: Id,
    id: Id,
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
        let rows = diesel::update(
            attainments::table
                .find(row.id)
                .filter(attainments::version.eq(read_version)),
        )
        .set((
            attainments::level.eq(row.level),
            attainments::achieved_on.eq(row.achieved_on),
            attainments::reflection.eq(&row.reflection),
            attainments::evidence.eq(&row.evidence),
            attainments::status.eq(&row.status),
            attainments::verification_id.eq(row.verification_id),
            attainments::version.eq(row.version),
            attainments::updated_at.eq(row.updated_at),
        ))
        .execute(conn)?;
        etag::written(rows)?;
        view(conn, row)
    })
}

pub fn delete(
    conn: &mut DbConnection,
    person_id: Id,
    id: Id,
    precondition: &Precondition,
) -> Result<(), Error> {
    transaction(conn, |conn| {
        let row = row(conn, person_id, id)?;
        if !precondition.allows(row.id, row.version) {
            return Err(Error::PreconditionFailed);
        }
        let rows = diesel::delete(
            attainments::table
                .find(row.id)
                .filter(attainments::version.eq(row.version)),
        )
        .execute(conn)?;
        etag::written(rows)
    })
}

/// A person's attainments as an organisation sees them: evidence records appear only where the
/// organisation's record scope covers them (and never hidden or voided ones).
pub fn shared(
    conn: &mut DbConnection,
    person_id: Id,
    scope: &SharedScope,
    page: Page,
) -> Result<List<Attainment>, Error> {
    let mut query = filtered(person_id, &AttainmentFilter::default())
        .select(AttainmentRow::as_select())
        .order(attainments::id.desc())
        .limit(page.limit + 1);
    if let Some(after) = page.after {
        query = query.filter(attainments::id.lt(after));
    }
    let rows: Vec<AttainmentRow> = query.load(conn)?;
    let list = List::from_rows(rows, page, |r| r.id);
    let evidence: Vec<Id> = list
        .items
        .iter()
        .flat_map(|r| r.evidence().record_ids.into_iter().map(Id))
        .collect();
    let visible = crate::records::shared::covered(conn, person_id, &evidence, scope)?;
    Ok(List {
        items: views(conn, list.items, Some(&visible))?,
        next_cursor: list.next_cursor,
    })
}
