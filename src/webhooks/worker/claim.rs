//! Claiming due deliveries under a lease, fairly between subscriptions.

use crate::db::ids::{DeliveryId, LockToken, WebhookId};
use std::collections::HashMap;

use diesel::prelude::*;

use super::MAX_IN_FLIGHT_PER_WEBHOOK;
use crate::config::WebhookSettings;
use crate::db::DbConnection;
use crate::db::schema::{webhook_deliveries, webhooks};
use crate::db::types::{Json, Timestamp};
use crate::error::Error;
use crate::webhooks::model::{DeliveryStatus, WebhookStatus};
use crate::webhooks::sealing::SecretSeal;
use crate::webhooks::subscriptions::WebhookRow;

/// A delivery this instance holds the lease of.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub(super) id: DeliveryId,
    pub(super) lock_token: LockToken,
    pub(super) attempts: i32,
    pub(super) retry_from: Timestamp,
    pub(super) webhook_id: WebhookId,
    pub(super) url: String,
    pub(super) secrets: Vec<String>,
    pub(super) body: Vec<u8>,
}

/// What one claim took, and whether more may be due.
#[derive(Debug, Default)]
pub struct Claim {
    pub deliveries: Vec<Claimed>,
    /// The claim was cut short by the room given: claim again.
    pub more: bool,
}

/// How long a claim holds: longer than any attempt can take (the request is cut off at the
/// timeout), with room to record it. A delivery whose instance died is sent again after this.
pub(super) fn lease(settings: &WebhookSettings) -> chrono::Duration {
    chrono::Duration::seconds(2 * settings.timeout_seconds.max(1) as i64 + 5)
}

/// Takes the lease of up to `room` due deliveries of active subscriptions, oldest due first,
/// with their signing secrets opened; no more for a subscription than its free places (`busy`
/// says how many of its sends this instance has in flight). Subscriptions at their limit are
/// passed over, so that their backlog does not fill the claim.
pub fn claim(
    conn: &mut DbConnection,
    lease: chrono::Duration,
    seal: &SecretSeal,
    room: usize,
    busy: &HashMap<WebhookId, usize>,
) -> Result<Claim, Error> {
    if room == 0 {
        return Ok(Claim::default());
    }
    crate::db::transaction(conn, |conn| {
        let now = Timestamp::now();
        let full: Vec<WebhookId> = busy
            .iter()
            .filter(|(_, sending)| **sending >= MAX_IN_FLIGHT_PER_WEBHOOK)
            .map(|(id, _)| *id)
            .collect();
        let found = due(conn, now, room, full)?;
        let more = found.len() == room;
        let ids = fair_share(found, busy);
        if ids.is_empty() {
            return Ok(Claim {
                deliveries: Vec::new(),
                more,
            });
        }
        let token = LockToken::new();
        diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&ids)))
            .set((
                webhook_deliveries::locked_until.eq(Some(Timestamp(now.0 + lease))),
                webhook_deliveries::lock_token.eq(Some(token)),
            ))
            .execute(conn)?;
        let deliveries = leased(conn, &ids, token, now, seal)?;
        Ok(Claim { deliveries, more })
    })
}

/// Up to `room` due deliveries (with their subscriptions) of active subscriptions not `full`,
/// oldest due first, locked for this transaction.
fn due(
    conn: &mut DbConnection,
    now: Timestamp,
    room: usize,
    full: Vec<WebhookId>,
) -> Result<Vec<(DeliveryId, WebhookId)>, Error> {
    let active = webhooks::table
        .filter(webhooks::status.eq(WebhookStatus::Active.as_str()))
        .select(webhooks::id);
    let due = webhook_deliveries::table
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
        .filter(webhook_deliveries::next_attempt_at.le(now))
        .filter(
            webhook_deliveries::locked_until
                .is_null()
                .or(webhook_deliveries::locked_until.le(now)),
        )
        .filter(webhook_deliveries::webhook_id.eq_any(active))
        .filter(webhook_deliveries::webhook_id.ne_all(full))
        .order(webhook_deliveries::next_attempt_at)
        .limit(room as i64)
        .select((webhook_deliveries::id, webhook_deliveries::webhook_id));
    Ok(match conn {
        // Instances skip each other's rows instead of waiting for them.
        DbConnection::Postgres(c) => due.for_update().skip_locked().load(c)?,
        // One writer at a time: the transaction began IMMEDIATE.
        DbConnection::Sqlite(c) => due.load(c)?,
    })
}

/// The deliveries among `found` that fit their subscription's free places.
fn fair_share(
    found: Vec<(DeliveryId, WebhookId)>,
    busy: &HashMap<WebhookId, usize>,
) -> Vec<DeliveryId> {
    let mut taking: HashMap<WebhookId, usize> = HashMap::new();
    found
        .into_iter()
        .filter(|(_, webhook_id)| {
            let taken = taking.entry(*webhook_id).or_default();
            if busy.get(webhook_id).copied().unwrap_or(0) + *taken < MAX_IN_FLIGHT_PER_WEBHOOK {
                *taken += 1;
                true
            } else {
                false
            }
        })
        .map(|(id, _)| id)
        .collect()
}

/// The leased deliveries, ready to send.
fn leased(
    conn: &mut DbConnection,
    ids: &[DeliveryId],
    token: LockToken,
    now: Timestamp,
    seal: &SecretSeal,
) -> Result<Vec<Claimed>, Error> {
    let rows: Vec<((DeliveryId, i32, Timestamp, Json), WebhookRow)> = webhook_deliveries::table
        .inner_join(webhooks::table)
        .filter(webhook_deliveries::id.eq_any(ids))
        .select((
            (
                webhook_deliveries::id,
                webhook_deliveries::attempts,
                webhook_deliveries::retry_from,
                webhook_deliveries::payload,
            ),
            WebhookRow::as_select(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|((id, attempts, retry_from, payload), webhook)| Claimed {
            id,
            lock_token: token,
            attempts,
            retry_from,
            webhook_id: webhook.id,
            // A secret this instance cannot open (another keys folder, or sealed for another
            // subscription) leaves none: the attempt fails and says so, rather than going out
            // unsigned.
            secrets: webhook
                .signing_secrets(now)
                .into_iter()
                .map(|sealed| seal.unseal(webhook.id, sealed))
                .collect::<Result<Vec<_>, _>>()
                .unwrap_or_default(),
            url: webhook.url,
            body: serde_json::to_vec(&payload.0).unwrap_or_default(),
        })
        .collect())
}
