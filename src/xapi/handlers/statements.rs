//! The Statements resource.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use serde_json::Value;
use uuid::Uuid;

use super::http_date;
use crate::error::{Error, Problem};
use crate::http::AppState;
use crate::http::body::RawBody;
use crate::http::media_type;
use crate::xapi::query::{self};
use crate::xapi::usage::Quotas;
use crate::xapi::{self, LrsClient, answer, multipart, statements};

/// Reads a statement request: JSON, or multipart/mixed with attachments. Any other media type
/// (multipart/form-data, none at all) is a malformed request: 400, the code xAPI gives for it
/// (Communication 3.2), not 415.
fn received(body: RawBody) -> Result<(Value, Vec<multipart::Attachment>), Error> {
    match media_type::essence(&body.content_type).as_deref() {
        Some("application/json") => {
            let value = serde_json::from_slice(&body.bytes).map_err(|e| Error::BadRequest {
                detail: format!("malformed JSON: {e}"),
                field: None,
            })?;
            Ok((value, Vec::new()))
        }
        Some("multipart/mixed") => {
            let received =
                multipart::receive(&body.content_type, &body.bytes).map_err(xapi::refused)?;
            Ok((received.statements, received.attachments))
        }
        _ => Err(xapi::invalid(
            "Content-Type",
            "must be application/json, or multipart/mixed with attachments",
        )),
    }
}

fn public_url(state: &AppState) -> String {
    state.settings.issuer()
}

/// Stores one statement under the id given as `statementId` (the statement's own `id`, if any,
/// must be the same). Storing the same statement again changes nothing; a different statement
/// under a stored id is refused with 409.
#[utoipa::path(
    operation_id = "putXapiStatement",
    tag = "xapi",
    security(("client_basic" = []), ("client_credentials" = ["records:write"])),
    params(
        ("statementId" = Uuid, Query, description = "The statement's id"),
        ("X-Experience-API-Version" = String, Header, description = "1.0.x (e.g. 1.0.3) or 2.0.x (2.0.0): the request is answered by that version's rules"),
    ),
    request_body(content = Object, description = "An xAPI statement (application/json), or multipart/mixed with the statement first and its attachments after", content_type = "application/json"),
    responses(
        (status = 204, description = "Stored (or already stored)", headers(("X-Experience-API-Consistent-Through" = String, description = "Every statement stored before this time is visible to queries"))),
        (status = 400, description = "A malformed statement or request: nothing was stored", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A person's token, a client without records:write, or a quota of the organisation's LRS reached (`quota-exceeded`): nothing was stored", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A different statement is stored under this id", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/xapi/statements")]
pub async fn put(
    client: LrsClient,
    req: HttpRequest,
    body: RawBody,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    client.require_write()?;
    let id = single_id(req.query_string())?;
    let (value, attachments) = received(body)?;
    if !value.is_object() {
        return Err(xapi::invalid(
            "body",
            "must be one statement (a JSON object)",
        ));
    }
    store(&state, client, vec![value], attachments, Some(id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The `statementId` of a PUT, the only parameter it takes.
fn single_id(query: &str) -> Result<Uuid, Error> {
    let mut id = None;
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name != "statementId" {
            return Err(xapi::invalid(
                name.as_ref(),
                "is not a parameter of a statement PUT",
            ));
        }
        id = Some(
            Uuid::parse_str(&value).map_err(|_| xapi::invalid("statementId", "must be a UUID"))?,
        );
    }
    id.ok_or_else(|| xapi::invalid("statementId", "is required"))
}

/// Stores one statement or an array of them, all or none; answers their ids in order (the LRS
/// gives an id to each statement sent without one).
#[utoipa::path(
    operation_id = "postXapiStatements",
    tag = "xapi",
    security(("client_basic" = []), ("client_credentials" = ["records:write"])),
    params(("X-Experience-API-Version" = String, Header, description = "1.0.x (e.g. 1.0.3) or 2.0.x (2.0.0): the request is answered by that version's rules")),
    request_body(content = Object, description = "A statement or an array of statements (application/json), or multipart/mixed with them first and their attachments after", content_type = "application/json"),
    responses(
        (status = 200, description = "The ids of the statements, in the order sent", body = Vec<String>, headers(("X-Experience-API-Consistent-Through" = String, description = "Every statement stored before this time is visible to queries"))),
        (status = 400, description = "A malformed statement or request: nothing was stored", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A person's token, a client without records:write, or a quota of the organisation's LRS reached (`quota-exceeded`): nothing was stored", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A different statement is stored under one of the ids", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/xapi/statements")]
pub async fn post(
    client: LrsClient,
    req: HttpRequest,
    body: RawBody,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    client.require_write()?;
    if let Some((name, _)) = form_urlencoded::parse(req.query_string().as_bytes()).next() {
        return Err(xapi::invalid(
            name.as_ref(),
            "is not a parameter of a statement POST",
        ));
    }
    let (value, attachments) = received(body)?;
    let list = statements::batch(value)?;
    let ids = store(&state, client, list, attachments, None).await?;
    Ok(HttpResponse::Ok().json(ids))
}

/// Stores the statements received, with the organisation's quotas, on a database thread.
async fn store(
    state: &AppState,
    client: LrsClient,
    received: Vec<Value>,
    attachments: Vec<multipart::Attachment>,
    put_id: Option<Uuid>,
) -> Result<Vec<Uuid>, Error> {
    let public_url = public_url(state);
    let quotas = Quotas::from(&state.settings.xapi);
    state
        .db
        .run(move |conn| {
            xapi::store_statements(
                conn,
                &client,
                &public_url,
                received,
                attachments,
                put_id,
                &quotas,
            )
        })
        .await
}

/// One statement (`statementId`, or `voidedStatementId` for a voided one), or the statements
/// matching a query: `agent`, `verb`, `activity`, `registration`, `related_activities`,
/// `related_agents`, `since`, `until`, `limit`, `ascending`. Every answer takes `format` (`exact`,
/// `ids`, `canonical` by `Accept-Language`) and `attachments=true` (multipart/mixed with the
/// attachments' content). A page that does not hold every match ends with a `more` link: a
/// page holds at most `limit` statements, and fewer when more would take the answer, with its
/// attachments, past the LRS's answer size (`PASSPORT_XAPI_MAX_ANSWER_BYTES`); it always holds
/// one at least.
#[utoipa::path(
    operation_id = "getXapiStatements",
    tag = "xapi",
    security(("client_basic" = []), ("client_credentials" = [])),
    params(
        ("X-Experience-API-Version" = String, Header, description = "1.0.x (e.g. 1.0.3) or 2.0.x (2.0.0): the request is answered by that version's rules"),
        ("statementId" = Option<Uuid>, Query, description = "One statement"),
        ("voidedStatementId" = Option<Uuid>, Query, description = "One voided statement"),
        ("agent" = Option<String>, Query, description = "A JSON Agent or identified Group: statements whose actor or object it is"),
        ("verb" = Option<String>, Query, description = "A verb IRI"),
        ("activity" = Option<String>, Query, description = "An activity IRI: statements whose object it is"),
        ("registration" = Option<Uuid>, Query, description = "A registration"),
        ("related_activities" = Option<bool>, Query, description = "Match the activity anywhere (context, SubStatements) too"),
        ("related_agents" = Option<bool>, Query, description = "Match the agent anywhere (authority, context, SubStatements) too"),
        ("since" = Option<String>, Query, description = "Stored after this time"),
        ("until" = Option<String>, Query, description = "Stored at or before this time"),
        ("limit" = Option<u32>, Query, description = "At most this many (0 or none: the LRS's page size, 500)"),
        ("format" = Option<String>, Query, description = "exact (default), ids or canonical"),
        ("attachments" = Option<bool>, Query, description = "Answer multipart/mixed with the attachments' content"),
        ("ascending" = Option<bool>, Query, description = "Oldest first (default newest first)"),
        ("cursor" = Option<String>, Query, description = "Where a `more` link continues; not for clients to build"),
    ),
    responses(
        (status = 200, description = "A statement, or `{statements, more}`", body = Object, headers(("X-Experience-API-Consistent-Through" = String, description = "Every statement stored before this time is visible to queries"), ("Last-Modified" = String, description = "When the statement, or the newest statement of the page, was stored"))),
        (status = 404, description = "No such statement in the organisation's LRS", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/xapi/statements")]
pub async fn get(
    client: LrsClient,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let request = query::parse(req.query_string())?;
    let wants_attachments = request.attachments();
    let languages = query::languages(
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let (organisation_id, version) = (client.organisation_id, client.version);
    let base_path = url::Url::parse(&public_url(&state))
        .map(|u| u.path().trim_end_matches('/').to_owned())
        .unwrap_or_default();
    let budget = state.settings.xapi.max_answer_bytes;
    let answer::Answered {
        json,
        stored,
        attachments,
    } = state
        .db
        .run(move |conn| {
            let asked = answer::Asked {
                languages: &languages,
                base_path: &base_path,
                budget,
                version,
            };
            answer::statements(conn, organisation_id, request, &asked)
        })
        .await?;
    let mut response = HttpResponse::Ok();
    if let Some(stored) = stored {
        response.insert_header((header::LAST_MODIFIED, http_date(stored.0)));
    }
    if wants_attachments {
        let (content_type, body) = multipart::build(json.as_bytes(), &attachments);
        return Ok(response.content_type(content_type).body(body));
    }
    Ok(response.content_type("application/json").body(json))
}
