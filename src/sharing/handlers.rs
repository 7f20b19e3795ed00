//! `/v1/people/{person_id}/…`: what a person has shared with the calling organisation.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};

use crate::attainments::Attainment;
use crate::auth::OrgToken;
use crate::error::{Error, Problem};
use crate::http::AppState;
use crate::http::body::Query;
use crate::http::etag;
use crate::http::pagination::{List, PageRequest};
use crate::records::{Record, RecordFilter};

/// The records a person shares with the caller's organisation: exactly what its live read
/// grants cover, never hidden or voided ones, newest first. Each request is written to the
/// person's access log.
#[utoipa::path(
    operation_id = "listSharedRecords",
    tag = "sharing",
    security(("client_credentials" = ["shared:read"])),
    params(("person_id" = uuid::Uuid, Path, description = "The person's passport id (from `GET /v1/grants`)"), PageRequest, RecordFilter),
    responses(
        (status = 200, description = "A page of shared records", body = List<Record>),
        (status = 404, description = "No live read grant from this person (the same answer whether or not the person exists)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/people/{person_id}/records")]
pub async fn records(
    org: OrgToken,
    person_id: web::Path<uuid::Uuid>,
    page: Query<PageRequest>,
    filter: Query<RecordFilter>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let person_id = person_id.into_inner().into();
    let page = page.0.parse()?;
    let filter = filter.0;
    let list = state
        .db
        .run(move |conn| super::records(conn, &org.0, person_id, &filter, page))
        .await?;
    Ok(HttpResponse::Ok().json(list.map(|(row, issuer)| row.view(issuer))))
}

/// One record a person shares with the caller's organisation.
#[utoipa::path(
    operation_id = "getSharedRecord",
    tag = "sharing",
    security(("client_credentials" = ["shared:read"])),
    params(
        ("person_id" = uuid::Uuid, Path, description = "The person's passport id"),
        ("record_id" = uuid::Uuid, Path, description = "The record id"),
    ),
    responses(
        (status = 200, description = "The record", body = Record, headers(("ETag" = String))),
        (status = 404, description = "No live read grant covering this record", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/people/{person_id}/records/{record_id}")]
pub async fn record(
    org: OrgToken,
    path: web::Path<(uuid::Uuid, uuid::Uuid)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let (person_id, record_id) = path.into_inner();
    let (row, issuer) = state
        .db
        .run(move |conn| super::record(conn, &org.0, person_id.into(), record_id.into()))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag::of(row.id, row.version)))
        .json(row.view(issuer)))
}

/// The outcome attainments a person shares with the caller's organisation (grants whose scope
/// includes attainments).
#[utoipa::path(
    operation_id = "listSharedAttainments",
    tag = "sharing",
    security(("client_credentials" = ["shared:read"])),
    params(("person_id" = uuid::Uuid, Path, description = "The person's passport id"), PageRequest),
    responses(
        (status = 200, description = "A page of shared attainments", body = List<Attainment>),
        (status = 404, description = "No live read grant covering attainments", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/people/{person_id}/attainments")]
pub async fn attainments(
    org: OrgToken,
    person_id: web::Path<uuid::Uuid>,
    page: Query<PageRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let person_id = person_id.into_inner().into();
    let page = page.0.parse()?;
    let list = state
        .db
        .run(move |conn| super::attainments(conn, &org.0, person_id, page))
        .await?;
    Ok(HttpResponse::Ok().json(list))
}
