//! Person tokens from an external OpenID Connect identity provider, checked against its JWKS.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey};
use tokio::sync::RwLock;

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

struct Cache {
    keys: JwkSet,
    fetched: Option<Instant>,
}

/// The external identity provider's issuer, audience and keys.
pub struct OidcProvider {
    pub issuer: String,
    pub audience: String,
    source: JwksSource,
    http: reqwest::Client,
    cache: RwLock<Cache>,
}

impl OidcProvider {
    pub fn new(issuer: String, audience: String, source: JwksSource) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        OidcProvider {
            issuer,
            audience,
            source,
            http,
            cache: RwLock::new(Cache {
                keys: JwkSet { keys: vec![] },
                fetched: None,
            }),
        }
    }

    /// The key with this id and the one algorithm it may verify.
    pub async fn key(&self, kid: &str) -> Option<(DecodingKey, Algorithm)> {
        {
            let cache = self.cache.read().await;
            let fresh = cache.fetched.is_some_and(|t| t.elapsed() < MAX_AGE);
            if let (true, Some(jwk)) = (fresh, cache.keys.find(kid)) {
                return usable(jwk);
            }
        }
        let mut cache = self.cache.write().await;
        let may_refetch = cache
            .fetched
            .is_none_or(|t| t.elapsed() >= MIN_REFETCH_INTERVAL);
        if may_refetch {
            match self.fetch().await {
                Ok(keys) => {
                    cache.keys = keys;
                    cache.fetched = Some(Instant::now());
                }
                Err(error) => {
                    tracing::warn!(%error, "could not refresh the identity provider's keys")
                }
            }
        }
        cache.keys.find(kid).and_then(usable)
    }

    async fn fetch(&self) -> Result<JwkSet, String> {
        match &self.source {
            JwksSource::File(path) => {
                let text = tokio::fs::read_to_string(path)
                    .await
                    .map_err(|e| e.to_string())?;
                serde_json::from_str(&text).map_err(|e| e.to_string())
            }
            JwksSource::Url(url) => {
                let response = self
                    .http
                    .get(url.clone())
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                response
                    .error_for_status()
                    .map_err(|e| e.to_string())?
                    .json()
                    .await
                    .map_err(|e| e.to_string())
            }
        }
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
