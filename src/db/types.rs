//! The three SQL types that differ between the backends, kept together.
//!
//! PostgreSQL stores them natively (`uuid`, `timestamptz`, `jsonb`); SQLite stores them as
//! `TEXT`. Each has a custom SQL type (used in `schema.rs`) and a newtype on the Rust side with
//! `ToSql`/`FromSql` for PostgreSQL, SQLite and the `MultiBackend` that routes between them.
//! Timestamps are written to SQLite as fixed-width RFC 3339 UTC text with microseconds, so that
//! text order is time order and range queries behave as they do on PostgreSQL.

use chrono::{DateTime, SecondsFormat, Utc};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::HasSqlType;
use diesel::sqlite::Sqlite;

use super::MultiBackend;

/// Custom SQL types referenced by `schema.rs`.
pub mod sql {
    /// `uuid` on PostgreSQL, `TEXT` on SQLite.
    #[derive(
        Debug, Clone, Copy, Default, diesel::sql_types::SqlType, diesel::query_builder::QueryId,
    )]
    #[diesel(postgres_type(oid = 2950, array_oid = 2951))]
    #[diesel(sqlite_type(name = "Text"))]
    pub struct Uuid;

    /// `timestamptz` on PostgreSQL, `TEXT` on SQLite.
    #[derive(
        Debug, Clone, Copy, Default, diesel::sql_types::SqlType, diesel::query_builder::QueryId,
    )]
    #[diesel(postgres_type(oid = 1184, array_oid = 1185))]
    #[diesel(sqlite_type(name = "Text"))]
    pub struct UtcTimestamp;

    /// `jsonb` on PostgreSQL, `TEXT` on SQLite.
    #[derive(
        Debug, Clone, Copy, Default, diesel::sql_types::SqlType, diesel::query_builder::QueryId,
    )]
    #[diesel(postgres_type(oid = 3802, array_oid = 3807))]
    #[diesel(sqlite_type(name = "Text"))]
    pub struct Jsonb;
}

/// `MultiBackend` knows each custom SQL type once, whatever Rust types map to it.
macro_rules! multi_backend_sql_type {
    ($sql:path) => {
        impl HasSqlType<$sql> for MultiBackend {
            fn metadata(lookup: &mut Self::MetadataLookup) -> Self::TypeMetadata {
                MultiBackend::lookup_sql_type::<$sql>(lookup)
            }
        }
    };
}

/// A Rust type read and written through `MultiBackend`, given its impls for each backend.
macro_rules! multi_backend_value {
    ($sql:path, $rust:ty) => {
        impl diesel::deserialize::FromSql<$sql, $crate::db::MultiBackend> for $rust {
            fn from_sql(
                bytes: <$crate::db::MultiBackend as diesel::backend::Backend>::RawValue<'_>,
            ) -> diesel::deserialize::Result<Self> {
                bytes.from_sql::<$rust, $sql>()
            }
        }
        impl diesel::serialize::ToSql<$sql, $crate::db::MultiBackend> for $rust {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, $crate::db::MultiBackend>,
            ) -> diesel::serialize::Result {
                out.set_value(($sql, self));
                Ok(diesel::serialize::IsNull::No)
            }
        }
    };
}
pub(crate) use multi_backend_value;

macro_rules! multi_backend_type {
    ($sql:path, $rust:ty) => {
        multi_backend_sql_type!($sql);
        multi_backend_value!($sql, $rust);
    };
}

/// A SQLite text value read in place, for the values that are parsed at once (ids, times): a
/// record's row holds about ten, and copying each into a `String` first cost an allocation
/// apiece.
pub(crate) fn with_sqlite_str<T>(
    value: <Sqlite as Backend>::RawValue<'_>,
    parse: impl FnOnce(&str) -> deserialize::Result<T>,
) -> deserialize::Result<T> {
    let mut value = value;
    parse(value.read_text())
}

multi_backend_sql_type!(sql::Uuid);

// ---------------------------------------------------------------------------------------------
// Times

/// A stored point in time, always UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, AsExpression, FromSqlRow)]
#[diesel(sql_type = sql::UtcTimestamp)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    /// Now, truncated to microseconds (the precision both databases keep), so that a value
    /// read back equals the value written.
    pub fn now() -> Self {
        Self::from(Utc::now())
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(value: DateTime<Utc>) -> Self {
        use chrono::Timelike;
        let micros = value.nanosecond() / 1_000 * 1_000;
        Timestamp(value.with_nanosecond(micros).unwrap_or(value))
    }
}

impl From<Timestamp> for DateTime<Utc> {
    fn from(value: Timestamp) -> Self {
        value.0
    }
}

impl ToSql<sql::UtcTimestamp, Pg> for Timestamp {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <DateTime<Utc> as ToSql<diesel::sql_types::Timestamptz, Pg>>::to_sql(&self.0, out)
    }
}

impl FromSql<sql::UtcTimestamp, Pg> for Timestamp {
    fn from_sql(value: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        Ok(Timestamp(<DateTime<Utc> as FromSql<
            diesel::sql_types::Timestamptz,
            Pg,
        >>::from_sql(value)?))
    }
}

impl ToSql<sql::UtcTimestamp, Sqlite> for Timestamp {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.to_rfc3339_opts(SecondsFormat::Micros, true));
        Ok(IsNull::No)
    }
}

impl FromSql<sql::UtcTimestamp, Sqlite> for Timestamp {
    fn from_sql(value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        with_sqlite_str(value, |text| match written_form(text) {
            Some(time) => Ok(Timestamp(time)),
            None => Ok(Timestamp(
                DateTime::parse_from_rfc3339(text)?.with_timezone(&Utc),
            )),
        })
    }
}

/// The form the service writes (`2026-12-07T04:33:55.123456Z`, always 27 bytes), read
/// directly; anything else goes to the general RFC 3339 parser. A list of 30 records reads
/// 150 of them.
fn written_form(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    if b.len() != 27
        || [
            (4, b'-'),
            (7, b'-'),
            (10, b'T'),
            (13, b':'),
            (16, b':'),
            (19, b'.'),
            (26, b'Z'),
        ]
        .iter()
        .any(|&(i, c)| b[i] != c)
    {
        return None;
    }
    let digits = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let date = chrono::NaiveDate::from_ymd_opt(
        i32::try_from(digits(0, 4)?).ok()?,
        digits(5, 7)?,
        digits(8, 10)?,
    )?;
    let time = chrono::NaiveTime::from_hms_micro_opt(
        digits(11, 13)?,
        digits(14, 16)?,
        digits(17, 19)?,
        digits(20, 26)?,
    )?;
    Some(date.and_time(time).and_utc())
}

multi_backend_type!(sql::UtcTimestamp, Timestamp);

// ---------------------------------------------------------------------------------------------
// JSON documents

/// A stored JSON document.
#[derive(Debug, Clone, PartialEq, AsExpression, FromSqlRow)]
#[diesel(sql_type = sql::Jsonb)]
pub struct Json(pub serde_json::Value);

impl Json {
    /// Serialises a value for storage.
    pub fn of<T: serde::Serialize>(value: &T) -> Self {
        // Serialising our own plain data types cannot fail (no maps with non-string keys).
        Json(serde_json::to_value(value).unwrap_or(serde_json::Value::Null))
    }

    /// Reads a stored document back into a type.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.0)
    }

    /// Reads a stored document into a type, moving its strings rather than copying them.
    pub fn into_parsed<T: serde::de::DeserializeOwned>(self) -> Result<T, serde_json::Error> {
        serde_json::from_value(self.0)
    }
}

impl ToSql<sql::Jsonb, Pg> for Json {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <serde_json::Value as ToSql<diesel::sql_types::Jsonb, Pg>>::to_sql(&self.0, out)
    }
}

impl FromSql<sql::Jsonb, Pg> for Json {
    fn from_sql(value: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        Ok(Json(<serde_json::Value as FromSql<
            diesel::sql_types::Jsonb,
            Pg,
        >>::from_sql(value)?))
    }
}

impl ToSql<sql::Jsonb, Sqlite> for Json {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(serde_json::to_string(&self.0)?);
        Ok(IsNull::No)
    }
}

impl FromSql<sql::Jsonb, Sqlite> for Json {
    fn from_sql(value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        with_sqlite_str(value, |text| Ok(Json(serde_json::from_str(text)?)))
    }
}

multi_backend_type!(sql::Jsonb, Json);

/// A stored JSON document read straight into `T` from the database's own bytes, for documents
/// read on every request: through [`Json`] each node of the document was first built as a
/// `serde_json::Value`, then copied into `T`. Read on the backend's own connection (see
/// `on_backend!`).
#[derive(Debug, FromSqlRow)]
pub struct Parsed<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromSql<sql::Jsonb, Pg> for Parsed<T> {
    fn from_sql(value: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        // jsonb's binary form: a version byte (1), then the document as text.
        match value.as_bytes() {
            [1, text @ ..] => Ok(Parsed(serde_json::from_slice(text)?)),
            _ => Err("unsupported jsonb encoding version".into()),
        }
    }
}

impl<T: serde::de::DeserializeOwned> FromSql<sql::Jsonb, Sqlite> for Parsed<T> {
    fn from_sql(value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        with_sqlite_str(value, |text| Ok(Parsed(serde_json::from_str(text)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_form_reads_as_the_rfc_3339_parser_reads_it() {
        for text in [
            "2026-12-07T04:33:55.123456Z",
            "1999-01-01T00:00:00.000000Z",
            "2024-02-29T23:59:59.999999Z",
        ] {
            let general = DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc);
            assert_eq!(written_form(text), Some(general), "{text}");
        }
        let now = Timestamp::now();
        let written = now.0.to_rfc3339_opts(SecondsFormat::Micros, true);
        assert_eq!(written_form(&written), Some(now.0));
    }

    #[test]
    fn other_forms_go_to_the_general_parser() {
        for text in [
            "2026-12-07T04:33:55Z",
            "2026-12-07T04:33:55.123456+00:00",
            "2026-13-07T04:33:55.123456Z",
            "2026-02-30T04:33:55.123456Z",
            "2026-12-07T24:33:55.123456Z",
            "2026-12-07T04:33:55.12345aZ",
            "2026-12-07 04:33:55.123456Z",
        ] {
            assert_eq!(written_form(text), None, "{text}");
        }
    }
}
