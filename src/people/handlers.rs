//! `/v1/me`: the calling person's profile.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, web};

use super::{Profile, ProfilePatch};
use crate::auth::Me;
use crate::error::{Error, Problem};
use crate::http::AppState;
use crate::http::body::Body;
use crate::http::etag::{self, Precondition};

fn answer(row: &super::PersonRow) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag::of(row.id, row.version)))
        .json(Profile::from(row))
}

/// The caller's profile. The passport is created from the token's claims on first use.
#[utoipa::path(
    operation_id = "getMyProfile",
    tag = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The profile", body = Profile, headers(("ETag" = String))),
    )
)]
#[get("/v1/me")]
pub async fn get_me(me: Me, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let row = state
        .db
        .run(move |conn| super::get(conn, me.person_id))
        .await?;
    Ok(answer(&row))
}

/// Change the caller's profile (JSON merge patch). Honours `If-Match`.
#[utoipa::path(
    operation_id = "updateMyProfile",
    tag = "me",
    security(("bearer" = [])),
    request_body = ProfilePatch,
    params(("If-Match" = Option<String>, Header, description = "The ETag last read; the change is refused with 412 if the profile has changed since")),
    responses(
        (status = 200, description = "The changed profile", body = Profile, headers(("ETag" = String))),
    )
)]
#[patch("/v1/me")]
pub async fn patch_me(
    req: HttpRequest,
    me: Me,
    body: Body<ProfilePatch>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let precondition = Precondition::from_request(&req);
    let row = state
        .db
        .run(move |conn| super::update(conn, me.person_id, body.0, &precondition))
        .await?;
    Ok(answer(&row))
}

/// Everything the service holds about the caller, as one JSON document: profile, records with
/// their history (hidden and voided ones too), grants, share codes, access events, attainments,
/// credentials.
#[utoipa::path(
    operation_id = "exportMyPassport",
    tag = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The export", body = super::rights::Export),
    )
)]
#[get("/v1/me/export")]
pub async fn export(me: Me, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let export = state
        .db
        .run(move |conn| super::rights::export(conn, me.person_id))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"passport-export.json\"",
        ))
        .json(export))
}

/// Confirmation of erasure.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EraseQuery {
    /// Must be `true`: erasure cannot be undone.
    pub confirm: Option<bool>,
}

/// Erase the caller's passport, for good. Without `?confirm=true` nothing changes. Grants end at
/// once (organisations' next reads get 404), records and attainments are deleted, credentials
/// are revoked; access events keep only organisation, client, action and time for the audit.
#[utoipa::path(
    operation_id = "eraseMyPassport",
    tag = "me",
    security(("bearer" = [])),
    params(EraseQuery),
    responses(
        (status = 204, description = "Erased"),
        (status = 422, description = "Not confirmed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/me")]
pub async fn erase(
    me: Me,
    query: crate::http::body::Query<EraseQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    if query.0.confirm != Some(true) {
        return Err(Error::invalid(
            "confirm",
            "erasure cannot be undone: send ?confirm=true to erase your passport",
        ));
    }
    let public_url = state.settings.issuer();
    state
        .db
        .run(move |conn| super::rights::erase(conn, me.person_id, &public_url))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
