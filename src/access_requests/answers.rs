//! A person's answers to the requests made to them: approving (the grant is made), declining,
//! and blocking an organisation.

use chrono::Utc;

use super::model::*;
use super::{logged, store, terms};
use crate::access;
use crate::db::DbConnection;
use crate::db::ids::{AccessRequestId, OrganisationId, PersonId};
use crate::db::types::Timestamp;
use crate::error::{Error, FieldError};
use crate::grants::{GrantInput, RecordScope};
use crate::outbox::{self, AccessRequestChange, Event};

use super::AccessRequestRow;

/// A pending request of the person's, in a transaction that is answering it; 409 for one
/// that has been answered, has expired or was withdrawn.
fn pending(
    conn: &mut DbConnection,
    person_id: PersonId,
    id: AccessRequestId,
) -> Result<(AccessRequestRow, String, Vec<String>), Error> {
    let keys = terms::keys_of(&crate::people::store::get(conn, person_id)?);
    let (row, name) = store::get_for_person(conn, person_id, &keys, id)?;
    let status = row.status(Timestamp::now());
    if status != AccessRequestStatus::Pending {
        return Err(Error::Conflict(format!(
            "this request is {}: only a pending request can be answered",
            status.as_str()
        )));
    }
    Ok((row, name, keys))
}

/// Approves a request: the grant is made on the terms asked, or on the narrower scope and
/// shorter term the approval gives, and the organisation is told.
pub fn approve(
    conn: &mut DbConnection,
    person_id: PersonId,
    id: AccessRequestId,
    approval: Approval,
    grant_max_days: i64,
) -> Result<IncomingAccessRequest, Error> {
    crate::db::transaction(conn, |conn| {
        let (mut row, name, _) = pending(conn, person_id, id)?;
        let asked = row.scope();
        let mut errors = Vec::new();
        let scope = match approval.scope {
            Some(given) => {
                // The grants' own rules first (at most 100 selectors of each kind), so that
                // what is looked up below is bounded.
                let now = Utc::now();
                let terms = crate::grants::check_terms(
                    &given,
                    &row.purpose,
                    (now + chrono::Duration::days(1), "duration_days"),
                    now,
                    grant_max_days.max(1),
                );
                if !terms.is_empty() {
                    return Err(Error::Validation(terms));
                }
                let chosen = match &given.records {
                    RecordScope::Selected(selection) => crate::records::store::kinds_and_codes(
                        conn,
                        person_id,
                        &selection.record_ids,
                    )?,
                    RecordScope::All(_) => Vec::new(),
                };
                let chosen: Vec<terms::RecordFacts> = chosen
                    .into_iter()
                    .map(|(id, kind, activity_code)| terms::RecordFacts {
                        id: id.0,
                        kind: crate::records::RecordKind::parse(&kind),
                        activity_code,
                    })
                    .collect();
                errors.extend(terms::not_within(&asked, &given, &chosen));
                given
            }
            None => asked,
        };
        let asked_days = i64::from(row.duration_days);
        let days = approval.duration_days.unwrap_or(asked_days);
        if !(1..=asked_days).contains(&days) {
            errors.push(FieldError::new(
                "duration_days",
                format!("must be 1 to {asked_days}, the term asked for"),
            ));
        }
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        if !store::answer(conn, row.id, person_id, AccessRequestStatus::Approved)? {
            return Err(Error::Conflict(
                "this request was answered or withdrawn meanwhile".into(),
            ));
        }
        let input = GrantInput {
            organisation_id: row.organisation_id.0,
            permission: row.permission(),
            scope,
            purpose: row.purpose.clone(),
            expires_at: Utc::now() + chrono::Duration::days(days),
        };
        let grant = crate::grants::create(conn, person_id, input, grant_max_days)?;
        store::link_grant(conn, row.id, grant.id.into())?;
        row.status = AccessRequestStatus::Approved.as_str().to_owned();
        row.answered_at = Some(Timestamp::now());
        row.grant_id = Some(grant.id.into());
        row.person_id = Some(person_id);
        access::append(conn, logged(&row, person_id, "access_requests.approve"))?;
        told(conn, &row, person_id, AccessRequestChange::Approved)?;
        Ok(row.for_person(name))
    })
}

/// Declines a request, and with `block`, every further one from its organisation.
pub fn decline(
    conn: &mut DbConnection,
    person_id: PersonId,
    id: AccessRequestId,
    decline: Decline,
) -> Result<IncomingAccessRequest, Error> {
    crate::db::transaction(conn, |conn| {
        let (row, name, _) = pending(conn, person_id, id)?;
        let declined = declined(conn, person_id, row)?;
        if decline.block {
            block(conn, person_id, declined.organisation_id)?;
        }
        Ok(declined.for_person(name))
    })
}

/// Marks a pending request declined, logs it and tells its organisation.
fn declined(
    conn: &mut DbConnection,
    person_id: PersonId,
    mut row: AccessRequestRow,
) -> Result<AccessRequestRow, Error> {
    if !store::answer(conn, row.id, person_id, AccessRequestStatus::Declined)? {
        return Err(Error::Conflict(
            "this request was answered or withdrawn meanwhile".into(),
        ));
    }
    row.status = AccessRequestStatus::Declined.as_str().to_owned();
    row.answered_at = Some(Timestamp::now());
    row.person_id = Some(person_id);
    access::append(conn, logged(&row, person_id, "access_requests.decline"))?;
    told(conn, &row, person_id, AccessRequestChange::Declined)?;
    Ok(row)
}

pub(super) fn told(
    conn: &mut DbConnection,
    row: &AccessRequestRow,
    person_id: PersonId,
    change: AccessRequestChange,
) -> Result<(), Error> {
    outbox::record(
        conn,
        Event::AccessRequest {
            change,
            access_request_id: row.id,
            organisation_id: row.organisation_id,
            person_id,
            grant_id: row.grant_id,
        },
    )
}

/// Blocks an organisation from sending the person requests: its pending ones are declined, and
/// later ones never reach the person (the organisation is not told, and they expire without a
/// word). Blocking it again changes nothing.
pub fn block(
    conn: &mut DbConnection,
    person_id: PersonId,
    organisation_id: OrganisationId,
) -> Result<BlockedOrganisation, Error> {
    crate::db::transaction(conn, |conn| {
        match crate::organisations::get(conn, organisation_id) {
            Ok(_) => {}
            Err(Error::NotFound(_)) => {
                return Err(Error::invalid("organisation_id", "no such organisation"));
            }
            Err(other) => return Err(other),
        }
        let keys = terms::keys_of(&crate::people::store::get(conn, person_id)?);
        for row in store::pending_from(conn, person_id, &keys, organisation_id)? {
            declined(conn, person_id, row)?;
        }
        store::block(conn, person_id, organisation_id)?;
        store::blocked(conn, person_id)?
            .into_iter()
            .find(|b| b.organisation_id == organisation_id.0)
            .ok_or_else(|| Error::Internal("a block vanished as it was made".into()))
    })
}

/// Unblocks an organisation; 404 if it was not blocked.
pub fn unblock(
    conn: &mut DbConnection,
    person_id: PersonId,
    organisation_id: OrganisationId,
) -> Result<(), Error> {
    if store::unblock(conn, person_id, organisation_id)? {
        Ok(())
    } else {
        Err(Error::NotFound(
            "you have not blocked this organisation".into(),
        ))
    }
}
