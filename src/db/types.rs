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

pub(crate) fn sqlite_text(value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<String> {
    <String as FromSql<diesel::sql_types::Text, Sqlite>>::from_sql(value)
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
