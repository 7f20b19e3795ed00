//! Who is told what: the outbox's events, drained straight after the change that recorded them
//! commits, become deliveries to the active subscriptions of the organisations entitled to hear
//! of each, with no more than each may already read: ids, and for a grant what the
//! organisation's own grant list shows.

use crate::db::ids::{AttainmentId, DeliveryId, GrantId, OrganisationId, PersonId, WebhookId};
use diesel::prelude::*;

use super::limits::{self, MAX_PENDING};
use super::model::*;
use super::subscriptions::{self, WebhookRow};
use crate::access_requests::AccessRequestStatus;
use crate::db::DbConnection;
use crate::db::schema::{webhook_deliveries, webhooks};
use crate::db::types::{Json, Timestamp};
use crate::error::Error;
use crate::grants::{self, Permission};
use crate::outbox::{self, AccessRequestChange, Event, GrantChange, RecordChange, RecordFacts};

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = webhook_deliveries)]
struct NewDelivery {
    id: DeliveryId,
    webhook_id: WebhookId,
    event_type: String,
    payload: Json,
    status: String,
    attempts: i32,
    next_attempt_at: Timestamp,
    retry_from: Timestamp,
    created_at: Timestamp,
    person_id: Option<PersonId>,
}

/// Queues an event for each subscription that wants it and has room for it.
fn enqueue<'a>(
    conn: &mut DbConnection,
    subscriptions: impl IntoIterator<Item = &'a WebhookRow>,
    event_type: EventType,
    data: EventData,
) -> Result<(), Error> {
    let person_id = data.person_id().map(PersonId::from);
    let (payload, now) = body(event_type, data);
    for subscription in subscriptions {
        if subscription.wants(event_type) {
            insert(conn, subscription, event_type, &payload, person_id, now)?;
        }
    }
    Ok(())
}

/// Queues an event for one subscription, whatever it wants; answers the delivery's id, or
/// `None` when the subscription's queue is full.
pub(crate) fn enqueue_one(
    conn: &mut DbConnection,
    subscription: &WebhookRow,
    event_type: EventType,
    data: EventData,
) -> Result<Option<DeliveryId>, Error> {
    let person_id = data.person_id().map(PersonId::from);
    let (payload, now) = body(event_type, data);
    insert(conn, subscription, event_type, &payload, person_id, now)
}

/// The body every subscription is sent for an event, and when it happened.
fn body(event_type: EventType, data: EventData) -> (Json, Timestamp) {
    let now = Timestamp::now();
    let payload = Json::of(&WebhookEvent {
        event_type,
        timestamp: now.0,
        data,
    });
    (payload, now)
}

/// Writes one delivery, unless [`MAX_PENDING`] already wait for the subscription: then the
/// event is dropped for it and counted, so that its receiver can tell it must read the state
/// again, and the outbox stays bounded however long a receiver is away.
fn insert(
    conn: &mut DbConnection,
    subscription: &WebhookRow,
    event_type: EventType,
    payload: &Json,
    person_id: Option<PersonId>,
    now: Timestamp,
) -> Result<Option<DeliveryId>, Error> {
    if limits::pending_at_least(conn, subscription.id, MAX_PENDING)? {
        diesel::update(webhooks::table.find(subscription.id))
            .set(webhooks::events_dropped.eq(webhooks::events_dropped + 1))
            .execute(conn)?;
        if subscription.events_dropped == 0 {
            tracing::warn!(
                webhook_id = %subscription.id,
                event_type = event_type.as_str(),
                "webhook queue full: events are dropped for this subscription until it catches up"
            );
        }
        return Ok(None);
    }
    let id = DeliveryId::new();
    diesel::insert_into(webhook_deliveries::table)
        .values(&NewDelivery {
            id,
            webhook_id: subscription.id,
            event_type: event_type.as_str().to_owned(),
            payload: payload.clone(),
            status: DeliveryStatus::Pending.as_str().to_owned(),
            attempts: 0,
            next_attempt_at: now,
            retry_from: now,
            created_at: now,
            person_id,
        })
        .execute(conn)?;
    crate::db::outbox_written();
    Ok(Some(id))
}

/// How many events one transaction of a drain takes.
const BATCH: i64 = 100;

/// Turns every event waiting in the outbox into deliveries; answers how many events were
/// handled. Each batch is one transaction: an event leaves the outbox with its deliveries in
/// place, or stays for the next drain. Several drains at once handle each event once.
pub fn drain(conn: &mut DbConnection) -> Result<usize, Error> {
    let mut handled = 0;
    // A read first, so that an empty outbox never takes SQLite's writer lock.
    while !outbox::oldest(conn, 1)?.is_empty() {
        let batch = crate::db::transaction(conn, |conn| {
            let batch = outbox::oldest(conn, BATCH)?;
            for (id, event) in &batch {
                if outbox::take(conn, *id)? {
                    tell(conn, event)?;
                }
            }
            Ok(batch.len())
        })?;
        handled += batch;
        if batch < BATCH as usize {
            break;
        }
    }
    Ok(handled)
}

/// Queues one event for those entitled to hear of it.
fn tell(conn: &mut DbConnection, event: &Event) -> Result<(), Error> {
    match event {
        Event::Grant {
            change, grant_id, ..
        } => grant(conn, *change, *grant_id),
        Event::Record {
            change,
            record: facts,
            changed_by,
        } => record(conn, *change, facts, *changed_by),
        Event::AttainmentVerified {
            person_id,
            attainment_id,
            verified_by,
        } => attainment_verified(conn, *person_id, *attainment_id, *verified_by),
        Event::AccessRequest {
            change,
            access_request_id,
            organisation_id,
            person_id,
            grant_id,
        } => {
            let (event_type, status) = match change {
                AccessRequestChange::Approved => (
                    EventType::AccessRequestApproved,
                    AccessRequestStatus::Approved,
                ),
                AccessRequestChange::Declined => (
                    EventType::AccessRequestDeclined,
                    AccessRequestStatus::Declined,
                ),
                AccessRequestChange::Expired => (
                    EventType::AccessRequestExpired,
                    AccessRequestStatus::Expired,
                ),
            };
            let approved = *change == AccessRequestChange::Approved;
            let subscriptions = subscriptions::active_of(conn, &[*organisation_id])?;
            let data = EventData::AccessRequest(AccessRequestEventData {
                access_request_id: access_request_id.0,
                status,
                // Only an approval tells the organisation who the addressee is.
                person_id: Some(person_id.0).filter(|_| approved),
                grant_id: grant_id.map(|g| g.0).filter(|_| approved),
            });
            enqueue(conn, &subscriptions, event_type, data)
        }
        Event::PersonErased {
            person_id,
            organisations,
        } => {
            let subscriptions = subscriptions::active_of(conn, organisations)?;
            let data = EventData::Person(PersonEventData {
                person_id: person_id.0,
            });
            enqueue(conn, &subscriptions, EventType::PersonErased, data)
        }
    }
}

/// A grant was created, revoked, is expiring or has expired: its organisation hears of it, as
/// the grant is now. A grant erased since is spoken of no more.
fn grant(conn: &mut DbConnection, change: GrantChange, grant_id: GrantId) -> Result<(), Error> {
    let grant = match grants::store::find(conn, grant_id) {
        Ok(grant) => grant,
        Err(Error::NotFound(_)) => return Ok(()),
        Err(other) => return Err(other),
    };
    let event_type = match change {
        GrantChange::Created => EventType::GrantCreated,
        GrantChange::Revoked => EventType::GrantRevoked,
        GrantChange::Expiring => EventType::GrantExpiring,
        GrantChange::Expired => EventType::GrantExpired,
    };
    let subscriptions = subscriptions::active_of(conn, &[grant.organisation_id])?;
    let data = EventData::Grant(GrantEventData {
        grant_id: grant.id.0,
        person_id: grant.person_id.0,
        permission: grant.permission(),
        scope: grant.scope(),
        purpose: grant.purpose.clone(),
        expires_at: grant.expires_at.0,
        revoked_at: grant.revoked_at.map(|t| t.0),
    });
    enqueue(conn, &subscriptions, event_type, data)
}

/// A record changed (`record.updated`, given the record as it is now) or was voided
/// (`record.voided`, given the record as it was before). The organisations whose live read
/// grants cover that state of the record hear of it, except the one that made the change.
/// One indexed query when nobody has a read grant.
fn record(
    conn: &mut DbConnection,
    change: RecordChange,
    facts: &RecordFacts,
    changed_by: Option<OrganisationId>,
) -> Result<(), Error> {
    let entitled: Vec<OrganisationId> =
        grants::store::live_by_organisation(conn, facts.person_id, Permission::Read)?
            .into_iter()
            .filter(|(organisation, _)| Some(*organisation) != changed_by)
            .filter(|(_, grants)| crate::sharing::union(grants).covers_facts(facts))
            .map(|(organisation, _)| organisation)
            .collect();
    let subscriptions = subscriptions::active_of(conn, &entitled)?;
    let data = EventData::Record(RecordEventData {
        person_id: facts.person_id.0,
        record_id: facts.id.0,
    });
    let event_type = match change {
        RecordChange::Updated => EventType::RecordUpdated,
        RecordChange::Voided => EventType::RecordVoided,
    };
    enqueue(conn, &subscriptions, event_type, data)
}

/// An attainment was verified: the organisations whose live read grants include attainments
/// hear of it, except the verifier's own.
fn attainment_verified(
    conn: &mut DbConnection,
    person_id: PersonId,
    attainment_id: AttainmentId,
    verified_by: OrganisationId,
) -> Result<(), Error> {
    let entitled: Vec<OrganisationId> =
        grants::store::live_by_organisation(conn, person_id, Permission::Read)?
            .into_iter()
            .filter(|(organisation, _)| *organisation != verified_by)
            .filter(|(_, grants)| grants.iter().any(|g| g.scope().attainments))
            .map(|(organisation, _)| organisation)
            .collect();
    let subscriptions = subscriptions::active_of(conn, &entitled)?;
    let data = EventData::Attainment(AttainmentEventData {
        person_id: person_id.0,
        attainment_id: attainment_id.0,
    });
    enqueue(conn, &subscriptions, EventType::AttainmentVerified, data)
}
