//! The three SQL types that differ between the backends, kept together.
//!
//! PostgreSQL stores them natively (`uuid`, `timestamptz`, `jsonb`); SQLite stores them as
//! `TEXT`. Each has a custom SQL type (used in `schema.rs`) and a newtype on the Rust side with
//! `ToSql`/`FromSql` for PostgreSQL, SQLite and the `MultiBackend` that routes between them.
//! Timestamps are written to SQLite as fixed-width RFC 3339 UTC text with microseconds, so that
//! text order is time order and range queries behave as they do on PostgreSQL.

use std::fmt;
use std::io::Write;

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

macro_rules! multi_backend_type {
    ($sql:path, $rust:ty) => {
        impl HasSqlType<$sql> for MultiBackend {
            fn metadata(lookup: &mut Self::MetadataLookup) -> Self::TypeMetadata {
                MultiBackend::lookup_sql_type::<$sql>(lookup)
            }
        }
        impl FromSql<$sql, MultiBackend> for $rust {
            fn from_sql(
                bytes: <MultiBackend as Backend>::RawValue<'_>,
            ) -> deserialize::Result<Self> {
                bytes.from_sql::<$rust, $sql>()
            }
        }
        impl ToSql<$sql, MultiBackend> for $rust {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
                out.set_value(($sql, self));
                Ok(IsNull::No)
            }
        }
    };
}

fn sqlite_text(value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<String> {
    <String as FromSql<diesel::sql_types::Text, Sqlite>>::from_sql(value)
}

// ---------------------------------------------------------------------------------------------
// Ids

/// A stored id: a UUID (time-ordered v7 for everything the service creates).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    AsExpression,
    FromSqlRow,
    serde::Serialize,
    serde::Deserialize,
)]
#[diesel(sql_type = sql::Uuid)]
#[serde(transparent)]
pub struct Id(pub uuid::Uuid);

impl Id {
    /// A new time-ordered id.
    pub fn new() -> Self {
        Id(uuid::Uuid::now_v7())
    }

    /// The smallest time-ordered id of a moment: every id made before it is smaller, so a range
    /// of the primary key stands for a range of creation times.
    pub fn first_at(moment: DateTime<Utc>) -> Self {
        let millis = u64::try_from(moment.timestamp_millis()).unwrap_or(0);
        Id(uuid::Builder::from_unix_timestamp_millis(millis, &[0; 10]).into_uuid())
    }
}

impl Default for Id {
    fn default() -> Self {
        Self::new()
    }
}

impl From<uuid::Uuid> for Id {
    fn from(value: uuid::Uuid) -> Self {
        Id(value)
    }
}

impl From<Id> for uuid::Uuid {
    fn from(value: Id) -> Self {
        value.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl ToSql<sql::Uuid, Pg> for Id {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        out.write_all(self.0.as_bytes())?;
        Ok(IsNull::No)
    }
}

impl FromSql<sql::Uuid, Pg> for Id {
    fn from_sql(value: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        Ok(Id(uuid::Uuid::from_slice(value.as_bytes())?))
    }
}

impl ToSql<sql::Uuid, Sqlite> for Id {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.hyphenated().to_string());
        Ok(IsNull::No)
    }
}

impl FromSql<sql::Uuid, Sqlite> for Id {
    fn from_sql(value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        Ok(Id(uuid::Uuid::parse_str(&sqlite_text(value)?)?))
    }
}

multi_backend_type!(sql::Uuid, Id);

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
        let text = sqlite_text(value)?;
        Ok(Timestamp(
            DateTime::parse_from_rfc3339(&text)?.with_timezone(&Utc),
        ))
    }
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
        Ok(Json(serde_json::from_str(&sqlite_text(value)?)?))
    }
}

multi_backend_type!(sql::Jsonb, Json);
