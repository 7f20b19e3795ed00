//! Request admission: who is calling, and whether they may call now.
//!
//! Every request is counted against a token bucket: the verified caller's (a bearer token's
//! client or person) when its token verifies, otherwise the caller's address (see
//! [`client_address`](super::client_address)). A token is verified here, once — it costs a
//! signature check, no database — and the outcome travels with the request to the extractors,
//! so that made-up credentials never get buckets of their own. Failed authentications also
//! spend the address's failed-authentication budget ([`crate::auth::attempts`]); once it is
//! spent, they are answered 429 too.
//!
//! The buckets live in each instance's memory: limiting protects, it decides nothing that
//! correctness depends on, so instances need not agree. The stores are bounded.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, ResponseError, web};

use super::client_address::{self, CallerAddress};
use crate::auth::tokens::TokenSubject;
use crate::error::Error;
use crate::http::AppState;

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Token buckets by key, at most `capacity` of them. A bucket that has refilled is the same
/// as no bucket, so those go first when the store is full; then the longest idle.
pub struct Buckets {
    per_second: f64,
    burst: f64,
    capacity: usize,
    hasher: RandomState,
    buckets: Mutex<HashMap<u64, Bucket>>,
}

impl Buckets {
    /// `per_minute` on average, bursts of `burst`; 0 per minute never refuses.
    pub fn new(per_minute: u32, burst: f64, capacity: usize) -> Self {
        Buckets {
            per_second: f64::from(per_minute) / 60.0,
            burst: burst.max(1.0),
            capacity: capacity.max(16),
            hasher: RandomState::new(),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn enabled(&self) -> bool {
        self.per_second > 0.0
    }

    fn key(&self, key: &impl Hash) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Runs `f` on the key's bucket, refilled to now.
    fn with<T>(&self, key: &impl Hash, f: impl FnOnce(&mut Bucket) -> T) -> T {
        self.with_at(key, Instant::now(), f)
    }

    fn with_at<T>(&self, key: &impl Hash, now: Instant, f: impl FnOnce(&mut Bucket) -> T) -> T {
        let key = self.key(key);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= self.capacity && !buckets.contains_key(&key) {
            self.evict(&mut buckets, now);
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: self.burst,
            last: now,
        });
        bucket.tokens = (bucket.tokens
            + now.saturating_duration_since(bucket.last).as_secs_f64() * self.per_second)
            .min(self.burst);
        bucket.last = now;
        f(bucket)
    }

    /// Makes room for a tenth of the capacity, so that the next inserts are cheap.
    fn evict(&self, buckets: &mut HashMap<u64, Bucket>, now: Instant) {
        let full_after = |b: &Bucket| {
            b.tokens + now.saturating_duration_since(b.last).as_secs_f64() * self.per_second
                >= self.burst
        };
        buckets.retain(|_, b| !full_after(b));
        let target = self.capacity - self.capacity / 10;
        if buckets.len() > target {
            let mut ages: Vec<Instant> = buckets.values().map(|b| b.last).collect();
            let cut = buckets.len() - target;
            ages.select_nth_unstable(cut - 1);
            let oldest_kept = ages[cut - 1];
            buckets.retain(|_, b| b.last > oldest_kept);
        }
    }

    fn wait(&self, tokens: f64) -> u64 {
        ((1.0 - tokens) / self.per_second).ceil().max(1.0) as u64
    }

    /// Takes one token; answers the seconds to wait when there is none.
    pub fn take(&self, key: &impl Hash) -> Option<u64> {
        self.take_at(key, Instant::now())
    }

    /// [`take`](Self::take) at a given moment (for tests of time).
    pub fn take_at(&self, key: &impl Hash, now: Instant) -> Option<u64> {
        if !self.enabled() {
            return None;
        }
        self.with_at(key, now, |bucket| {
            if bucket.tokens >= 1.0 {
                bucket.tokens -= 1.0;
                None
            } else {
                Some(self.wait(bucket.tokens))
            }
        })
    }

    /// Gives back a token taken by [`take`](Self::take).
    pub fn refund(&self, key: &impl Hash) {
        if self.enabled() {
            self.with(key, |bucket| {
                bucket.tokens = (bucket.tokens + 1.0).min(self.burst)
            });
        }
    }

    /// The seconds to wait when the bucket is empty, without taking anything.
    pub fn empty(&self, key: &impl Hash) -> Option<u64> {
        if !self.enabled() {
            return None;
        }
        self.with(key, |bucket| {
            (bucket.tokens < 1.0).then(|| self.wait(bucket.tokens))
        })
    }

    /// Whether the key's bucket is full: nothing was taken from it lately.
    pub fn untouched(&self, key: &impl Hash) -> bool {
        !self.enabled() || self.with(key, |bucket| bucket.tokens >= self.burst)
    }

    pub fn len(&self) -> usize {
        self.buckets.lock().map(|b| b.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a rate limit is keyed by. IPv6 callers are keyed by their /64, which one host
/// usually holds whole.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Address(Option<IpAddr>),
    Client(String),
    Person(String, String),
}

impl Key {
    pub fn address(address: CallerAddress) -> Self {
        Key::Address(address.0.map(network))
    }

    fn subject(subject: &TokenSubject) -> Self {
        match subject {
            TokenSubject::Client(client) => Key::Client(client.client_id.clone()),
            TokenSubject::Person(person) => {
                Key::Person(person.issuer.clone(), person.subject.clone())
            }
        }
    }
}

/// An address as limits see it: IPv4 whole, IPv6 by its /64.
pub fn network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            let mut segments = v6.segments();
            segments[4..].fill(0);
            IpAddr::V6(segments.into())
        }
        v4 => v4,
    }
}

/// The request rate limit.
pub struct RateLimiter {
    buckets: Buckets,
}

impl RateLimiter {
    /// `per_minute` requests per caller on average, with bursts of a tenth of that (at least
    /// 20); 0 turns limiting off.
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            buckets: Buckets::new(
                per_minute,
                (f64::from(per_minute) / 10.0).max(20.0),
                100_000,
            ),
        }
    }

    pub fn take(&self, key: &Key) -> Option<u64> {
        self.buckets.take(key)
    }
}

/// The outcome of verifying a request's bearer token, kept with the request for the extractors.
#[derive(Debug, Clone)]
pub struct VerifiedToken(pub Result<TokenSubject, String>);

/// The bearer token a request carries, if its `Authorization` header is a bearer one.
pub fn bearer_token(headers: &header::HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
        .then(|| token.trim().to_owned())
}

/// The client id and secret of an `Authorization: Basic` header, if it is one.
pub fn basic_credentials(headers: &header::HeaderMap) -> Option<(String, String)> {
    use base64::Engine;
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let (id, secret) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

fn too_many(req: ServiceRequest, wait: u64) -> ServiceResponse<BoxBody> {
    let response = Error::TooManyRequests(wait).error_response();
    req.into_response(response)
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // Operations endpoints stay reachable for probes and scrapers.
    let exempt = req.path().starts_with("/health/") || req.path() == "/metrics";
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    if exempt {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    if let Err(wait) = admit(&req, &state, true).await {
        return Ok(too_many(req, wait));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// Counts a request against its caller's bucket: the verified caller of its credentials, or
/// its address. With `charge_address` false, a request counted by its address costs nothing
/// (it was charged already). Answers the seconds to wait when it may not go on.
async fn admit(req: &ServiceRequest, state: &AppState, charge_address: bool) -> Result<(), u64> {
    let address = client_address::resolve(req, &state.proxies);
    let key = match bearer_token(req.headers()) {
        // HTTP Basic (LRS clients send it with every request): the client's own bucket once
        // its secret has verified, the address's until then.
        None => match basic_credentials(req.headers()) {
            Some((client_id, secret)) if state.attempts.recall(&client_id, &secret).is_some() => {
                Key::Client(client_id)
            }
            _ => Key::address(address),
        },
        Some(token) => match state.tokens.verify(&token).await {
            Ok(subject) => {
                let key = Key::subject(&subject);
                req.extensions_mut().insert(VerifiedToken(Ok(subject)));
                key
            }
            Err(error) => {
                if let Some(wait) = state.attempts.failed(address, None) {
                    return Err(wait);
                }
                req.extensions_mut()
                    .insert(VerifiedToken(Err(error.to_string())));
                Key::address(address)
            }
        },
    };
    if !charge_address && matches!(key, Key::Address(_)) {
        return Ok(());
    }
    state.limiter.take(&key).map_or(Ok(()), Err)
}

/// Counts a request whose credentials came in its body, not its headers (xAPI's alternate
/// request syntax), against its caller, as [`middleware`] counts one that sends them in its
/// headers. Its address was charged when it arrived, before its body was read: it is not
/// charged again. A bearer token verified for the headers the request came with no longer
/// stands for it.
pub async fn admit_rewritten(req: &ServiceRequest) -> Result<(), Error> {
    req.extensions_mut().remove::<VerifiedToken>();
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(());
    };
    admit(req, &state, false)
        .await
        .map_err(Error::TooManyRequests)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_refuses_past_its_burst_and_a_refund_gives_one_back() {
        let buckets = Buckets::new(60, 3.0, 100);
        for _ in 0..3 {
            assert_eq!(buckets.take(&"a"), None);
        }
        assert!(buckets.take(&"a").is_some());
        assert!(buckets.empty(&"a").is_some());
        buckets.refund(&"a");
        assert_eq!(buckets.take(&"a"), None);
        // Another key has its own bucket.
        assert!(buckets.untouched(&"b"));
        assert_eq!(buckets.take(&"b"), None);
        assert!(!buckets.untouched(&"b"));
    }

    #[test]
    fn the_store_is_bounded_however_many_keys_arrive() {
        let buckets = Buckets::new(60, 5.0, 1000);
        for n in 0..50_000u32 {
            buckets.take(&n);
        }
        assert!(buckets.len() <= 1000, "{} buckets kept", buckets.len());
        // The newest keys are remembered: their buckets are not fresh.
        assert!(!buckets.untouched(&49_999u32));
    }

    #[test]
    fn ipv6_callers_share_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(network(a), network(b));
        assert_ne!(network(a), network(c));
    }
}
