//! `/v1/requirement-profiles`, `/v1/people/{id}/compliance` and `/v1/compliance`.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};

use super::{CheckQuery, Compliance, ProfileInput, RequirementProfile, WorklistQuery};
use crate::auth::tokens::ClientIdentity;
use crate::auth::{OrgCaller, OrgToken, Scope};
use crate::error::{Error, Problem};
use crate::http::AppState;
use crate::http::body::{Body, Query};
use crate::http::etag::{self, Precondition};
use crate::http::pagination::{List, PageRequest};

fn answer(status: StatusCode, profile: RequirementProfile) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response.insert_header((header::ETAG, etag::of(profile.id, profile.version)));
    if status == StatusCode::CREATED {
        response.insert_header((
            header::LOCATION,
            format!("/v1/requirement-profiles/{}", profile.id),
        ));
    }
    response.json(profile)
}

/// The caller's organisation's requirement profiles, newest first.
#[utoipa::path(
    operation_id = "listRequirementProfiles",
    tag = "compliance",
    security(("client_credentials" = ["shared:read"])),
    params(PageRequest),
    responses(
        (status = 200, description = "A page of profiles", body = List<RequirementProfile>),
    )
)]
#[get("/v1/requirement-profiles")]
pub async fn list(
    org: OrgCaller,
    page: Query<PageRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    org.require(Scope::SharedRead)?;
    let page = page.0.parse()?;
    let profiles = state
        .db
        .run(move |conn| super::list(conn, org.organisation_id, page))
        .await?;
    Ok(HttpResponse::Ok().json(profiles))
}

/// Define a role's requirements: activities (any of a set, passed and not expired, optionally
/// recent and issued), hours of a kind within a period, outcomes at a minimum level. Unknown
/// activity codes and outcomes are refused.
#[utoipa::path(
    operation_id = "createRequirementProfile",
    tag = "compliance",
    security(("client_credentials" = ["shared:read"])),
    request_body = ProfileInput,
    responses(
        (status = 201, description = "The profile", body = RequirementProfile, headers(("ETag" = String), ("Location" = String))),
        (status = 422, description = "Invalid fields, unknown activity codes or outcomes", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/requirement-profiles")]
pub async fn create(
    org: OrgCaller,
    body: Body<ProfileInput>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    org.require(Scope::SharedRead)?;
    let profile = state
        .db
        .run(move |conn| super::create(conn, org.organisation_id, body.0))
        .await?;
    Ok(answer(StatusCode::CREATED, profile))
}

/// One of the caller's organisation's profiles.
#[utoipa::path(
    operation_id = "getRequirementProfile",
    tag = "compliance",
    security(("client_credentials" = ["shared:read"])),
    params(("id" = uuid::Uuid, Path, description = "The profile id")),
    responses(
        (status = 200, description = "The profile", body = RequirementProfile, headers(("ETag" = String))),
        (status = 404, description = "No such profile of the caller's organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/requirement-profiles/{id}")]
pub async fn get_one(
    org: OrgCaller,
    id: web::Path<uuid::Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    org.require(Scope::SharedRead)?;
    let id = id.into_inner().into();
    let profile = state
        .db
        .run(move |conn| super::get(conn, org.organisation_id, id))
        .await?;
    Ok(answer(StatusCode::OK, profile))
}

/// Replace a profile. Honours `If-Match`.
#[utoipa::path(
    operation_id = "replaceRequirementProfile",
    tag = "compliance",
    security(("client_credentials" = ["shared:read"])),
    request_body = ProfileInput,
    params(
        ("id" = uuid::Uuid, Path, description = "The profile id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; refused with 412 if the profile has changed since"),
    ),
    responses(
        (status = 200, description = "The profile", body = RequirementProfile, headers(("ETag" = String))),
        (status = 404, description = "No such profile of the caller's organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/v1/requirement-profiles/{id}")]
pub async fn replace(
    req: HttpRequest,
    org: OrgCaller,
    id: web::Path<uuid::Uuid>,
    body: Body<ProfileInput>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    org.require(Scope::SharedRead)?;
    let id = id.into_inner().into();
    let precondition = Precondition::from_request(&req);
    let profile = state
        .db
        .run(move |conn| super::replace(conn, org.organisation_id, id, body.0, &precondition))
        .await?;
    Ok(answer(StatusCode::OK, profile))
}

/// Delete a profile. Honours `If-Match`.
#[utoipa::path(
    operation_id = "deleteRequirementProfile",
    tag = "compliance",
    security(("client_credentials" = ["shared:read"])),
    params(
        ("id" = uuid::Uuid, Path, description = "The profile id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; refused with 412 if the profile has changed since"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such profile of the caller's organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/requirement-profiles/{id}")]
pub async fn remove(
    req: HttpRequest,
    org: OrgCaller,
    id: web::Path<uuid::Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    org.require(Scope::SharedRead)?;
    let id = id.into_inner().into();
    let precondition = Precondition::from_request(&req);
    state
        .db
        .run(move |conn| super::delete(conn, org.organisation_id, id, &precondition))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Check a person's shared passport against one of the caller's profiles: per requirement
/// `met`, `expiring` (met, but lapsing within `expiring_within_days`), `expired` or `missing`,
/// with the records or attainments that decide it, and an overall status. Only what the live
/// read grants cover counts; hidden and voided records never do; `outside_scope` says when a
/// requirement could not be judged because the grant does not cover it. Each check is written
/// to the person's access log.
#[utoipa::path(
    operation_id = "checkCompliance",
    tag = "compliance",
    security(("client_credentials" = ["shared:read"])),
    params(("person_id" = uuid::Uuid, Path, description = "The person's passport id"), CheckQuery),
    responses(
        (status = 200, description = "The gap analysis", body = Compliance),
        (status = 404, description = "No live read grant from this person, or no such profile", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/people/{person_id}/compliance")]
pub async fn check(
    org: OrgToken,
    person_id: web::Path<uuid::Uuid>,
    query: Query<CheckQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let person_id = person_id.into_inner().into();
    let query = query.0;
    let compliance = state
        .db
        .run(move |conn| {
            super::check(
                conn,
                &org.0,
                person_id,
                query.profile.into(),
                query.expiring_within_days,
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(compliance))
}

/// The worklist: every person with a live read grant to the caller's organisation, checked
/// against a profile, by person; filterable by overall status.
#[utoipa::path(
    operation_id = "listComplianceWorklist",
    tag = "compliance",
    security(("client_credentials" = ["shared:read"])),
    params(WorklistQuery, PageRequest),
    responses(
        (status = 200, description = "A page of people's compliance", body = List<Compliance>),
        (status = 404, description = "No such profile of the caller's organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/compliance")]
pub async fn worklist(
    org: OrgCaller,
    query: Query<WorklistQuery>,
    page: Query<PageRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let caller = ClientIdentity {
        client_id: org.client_id.clone(),
        organisation_id: org.organisation_id.0,
        scopes: org.scopes.clone(),
    };
    let page = page.0.parse()?;
    let query = query.0;
    let people = state
        .db
        .run(move |conn| super::worklist(conn, &caller, &query, page))
        .await?;
    Ok(HttpResponse::Ok().json(people))
}
