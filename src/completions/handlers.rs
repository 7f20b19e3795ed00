//! `/v1/completions`: what learning platforms push, correct and void.

use actix_web::http::header;
use actix_web::{HttpResponse, get, patch, post, web};

use super::{BatchResult, CompletionBatch, IssuedRecord, Issuer, VoidInput};
use crate::auth::{Me, OrgCaller, Scope};
use crate::error::{Error, Problem};
use crate::http::AppState;
use crate::http::body::{BatchBody, Body, Query};
use crate::http::etag;
use crate::http::pagination::{List, PageRequest};
use crate::records::RecordVersion;
use crate::records::{RecordPatch, RecordWithIssuer};

fn issuer(org: &OrgCaller) -> Result<Issuer, Error> {
    org.require(Scope::RecordsWrite)?;
    Ok(Issuer {
        organisation_id: org.organisation_id,
        client_id: org.client_id.clone(),
    })
}

fn answer((row, _): RecordWithIssuer) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag::of(row.id, row.version)))
        .json(IssuedRecord::from(&row))
}

/// Push a batch of up to 1,000 completions as issued records.
///
/// Each completion needs a live `write` grant from its person to the caller's organisation. Each
/// is answered on its own, in order: `created`, `updated` (same external id, changed content;
/// the previous version is kept in the record's history), `unchanged` (an identical retry) or
/// `rejected` with a `reason`. A push is idempotent by the organisation's external ids, also when
/// the same batch arrives twice at once. Problems with the whole request (authentication,
/// malformed JSON, more than 1,000 items) are problem details, and nothing is written.
#[utoipa::path(
    operation_id = "pushCompletions",
    tag = "completions",
    security(("client_credentials" = ["records:write"])),
    request_body = CompletionBatch,
    responses(
        (status = 200, description = "One result per completion, in order", body = BatchResult),
        (status = 422, description = "Not a batch, or more than 1,000 completions", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/completions")]
pub async fn push(
    org: OrgCaller,
    body: BatchBody<CompletionBatch>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let issuer = issuer(&org)?;
    let items = body.0.completions;
    let results = state
        .db
        .run(move |conn| super::push(conn, &issuer, items))
        .await?;
    Ok(HttpResponse::Ok().json(results))
}

/// Correct a record the caller's organisation issued (JSON merge patch of its content). The
/// previous version stays in the record's history. Needs a live write grant from its owner.
/// The answer is the record as its issuer wrote it: nothing the owner keeps to themselves.
#[utoipa::path(
    operation_id = "correctCompletion",
    tag = "completions",
    security(("client_credentials" = ["records:write"])),
    params(("external_id" = String, Path, description = "The organisation's own id for the completion")),
    request_body = RecordPatch,
    responses(
        (status = 200, description = "The corrected record, as its issuer sees it", body = IssuedRecord, headers(("ETag" = String))),
        (status = 404, description = "No such record issued by the caller's organisation, or no live write grant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The record was voided", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/v1/completions/{external_id}")]
pub async fn correct(
    org: OrgCaller,
    external_id: web::Path<String>,
    body: Body<RecordPatch>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let issuer = issuer(&org)?;
    let external_id = external_id.into_inner();
    let record = state
        .db
        .run(move |conn| super::correct(conn, &issuer, &external_id, body.0))
        .await?;
    Ok(answer(record))
}

/// Void a record the caller's organisation issued, with a reason. It stays in its owner's
/// history, marked, and leaves every organisation's view. Needs a live write grant from its
/// owner. Voiding again changes nothing.
#[utoipa::path(
    operation_id = "voidCompletion",
    tag = "completions",
    security(("client_credentials" = ["records:write"])),
    params(("external_id" = String, Path, description = "The organisation's own id for the completion")),
    request_body = VoidInput,
    responses(
        (status = 200, description = "The voided record, as its issuer sees it", body = IssuedRecord, headers(("ETag" = String))),
        (status = 404, description = "No such record issued by the caller's organisation, or no live write grant", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/completions/{external_id}/void")]
pub async fn void(
    org: OrgCaller,
    external_id: web::Path<String>,
    body: Body<VoidInput>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let issuer = issuer(&org)?;
    let external_id = external_id.into_inner();
    let record = state
        .db
        .run(move |conn| super::void(conn, &issuer, &external_id, &body.0.reason))
        .await?;
    Ok(answer(record))
}

/// The earlier versions of one of the caller's records, newest first: what it said before each
/// update, correction or voiding by its issuer.
#[utoipa::path(
    operation_id = "listRecordHistory",
    tag = "records",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "The record id"), PageRequest),
    responses(
        (status = 200, description = "A page of earlier versions", body = List<RecordVersion>),
        (status = 404, description = "No such record of the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/me/records/{id}/history")]
pub async fn history(
    me: Me,
    id: web::Path<uuid::Uuid>,
    page: Query<PageRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let id = id.into_inner().into();
    let page = page.0.parse()?;
    let versions = state
        .db
        .run(move |conn| crate::records::issued::history(conn, me.person_id, id, page))
        .await?;
    Ok(HttpResponse::Ok().json(versions))
}
