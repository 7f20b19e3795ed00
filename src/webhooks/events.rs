//! Events, written to the outbox in the same transaction as the change that causes them, so
//! that a crash can never lose one. Each goes to the active subscriptions of the organisations
//! entitled to hear of it, with no more than each may already read: ids, and for a grant what
//! the organisation's own grant list shows.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use diesel::prelude::*;

use super::limits::{self, MAX_PENDING};
use super::model::*;
use super::subscriptions::{self, WebhookRow};
use crate::db::DbConnection;
use crate::db::schema::{grants, webhook_deliveries, webhooks};
use crate::db::types::{Id, Json, Timestamp};
use crate::error::Error;
use crate::grants::{GrantRow, Permission};
use crate::records::store::RecordRow;

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = webhook_deliveries)]
struct NewDelivery {
    id: Id,
    webhook_id: Id,
    event_type: String,
    payload: Json,
    status: String,
    attempts: i32,
    next_attempt_at: Timestamp,
    retry_from: Timestamp,
    created_at: Timestamp,
    person_id: Option<Id>,
}

/// Queues an event for each subscription that wants it and has room for it.
fn enqueue<'a>(
    conn: &mut DbConnection,
    subscriptions: impl IntoIterator<Item = &'a WebhookRow>,
    event_type: EventType,
    data: EventData,
) -> Result<(), Error> {
    let person_id = data.person_id().map(Id::from);
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
) -> Result<Option<Id>, Error> {
    let person_id = data.person_id().map(Id::from);
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
    person_id: Option<Id>,
    now: Timestamp,
) -> Result<Option<Id>, Error> {
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
    let id = Id::new();
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

/// A grant was created, revoked, is expiring or has expired: its organisation hears of it.
pub(crate) fn grant(
    conn: &mut DbConnection,
    event_type: EventType,
    grant: &GrantRow,
) -> Result<(), Error> {
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

/// A person's live read grants, by organisation.
fn live_read_grants(
    conn: &mut DbConnection,
    person_id: Id,
) -> Result<BTreeMap<Id, Vec<GrantRow>>, Error> {
    let rows: Vec<GrantRow> = grants::table
        .filter(grants::person_id.eq(person_id))
        .filter(grants::permission.eq(Permission::Read.as_str()))
        .filter(grants::revoked_at.is_null())
        .filter(grants::expires_at.gt(Timestamp::now()))
        .select(GrantRow::as_select())
        .load(conn)?;
    let mut by_organisation: BTreeMap<Id, Vec<GrantRow>> = BTreeMap::new();
    for row in rows {
        by_organisation
            .entry(row.organisation_id)
            .or_default()
            .push(row);
    }
    Ok(by_organisation)
}

/// A record changed (`record.updated`, given the record as it is now) or was voided
/// (`record.voided`, given the record as it was before). The organisations whose live read
/// grants cover that state of the record hear of it, except the one that made the change.
/// One indexed query when nobody has a read grant.
pub(crate) fn record(
    conn: &mut DbConnection,
    event_type: EventType,
    record: &RecordRow,
    changed_by: Option<Id>,
) -> Result<(), Error> {
    let entitled: Vec<Id> = live_read_grants(conn, record.person_id)?
        .into_iter()
        .filter(|(organisation, _)| Some(*organisation) != changed_by)
        .filter(|(_, grants)| crate::sharing::union(grants).covers(record))
        .map(|(organisation, _)| organisation)
        .collect();
    let subscriptions = subscriptions::active_of(conn, &entitled)?;
    let data = EventData::Record(RecordEventData {
        person_id: record.person_id.0,
        record_id: record.id.0,
    });
    enqueue(conn, &subscriptions, event_type, data)
}

/// An attainment was verified: the organisations whose live read grants include attainments
/// hear of it, except the verifier's own.
pub(crate) fn attainment_verified(
    conn: &mut DbConnection,
    person_id: Id,
    attainment_id: Id,
    verified_by: Id,
) -> Result<(), Error> {
    let entitled: Vec<Id> = live_read_grants(conn, person_id)?
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

/// A person erased their passport: every organisation they ever made a grant to hears of it,
/// since any of them may hold a copy to delete. Call before the grants are deleted.
pub(crate) fn person_erased(conn: &mut DbConnection, person_id: Id) -> Result<(), Error> {
    let organisations: BTreeSet<Id> = grants::table
        .filter(grants::person_id.eq(person_id))
        .select(grants::organisation_id)
        .load::<Id>(conn)?
        .into_iter()
        .collect();
    let organisations: Vec<Id> = organisations.into_iter().collect();
    let subscriptions = subscriptions::active_of(conn, &organisations)?;
    let data = EventData::Person(PersonEventData {
        person_id: person_id.0,
    });
    enqueue(conn, &subscriptions, EventType::PersonErased, data)
}

/// Grants whose expiry is near or past and that are still owed a notice: `grant.expired` for
/// those past (instead of `grant.expiring`, if it was never sent), then `grant.expiring` for
/// those within `expiring_days`. Each notice is claimed with a conditional update, so that
/// several instances sweeping at once send each one once. Answers how many were sent.
pub fn sweep_grant_expiry(conn: &mut DbConnection, expiring_days: i64) -> Result<usize, Error> {
    const BATCH: i64 = 200;
    let now = Timestamp::now();
    let soon = Timestamp(Utc::now() + chrono::Duration::days(expiring_days));
    let mut sent = 0;
    crate::db::transaction(conn, |conn| {
        let expired: Vec<GrantRow> = grants::table
            .filter(grants::expiry_notice.eq_any(["pending", "expiring"]))
            .filter(grants::expires_at.le(now))
            .filter(grants::revoked_at.is_null())
            .select(GrantRow::as_select())
            .limit(BATCH)
            .load(conn)?;
        for grant in expired {
            if claim_notice(conn, grant.id, &["pending", "expiring"], "closed")? {
                self::grant(conn, EventType::GrantExpired, &grant)?;
                sent += 1;
            }
        }
        let expiring: Vec<GrantRow> = grants::table
            .filter(grants::expiry_notice.eq("pending"))
            .filter(grants::expires_at.le(soon))
            .filter(grants::expires_at.gt(now))
            .filter(grants::revoked_at.is_null())
            .select(GrantRow::as_select())
            .limit(BATCH)
            .load(conn)?;
        for grant in expiring {
            if claim_notice(conn, grant.id, &["pending"], "expiring")? {
                self::grant(conn, EventType::GrantExpiring, &grant)?;
                sent += 1;
            }
        }
        Ok(sent)
    })
}

fn claim_notice(
    conn: &mut DbConnection,
    grant_id: Id,
    from: &[&str],
    to: &str,
) -> Result<bool, Error> {
    let updated = diesel::update(
        grants::table
            .find(grant_id)
            .filter(grants::expiry_notice.eq_any(from)),
    )
    .set(grants::expiry_notice.eq(to))
    .execute(conn)?;
    Ok(updated == 1)
}
