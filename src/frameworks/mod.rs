//! Learning-outcomes frameworks: imported as data (our JSON format or a CASE 1.0 package),
//! several frameworks and versions side by side, each published version immutable.

pub mod case;
pub mod handlers;
pub mod model;
pub mod store;

use serde::Serialize;
use utoipa::ToSchema;

pub use model::*;
pub use store::{find, get, list};

use crate::db::DbConnection;
use crate::error::{Error, FieldError};

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
        store::insert(conn, &framework)?;
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
