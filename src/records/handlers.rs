//! `/v1/me/records`: a person's own records.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};

use super::model::{Record, RecordInput};
use super::store::{self, RecordFilter};
use super::{RecordPatch, RecordWithIssuer};
use crate::auth::{Me, MyIdentity};
use crate::error::{Error, Problem};
use crate::http::AppState;
use crate::http::body::{Body, Query};
use crate::http::etag::{self, Precondition};
use crate::http::pagination::{List, PageRequest};

fn answer(status: actix_web::http::StatusCode, (row, issuer): RecordWithIssuer) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response.insert_header((header::ETAG, etag::of(row.id, row.version)));
    if status == actix_web::http::StatusCode::CREATED {
        response.insert_header((header::LOCATION, format!("/v1/me/records/{}", row.id)));
    }
    response.json(row.view(issuer))
}

/// The caller's records, newest first, hidden and voided ones included (and marked).
#[utoipa::path(
    operation_id = "listMyRecords",
    tag = "records",
    security(("bearer" = [])),
    params(PageRequest, RecordFilter),
    responses(
        (status = 200, description = "A page of records", body = List<Record>),
    )
)]
#[get("/v1/me/records")]
pub async fn list(
    me: MyIdentity,
    page: Query<PageRequest>,
    filter: Query<RecordFilter>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let page = page.0.parse()?;
    let filter = filter.0;
    let list = state
        .db
        .run(move |conn| store::list_own(conn, &me.0, &filter, page))
        .await?;
    Ok(HttpResponse::Ok().json(list.map(|(row, issuer)| row.view(issuer))))
}

/// Add a self-declared record.
#[utoipa::path(
    operation_id = "createRecord",
    tag = "records",
    security(("bearer" = [])),
    request_body = RecordInput,
    responses(
        (status = 201, description = "The new record", body = Record, headers(("ETag" = String), ("Location" = String))),
    )
)]
#[post("/v1/me/records")]
pub async fn create(
    me: Me,
    body: Body<RecordInput>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let content = body.0.into_content()?;
    let row = state
        .db
        .run(move |conn| store::create(conn, me.person_id, content))
        .await?;
    Ok(answer(actix_web::http::StatusCode::CREATED, (row, None)))
}

/// One of the caller's records.
#[utoipa::path(
    operation_id = "getRecord",
    tag = "records",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "The record id")),
    responses(
        (status = 200, description = "The record", body = Record, headers(("ETag" = String))),
        (status = 404, description = "No such record of the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/me/records/{id}")]
pub async fn get_one(
    me: Me,
    id: web::Path<uuid::Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner().into();
    let record = state
        .db
        .run(move |conn| store::get(conn, me.person_id, id))
        .await?;
    Ok(answer(actix_web::http::StatusCode::OK, record))
}

/// Change one of the caller's records (JSON merge patch). A self-declared record can be edited;
/// an issued one can only be hidden or shown again. Honours `If-Match`.
#[utoipa::path(
    operation_id = "updateRecord",
    tag = "records",
    security(("bearer" = [])),
    request_body = RecordPatch,
    params(
        ("id" = uuid::Uuid, Path, description = "The record id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; refused with 412 if the record has changed since"),
    ),
    responses(
        (status = 200, description = "The changed record", body = Record, headers(("ETag" = String))),
        (status = 404, description = "No such record of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or an edit of an issued record", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/v1/me/records/{id}")]
pub async fn update(
    req: HttpRequest,
    me: Me,
    id: web::Path<uuid::Uuid>,
    body: Body<RecordPatch>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner().into();
    let precondition = Precondition::from_request(&req);
    let record = state
        .db
        .run(move |conn| store::update(conn, me.person_id, id, body.0, &precondition))
        .await?;
    Ok(answer(actix_web::http::StatusCode::OK, record))
}

/// Delete one of the caller's self-declared records. Issued records cannot be deleted (hide
/// them instead). Honours `If-Match`.
#[utoipa::path(
    operation_id = "deleteRecord",
    tag = "records",
    security(("bearer" = [])),
    params(
        ("id" = uuid::Uuid, Path, description = "The record id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; refused with 412 if the record has changed since"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such record of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An issued record", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/me/records/{id}")]
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
        .run(move |conn| store::delete(conn, me.person_id, id, &precondition))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
