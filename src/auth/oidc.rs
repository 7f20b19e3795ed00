//! Person tokens from an external OpenID Connect identity provider, checked against its JWKS.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey};

use crate::error::Error;

/// Unknown key ids trigger a refetch, but no more often than this, so that a stream of forged
/// tokens cannot turn the service into a load generator against the provider.
const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// Keys are refreshed at least this often even when every kid is known.
const MAX_AGE: Duration = Duration::from_secs(3600);

/// Where the provider's keys come from.
#[derive(Debug, Clone)]
pub enum JwksSource {
    Url(url::Url),
    File(PathBuf),
}

impl JwksSource {
    /// An https URL, an http URL on a loopback host (development and tests), or a file path.
    pub fn parse(value: &str) -> Result<Self, Error> {
        match url::Url::parse(value) {
            Ok(url) if url.scheme() == "https" => Ok(JwksSource::Url(url)),
            Ok(url) if url.scheme() == "http" => {
                let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
                if loopback {
                    Ok(JwksSource::Url(url))
                } else {
                    Err(Error::Internal(
                        "PASSPORT_OIDC_JWKS must be an https URL".into(),
                    ))
                }
            }
            Ok(url) if url.scheme() == "file" => Ok(JwksSource::File(PathBuf::from(url.path()))),
            _ => Ok(JwksSource::File(PathBuf::from(value))),
        }
    }
}

/// The keys as last fetched.
struct Cache {
    keys: JwkSet,
    fetched: Option<Instant>,
}

/// When the provider's keys may next be fetched.
struct Schedule {
    /// Fetches in a row that failed.
    failures: u32,
    /// No fetch before this time (after a fetch, and longer after failures).
    not_before: Option<Instant>,
}

/// The longest wait after repeated failures.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// The largest key set accepted.
const MAX_JWKS_BYTES: usize = 512 * 1024;

/// The external identity provider's issuer, audience and keys.
///
/// Keys are fetched once at a time (single flight), outside any lock that readers wait on:
/// while a refresh runs, requests keep being answered from the cached keys. A token naming an
/// unknown key waits for the refresh in flight rather than starting its own, and after a failed
/// fetch the next waits longer each time (up to five minutes), so that neither forged tokens nor
/// a provider outage turns the service into a load generator against the provider.
pub struct OidcProvider {
    pub issuer: String,
    pub audience: String,
    source: JwksSource,
    http: reqwest::Client,
    cache: std::sync::RwLock<std::sync::Arc<Cache>>,
    schedule: std::sync::Mutex<Schedule>,
    refreshing: tokio::sync::Mutex<()>,
}

impl OidcProvider {
    /// The provider; fails if no HTTP client with timeouts can be made, rather than fall back
    /// to one without.
    pub fn new(issuer: String, audience: String, source: JwksSource) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Internal(format!("no HTTP client for the provider's keys: {e}")))?;
        Ok(OidcProvider {
            issuer,
            audience,
            source,
            http,
            cache: std::sync::RwLock::new(std::sync::Arc::new(Cache {
                keys: JwkSet { keys: vec![] },
                fetched: None,
            })),
            schedule: std::sync::Mutex::new(Schedule {
                failures: 0,
                not_before: None,
            }),
            refreshing: tokio::sync::Mutex::new(()),
        })
    }

    fn cached(&self) -> std::sync::Arc<Cache> {
        self.cache
            .read()
            .map(|c| c.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    fn may_fetch(&self) -> bool {
        let schedule = self.schedule.lock().unwrap_or_else(|p| p.into_inner());
        schedule.not_before.is_none_or(|t| Instant::now() >= t)
    }

    /// The key with this id and the one algorithm it may verify.
    pub async fn key(self: &std::sync::Arc<Self>, kid: &str) -> Option<(DecodingKey, Algorithm)> {
        let cached = self.cached();
        if let Some(jwk) = cached.keys.find(kid) {
            if cached.fetched.is_none_or(|t| t.elapsed() >= MAX_AGE) && self.may_fetch() {
                // Stale but known: answer now, refresh behind.
                let provider = self.clone();
                tokio::spawn(async move { provider.refresh(None).await });
            }
            return usable(jwk);
        }
        // Unknown: wait for a refresh (ours or one in flight), if one may run.
        self.refresh(Some(kid)).await;
        self.cached().keys.find(kid).and_then(usable)
    }

    /// Fetches the keys, unless another fetch is running (then waits for it) or the schedule
    /// says not yet. With `wanted`, a fetch that finished while waiting and found the key is
    /// enough.
    async fn refresh(&self, wanted: Option<&str>) {
        let _flight = self.refreshing.lock().await;
        if wanted.is_some_and(|kid| self.cached().keys.find(kid).is_some()) || !self.may_fetch() {
            return;
        }
        let outcome = self.fetch().await;
        let mut schedule = self.schedule.lock().unwrap_or_else(|p| p.into_inner());
        match outcome {
            Ok(keys) => {
                schedule.failures = 0;
                schedule.not_before = Some(Instant::now() + MIN_REFETCH_INTERVAL);
                drop(schedule);
                let fresh = std::sync::Arc::new(Cache {
                    keys,
                    fetched: Some(Instant::now()),
                });
                match self.cache.write() {
                    Ok(mut cache) => *cache = fresh,
                    Err(poisoned) => *poisoned.into_inner() = fresh,
                }
            }
            Err(error) => {
                schedule.failures = schedule.failures.saturating_add(1);
                let backoff = MIN_REFETCH_INTERVAL
                    .saturating_mul(2u32.saturating_pow(schedule.failures - 1))
                    .min(MAX_BACKOFF);
                schedule.not_before = Some(Instant::now() + backoff);
                tracing::warn!(%error, retry_in_seconds = backoff.as_secs(), "could not refresh the identity provider's keys");
            }
        }
    }

    async fn fetch(&self) -> Result<JwkSet, String> {
        let bytes = match &self.source {
            JwksSource::File(path) => tokio::fs::read(path).await.map_err(|e| e.to_string())?,
            JwksSource::Url(url) => {
                let mut response = self
                    .http
                    .get(url.clone())
                    .send()
                    .await
                    .map_err(|e| e.to_string())?
                    .error_for_status()
                    .map_err(|e| e.to_string())?;
                let mut body = Vec::new();
                while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
                    body.extend_from_slice(&chunk);
                    if body.len() > MAX_JWKS_BYTES {
                        return Err("the key set is larger than 512 KiB".into());
                    }
                }
                body
            }
        };
        serde_json::from_slice(&bytes).map_err(|e| e.to_string())
    }
}

/// A JWK's decoding key and algorithm. Symmetric keys are never accepted from a JWKS.
fn usable(jwk: &Jwk) -> Option<(DecodingKey, Algorithm)> {
    let alg = match (&jwk.common.key_algorithm, &jwk.algorithm) {
        (Some(KeyAlgorithm::RS256), _) => Algorithm::RS256,
        (Some(KeyAlgorithm::RS384), _) => Algorithm::RS384,
        (Some(KeyAlgorithm::RS512), _) => Algorithm::RS512,
        (Some(KeyAlgorithm::PS256), _) => Algorithm::PS256,
        (Some(KeyAlgorithm::ES256), _) => Algorithm::ES256,
        (Some(KeyAlgorithm::ES384), _) => Algorithm::ES384,
        (Some(KeyAlgorithm::EdDSA), _) => Algorithm::EdDSA,
        (Some(_), _) => return None,
        (None, AlgorithmParameters::RSA(_)) => Algorithm::RS256,
        (None, AlgorithmParameters::EllipticCurve(ec)) => match ec.curve {
            EllipticCurve::P256 => Algorithm::ES256,
            EllipticCurve::P384 => Algorithm::ES384,
            _ => return None,
        },
        (None, AlgorithmParameters::OctetKeyPair(_)) => Algorithm::EdDSA,
        (None, AlgorithmParameters::OctetKey(_)) => return None,
    };
    if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
        return None;
    }
    DecodingKey::from_jwk(jwk).ok().map(|key| (key, alg))
}
