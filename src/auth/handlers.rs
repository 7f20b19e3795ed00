//! The token endpoint and the public keys.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};

use super::grant::{self, TokenRequest, TokenResponse};
use super::keys::Jwks;
use crate::error::{Error, Problem};
use crate::http::AppState;

/// Issue an access token to an organisation client (OAuth 2.0 client credentials).
///
/// The client authenticates as RFC 6749 section 2.3.1 allows: with HTTP Basic (its id and
/// secret, each form-encoded, as user and password), or with `client_id` and `client_secret`
/// in the form — one of the two, not both. Errors follow RFC 6749 section 5.2 (`error`,
/// `error_description`) inside a problem details document.
#[utoipa::path(
    operation_id = "issueToken",
    tag = "auth",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    // HTTP Basic, or no HTTP authentication and the credentials in the form.
    security(("client_basic" = []), ()),
    responses(
        (status = 200, description = "A token", body = TokenResponse),
        (status = 400, description = "Malformed request, unsupported grant type or scope", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unknown client, wrong secret or revoked client (`WWW-Authenticate: Basic`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not form-encoded", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/oauth/token")]
pub async fn token(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let arrived = grant::Arrived {
        headers: req.headers(),
        body: &body,
        address: crate::http::client_address::of(&req),
    };
    let token = grant::grant(&state, arrived).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(token))
}

/// The service's public signing keys (RFC 7517), for verifying its tokens and credentials.
#[utoipa::path(operation_id = "getJwks", tag = "auth", security(), responses((status = 200, description = "The key set", body = Jwks, content_type = "application/jwk-set+json")))]
#[get("/.well-known/jwks.json")]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/jwk-set+json")
        .insert_header((
            header::CACHE_CONTROL,
            format!(
                "public, max-age={}",
                crate::auth::keys::JWKS_MAX_AGE_SECONDS
            ),
        ))
        .json(state.tokens.keys.jwks())
}
