//! `/v1/me/share-codes` (a person's codes) and `/v1/share-codes/redeem` (an organisation
//! redeeming one).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};

use super::{NewShareCode, RedeemInput, Redeemed, ShareCode, ShareCodeInput};
use crate::auth::{Me, OrgCaller, Scope};
use crate::error::{Error, Problem};
use crate::grants::ReceivedGrant;
use crate::http::AppState;
use crate::http::body::{Body, Query};
use crate::http::pagination::{List, PageRequest};

/// The caller's share codes, newest first: active, redeemed (with who redeemed them and the
/// grant they became), expired and revoked. The codes themselves are not shown.
#[utoipa::path(
    operation_id = "listMyShareCodes",
    tag = "share-codes",
    security(("bearer" = [])),
    params(PageRequest),
    responses(
        (status = 200, description = "A page of share codes", body = List<ShareCode>),
    )
)]
#[get("/v1/me/share-codes")]
pub async fn list(
    me: Me,
    page: Query<PageRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let page = page.0.parse()?;
    let list = state
        .db
        .run(move |conn| super::list(conn, me.person_id, page))
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Make a single-use share code: an offer of a grant, on the terms given (as a grant's), to
/// whichever organisation the caller hands the code to, by reading it out or showing `url` as
/// a QR code. The code is shown in this answer only. It can be redeemed for `expires_in_minutes`
/// (default 15, at most 24 hours); a person may have 20 active codes.
#[utoipa::path(
    operation_id = "createShareCode",
    tag = "share-codes",
    security(("bearer" = [])),
    request_body = ShareCodeInput,
    responses(
        (status = 201, description = "The code, shown this once", body = NewShareCode, headers(("Location" = String))),
        (status = 409, description = "The caller already has 20 active codes", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields: a lifetime over 24 hours, a grant expiry too far ahead or before the code's, someone else's record", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/me/share-codes")]
pub async fn create(
    me: Me,
    body: Body<ShareCodeInput>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let max_days = state.settings.grant_max_days;
    let public_url = state.settings.issuer();
    let key = state.share_code_key.clone();
    let created = state
        .db
        .transaction(move |conn| {
            super::create(conn, me.person_id, body.0, max_days, &public_url, &key)
        })
        .await?;
    Ok(HttpResponse::build(StatusCode::CREATED)
        .insert_header((
            header::LOCATION,
            format!("/v1/me/share-codes/{}", created.share_code.id),
        ))
        // The answer holds a secret.
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(created))
}

/// One of the caller's share codes.
#[utoipa::path(
    operation_id = "getShareCode",
    tag = "share-codes",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "The share code's id")),
    responses(
        (status = 200, description = "The share code", body = ShareCode),
        (status = 404, description = "No such share code of the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/me/share-codes/{id}")]
pub async fn get_one(
    me: Me,
    id: web::Path<uuid::Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner().into();
    let code = state
        .db
        .run(move |conn| super::get(conn, me.person_id, id))
        .await?;
    Ok(HttpResponse::Ok().json(code))
}

/// Revoke one of the caller's active share codes: it can no longer be redeemed. Revoking a
/// revoked or expired code changes nothing; a redeemed code is refused with 409 (revoke the
/// grant it became instead).
#[utoipa::path(
    operation_id = "revokeShareCode",
    tag = "share-codes",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "The share code's id")),
    responses(
        (status = 200, description = "The revoked share code", body = ShareCode),
        (status = 404, description = "No such share code of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The code has been redeemed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/me/share-codes/{id}")]
pub async fn revoke(
    me: Me,
    id: web::Path<uuid::Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner().into();
    let code = state
        .db
        .run(move |conn| super::revoke(conn, me.person_id, id))
        .await?;
    Ok(HttpResponse::Ok().json(code))
}

/// Redeem a share code a person gave the caller's organisation: the code becomes a grant to
/// the organisation, on the terms the person set, and cannot be redeemed again. A read code
/// needs the `shared:read` scope, a write code `records:write`.
///
/// A code that is unknown, mistyped, expired, already redeemed or revoked gets one answer
/// (422, field `code`), whichever it is. Each such answer spends the client's budget of 10
/// failed redemptions a minute and its address's budget of failed authentications; once
/// either is spent, redemptions are answered 429 until it refills.
#[utoipa::path(
    operation_id = "redeemShareCode",
    tag = "share-codes",
    security(("client_credentials" = ["shared:read"]), ("client_credentials" = ["records:write"])),
    request_body = RedeemInput,
    responses(
        (status = 201, description = "The grant the code became", body = ReceivedGrant),
        (status = 403, description = "A person's token, or a client without the scope the code's permission needs", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The person has removed records the code shares, or holds the most live grants one person may", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The code cannot be redeemed", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed redemptions from this client or address (`Retry-After`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/share-codes/redeem")]
pub async fn redeem(
    req: HttpRequest,
    org: OrgCaller,
    body: Body<RedeemInput>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    org.require_any(&[Scope::SharedRead, Scope::RecordsWrite])?;
    let address = crate::http::client_address::of(&req);
    let reservation = state
        .attempts
        .reserve_redemption(address, &org.client_id)
        .map_err(Error::TooManyRequests)?;
    let max_days = state.settings.grant_max_days;
    let typed = body.0.code;
    let key = state.share_code_key.clone();
    let outcome = state
        .db
        .run(move |conn| super::redeem(conn, &org, &typed, max_days, &key))
        .await;
    match outcome {
        Ok(Redeemed::Refused) => Err(super::refusal()),
        Ok(Redeemed::Grant(grant)) => {
            state.attempts.redeemed(reservation);
            Ok(HttpResponse::build(StatusCode::CREATED).json(grant))
        }
        // Not a guess: the code was good, or the service failed.
        Err(error) => {
            state.attempts.redeemed(reservation);
            Err(error)
        }
    }
}
