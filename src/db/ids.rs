//! One id type per entity, so that a person's id cannot be passed where a record's is expected:
//! `records::store::get(conn, person, record)` does not compile with its arguments swapped.
//!
//! Every id is a UUID (time-ordered v7 for everything the service creates), stored as the
//! custom SQL type [`sql::Uuid`]: native `uuid` on PostgreSQL, hyphenated text on SQLite.

use chrono::{DateTime, Utc};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sqlite::Sqlite;
use std::io::Write;

use super::types::{multi_backend_value, sql, with_sqlite_str};

/// What every entity's id is: a UUID under a name of its own.
pub trait EntityId: Copy + From<uuid::Uuid> + Into<uuid::Uuid> {}

macro_rules! entity_ids {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
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
        pub struct $name(pub uuid::Uuid);

        impl $name {
            /// A new time-ordered id.
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7())
            }

            /// The smallest time-ordered id of a moment: every id made before it is smaller,
            /// so a range of the primary key stands for a range of creation times.
            pub fn first_at(moment: DateTime<Utc>) -> Self {
                let millis = u64::try_from(moment.timestamp_millis()).unwrap_or(0);
                Self(uuid::Builder::from_unix_timestamp_millis(millis, &[0; 10]).into_uuid())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<uuid::Uuid> for $name {
            fn from(value: uuid::Uuid) -> Self {
                Self(value)
            }
        }

        impl From<$name> for uuid::Uuid {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl ToSql<sql::Uuid, Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                out.write_all(self.0.as_bytes())?;
                Ok(IsNull::No)
            }
        }

        impl FromSql<sql::Uuid, Pg> for $name {
            fn from_sql(value: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
                Ok(Self(uuid::Uuid::from_slice(value.as_bytes())?))
            }
        }

        impl ToSql<sql::Uuid, Sqlite> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
                out.set_value(self.0.hyphenated().to_string());
                Ok(IsNull::No)
            }
        }

        impl FromSql<sql::Uuid, Sqlite> for $name {
            fn from_sql(value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
                with_sqlite_str(value, |text| Ok(Self(uuid::Uuid::parse_str(text)?)))
            }
        }

        impl EntityId for $name {}

        multi_backend_value!(sql::Uuid, $name);
    )*};
}

entity_ids! {
    /// A person: the owner of a passport.
    PersonId;
    /// An organisation: an employer, a learning platform or both.
    OrganisationId;
    /// An OAuth client of an organisation.
    ClientId;
    /// A training record in a person's passport.
    RecordId;
    /// One earlier version of a record, kept in its history.
    RecordVersionId;
    /// A person's grant of access to an organisation.
    GrantId;
    /// An entry of a person's access log.
    AccessEventId;
    /// A share code: a person's offer of a grant to whoever redeems it.
    ShareCodeId;
    /// An organisation's request for a person's grant.
    AccessRequestId;
    /// A person's attainment of a learning outcome.
    AttainmentId;
    /// An organisation's verification of an attainment.
    VerificationId;
    /// An organisation's requirement profile for a role.
    ProfileId;
    /// A verifiable credential issued to a person.
    CredentialId;
    /// A webhook subscription of an organisation.
    WebhookId;
    /// One event to be delivered to one webhook subscription.
    DeliveryId;
    /// One attempt at sending a delivery.
    AttemptId;
    /// An event recorded in the outbox.
    EventId;
    /// An xAPI statement's id, chosen by the statement's author or the LRS.
    StatementId;
    /// The token a webhook worker holds while it owns a claimed delivery.
    LockToken;
}
