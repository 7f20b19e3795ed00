//! Who is calling the LRS: an organisation client, by HTTP Basic (its id and secret, as LRS
//! clients are configured) or by a bearer token from `/v1/oauth/token`.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::auth::principal;
use crate::auth::scopes::{Scope, Scopes};
use crate::auth::tokens::{ClientIdentity, TokenSubject};
use crate::db::types::Id;
use crate::error::Error;
use crate::organisations;

/// An organisation client calling the LRS. Every statement and document it reaches belongs to
/// its organisation.
#[derive(Debug, Clone)]
pub struct LrsClient {
    pub organisation_id: Id,
    pub client_id: String,
    pub scopes: Scopes,
}

impl LrsClient {
    /// Storing statements and documents feeds passports: it needs `records:write`.
    pub fn require_write(&self) -> Result<(), Error> {
        if self.scopes.contains(Scope::RecordsWrite) {
            Ok(())
        } else {
            Err(Error::Forbidden(
                "storing xAPI statements and documents needs the `records:write` scope".into(),
            ))
        }
    }
}

/// Secrets that verified recently. Checking a secret costs an argon2 hash by design; an LRS
/// client sends its Basic credentials with every request, so a secret that verified is
/// remembered (as a SHA-256, never in the clear) for a minute. Revocation still takes effect at
/// once: the client is looked up on every request.
#[derive(Default)]
pub struct VerifiedSecrets {
    entries: Mutex<HashMap<String, Remembered>>,
}

/// A client whose secret verified: the secret's SHA-256, when, and what the client is.
struct Remembered {
    digest: [u8; 32],
    at: Instant,
    organisation: Id,
    scopes: Scopes,
}

const REMEMBER: Duration = Duration::from_secs(60);
const MAX_REMEMBERED: usize = 10_000;

impl VerifiedSecrets {
    fn recall(&self, client_id: &str, digest: &[u8; 32]) -> Option<(Id, Scopes)> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(client_id)
            .filter(|r| r.digest == *digest && r.at.elapsed() < REMEMBER)
            .map(|r| (r.organisation, r.scopes.clone()))
    }

    fn remember(&self, client_id: &str, digest: [u8; 32], organisation: Id, scopes: Scopes) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_REMEMBERED {
            entries.retain(|_, r| r.at.elapsed() < REMEMBER);
        }
        if entries.len() < MAX_REMEMBERED {
            entries.insert(
                client_id.to_owned(),
                Remembered {
                    digest,
                    at: Instant::now(),
                    organisation,
                    scopes,
                },
            );
        }
    }
}

enum Credentials {
    Basic { client_id: String, secret: String },
    Bearer(String),
}

fn credentials(req: &HttpRequest) -> Result<Credentials, Error> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| {
            Error::Unauthorized(
                "the LRS needs HTTP Basic credentials (a client id and secret) or a bearer token"
                    .into(),
            )
        })?
        .to_str()
        .map_err(|_| Error::Unauthorized("the Authorization header is malformed".into()))?;
    let (scheme, rest) = value
        .split_once(' ')
        .ok_or_else(|| Error::Unauthorized("the Authorization header is malformed".into()))?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
        return Ok(Credentials::Bearer(rest.to_owned()));
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(Error::Unauthorized(
            "the Authorization header must be `Basic` or `Bearer`".into(),
        ));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| Error::Unauthorized("the Basic credentials are malformed".into()))?;
    let (client_id, secret) = decoded
        .split_once(':')
        .ok_or_else(|| Error::Unauthorized("the Basic credentials are malformed".into()))?;
    Ok(Credentials::Basic {
        client_id: client_id.to_owned(),
        secret: secret.to_owned(),
    })
}

async fn authenticate(req: HttpRequest) -> Result<LrsClient, Error> {
    let state = principal::state(&req)?;
    let identity = match credentials(&req)? {
        Credentials::Bearer(token) => match state.tokens.verify(&token).await? {
            TokenSubject::Client(client) => client,
            TokenSubject::Person(_) => {
                return Err(Error::Forbidden(
                    "the LRS is for organisation clients, not people".into(),
                ));
            }
        },
        Credentials::Basic { client_id, secret } => {
            let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
            let (organisation, scopes) = match state.lrs_secrets.recall(&client_id, &digest) {
                Some(known) => known,
                None => {
                    let id = client_id.clone();
                    let client = state
                        .db
                        .run(move |conn| organisations::authenticate_client(conn, &id, &secret))
                        .await?
                        .ok_or_else(|| {
                            Error::Unauthorized("unknown client or wrong secret".into())
                        })?;
                    state.lrs_secrets.remember(
                        &client_id,
                        digest,
                        client.organisation_id,
                        client.scopes.clone(),
                    );
                    (client.organisation_id, client.scopes)
                }
            };
            ClientIdentity {
                client_id,
                organisation_id: organisation.0,
                scopes,
            }
        }
    };
    // Revocation is checked on every request, however the client authenticated.
    let caller = principal::active_client(&state, identity).await?;
    Ok(LrsClient {
        organisation_id: caller.organisation_id,
        client_id: caller.client_id,
        scopes: caller.scopes,
    })
}

impl FromRequest for LrsClient {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(authenticate(req.clone()))
    }
}
