//! Learning platforms push completions: issued records, idempotent by the platform's own id.

mod corrections;
pub mod handlers;
mod ingest;
pub mod model;

use std::collections::HashMap;

use diesel::prelude::*;

pub use corrections::{correct, history, void};
pub use ingest::push;
pub use model::*;

use crate::db::DbConnection;
use crate::db::schema::{organisations, record_history, records};
use crate::db::types::{Id, Json, Timestamp};
use crate::error::Error;
use crate::outbox::{self, Event, RecordChange};
use crate::records::model::RecordContent;
use crate::records::store::RecordRow;

/// The pushing organisation.
#[derive(Debug, Clone)]
pub struct Issuer {
    pub organisation_id: Id,
    pub client_id: String,
}

/// The organisation's existing records for these external ids: one query.
pub(crate) fn existing(
    conn: &mut DbConnection,
    organisation_id: Id,
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

#[derive(Insertable)]
#[diesel(table_name = record_history)]
pub(crate) struct HistoryRow {
    id: Id,
    record_id: Id,
    version: i32,
    content: Json,
    change: String,
    changed_by: Option<Id>,
    changed_at: Timestamp,
}

/// The most earlier versions one record keeps: an issuer cannot grow one record's history
/// without bound. Voiding is always possible.
pub const MAX_VERSIONS: i64 = 500;

/// What became of a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Changed {
    Applied,
    /// The record changed meanwhile (another push won the race).
    Raced,
    /// The record has [`MAX_VERSIONS`] earlier versions already.
    TooManyVersions,
}

/// Replaces a record's content (or voids it), keeping the previous version in its history.
pub(crate) fn change(
    conn: &mut DbConnection,
    row: &RecordRow,
    content: Option<RecordContent>,
    void_reason: Option<&str>,
    how: &str,
    by: Id,
) -> Result<Changed, Error> {
    if void_reason.is_none() {
        let versions: i64 = record_history::table
            .filter(record_history::record_id.eq(row.id))
            .count()
            .get_result(conn)?;
        if versions >= MAX_VERSIONS {
            return Ok(Changed::TooManyVersions);
        }
    }
    let now = Timestamp::now();
    let mut next = row.clone();
    if let Some(content) = content {
        next.set_content(content);
    }
    let updated = diesel::update(
        records::table
            .find(row.id)
            .filter(records::version.eq(row.version)),
    )
    .set((
        records::kind.eq(&next.kind),
        records::title.eq(&next.title),
        records::activity_code.eq(&next.activity_code),
        records::provider_name.eq(&next.provider_name),
        records::started_at.eq(next.started_at),
        records::completed_at.eq(next.completed_at),
        records::expires_at.eq(next.expires_at),
        records::result.eq(&next.result),
        records::score.eq(next.score),
        records::hours.eq(next.hours),
        records::evidence.eq(&next.evidence),
        records::voided_at.eq(if void_reason.is_some() {
            Some(now)
        } else {
            row.voided_at
        }),
        records::void_reason.eq(void_reason
            .map(str::to_owned)
            .or_else(|| row.void_reason.clone())),
        records::version.eq(row.version + 1),
        records::updated_at.eq(now),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Ok(Changed::Raced);
    }
    // Voided: those who could read it hear; changed: those who can read it now.
    let (change, facts) = match void_reason {
        Some(_) => (RecordChange::Voided, row.facts()),
        None => (RecordChange::Updated, next.facts()),
    };
    outbox::record(
        conn,
        Event::Record {
            change,
            record: facts,
            changed_by: Some(by),
        },
    )?;
    diesel::insert_into(record_history::table)
        .values(&HistoryRow {
            id: Id::new(),
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

pub(crate) fn issuer_name(conn: &mut DbConnection, organisation_id: Id) -> Result<String, Error> {
    Ok(organisations::table
        .find(organisation_id)
        .select(organisations::name)
        .first(conn)?)
}
