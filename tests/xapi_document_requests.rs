//! What the LRS's document resources take as a request (xAPI 1.0.3, Communication 1.1 and
//! 2.2 - 2.7): the parameters each resource requires and takes (a request without them, with a
//! malformed one or with another resource's, is refused with 400), a JSON body that parses,
//! any form of the same Agent naming the same documents, `since` filtering lists only, and
//! HEAD wherever GET is. Each test names the requirement it checks.

mod support;

use serde_json::json;
use support::xapi::*;
use support::{Method, TestApp};

// ---------------------------------------------------------------------------------------------
// Parameters and bodies (Communication 2.3, 2.6, 2.7)

/// 2.3.s3.table1.row1-2: every State request without activityId or without agent is refused
/// with 400.
async fn state_requests_must_name_an_activity_and_an_agent(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let agent = ann().to_string();
    let without_activity = query(
        "/activities/state",
        &[("agent", agent.as_str()), ("stateId", "s")],
    );
    let without_agent = query(
        "/activities/state",
        &[("activityId", COURSE), ("stateId", "s")],
    );
    for path in [&without_activity, &without_agent] {
        for method in [Method::GET, Method::PUT, Method::POST, Method::DELETE] {
            let body = (method == Method::PUT || method == Method::POST)
                .then(|| Body::Json(json!({"a": 1})));
            let reply = lrs.send(&app, method.clone(), path, &[], body).await;
            assert_eq!(
                reply.status.as_u16(),
                400,
                "{method} {path}: {:#}",
                reply.body
            );
        }
    }
}

/// 2.3.s3.table1: malformed parameters are refused with 400 — an agent that is not JSON, a
/// Group, an Agent with two identifiers (Data 2.4.2.1: exactly one IFI), an activityId that is
/// not an IRI, a registration that is not a UUID, a `since` that is not a timestamp, a
/// parameter the resource does not have (Communication 3.2), and a PUT or POST without stateId.
async fn state_parameters_must_be_well_formed(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let ann_text = ann().to_string();
    let group = json!({
        "objectType": "Group",
        "name": "Ward 7",
        "member": [{"mbox": "mailto:ann@example.org"}],
    })
    .to_string();
    let two_ifis =
        json!({"mbox": "mailto:ann@example.org", "openid": "http://openid.example.org/ann"})
            .to_string();
    let malformed: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "agent not JSON",
            vec![("activityId", COURSE), ("agent", "ann@example.org")],
        ),
        (
            "agent a Group",
            vec![("activityId", COURSE), ("agent", &group)],
        ),
        (
            "agent with two IFIs",
            vec![("activityId", COURSE), ("agent", &two_ifis)],
        ),
        (
            "agent with no IFI",
            vec![("activityId", COURSE), ("agent", r#"{"name":"Ann"}"#)],
        ),
        (
            "activityId not an IRI",
            vec![("activityId", "fire safety"), ("agent", &ann_text)],
        ),
        (
            "registration not a UUID",
            vec![
                ("activityId", COURSE),
                ("agent", &ann_text),
                ("registration", "not-a-uuid"),
            ],
        ),
        (
            "unknown parameter",
            vec![
                ("activityId", COURSE),
                ("agent", &ann_text),
                ("profileId", "x"),
            ],
        ),
    ];
    for (what, params) in &malformed {
        let mut with_id = params.clone();
        with_id.push(("stateId", "bookmark"));
        let path = query("/activities/state", &with_id);
        for method in [Method::GET, Method::PUT, Method::POST, Method::DELETE] {
            let body = (method == Method::PUT || method == Method::POST)
                .then(|| Body::Json(json!({"a": 1})));
            let reply = lrs.send(&app, method.clone(), &path, &[], body).await;
            assert_eq!(
                reply.status.as_u16(),
                400,
                "{what}: {method}: {:#}",
                reply.body
            );
        }
        // Listing too.
        let reply = lrs.get(&app, &query("/activities/state", params)).await;
        assert_eq!(
            reply.status.as_u16(),
            400,
            "{what}: listing: {:#}",
            reply.body
        );
    }
    lrs.get(&app, &state_since(COURSE, &ann(), None, "yesterday"))
        .await
        .expect(400);
    let without_id = state(COURSE, &ann(), None, None);
    lrs.put(&app, &without_id, json!({"a": 1}))
        .await
        .expect(400);
    lrs.post(&app, &without_id, json!({"a": 1}))
        .await
        .expect(400);
    // Nothing was stored by any of these.
    assert_eq!(
        document_ids(&lrs.get(&app, &without_id).await),
        Vec::<String>::new()
    );
}

/// 2.2.s8 / 2.3: a body declared application/json that cannot be parsed as JSON is refused
/// with 400, by PUT and by POST, and nothing is stored.
async fn a_json_state_body_must_be_json(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let path = state(COURSE, &ann(), None, Some("broken"));
    for method in [Method::PUT, Method::POST] {
        lrs.send(
            &app,
            method,
            &path,
            &[],
            Some(raw("application/json", br#"{"page": 12"#)),
        )
        .await
        .expect(400);
    }
    lrs.get(&app, &path).await.expect(404);
}

/// 2.6.s3.table1 and 2.7.s3.table1: the profile resources refuse with 400 a request without
/// their activityId or agent, a malformed one, a PUT or POST without profileId, and the other
/// resource's parameters.
async fn profile_parameters_must_be_well_formed(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let ann_text = ann().to_string();
    let group = json!({"objectType": "Group", "mbox": "mailto:ward7@example.org"}).to_string();
    let malformed: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("/activities/profile", vec![("profileId", "p")]),
        (
            "/activities/profile",
            vec![("activityId", "not an iri"), ("profileId", "p")],
        ),
        (
            "/activities/profile",
            vec![
                ("activityId", COURSE),
                ("agent", &ann_text),
                ("profileId", "p"),
            ],
        ),
        ("/agents/profile", vec![("profileId", "p")]),
        (
            "/agents/profile",
            vec![("agent", "not JSON"), ("profileId", "p")],
        ),
        (
            "/agents/profile",
            vec![("agent", &group), ("profileId", "p")],
        ),
        (
            "/agents/profile",
            vec![("agent", r#"{"key":"value"}"#), ("profileId", "p")],
        ),
        (
            "/agents/profile",
            vec![
                ("agent", &ann_text),
                ("activityId", COURSE),
                ("profileId", "p"),
            ],
        ),
    ];
    for (resource, params) in &malformed {
        let path = query(resource, params);
        for method in [Method::GET, Method::PUT, Method::POST, Method::DELETE] {
            let body = (method == Method::PUT || method == Method::POST)
                .then(|| Body::Json(json!({"a": 1})));
            let headers: &[(&str, &str)] = if method == Method::PUT {
                &[("If-None-Match", "*")]
            } else {
                &[]
            };
            let reply = lrs.send(&app, method.clone(), &path, headers, body).await;
            assert_eq!(
                reply.status.as_u16(),
                400,
                "{method} {path}: {:#}",
                reply.body
            );
        }
    }
    for path in [activity_profile(COURSE, None), agent_profile(&ann(), None)] {
        put_with(&lrs, &app, &path, &[("If-None-Match", "*")], json!({}))
            .await
            .expect(400);
        lrs.post(&app, &path, json!({})).await.expect(400);
        assert_eq!(
            document_ids(&lrs.get(&app, &path).await),
            Vec::<String>::new()
        );
    }
}

/// Data 2.4.2.1 / Communication 2.3: an agent is identified by its inverse functional
/// identifier, so any form of the same Agent (with or without name and objectType) addresses
/// the same documents.
async fn a_document_is_found_by_any_form_of_the_same_agent(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let named =
        json!({"objectType": "Agent", "name": "Ann Smith", "mbox": "mailto:ann@example.org"});
    let bare = json!({"mbox": "mailto:ann@example.org"});
    lrs.put(
        &app,
        &state(COURSE, &named, None, Some("bookmark")),
        json!({"page": 4}),
    )
    .await
    .expect(204);
    let fetched = lrs
        .get(&app, &state(COURSE, &bare, None, Some("bookmark")))
        .await;
    fetched.expect(200);
    assert_eq!(fetched.body, json!({"page": 4}));
    put_with(
        &lrs,
        &app,
        &agent_profile(&bare, Some("preferences")),
        &[("If-None-Match", "*")],
        json!({"lang": "cy"}),
    )
    .await
    .expect(204);
    let fetched = lrs
        .get(&app, &agent_profile(&named, Some("preferences")))
        .await;
    fetched.expect(200);
    assert_eq!(fetched.body, json!({"lang": "cy"}));
}

/// 2.3.s4.table1.row4 and the conformance suite ("can process a GET request with since as a
/// parameter"): `since` filters lists only; a GET of one document with `since` still answers
/// that document. The same for the Agent Profile resource (XAPI-00268).
async fn a_get_of_one_document_ignores_since(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let path = state(COURSE, &ann(), None, Some("bookmark"));
    lrs.put(&app, &path, json!({"page": 1})).await.expect(204);
    let later = now_param();
    let with_since = format!("{path}&since={}", encode(&later));
    let fetched = lrs.get(&app, &with_since).await;
    fetched.expect(200);
    assert_eq!(fetched.body, json!({"page": 1}));

    let path = agent_profile(&ann(), Some("preferences"));
    lrs.post(&app, &path, json!({"lang": "en"}))
        .await
        .expect(204);
    let fetched = lrs
        .get(&app, &format!("{path}&since={}", encode(&later)))
        .await;
    fetched.expect(200);
    assert_eq!(fetched.body, json!({"lang": "en"}));
}

// ---------------------------------------------------------------------------------------------
// HEAD (Communication 1.1)

/// Communication 1.1: HEAD is answered wherever GET is, with GET's status and headers (ETag,
/// Last-Modified, Content-Type) and no body — for a document, a list and a missing document.
async fn head_answers_the_headers_of_get_without_the_body(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let path = state(COURSE, &ann(), None, Some("bookmark"));
    let bytes = b"{\"page\": 3}".to_vec();
    lrs.send(&app, Method::PUT, &path, &[], Some(json_bytes(&bytes)))
        .await
        .expect(204);

    let head = lrs.send_bytes(&app, Method::HEAD, &path, &[], None).await;
    assert_eq!(head.status.as_u16(), 200);
    assert!(head.bytes.is_empty());
    assert_eq!(head.header("etag"), Some(sha1_etag(&bytes).as_str()));
    assert_eq!(head.header("content-type"), Some("application/json"));
    assert!(head.header("last-modified").is_some());
    assert_eq!(head.header("x-experience-api-version"), Some("1.0.3"));

    let list = lrs
        .send_bytes(
            &app,
            Method::HEAD,
            &state(COURSE, &ann(), None, None),
            &[],
            None,
        )
        .await;
    assert_eq!(list.status.as_u16(), 200);
    assert!(list.bytes.is_empty());

    let missing = lrs
        .send_bytes(
            &app,
            Method::HEAD,
            &state(COURSE, &ann(), None, Some("nothing")),
            &[],
            None,
        )
        .await;
    assert_eq!(missing.status.as_u16(), 404);
    assert!(missing.bytes.is_empty());

    let profile = agent_profile(&ann(), Some("preferences"));
    lrs.post(&app, &profile, json!({"lang": "en"}))
        .await
        .expect(204);
    let head = lrs
        .send_bytes(&app, Method::HEAD, &profile, &[], None)
        .await;
    assert_eq!(head.status.as_u16(), 200);
    assert!(head.bytes.is_empty());
    assert_eq!(
        head.header("etag"),
        lrs.get(&app, &profile).await.header("etag")
    );
}

on_both_backends!(
    state_requests_must_name_an_activity_and_an_agent,
    state_parameters_must_be_well_formed,
    a_json_state_body_must_be_json,
    profile_parameters_must_be_well_formed,
    a_document_is_found_by_any_form_of_the_same_agent,
    a_get_of_one_document_ignores_since,
    head_answers_the_headers_of_get_without_the_body,
);
