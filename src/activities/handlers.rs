//! `/v1/activities`: the activity catalogue.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, put, web};

use super::{Activity, ActivityFilter, ActivityInput};
use crate::auth::{Caller, OrgCaller, Scope};
use crate::error::Error;
use crate::http::AppState;
use crate::http::body::{Body, Query};
use crate::http::pagination::{List, PageRequest};

/// The activity catalogue, by code; searchable. Any authenticated caller.
#[utoipa::path(
    operation_id = "listActivities",
    tag = "activities",
    security(("bearer" = []), ("client_credentials" = [])),
    params(PageRequest, ActivityFilter),
    responses(
        (status = 200, description = "A page of activities", body = List<Activity>),
    )
)]
#[get("/v1/activities")]
pub async fn list(
    _caller: Caller,
    page: Query<PageRequest>,
    filter: Query<ActivityFilter>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let page = page.0.parse()?;
    let filter = filter.0;
    let activities = state
        .db
        .run(move |conn| super::search(conn, &filter, &page))
        .await?;
    Ok(HttpResponse::Ok().json(activities))
}

/// Add or replace a catalogue activity (scope `admin`). Records already written keep their
/// expiry; new ones get it from the new refresher period.
#[utoipa::path(
    operation_id = "putActivity",
    tag = "activities",
    security(("client_credentials" = ["admin"])),
    params(("code" = String, Path, description = "The activity code: letters, digits, `.`, `_`, `-`")),
    request_body = ActivityInput,
    responses(
        (status = 200, description = "The replaced activity", body = Activity),
        (status = 201, description = "The new activity", body = Activity),
    )
)]
#[put("/v1/activities/{code}")]
pub async fn put(
    org: OrgCaller,
    code: web::Path<String>,
    body: Body<ActivityInput>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    org.require(Scope::Admin)?;
    let code = code.into_inner();
    let (activity, created) = state
        .db
        .run(move |conn| super::put(conn, &code, body.0))
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(activity))
}
