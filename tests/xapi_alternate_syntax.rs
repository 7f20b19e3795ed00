//! xAPI 1.0.3's Alternate Request Syntax (Communication 1.3), requirement by requirement: a POST
//! whose only query parameter is `method`, with a form body carrying the headers, the
//! parameters and the content, is answered exactly as the request it stands for, on every
//! resource. Its refusals and limits are in `xapi_alternate_refusals`.

mod support;

use serde_json::json;
use support::alternate::*;
use support::xapi::*;
use support::{Method, TestApp};
use uuid::Uuid;

// Statements (Communication 1.3.s3, 2.1.2.s2.b2 and b3) ---------------------------------------

/// 1.3.s3.b15, 2.1.2.s2.b2-b3: the Statement resource answers PUT, POST and GET sent in the
/// alternate syntax as it answers them sent directly; the method may be in any case; the
/// content is read as UTF-8 (1.3.s3.b5); headers may also stay in the HTTP header (1.3.s3.b8);
/// and a statement that breaks a rule is refused as it would be directly.
async fn statements_answer_the_alternate_syntax_as_the_direct_requests(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let auth = basic(&lrs);
    let id = Uuid::new_v4().to_string();
    let unicode = set(
        base(),
        "/object/definition",
        json!({"name": {"en-GB": "Sécurité incendie — 消防安全"}}),
    );
    let content = unicode.to_string();
    let put = alternate(
        &app,
        "/statements",
        "PUT",
        &with_headers(&auth, &[("statementId", &id), ("content", &content)]),
        &[],
    )
    .await;
    put.expect(204);
    assert_consistent_through(&put.headers, "an alternate PUT");
    let direct = lrs.statement(&app, &id).await;
    direct.expect(200);
    assert_eq!(direct.body["object"], unicode["object"]);

    let batch = json!([statement("bob@example.com", "attempted", COURSE), base()]).to_string();
    let posted = alternate(
        &app,
        "/statements",
        "post",
        &with_headers(&auth, &[("content", &batch)]),
        &[],
    )
    .await;
    posted.expect(200);
    assert_eq!(posted.body.as_array().map(Vec::len), Some(2));

    let fetched = alternate(
        &app,
        "/statements",
        "GET",
        &with_headers(&auth, &[("statementId", &id)]),
        &[],
    )
    .await;
    fetched.expect(200);
    assert_eq!(fetched.body, direct.body);
    assert_consistent_through(&fetched.headers, "an alternate GET");
    assert_eq!(fetched.header("x-experience-api-version"), Some("1.0.3"));

    // A query in the form, as a client sends one too long for its URL.
    let agent = json!({"mbox": "mailto:ann@example.com", "name": "A".repeat(4000)}).to_string();
    let params = &[("agent", agent.as_str()), ("limit", "1")];
    let page = alternate(
        &app,
        "/statements",
        "GET",
        &with_headers(&auth, params),
        &[],
    )
    .await;
    page.expect(200);
    assert_eq!(statements(&page).len(), 1);
    assert!(page.body["more"].as_str().is_some_and(|m| !m.is_empty()));
    let direct_page = lrs.get(&app, &query("/statements", params)).await;
    assert_eq!(page.body["statements"], direct_page.body["statements"]);

    // No form at all: the credentials and version in the HTTP headers, as usual.
    let headers = [
        ("Authorization", auth.as_str()),
        ("X-Experience-API-Version", VERSION),
    ];
    let all = alternate(&app, "/statements", "get", &[], &headers).await;
    all.expect(200);
    assert_eq!(statements(&all).len(), 3);

    // Refused as the direct request is: an actor is not a statement.
    let actor = base()["actor"].to_string();
    alternate(
        &app,
        "/statements",
        "POST",
        &with_headers(&auth, &[("content", &actor)]),
        &[],
    )
    .await
    .expect_problem(400);
    assert_eq!(lrs.query(&app, "").await.len(), 3);
}

// Documents, Activities, Agents, About (1.3.s3.b15 for every resource) ------------------------

/// 1.3.s3.b15 and 1.3.s3.b7: the State, Activity Profile, Agent Profile, Activities, Agents and
/// About resources answer the alternate syntax as the direct requests, with `Content-Type`,
/// `If-Match` and `If-None-Match` from the form read as headers.
async fn every_other_resource_answers_the_alternate_syntax(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    lrs.store(&app, described()).await;
    let auth = basic(&lrs);
    let agent = ann().to_string();
    let send = |method: &'static str, path: &'static str, fields: Vec<(&'static str, String)>| {
        let (app, auth) = (&app, auth.clone());
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
            alternate(app, path, method, &with_headers(&auth, &fields), &[]).await
        }
    };
    let state_fields = |extra: &[(&'static str, &str)]| {
        let mut fields = vec![("activityId", COURSE.to_owned()), ("agent", agent.clone())];
        fields.extend(extra.iter().map(|(n, v)| (*n, (*v).to_owned())));
        fields
    };

    // State: a text document with its media type, stored and fetched.
    let text = "page 3 — ünïcode";
    let fields = state_fields(&[
        ("stateId", "bookmark"),
        ("Content-Type", "text/plain; charset=utf-8"),
        ("content", text),
    ]);
    let stored = send("PUT", "/activities/state", fields).await;
    stored.expect(204);
    assert_eq!(
        stored.header("etag"),
        Some(sha1_etag(text.as_bytes()).as_str())
    );
    let path = state(COURSE, &ann(), None, Some("bookmark"));
    let direct = lrs.send_bytes(&app, Method::GET, &path, &[], None).await;
    assert_eq!(direct.bytes, text.as_bytes());
    assert_eq!(
        direct.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let fetched = send(
        "GET",
        "/activities/state",
        state_fields(&[("stateId", "bookmark")]),
    )
    .await;
    assert_eq!(fetched.body, json!(text));
    // POST merges; with no Content-Type in the form, the content is JSON.
    for content in [r#"{"a": 1}"#, r#"{"b": 2}"#] {
        send(
            "POST",
            "/activities/state",
            state_fields(&[("stateId", "progress"), ("content", content)]),
        )
        .await
        .expect(204);
    }
    let merged = send(
        "GET",
        "/activities/state",
        state_fields(&[("stateId", "progress")]),
    )
    .await;
    assert_eq!(merged.body, json!({"a": 1, "b": 2}));
    send("DELETE", "/activities/state", state_fields(&[]))
        .await
        .expect(204);
    let listed = send("GET", "/activities/state", state_fields(&[])).await;
    assert_eq!(listed.body, json!([]));

    // Activity Profile, with the concurrency headers in the form (Communication 3.1).
    let profile = |extra: &[(&'static str, &str)]| {
        let mut fields = vec![
            ("activityId", COURSE.to_owned()),
            ("profileId", "syllabus".to_owned()),
        ];
        fields.extend(extra.iter().map(|(n, v)| (*n, (*v).to_owned())));
        fields
    };
    let first = r#"{"weeks": 4}"#;
    send("PUT", "/activities/profile", profile(&[("content", first)]))
        .await
        .expect_field_error(400, "If-None-Match");
    send(
        "PUT",
        "/activities/profile",
        profile(&[("If-None-Match", "*"), ("content", first)]),
    )
    .await
    .expect(204);
    send(
        "PUT",
        "/activities/profile",
        profile(&[("content", r#"{"weeks": 5}"#)]),
    )
    .await
    .expect(409);
    let etag = sha1_etag(first.as_bytes());
    send(
        "PUT",
        "/activities/profile",
        profile(&[("If-Match", "\"0000\""), ("content", "{}")]),
    )
    .await
    .expect(412);
    send(
        "PUT",
        "/activities/profile",
        profile(&[("If-Match", &etag), ("content", r#"{"weeks": 6}"#)]),
    )
    .await
    .expect(204);
    let got = send("GET", "/activities/profile", profile(&[])).await;
    assert_eq!(got.body, json!({"weeks": 6}));
    let etag = got.header("etag").unwrap().to_owned();
    send(
        "DELETE",
        "/activities/profile",
        profile(&[("If-Match", &etag)]),
    )
    .await
    .expect(204);
    lrs.get(&app, &activity_profile(COURSE, Some("syllabus")))
        .await
        .expect(404);

    // Agent Profile: stored and listed.
    let agent_fields = vec![
        ("agent", agent.clone()),
        ("profileId", "preferences".to_owned()),
        ("If-None-Match", "*".to_owned()),
        ("content", r#"{"theme": "dark"}"#.to_owned()),
    ];
    send("PUT", "/agents/profile", agent_fields)
        .await
        .expect(204);
    let ids = send("GET", "/agents/profile", vec![("agent", agent.clone())]).await;
    assert_eq!(ids.body, json!(["preferences"]));

    // Activities, Agents and About.
    let activity = send(
        "GET",
        "/activities",
        vec![("activityId", COURSE.to_owned())],
    )
    .await;
    activity.expect(200);
    assert_eq!(activity.body["id"], COURSE);
    let person = send("GET", "/agents", vec![("agent", agent.clone())]).await;
    person.expect(200);
    assert_eq!(person.body["objectType"], "Person");
    let about = alternate(&app, "/about", "GET", &[], &[]).await;
    about.expect(200);
    assert!(about.body["version"].is_array());
}

on_both_backends!(
    statements_answer_the_alternate_syntax_as_the_direct_requests,
    every_other_resource_answers_the_alternate_syntax,
);
