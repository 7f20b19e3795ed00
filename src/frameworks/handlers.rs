//! `/v1/frameworks`: learning-outcomes frameworks.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, put, web};

use super::{Framework, FrameworkSummary};
use crate::auth::{OrgCaller, Scope};
use crate::error::{Error, FieldError, Problem};
use crate::http::AppState;
use crate::http::body::{BatchBody, Query};
use crate::http::pagination::{List, PageRequest};

/// The published frameworks and versions. Open to anyone.
#[utoipa::path(
    operation_id = "listFrameworks",
    tag = "frameworks",
    security(),
    params(PageRequest),
    responses(
        (status = 200, description = "A page of frameworks", body = List<FrameworkSummary>),
    )
)]
#[get("/v1/frameworks")]
pub async fn list(
    page: Query<PageRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let page = page.0.parse()?;
    let frameworks = state.db.run(move |conn| super::list(conn, &page)).await?;
    Ok(HttpResponse::Ok().json(frameworks))
}

/// One framework version with its level scale, domains and outcomes. Open to anyone.
#[utoipa::path(
    operation_id = "getFramework",
    tag = "frameworks",
    security(),
    params(("code" = String, Path, description = "The framework code"), ("version" = String, Path, description = "The version")),
    responses(
        (status = 200, description = "The framework", body = Framework),
        (status = 404, description = "No such framework version", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/frameworks/{code}/{version}")]
pub async fn get_one(
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let (code, version) = path.into_inner();
    let framework = state
        .db
        .run(move |conn| super::get(conn, &code, &version))
        .await?;
    Ok(HttpResponse::Ok().json(framework))
}

/// Publish a framework version (scope `admin`). The body is the framework in the import format;
/// its code and version must match the path. A published version never changes: sending the
/// identical document again answers 200, a different one 409.
#[utoipa::path(
    operation_id = "publishFramework",
    tag = "frameworks",
    security(("client_credentials" = ["admin"])),
    params(("code" = String, Path, description = "The framework code"), ("version" = String, Path, description = "The version")),
    request_body = Framework,
    responses(
        (status = 200, description = "Already published, identical", body = Framework),
        (status = 201, description = "Published", body = Framework),
        (status = 409, description = "This version is published with other content", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid framework: each error names its place", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/v1/frameworks/{code}/{version}")]
pub async fn publish(
    org: OrgCaller,
    path: web::Path<(String, String)>,
    body: BatchBody<Framework>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    org.require(Scope::Admin)?;
    let (code, version) = path.into_inner();
    let framework = body.0;
    let mut errors = Vec::new();
    if framework.code != code {
        errors.push(FieldError::new("code", "must match the code in the path"));
    }
    if framework.version != version {
        errors.push(FieldError::new(
            "version",
            "must match the version in the path",
        ));
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let (framework, created) = state
        .db
        .run(move |conn| super::publish(conn, framework))
        .await?;
    Ok(HttpResponse::build(if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    })
    .json(framework))
}
