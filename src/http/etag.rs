//! Entity tags and `If-Match`, so that two apps editing one resource cannot silently overwrite
//! each other's changes.

use actix_web::HttpRequest;
use actix_web::http::header;

use crate::error::Error;

/// The ETag of a version of a resource.
pub fn of(id: impl Into<uuid::Uuid>, version: i32) -> String {
    format!("\"{}-{version}\"", id.into().simple())
}

/// What an `If-Match` header asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// No header, or `*`: any current version.
    Any,
    /// Only if the current ETag is one of these.
    OneOf(Vec<String>),
}

impl Precondition {
    pub fn from_request(req: &HttpRequest) -> Self {
        let values: Vec<String> = req
            .headers()
            .get_all(header::IF_MATCH)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect();
        if values.is_empty() || values.iter().any(|v| v == "*") {
            Precondition::Any
        } else {
            Precondition::OneOf(values)
        }
    }

    /// Whether a resource at this version may be changed.
    pub fn allows(&self, id: impl Into<uuid::Uuid>, version: i32) -> bool {
        match self {
            Precondition::Any => true,
            Precondition::OneOf(tags) => {
                let current = of(id, version);
                // If-Match uses strong comparison: a weak tag never matches.
                tags.contains(&current)
            }
        }
    }
}

/// The outcome of a write made conditional on the version it read (`WHERE version = read`):
/// no row written means another writer changed the resource in between, and this write is
/// refused as a stale `If-Match` is. So of two writers holding the same ETag exactly one wins,
/// on PostgreSQL's READ COMMITTED as on SQLite, and a write without `If-Match` never silently
/// undoes a change it did not see.
pub fn written(rows: usize) -> Result<(), Error> {
    if rows == 0 {
        Err(Error::PreconditionFailed)
    } else {
        Ok(())
    }
}
