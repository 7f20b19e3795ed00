//! A subscription's deliveries log, and re-sending by hand.

use crate::db::ids::{DeliveryId, OrganisationId, PersonId, WebhookId};
use std::collections::HashMap;

use diesel::prelude::*;

use super::limits::{self, MAX_PENDING_FOR_MANUAL, ManualSends};
use super::model::*;
use super::subscriptions;
use crate::db::DbConnection;
use crate::db::schema::{webhook_attempts, webhook_deliveries};
use crate::db::types::{Json, Timestamp};
use crate::error::Error;
use crate::http::pagination::{List, Page};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
struct DeliveryRow {
    id: DeliveryId,
    payload: Json,
    status: String,
    next_attempt_at: Timestamp,
    created_at: Timestamp,
    delivered_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Queryable)]
struct AttemptRow {
    delivery_id: DeliveryId,
    attempted_at: Timestamp,
    duration_ms: i32,
    status_code: Option<i32>,
    error: Option<String>,
    response_excerpt: Option<String>,
}

fn view(row: DeliveryRow, attempts: Vec<DeliveryAttempt>) -> Result<Delivery, Error> {
    let payload: WebhookEvent = row
        .payload
        .parse()
        .map_err(|e| Error::Internal(format!("stored webhook event unreadable: {e}")))?;
    let status = DeliveryStatus::parse(&row.status);
    Ok(Delivery {
        id: row.id.0,
        event_type: payload.event_type,
        status,
        created_at: row.created_at.0,
        next_attempt_at: (status == DeliveryStatus::Pending).then_some(row.next_attempt_at.0),
        delivered_at: row.delivered_at.map(|t| t.0),
        payload,
        attempts,
    })
}

/// The attempts of some deliveries, oldest first: one query.
fn attempts_of(
    conn: &mut DbConnection,
    ids: &[DeliveryId],
) -> Result<HashMap<DeliveryId, Vec<DeliveryAttempt>>, Error> {
    let rows: Vec<AttemptRow> = webhook_attempts::table
        .filter(webhook_attempts::delivery_id.eq_any(ids))
        .order(webhook_attempts::id.asc())
        .select((
            webhook_attempts::delivery_id,
            webhook_attempts::attempted_at,
            webhook_attempts::duration_ms,
            webhook_attempts::status_code,
            webhook_attempts::error,
            webhook_attempts::response_excerpt,
        ))
        .load(conn)?;
    let mut by_delivery: HashMap<DeliveryId, Vec<DeliveryAttempt>> = HashMap::new();
    for row in rows {
        by_delivery
            .entry(row.delivery_id)
            .or_default()
            .push(DeliveryAttempt {
                attempted_at: row.attempted_at.0,
                duration_ms: row.duration_ms,
                status_code: row.status_code,
                error: row.error,
                response_excerpt: row.response_excerpt,
            });
    }
    Ok(by_delivery)
}

/// A subscription's deliveries, newest first, each with its attempts.
pub fn list(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    webhook_id: WebhookId,
    filter: &DeliveryFilter,
    page: Page<DeliveryId>,
) -> Result<List<Delivery>, Error> {
    subscriptions::row(conn, organisation_id, webhook_id)?;
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .select(DeliveryRow::as_select())
        .order(webhook_deliveries::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(webhook_deliveries::status.eq(status.as_str()));
    }
    if let Some(after) = page.after {
        query = query.filter(webhook_deliveries::id.lt(after));
    }
    let rows: Vec<DeliveryRow> = query.load(conn)?;
    let page_of = List::from_rows(rows, &page, |row| row.id);
    let ids: Vec<DeliveryId> = page_of.items.iter().map(|row| row.id).collect();
    let mut attempts = attempts_of(conn, &ids)?;
    let items = page_of
        .items
        .into_iter()
        .map(|row| {
            let tried = attempts.remove(&row.id).unwrap_or_default();
            view(row, tried)
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(List {
        items,
        next_cursor: page_of.next_cursor,
    })
}

/// Refuses a manual send (test or re-send) while the subscription's receiver is not keeping up,
/// then takes it from the subscription's allowance. Checked last, so that only a send that
/// would be queued uses the allowance.
fn manual_send_allowed(
    conn: &mut DbConnection,
    webhook_id: WebhookId,
    sends: &ManualSends,
) -> Result<(), Error> {
    if limits::pending_at_least(conn, webhook_id, MAX_PENDING_FOR_MANUAL)? {
        return Err(Error::Conflict(format!(
            "{MAX_PENDING_FOR_MANUAL} or more deliveries are already waiting for this \
             subscription: its receiver is not keeping up, and more would not help; check it, \
             and try again once the queue has drained"
        )));
    }
    sends.take(webhook_id)
}

/// Queues a `webhook.test` event for one subscription, whatever its event types, so that its
/// receiver can be checked.
pub fn test(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    webhook_id: WebhookId,
    sends: &ManualSends,
) -> Result<Delivery, Error> {
    crate::db::transaction(conn, |conn| {
        let subscription = subscriptions::row(conn, organisation_id, webhook_id)?;
        if subscription.status != WebhookStatus::Active.as_str() {
            return Err(Error::Conflict(
                "the subscription is paused: nothing is sent to it".into(),
            ));
        }
        manual_send_allowed(conn, webhook_id, sends)?;
        let id = super::fanout::enqueue_one(
            conn,
            &subscription,
            EventType::WebhookTest,
            EventData::Test(TestEventData {
                webhook_id: webhook_id.0,
            }),
        )?
        .ok_or_else(|| Error::Conflict("the subscription's queue is full".into()))?;
        let row: DeliveryRow = webhook_deliveries::table
            .find(id)
            .select(DeliveryRow::as_select())
            .first(conn)?;
        view(row, Vec::new())
    })
}

/// Queues a delivered or failed delivery again, now, with a fresh retry period; its
/// `webhook-id` stays the same.
pub fn resend(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    webhook_id: WebhookId,
    delivery_id: DeliveryId,
    sends: &ManualSends,
) -> Result<Delivery, Error> {
    crate::db::transaction(conn, |conn| {
        subscriptions::row(conn, organisation_id, webhook_id)?;
        let found: DeliveryRow = webhook_deliveries::table
            .find(delivery_id)
            .filter(webhook_deliveries::webhook_id.eq(webhook_id))
            .select(DeliveryRow::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| Error::NotFound("no such delivery of this subscription".into()))?;
        if DeliveryStatus::parse(&found.status) == DeliveryStatus::Pending {
            return Err(Error::Conflict(
                "the delivery is already queued: it is sent at its next attempt".into(),
            ));
        }
        if matches!(
            found
                .payload
                .parse::<WebhookEvent>()
                .map(|event| event.data),
            Ok(EventData::Redacted(_))
        ) {
            return Err(Error::Conflict(
                "the event's content was erased with the person it was about: it cannot be sent \
                 again"
                    .into(),
            ));
        }
        manual_send_allowed(conn, webhook_id, sends)?;
        let now = Timestamp::now();
        let updated = diesel::update(
            webhook_deliveries::table
                .find(delivery_id)
                .filter(webhook_deliveries::status.eq(&found.status)),
        )
        .set((
            webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()),
            webhook_deliveries::next_attempt_at.eq(now),
            webhook_deliveries::retry_from.eq(now),
        ))
        .execute(conn)?;
        if updated == 0 {
            return Err(Error::Conflict(
                "the delivery changed meanwhile: read it again".into(),
            ));
        }
        crate::db::outbox_written();
        let row: DeliveryRow = webhook_deliveries::table
            .find(delivery_id)
            .select(DeliveryRow::as_select())
            .first(conn)?;
        let mut attempts = attempts_of(conn, &[delivery_id])?;
        view(row, attempts.remove(&delivery_id).unwrap_or_default())
    })
}

/// Deletes, with their attempts, the deliveries about a person who is erasing their passport,
/// except the `person.erased` ones still to be sent: those must reach the organisations, and
/// are redacted once delivered or given up ([`redact_if_erasure`]). Answers how many went.
/// Call in the erasure's transaction, after the `person.erased` events are queued.
pub fn erase_person(conn: &mut DbConnection, person_id: PersonId) -> Result<usize, Error> {
    let still_to_tell = webhook_deliveries::event_type
        .eq(EventType::PersonErased.as_str())
        .and(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()));
    Ok(diesel::delete(
        webhook_deliveries::table
            .filter(webhook_deliveries::person_id.eq(person_id))
            .filter(diesel::dsl::not(still_to_tell)),
    )
    .execute(conn)?)
}

/// Once a `person.erased` delivery is delivered or given up, nothing of the person stays in
/// the log: its body keeps only its type and time, the receiver's answers are dropped, and it
/// no longer names the person. Other deliveries are left as they are. Answers whether it
/// redacted.
pub(crate) fn redact_if_erasure(
    conn: &mut DbConnection,
    delivery_id: DeliveryId,
) -> Result<bool, Error> {
    let found: Option<Json> = webhook_deliveries::table
        .find(delivery_id)
        .filter(webhook_deliveries::event_type.eq(EventType::PersonErased.as_str()))
        .filter(webhook_deliveries::status.ne(DeliveryStatus::Pending.as_str()))
        .select(webhook_deliveries::payload)
        .first(conn)
        .optional()?;
    let Some(payload) = found else {
        return Ok(false);
    };
    let timestamp = payload
        .parse::<WebhookEvent>()
        .map(|event| event.timestamp)
        .unwrap_or_else(|_| chrono::Utc::now());
    let redacted = Json::of(&WebhookEvent {
        event_type: EventType::PersonErased,
        timestamp,
        data: EventData::Redacted(RedactedEventData { redacted: true }),
    });
    diesel::update(webhook_deliveries::table.find(delivery_id))
        .set((
            webhook_deliveries::payload.eq(redacted),
            webhook_deliveries::person_id.eq(None::<PersonId>),
        ))
        .execute(conn)?;
    diesel::update(webhook_attempts::table.filter(webhook_attempts::delivery_id.eq(delivery_id)))
        .set(webhook_attempts::response_excerpt.eq(None::<String>))
        .execute(conn)?;
    Ok(true)
}

/// How long delivered and failed deliveries stay in the log.
pub const KEEP_DAYS: i64 = 30;

/// Removes delivered and failed deliveries (with their attempts) older than [`KEEP_DAYS`], a
/// batch at a time, walking the time-ordered primary key; answers how many went.
pub fn prune(conn: &mut DbConnection) -> Result<usize, Error> {
    let before = DeliveryId::first_at(chrono::Utc::now() - chrono::Duration::days(KEEP_DAYS));
    let old = webhook_deliveries::table
        .filter(webhook_deliveries::id.lt(before))
        .filter(webhook_deliveries::status.ne(DeliveryStatus::Pending.as_str()))
        .select(webhook_deliveries::id)
        .limit(1000);
    crate::db::transaction(conn, |conn| {
        let ids: Vec<DeliveryId> = old.load(conn)?;
        if ids.is_empty() {
            return Ok(0);
        }
        Ok(
            diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&ids)))
                .execute(conn)?,
        )
    })
}
