//! The `records` table as its owner sees it: reading, adding, changing and deleting one's own
//! records, and the bounds on how many one passport holds.

use crate::db::ids::{PersonId, RecordId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::IntoParams;

use super::model::*;
use super::patch::RecordPatch;
use super::row::{RecordRow, RecordWithIssuer};
use super::shared::{SharedScope, Viewer};
use crate::auth::tokens::PersonIdentity;
use crate::db::DbConnection;
use crate::db::schema::{organisations, people, records};
use crate::db::types::Timestamp;
use crate::error::{Error, FieldError};
use crate::http::etag::{self, Precondition};
use crate::http::pagination::{List, Page};
use crate::outbox::{self, Event, RecordChange};

/// Filters of a record list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecordFilter {
    /// Only records of this kind.
    pub kind: Option<RecordKind>,
    /// Only records with this activity code.
    pub activity_code: Option<String>,
    /// Only records completed at or after this time.
    pub completed_from: Option<DateTime<Utc>>,
    /// Only records completed before this time.
    pub completed_to: Option<DateTime<Utc>>,
}

impl RecordFilter {
    /// Whether nothing is filtered. Every field is named, so that a new filter cannot be
    /// forgotten here (the unfiltered list would then ignore it).
    fn is_empty(&self) -> bool {
        let RecordFilter {
            kind,
            activity_code,
            completed_from,
            completed_to,
        } = self;
        kind.is_none()
            && activity_code.is_none()
            && completed_from.is_none()
            && completed_to.is_none()
    }
}

/// Lists one person's records, newest first: one indexed query, whatever the viewer.
pub fn list(
    conn: &mut DbConnection,
    person_id: PersonId,
    viewer: Viewer<'_>,
    filter: &RecordFilter,
    page: Page<RecordId>,
) -> Result<List<RecordWithIssuer>, Error> {
    let everything = match viewer {
        Viewer::Owner => Some(false),
        Viewer::Organisation(scope) if scope.all => Some(true),
        Viewer::Organisation(_) => None,
    };
    if let (Some(shared), true) = (everything, filter.is_empty()) {
        let rows = unfiltered(conn, person_id, shared, &page)?;
        return Ok(List::from_rows(rows, &page, |(row, _)| row.id));
    }
    let mut query = records::table
        .left_join(organisations::table)
        .filter(records::person_id.eq(person_id))
        .select((RecordRow::as_select(), organisations::name.nullable()))
        .order(records::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Viewer::Organisation(scope) = viewer {
        query = query
            .filter(records::hidden.eq(false))
            .filter(records::voided_at.is_null());
        if !scope.all {
            query = query.filter(
                records::kind
                    .eq_any(scope.kinds.clone())
                    .nullable()
                    .or(records::activity_code.eq_any(scope.activity_codes.clone()))
                    .or(records::id.eq_any(scope.record_ids.clone()).nullable()),
            );
        }
    }
    if let Some(kind) = filter.kind {
        query = query.filter(records::kind.eq(kind.as_str()));
    }
    if let Some(code) = &filter.activity_code {
        query = query.filter(records::activity_code.eq(code.clone()));
    }
    if let Some(from) = filter.completed_from {
        query = query.filter(records::completed_at.ge(Timestamp::from(from)));
    }
    if let Some(to) = filter.completed_to {
        query = query.filter(records::completed_at.lt(Timestamp::from(to)));
    }
    if let Some(after) = page.after {
        query = query.filter(records::id.lt(after));
    }
    let rows: Vec<RecordWithIssuer> = query.load(conn)?;
    Ok(List::from_rows(rows, &page, |(row, _)| row.id))
}

/// The list as it is read most often, a page of everything the viewer may see with nothing
/// filtered, as statements of a fixed shape: the connection prepares each once and keeps it,
/// where the filtered list is built anew (and parsed and planned anew) on every call.
fn unfiltered(
    conn: &mut DbConnection,
    person_id: PersonId,
    shared: bool,
    page: &Page<RecordId>,
) -> QueryResult<Vec<RecordWithIssuer>> {
    // On the backend's own connection: the hottest read of all (see `db::on_backend`). The
    // select names its backend, so the statement is written out in each arm.
    crate::on_backend!(conn, |c| {
        let all = records::table
            .left_join(organisations::table)
            .filter(records::person_id.eq(person_id))
            .select((RecordRow::as_select(), organisations::name.nullable()))
            .order(records::id.desc())
            .limit(page.limit + 1);
        let visible = records::hidden.eq(false).and(records::voided_at.is_null());
        match (shared, page.after) {
            (false, None) => all.load(c),
            (false, Some(after)) => all.filter(records::id.lt(after)).load(c),
            (true, None) => all.filter(visible).load(c),
            (true, Some(after)) => all.filter(visible).filter(records::id.lt(after)).load(c),
        }
    })
}

/// The caller's own records, newest first. A page of everything with nothing filtered (the
/// owner's most frequent read) is found by their identity in the statement that reads it, with
/// no lookup of the passport first. The passport is looked up (and created, at a person's first
/// request) only when that finds nothing, or when the list is filtered.
pub fn list_own(
    conn: &mut DbConnection,
    identity: &PersonIdentity,
    filter: &RecordFilter,
    page: Page<RecordId>,
) -> Result<List<RecordWithIssuer>, Error> {
    if !filter.is_empty() {
        let person_id = crate::people::resolve(conn, identity)?;
        return list(conn, person_id, Viewer::Owner, filter, page);
    }
    let rows = own_by_identity(conn, identity, &page)?;
    if rows.is_empty() {
        // A first request, a passport with no records or a page past the end: the passport is
        // found, or created, all the same.
        crate::people::resolve(conn, identity)?;
    }
    Ok(List::from_rows(rows, &page, |(row, _)| row.id))
}

/// A page of everything the caller holds, found by their identity in the same statement.
fn own_by_identity(
    conn: &mut DbConnection,
    identity: &PersonIdentity,
    page: &Page<RecordId>,
) -> QueryResult<Vec<RecordWithIssuer>> {
    // A scalar subquery, which the database runs once, before the records' index is searched
    // by its value: the same plan as the list by id.
    crate::on_backend!(conn, |c| {
        let person = people::table
            .filter(people::issuer.eq(&identity.issuer))
            .filter(people::subject.eq(&identity.subject))
            .select(people::id)
            .single_value();
        let all = records::table
            .left_join(organisations::table)
            .filter(records::person_id.nullable().eq(person))
            .select((RecordRow::as_select(), organisations::name.nullable()))
            .order(records::id.desc())
            .limit(page.limit + 1);
        match page.after {
            None => all.load(c),
            Some(after) => all.filter(records::id.lt(after)).load(c),
        }
    })
}

fn not_found() -> Error {
    Error::NotFound("no such record".into())
}

/// One of a person's records; another person's record is "not found".
pub fn get(
    conn: &mut DbConnection,
    person_id: PersonId,
    id: RecordId,
) -> Result<RecordWithIssuer, Error> {
    records::table
        .left_join(organisations::table)
        .filter(records::id.eq(id))
        .filter(records::person_id.eq(person_id))
        .select((RecordRow::as_select(), organisations::name.nullable()))
        .first(conn)
        .optional()?
        .ok_or_else(not_found)
}

/// An error for every id among `ids` that is not one of the person's records, each named
/// `{field}[i]`: one query.
pub fn not_owned(
    conn: &mut DbConnection,
    person_id: PersonId,
    ids: &[uuid::Uuid],
    field: &str,
) -> Result<Vec<FieldError>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<RecordId> = ids.iter().map(|id| RecordId(*id)).collect();
    let own: Vec<RecordId> = records::table
        .filter(records::person_id.eq(person_id))
        .filter(records::id.eq_any(&ids))
        .select(records::id)
        .load(conn)?;
    Ok(ids
        .iter()
        .enumerate()
        .filter(|(_, id)| !own.contains(id))
        .map(|(i, _)| FieldError::new(format!("{field}[{i}]"), "is not one of your records"))
        .collect())
}

/// The kind and activity code of each of these records that is the person's.
pub fn kinds_and_codes(
    conn: &mut DbConnection,
    person_id: PersonId,
    ids: &[uuid::Uuid],
) -> Result<Vec<(RecordId, String, Option<String>)>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<RecordId> = ids.iter().map(|id| RecordId(*id)).collect();
    Ok(records::table
        .filter(records::person_id.eq(person_id))
        .filter(records::id.eq_any(&ids))
        .select((records::id, records::kind, records::activity_code))
        .load(conn)?)
}

/// The most records one passport holds: a working life of training many times over, and a
/// bound on what one person's data can cost every query about them.
pub const MAX_PER_PERSON: i64 = 10_000;

/// How many records each of these people holds: one query.
pub fn counts(
    conn: &mut DbConnection,
    people: &[PersonId],
) -> Result<std::collections::HashMap<PersonId, i64>, Error> {
    if people.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(PersonId, i64)> = records::table
        .filter(records::person_id.eq_any(people))
        .group_by(records::person_id)
        .select((records::person_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

fn passport_full() -> Error {
    Error::Conflict(format!(
        "a passport holds at most {MAX_PER_PERSON} records: delete some you no longer need first"
    ))
}

/// Stores a new self-declared record. With an activity code from the catalogue and no explicit
/// expiry, the expiry follows from the completion and the activity's refresher period.
pub fn create(
    conn: &mut DbConnection,
    person_id: PersonId,
    content: RecordContent,
) -> Result<RecordRow, Error> {
    content.validate(Utc::now()).map_err(Error::Validation)?;
    if counts(conn, &[person_id])?
        .get(&person_id)
        .copied()
        .unwrap_or(0)
        >= MAX_PER_PERSON
    {
        return Err(passport_full());
    }
    let mut content = content.normalised();
    if let (None, Some(code), Some(completed)) = (
        content.learning.expires_at,
        content.learning.activity_code.clone(),
        content.learning.completed_at,
    ) {
        let catalogue = crate::activities::lookup(conn, std::slice::from_ref(&code))?;
        content.learning.expires_at = crate::activities::expiry(
            completed,
            catalogue.get(&code).and_then(|a| a.refresher_months),
        );
    }
    let row = RecordRow::new(person_id, content, Provenance::SelfDeclared);
    diesel::insert_into(records::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

/// Writes a changed row over the stored one if it is still at `read_version`; answers how many
/// rows were written (none when another change came first).
pub(super) fn write_over(
    conn: &mut DbConnection,
    row: &RecordRow,
    read_version: i32,
) -> Result<usize, Error> {
    Ok(diesel::update(
        records::table
            .find(row.id)
            .filter(records::version.eq(read_version)),
    )
    .set(row.changes())
    .execute(conn)?)
}

/// Some of a person's records, by id, voided ones included: one query.
pub fn some_of(
    conn: &mut DbConnection,
    person_id: PersonId,
    ids: &[RecordId],
) -> Result<Vec<RecordWithIssuer>, Error> {
    Ok(records::table
        .left_join(organisations::table)
        .filter(records::person_id.eq(person_id))
        .filter(records::id.eq_any(ids))
        .select((RecordRow::as_select(), organisations::name.nullable()))
        .load(conn)?)
}

/// Applies a patch to one of a person's records, if it is still at a version the caller has
/// seen. The whole record is checked again after the change.
pub fn update(
    conn: &mut DbConnection,
    person_id: PersonId,
    id: RecordId,
    patch: RecordPatch,
    precondition: &Precondition,
) -> Result<RecordWithIssuer, Error> {
    crate::db::transaction(conn, |conn| {
        let (mut row, issuer) = get(conn, person_id, id)?;
        let (content_before, hidden_before) = (row.content(), row.hidden);
        // The body is checked first: a malformed change is refused as such, whatever its ETag.
        let unchanged_since_read = precondition.allows(row.id, row.version);
        let hidden = patch.hidden;
        if row.provenance() == Provenance::Issued {
            let touched = patch.touched();
            if !touched.is_empty() {
                return Err(Error::Validation(
                    touched
                        .into_iter()
                        .map(|f| FieldError::new(f, "an issued record cannot be edited by its owner; only `hidden` may change"))
                        .collect(),
                ));
            }
        } else {
            let mut content = row.content();
            patch.apply(&mut content).map_err(Error::Validation)?;
            content.validate(Utc::now()).map_err(Error::Validation)?;
            row.set_content(content);
        }
        if let Some(hidden) = hidden {
            row.hidden = hidden;
        }
        if !unchanged_since_read {
            return Err(Error::PreconditionFailed);
        }
        let read_version = row.version;
        row.version += 1;
        row.updated_at = Timestamp::now();
        let rows = write_over(conn, &row, read_version)?;
        etag::written(rows)?;
        if row.content() != content_before || row.hidden != hidden_before {
            outbox::record(
                conn,
                Event::Record {
                    change: RecordChange::Updated,
                    record: row.facts(),
                    changed_by: None,
                },
            )?;
        }
        Ok((row, issuer))
    })
}

/// Deletes one of a person's self-declared records.
pub fn delete(
    conn: &mut DbConnection,
    person_id: PersonId,
    id: RecordId,
    precondition: &Precondition,
) -> Result<(), Error> {
    crate::db::transaction(conn, |conn| {
        let (row, _) = get(conn, person_id, id)?;
        if row.provenance() == Provenance::Issued {
            return Err(Error::Conflict(
                "an issued record cannot be deleted by its owner; hide it with PATCH {\"hidden\": true} instead".into(),
            ));
        }
        if !precondition.allows(row.id, row.version) {
            return Err(Error::PreconditionFailed);
        }
        let rows = diesel::delete(
            records::table
                .find(row.id)
                .filter(records::version.eq(row.version)),
        )
        .execute(conn)?;
        etag::written(rows)
    })
}

/// One record of a person's that an organisation's grants cover.
pub fn get_shared(
    conn: &mut DbConnection,
    person_id: PersonId,
    id: RecordId,
    scope: &SharedScope,
) -> Result<Option<RecordWithIssuer>, Error> {
    let found = get(conn, person_id, id).map(Some).or_else(|e| match e {
        Error::NotFound(_) => Ok(None),
        other => Err(other),
    })?;
    Ok(found.filter(|(row, _)| scope.covers(row)))
}
