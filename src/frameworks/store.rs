//! The `frameworks` table: each published version, stored as its document.

use diesel::prelude::*;

use super::{Framework, FrameworkSummary};
use crate::db::DbConnection;
use crate::db::schema::frameworks;
use crate::db::types::{Json, Timestamp};
use crate::error::Error;
use crate::http::pagination::{List, Page};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = frameworks)]
struct FrameworkRow {
    code: String,
    version: String,
    title: String,
    document: Json,
    created_at: Timestamp,
}

impl FrameworkRow {
    fn framework(&self) -> Result<Framework, Error> {
        self.document.parse().map_err(|e| {
            Error::Internal(format!(
                "stored framework {}/{} unreadable: {e}",
                self.code, self.version
            ))
        })
    }
}

pub fn find(
    conn: &mut DbConnection,
    code: &str,
    version: &str,
) -> Result<Option<Framework>, Error> {
    let row: Option<FrameworkRow> = frameworks::table
        .filter(frameworks::code.eq(code))
        .filter(frameworks::version.eq(version))
        .select(FrameworkRow::as_select())
        .first(conn)
        .optional()?;
    row.map(|r| r.framework()).transpose()
}

pub fn get(conn: &mut DbConnection, code: &str, version: &str) -> Result<Framework, Error> {
    find(conn, code, version)?
        .ok_or_else(|| Error::NotFound(format!("no framework {code} version {version}")))
}

/// Every framework version, by code then version.
pub fn list(conn: &mut DbConnection, page: &Page<String>) -> Result<List<FrameworkSummary>, Error> {
    let mut query = frameworks::table
        .select(FrameworkRow::as_select())
        .order((frameworks::code.asc(), frameworks::version.asc()))
        .limit(page.limit + 1)
        .into_boxed();
    if let Some((code, version)) = page.after.as_deref().and_then(|a| a.split_once('\n')) {
        query = query.filter(
            frameworks::code.gt(code.to_owned()).or(frameworks::code
                .eq(code.to_owned())
                .and(frameworks::version.gt(version.to_owned()))),
        );
    }
    let rows: Vec<FrameworkRow> = query.load(conn)?;
    let list = List::from_rows(rows, page, |r| format!("{}\n{}", r.code, r.version));
    let items = list
        .items
        .iter()
        .map(|r| r.framework().map(|f| f.summary()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(List {
        items,
        next_cursor: list.next_cursor,
    })
}

/// Stores a new framework version.
pub fn insert(conn: &mut DbConnection, framework: &Framework) -> Result<(), Error> {
    let row = FrameworkRow {
        code: framework.code.clone(),
        version: framework.version.clone(),
        title: framework.title.clone(),
        document: Json::of(framework),
        created_at: Timestamp::now(),
    };
    diesel::insert_into(frameworks::table)
        .values(&row)
        .execute(conn)?;
    Ok(())
}
