//! Learning-outcomes frameworks: imported as data (our JSON format or a CASE 1.0 package),
//! several frameworks and versions side by side, each published version immutable.

pub mod case;
pub mod handlers;
pub mod model;

use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

pub use model::*;

use crate::db::DbConnection;
use crate::db::schema::frameworks;
use crate::db::types::{Json, Timestamp};
use crate::error::{Error, FieldError};
use crate::http::pagination::{KeyPage, List};

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

/// What an import did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Imported {
    pub framework: FrameworkSummary,
    /// Whether the version was new (false: the identical version was already there).
    pub created: bool,
    /// For CASE packages: what was mapped and what was left out.
    pub case: Option<case::CaseReport>,
}

/// Publishes a framework version. Publishing the identical document again changes nothing;
/// a different document under a published code and version is refused.
pub fn publish(conn: &mut DbConnection, framework: Framework) -> Result<(Framework, bool), Error> {
    let errors = framework.check();
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    crate::db::transaction(conn, |conn| {
        if let Some(existing) = find(conn, &framework.code, &framework.version)? {
            return if existing == framework {
                Ok((existing, false))
            } else {
                Err(Error::Conflict(format!(
                    "version {} of {} is published and cannot change; publish the changes as a new version",
                    framework.version, framework.code
                )))
            };
        }
        let row = FrameworkRow {
            code: framework.code.clone(),
            version: framework.version.clone(),
            title: framework.title.clone(),
            document: Json::of(&framework),
            created_at: Timestamp::now(),
        };
        diesel::insert_into(frameworks::table)
            .values(&row)
            .execute(conn)?;
        Ok((framework, true))
    })
}

/// Imports a file in our JSON format or a CASE 1.0 package (recognised by its `CFDocument`).
pub fn import(conn: &mut DbConnection, json: &str) -> Result<Imported, Error> {
    let value: serde_json::Value = crate::http::body::parse_json(json.as_bytes())?;
    let (framework, report) = if case::is_case(&value) {
        let (framework, report) = case::import(value)?;
        (framework, Some(report))
    } else {
        let framework: Framework = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let message = e.inner().to_string();
            let field = match message
                .strip_prefix("missing field `")
                .and_then(|r| r.split('`').next())
            {
                Some(name) if path == "." => name.to_owned(),
                Some(name) => format!("{path}.{name}"),
                None => path,
            };
            Error::Validation(vec![FieldError::new(field, message)])
        })?;
        (framework, None)
    };
    let (framework, created) = publish(conn, framework)?;
    Ok(Imported {
        framework: framework.summary(),
        created,
        case: report,
    })
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
pub fn list(conn: &mut DbConnection, page: &KeyPage) -> Result<List<FrameworkSummary>, Error> {
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
    let list = List::from_keyed_rows(rows, page, |r| format!("{}\n{}", r.code, r.version));
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
