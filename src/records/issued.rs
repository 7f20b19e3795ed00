//! Records as their issuer keeps them: found by the issuer's own external ids, stored a batch at
//! a time, and changed (corrected, pushed again, voided) with every earlier version kept.

use crate::db::ids::{OrganisationId, PersonId, RecordId, RecordVersionId};
use std::collections::{HashMap, HashSet};

use diesel::prelude::*;

use super::model::{RecordContent, RecordVersion};
use super::row::RecordRow;
use super::store::write_over;
use crate::db::DbConnection;
use crate::db::schema::{record_history, records};
use crate::db::types::{Json, Timestamp};
use crate::error::Error;
use crate::http::pagination::{List, Page};
use crate::outbox::{self, Event, RecordChange};

/// The organisation's records under these external ids: one query.
pub fn by_external_ids(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    external_ids: &[String],
) -> Result<HashMap<String, RecordRow>, Error> {
    let rows: Vec<RecordRow> = records::table
        .filter(records::issuer_organisation_id.eq(organisation_id))
        .filter(records::external_id.eq_any(external_ids))
        .select(RecordRow::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| r.external_id.clone().map(|e| (e, r)))
        .collect())
}

/// The organisation's record under one external id.
pub fn by_external_id(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    external_id: &str,
) -> Result<Option<RecordRow>, Error> {
    Ok(records::table
        .filter(records::issuer_organisation_id.eq(organisation_id))
        .filter(records::external_id.eq(external_id))
        .select(RecordRow::as_select())
        .first(conn)
        .optional()?)
}

/// Inserts new issued records, skipping any whose external id another push stored meanwhile;
/// answers the external ids it stored.
pub fn insert_new(
    conn: &mut DbConnection,
    mut rows: Vec<RecordRow>,
) -> Result<HashSet<String>, Error> {
    rows.sort_by(|a, b| a.external_id.cmp(&b.external_id));
    let stored: Vec<Option<String>> =
        crate::insert_new!(conn, records::table, rows.as_slice(), records::external_id)?;
    Ok(stored.into_iter().flatten().collect())
}

#[derive(Insertable, Queryable, Selectable)]
#[diesel(table_name = record_history)]
struct HistoryRow {
    id: RecordVersionId,
    record_id: RecordId,
    version: i32,
    content: Json,
    change: String,
    changed_by: Option<OrganisationId>,
    changed_at: Timestamp,
}

/// The most earlier versions one record keeps: an issuer cannot grow one record's history
/// without bound. Voiding is always possible.
pub const MAX_VERSIONS: i64 = 500;

/// What became of a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changed {
    Applied,
    /// The record changed meanwhile (another push won the race).
    Raced,
    /// The record has [`MAX_VERSIONS`] earlier versions already.
    TooManyVersions,
}

/// What an issuer does to a record it issued.
#[derive(Debug, Clone)]
pub enum IssuerChange<'a> {
    /// New content, pushed again (`how` = "updated") or corrected ("corrected").
    Content {
        content: RecordContent,
        how: &'static str,
    },
    /// The record was issued in error.
    Void { reason: &'a str },
}

/// Applies an issuer's change to a record, if it is still as it was read, keeping the previous
/// version in its history; organisations that may read the record hear of it.
pub fn change(
    conn: &mut DbConnection,
    row: &RecordRow,
    change: IssuerChange<'_>,
    by: OrganisationId,
) -> Result<Changed, Error> {
    let now = Timestamp::now();
    let mut next = row.clone();
    next.version = row.version + 1;
    next.updated_at = now;
    let how = match change {
        IssuerChange::Content { content, how } => {
            if versions(conn, row.id)? >= MAX_VERSIONS {
                return Ok(Changed::TooManyVersions);
            }
            next.set_content(content);
            how
        }
        IssuerChange::Void { reason } => {
            next.voided_at = Some(now);
            next.void_reason = Some(reason.to_owned());
            "voided"
        }
    };
    if write_over(conn, &next, row.version)? == 0 {
        return Ok(Changed::Raced);
    }
    // Voided: those who could read it hear; changed: those who can read it now.
    let (event, facts) = match next.voided_at {
        Some(_) => (RecordChange::Voided, row.facts()),
        None => (RecordChange::Updated, next.facts()),
    };
    outbox::record(
        conn,
        Event::Record {
            change: event,
            record: facts,
            changed_by: Some(by),
        },
    )?;
    diesel::insert_into(record_history::table)
        .values(&HistoryRow {
            id: RecordVersionId::new(),
            record_id: row.id,
            version: row.version,
            content: Json::of(&row.content()),
            change: how.to_owned(),
            changed_by: Some(by),
            changed_at: now,
        })
        .execute(conn)?;
    Ok(Changed::Applied)
}

fn versions(conn: &mut DbConnection, record_id: RecordId) -> Result<i64, Error> {
    Ok(record_history::table
        .filter(record_history::record_id.eq(record_id))
        .count()
        .get_result(conn)?)
}

impl From<HistoryRow> for RecordVersion {
    fn from(row: HistoryRow) -> Self {
        RecordVersion {
            version: row.version,
            change: row.change,
            changed_by: row.changed_by.map(|i| i.0),
            changed_at: row.changed_at.0,
            content: row.content.0,
        }
    }
}

/// A page of a person's record's earlier versions, newest first. The order key is the version
/// number, which each change of the record raises, so a cursor is the last version served.
pub fn history(
    conn: &mut DbConnection,
    person_id: PersonId,
    record_id: RecordId,
    page: Page<i32>,
) -> Result<List<RecordVersion>, Error> {
    super::store::get(conn, person_id, record_id)?;
    let mut query = record_history::table
        .filter(record_history::record_id.eq(record_id))
        .order(record_history::version.desc())
        .select(HistoryRow::as_select())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(record_history::version.lt(after));
    }
    let rows: Vec<HistoryRow> = query.load(conn)?;
    Ok(List::from_rows(rows, &page, |row| row.version).map(RecordVersion::from))
}

/// The earlier versions of every record of a person's, newest first, by record: one query.
pub fn history_of_person(
    conn: &mut DbConnection,
    person_id: PersonId,
) -> Result<HashMap<RecordId, Vec<RecordVersion>>, Error> {
    let rows: Vec<HistoryRow> = record_history::table
        .inner_join(records::table)
        .filter(records::person_id.eq(person_id))
        .order(record_history::version.desc())
        .select(HistoryRow::as_select())
        .load(conn)?;
    let mut by_record: HashMap<RecordId, Vec<RecordVersion>> = HashMap::new();
    for row in rows {
        by_record
            .entry(row.record_id)
            .or_default()
            .push(RecordVersion::from(row));
    }
    Ok(by_record)
}
