//! `/v1/me/grants` (the person's consents) and `/v1/grants` (an organisation's view of them).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};

use super::{Grant, GrantFilter, GrantInput, ReceivedGrant, ReceivedGrantFilter};
use crate::auth::{Me, OrgCaller, Scope};
use crate::error::{Error, Problem};
use crate::http::AppState;
use crate::http::body::{Body, Query};
use crate::http::etag::{self, Precondition};
use crate::http::pagination::{List, PageRequest};

fn etag(grant: &Grant) -> String {
    etag::of(grant.id, grant.version())
}

/// The caller's grants, newest first: live, expired and revoked, filterable.
#[utoipa::path(
    operation_id = "listMyGrants",
    tag = "grants",
    security(("bearer" = [])),
    params(PageRequest, GrantFilter),
    responses(
        (status = 200, description = "A page of grants", body = List<Grant>),
    )
)]
#[get("/v1/me/grants")]
pub async fn list(
    me: Me,
    page: Query<PageRequest>,
    filter: Query<GrantFilter>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let page = page.0.parse()?;
    let filter = filter.0;
    let list = state
        .db
        .run(move |conn| super::list(conn, me.person_id, &filter, page))
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Share part of the caller's passport with an organisation, until a date.
#[utoipa::path(
    operation_id = "createGrant",
    tag = "grants",
    security(("bearer" = [])),
    request_body = GrantInput,
    responses(
        (status = 201, description = "The grant", body = Grant, headers(("ETag" = String), ("Location" = String))),
        (status = 422, description = "Invalid fields: unknown organisation, an expiry too far ahead, someone else's record", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/me/grants")]
pub async fn create(
    me: Me,
    body: Body<GrantInput>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let max_days = state.settings.grant_max_days;
    let grant = state
        .db
        .transaction(move |conn| super::create(conn, me.person_id, body.0, max_days))
        .await?;
    Ok(HttpResponse::build(StatusCode::CREATED)
        .insert_header((header::ETAG, etag(&grant)))
        .insert_header((header::LOCATION, format!("/v1/me/grants/{}", grant.id)))
        .json(grant))
}

/// One of the caller's grants.
#[utoipa::path(
    operation_id = "getGrant",
    tag = "grants",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "The grant id")),
    responses(
        (status = 200, description = "The grant", body = Grant, headers(("ETag" = String))),
        (status = 404, description = "No such grant of the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/me/grants/{id}")]
pub async fn get_one(
    me: Me,
    id: web::Path<uuid::Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner().into();
    let grant = state
        .db
        .run(move |conn| super::get(conn, me.person_id, id))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(&grant)))
        .json(grant))
}

/// Revoke one of the caller's grants. The organisation's very next request is refused.
/// Revoking a revoked grant changes nothing. Honours `If-Match`.
#[utoipa::path(
    operation_id = "revokeGrant",
    tag = "grants",
    security(("bearer" = [])),
    params(
        ("id" = uuid::Uuid, Path, description = "The grant id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; refused with 412 if the grant has changed since"),
    ),
    responses(
        (status = 200, description = "The revoked grant", body = Grant, headers(("ETag" = String))),
        (status = 404, description = "No such grant of the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/me/grants/{id}")]
pub async fn revoke(
    req: HttpRequest,
    me: Me,
    id: web::Path<uuid::Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner().into();
    let precondition = Precondition::from_request(&req);
    let grant = state
        .db
        .run(move |conn| super::revoke(conn, me.person_id, id, &precondition))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(&grant)))
        .json(grant))
}

/// The live grants people have made to the caller's organisation, newest first.
#[utoipa::path(
    operation_id = "listReceivedGrants",
    tag = "sharing",
    security(("client_credentials" = ["shared:read"]), ("client_credentials" = ["records:write"])),
    params(PageRequest, ReceivedGrantFilter),
    responses(
        (status = 200, description = "A page of live grants", body = List<ReceivedGrant>),
    )
)]
#[get("/v1/grants")]
pub async fn received(
    org: OrgCaller,
    page: Query<PageRequest>,
    filter: Query<ReceivedGrantFilter>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    org.require_any(&[Scope::SharedRead, Scope::RecordsWrite])?;
    let page = page.0.parse()?;
    let filter = filter.0;
    let received = state
        .db
        .run(move |conn| super::received(conn, org.organisation_id, &filter, page))
        .await?;
    Ok(HttpResponse::Ok().json(received))
}
