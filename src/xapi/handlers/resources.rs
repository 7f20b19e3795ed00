//! The About, Activities and Agents resources.

use actix_web::{HttpRequest, HttpResponse, get, web};
use serde_json::{Value, json};

use crate::error::Error;
use crate::http::AppState;
use crate::xapi::version::XapiVersion;
use crate::xapi::{self, LrsClient, store, validate};

/// What the LRS speaks: the xAPI versions it accepts, 2.0.0 and every 1.0.x. Needs no
/// credentials and no version header, so that a client can ask before it knows either. A
/// client naming a 1.0.x version is told the 1.0.x versions only, as xAPI 1.0.3 allows no
/// other value there.
#[utoipa::path(
    operation_id = "getXapiAbout",
    tag = "xapi",
    security(),
    params(("X-Experience-API-Version" = Option<String>, Header, description = "Optional: 1.0.x or 2.0.x")),
    responses((status = 200, description = "`{version: [\"2.0.0\", \"1.0.3\", ...], extensions: {}}`", body = Object))
)]
#[get("/xapi/about")]
pub async fn about(req: HttpRequest) -> HttpResponse {
    let versions = XapiVersion::listed(XapiVersion::of(&req));
    HttpResponse::Ok().json(json!({ "version": versions, "extensions": {} }))
}

fn only_parameter(req: &HttpRequest, name: &str) -> Result<String, Error> {
    let mut found = None;
    for (key, value) in form_urlencoded::parse(req.query_string().as_bytes()) {
        if key != name {
            return Err(xapi::invalid(
                key.as_ref(),
                "is not a parameter of this resource",
            ));
        }
        found = Some(value.into_owned());
    }
    found.ok_or_else(|| xapi::invalid(name, "is required"))
}

/// An activity with its complete definition (just its id when no statement described it).
///
/// The definition merges every definition the organisation's statements gave the activity:
/// names and descriptions (also of interaction components) gather every language seen, newer
/// text for a language replacing older; extensions are merged by key; type and moreInfo are
/// the latest given; the interaction type and correct responses are those first given, and
/// never change.
#[utoipa::path(
    operation_id = "getXapiActivity",
    tag = "xapi",
    security(("client_basic" = []), ("client_credentials" = [])),
    params(
        ("X-Experience-API-Version" = String, Header, description = "1.0.x or 2.0.x"),
        ("activityId" = String, Query, description = "The activity's IRI"),
    ),
    responses(
        (status = 200, description = "The Activity object", body = Object),
    )
)]
#[get("/xapi/activities")]
pub async fn activity(
    client: LrsClient,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let id = only_parameter(&req, "activityId")?;
    if !validate::is_iri(&id) {
        return Err(xapi::invalid("activityId", "must be an IRI"));
    }
    let lookup = id.clone();
    let definition = state
        .db
        .run(move |conn| store::definition(conn, client.organisation_id, &lookup))
        .await?;
    let mut activity = json!({ "objectType": "Activity", "id": id });
    if let Some(definition) = definition {
        activity["definition"] = definition;
    }
    Ok(HttpResponse::Ok().json(activity))
}

/// The Person object for an agent: every identifier the LRS knows it by, as arrays.
#[utoipa::path(
    operation_id = "getXapiAgent",
    tag = "xapi",
    security(("client_basic" = []), ("client_credentials" = [])),
    params(
        ("X-Experience-API-Version" = String, Header, description = "1.0.x or 2.0.x"),
        ("agent" = String, Query, description = "The Agent, as JSON"),
    ),
    responses(
        (status = 200, description = "The Person object", body = Object),
    )
)]
#[get("/xapi/agents")]
pub async fn agent(_client: LrsClient, req: HttpRequest) -> Result<HttpResponse, Error> {
    let text = only_parameter(&req, "agent")?;
    let agent: Value = serde_json::from_str(&text)
        .map_err(|_| xapi::invalid("agent", "must be an Agent as JSON"))?;
    validate::agent(&agent, "agent").map_err(xapi::refused)?;
    let mut person = json!({ "objectType": "Person" });
    for key in ["name", "mbox", "mbox_sha1sum", "openid", "account"] {
        if let Some(value) = agent.get(key) {
            person[key] = json!([value]);
        }
    }
    Ok(HttpResponse::Ok().json(person))
}
