//! The OpenAPI document as the contract clients are generated from: committed as the code
//! generates it, every operation named once, every model defined once, and the answers every
//! operation can give documented the same way everywhere. (`scripts/check-openapi` validates it
//! with standard OpenAPI 3.1 validators; `tests/operations.rs` checks that it is served.)

use std::collections::BTreeMap;

use serde_json::Value;

fn document() -> Value {
    serde_json::from_str(&learning_passport::openapi().to_json().unwrap()).unwrap()
}

/// Every operation of the document: (method, path, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            all.push((method.clone(), path.clone(), operation.clone()));
        }
    }
    all
}

/// The committed `openapi/openapi.json` is what the code generates.
#[test]
fn the_committed_openapi_document_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let generated = learning_passport::openapi().to_pretty_json().unwrap() + "\n";
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json is out of date with the code.\nRegenerate it with:\n\n    cargo run -- openapi > openapi/openapi.json\n"
    );
}

/// Every operation has a summary (its doc comment) and its answers.
#[test]
fn every_operation_is_documented() {
    for (method, path, operation) in operations(&document()) {
        let summary = operation["summary"].as_str().unwrap_or_default();
        assert!(
            !summary.is_empty(),
            "{method} {path} has no summary (doc comment)"
        );
        assert!(
            operation["responses"]
                .as_object()
                .is_some_and(|r| !r.is_empty()),
            "{method} {path} has no responses"
        );
    }
}

/// A generated client names its functions after operation ids: each is unique in the whole
/// document, and a camelCase name of at least two words that says what it does on its own
/// (`listMyGrants`, never `list`).
#[test]
fn every_operation_id_is_unique_and_says_what_it_does() {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (method, path, operation) in operations(&document()) {
        let id = operation["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has no operationId"))
            .to_owned();
        let camel = id.starts_with(|c: char| c.is_ascii_lowercase())
            && id.chars().all(|c| c.is_ascii_alphanumeric())
            && id.chars().any(|c| c.is_ascii_uppercase());
        assert!(
            camel,
            "{method} {path}: operationId `{id}` is not a camelCase name of two words or more"
        );
        if let Some(other) = seen.insert(id.clone(), format!("{method} {path}")) {
            panic!("operationId `{id}` names both {other} and {method} {path}");
        }
    }
}

/// Every schema that copies a component refers to it instead, so that a generated client has
/// one model per component (a list's items are the item's own model).
#[test]
fn no_schema_copies_a_component() {
    let doc = document();
    let components = doc["components"]["schemas"].as_object().unwrap();
    fn walk(
        node: &Value,
        at: &str,
        components: &serde_json::Map<String, Value>,
        copies: &mut Vec<String>,
    ) {
        match node {
            Value::Object(fields) => {
                for (name, component) in components {
                    let own = at == format!("/components/schemas/{name}");
                    if node == component && !own {
                        copies.push(format!("{at} copies {name}"));
                    }
                }
                for (key, value) in fields {
                    walk(value, &format!("{at}/{key}"), components, copies);
                }
            }
            Value::Array(values) => {
                for (index, value) in values.iter().enumerate() {
                    walk(value, &format!("{at}/{index}"), components, copies);
                }
            }
            _ => {}
        }
    }
    let mut copies = Vec::new();
    walk(&doc, "", components, &mut copies);
    assert!(copies.is_empty(), "{copies:#?}");
}

/// Every list follows the list convention: `items` (each a reference to the item's component)
/// and `next_cursor`, always present and `null` on the last page.
#[test]
fn every_list_refers_to_its_items_and_always_has_a_next_cursor() {
    let doc = document();
    let lists: Vec<(&String, &Value)> = doc["components"]["schemas"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| name.starts_with("List_"))
        .collect();
    assert!(lists.len() >= 10, "{}", lists.len());
    for (name, list) in lists {
        let required: Vec<&str> = list["required"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(required, ["items", "next_cursor"], "{name}");
        assert_eq!(
            list["properties"]["next_cursor"]["type"],
            serde_json::json!(["string", "null"]),
            "{name}"
        );
        let item = name.trim_start_matches("List_");
        assert_eq!(
            list["properties"]["items"]["items"]["$ref"],
            format!("#/components/schemas/{item}"),
            "{name}"
        );
    }
}

/// Anonymous operations have no security requirement (`security: []`), so that generators do
/// not ask for credentials; an empty alternative appears only beside a real one (the token
/// endpoint: HTTP Basic, or the client's credentials in the form).
#[test]
fn anonymous_operations_ask_for_no_credentials() {
    let doc = document();
    let mut anonymous = Vec::new();
    for (method, path, operation) in operations(&doc) {
        let requirements = operation["security"]
            .as_array()
            .unwrap_or_else(|| panic!("{method} {path} declares no security"));
        let empty = requirements
            .iter()
            .filter(|r| r.as_object().is_some_and(|r| r.is_empty()))
            .count();
        assert!(
            empty == 0 || empty < requirements.len(),
            "{method} {path}: an empty requirement alone; anonymous is `security: []`"
        );
        if requirements.is_empty() {
            anonymous.push(format!("{method} {path}"));
        }
    }
    for expected in [
        "get /.well-known/jwks.json",
        "get /.well-known/did.json",
        "get /v1/frameworks",
        "get /v1/frameworks/{code}/{version}",
        "post /v1/credentials/verify",
        "get /v1/credentials/status/{number}",
        "get /health/live",
    ] {
        assert!(anonymous.contains(&expected.to_owned()), "{expected}");
    }
    let token = &doc["paths"]["/v1/oauth/token"]["post"]["security"];
    assert_eq!(*token, serde_json::json!([{"client_basic": []}, {}]));
}

/// The answers every operation can give are documented once, in `components.responses`, and
/// derived from what each operation declares: 401 and 403 from its security, 404 from an id in
/// its path, 412 from `If-Match`, 422 from a JSON body, 429 everywhere but the probes. Every
/// answer carries `X-Request-Id`.
#[test]
fn error_answers_are_shared_and_derived_from_each_operation() {
    let doc = document();
    let shared = doc["components"]["responses"].as_object().unwrap();
    for (name, response) in shared {
        assert!(
            response["headers"]["X-Request-Id"].is_object(),
            "{name} has no X-Request-Id"
        );
    }
    assert!(shared["Unauthorized"]["headers"]["WWW-Authenticate"].is_object());
    assert!(shared["TooManyRequests"]["headers"]["Retry-After"].is_object());
    let mut problems_inline = Vec::new();
    for (method, path, operation) in operations(&doc) {
        let responses = operation["responses"].as_object().unwrap();
        for (status, response) in responses {
            match response["$ref"].as_str() {
                Some(reference) => {
                    let name = reference.trim_start_matches("#/components/responses/");
                    assert!(shared.contains_key(name), "{method} {path} {status}");
                }
                None => {
                    assert!(
                        response["headers"]["X-Request-Id"].is_object(),
                        "{method} {path} {status} has no X-Request-Id"
                    );
                    if status.starts_with('4') {
                        problems_inline.push(format!("{method} {path} {status}"));
                    }
                }
            }
        }
        let has = |status: &str| responses.contains_key(status);
        let parameters = operation["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let parameter = |place: &str, name: Option<&str>| {
            parameters
                .iter()
                .any(|p| p["in"] == place && name.is_none_or(|n| p["name"].as_str() == Some(n)))
        };
        let secured = operation["security"]
            .as_array()
            .is_some_and(|s| !s.is_empty());
        if secured {
            assert!(has("401"), "{method} {path}: security without 401");
        }
        if parameter("header", Some("If-Match")) {
            assert!(has("412"), "{method} {path}: If-Match without 412");
        }
        if parameter("path", None) && !has("201") {
            assert!(has("404"), "{method} {path}: an id in the path without 404");
        }
        let json_body = operation["requestBody"]["content"]["application/json"].is_object();
        if json_body && !path.starts_with("/xapi/") {
            assert!(has("422"), "{method} {path}: a body without 422");
        }
        let probe = path.starts_with("/health/") || path == "/metrics";
        assert_eq!(has("429"), !probe, "{method} {path}: 429");
    }
    assert!(problems_inline.is_empty(), "{problems_inline:#?}");
}

/// Every operation whose handler honours `If-Match` says so with the parameter.
#[test]
fn every_conditional_write_documents_if_match() {
    let doc = document();
    for (method, path) in [
        ("patch", "/v1/me"),
        ("patch", "/v1/me/records/{id}"),
        ("delete", "/v1/me/records/{id}"),
        ("delete", "/v1/me/grants/{id}"),
        ("patch", "/v1/me/attainments/{id}"),
        ("delete", "/v1/me/attainments/{id}"),
        ("put", "/v1/requirement-profiles/{id}"),
        ("delete", "/v1/requirement-profiles/{id}"),
        ("patch", "/v1/webhooks/{id}"),
        ("delete", "/v1/webhooks/{id}"),
        ("put", "/xapi/activities/state"),
        ("post", "/xapi/activities/state"),
        ("delete", "/xapi/activities/state"),
        ("put", "/xapi/activities/profile"),
        ("post", "/xapi/activities/profile"),
        ("delete", "/xapi/activities/profile"),
        ("put", "/xapi/agents/profile"),
        ("post", "/xapi/agents/profile"),
        ("delete", "/xapi/agents/profile"),
    ] {
        let operation = &doc["paths"][path][method];
        let documented = operation["parameters"].as_array().is_some_and(|ps| {
            ps.iter()
                .any(|p| p["name"] == "If-Match" && p["in"] == "header")
        });
        assert!(documented, "{method} {path} does not document If-Match");
    }
}

/// The two answers that are not JSON documents are typed: the status list as a VC-JWT string
/// (also as text, which generators take), the DID document as its schema.
#[test]
fn the_status_list_and_the_did_document_are_typed() {
    let doc = document();
    let status = &doc["paths"]["/v1/credentials/status/{number}"]["get"]["responses"]["200"];
    for media_type in ["application/vc+jwt", "text/plain"] {
        assert_eq!(
            status["content"][media_type]["schema"]["$ref"],
            "#/components/schemas/StatusListCredential"
        );
    }
    let credential = &doc["components"]["schemas"]["StatusListCredential"];
    assert_eq!(credential["type"], "string");
    assert!(credential["pattern"].is_string());
    let did = &doc["paths"]["/.well-known/did.json"]["get"]["responses"]["200"];
    assert_eq!(
        did["content"]["application/did+json"]["schema"]["$ref"],
        "#/components/schemas/DidDocument"
    );
}
