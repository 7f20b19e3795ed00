//! The token endpoint and the public keys.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::clients::{self, Refusal};
use super::keys::Jwks;
use super::scopes::Scopes;
use crate::error::{Error, Problem};
use crate::http::AppState;

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

fn basic_credentials(req: &HttpRequest) -> Result<Option<(String, String)>, Error> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
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

/// Issue an access token to an organisation client (OAuth 2.0 client credentials).
///
/// Errors follow RFC 6749 section 5.2 (`error`, `error_description`) inside a problem details
/// document.
#[utoipa::path(
    tag = "auth",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    security((), ("client_basic" = [])),
    responses(
        (status = 200, description = "A token", body = TokenResponse),
        (status = 400, description = "Malformed request, unsupported grant type or scope", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unknown client, wrong secret or revoked client", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not form-encoded", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/oauth/token")]
pub async fn token(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let content_type = req
        .headers()
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
    let form: TokenRequest = serde_urlencoded::from_bytes(&body).map_err(|e| {
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
    let (client_id, secret) = match (basic_credentials(&req)?, form.client_id, form.client_secret) {
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
    let address = crate::http::client_address::of(&req);
    let client = match clients::authenticate(&state, address, &client_id, &secret).await {
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
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: ttl,
            scope: scopes.to_string(),
        }))
}

/// The service's public signing keys (RFC 7517), for verifying its tokens and credentials.
#[utoipa::path(tag = "auth", security(()), responses((status = 200, description = "The key set", body = Jwks, content_type = "application/jwk-set+json")))]
#[get("/.well-known/jwks.json")]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/jwk-set+json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(state.tokens.keys.jwks())
}
