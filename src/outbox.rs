//! What happened, in the words of the domains: each records its events here, in the
//! transaction of the change that caused them, so that a crash can never lose one. Domains do
//! not know who is told. The webhook side drains the outbox straight after the change commits
//! (before the request's answer leaves) and on each tick of its worker, for whatever a crash
//! left behind, and decides which organisations hear of each event.

use crate::db::ids::{
    AccessRequestId, AttainmentId, EventId, GrantId, OrganisationId, PersonId, RecordId,
};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::DbConnection;
use crate::db::schema::outbox;
use crate::db::types::{Json, Timestamp};
use crate::error::Error;

/// A change to a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantChange {
    Created,
    Revoked,
    /// Its expiry is near.
    Expiring,
    Expired,
}

/// What became of an access request, for the organisation that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessRequestChange {
    Approved,
    Declined,
    Expired,
}

/// A change to a record that was already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordChange {
    Updated,
    Voided,
}

/// What decides who may hear of a record: the facts a grant's scope is matched against, as
/// they were when the event happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordFacts {
    pub id: RecordId,
    pub person_id: PersonId,
    pub kind: String,
    pub activity_code: Option<String>,
    pub hidden: bool,
    pub voided: bool,
}

/// One thing that happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Grant {
        change: GrantChange,
        grant_id: GrantId,
        person_id: PersonId,
    },
    /// `record` is the record as it is now (updated) or as it was before (voided).
    Record {
        change: RecordChange,
        record: RecordFacts,
        /// The organisation that made the change, if one did.
        changed_by: Option<OrganisationId>,
    },
    AttainmentVerified {
        person_id: PersonId,
        attainment_id: AttainmentId,
        verified_by: OrganisationId,
    },
    /// Told to the organisation that made the request only; `grant_id` is the grant an
    /// approval made.
    AccessRequest {
        change: AccessRequestChange,
        access_request_id: AccessRequestId,
        organisation_id: OrganisationId,
        person_id: PersonId,
        grant_id: Option<GrantId>,
    },
    /// `organisations`: every organisation the person ever made a grant to, since the grants
    /// themselves are gone by the time the event is drained.
    PersonErased {
        person_id: PersonId,
        organisations: Vec<OrganisationId>,
    },
}

impl Event {
    /// The person the event is about, kept beside it so that erasure can find it; none for the
    /// erasure itself, which must outlive the person's data.
    fn person_id(&self) -> Option<PersonId> {
        match self {
            Event::Grant { person_id, .. } | Event::AttainmentVerified { person_id, .. } => {
                Some(*person_id)
            }
            Event::Record { record, .. } => Some(record.person_id),
            Event::AccessRequest { person_id, .. } => Some(*person_id),
            Event::PersonErased { .. } => None,
        }
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = outbox)]
// NULL rather than DEFAULT for an empty field: one prepared insert per connection.
#[diesel(treat_none_as_default_value = false)]
struct OutboxRow {
    id: EventId,
    event: Json,
    person_id: Option<PersonId>,
    created_at: Timestamp,
}

/// Records an event in the current transaction.
pub fn record(conn: &mut DbConnection, event: Event) -> Result<(), Error> {
    diesel::insert_into(outbox::table)
        .values(&OutboxRow {
            id: EventId::new(),
            person_id: event.person_id(),
            event: Json::of(&event),
            created_at: Timestamp::now(),
        })
        .execute(conn)?;
    crate::db::outbox_written();
    Ok(())
}

/// The oldest events waiting, at most `limit`, each with its id.
pub fn oldest(conn: &mut DbConnection, limit: i64) -> Result<Vec<(EventId, Event)>, Error> {
    let rows: Vec<OutboxRow> = outbox::table
        .order(outbox::id.asc())
        .limit(limit)
        .select(OutboxRow::as_select())
        .load(conn)?;
    rows.into_iter()
        .map(|row| {
            let event = row.event.parse().map_err(|e| {
                Error::Internal(format!("outbox event {} does not parse: {e}", row.id))
            })?;
            Ok((row.id, event))
        })
        .collect()
}

/// Takes an event out of the outbox; answers whether this call did, so that several drains at
/// once handle each event once.
pub fn take(conn: &mut DbConnection, id: EventId) -> Result<bool, Error> {
    Ok(diesel::delete(outbox::table.find(id)).execute(conn)? == 1)
}

/// Forgets every event about a person who is erasing their passport.
pub fn erase_person(conn: &mut DbConnection, person_id: PersonId) -> Result<(), Error> {
    diesel::delete(outbox::table.filter(outbox::person_id.eq(person_id))).execute(conn)?;
    Ok(())
}
