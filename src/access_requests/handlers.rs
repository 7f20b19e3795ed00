//! `/v1/access-requests` (an organisation asking), `/v1/me/access-requests` (the person
//! answering) and `/v1/me/blocked-organisations`.

use actix_web::http::header;
use actix_web::{HttpResponse, delete, get, post, web};

use super::{
    AccessRequest, AccessRequestFilter, AccessRequestInput, Approval, BlockInput,
    BlockedOrganisation, Decline, IncomingAccessRequest, IncomingFilter,
};
use crate::auth::{Me, OrgCaller, Scope};
use crate::db::ids::OrganisationId;
use crate::error::{Error, Problem};
use crate::http::AppState;
use crate::http::body::{Body, OptionalBody, Query};
use crate::http::pagination::{List, PageRequest};

const ORG_SCOPES: [Scope; 2] = [Scope::SharedRead, Scope::RecordsWrite];

/// Ask a person for a grant, addressed by passport id, by the email their identity provider
/// vouched for, or by professional registration. The scope is given, or taken from one of the
/// organisation's requirement profiles. A read request needs `shared:read`, a write request
/// `records:write`.
///
/// The answer is the same whether or not the addressee holds a passport: 202, and the request,
/// `pending` until the person answers or it expires (`PASSPORT_ACCESS_REQUEST_DAYS`, default
/// 30). An organisation has one pending request per addressee, an addressee (one passport id,
/// email or registration) at most 20 from all organisations together, and an organisation
/// makes at most `PASSPORT_ACCESS_REQUESTS_PER_DAY` (default 1,000) in 24 hours.
#[utoipa::path(
    operation_id = "createAccessRequest",
    tag = "access-requests",
    security(("client_credentials" = ["shared:read"]), ("client_credentials" = ["records:write"])),
    request_body = AccessRequestInput,
    responses(
        (status = 202, description = "The request, pending", body = AccessRequest, headers(("Location" = String))),
        (status = 403, description = "A person's token, or a client without the scope the permission needs", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The organisation already has a pending request to the addressee, or the addressee has 20", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields: no addressee or more than one, a scope naming record ids, an unknown profile, a term too long, a message with control characters", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "The organisation's requests for the last 24 hours are spent (`Retry-After`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/access-requests")]
pub async fn create(
    org: OrgCaller,
    body: Body<AccessRequestInput>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    org.require_any(&ORG_SCOPES)?;
    let limits = state.settings.access_request_limits();
    let request = state
        .db
        .run(move |conn| super::create(conn, &org, body.0, limits))
        .await?;
    Ok(HttpResponse::Accepted()
        .insert_header((
            header::LOCATION,
            format!("/v1/access-requests/{}", request.id),
        ))
        .json(request))
}

/// The organisation's requests and their states, newest first.
#[utoipa::path(
    operation_id = "listAccessRequests",
    tag = "access-requests",
    security(("client_credentials" = ["shared:read"]), ("client_credentials" = ["records:write"])),
    params(AccessRequestFilter, PageRequest),
    responses(
        (status = 200, description = "A page of requests", body = List<AccessRequest>),
        (status = 403, description = "A person's token, or a client with neither scope", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/access-requests")]
pub async fn list(
    org: OrgCaller,
    filter: Query<AccessRequestFilter>,
    page: Query<PageRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    org.require_any(&ORG_SCOPES)?;
    let page = page.0.parse()?;
    let requests = state
        .db
        .run(move |conn| super::list_for_organisation(conn, org.organisation_id, &filter.0, page))
        .await?;
    Ok(HttpResponse::Ok().json(requests))
}

/// One of the organisation's requests.
#[utoipa::path(
    operation_id = "getAccessRequest",
    tag = "access-requests",
    security(("client_credentials" = ["shared:read"]), ("client_credentials" = ["records:write"])),
    params(("id" = uuid::Uuid, Path, description = "The request's id")),
    responses(
        (status = 200, description = "The request", body = AccessRequest),
        (status = 404, description = "No such request of the organisation's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/access-requests/{id}")]
pub async fn get_one(
    org: OrgCaller,
    id: web::Path<uuid::Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    org.require_any(&ORG_SCOPES)?;
    let id = id.into_inner().into();
    let request = state
        .db
        .run(move |conn| super::get_for_organisation(conn, org.organisation_id, id))
        .await?;
    Ok(HttpResponse::Ok().json(request))
}

/// Withdraw one of the organisation's pending requests. One already answered or expired is
/// refused with 409.
#[utoipa::path(
    operation_id = "cancelAccessRequest",
    tag = "access-requests",
    security(("client_credentials" = ["shared:read"]), ("client_credentials" = ["records:write"])),
    params(("id" = uuid::Uuid, Path, description = "The request's id")),
    responses(
        (status = 200, description = "The request, cancelled", body = AccessRequest),
        (status = 404, description = "No such request of the organisation's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The request is no longer pending", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/access-requests/{id}")]
pub async fn cancel(
    org: OrgCaller,
    id: web::Path<uuid::Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    org.require_any(&ORG_SCOPES)?;
    let id = id.into_inner().into();
    let request = state
        .db
        .run(move |conn| super::cancel(conn, &org, id))
        .await?;
    Ok(HttpResponse::Ok().json(request))
}

/// The requests made to the caller, newest first: to their passport id, to the email their
/// identity provider vouched for, or to the registration in their profile. Requests from an
/// organisation the caller has blocked are not shown.
#[utoipa::path(
    operation_id = "listMyAccessRequests",
    tag = "access-requests",
    security(("bearer" = [])),
    params(IncomingFilter, PageRequest),
    responses(
        (status = 200, description = "A page of requests", body = List<IncomingAccessRequest>),
    )
)]
#[get("/v1/me/access-requests")]
pub async fn list_mine(
    me: Me,
    filter: Query<IncomingFilter>,
    page: Query<PageRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let page = page.0.parse()?;
    let requests = state
        .db
        .run(move |conn| super::list_for_person(conn, me.person_id, &filter.0, page))
        .await?;
    Ok(HttpResponse::Ok().json(requests))
}

/// One request made to the caller.
#[utoipa::path(
    operation_id = "getMyAccessRequest",
    tag = "access-requests",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "The request's id")),
    responses(
        (status = 200, description = "The request", body = IncomingAccessRequest),
        (status = 404, description = "No such request to the caller", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/me/access-requests/{id}")]
pub async fn get_mine(
    me: Me,
    id: web::Path<uuid::Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner().into();
    let request = state
        .db
        .run(move |conn| super::get_for_person(conn, me.person_id, id))
        .await?;
    Ok(HttpResponse::Ok().json(request))
}

/// Approve a request: the grant is made to the organisation on the terms asked, or on a
/// narrower scope and shorter term given here (the body may be left out). The organisation is
/// told (`access_request.approved`, and `grant.created`); the approval is in the caller's
/// access log.
#[utoipa::path(
    operation_id = "approveAccessRequest",
    tag = "access-requests",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "The request's id")),
    request_body(content = Approval, description = "Narrower terms; may be left out"),
    responses(
        (status = 200, description = "The request, approved, with the grant's id", body = IncomingAccessRequest),
        (status = 404, description = "No such request to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The request is no longer pending, or the caller holds the most live grants one person may", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A scope or term wider than asked, or someone else's record", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/me/access-requests/{id}/approve")]
pub async fn approve(
    me: Me,
    id: web::Path<uuid::Uuid>,
    body: OptionalBody<Approval>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner().into();
    let max_days = state.settings.grant_max_days;
    let request = state
        .db
        .run(move |conn| super::approve(conn, me.person_id, id, body.0, max_days))
        .await?;
    Ok(HttpResponse::Ok().json(request))
}

/// Decline a request (the body may be left out); with `"block": true`, also block the
/// organisation. The organisation is told (`access_request.declined`); the decline is in the
/// caller's access log.
#[utoipa::path(
    operation_id = "declineAccessRequest",
    tag = "access-requests",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "The request's id")),
    request_body(content = Decline, description = "Whether to block the organisation too; may be left out"),
    responses(
        (status = 200, description = "The request, declined", body = IncomingAccessRequest),
        (status = 404, description = "No such request to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The request is no longer pending", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/me/access-requests/{id}/decline")]
pub async fn decline(
    me: Me,
    id: web::Path<uuid::Uuid>,
    body: OptionalBody<Decline>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner().into();
    let request = state
        .db
        .run(move |conn| super::decline(conn, me.person_id, id, body.0))
        .await?;
    Ok(HttpResponse::Ok().json(request))
}

/// The organisations the caller has blocked, most recent first.
#[utoipa::path(
    operation_id = "listBlockedOrganisations",
    tag = "access-requests",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The blocked organisations", body = Vec<BlockedOrganisation>),
    )
)]
#[get("/v1/me/blocked-organisations")]
pub async fn blocked(me: Me, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let organisations = state
        .db
        .run(move |conn| super::blocked(conn, me.person_id))
        .await?;
    Ok(HttpResponse::Ok().json(organisations))
}

/// Block an organisation from sending the caller access requests: its pending requests are
/// declined, and later ones never reach the caller (the organisation is not told; they expire
/// without a word). Blocking it again changes nothing.
#[utoipa::path(
    operation_id = "blockOrganisation",
    tag = "access-requests",
    security(("bearer" = [])),
    request_body = BlockInput,
    responses(
        (status = 200, description = "The organisation, blocked", body = BlockedOrganisation),
        (status = 422, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/me/blocked-organisations")]
pub async fn block(
    me: Me,
    body: Body<BlockInput>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let organisation_id = OrganisationId(body.0.organisation_id);
    let organisation = state
        .db
        .run(move |conn| super::block(conn, me.person_id, organisation_id))
        .await?;
    Ok(HttpResponse::Ok().json(organisation))
}

/// Unblock an organisation: its later requests reach the caller again.
#[utoipa::path(
    operation_id = "unblockOrganisation",
    tag = "access-requests",
    security(("bearer" = [])),
    params(("organisation_id" = uuid::Uuid, Path, description = "The organisation's id")),
    responses(
        (status = 204, description = "Unblocked"),
        (status = 404, description = "The caller has not blocked the organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/me/blocked-organisations/{organisation_id}")]
pub async fn unblock(
    me: Me,
    organisation_id: web::Path<uuid::Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let organisation_id = OrganisationId(organisation_id.into_inner());
    state
        .db
        .run(move |conn| super::unblock(conn, me.person_id, organisation_id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
