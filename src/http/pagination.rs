//! Keyset pagination with opaque cursors.
//!
//! Most lists are ordered by id, newest first; ids are time-ordered UUIDs, so a cursor is the id
//! of the last item served. Items created while a client pages through a list land before its
//! first page and never shift the pages it has yet to read. A few lists have an order key of
//! their own (a code, a version number); their cursors carry that key the same way.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::ids::EntityId;
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

/// One page of a list: at most `limit` items, after the item whose key a cursor carried. Most
/// lists are ordered by id; a few by a text key (`Page<String>`) or a number (`Page<i32>`).
#[derive(Debug, Clone, Copy)]
pub struct Page<K> {
    pub limit: i64,
    pub after: Option<K>,
}

impl PageRequest {
    /// The page asked for; a cursor this list did not give out is refused.
    pub fn parse<K: Cursor>(&self) -> Result<Page<K>, Error> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::invalid(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let after =
            match self.cursor.as_deref() {
                None | Some("") => None,
                Some(cursor) => Some(K::decode(cursor).ok_or_else(|| {
                    Error::invalid("cursor", "is not a cursor this list gave out")
                })?),
            };
        Ok(Page { limit, after })
    }
}

/// A list's order key, as carried in its opaque cursors (URL-safe base64).
pub trait Cursor: Sized {
    fn encode(&self) -> String;
    fn decode(cursor: &str) -> Option<Self>;
}

impl<T: EntityId> Cursor for T {
    fn encode(&self) -> String {
        let id: uuid::Uuid = (*self).into();
        URL_SAFE_NO_PAD.encode(id.as_bytes())
    }

    fn decode(cursor: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
        uuid::Uuid::from_slice(&bytes).ok().map(T::from)
    }
}

impl Cursor for String {
    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self)
    }

    fn decode(cursor: &str) -> Option<Self> {
        String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()
    }
}

impl Cursor for i32 {
    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.to_be_bytes())
    }

    fn decode(cursor: &str) -> Option<Self> {
        let bytes: [u8; 4] = URL_SAFE_NO_PAD.decode(cursor).ok()?.try_into().ok()?;
        Some(i32::from_be_bytes(bytes))
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct List<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page. Always present.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

impl<T> List<T> {
    /// The page of `rows` (fetched with one row more than the page holds, to tell whether
    /// another page follows), with the cursor of the next page if one does.
    pub fn from_rows<K: Cursor>(
        mut rows: Vec<T>,
        page: &Page<K>,
        key_of: impl Fn(&T) -> K,
    ) -> Self {
        let more = rows.len() as i64 > page.limit;
        rows.truncate(page.limit as usize);
        let next_cursor = if more {
            rows.last().map(|last| key_of(last).encode())
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

/// Every item of a list, read a page of the largest size at a time (for exports and the
/// command line, which answer whole lists).
pub fn every_page<K: Cursor, T>(
    mut page: impl FnMut(Page<K>) -> Result<List<T>, Error>,
) -> Result<Vec<T>, Error> {
    let mut items = Vec::new();
    let mut cursor = None;
    loop {
        let request = PageRequest {
            limit: Some(MAX_LIMIT),
            cursor,
        };
        let list = page(request.parse()?)?;
        items.extend(list.items);
        match list.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(items),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::ids::RecordId;

    #[test]
    fn number_cursors_round_trip_and_refuse_other_lists_cursors() {
        for n in [i32::MIN, -499, 0, 1, 7, i32::MAX] {
            assert_eq!(i32::decode(&n.encode()), Some(n));
        }
        // A cursor of a list ordered by id is not a version number.
        assert_eq!(i32::decode(&RecordId::new().encode()), None);
        assert_eq!(i32::decode("not a cursor"), None);
    }
}
