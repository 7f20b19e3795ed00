//! The `attainments` table and their verifications: rows and every query on them.

use crate::db::ids::{AttainmentId, OrganisationId, PersonId, RecordId, VerificationId};
use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use diesel::prelude::*;

use super::{
    Attainment, AttainmentEvidence, AttainmentFilter, AttainmentStatus, FrameworkRef, Verification,
};
use crate::db::schema::{attainment_verifications, attainments, organisations};
use crate::db::types::{Json, Timestamp};
use crate::db::{DbConnection, transaction};
use crate::error::Error;
use crate::http::etag::{self, Precondition};
use crate::http::pagination::{List, Page};
use crate::records::SharedScope;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = attainments)]
pub struct AttainmentRow {
    pub id: AttainmentId,
    pub person_id: PersonId,
    pub framework_code: String,
    pub framework_version: String,
    pub outcome_code: String,
    pub domain_code: String,
    pub level: i32,
    pub achieved_on: NaiveDate,
    pub reflection: Option<String>,
    pub evidence: Json,
    pub status: String,
    pub verification_id: Option<VerificationId>,
    pub version: i32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = attainment_verifications)]
pub(crate) struct VerificationRow {
    pub(crate) id: VerificationId,
    pub(crate) attainment_id: AttainmentId,
    pub(crate) organisation_id: OrganisationId,
    pub(crate) assessor_name: String,
    pub(crate) assessor_role: String,
    pub(crate) level: i32,
    pub(crate) comment: Option<String>,
    pub(crate) verified_at: Timestamp,
}

impl AttainmentRow {
    pub fn evidence(&self) -> AttainmentEvidence {
        self.evidence.parse().unwrap_or_default()
    }

    pub fn is_verified(&self) -> bool {
        self.status == AttainmentStatus::Verified.as_str()
    }
}

/// The verifications of some attainments, newest first: one query.
pub(crate) fn verifications(
    conn: &mut DbConnection,
    ids: &[AttainmentId],
) -> Result<HashMap<AttainmentId, Vec<(VerificationId, Verification)>>, Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(VerificationRow, String)> = attainment_verifications::table
        .inner_join(organisations::table)
        .filter(attainment_verifications::attainment_id.eq_any(ids))
        .order(attainment_verifications::id.desc())
        .select((VerificationRow::as_select(), organisations::name))
        .load(conn)?;
    let mut map: HashMap<AttainmentId, Vec<(VerificationId, Verification)>> = HashMap::new();
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
    evidence_filter: Option<&HashSet<RecordId>>,
) -> Result<Vec<Attainment>, Error> {
    let ids: Vec<AttainmentId> = rows.iter().map(|r| r.id).collect();
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
                evidence
                    .record_ids
                    .retain(|id| visible.contains(&RecordId(*id)));
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

pub(crate) fn filtered(
    person_id: PersonId,
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

/// One page of a person's attainment rows, newest first.
fn page_of(
    conn: &mut DbConnection,
    person_id: PersonId,
    filter: &AttainmentFilter,
    page: Page<AttainmentId>,
) -> Result<List<AttainmentRow>, Error> {
    let mut query = filtered(person_id, filter)
        .select(AttainmentRow::as_select())
        .order(attainments::id.desc())
        .limit(page.limit + 1);
    if let Some(after) = page.after {
        query = query.filter(attainments::id.lt(after));
    }
    let rows: Vec<AttainmentRow> = query.load(conn)?;
    Ok(List::from_rows(rows, &page, |r| r.id))
}

/// A person's attainments, newest first.
pub fn list(
    conn: &mut DbConnection,
    person_id: PersonId,
    filter: &AttainmentFilter,
    page: Page<AttainmentId>,
) -> Result<List<Attainment>, Error> {
    let list = page_of(conn, person_id, filter, page)?;
    Ok(List {
        items: views(conn, list.items, None)?,
        next_cursor: list.next_cursor,
    })
}

/// How many attainments a person holds.
pub fn count(conn: &mut DbConnection, person_id: PersonId) -> Result<i64, Error> {
    Ok(attainments::table
        .filter(attainments::person_id.eq(person_id))
        .count()
        .get_result(conn)?)
}

pub(crate) fn row(
    conn: &mut DbConnection,
    person_id: PersonId,
    id: AttainmentId,
) -> Result<AttainmentRow, Error> {
    attainments::table
        .filter(attainments::id.eq(id))
        .filter(attainments::person_id.eq(person_id))
        .select(AttainmentRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::NotFound("no such attainment".into()))
}

pub fn get(
    conn: &mut DbConnection,
    person_id: PersonId,
    id: AttainmentId,
) -> Result<Attainment, Error> {
    let row = row(conn, person_id, id)?;
    view(conn, row)
}

pub fn delete(
    conn: &mut DbConnection,
    person_id: PersonId,
    id: AttainmentId,
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
    person_id: PersonId,
    scope: &SharedScope,
    page: Page<AttainmentId>,
) -> Result<List<Attainment>, Error> {
    let list = page_of(conn, person_id, &AttainmentFilter::default(), page)?;
    let evidence: Vec<RecordId> = list
        .items
        .iter()
        .flat_map(|r| r.evidence().record_ids.into_iter().map(RecordId))
        .collect();
    let visible = crate::records::shared::covered(conn, person_id, &evidence, scope)?;
    Ok(List {
        items: views(conn, list.items, Some(&visible))?,
        next_cursor: list.next_cursor,
    })
}

/// How many attainments a person holds.
pub fn held(conn: &mut DbConnection, person_id: PersonId) -> Result<i64, Error> {
    Ok(attainments::table
        .filter(attainments::person_id.eq(person_id))
        .count()
        .get_result(conn)?)
}

pub fn insert(conn: &mut DbConnection, row: &AttainmentRow) -> Result<(), Error> {
    diesel::insert_into(attainments::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Writes a changed attainment over the stored one if it is still at `read_version`; answers
/// how many rows were written.
pub fn write_over(
    conn: &mut DbConnection,
    row: &AttainmentRow,
    read_version: i32,
) -> Result<usize, Error> {
    Ok(diesel::update(
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
    .execute(conn)?)
}

/// A claim to an outcome, with the level a verification confirmed, if one did.
#[derive(Debug, Clone, Queryable)]
pub struct OutcomeClaim {
    pub id: AttainmentId,
    pub person_id: PersonId,
    pub framework_code: String,
    pub framework_version: String,
    pub outcome_code: String,
    pub level: i32,
    pub verified_level: Option<i32>,
}

/// These people's claims to these outcomes, each with the level its verification confirmed:
/// one query, whatever their number.
pub fn claims(
    conn: &mut DbConnection,
    people: &[PersonId],
    outcomes: &[String],
) -> Result<Vec<OutcomeClaim>, Error> {
    Ok(attainments::table
        .left_join(
            attainment_verifications::table.on(attainment_verifications::id
                .nullable()
                .eq(attainments::verification_id)),
        )
        .filter(attainments::person_id.eq_any(people))
        .filter(attainments::outcome_code.eq_any(outcomes))
        // In the order of `OutcomeClaim`'s fields.
        .select((
            attainments::id,
            attainments::person_id,
            attainments::framework_code,
            attainments::framework_version,
            attainments::outcome_code,
            attainments::level,
            attainment_verifications::level.nullable(),
        ))
        .load(conn)?)
}

/// One attainment, whoever holds it.
pub fn find(conn: &mut DbConnection, id: AttainmentId) -> Result<Option<AttainmentRow>, Error> {
    Ok(attainments::table
        .find(id)
        .select(AttainmentRow::as_select())
        .first(conn)
        .optional()?)
}

pub(crate) fn insert_verification(
    conn: &mut DbConnection,
    row: &VerificationRow,
) -> Result<(), Error> {
    diesel::insert_into(attainment_verifications::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}
