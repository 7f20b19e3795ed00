//! `/v1/me/attainments`, `/v1/attainments/{id}/verification`, `/v1/me/frameworks/…/progress`.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};

use super::{
    Attainment, AttainmentFilter, AttainmentInput, AttainmentPatch, Progress, VerificationInput,
    VerificationReceipt, Verifier,
};
use crate::auth::{Me, OrgCaller, Scope};
use crate::error::{Error, Problem};
use crate::http::AppState;
use crate::http::body::{Body, Query};
use crate::http::etag::Precondition;
use crate::http::pagination::{List, PageRequest};

fn etag(attainment: &Attainment) -> String {
    crate::http::etag::of(attainment.id, attainment.version)
}

fn answer(status: StatusCode, attainment: Attainment) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response.insert_header((header::ETAG, etag(&attainment)));
    if status == StatusCode::CREATED {
        response.insert_header((
            header::LOCATION,
            format!("/v1/me/attainments/{}", attainment.id),
        ));
    }
    response.json(attainment)
}

/// The caller's attainments, newest first; filterable by framework, domain and status.
#[utoipa::path(
    operation_id = "listMyAttainments",
    tag = "attainments",
    security(("bearer" = [])),
    params(PageRequest, AttainmentFilter),
    responses(
        (status = 200, description = "A page of attainments", body = List<Attainment>),
    )
)]
#[get("/v1/me/attainments")]
pub async fn list(
    me: Me,
    page: Query<PageRequest>,
    filter: Query<AttainmentFilter>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let page = page.0.parse()?;
    let filter = filter.0;
    let attainments = state
        .db
        .run(move |conn| super::list(conn, me.person_id, &filter, page))
        .await?;
    Ok(HttpResponse::Ok().json(attainments))
}

/// Record an attainment of an outcome at a level, with a reflection and evidence (the caller's
/// own records, and links). It is `self_assessed` until an organisation verifies it.
#[utoipa::path(
    operation_id = "createAttainment",
    tag = "attainments",
    security(("bearer" = [])),
    request_body = AttainmentInput,
    responses(
        (status = 201, description = "The attainment", body = Attainment, headers(("ETag" = String), ("Location" = String))),
        (status = 422, description = "Unknown framework or outcome, a level off the scale, someone else's record", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/me/attainments")]
pub async fn create(
    me: Me,
    body: Body<AttainmentInput>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let attainment = state
        .db
        .transaction(move |conn| super::create(conn, me.person_id, body.0))
        .await?;
    Ok(answer(StatusCode::CREATED, attainment))
}

/// One of the caller's attainments.
#[utoipa::path(
    operation_id = "getAttainment",
    tag = "attainments",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "The attainment id")),
    responses(
        (status = 200, description = "The attainment", body = Attainment, headers(("ETag" = String))),
        (status = 404, description = "No such attainment of the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/me/attainments/{id}")]
pub async fn get_one(
    me: Me,
    id: web::Path<uuid::Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner().into();
    let attainment = state
        .db
        .run(move |conn| super::get(conn, me.person_id, id))
        .await?;
    Ok(answer(StatusCode::OK, attainment))
}

/// Change one of the caller's attainments (JSON merge patch). A verified attainment returns to
/// `self_assessed`; its verification stays in `verification_history`. Honours `If-Match`.
#[utoipa::path(
    operation_id = "updateAttainment",
    tag = "attainments",
    security(("bearer" = [])),
    request_body = AttainmentPatch,
    params(
        ("id" = uuid::Uuid, Path, description = "The attainment id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; refused with 412 if the attainment has changed since"),
    ),
    responses(
        (status = 200, description = "The changed attainment", body = Attainment, headers(("ETag" = String))),
        (status = 404, description = "No such attainment of the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/v1/me/attainments/{id}")]
pub async fn update(
    req: HttpRequest,
    me: Me,
    id: web::Path<uuid::Uuid>,
    body: Body<AttainmentPatch>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner().into();
    let precondition = Precondition::from_request(&req);
    let attainment = state
        .db
        .run(move |conn| super::update(conn, me.person_id, id, body.0, &precondition))
        .await?;
    Ok(answer(StatusCode::OK, attainment))
}

/// Delete one of the caller's attainments. Honours `If-Match`.
#[utoipa::path(
    operation_id = "deleteAttainment",
    tag = "attainments",
    security(("bearer" = [])),
    params(
        ("id" = uuid::Uuid, Path, description = "The attainment id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; refused with 412 if the attainment has changed since"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such attainment of the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/me/attainments/{id}")]
pub async fn remove(
    req: HttpRequest,
    me: Me,
    id: web::Path<uuid::Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner().into();
    let precondition = Precondition::from_request(&req);
    state
        .db
        .run(move |conn| super::delete(conn, me.person_id, id, &precondition))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Verify an attainment (scope `records:write`): the assessor's name and role, the confirmed
/// level and a comment. Needs a live write grant from the person whose scope includes
/// attainments; without one the answer is 404, as for an unknown attainment. The answer is the
/// verification written, nothing more: a write grant does not let the verifier read the
/// attainment.
#[utoipa::path(
    operation_id = "verifyAttainment",
    tag = "attainments",
    security(("client_credentials" = ["records:write"])),
    params(("id" = uuid::Uuid, Path, description = "The attainment id")),
    request_body = VerificationInput,
    responses(
        (status = 200, description = "The verification written", body = VerificationReceipt),
        (status = 404, description = "No attainment the caller may verify under this id", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/attainments/{id}/verification")]
pub async fn verify(
    org: OrgCaller,
    id: web::Path<uuid::Uuid>,
    body: Body<VerificationInput>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    org.require(Scope::RecordsWrite)?;
    let verifier = Verifier {
        organisation_id: org.organisation_id,
        client_id: org.client_id.clone(),
    };
    let id = id.into_inner().into();
    let attainment = state
        .db
        .run(move |conn| super::verify(conn, &verifier, id, body.0))
        .await?;
    Ok(HttpResponse::Ok().json(attainment))
}

/// The caller's progress through a framework version: per domain, the outcomes attained, at
/// which levels, and how many verified.
#[utoipa::path(
    operation_id = "getMyFrameworkProgress",
    tag = "attainments",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "The framework code"), ("version" = String, Path, description = "The version")),
    responses(
        (status = 200, description = "Progress", body = Progress),
        (status = 404, description = "No such framework version", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/me/frameworks/{code}/{version}/progress")]
pub async fn progress(
    me: Me,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let (code, version) = path.into_inner();
    let progress = state
        .db
        .run(move |conn| super::progress(conn, me.person_id, &code, &version))
        .await?;
    Ok(HttpResponse::Ok().json(progress))
}
