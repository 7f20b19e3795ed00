//! Recording an attempt: delivered, retried later with backoff and jitter, or given up.

use crate::db::ids::{AttemptId, DeliveryId, LockToken, WebhookId};
use diesel::prelude::*;
use rand::Rng;

use super::{Claimed, MAX_BACKOFF_MS, Outcome};
use crate::config::WebhookSettings;
use crate::db::DbConnection;
use crate::db::schema::{webhook_attempts, webhook_deliveries, webhooks};
use crate::db::types::Timestamp;
use crate::error::Error;
use crate::webhooks::deliveries;
use crate::webhooks::model::DeliveryStatus;

/// The wait before the next attempt after `attempts` failures: doubling from the base, at most
/// an hour, times a random factor between ½ and 1½ so that receivers coming back are not hit
/// by every retry at once.
pub(super) fn backoff(settings: &WebhookSettings, attempts: i32) -> chrono::Duration {
    let doubling = 2u64.saturating_pow(attempts.saturating_sub(1).max(0) as u32);
    let base = settings
        .retry_base_ms
        .saturating_mul(doubling)
        .min(MAX_BACKOFF_MS);
    let jittered = (base as f64 * rand::thread_rng().gen_range(0.5..1.5)) as i64;
    chrono::Duration::milliseconds(jittered.max(1))
}

/// Records an attempt and decides what follows: delivered, another try later, or given up
/// (and the subscription marked failing); answers which, or `None` when the delivery is gone
/// (erased with its person meanwhile). Nothing changes if the lease was lost meanwhile.
pub fn finish(
    conn: &mut DbConnection,
    delivery: &Claimed,
    outcome: &Outcome,
    settings: &WebhookSettings,
) -> Result<Option<&'static str>, Error> {
    crate::db::transaction(conn, |conn| {
        let now = Timestamp::now();
        if !attempted(conn, delivery, outcome, now)? {
            return Ok(None);
        }
        let ours = webhook_deliveries::table
            .find(delivery.id)
            .filter(webhook_deliveries::lock_token.eq(delivery.lock_token));
        let attempts = delivery.attempts + 1;
        let released = (
            webhook_deliveries::attempts.eq(attempts),
            webhook_deliveries::locked_until.eq(None::<Timestamp>),
            webhook_deliveries::lock_token.eq(None::<LockToken>),
        );
        let retry_until =
            Timestamp(delivery.retry_from.0 + chrono::Duration::hours(settings.retry_hours as i64));
        if outcome.succeeded() {
            let updated = diesel::update(ours)
                .set((
                    released,
                    webhook_deliveries::status.eq(DeliveryStatus::Delivered.as_str()),
                    webhook_deliveries::delivered_at.eq(Some(now)),
                ))
                .execute(conn)?;
            receiver_back(conn, delivery.webhook_id)?;
            if updated == 1 {
                deliveries::redact_if_erasure(conn, delivery.id)?;
            }
            Ok(Some("delivered"))
        } else if now >= retry_until {
            let updated = diesel::update(ours)
                .set((
                    released,
                    webhook_deliveries::status.eq(DeliveryStatus::Failed.as_str()),
                ))
                .execute(conn)?;
            if updated == 1 {
                diesel::update(
                    webhooks::table
                        .find(delivery.webhook_id)
                        .filter(webhooks::failing_since.is_null()),
                )
                .set(webhooks::failing_since.eq(Some(now)))
                .execute(conn)?;
                deliveries::redact_if_erasure(conn, delivery.id)?;
            }
            Ok(Some("failed"))
        } else {
            diesel::update(ours)
                .set((
                    released,
                    webhook_deliveries::next_attempt_at
                        .eq(Timestamp(now.0 + backoff(settings, attempts))),
                ))
                .execute(conn)?;
            Ok(Some("retrying"))
        }
    })
}

/// Adds an attempt to the delivery's log; answers whether the delivery is still there (it
/// is gone when erased with its person meanwhile).
fn attempted(
    conn: &mut DbConnection,
    delivery: &Claimed,
    outcome: &Outcome,
    now: Timestamp,
) -> Result<bool, Error> {
    let exists = webhook_deliveries::table
        .find(delivery.id)
        .select(webhook_deliveries::id)
        .first::<DeliveryId>(conn)
        .optional()?
        .is_some();
    if exists {
        diesel::insert_into(webhook_attempts::table)
            .values((
                webhook_attempts::id.eq(AttemptId::new()),
                webhook_attempts::delivery_id.eq(delivery.id),
                webhook_attempts::attempted_at.eq(now),
                webhook_attempts::duration_ms.eq(outcome.duration_ms),
                webhook_attempts::status_code.eq(outcome.status_code.map(i32::from)),
                webhook_attempts::error.eq(&outcome.error),
                webhook_attempts::response_excerpt.eq(&outcome.excerpt),
            ))
            .execute(conn)?;
    }
    Ok(exists)
}

/// The receiver is back: no longer failing, and what it missed is told by the count it has
/// been able to read until now.
fn receiver_back(conn: &mut DbConnection, webhook_id: WebhookId) -> Result<(), Error> {
    diesel::update(
        webhooks::table.find(webhook_id).filter(
            webhooks::failing_since
                .is_not_null()
                .or(webhooks::events_dropped.ne(0)),
        ),
    )
    .set((
        webhooks::failing_since.eq(None::<Timestamp>),
        webhooks::events_dropped.eq(0),
    ))
    .execute(conn)?;
    Ok(())
}
