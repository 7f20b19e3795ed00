//! The OAuth 2.0 client credentials grant (RFC 6749 section 4.4): who may have a token, with
//! which scopes, and how each refusal is worded (section 5.2).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::clients::{self, Refusal};
use super::scopes::Scopes;
use crate::error::Error;
use crate::http::AppState;
use crate::http::client_address::CallerAddress;

/// A client credentials token request (RFC 6749 section 4.4), form-encoded. The client
/// authenticates with HTTP Basic or with `client_id` and `client_secret` in the form.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    /// Must be `client_credentials`.
    #[schema(example = "client_credentials")]
    pub grant_type: String,
    /// The scopes wanted, space-separated; default all of the client's scopes.
    pub scope: Option<String>,
    /// The client id, when not sent by HTTP Basic.
    pub client_id: Option<String>,
    /// The client secret, when not sent by HTTP Basic.
    pub client_secret: Option<String>,
}

/// An access token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// A JWT to send as `Authorization: Bearer …`.
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: i64,
    /// The scopes granted, space-separated.
    #[schema(example = "records:write shared:read")]
    pub scope: String,
}

fn oauth(status: StatusCode, code: &'static str, description: impl Into<String>) -> Error {
    Error::OAuth {
        status,
        code,
        description: description.into(),
    }
}

fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, Error> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let invalid = || {
        oauth(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "the Authorization header is not valid HTTP Basic",
        )
    };
    let value = value.to_str().map_err(|_| invalid())?;
    let (scheme, encoded) = value.split_once(' ').ok_or_else(invalid)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(invalid());
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| invalid())?;
    let decoded = String::from_utf8(decoded).map_err(|_| invalid())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(invalid)?;
    // RFC 6749 section 2.3.1: both parts are form-encoded before joining.
    let unescape = |s: &str| {
        form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((unescape(id), unescape(secret))))
}

/// A token request as it arrived: its headers and its form-encoded body.
pub struct Arrived<'a> {
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub address: CallerAddress,
}

/// Grants an access token to an organisation client, or says why not in OAuth's words.
pub async fn grant(state: &AppState, request: Arrived<'_>) -> Result<TokenResponse, Error> {
    let (client_id, secret, wanted) = read(&request)?;
    let client = match clients::authenticate(state, request.address, &client_id, &secret).await {
        Ok(client) => client,
        Err(Refusal::Invalid) => {
            return Err(oauth(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "unknown client or wrong secret",
            ));
        }
        Err(Refusal::TooMany(wait)) => return Err(Error::TooManyRequests(wait)),
        Err(Refusal::Failed(error)) => return Err(error),
    };
    let scopes = match wanted {
        None => client.scopes.clone(),
        Some(wanted) if wanted.is_subset(&client.scopes) => wanted,
        Some(_) => {
            return Err(oauth(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                "the client does not hold the requested scope",
            ));
        }
    };
    let ttl = state.settings.client_token_ttl;
    let access_token = state.tokens.issue_client_token(
        &client.client_id,
        client.organisation_id.0,
        &scopes,
        ttl,
    )?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ttl,
        scope: scopes.to_string(),
    })
}

/// The client's id and secret (HTTP Basic or the form, never both) and the scopes it asks for.
fn read(request: &Arrived<'_>) -> Result<(String, String, Option<Scopes>), Error> {
    let content_type = request
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return Err(Error::UnsupportedMediaType(
            "send the token request form-encoded (application/x-www-form-urlencoded)".into(),
        ));
    }
    let form: TokenRequest = serde_urlencoded::from_bytes(request.body).map_err(|e| {
        oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("malformed token request: {e}"),
        )
    })?;
    if form.grant_type != "client_credentials" {
        return Err(oauth(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only client_credentials is supported",
        ));
    }
    let basic = basic_credentials(request.headers)?;
    let (client_id, secret) = match (basic, form.client_id, form.client_secret) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "send client credentials once: HTTP Basic or the form, not both",
            ));
        }
        (Some(basic), None, None) => basic,
        (None, Some(id), Some(secret)) => (id, secret),
        _ => {
            return Err(oauth(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication is required",
            ));
        }
    };
    let wanted = match form.scope.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(scope) => Some(Scopes::parse(scope).map_err(|_| {
            oauth(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                "unknown scope requested",
            )
        })?),
    };
    Ok((client_id, secret, wanted))
}
