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

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::web;
use diesel::prelude::*;
use rand::Rng;
use tokio::sync::mpsc;

use super::model::{DeliveryStatus, WebhookStatus};
use super::sealing::SecretSeal;
use super::subscriptions::WebhookRow;
use super::{deliveries, signing, target};
use crate::config::WebhookSettings;
use crate::db::DbConnection;
use crate::db::schema::{webhook_attempts, webhook_deliveries, webhooks};
use crate::db::types::{Id, Json, Timestamp};
use crate::error::Error;
use crate::http::AppState;
use crate::http::metrics::Metrics;

/// Sends in flight at once from one instance, all subscriptions together.
pub const MAX_IN_FLIGHT: usize = 32;
/// Sends in flight at once to one subscription from one instance: a slow receiver holds at
/// most this many places; the others go to everybody else.
pub const MAX_IN_FLIGHT_PER_WEBHOOK: usize = 4;
/// The longest wait between two attempts.
const MAX_BACKOFF_MS: u64 = 60 * 60 * 1000;
/// The part of a receiver's answer kept for the deliveries log.
const EXCERPT_BYTES: usize = 500;

/// A delivery this instance holds the lease of.
#[derive(Debug, Clone)]
pub struct Claimed {
    id: Id,
    lock_token: Id,
    attempts: i32,
    retry_from: Timestamp,
    webhook_id: Id,
    url: String,
    secrets: Vec<String>,
    body: Vec<u8>,
}

/// What one claim took, and whether more may be due.
#[derive(Debug, Default)]
pub struct Claim {
    pub deliveries: Vec<Claimed>,
    /// The claim was cut short by the room given: claim again.
    pub more: bool,
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct Outcome {
    status_code: Option<u16>,
    error: Option<String>,
    excerpt: Option<String>,
    duration_ms: i32,
}

impl Outcome {
    fn succeeded(&self) -> bool {
        self.status_code.is_some_and(|s| (200..300).contains(&s))
    }

    fn not_sent(error: String) -> Self {
        Outcome {
            status_code: None,
            error: Some(error),
            excerpt: None,
            duration_ms: 0,
        }
    }
}

/// The sends this instance has in flight, by subscription.
#[derive(Debug, Default)]
struct InFlight {
    total: usize,
    by_webhook: HashMap<Id, usize>,
}

impl InFlight {
    fn room(&self) -> usize {
        MAX_IN_FLIGHT.saturating_sub(self.total)
    }

    fn started(&mut self, webhook_id: Id) {
        self.total += 1;
        *self.by_webhook.entry(webhook_id).or_default() += 1;
    }

    fn finished(&mut self, webhook_id: Id) {
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
    webhook_id: Id,
    done: mpsc::UnboundedSender<Id>,
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
    // Said once when the database stops answering and once when it is back, not every poll.
    let mut unreachable = false;
    let mut ticker = tokio::time::interval(Duration::from_millis(settings.poll_ms.max(10)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (done, mut finished) = mpsc::unbounded_channel::<Id>();
    let mut in_flight = InFlight::default();
    loop {
        // Woken by this instance's own changes at once, by other instances' at the next poll,
        // and by each send that ends, whose place can be taken again at once.
        tokio::select! {
            _ = ticker.tick() => {}
            _ = state.db.outbox_written() => {}
            Some(webhook_id) = finished.recv() => in_flight.finished(webhook_id),
        }
        // Sends that end together are counted together, so that one claim fills their places.
        tokio::task::yield_now().await;
        while let Ok(webhook_id) = finished.try_recv() {
            in_flight.finished(webhook_id);
        }
        if last_sweep.is_none_or(|at| at.elapsed() >= sweep_every) {
            last_sweep = Some(Instant::now());
            let days = settings.expiring_days;
            let swept = state
                .db
                .run(move |conn| {
                    // Events a crash left in the outbox before they were drained.
                    super::fanout::drain(conn)?;
                    crate::grants::expiry::sweep(conn, days)?;
                    deliveries::prune(conn)
                })
                .await;
            if let Err(error) = swept
                && !std::mem::replace(&mut unreachable, true)
            {
                tracing::warn!(%error, "grant expiry sweep or deliveries log pruning failed");
            }
        }
        // Fill the free places with what is due, from subscriptions that have room.
        while in_flight.room() > 0 {
            let (lease, seal) = (lease(&settings), state.webhook_secrets.clone());
            let (room, busy) = (in_flight.room(), in_flight.by_webhook.clone());
            let claimed = state
                .db
                .run(move |conn| claim(conn, lease, &seal, room, &busy))
                .await;
            let claimed = match claimed {
                Ok(claimed) => {
                    if std::mem::replace(&mut unreachable, false) {
                        tracing::info!("webhook delivery resumed");
                    }
                    claimed
                }
                Err(error) => {
                    if !std::mem::replace(&mut unreachable, true) {
                        tracing::warn!(%error, "webhook delivery paused: cannot claim deliveries");
                    }
                    break;
                }
            };
            for delivery in claimed.deliveries {
                in_flight.started(delivery.webhook_id);
                let place = Place {
                    webhook_id: delivery.webhook_id,
                    done: done.clone(),
                };
                let (client, db, settings) = (client.clone(), state.db.clone(), settings.clone());
                let metrics = metrics.clone();
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
                    // Only now, with the attempt recorded and the lease released, may the
                    // place be claimed again.
                    drop(place);
                });
            }
            if !claimed.more {
                break;
            }
        }
    }
}

/// How long a claim holds: longer than any attempt can take (the request is cut off at the
/// timeout), with room to record it. A delivery whose instance died is sent again after this.
fn lease(settings: &WebhookSettings) -> chrono::Duration {
    chrono::Duration::seconds(2 * settings.timeout_seconds.max(1) as i64 + 5)
}

/// The HTTP client for deliveries: no redirects, no proxies, short timeouts, and a resolver
/// that refuses private addresses unless they are allowed.
fn client(settings: &WebhookSettings) -> reqwest::Result<reqwest::Client> {
    let timeout = Duration::from_secs(settings.timeout_seconds.max(1));
    reqwest::Client::builder()
        .dns_resolver(Arc::new(target::GuardedResolver {
            allow_private: settings.allow_private,
        }))
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout.min(Duration::from_secs(3)))
        .timeout(timeout)
        .user_agent(concat!(
            "learning-passport-webhooks/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
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
    busy: &HashMap<Id, usize>,
) -> Result<Claim, Error> {
    if room == 0 {
        return Ok(Claim::default());
    }
    crate::db::transaction(conn, |conn| {
        let now = Timestamp::now();
        let full: Vec<Id> = busy
            .iter()
            .filter(|(_, sending)| **sending >= MAX_IN_FLIGHT_PER_WEBHOOK)
            .map(|(id, _)| *id)
            .collect();
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
        let found: Vec<(Id, Id)> = match conn {
            // Instances skip each other's rows instead of waiting for them.
            DbConnection::Postgres(c) => due.for_update().skip_locked().load(c)?,
            // One writer at a time: the transaction began IMMEDIATE.
            DbConnection::Sqlite(c) => due.load(c)?,
        };
        let more = found.len() == room;
        let mut taking: HashMap<Id, usize> = HashMap::new();
        let ids: Vec<Id> = found
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
            .collect();
        if ids.is_empty() {
            return Ok(Claim {
                deliveries: Vec::new(),
                more,
            });
        }
        let token = Id::new();
        diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&ids)))
            .set((
                webhook_deliveries::locked_until.eq(Some(Timestamp(now.0 + lease))),
                webhook_deliveries::lock_token.eq(Some(token)),
            ))
            .execute(conn)?;
        let rows: Vec<((Id, i32, Timestamp, Json), WebhookRow)> = webhook_deliveries::table
            .inner_join(webhooks::table)
            .filter(webhook_deliveries::id.eq_any(&ids))
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
        let deliveries = rows
            .into_iter()
            .map(|((id, attempts, retry_from, payload), webhook)| Claimed {
                id,
                lock_token: token,
                attempts,
                retry_from,
                webhook_id: webhook.id,
                // A secret this instance cannot open (another keys folder, or sealed for
                // another subscription) leaves none: the attempt fails and says so, rather
                // than going out unsigned.
                secrets: webhook
                    .signing_secrets(now)
                    .into_iter()
                    .map(|sealed| seal.unseal(webhook.id, sealed))
                    .collect::<Result<Vec<_>, _>>()
                    .unwrap_or_default(),
                url: webhook.url,
                body: serde_json::to_vec(&payload.0).unwrap_or_default(),
            })
            .collect();
        Ok(Claim { deliveries, more })
    })
}

/// One attempt: the URL is checked again (an address written into it is not resolved, so
/// the resolver cannot refuse it), then the request is signed and sent. Why an attempt failed
/// is recorded as a category the organisation may read; the particulars, which may name
/// addresses inside the service's network, go to the service log only.
pub async fn send(client: &reqwest::Client, delivery: &Claimed, allow_private: bool) -> Outcome {
    let started = Instant::now();
    let elapsed = |started: Instant| started.elapsed().as_millis().min(i32::MAX as u128) as i32;
    if delivery.secrets.is_empty() {
        tracing::warn!(
            delivery_id = %delivery.id,
            webhook_id = %delivery.webhook_id,
            "webhook not sent: its signing secret cannot be opened with this instance's key \
             for this subscription"
        );
        return Outcome::not_sent(
            "not sent: the signing secret cannot be opened with this instance's key \
             (every instance must share the keys folder)"
                .into(),
        );
    }
    if let Err(why) = target::check_url(&delivery.url, allow_private) {
        tracing::warn!(
            delivery_id = %delivery.id,
            webhook_id = %delivery.webhook_id,
            reason = %why,
            "webhook not sent: its URL is refused"
        );
        return Outcome::not_sent(format!("not sent: the URL {why}"));
    }
    let id = delivery.id.0.to_string();
    let timestamp = chrono::Utc::now().timestamp();
    let secrets: Vec<&str> = delivery.secrets.iter().map(String::as_str).collect();
    let signature = signing::signature_header(&secrets, &id, timestamp, &delivery.body);
    let sent = client
        .post(&delivery.url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(delivery.body.clone())
        .send()
        .await;
    match sent {
        Ok(mut response) => {
            let status = response.status().as_u16();
            let mut excerpt = Vec::new();
            while excerpt.len() < EXCERPT_BYTES {
                match response.chunk().await {
                    Ok(Some(bytes)) => excerpt.extend_from_slice(&bytes),
                    _ => break,
                }
            }
            excerpt.truncate(EXCERPT_BYTES);
            let excerpt = String::from_utf8_lossy(&excerpt).trim().to_owned();
            Outcome {
                status_code: Some(status),
                error: None,
                excerpt: (!excerpt.is_empty()).then_some(excerpt),
                duration_ms: elapsed(started),
            }
        }
        Err(error) => {
            let failure = Failure::of(&error);
            let host = url::Url::parse(&delivery.url)
                .ok()
                .and_then(|url| url.host_str().map(str::to_owned))
                .unwrap_or_default();
            if failure == Failure::NoUsableAddress {
                tracing::warn!(
                    delivery_id = %delivery.id,
                    webhook_id = %delivery.webhook_id,
                    %host,
                    detail = %failure_detail(&error),
                    "webhook not sent: its host resolves to no address that may receive webhooks"
                );
            } else {
                tracing::info!(
                    delivery_id = %delivery.id,
                    webhook_id = %delivery.webhook_id,
                    %host,
                    detail = %failure_detail(&error),
                    "webhook attempt failed: {}",
                    failure.describe()
                );
            }
            Outcome {
                status_code: None,
                error: Some(failure.describe().to_owned()),
                excerpt: None,
                duration_ms: elapsed(started),
            }
        }
    }
}

/// Why a request got no answer, as the organisation is told it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    NoUsableAddress,
    TimedOut,
    CouldNotConnect,
    Tls,
    Other,
}

impl Failure {
    fn of(error: &reqwest::Error) -> Self {
        let (mut no_address, mut tls) = (false, false);
        for cause in causes(error) {
            no_address |= cause.is::<target::NoUsableAddress>();
            tls |= cause.is::<rustls::Error>();
        }
        if no_address {
            Failure::NoUsableAddress
        } else if error.is_timeout() {
            Failure::TimedOut
        } else if tls {
            Failure::Tls
        } else if error.is_connect() {
            Failure::CouldNotConnect
        } else {
            Failure::Other
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Failure::NoUsableAddress => {
                "not sent: the URL's host resolves to no address that may receive webhooks"
            }
            Failure::TimedOut => "timed out",
            Failure::CouldNotConnect => "could not connect",
            Failure::Tls => "TLS handshake failed",
            Failure::Other => "failed",
        }
    }
}

/// The errors under a request's error. An I/O error's own `source` skips the error it
/// carries (where rustls puts its own), so the walk goes through that one instead.
fn causes(error: &reqwest::Error) -> Vec<&(dyn std::error::Error + 'static)> {
    let mut found = Vec::new();
    let mut next = std::error::Error::source(error);
    while let Some(cause) = next {
        found.push(cause);
        next = match cause
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(carried) => Some(carried as &(dyn std::error::Error + 'static)),
            None => cause.source(),
        };
    }
    found
}

/// What went wrong, for the service log: the causes without the URL (whose path or query may
/// carry the receiver's own token), and the resolver's addresses.
fn failure_detail(error: &reqwest::Error) -> String {
    causes(error)
        .iter()
        .map(
            |cause| match cause.downcast_ref::<target::NoUsableAddress>() {
                Some(refused) => refused.detail().to_owned(),
                None => cause.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join(": ")
}

/// The wait before the next attempt after `attempts` failures: doubling from the base, at most
/// an hour, times a random factor between ½ and 1½ so that receivers coming back are not hit
/// by every retry at once.
fn backoff(settings: &WebhookSettings, attempts: i32) -> chrono::Duration {
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
        let exists = webhook_deliveries::table
            .find(delivery.id)
            .select(webhook_deliveries::id)
            .first::<Id>(conn)
            .optional()?
            .is_some();
        if !exists {
            return Ok(None);
        }
        diesel::insert_into(webhook_attempts::table)
            .values((
                webhook_attempts::id.eq(Id::new()),
                webhook_attempts::delivery_id.eq(delivery.id),
                webhook_attempts::attempted_at.eq(now),
                webhook_attempts::duration_ms.eq(outcome.duration_ms),
                webhook_attempts::status_code.eq(outcome.status_code.map(i32::from)),
                webhook_attempts::error.eq(&outcome.error),
                webhook_attempts::response_excerpt.eq(&outcome.excerpt),
            ))
            .execute(conn)?;
        let ours = webhook_deliveries::table
            .find(delivery.id)
            .filter(webhook_deliveries::lock_token.eq(delivery.lock_token));
        let attempts = delivery.attempts + 1;
        let released = (
            webhook_deliveries::attempts.eq(attempts),
            webhook_deliveries::locked_until.eq(None::<Timestamp>),
            webhook_deliveries::lock_token.eq(None::<Id>),
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
            // The receiver is back: no longer failing, and what it missed is told by the count
            // it has been able to read until now.
            diesel::update(
                webhooks::table.find(delivery.webhook_id).filter(
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

#[cfg(test)]
mod tests {
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
