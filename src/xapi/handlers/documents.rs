//! The State, Activity Profile and Agent Profile resources.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use std::collections::HashMap;

use super::http_date;
use crate::db::types::Timestamp;
use crate::error::{Error, Problem};
use crate::http::AppState;
use crate::http::body::RawBody;
use crate::xapi::documents::{self, Kind, Preconditions, Scope, Write};
use crate::xapi::usage::Quotas;
use crate::xapi::version::XapiVersion;
use crate::xapi::{self, LrsClient, query, validate};

/// The parameters of a document request.
struct Addressed {
    scope: Scope,
    document_id: Option<String>,
    since: Option<Timestamp>,
}

fn id_name(kind: Kind) -> &'static str {
    match kind {
        Kind::State => "stateId",
        Kind::ActivityProfile | Kind::AgentProfile => "profileId",
    }
}

fn address(kind: Kind, query: &str) -> Result<Addressed, Error> {
    let allowed: &[&str] = match kind {
        Kind::State => &["activityId", "agent", "registration", "stateId", "since"],
        Kind::ActivityProfile => &["activityId", "profileId", "since"],
        Kind::AgentProfile => &["agent", "profileId", "since"],
    };
    let mut params = HashMap::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if !allowed.contains(&name.as_ref()) {
            return Err(xapi::invalid(
                name.as_ref(),
                "is not a parameter of this resource",
            ));
        }
        if params.insert(name.to_string(), value.to_string()).is_some() {
            return Err(xapi::invalid(name.as_ref(), "is given more than once"));
        }
    }
    let required = |name: &str| {
        params
            .get(name)
            .cloned()
            .ok_or_else(|| xapi::invalid(name, "is required"))
    };
    let activity_id = if kind == Kind::AgentProfile {
        String::new()
    } else {
        let id = required("activityId")?;
        if !validate::is_iri(&id) {
            return Err(xapi::invalid("activityId", "must be an IRI"));
        }
        id
    };
    let agent = if kind == Kind::ActivityProfile {
        String::new()
    } else {
        let text = required("agent")?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|_| xapi::invalid("agent", "must be an Agent as JSON"))?;
        validate::agent(&value, "agent").map_err(xapi::refused)?;
        validate::ifi(&value).ok_or_else(|| xapi::invalid("agent", "must identify an Agent"))?
    };
    let registration = match params.get("registration") {
        Some(r) if validate::is_uuid(r) => r.to_ascii_lowercase(),
        Some(_) => return Err(xapi::invalid("registration", "must be a UUID")),
        None => String::new(),
    };
    let since = query::time("since", params.get("since"))?;
    Ok(Addressed {
        scope: Scope {
            kind,
            activity_id,
            agent,
            registration,
        },
        document_id: params.get(id_name(kind)).cloned(),
        since,
    })
}

/// The document a write addresses: writing needs records:write, and `since` only lists.
fn addressed_for_writing(
    kind: Kind,
    client: &LrsClient,
    req: &HttpRequest,
) -> Result<Addressed, Error> {
    client.require_write()?;
    let addressed = address(kind, req.query_string())?;
    if addressed.since.is_some() {
        return Err(xapi::invalid("since", "is only for listing documents"));
    }
    Ok(addressed)
}

fn preconditions(req: &HttpRequest, client: &LrsClient) -> Preconditions {
    let tags = |name: header::HeaderName| {
        let values: Vec<String> = req
            .headers()
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect();
        (!values.is_empty()).then_some(values)
    };
    Preconditions {
        if_match: tags(header::IF_MATCH),
        if_none_match: tags(header::IF_NONE_MATCH),
        required_to_replace: client.version == XapiVersion::V2_0,
    }
}

async fn store(
    kind: Kind,
    how: Write,
    client: LrsClient,
    req: HttpRequest,
    body: RawBody,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let addressed = addressed_for_writing(kind, &client, &req)?;
    let document_id = addressed
        .document_id
        .ok_or_else(|| xapi::invalid(id_name(kind), "is required"))?;
    let preconditions = preconditions(&req, &client);
    let content_type = match body.content_type.trim() {
        "" => "application/octet-stream".to_owned(),
        given => given.to_owned(),
    };
    let scope = addressed.scope;
    let quotas = Quotas::from(&state.settings.xapi);
    let etag = state
        .db
        .run(move |conn| {
            documents::write(
                conn,
                client.organisation_id,
                &scope,
                &document_id,
                &content_type,
                body.bytes.to_vec(),
                how,
                &preconditions,
                &quotas,
            )
        })
        .await?;
    Ok(HttpResponse::NoContent()
        .insert_header((header::ETAG, etag))
        .finish())
}

async fn fetch(
    kind: Kind,
    client: LrsClient,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let addressed = address(kind, req.query_string())?;
    let organisation_id = client.organisation_id;
    let scope = addressed.scope;
    match addressed.document_id {
        // `since` filters lists only: with a document's id it is ignored, as the conformance
        // suite expects (Communication 2.3.s4.table1.row4, XAPI-00268).
        Some(id) => {
            let document = state
                .db
                .run(move |conn| documents::get(conn, organisation_id, &scope, &id))
                .await?
                .ok_or_else(|| Error::NotFound("no such document".into()))?;
            Ok(HttpResponse::Ok()
                .content_type(document.content_type)
                .insert_header((header::ETAG, document.etag))
                .insert_header((header::LAST_MODIFIED, http_date(document.updated.0)))
                .body(document.content))
        }
        None => {
            let since = addressed.since;
            let ids = state
                .db
                .run(move |conn| documents::ids(conn, organisation_id, &scope, since))
                .await?;
            Ok(HttpResponse::Ok().json(ids))
        }
    }
}

async fn remove(
    kind: Kind,
    client: LrsClient,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let addressed = addressed_for_writing(kind, &client, &req)?;
    // Only a state's documents can be deleted all at once.
    if kind != Kind::State && addressed.document_id.is_none() {
        return Err(xapi::invalid("profileId", "is required"));
    }
    let preconditions = preconditions(&req, &client);
    let (organisation_id, scope, id) = (
        client.organisation_id,
        addressed.scope,
        addressed.document_id,
    );
    state
        .db
        .run(move |conn| {
            documents::delete(conn, organisation_id, &scope, id.as_deref(), &preconditions)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

macro_rules! document_handlers {
    (
        $path:literal, $kind:expr, ($($param:tt)*),
        $put_doc:literal, $post_doc:literal, $get_doc:literal, $delete_doc:literal,
        $put:ident, $post:ident, $get:ident, $delete:ident,
        $put_id:literal, $post_id:literal, $get_id:literal, $delete_id:literal
    ) => {
        #[doc = $put_doc]
        #[utoipa::path(
            operation_id = $put_id,
            tag = "xapi",
            security(("client_basic" = []), ("client_credentials" = ["records:write"])),
            params(
                $($param)*
                ("If-Match" = Option<String>, Header, description = "Only if the document's ETag is one of these (`*`: if it exists); 412 otherwise"),
                ("If-None-Match" = Option<String>, Header, description = "Only if the document's ETag is none of these (`*`: if it does not exist); 412 otherwise"),
            ),
            request_body(content = Object, description = "The document, of any media type", content_type = "application/json"),
            responses(
                (status = 204, description = "Stored", headers(("ETag" = String))),
                (status = 400, description = "A malformed parameter or body; for a profile, neither If-Match nor If-None-Match for a document that does not exist", body = Problem, content_type = "application/problem+json"),
                (status = 403, description = "A person's token, a client without records:write, or the organisation's LRS holding as many documents as it may (`quota-exceeded`)", body = Problem, content_type = "application/problem+json"),
                (status = 409, description = "The document exists and no precondition was sent", body = Problem, content_type = "application/problem+json"),
            )
        )]
        #[put($path)]
        pub async fn $put(
            client: LrsClient,
            req: HttpRequest,
            body: RawBody,
            state: web::Data<AppState>,
        ) -> Result<HttpResponse, Error> {
            store($kind, Write::Replace, client, req, body, state).await
        }

        #[doc = $post_doc]
        #[utoipa::path(
            operation_id = $post_id,
            tag = "xapi",
            security(("client_basic" = []), ("client_credentials" = ["records:write"])),
            params(
                $($param)*
                ("If-Match" = Option<String>, Header, description = "Only if the document's ETag is one of these (`*`: if it exists); 412 otherwise"),
                ("If-None-Match" = Option<String>, Header, description = "Only if the document's ETag is none of these (`*`: if it does not exist); 412 otherwise"),
            ),
            request_body(content = Object, description = "A JSON object", content_type = "application/json"),
            responses(
                (status = 204, description = "Stored", headers(("ETag" = String))),
                (status = 400, description = "A malformed parameter, or a document that is not a JSON object", body = Problem, content_type = "application/problem+json"),
                (status = 403, description = "A person's token, a client without records:write, or the organisation's LRS holding as many documents as it may (`quota-exceeded`)", body = Problem, content_type = "application/problem+json"),
            )
        )]
        #[post($path)]
        pub async fn $post(
            client: LrsClient,
            req: HttpRequest,
            body: RawBody,
            state: web::Data<AppState>,
        ) -> Result<HttpResponse, Error> {
            store($kind, Write::Merge, client, req, body, state).await
        }

        #[doc = $get_doc]
        #[utoipa::path(
            operation_id = $get_id,
            tag = "xapi",
            security(("client_basic" = []), ("client_credentials" = [])),
            params($($param)*),
            responses(
                (status = 200, description = "The document as stored, or an array of ids", body = Object, headers(("ETag" = String), ("Last-Modified" = String))),
                (status = 404, description = "No such document", body = Problem, content_type = "application/problem+json"),
            )
        )]
        #[get($path)]
        pub async fn $get(
            client: LrsClient,
            req: HttpRequest,
            state: web::Data<AppState>,
        ) -> Result<HttpResponse, Error> {
            fetch($kind, client, req, state).await
        }

        #[doc = $delete_doc]
        #[utoipa::path(
            operation_id = $delete_id,
            tag = "xapi",
            security(("client_basic" = []), ("client_credentials" = ["records:write"])),
            params(
                $($param)*
                ("If-Match" = Option<String>, Header, description = "Only if the document's ETag is one of these (`*`: if it exists); 412 otherwise"),
                ("If-None-Match" = Option<String>, Header, description = "Only if the document's ETag is none of these (`*`: if it does not exist); 412 otherwise"),
            ),
            responses(
                (status = 204, description = "Deleted (or there was none)"),
                (status = 403, description = "A person's token, or a client without records:write", body = Problem, content_type = "application/problem+json"),
            )
        )]
        #[delete($path)]
        pub async fn $delete(
            client: LrsClient,
            req: HttpRequest,
            state: web::Data<AppState>,
        ) -> Result<HttpResponse, Error> {
            remove($kind, client, req, state).await
        }
    };
}

document_handlers!(
    "/xapi/activities/state",
    Kind::State,
    (
        ("X-Experience-API-Version" = String, Header, description = "1.0.x or 2.0.x"),
        ("activityId" = String, Query, description = "The activity's IRI"),
        ("agent" = String, Query, description = "The Agent, as JSON"),
        ("registration" = Option<uuid::Uuid>, Query, description = "The registration"),
        ("stateId" = Option<String>, Query, description = "The document's id (required to store)"),
        ("since" = Option<String>, Query, description = "When listing: only documents stored after this time"),
    ),
    "Stores (replaces) a state document: an activity's state for an agent, optionally per registration. `If-Match` / `If-None-Match` are honoured when sent; under xAPI 2.0 an existing one is replaced only with one of them (neither is 409), as profiles are.",
    "Merges a JSON object into a state document (its properties win), or stores it when there is none. Both must be application/json objects.",
    "Fetches a state document (with its ETag), or without `stateId` the ids stored (`since` a time, optionally).",
    "Deletes a state document, or without `stateId` every state of the activity and agent (and registration).",
    put_state,
    post_state,
    get_state,
    delete_state,
    "putXapiState",
    "postXapiState",
    "getXapiState",
    "deleteXapiState"
);

document_handlers!(
    "/xapi/activities/profile",
    Kind::ActivityProfile,
    (
        ("X-Experience-API-Version" = String, Header, description = "1.0.x or 2.0.x"),
        ("activityId" = String, Query, description = "The activity's IRI"),
        ("profileId" = Option<String>, Query, description = "The document's id (required but to list)"),
        ("since" = Option<String>, Query, description = "When listing: only documents stored after this time"),
    ),
    "Stores (replaces) an activity profile document. It needs `If-None-Match: *` to create the document or `If-Match` with its ETag to replace it: a mismatch is 412; neither header is 409 when the document exists, 400 when it does not.",
    "Merges a JSON object into an activity profile document (its properties win), or stores it when there is none. Both must be application/json objects.",
    "Fetches an activity profile document (with its ETag), or without `profileId` the ids stored (`since` a time, optionally).",
    "Deletes an activity profile document (honouring `If-Match`).",
    put_activity_profile,
    post_activity_profile,
    get_activity_profile,
    delete_activity_profile,
    "putXapiActivityProfile",
    "postXapiActivityProfile",
    "getXapiActivityProfile",
    "deleteXapiActivityProfile"
);

document_handlers!(
    "/xapi/agents/profile",
    Kind::AgentProfile,
    (
        ("X-Experience-API-Version" = String, Header, description = "1.0.x or 2.0.x"),
        ("agent" = String, Query, description = "The Agent, as JSON"),
        ("profileId" = Option<String>, Query, description = "The document's id (required but to list)"),
        ("since" = Option<String>, Query, description = "When listing: only documents stored after this time"),
    ),
    "Stores (replaces) an agent profile document. It needs `If-None-Match: *` to create the document or `If-Match` with its ETag to replace it: a mismatch is 412; neither header is 409 when the document exists, 400 when it does not.",
    "Merges a JSON object into an agent profile document (its properties win), or stores it when there is none. Both must be application/json objects.",
    "Fetches an agent profile document (with its ETag), or without `profileId` the ids stored (`since` a time, optionally).",
    "Deletes an agent profile document (honouring `If-Match`).",
    put_agent_profile,
    post_agent_profile,
    get_agent_profile,
    delete_agent_profile,
    "putXapiAgentProfile",
    "postXapiAgentProfile",
    "getXapiAgentProfile",
    "deleteXapiAgentProfile"
);
