//! The delivery worker: claims due deliveries from the outbox, sends them signed, records each
//! attempt, and retries failures with exponential backoff and jitter until the retry period
//! ends. Every instance may run one: a claim is a lease (with `FOR UPDATE SKIP LOCKED` on
//! PostgreSQL; SQLite has a single writer), so no delivery is sent by two instances at once,
//! and a delivery whose instance died is sent again, with the same `webhook-id`, once its lease
//! runs out.
//!
//! Sends run concurrently, and fairly between organisations: a slow receiver may hold only a
//! few of the places ([`MAX_IN_FLIGHT_PER_WEBHOOK`]), and a place is claimed again as soon as
//! its send is recorded, so one organisation's slow or silent receiver does not hold up what
//! the others are owed (a `grant.revoked` above all).

mod claim;
mod record;
mod send;

use crate::db::ids::WebhookId;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::web;
use tokio::sync::mpsc;

use self::claim::lease;
use self::send::client;
use super::deliveries;
use crate::config::WebhookSettings;
use crate::http::AppState;
use crate::http::metrics::Metrics;

pub use claim::{Claim, Claimed, claim};
pub use record::finish;
pub use send::{Outcome, send};

/// Sends in flight at once from one instance, all subscriptions together.
pub const MAX_IN_FLIGHT: usize = 32;
/// Sends in flight at once to one subscription from one instance: a slow receiver holds at
/// most this many places; the others go to everybody else.
pub const MAX_IN_FLIGHT_PER_WEBHOOK: usize = 4;
/// The longest wait between two attempts.
const MAX_BACKOFF_MS: u64 = 60 * 60 * 1000;
/// The part of a receiver's answer kept for the deliveries log.
const EXCERPT_BYTES: usize = 500;

/// The sends this instance has in flight, by subscription.
#[derive(Debug, Default)]
struct InFlight {
    total: usize,
    by_webhook: HashMap<WebhookId, usize>,
}

impl InFlight {
    fn room(&self) -> usize {
        MAX_IN_FLIGHT.saturating_sub(self.total)
    }

    fn started(&mut self, webhook_id: WebhookId) {
        self.total += 1;
        *self.by_webhook.entry(webhook_id).or_default() += 1;
    }

    fn finished(&mut self, webhook_id: WebhookId) {
        self.total = self.total.saturating_sub(1);
        if let Some(count) = self.by_webhook.get_mut(&webhook_id) {
            *count -= 1;
            if *count == 0 {
                self.by_webhook.remove(&webhook_id);
            }
        }
    }
}

/// Gives a send's place back when the send is over, however it ended.
struct Place {
    webhook_id: WebhookId,
    done: mpsc::UnboundedSender<WebhookId>,
}

impl Drop for Place {
    fn drop(&mut self) {
        // The worker outlives its sends; if it is gone, there is nobody to tell.
        let _ = self.done.send(self.webhook_id);
    }
}

/// Starts the worker on the current runtime, unless this instance is set not to deliver.
pub fn spawn(state: web::Data<AppState>, metrics: Arc<Metrics>) {
    if state.settings.webhooks.worker {
        actix_web::rt::spawn(run(state, metrics));
    }
}

async fn run(state: web::Data<AppState>, metrics: Arc<Metrics>) {
    let settings = state.settings.webhooks.clone();
    let client = match client(&settings) {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "webhook delivery is off: no HTTP client");
            return;
        }
    };
    let sweep_every = Duration::from_secs(settings.sweep_seconds.max(1));
    let mut last_sweep: Option<Instant> = None;
    let mut ticker = tokio::time::interval(Duration::from_millis(settings.poll_ms.max(10)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (done, mut finished) = mpsc::unbounded_channel::<WebhookId>();
    let mut worker = Worker {
        state,
        metrics,
        client,
        settings,
        done,
        in_flight: InFlight::default(),
        unreachable: false,
    };
    loop {
        // Woken by this instance's own changes at once, by other instances' at the next poll,
        // and by each send that ends, whose place can be taken again at once.
        tokio::select! {
            _ = ticker.tick() => {}
            _ = worker.state.db.outbox_written() => {}
            Some(webhook_id) = finished.recv() => worker.in_flight.finished(webhook_id),
        }
        // Sends that end together are counted together, so that one claim fills their places.
        tokio::task::yield_now().await;
        while let Ok(webhook_id) = finished.try_recv() {
            worker.in_flight.finished(webhook_id);
        }
        if last_sweep.is_none_or(|at| at.elapsed() >= sweep_every) {
            last_sweep = Some(Instant::now());
            worker.sweep().await;
        }
        worker.fill().await;
    }
}

/// One instance's worker, between two wake-ups.
struct Worker {
    state: web::Data<AppState>,
    metrics: Arc<Metrics>,
    client: reqwest::Client,
    settings: WebhookSettings,
    /// Told the subscription of each send that ends.
    done: mpsc::UnboundedSender<WebhookId>,
    in_flight: InFlight,
    /// Said once when the database stops answering and once when it is back, not every poll.
    unreachable: bool,
}

impl Worker {
    /// Events a crash left in the outbox, grant expiry notices, and the deliveries log's
    /// pruning.
    async fn sweep(&mut self) {
        let days = self.settings.expiring_days;
        let swept = self
            .state
            .db
            .run(move |conn| {
                super::fanout::drain(conn)?;
                crate::grants::expiry::sweep(conn, days)?;
                crate::access_requests::expiry::sweep(conn)?;
                deliveries::prune(conn)
            })
            .await;
        if let Err(error) = swept
            && !std::mem::replace(&mut self.unreachable, true)
        {
            tracing::warn!(%error, "expiry sweep (grants, access requests) or deliveries log pruning failed");
        }
    }

    /// Fills the free places with what is due, from subscriptions that have room.
    async fn fill(&mut self) {
        while self.in_flight.room() > 0 {
            let (lease, seal) = (lease(&self.settings), self.state.webhook_secrets.clone());
            let (room, busy) = (self.in_flight.room(), self.in_flight.by_webhook.clone());
            let claimed = self
                .state
                .db
                .run(move |conn| claim(conn, lease, &seal, room, &busy))
                .await;
            let claimed = match claimed {
                Ok(claimed) => {
                    if std::mem::replace(&mut self.unreachable, false) {
                        tracing::info!("webhook delivery resumed");
                    }
                    claimed
                }
                Err(error) => {
                    if !std::mem::replace(&mut self.unreachable, true) {
                        tracing::warn!(%error, "webhook delivery paused: cannot claim deliveries");
                    }
                    return;
                }
            };
            for delivery in claimed.deliveries {
                self.start(delivery);
            }
            if !claimed.more {
                return;
            }
        }
    }

    /// Sends one delivery in the background and records the attempt; its place is free again
    /// only once the attempt is recorded and the lease released.
    fn start(&mut self, delivery: Claimed) {
        self.in_flight.started(delivery.webhook_id);
        let place = Place {
            webhook_id: delivery.webhook_id,
            done: self.done.clone(),
        };
        let (client, db) = (self.client.clone(), self.state.db.clone());
        let (settings, metrics) = (self.settings.clone(), self.metrics.clone());
        actix_web::rt::spawn(async move {
            let outcome = send(&client, &delivery, settings.allow_private).await;
            let seconds = f64::from(outcome.duration_ms) / 1000.0;
            let id = delivery.id;
            match db
                .run(move |conn| finish(conn, &delivery, &outcome, &settings))
                .await
            {
                Ok(Some(next)) => metrics.webhook_attempt(next, seconds),
                Ok(None) => {}
                Err(error) => tracing::warn!(
                    delivery_id = %id,
                    %error,
                    "could not record a webhook attempt"
                ),
            }
            drop(place);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::record::backoff;
    use super::send::Failure;
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let settings = WebhookSettings {
            retry_base_ms: 1000,
            ..Default::default()
        };
        for (attempts, nominal) in [(1, 1000), (2, 2000), (3, 4000), (6, 32000)] {
            let wait = backoff(&settings, attempts).num_milliseconds();
            assert!(
                (nominal / 2..=nominal * 3 / 2).contains(&wait),
                "attempt {attempts}: {wait} ms"
            );
        }
        let wait = backoff(&settings, 40).num_milliseconds() as u64;
        assert!(wait <= MAX_BACKOFF_MS * 3 / 2);
    }

    async fn failure(url: &str, allow_private: bool) -> Failure {
        let settings = WebhookSettings {
            allow_private,
            timeout_seconds: 2,
            ..Default::default()
        };
        let error = client(&settings)
            .unwrap()
            .post(url)
            .send()
            .await
            .expect_err("no receiver there");
        let failure = Failure::of(&error);
        // Whatever happened, the organisation reads no address.
        assert!(!failure.describe().contains("127.0.0.1"));
        failure
    }

    #[actix_web::test]
    async fn a_name_resolving_to_a_private_address_is_told_as_a_category() {
        assert_eq!(
            failure("https://localhost:9/hook", false).await,
            Failure::NoUsableAddress
        );
    }

    #[actix_web::test]
    async fn refused_connections_and_failed_handshakes_are_told_apart() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed_port = closed.local_addr().unwrap().port();
        drop(closed);
        assert_eq!(
            failure(&format!("https://127.0.0.1:{closed_port}/"), true).await,
            Failure::CouldNotConnect
        );
        // A plain HTTP server where TLS was expected.
        let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let plain_port = plain.local_addr().unwrap().port();
        actix_web::rt::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut socket, _)) = plain.accept().await {
                let mut buffer = [0u8; 1024];
                let _ = socket.read(&mut buffer).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                    .await;
            }
        });
        assert_eq!(
            failure(&format!("https://127.0.0.1:{plain_port}/"), true).await,
            Failure::Tls
        );
    }
}
