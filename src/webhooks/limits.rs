//! Bounds on what one subscription can queue, so that a receiver that is down or slow, or an
//! organisation pressing "send" in a loop, cannot fill the outbox and cost every other
//! organisation its deliveries.

use crate::db::ids::{DeliveryId, WebhookId};
use std::time::Instant;

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use crate::db::DbConnection;
use crate::db::schema::webhook_deliveries;
use crate::error::Error;
use crate::http::limits::Buckets;

/// Deliveries that may wait for one subscription; events beyond are dropped for it (and
/// counted in its `events_dropped`).
pub const MAX_PENDING: i64 = 10_000;

/// A test or a re-send is refused while this many deliveries wait for the subscription: more
/// of them cannot help a receiver that is not keeping up.
pub const MAX_PENDING_FOR_MANUAL: i64 = 100;

/// Manual sends (tests, re-sends) per subscription and minute, on average.
const MANUAL_PER_MINUTE: u32 = 10;
/// Manual sends a subscription may make at once after a quiet spell.
const MANUAL_BURST: f64 = 5.0;
/// Subscriptions remembered by the limiter at most.
const MAX_TRACKED: usize = 10_000;

/// The pending filter written out, not bound: SQLite uses a partial index only when the
/// query repeats its condition literally, and PostgreSQL's generic plans likewise.
fn pending() -> diesel::expression::SqlLiteral<Bool> {
    sql::<Bool>("status = 'pending'")
}

/// Whether at least `limit` deliveries wait for a subscription. Reads at most `limit` entries
/// of the pending index, however long the queue.
pub fn pending_at_least(
    conn: &mut DbConnection,
    webhook_id: WebhookId,
    limit: i64,
) -> Result<bool, Error> {
    let nth: Option<DeliveryId> = webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .filter(pending())
        .select(webhook_deliveries::id)
        .offset(limit - 1)
        .limit(1)
        .first(conn)
        .optional()?;
    Ok(nth.is_some())
}

/// Manual sends per subscription: a token bucket each, in this instance's memory (a
/// protection, not a matter of correctness, so instances need not agree), in a bounded store.
pub struct ManualSends {
    buckets: Buckets,
}

impl Default for ManualSends {
    fn default() -> Self {
        ManualSends {
            buckets: Buckets::new(MANUAL_PER_MINUTE, MANUAL_BURST, MAX_TRACKED),
        }
    }
}

impl ManualSends {
    /// Takes one send from the subscription's bucket; refused with how long to wait.
    pub fn take(&self, webhook_id: WebhookId) -> Result<(), Error> {
        self.take_at(webhook_id, Instant::now())
    }

    fn take_at(&self, webhook_id: WebhookId, now: Instant) -> Result<(), Error> {
        match self.buckets.take_at(&webhook_id, now) {
            None => Ok(()),
            Some(wait) => Err(Error::TooManyRequests(wait)),
        }
    }

    fn tracked(&self) -> usize {
        self.buckets.len()
    }
}

impl std::fmt::Debug for ManualSends {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ManualSends({} subscriptions)", self.tracked())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_burst_then_the_steady_rate() {
        let sends = ManualSends::default();
        let (webhook, start) = (WebhookId::new(), Instant::now());
        for _ in 0..5 {
            sends.take_at(webhook, start).unwrap();
        }
        let Err(Error::TooManyRequests(wait)) = sends.take_at(webhook, start) else {
            panic!("the sixth send at once was allowed");
        };
        assert_eq!(wait, 6, "one send every six seconds");
        // Another subscription has its own budget.
        sends.take_at(WebhookId::new(), start).unwrap();
        sends
            .take_at(webhook, start + Duration::from_secs(6))
            .unwrap();
        assert!(
            sends
                .take_at(webhook, start + Duration::from_secs(7))
                .is_err()
        );
    }

    #[test]
    fn the_map_stays_bounded_and_forgets_spent_buckets_last() {
        let sends = ManualSends::default();
        let start = Instant::now();
        for _ in 0..MAX_TRACKED - 1 {
            sends.take_at(WebhookId::new(), start).unwrap();
        }
        let busy = WebhookId::new();
        let spent = start + Duration::from_secs(1);
        for _ in 0..5 {
            sends.take_at(busy, spent).unwrap();
        }
        let later = start + Duration::from_secs(2);
        for _ in 0..100 {
            sends.take_at(WebhookId::new(), later).unwrap();
        }
        assert!(sends.tracked() <= MAX_TRACKED);
        assert!(
            sends.take_at(busy, later).is_err(),
            "a spent bucket was forgotten"
        );
    }
}
