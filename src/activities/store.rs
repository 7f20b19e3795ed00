//! The `activities` table: the catalogue's rows and every query on them.

use std::collections::HashMap;

use diesel::prelude::*;

use super::{Activity, ActivityFilter};
use crate::db::DbConnection;
use crate::db::schema::activities;
use crate::db::types::Timestamp;
use crate::error::Error;
use crate::http::pagination::{List, Page};
use crate::records::RecordKind;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = activities)]
pub struct ActivityRow {
    pub code: String,
    pub title: String,
    pub kind: String,
    pub level: Option<String>,
    pub refresher_months: Option<i32>,
    pub publisher: String,
    pub source: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<ActivityRow> for Activity {
    fn from(row: ActivityRow) -> Self {
        Activity {
            kind: RecordKind::parse(&row.kind).unwrap_or(RecordKind::Other),
            code: row.code,
            title: row.title,
            level: row.level,
            refresher_months: row.refresher_months,
            publisher: row.publisher,
            source: row.source,
        }
    }
}

/// The catalogue, by code.
pub fn search(
    conn: &mut DbConnection,
    filter: &ActivityFilter,
    page: &Page<String>,
) -> Result<List<Activity>, Error> {
    let mut query = activities::table
        .select(ActivityRow::as_select())
        .order(activities::code.asc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        if q.chars().count() > 200 {
            return Err(Error::invalid("q", "must be at most 200 characters"));
        }
        let escaped = q
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let pattern = format!("%{escaped}%");
        query = query.filter(
            lower(activities::code)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(activities::title).like(pattern).escape('\\')),
        );
    }
    if let Some(kind) = filter.kind {
        query = query.filter(activities::kind.eq(kind.as_str()));
    }
    if let Some(after) = &page.after {
        query = query.filter(activities::code.gt(after.clone()));
    }
    let rows: Vec<ActivityRow> = query.load(conn)?;
    Ok(List::from_rows(rows, page, |r| r.code.clone()).map(Activity::from))
}

pub fn get(conn: &mut DbConnection, code: &str) -> Result<Activity, Error> {
    activities::table
        .find(code)
        .select(ActivityRow::as_select())
        .first(conn)
        .optional()?
        .map(Activity::from)
        .ok_or_else(|| Error::NotFound("no such activity".into()))
}

/// The catalogue entries for a set of codes, in one query.
pub fn lookup(
    conn: &mut DbConnection,
    codes: &[String],
) -> Result<HashMap<String, ActivityRow>, Error> {
    if codes.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<ActivityRow> = match conn {
        // One statement shape whatever the list's length (see `db::OneOf`).
        DbConnection::Sqlite(c) => activities::table
            .filter(crate::db::one_of(activities::code, codes.iter().cloned()))
            .select(ActivityRow::as_select())
            .load(c)?,
        DbConnection::Postgres(c) => activities::table
            .filter(activities::code.eq_any(codes))
            .select(ActivityRow::as_select())
            .load(c)?,
    };
    Ok(rows.into_iter().map(|r| (r.code.clone(), r)).collect())
}

/// The kind of each catalogued code among `codes`, in one query: what a compliance check needs
/// of the catalogue, on every check, without the rest of each row.
pub fn kinds(conn: &mut DbConnection, codes: &[String]) -> Result<HashMap<String, String>, Error> {
    if codes.is_empty() {
        return Ok(HashMap::new());
    }
    let pairs: Vec<(String, String)> = match conn {
        // One statement shape whatever the list's length (see `db::OneOf`).
        DbConnection::Sqlite(c) => activities::table
            .filter(crate::db::one_of(activities::code, codes.iter().cloned()))
            .select((activities::code, activities::kind))
            .load(c)?,
        DbConnection::Postgres(c) => activities::table
            .filter(activities::code.eq_any(codes))
            .select((activities::code, activities::kind))
            .load(c)?,
    };
    Ok(pairs.into_iter().collect())
}

/// Adds an activity, or replaces one with the same code, keeping when it was first added;
/// answers the stored row and whether it is new.
pub fn upsert(conn: &mut DbConnection, mut row: ActivityRow) -> Result<(ActivityRow, bool), Error> {
    crate::db::transaction(conn, |conn| {
        let existing: Option<Timestamp> = activities::table
            .find(&row.code)
            .select(activities::created_at)
            .first(conn)
            .optional()?;
        if let Some(created_at) = existing {
            row.created_at = created_at;
            diesel::update(activities::table.find(&row.code))
                .set((
                    activities::title.eq(&row.title),
                    activities::kind.eq(&row.kind),
                    activities::level.eq(&row.level),
                    activities::refresher_months.eq(row.refresher_months),
                    activities::publisher.eq(&row.publisher),
                    activities::source.eq(&row.source),
                    activities::updated_at.eq(row.updated_at),
                ))
                .execute(conn)?;
        } else {
            diesel::insert_into(activities::table)
                .values(&row)
                .execute(conn)?;
        }
        Ok((row, existing.is_none()))
    })
}
