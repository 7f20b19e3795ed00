//! Grants: a person's consent to one organisation, checked from the database on every request.
//!
//! - [`model`]: the API's types;
//! - [`store`]: the `grants` table, and the one rule that makes a grant live;
//! - [`expiry`]: the notices owed as grants near and pass their expiry;
//! - this file: giving and revoking consent.

pub mod expiry;
pub mod handlers;
pub mod model;
pub mod store;

use crate::db::ids::{GrantId, OrganisationId, PersonId};
use chrono::Utc;

pub use model::*;
pub use store::{GrantRow, get, list, live, live_while, received, received_one};

use crate::db::DbConnection;
use crate::db::types::{Json, Timestamp};
use crate::error::{Error, FieldError};
use crate::http::etag::Precondition;
use crate::outbox::{self, Event, GrantChange};

/// The most live grants one person may have at once.
pub const MAX_LIVE_PER_PERSON: i64 = 500;

/// Records a person's consent. The organisation must exist and any record ids must be the
/// person's own.
pub fn create(
    conn: &mut DbConnection,
    person_id: PersonId,
    input: GrantInput,
    max_days: i64,
) -> Result<Grant, Error> {
    let mut errors = input.check(Utc::now(), max_days);
    let organisation = match crate::organisations::get(conn, OrganisationId(input.organisation_id))
    {
        Ok(organisation) => Some(organisation.name),
        Err(Error::NotFound(_)) => None,
        Err(other) => return Err(other),
    };
    if organisation.is_none() {
        errors.push(FieldError::new("organisation_id", "no such organisation"));
    }
    if let RecordScope::Selected(selection) = &input.scope.records {
        errors.extend(crate::records::store::not_owned(
            conn,
            person_id,
            &selection.record_ids,
            "scope.records.record_ids",
        )?);
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    if store::live_count(conn, person_id)? >= MAX_LIVE_PER_PERSON {
        return Err(Error::Conflict(format!(
            "you have {MAX_LIVE_PER_PERSON} live grants, the most one person may: revoke one first"
        )));
    }
    let mut scope = input.scope;
    if let RecordScope::Selected(selection) = &mut scope.records {
        selection.activity_codes = selection
            .activity_codes
            .iter()
            .map(|c| c.trim().to_owned())
            .collect();
    }
    let row = GrantRow {
        id: GrantId::new(),
        person_id,
        organisation_id: OrganisationId(input.organisation_id),
        permission: input.permission.as_str().to_owned(),
        scope: Json::of(&scope),
        purpose: input.purpose.trim().to_owned(),
        version: 1,
        created_at: Timestamp::now(),
        expires_at: Timestamp::from(input.expires_at),
        revoked_at: None,
    };
    crate::db::transaction(conn, |conn| {
        store::insert(conn, &row)?;
        told(conn, GrantChange::Created, &row)
    })?;
    Ok(row.view(organisation.unwrap_or_default()))
}

/// Revokes one of the owner's grants, if the precondition allows; effective on the
/// organisation's very next request. Revoking a revoked grant changes nothing.
pub fn revoke(
    conn: &mut DbConnection,
    person_id: PersonId,
    id: GrantId,
    precondition: &Precondition,
) -> Result<Grant, Error> {
    crate::db::transaction(conn, |conn| {
        let current = get(conn, person_id, id)?;
        if !precondition.allows(current.id, current.version()) {
            return Err(Error::PreconditionFailed);
        }
        if current.revoked_at.is_none() {
            match store::mark_revoked(conn, id)? {
                Some(row) => told(conn, GrantChange::Revoked, &row)?,
                // Another request revoked it since it was read: of two revocations holding the
                // same ETag, the second is refused as a stale `If-Match` is.
                None if *precondition != Precondition::Any => {
                    return Err(Error::PreconditionFailed);
                }
                None => {}
            }
        }
        get(conn, person_id, id)
    })
}

/// Records a change to a grant in the outbox, for its organisation to hear of.
pub(crate) fn told(
    conn: &mut DbConnection,
    change: GrantChange,
    grant: &GrantRow,
) -> Result<(), Error> {
    outbox::record(
        conn,
        Event::Grant {
            change,
            grant_id: grant.id,
            person_id: grant.person_id,
        },
    )
}
