//! Per-client rate limiting: a token bucket per bearer token (per address for unauthenticated
//! requests). Over the limit, 429 with `Retry-After`.
//!
//! The buckets live in each instance's memory: limiting is a protection, not a correctness
//! matter, so instances need not agree. Buckets are keyed by a hash of the token, never by
//! unverified claims, so nobody can spend someone else's budget by forging a token.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};

use crate::error::Error;

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// The rate limiter's state.
pub struct RateLimiter {
    per_minute: u32,
    burst: f64,
    buckets: Mutex<HashMap<u64, Bucket>>,
}

impl RateLimiter {
    /// `per_minute` requests per client on average, with bursts of up to a tenth of that (at
    /// least 20); 0 turns limiting off.
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute,
            burst: (per_minute as f64 / 10.0).max(20.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from the client's bucket; answers how many seconds to wait when empty.
    fn take(&self, key: u64) -> Option<u64> {
        if self.per_minute == 0 {
            return None;
        }
        let rate = self.per_minute as f64 / 60.0;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 100_000 {
            // Forget clients idle for ten minutes, so the map cannot grow without bound.
            buckets.retain(|_, b| now.duration_since(b.last).as_secs() < 600);
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: self.burst,
            last: now,
        });
        bucket.tokens =
            (bucket.tokens + now.duration_since(bucket.last).as_secs_f64() * rate).min(self.burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            None
        } else {
            Some(((1.0 - bucket.tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

fn client_key(req: &ServiceRequest) -> u64 {
    let mut hasher = DefaultHasher::new();
    match req.headers().get(header::AUTHORIZATION) {
        Some(value) => value.as_bytes().hash(&mut hasher),
        None => req
            .connection_info()
            .peer_addr()
            .unwrap_or("unknown")
            .hash(&mut hasher),
    }
    hasher.finish()
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // Operations endpoints stay reachable for probes and scrapers.
    let exempt = req.path().starts_with("/health/") || req.path() == "/metrics";
    if !exempt
        && let Some(limiter) = req.app_data::<web::Data<RateLimiter>>()
        && let Some(wait) = limiter.take(client_key(&req))
    {
        let mut response = Error::TooManyRequests(wait).error_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(wait));
        return Ok(req.into_response(response));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}
