//! Organisation clients proving their secret: at the token endpoint (HTTP Basic or form
//! fields) and at the LRS (HTTP Basic on every request).

use super::attempts::AuthAttempts;
use super::principal::OrgCaller;
use super::secrets;
use crate::error::Error;
use crate::http::AppState;
use crate::http::client_address::CallerAddress;
use crate::organisations;

/// Why a client was not authenticated.
#[derive(Debug)]
pub enum Refusal {
    /// Unknown client, wrong secret or revoked client: the same answer for each.
    Invalid,
    /// Too many failed attempts from this address or against this client, or too many checks
    /// at once: retry after this many seconds.
    TooMany(u64),
    Failed(Error),
}

impl From<Error> for Refusal {
    fn from(error: Error) -> Self {
        Refusal::Failed(error)
    }
}

/// Checks a client's id and secret. Unknown and revoked clients cost as much time as known
/// ones, so that timing does not tell which client ids exist; the secret is checked after the
/// database connection that fetched its hash has been given back.
pub async fn authenticate(
    state: &AppState,
    address: CallerAddress,
    client_id: &str,
    secret: &str,
) -> Result<OrgCaller, Refusal> {
    let attempts: &AuthAttempts = &state.attempts;
    if let Some((organisation_id, scopes)) = attempts.recall(client_id, secret) {
        let id = client_id.to_owned();
        let active = state
            .db
            .run(move |conn| organisations::client_is_active(conn, &id))
            .await?;
        if active {
            return Ok(OrgCaller {
                client_id: client_id.to_owned(),
                organisation_id,
                scopes,
            });
        }
        attempts.forget(client_id);
    }
    let reservation = attempts
        .reserve(address, client_id)
        .map_err(Refusal::TooMany)?;
    let id = client_id.to_owned();
    let stored = state
        .db
        .run(move |conn| organisations::stored_client(conn, &id))
        .await?;
    let Some(_turn) = attempts.hashing_turn().await else {
        attempts.succeeded(reservation);
        return Err(Refusal::TooMany(1));
    };
    let hash = stored
        .as_ref()
        .map(|c| c.secret_hash.clone())
        .unwrap_or_else(|| secrets::DUMMY_HASH.to_owned());
    let candidate = secret.to_owned();
    let verified = actix_web::web::block(move || secrets::verify(&candidate, &hash))
        .await
        .map_err(|e| Error::Internal(format!("secret check failed: {e}")))?;
    match stored {
        Some(client) if verified && client.revoked_at.is_none() => {
            attempts.succeeded(reservation);
            attempts.remember(
                client_id,
                secret,
                client.organisation_id,
                client.scopes.clone(),
            );
            Ok(OrgCaller {
                client_id: client.client_id,
                organisation_id: client.organisation_id,
                scopes: client.scopes,
            })
        }
        _ => Err(Refusal::Invalid),
    }
}
