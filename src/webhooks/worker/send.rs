//! One attempt: the request signed and sent, and why it failed in words the organisation may read.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Claimed, EXCERPT_BYTES};
use crate::config::WebhookSettings;
use crate::webhooks::{signing, target};

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub(super) status_code: Option<u16>,
    pub(super) error: Option<String>,
    pub(super) excerpt: Option<String>,
    pub(super) duration_ms: i32,
}

impl Outcome {
    pub(super) fn succeeded(&self) -> bool {
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

/// The HTTP client for deliveries: no redirects, no proxies, short timeouts, and a resolver
/// that refuses private addresses unless they are allowed.
pub(super) fn client(settings: &WebhookSettings) -> reqwest::Result<reqwest::Client> {
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
        Ok(response) => {
            let status = response.status().as_u16();
            let excerpt = excerpt(response).await;
            Outcome {
                status_code: Some(status),
                error: None,
                excerpt,
                duration_ms: elapsed(started),
            }
        }
        Err(error) => {
            let failure = Failure::of(&error);
            log_failure(delivery, failure, &error);
            Outcome {
                status_code: None,
                error: Some(failure.describe().to_owned()),
                excerpt: None,
                duration_ms: elapsed(started),
            }
        }
    }
}

/// The start of the receiver's answer, for the deliveries log.
async fn excerpt(mut response: reqwest::Response) -> Option<String> {
    let mut excerpt = Vec::new();
    while excerpt.len() < EXCERPT_BYTES {
        match response.chunk().await {
            Ok(Some(bytes)) => excerpt.extend_from_slice(&bytes),
            _ => break,
        }
    }
    excerpt.truncate(EXCERPT_BYTES);
    let excerpt = String::from_utf8_lossy(&excerpt).trim().to_owned();
    (!excerpt.is_empty()).then_some(excerpt)
}

/// The particulars of a failed attempt, for the service log only: they may name addresses
/// inside the service's network.
fn log_failure(delivery: &Claimed, failure: Failure, error: &reqwest::Error) {
    let host = url::Url::parse(&delivery.url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
        .unwrap_or_default();
    if failure == Failure::NoUsableAddress {
        tracing::warn!(
            delivery_id = %delivery.id,
            webhook_id = %delivery.webhook_id,
            %host,
            detail = %failure_detail(error),
            "webhook not sent: its host resolves to no address that may receive webhooks"
        );
    } else {
        tracing::info!(
            delivery_id = %delivery.id,
            webhook_id = %delivery.webhook_id,
            %host,
            detail = %failure_detail(error),
            "webhook attempt failed: {}",
            failure.describe()
        );
    }
}

/// Why a request got no answer, as the organisation is told it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Failure {
    NoUsableAddress,
    TimedOut,
    CouldNotConnect,
    Tls,
    Other,
}

impl Failure {
    pub(super) fn of(error: &reqwest::Error) -> Self {
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

    pub(super) fn describe(self) -> &'static str {
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
pub(super) fn causes(error: &reqwest::Error) -> Vec<&(dyn std::error::Error + 'static)> {
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
pub(super) fn failure_detail(error: &reqwest::Error) -> String {
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
