//! Keyset pagination with opaque cursors.
//!
//! Lists are ordered by id, newest first; ids are time-ordered UUIDs, so a cursor is the id of
//! the last item served. Items created while a client pages through a list land before its
//! first page and never shift the pages it has yet to read.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::types::Id;
use crate::error::Error;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// `limit` and `cursor`, as every list takes them.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageRequest {
    /// How many items to answer (1 to 200, default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A validated page request.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub limit: i64,
    pub after: Option<Id>,
}

impl PageRequest {
    pub fn parse(&self) -> Result<Page, Error> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::invalid(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let after = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(cursor) => Some(decode(cursor)?),
        };
        Ok(Page { limit, after })
    }
}

/// A validated page request for lists ordered by a text key (e.g. a code).
#[derive(Debug, Clone)]
pub struct KeyPage {
    pub limit: i64,
    pub after: Option<String>,
}

impl PageRequest {
    pub fn parse_keyed(&self) -> Result<KeyPage, Error> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::invalid(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let after = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(cursor) => Some(
                URL_SAFE_NO_PAD
                    .decode(cursor)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| {
                        Error::invalid("cursor", "is not a cursor this list gave out")
                    })?,
            ),
        };
        Ok(KeyPage { limit, after })
    }
}

fn decode(cursor: &str) -> Result<Id, Error> {
    let invalid = || Error::invalid("cursor", "is not a cursor this list gave out");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let uuid = uuid::Uuid::from_slice(&bytes).map_err(|_| invalid())?;
    Ok(Id(uuid))
}

fn encode(id: Id) -> String {
    URL_SAFE_NO_PAD.encode(id.0.as_bytes())
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct List<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> List<T> {
    /// Builds a page from up to `limit + 1` rows fetched in list order: the extra row, if
    /// present, only says that there is a next page.
    pub fn from_rows(mut rows: Vec<T>, page: Page, id_of: impl Fn(&T) -> Id) -> Self {
        let more = rows.len() as i64 > page.limit;
        rows.truncate(page.limit as usize);
        let next_cursor = if more {
            rows.last().map(|last| encode(id_of(last)))
        } else {
            None
        };
        List {
            items: rows,
            next_cursor,
        }
    }

    /// As [`List::from_rows`], for lists ordered by a text key.
    pub fn from_keyed_rows(
        mut rows: Vec<T>,
        page: &KeyPage,
        key_of: impl Fn(&T) -> String,
    ) -> Self {
        let more = rows.len() as i64 > page.limit;
        rows.truncate(page.limit as usize);
        let next_cursor = if more {
            rows.last().map(|last| URL_SAFE_NO_PAD.encode(key_of(last)))
        } else {
            None
        };
        List {
            items: rows,
            next_cursor,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> List<U> {
        List {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}
