//! An LRS client as learning platforms configure one: the endpoint and an organisation
//! client's id and secret, sent as HTTP Basic with every request, with the xAPI version header.

use chrono::{SecondsFormat, Utc};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use super::{Method, OrgClient, Reply, TestApp};

/// The version header every request carries.
pub const VERSION: &str = "1.0.3";

/// An organisation's LRS credentials.
#[derive(Debug, Clone)]
pub struct Lrs {
    pub client: OrgClient,
    pub version: Option<String>,
}

impl Lrs {
    /// A new organisation whose client may store statements (`records:write`).
    pub async fn new(app: &TestApp, name: &str) -> Lrs {
        Lrs::with_scopes(app, name, "records:write").await
    }

    pub async fn with_scopes(app: &TestApp, name: &str, scopes: &str) -> Lrs {
        Lrs {
            client: app.org(name, scopes).await,
            version: Some(VERSION.into()),
        }
    }

    /// Sends a request to `/xapi{path}` with Basic credentials, the version header and any
    /// extra headers; a JSON body is sent as application/json.
    pub async fn send(
        &self,
        app: &TestApp,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Body>,
    ) -> Reply {
        let mut request = app
            .http
            .request(method, app.url(&format!("/xapi{path}")))
            .basic_auth(&self.client.client_id, Some(&self.client.client_secret));
        if let Some(version) = &self.version {
            request = request.header("X-Experience-API-Version", version);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request = match body {
            Some(Body::Json(value)) => request.json(&value),
            Some(Body::Raw {
                content_type,
                bytes,
            }) => request.header("Content-Type", content_type).body(bytes),
            None => request,
        };
        Reply::from(request.send().await.unwrap()).await
    }

    pub async fn get(&self, app: &TestApp, path: &str) -> Reply {
        self.send(app, Method::GET, path, &[], None).await
    }

    pub async fn post(&self, app: &TestApp, path: &str, body: Value) -> Reply {
        self.send(app, Method::POST, path, &[], Some(Body::Json(body)))
            .await
    }

    pub async fn put(&self, app: &TestApp, path: &str, body: Value) -> Reply {
        self.send(app, Method::PUT, path, &[], Some(Body::Json(body)))
            .await
    }

    pub async fn delete(&self, app: &TestApp, path: &str) -> Reply {
        self.send(app, Method::DELETE, path, &[], None).await
    }

    /// Stores statements by POST and answers their ids, asserting success.
    pub async fn store(&self, app: &TestApp, statements: Value) -> Vec<String> {
        let reply = self.post(app, "/statements", statements).await;
        reply.expect(200);
        reply
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }

    /// The statements a query answers (`query` is the query string, without `?`), asserting
    /// success and that every answer fits one page.
    pub async fn query(&self, app: &TestApp, query: &str) -> Vec<Value> {
        let reply = self.get(app, &format!("/statements?{query}")).await;
        reply.expect(200);
        assert_eq!(
            reply.body["more"], "",
            "the answer to ?{query} has more pages"
        );
        statements(&reply)
    }

    /// One statement by `statementId`.
    pub async fn statement(&self, app: &TestApp, id: &str) -> Reply {
        self.get(app, &format!("/statements?statementId={id}"))
            .await
    }
}

/// A request body.
pub enum Body {
    Json(Value),
    Raw {
        content_type: String,
        bytes: Vec<u8>,
    },
}

/// A query parameter value, percent-encoded (JSON agents go in query strings).
pub fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The statements of a query answer.
pub fn statements(reply: &Reply) -> Vec<Value> {
    reply.body["statements"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The headers of a reply, for assertions on xAPI's headers.
pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A minimal valid statement by `mbox` doing `verb` to activity `activity`.
pub fn statement(mbox: &str, verb: &str, activity: &str) -> Value {
    serde_json::json!({
        "actor": { "objectType": "Agent", "mbox": format!("mailto:{mbox}") },
        "verb": { "id": format!("http://adlnet.gov/expapi/verbs/{verb}"), "display": { "en-US": verb } },
        "object": { "objectType": "Activity", "id": activity },
    })
}

/// A reply whose body is kept as the bytes sent: documents are any media type, and their
/// bytes must come back unchanged.
#[derive(Debug)]
pub struct BytesReply {
    pub status: super::StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl BytesReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

impl Lrs {
    /// As [`Lrs::send`], but answers the body as bytes.
    pub async fn send_bytes(
        &self,
        app: &TestApp,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Body>,
    ) -> BytesReply {
        let mut request = app
            .http
            .request(method, app.url(&format!("/xapi{path}")))
            .basic_auth(&self.client.client_id, Some(&self.client.client_secret));
        if let Some(version) = &self.version {
            request = request.header("X-Experience-API-Version", version);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request = match body {
            Some(Body::Json(value)) => request.json(&value),
            Some(Body::Raw {
                content_type,
                bytes,
            }) => request.header("Content-Type", content_type).body(bytes),
            None => request,
        };
        let response = request.send().await.unwrap();
        BytesReply {
            status: response.status(),
            headers: response.headers().clone(),
            bytes: response.bytes().await.unwrap().to_vec(),
        }
    }
}

/// `/xapi` path with query parameters, each percent-encoded: `query("/activities/state",
/// &[("activityId", id), ("agent", &agent.to_string())])`.
pub fn query(path: &str, params: &[(&str, &str)]) -> String {
    let pairs: Vec<String> = params
        .iter()
        .map(|(name, value)| format!("{name}={}", encode(value)))
        .collect();
    if pairs.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", pairs.join("&"))
    }
}

/// The ids of statements, in order.
pub fn ids(statements: &[Value]) -> Vec<String> {
    statements
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The SHA-256 of attachment data, in hex, as `sha2` and `X-Experience-API-Hash` carry it.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An attachment part of a multipart/mixed statement request.
pub struct Part {
    pub content_type: String,
    /// The `X-Experience-API-Hash` header: the SHA-256 of `bytes` unless a test says otherwise.
    pub hash: String,
    pub bytes: Vec<u8>,
}

impl Part {
    pub fn new(content_type: &str, bytes: &[u8]) -> Part {
        Part {
            content_type: content_type.to_owned(),
            hash: sha256(bytes),
            bytes: bytes.to_vec(),
        }
    }
}

/// A multipart/mixed statement request (Communication 1.5.2): the statements first, as
/// application/json, then each attachment part in binary with its hash.
pub fn multipart(statements: &Value, parts: &[Part]) -> Body {
    const BOUNDARY: &str = "xapi-test-boundary-7f3a";
    let mut bytes =
        format!("--{BOUNDARY}\r\nContent-Type: application/json\r\n\r\n{statements}\r\n")
            .into_bytes();
    for part in parts {
        bytes.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Type: {}\r\nContent-Transfer-Encoding: binary\r\n\
                 X-Experience-API-Hash: {}\r\n\r\n",
                part.content_type, part.hash
            )
            .as_bytes(),
        );
        bytes.extend_from_slice(&part.bytes);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    Body::Raw {
        content_type: format!("multipart/mixed; boundary={BOUNDARY}"),
        bytes,
    }
}

/// One part of a multipart/mixed answer.
#[derive(Debug)]
pub struct ReceivedPart {
    /// Header lines, as sent.
    pub headers: Vec<String>,
    pub body: String,
}

impl ReceivedPart {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

/// The parts of a multipart/mixed answer of text parts, split on the boundary its
/// Content-Type names.
pub fn parts(reply: &Reply) -> Vec<ReceivedPart> {
    let content_type = reply.header("content-type").unwrap();
    let body = reply.body.as_str().expect("a text body");
    parts_of(content_type, body)
}

/// The parts of a multipart/mixed body of text parts whose Content-Type is `content_type`.
pub fn parts_of(content_type: &str, body: &str) -> Vec<ReceivedPart> {
    assert!(
        content_type.starts_with("multipart/mixed"),
        "not multipart/mixed: {content_type}"
    );
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .unwrap()
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    // Before the first delimiter is the preamble; after the closing one (`--` at once), the end.
    for chunk in body.split(delimiter.as_str()).skip(1) {
        if chunk.starts_with("--") {
            break;
        }
        let chunk = chunk.strip_prefix("\r\n").unwrap_or(chunk);
        let chunk = chunk.strip_suffix("\r\n").unwrap_or(chunk);
        let (head, content) = chunk.split_once("\r\n\r\n").unwrap_or((chunk, ""));
        parts.push(ReceivedPart {
            headers: head.lines().map(str::to_owned).collect(),
            body: content.to_owned(),
        });
    }
    parts
}

/// An attachment declaration for `content` (text/plain), with a fileUrl or without.
pub fn declared_attachment(content: &[u8], file_url: Option<&str>) -> Value {
    let mut declaration = json!({
        "usageType": "http://example.com/attachments/certificate",
        "display": {"en-GB": "Certificate"},
        "contentType": "text/plain",
        "length": content.len(),
        "sha2": sha256(content),
    });
    if let Some(url) = file_url {
        declaration["fileUrl"] = json!(url);
    }
    declaration
}

/// Stores one statement with its attachments' parts (multipart/mixed); answers its id.
pub async fn store_with(lrs: &Lrs, app: &TestApp, statement: &Value, parts: &[Part]) -> String {
    let reply = lrs
        .send(
            app,
            Method::POST,
            "/statements",
            &[],
            Some(multipart(statement, parts)),
        )
        .await;
    reply.expect(200);
    reply.body[0].as_str().unwrap().to_owned()
}

/// An organisation's LRS usage as the service counts it (`xapi_usage`: statements, documents,
/// attachment bytes), `None` before its first use.
pub async fn usage(app: &TestApp, organisation_id: &str) -> Option<(i64, i64, i64)> {
    use diesel::prelude::*;
    use learning_passport::db::schema::xapi_usage as u;
    let (db, id) = (app.db.clone(), organisation(organisation_id));
    actix_web::rt::task::spawn_blocking(move || {
        let mut conn = db.get().unwrap();
        // The sum of the organisation's slots.
        let slots: Vec<(i64, i64, i64)> = u::table
            .filter(u::organisation_id.eq(id))
            .select((u::statements, u::documents, u::attachment_bytes))
            .load(&mut *conn)
            .unwrap();
        (!slots.is_empty()).then(|| {
            slots.iter().fold((0, 0, 0), |(s, d, b), row| {
                (s + row.0, d + row.1, b + row.2)
            })
        })
    })
    .await
    .unwrap()
}

/// What an organisation's LRS really holds, counted from its tables: statements, documents,
/// attachment bytes.
pub async fn recount(app: &TestApp, organisation_id: &str) -> (i64, i64, i64) {
    use diesel::prelude::*;
    use learning_passport::db::schema::xapi_statements as s;
    use learning_passport::db::schema::{xapi_attachments as a, xapi_documents as d};
    let (db, id) = (app.db.clone(), organisation(organisation_id));
    actix_web::rt::task::spawn_blocking(move || {
        let mut conn = db.get().unwrap();
        let statements: i64 = s::table
            .filter(s::organisation_id.eq(id))
            .count()
            .get_result(&mut *conn)
            .unwrap();
        let documents: i64 = d::table
            .filter(d::organisation_id.eq(id))
            .count()
            .get_result(&mut *conn)
            .unwrap();
        let contents: Vec<Vec<u8>> = a::table
            .filter(a::organisation_id.eq(id))
            .select(a::content)
            .load(&mut *conn)
            .unwrap();
        let bytes = contents.iter().map(|c| c.len() as i64).sum();
        (statements, documents, bytes)
    })
    .await
    .unwrap()
}

/// Asserts that the service's count of an organisation's LRS is what its tables hold.
pub async fn assert_usage_exact(app: &TestApp, organisation_id: &str) {
    let counted = usage(app, organisation_id).await.unwrap_or_default();
    assert_eq!(
        counted,
        recount(app, organisation_id).await,
        "xapi_usage (statements, documents, attachment bytes) is not what the LRS holds"
    );
}

pub fn organisation(id: &str) -> learning_passport::db::ids::OrganisationId {
    learning_passport::db::ids::OrganisationId(id.parse().unwrap())
}

/// A signature of a statement (Data 2.6) by the test signer of `tests/data/xapi`: a compact
/// RS256 JWS whose payload is `payload`, with the signer's certificate in `x5c`.
pub fn signature(payload: &Value) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    const KEY: &str = include_str!("../data/xapi/signer-key.pem");
    const CERTIFICATE: &str = include_str!("../data/xapi/signer-cert.pem");
    let pem_base64 =
        |pem: &str| -> String { pem.lines().filter(|l| !l.starts_with("-----")).collect() };
    let mut header = Header::new(Algorithm::RS256);
    header.x5c = Some(vec![pem_base64(CERTIFICATE)]);
    let key = EncodingKey::from_rsa_der(&STANDARD.decode(pem_base64(KEY)).unwrap());
    jsonwebtoken::encode(&header, payload, &key).unwrap()
}

/// The attachment declaration of a statement's signature (Data 2.6), for `jws`.
pub fn signature_attachment(jws: &str) -> Value {
    serde_json::json!({
        "usageType": "http://adlnet.gov/expapi/attachments/signature",
        "display": {"en-US": "Signature"},
        "contentType": "application/octet-stream",
        "length": jws.len(),
        "sha2": sha256(jws.as_bytes()),
    })
}

/// Asserts that an answer of the Statements resource carries
/// `X-Experience-API-Consistent-Through` (Communication 2.1.3.s2.b5): an ISO 8601 time, recent.
#[track_caller]
pub fn assert_consistent_through(headers: &HeaderMap, what: &str) {
    let through = header(headers, "x-experience-api-consistent-through")
        .unwrap_or_else(|| panic!("no X-Experience-API-Consistent-Through on {what}"));
    let at = chrono::DateTime::parse_from_rfc3339(through)
        .unwrap_or_else(|e| panic!("{what}: `{through}` is not ISO 8601: {e}"));
    let age = Utc::now().signed_duration_since(at);
    assert!(
        age > chrono::Duration::seconds(-1) && age < chrono::Duration::seconds(60),
        "{what}: `{through}` is not recent"
    );
}

// Statements as the statement tests send them ------------------------------------------------

/// The course the statements are about; the documents are kept for it too.
pub const COURSE: &str = "http://example.com/courses/fire-safety";

/// Another course, for what must be kept apart from [`COURSE`].
pub const OTHER_COURSE: &str = "http://example.com/courses/manual-handling";

/// The verb of a voiding statement (Data 2.3.2).
pub const VOIDED: &str = "http://adlnet.gov/expapi/verbs/voided";

/// A small valid statement: Ann completed the fire safety course.
pub fn base() -> Value {
    json!({
        "actor": {"objectType": "Agent", "name": "Ann", "mbox": "mailto:ann@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}},
        "object": {"objectType": "Activity", "id": COURSE},
    })
}

/// A statement with a described Activity and language maps in two languages.
pub fn described() -> Value {
    json!({
        "actor": {"objectType": "Agent", "name": "Ann", "mbox": "mailto:ann@example.com"},
        "verb": {
            "id": "http://adlnet.gov/expapi/verbs/completed",
            "display": {"en-GB": "completed", "fr": "a terminé"},
        },
        "object": {
            "objectType": "Activity",
            "id": COURSE,
            "definition": {
                "name": {"en-GB": "Fire safety", "fr": "Sécurité incendie"},
                "description": {"en-GB": "Fire safety for ward staff", "fr": "Sécurité incendie en service"},
                "type": "http://adlnet.gov/expapi/activities/course",
            },
        },
    })
}

/// A statement by the LRS's administrator voiding statement `target`.
pub fn voiding(target: &str) -> Value {
    json!({
        "actor": {"objectType": "Agent", "mbox": "mailto:admin@example.com"},
        "verb": {"id": VOIDED, "display": {"en-US": "voided"}},
        "object": {"objectType": "StatementRef", "id": target},
    })
}

/// `statement` with its id set to `id`.
pub fn with_id(statement: Value, id: &str) -> Value {
    set(statement, "/id", json!(id))
}

/// `value` with the property at JSON pointer `pointer` set (its parent must exist).
pub fn set(mut value: Value, pointer: &str, new: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    value
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("no object at {parent}"))
        .insert(key.to_owned(), new);
    value
}

/// `value` without the property at JSON pointer `pointer`.
pub fn unset(mut value: Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    value
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("no object at {parent}"))
        .remove(key);
    value
}

/// Asserts a 400 whose first error names `field`.
#[track_caller]
pub fn assert_refused(reply: &Reply, field: &str) {
    reply.expect_problem(400);
    assert_eq!(
        reply.body["errors"][0]["field"], field,
        "expected the refusal to name `{field}`: {:#}",
        reply.body
    );
}

// Documents as the document tests address them -----------------------------------------------

/// An Agent as the document resources take it.
pub fn ann() -> Value {
    json!({"objectType": "Agent", "mbox": "mailto:ann@example.org"})
}

/// Another Agent, whose documents are not Ann's.
pub fn bob() -> Value {
    json!({"objectType": "Agent", "mbox": "mailto:bob@example.org"})
}

/// `/activities/state` for an activity, an agent, optionally a registration and a stateId.
pub fn state(
    activity: &str,
    agent: &Value,
    registration: Option<&str>,
    id: Option<&str>,
) -> String {
    let agent = agent.to_string();
    let mut params = vec![("activityId", activity), ("agent", agent.as_str())];
    if let Some(registration) = registration {
        params.push(("registration", registration));
    }
    if let Some(id) = id {
        params.push(("stateId", id));
    }
    query("/activities/state", &params)
}

/// The list of states of a context, stored after `since`.
pub fn state_since(
    activity: &str,
    agent: &Value,
    registration: Option<&str>,
    since: &str,
) -> String {
    format!(
        "{}&since={}",
        state(activity, agent, registration, None),
        encode(since)
    )
}

/// `/activities/profile` for an activity and optionally a profileId.
pub fn activity_profile(activity: &str, id: Option<&str>) -> String {
    let mut params = vec![("activityId", activity)];
    if let Some(id) = id {
        params.push(("profileId", id));
    }
    query("/activities/profile", &params)
}

/// `/agents/profile` for an agent and optionally a profileId.
pub fn agent_profile(agent: &Value, id: Option<&str>) -> String {
    let agent = agent.to_string();
    let mut params = vec![("agent", agent.as_str())];
    if let Some(id) = id {
        params.push(("profileId", id));
    }
    query("/agents/profile", &params)
}

/// The ETag xAPI asks for: the SHA-1 of the content, hexadecimal, quoted.
pub fn sha1_etag(content: &[u8]) -> String {
    use sha1::{Digest, Sha1};
    let hex: String = Sha1::digest(content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("\"{hex}\"")
}

/// Now, as a `since` parameter (microseconds, UTC).
pub fn now_param() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The ids of a document list answer (stateIds or profileIds), sorted, asserting it is a 200
/// with a JSON array of strings.
#[track_caller]
pub fn document_ids(reply: &Reply) -> Vec<String> {
    reply.expect(200);
    let mut ids: Vec<String> = reply
        .body
        .as_array()
        .unwrap_or_else(|| panic!("a JSON array of ids, not {:#}", reply.body))
        .iter()
        .map(|v| v.as_str().expect("ids are strings").to_owned())
        .collect();
    ids.sort();
    ids
}

/// A body of `bytes` sent as `content_type`.
pub fn raw(content_type: &str, bytes: &[u8]) -> Body {
    Body::Raw {
        content_type: content_type.to_owned(),
        bytes: bytes.to_vec(),
    }
}

/// A body of `bytes` sent as application/json, whether or not they are JSON.
pub fn json_bytes(bytes: &[u8]) -> Body {
    raw("application/json", bytes)
}

/// A PUT of the JSON document `body` to `path` with extra headers (concurrency headers).
pub async fn put_with(
    lrs: &Lrs,
    app: &TestApp,
    path: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> Reply {
    lrs.send(app, Method::PUT, path, headers, Some(Body::Json(body)))
        .await
}
