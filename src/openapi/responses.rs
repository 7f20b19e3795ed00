//! The answers an operation gives besides its own, derived once for every operation from what it
//! declares, so that the document and the middleware cannot disagree and a new operation is
//! documented right without repeating them:
//!
//! - 401, and 403 unless any caller may call it, from its security requirement;
//! - 404 from an id in its path (unless it creates what the path names);
//! - 412 from an `If-Match` parameter;
//! - 400, 413, 415 and 422 from a body, and 422 from query parameters (400 in the xAPI LRS,
//!   whose specification says so, and which answers no 415 either);
//! - 429 everywhere but the probes and the metrics scrape, which are never rate limited.
//!
//! Every problem-details answer is a reference to one of `components.responses`; an answer an
//! operation declares itself keeps its own description on the reference. Every answer carries
//! `X-Request-Id`.

use serde_json::Value;
use utoipa::Modify;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{
    ContentBuilder, Header, HeaderBuilder, Object, OpenApi, Ref, RefOr, Response, ResponseBuilder,
    Type,
};

/// A problem-details answer documented once, under `components.responses`.
struct Shared {
    status: &'static str,
    name: &'static str,
    description: &'static str,
}

const SHARED: &[Shared] = &[
    Shared {
        status: "400",
        name: "BadRequest",
        description: "A malformed request: a body that is not valid JSON (or form), or in the xAPI \
                      LRS a malformed parameter or statement",
    },
    Shared {
        status: "401",
        name: "Unauthorized",
        description: "No valid credentials: none sent, malformed, expired, or a revoked client's. \
                      `WWW-Authenticate` names the scheme expected",
    },
    Shared {
        status: "403",
        name: "Forbidden",
        description: "Valid credentials that may not do this: another kind of caller, or a client \
                      without the scope the operation needs",
    },
    Shared {
        status: "404",
        name: "NotFound",
        description: "Nothing the caller may see under this id",
    },
    Shared {
        status: "409",
        name: "Conflict",
        description: "The request conflicts with the resource as it is; nothing changed",
    },
    Shared {
        status: "412",
        name: "PreconditionFailed",
        description: "The resource changed since it was read: `If-Match` no longer matches its \
                      ETag, and nothing changed",
    },
    Shared {
        status: "413",
        name: "PayloadTooLarge",
        description: "The body is larger than this operation takes",
    },
    Shared {
        status: "415",
        name: "UnsupportedMediaType",
        description: "The body is not of a media type this operation takes",
    },
    Shared {
        status: "422",
        name: "UnprocessableContent",
        description: "Invalid fields or query parameters: `errors` names each by its dotted path; \
                      nothing changed",
    },
    Shared {
        status: "429",
        name: "TooManyRequests",
        description: "Too many requests from this client: retry after `Retry-After` seconds",
    },
];

fn shared(status: &str) -> Option<&'static Shared> {
    SHARED.iter().find(|s| s.status == status)
}

fn header(schema: Type, description: &str) -> Header {
    HeaderBuilder::new()
        .schema(Object::with_type(schema))
        .description(Some(description))
        .build()
}

fn request_id() -> Header {
    header(
        Type::String,
        "The request's id: the caller's own `X-Request-Id` when it sent a sane one, otherwise one \
         made for the request. Every log line of the request carries it.",
    )
}

/// The component of a shared answer, with the headers it always carries.
fn component(shared: &Shared) -> Response {
    let mut response = ResponseBuilder::new()
        .description(shared.description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .header("X-Request-Id", request_id());
    match shared.status {
        "401" => {
            response = response.header(
                "WWW-Authenticate",
                header(
                    Type::String,
                    "The authentication scheme expected (RFC 9110 section 11.6.1): `Bearer` with \
                     the error (RFC 6750), or `Basic` at the token endpoint and the LRS",
                ),
            )
        }
        "429" => {
            response = response.header(
                "Retry-After",
                header(Type::Integer, "Seconds to wait before the next request"),
            )
        }
        _ => {}
    }
    response.build()
}

/// A reference to a shared answer, with the operation's own description when it says more.
fn reference(shared: &Shared, description: Option<&str>) -> RefOr<Response> {
    let mut reference = Ref::from_response_name(shared.name);
    if let Some(description) = description.filter(|d| *d != shared.description) {
        reference.description = description.to_owned();
    }
    RefOr::Ref(reference)
}

/// Applied to the finished document, where every route's operation exists.
pub struct StandardResponses;

impl Modify for StandardResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for shared in SHARED {
            components
                .responses
                .insert(shared.name.to_owned(), component(shared).into());
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                share_declared(operation);
                derive(path, operation);
                for response in operation.responses.responses.values_mut() {
                    if let RefOr::T(response) = response {
                        response
                            .headers
                            .entry("X-Request-Id".to_owned())
                            .or_insert_with(request_id);
                    }
                }
            }
        }
    }
}

/// The problem-details answers an operation declares become references to the shared ones,
/// keeping the operation's description. An answer with a header the shared one lacks stays.
fn share_declared(operation: &mut Operation) {
    for (status, response) in operation.responses.responses.iter_mut() {
        let (Some(shared), RefOr::T(declared)) = (shared(status), &*response) else {
            continue;
        };
        let problem = declared
            .content
            .keys()
            .all(|media_type| media_type == "application/problem+json");
        let headers = component(shared).headers;
        let covered = declared.headers.keys().all(|h| headers.contains_key(h));
        if problem && covered {
            *response = reference(shared, Some(&declared.description));
        }
    }
}

/// Adds the shared answers that follow from the operation's security, parameters and body.
fn derive(path: &str, operation: &mut Operation) {
    let lrs = path.starts_with("/xapi/");
    let invalid = if lrs { "400" } else { "422" };
    let mut statuses: Vec<(&str, Option<String>)> = Vec::new();
    if let Some(body) = &operation.request_body {
        statuses.extend([("400", None), ("413", None)]);
        // xAPI has no 415 (Communication 3.2): the LRS answers 400 for a media type it does
        // not take.
        if !lrs {
            statuses.push(("415", None));
        }
        // A JSON body is checked field by field; a form (the token endpoint) is not.
        if body.content.contains_key("application/json") {
            statuses.push((invalid, None));
        }
    }
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    if parameters
        .iter()
        .any(|p| p.parameter_in == ParameterIn::Query)
    {
        statuses.push((invalid, None));
    }
    let creates = operation.responses.responses.contains_key("201");
    if parameters
        .iter()
        .any(|p| p.parameter_in == ParameterIn::Path)
        && !creates
    {
        statuses.push(("404", None));
    }
    if parameters
        .iter()
        .any(|p| p.parameter_in == ParameterIn::Header && p.name.eq_ignore_ascii_case("If-Match"))
    {
        statuses.push(("412", None));
    }
    let requirements: Vec<Value> = operation
        .security
        .iter()
        .flatten()
        .filter_map(|r| serde_json::to_value(r).ok())
        .collect();
    if !requirements.is_empty() {
        statuses.push(("401", None));
        if let Some(refused) = refused(&requirements) {
            statuses.push(("403", Some(refused)));
        }
    }
    // Probes and scrapers are never rate limited.
    if !path.starts_with("/health/") && path != "/metrics" {
        statuses.push(("429", None));
    }
    let responses = &mut operation.responses.responses;
    for (status, description) in statuses {
        if let Some(shared) = shared(status) {
            responses
                .entry(status.to_owned())
                .or_insert_with(|| reference(shared, description.as_deref()));
        }
    }
}

/// Who is refused with 403, read from the security requirement's alternatives: nobody when a
/// person and any organisation client may call, or when an alternative asks for nothing (the
/// token endpoint's credentials in the form).
fn refused(requirements: &[Value]) -> Option<String> {
    if requirements
        .iter()
        .any(|r| r.as_object().is_some_and(|schemes| schemes.is_empty()))
    {
        return None;
    }
    let mut people = false;
    let mut clients = false;
    let mut scopes: Vec<String> = Vec::new();
    let mut any_scope = false;
    for requirement in requirements {
        for (scheme, wanted) in requirement.as_object().into_iter().flatten() {
            if scheme == "bearer" {
                people = true;
                continue;
            }
            clients = true;
            let wanted: Vec<String> = wanted
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(|s| format!("`{s}`")))
                .collect();
            if wanted.is_empty() {
                any_scope = true;
            }
            scopes.extend(wanted);
        }
    }
    let client = if any_scope || scopes.is_empty() {
        "an organisation client".to_owned()
    } else {
        format!("an organisation client with {}", scopes.join(" or "))
    };
    match (people, clients) {
        (true, true) if any_scope => None,
        (true, true) => Some(format!("Neither a person's token nor {client}")),
        (true, false) => Some("Not a person's token".to_owned()),
        (false, _) => Some(format!("Not {client}")),
    }
}
