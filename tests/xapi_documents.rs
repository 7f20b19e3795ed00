//! The LRS's document resources (xAPI 1.0.3, Communication 2.3 State, 2.5 Activities, 2.6
//! Agents and Agent Profile, 2.7 Activity Profile) and their concurrency control (Communication
//! 3.1; "1.3" in the 1.0.3 numbering of the conformance requirements). Each test names the
//! requirement it checks.

mod support;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};
use support::xapi::*;
use support::{Method, Reply, TestApp};

const COURSE: &str = "http://example.org/courses/fire-safety";
const OTHER_COURSE: &str = "http://example.org/courses/manual-handling";
const REGISTRATION: &str = "6f1a3c3e-2f44-4c1d-9a0b-2b5f6a7d8e90";
const OTHER_REGISTRATION: &str = "0d2c1b3a-5e4f-4a6b-8c7d-9e0f1a2b3c4d";

// ---------------------------------------------------------------------------------------------
// State resource (Communication 2.3)

/// 2.3: a state document PUT is answered 204 and comes back from GET as stored, with its
/// Content-Type; 3.1: the GET carries an ETag (the quoted SHA-1 hex of the content, as the PUT's
/// answer does) and a Last-Modified.
async fn a_state_document_comes_back_as_stored(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let path = state(COURSE, &ann(), None, Some("bookmark"));
    let document = json!({"page": 12, "answers": {"q1": "b"}});
    let bytes = serde_json::to_vec(&document).unwrap();
    let before = Utc::now();

    let stored = lrs
        .send(&app, Method::PUT, &path, &[], Some(json_bytes(&bytes)))
        .await;
    stored.expect(204);
    assert_eq!(stored.header("etag"), Some(sha1_etag(&bytes).as_str()));

    let fetched = lrs.send_bytes(&app, Method::GET, &path, &[], None).await;
    let after = Utc::now();
    assert_eq!(fetched.status.as_u16(), 200);
    assert_eq!(fetched.bytes, bytes);
    assert_eq!(fetched.header("content-type"), Some("application/json"));
    assert_eq!(fetched.header("etag"), Some(sha1_etag(&bytes).as_str()));
    let modified = fetched
        .header("last-modified")
        .and_then(|d| DateTime::parse_from_rfc2822(d).ok())
        .expect("an HTTP-date Last-Modified");
    // An HTTP date holds whole seconds.
    assert!(
        before.timestamp() <= modified.timestamp() && modified.timestamp() <= after.timestamp()
    );
}

/// 2.2 (documents are of any media type) and 2.3: a document that is not JSON comes back byte
/// for byte, with the Content-Type it was stored with and the SHA-1 of those bytes as its ETag.
async fn a_state_document_of_any_media_type_comes_back_byte_for_byte(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let documents: [(&str, &str, Vec<u8>); 2] = [
        ("notes", "text/plain", b"Chapter 3, paragraph 2\n".to_vec()),
        (
            "suspend-data",
            "application/octet-stream",
            vec![0x00, 0xff, 0xfe, 0x80, 0x7b, 0x22, 0x0a, 0xc3, 0x28],
        ),
    ];
    for (id, content_type, bytes) in &documents {
        let path = state(COURSE, &ann(), None, Some(id));
        lrs.send(
            &app,
            Method::PUT,
            &path,
            &[],
            Some(raw(content_type, bytes)),
        )
        .await
        .expect(204);
    }
    for (id, content_type, bytes) in &documents {
        let path = state(COURSE, &ann(), None, Some(id));
        let fetched = lrs.send_bytes(&app, Method::GET, &path, &[], None).await;
        assert_eq!(fetched.status.as_u16(), 200, "{id}");
        assert_eq!(&fetched.bytes, bytes, "{id}");
        assert_eq!(fetched.header("content-type"), Some(*content_type), "{id}");
        assert_eq!(
            fetched.header("etag"),
            Some(sha1_etag(bytes).as_str()),
            "{id}"
        );
    }
}

/// 2.3.s4: a GET without stateId answers the array of the stateIds stored for the activity and
/// agent; with `since`, only those stored after that time (a rewrite counts as stored anew).
async fn listing_states_answers_their_ids_and_since_keeps_the_later_ones(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let list = state(COURSE, &ann(), None, None);
    let empty = lrs.get(&app, &list).await;
    empty.expect(200);
    assert_eq!(empty.body, json!([]));

    let start = now_param();
    lrs.put(
        &app,
        &state(COURSE, &ann(), None, Some("bookmark")),
        json!({"page": 1}),
    )
    .await
    .expect(204);
    let between = now_param();
    lrs.put(
        &app,
        &state(COURSE, &ann(), None, Some("score")),
        json!({"raw": 7}),
    )
    .await
    .expect(204);
    // Another agent's and another activity's states are not listed.
    lrs.put(
        &app,
        &state(COURSE, &bob(), None, Some("bob-only")),
        json!({}),
    )
    .await
    .expect(204);
    lrs.put(
        &app,
        &state(OTHER_COURSE, &ann(), None, Some("elsewhere")),
        json!({}),
    )
    .await
    .expect(204);

    assert_eq!(ids(&lrs.get(&app, &list).await), ["bookmark", "score"]);
    let since_start = state_since(COURSE, &ann(), None, &start);
    assert_eq!(
        ids(&lrs.get(&app, &since_start).await),
        ["bookmark", "score"]
    );
    let since_between = state_since(COURSE, &ann(), None, &between);
    assert_eq!(ids(&lrs.get(&app, &since_between).await), ["score"]);
    let since_now = state_since(COURSE, &ann(), None, &now_param());
    assert_eq!(ids(&lrs.get(&app, &since_now).await), Vec::<String>::new());

    // Stored again after `between`: listed since then.
    lrs.put(
        &app,
        &state(COURSE, &ann(), None, Some("bookmark")),
        json!({"page": 2}),
    )
    .await
    .expect(204);
    assert_eq!(
        ids(&lrs.get(&app, &since_between).await),
        ["bookmark", "score"]
    );
}

/// 2.3.s3.table1.row3: the registration is part of a state's address: the same stateId under
/// two registrations, and without one, are three documents, each listed only in its own
/// context.
async fn a_registration_keeps_its_own_state(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let contexts = [
        (Some(REGISTRATION), json!({"attempt": "first"})),
        (Some(OTHER_REGISTRATION), json!({"attempt": "second"})),
        (None, json!({"attempt": "none"})),
    ];
    for (registration, document) in &contexts {
        let path = state(COURSE, &ann(), *registration, Some("progress"));
        lrs.put(&app, &path, document.clone()).await.expect(204);
    }
    for (registration, document) in &contexts {
        let path = state(COURSE, &ann(), *registration, Some("progress"));
        let fetched = lrs.get(&app, &path).await;
        fetched.expect(200);
        assert_eq!(&fetched.body, document, "registration {registration:?}");
    }
    lrs.put(
        &app,
        &state(COURSE, &ann(), Some(REGISTRATION), Some("bookmark")),
        json!({}),
    )
    .await
    .expect(204);
    let listed = lrs
        .get(&app, &state(COURSE, &ann(), Some(REGISTRATION), None))
        .await;
    assert_eq!(ids(&listed), ["bookmark", "progress"]);
    let listed = lrs
        .get(&app, &state(COURSE, &ann(), Some(OTHER_REGISTRATION), None))
        .await;
    assert_eq!(ids(&listed), ["progress"]);
    // A registration is a UUID: its letters' case does not make it another one.
    let upper = REGISTRATION.to_uppercase();
    let fetched = lrs
        .get(&app, &state(COURSE, &ann(), Some(&upper), Some("progress")))
        .await;
    fetched.expect(200);
    assert_eq!(fetched.body, json!({"attempt": "first"}));
}

/// 2.2.s7 (Document Merge): a POST of a JSON object onto a stored JSON object merges them at
/// the top level, the posted properties replacing those of the same name (whole, not deeply).
async fn posting_a_json_object_merges_it_into_the_state(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let path = state(COURSE, &ann(), Some(REGISTRATION), Some("progress"));
    lrs.put(
        &app,
        &path,
        json!({"car": "Honda", "colour": "red", "options": {"roof": true, "seats": 5}}),
    )
    .await
    .expect(204);

    let merged = lrs
        .post(
            &app,
            &path,
            json!({"type": "Civic", "colour": "blue", "options": {"seats": 7}}),
        )
        .await;
    merged.expect(204);

    let fetched = lrs.send_bytes(&app, Method::GET, &path, &[], None).await;
    assert_eq!(fetched.status.as_u16(), 200);
    assert_eq!(fetched.header("content-type"), Some("application/json"));
    let document: Value = serde_json::from_slice(&fetched.bytes).unwrap();
    assert_eq!(
        document,
        json!({"car": "Honda", "type": "Civic", "colour": "blue", "options": {"seats": 7}})
    );
    // The ETag is that of the merged document, as both answers say.
    assert_eq!(
        fetched.header("etag"),
        Some(sha1_etag(&fetched.bytes).as_str())
    );
    assert_eq!(merged.header("etag"), fetched.header("etag"));
}

/// 2.2.s7: a POST for a document the LRS does not hold is treated as a PUT: it is stored.
async fn posting_a_state_that_does_not_exist_stores_it(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let path = state(COURSE, &ann(), None, Some("fresh"));
    lrs.post(&app, &path, json!({"started": true}))
        .await
        .expect(204);
    let fetched = lrs.get(&app, &path).await;
    fetched.expect(200);
    assert_eq!(fetched.body, json!({"started": true}));

    let text = state(COURSE, &ann(), None, Some("fresh-text"));
    lrs.send(
        &app,
        Method::POST,
        &text,
        &[],
        Some(raw("text/plain", b"hello")),
    )
    .await
    .expect(204);
    let fetched = lrs.send_bytes(&app, Method::GET, &text, &[], None).await;
    assert_eq!(fetched.bytes, b"hello");
    assert_eq!(fetched.header("content-type"), Some("text/plain"));
}

/// 2.2.s8: a POST onto a stored document is refused with 400, and the document left as it
/// was, when either is not application/json or either is not a JSON object.
async fn posting_refuses_to_merge_anything_but_json_objects(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let json_path = state(COURSE, &ann(), None, Some("json"));
    lrs.put(&app, &json_path, json!({"car": "Honda"}))
        .await
        .expect(204);
    let text_path = state(COURSE, &ann(), None, Some("text"));
    lrs.send(
        &app,
        Method::PUT,
        &text_path,
        &[],
        Some(raw("text/plain", b"abc")),
    )
    .await
    .expect(204);

    // Not JSON onto JSON.
    lrs.send(
        &app,
        Method::POST,
        &json_path,
        &[],
        Some(raw("application/octet-stream", b"abcdefg")),
    )
    .await
    .expect(400);
    // JSON, but not an object, onto JSON.
    lrs.post(&app, &json_path, json!(["an", "array"]))
        .await
        .expect(400);
    // JSON onto what is not JSON.
    lrs.post(&app, &text_path, json!({"type": "Civic"}))
        .await
        .expect(400);

    let unchanged = lrs.get(&app, &json_path).await;
    assert_eq!(unchanged.body, json!({"car": "Honda"}));
    let unchanged = lrs
        .send_bytes(&app, Method::GET, &text_path, &[], None)
        .await;
    assert_eq!(unchanged.bytes, b"abc");
    assert_eq!(unchanged.header("content-type"), Some("text/plain"));
}

/// 2.3.s3: a DELETE with a stateId deletes that document (204), and only that one; GET then
/// answers 404.
async fn deleting_a_state_removes_that_one_only(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    for id in ["bookmark", "score"] {
        lrs.put(
            &app,
            &state(COURSE, &ann(), None, Some(id)),
            json!({"id": id}),
        )
        .await
        .expect(204);
    }
    lrs.delete(&app, &state(COURSE, &ann(), None, Some("bookmark")))
        .await
        .expect(204);
    lrs.get(&app, &state(COURSE, &ann(), None, Some("bookmark")))
        .await
        .expect(404);
    lrs.get(&app, &state(COURSE, &ann(), None, Some("score")))
        .await
        .expect(200);
    assert_eq!(
        ids(&lrs.get(&app, &state(COURSE, &ann(), None, None)).await),
        ["score"]
    );
}

/// 2.3.s5: a DELETE without stateId deletes every state of the context (activity + agent
/// [+ registration if given]) and no other.
async fn deleting_without_a_state_id_clears_the_context_and_nothing_else(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let stored = [
        (COURSE, ann(), Some(REGISTRATION), "bookmark"),
        (COURSE, ann(), Some(REGISTRATION), "score"),
        (COURSE, ann(), Some(OTHER_REGISTRATION), "bookmark"),
        (COURSE, ann(), None, "bookmark"),
        (COURSE, ann(), None, "score"),
        (COURSE, bob(), None, "bookmark"),
        (OTHER_COURSE, ann(), None, "bookmark"),
    ];
    for (activity, agent, registration, id) in &stored {
        lrs.put(
            &app,
            &state(activity, agent, *registration, Some(id)),
            json!({}),
        )
        .await
        .expect(204);
    }

    lrs.delete(&app, &state(COURSE, &ann(), Some(REGISTRATION), None))
        .await
        .expect(204);
    let listed = |activity: &'static str, agent: Value, registration: Option<&'static str>| {
        let lrs = &lrs;
        let app = &app;
        async move {
            ids(&lrs
                .get(app, &state(activity, &agent, registration, None))
                .await)
        }
    };
    assert!(listed(COURSE, ann(), Some(REGISTRATION)).await.is_empty());
    assert_eq!(
        listed(COURSE, ann(), Some(OTHER_REGISTRATION)).await,
        ["bookmark"]
    );
    assert_eq!(listed(COURSE, ann(), None).await, ["bookmark", "score"]);

    lrs.delete(&app, &state(COURSE, &ann(), None, None))
        .await
        .expect(204);
    assert!(listed(COURSE, ann(), None).await.is_empty());
    assert_eq!(listed(COURSE, bob(), None).await, ["bookmark"]);
    assert_eq!(listed(OTHER_COURSE, ann(), None).await, ["bookmark"]);
}

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
    assert_eq!(ids(&lrs.get(&app, &without_id).await), Vec::<String>::new());
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

/// 3.1: the State resource permits a PUT without concurrency headers (it replaces the
/// document), but honours them when sent: a stale If-Match is 412 and changes nothing.
async fn the_state_honours_preconditions_when_sent(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let path = state(COURSE, &ann(), None, Some("bookmark"));
    lrs.put(&app, &path, json!({"page": 1})).await.expect(204);
    let first = lrs
        .get(&app, &path)
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    lrs.put(&app, &path, json!({"page": 2})).await.expect(204);

    let stale = put_with(
        &lrs,
        &app,
        &path,
        &[("If-Match", &first)],
        json!({"page": 3}),
    )
    .await;
    stale.expect(412);
    assert_eq!(lrs.get(&app, &path).await.body, json!({"page": 2}));
    let exists = put_with(
        &lrs,
        &app,
        &path,
        &[("If-None-Match", "*")],
        json!({"page": 3}),
    )
    .await;
    exists.expect(412);
    assert_eq!(lrs.get(&app, &path).await.body, json!({"page": 2}));
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
    lrs.put(
        &app,
        &agent_profile(&bare, Some("preferences")),
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
// Activity Profile and Agent Profile resources (Communication 2.6, 2.7) and concurrency (3.1)

/// 3.1 for the Activity Profile resource: If-None-Match: * creates only, If-Match updates only
/// the version named, a PUT over an existing document with neither header is 409, and a failed
/// precondition is 412 and changes nothing; DELETE honours If-Match.
async fn activity_profile_writes_are_optimistically_concurrent(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    concurrency_scenario(&app, &lrs, |id| activity_profile(COURSE, Some(id))).await;
}

/// 3.1 for the Agent Profile resource: as for the Activity Profile resource.
async fn agent_profile_writes_are_optimistically_concurrent(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    concurrency_scenario(&app, &lrs, |id| agent_profile(&ann(), Some(id))).await;
}

/// 2.2.s7 for both profile resources: POST stores a document that does not exist, merges a
/// JSON object into a stored JSON object (the new properties win), and refuses (400, nothing
/// changed) to merge what is not a JSON object. A POST needs no concurrency header.
async fn posting_to_a_profile_merges_json_objects(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    for path in [
        activity_profile(COURSE, Some("settings")),
        agent_profile(&ann(), Some("settings")),
    ] {
        lrs.post(&app, &path, json!({"car": "Honda", "colour": "red"}))
            .await
            .expect(204);
        assert_eq!(
            lrs.get(&app, &path).await.body,
            json!({"car": "Honda", "colour": "red"})
        );
        lrs.post(&app, &path, json!({"type": "Civic", "colour": "blue"}))
            .await
            .expect(204);
        let merged = json!({"car": "Honda", "type": "Civic", "colour": "blue"});
        assert_eq!(lrs.get(&app, &path).await.body, merged, "{path}");

        lrs.send(
            &app,
            Method::POST,
            &path,
            &[],
            Some(raw("application/octet-stream", b"abcdefg")),
        )
        .await
        .expect(400);
        lrs.send(
            &app,
            Method::POST,
            &path,
            &[],
            Some(raw("application/json", b"{\"type\": ")),
        )
        .await
        .expect(400);
        lrs.post(&app, &path, json!("a string")).await.expect(400);
        assert_eq!(lrs.get(&app, &path).await.body, merged, "{path}");
    }

    // Onto a document that is not JSON.
    let path = activity_profile(COURSE, Some("binary"));
    lrs.send(
        &app,
        Method::PUT,
        &path,
        &[("If-None-Match", "*")],
        Some(raw("application/octet-stream", b"/ asdf / undefined")),
    )
    .await
    .expect(204);
    lrs.post(&app, &path, json!({"type": "Civic"}))
        .await
        .expect(400);
    let unchanged = lrs.send_bytes(&app, Method::GET, &path, &[], None).await;
    assert_eq!(unchanged.bytes, b"/ asdf / undefined");
}

/// 2.6.s4 and 2.7.s4: a GET without profileId answers the array of profileIds of the activity
/// (or agent), and `since` keeps those stored after that time.
async fn listing_profiles_answers_their_ids_and_since_keeps_the_later_ones(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    type PathFor = fn(Option<&str>) -> String;
    let resources: [(PathFor, PathFor); 2] = [
        (
            |id| activity_profile(COURSE, id),
            |id| activity_profile(OTHER_COURSE, id),
        ),
        (
            |id| agent_profile(&ann(), id),
            |id| agent_profile(&bob(), id),
        ),
    ];
    for (path_for, other_for) in resources {
        let list = path_for(None);
        assert_eq!(ids(&lrs.get(&app, &list).await), Vec::<String>::new());
        let start = now_param();
        lrs.post(&app, &path_for(Some("alpha")), json!({}))
            .await
            .expect(204);
        let between = now_param();
        lrs.post(&app, &path_for(Some("beta")), json!({}))
            .await
            .expect(204);
        lrs.post(&app, &other_for(Some("gamma")), json!({}))
            .await
            .expect(204);

        assert_eq!(
            ids(&lrs.get(&app, &list).await),
            ["alpha", "beta"],
            "{list}"
        );
        let since = |at: &str| format!("{list}&since={}", encode(at));
        assert_eq!(ids(&lrs.get(&app, &since(&start)).await), ["alpha", "beta"]);
        assert_eq!(ids(&lrs.get(&app, &since(&between)).await), ["beta"]);
        assert_eq!(ids(&lrs.get(&app, &other_for(None)).await), ["gamma"]);
        lrs.get(&app, &since("not a timestamp")).await.expect(400);
    }
}

/// 2.6.s3 and 2.7.s3: a profile DELETE must name the profile (there is no "delete all"):
/// without profileId it is 400, and nothing is deleted.
async fn a_profile_delete_must_name_the_profile(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    for path_for in [
        |id| activity_profile(COURSE, id),
        |id| agent_profile(&ann(), id),
    ] as [fn(Option<&str>) -> String; 2]
    {
        lrs.post(&app, &path_for(Some("kept")), json!({}))
            .await
            .expect(204);
        lrs.delete(&app, &path_for(None)).await.expect(400);
        lrs.get(&app, &path_for(Some("kept"))).await.expect(200);
    }
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
        assert_eq!(ids(&lrs.get(&app, &path).await), Vec::<String>::new());
    }
}

// ---------------------------------------------------------------------------------------------
// Activities and Agents resources (Communication 2.5, 2.4)

/// 2.5.s1: the Activities resource answers the complete Activity object, with the latest
/// definition the organisation's statements gave it; another organisation's statements do not
/// describe it.
async fn the_activities_resource_answers_the_latest_definition(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let first = json!({
        "name": {"en-GB": "Fire safety"},
        "description": {"en-GB": "The basics"},
        "type": "http://adlnet.gov/expapi/activities/course",
    });
    let second = json!({
        "name": {"en-GB": "Fire safety (2026)"},
        "type": "http://adlnet.gov/expapi/activities/course",
        "extensions": {"http://example.org/ext/hours": 2},
    });
    lrs.store(&app, json!([described("ann@example.org", &first)]))
        .await;
    let reply = lrs
        .get(&app, &query("/activities", &[("activityId", COURSE)]))
        .await;
    reply.expect(200);
    assert_eq!(
        reply.body,
        json!({"objectType": "Activity", "id": COURSE, "definition": first})
    );

    lrs.store(&app, json!([described("bob@example.org", &second)]))
        .await;
    let reply = lrs
        .get(&app, &query("/activities", &[("activityId", COURSE)]))
        .await;
    reply.expect(200);
    assert_eq!(
        reply.body,
        json!({"objectType": "Activity", "id": COURSE, "definition": second})
    );

    let other = Lrs::new(&app, "Elsewhere").await;
    let reply = other
        .get(&app, &query("/activities", &[("activityId", COURSE)]))
        .await;
    reply.expect(200);
    assert_eq!(reply.body, json!({"objectType": "Activity", "id": COURSE}));
}

/// 2.5.s1: an activity no statement described is answered as just its objectType and id; the
/// activityId is required (400 without it) and must be an IRI, and no other parameter is taken.
async fn the_activities_resource_needs_only_an_activity_id(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let unknown = "http://example.org/courses/never-seen";
    let reply = lrs
        .get(&app, &query("/activities", &[("activityId", unknown)]))
        .await;
    reply.expect(200);
    assert_eq!(reply.body, json!({"objectType": "Activity", "id": unknown}));

    lrs.get(&app, "/activities").await.expect(400);
    lrs.get(&app, &query("/activities", &[("activityId", "never seen")]))
        .await
        .expect(400);
    lrs.get(
        &app,
        &query("/activities", &[("activityId", unknown), ("agent", "{}")]),
    )
    .await
    .expect(400);
}

/// 2.4.s2: the Agents resource answers a Person object (objectType "Person") whose properties
/// are arrays: name and mbox for an agent with both; account as an array of Account objects;
/// openid as an array of strings.
async fn the_agents_resource_answers_a_person(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let cases = [
        (
            json!({"objectType": "Agent", "name": "Ann Smith", "mbox": "mailto:ann@example.org"}),
            json!({"objectType": "Person", "name": ["Ann Smith"], "mbox": ["mailto:ann@example.org"]}),
        ),
        (
            json!({"account": {"homePage": "http://lms.example.org", "name": "u123"}}),
            json!({"objectType": "Person", "account": [{"homePage": "http://lms.example.org", "name": "u123"}]}),
        ),
        (
            json!({"openid": "http://openid.example.org/ann"}),
            json!({"objectType": "Person", "openid": ["http://openid.example.org/ann"]}),
        ),
    ];
    for (agent, person) in cases {
        let reply = lrs
            .get(&app, &query("/agents", &[("agent", &agent.to_string())]))
            .await;
        reply.expect(200);
        assert_eq!(reply.body, person, "{agent}");
    }
}

/// 2.4.s2.table1.row1: the Agents resource requires an agent (400 without one) and refuses
/// with 400 one that is not a valid Agent: not JSON, a Group, two identifiers, none.
async fn the_agents_resource_refuses_what_is_not_an_agent(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    lrs.get(&app, "/agents").await.expect(400);
    for agent in [
        "not JSON".to_owned(),
        json!({"objectType": "Group", "member": [{"mbox": "mailto:ann@example.org"}]}).to_string(),
        json!({"mbox": "mailto:ann@example.org", "mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"})
            .to_string(),
        json!({"name": "Ann"}).to_string(),
        json!({"mbox": "ann@example.org"}).to_string(),
    ] {
        let reply = lrs.get(&app, &query("/agents", &[("agent", &agent)])).await;
        assert_eq!(reply.status.as_u16(), 400, "{agent}: {:#}", reply.body);
    }
}

// ---------------------------------------------------------------------------------------------
// Isolation and authorisation (Communication 4.0)

/// Each organisation's documents are its own: another organisation's client finds none of
/// them (404, empty lists), its DELETE removes nothing of theirs, and its PUT stores a
/// document of its own, leaving theirs unchanged.
async fn another_organisation_cannot_see_or_touch_the_documents(app: TestApp) {
    let a = Lrs::new(&app, "Trust A").await;
    let b = Lrs::new(&app, "Trust B").await;
    let documents = [
        state(COURSE, &ann(), None, Some("bookmark")),
        activity_profile(COURSE, Some("settings")),
        agent_profile(&ann(), Some("preferences")),
    ];
    let lists = [
        state(COURSE, &ann(), None, None),
        activity_profile(COURSE, None),
        agent_profile(&ann(), None),
    ];
    for path in &documents {
        a.post(&app, path, json!({"owner": "A"})).await.expect(204);
    }
    for (path, list) in documents.iter().zip(&lists) {
        b.get(&app, path).await.expect(404);
        let listed = b.get(&app, list).await;
        listed.expect(200);
        assert_eq!(listed.body, json!([]), "{list}");

        b.delete(&app, path).await.expect(204);
        b.post(&app, path, json!({"merged": "B"})).await.expect(204);
        put_with(
            &b,
            &app,
            path,
            &[("If-None-Match", "*")],
            json!({"owner": "B"}),
        )
        .await
        .expect(412);
        assert_eq!(b.get(&app, path).await.body, json!({"merged": "B"}));

        let theirs = a.get(&app, path).await;
        theirs.expect(200);
        assert_eq!(theirs.body, json!({"owner": "A"}), "{path}");
    }
    b.delete(&app, &lists[0]).await.expect(204);
    assert_eq!(ids(&a.get(&app, &lists[0]).await), ["bookmark"]);
}

/// Writing documents needs the records:write scope: a client with only shared:read can read
/// them but is refused (403) every PUT, POST and DELETE, which change nothing.
async fn a_client_without_records_write_can_read_but_not_write(app: TestApp) {
    let writer = Lrs::new(&app, "LMS").await;
    let org = writer.client.clone();
    // A reader of the same organisation: another client of it, with shared:read only.
    let reader = reader_of(&app, &org).await;
    let documents = [
        state(COURSE, &ann(), None, Some("bookmark")),
        activity_profile(COURSE, Some("settings")),
        agent_profile(&ann(), Some("preferences")),
    ];
    for path in &documents {
        writer.post(&app, path, json!({"v": 1})).await.expect(204);
        let read = reader.get(&app, path).await;
        read.expect(200);
        assert_eq!(read.body, json!({"v": 1}));
        put_with(
            &reader,
            &app,
            path,
            &[("If-None-Match", "*")],
            json!({"v": 2}),
        )
        .await
        .expect(403);
        let etag = read.header("etag").unwrap().to_owned();
        put_with(&reader, &app, path, &[("If-Match", &etag)], json!({"v": 2}))
            .await
            .expect(403);
        reader.post(&app, path, json!({"v": 2})).await.expect(403);
        reader.delete(&app, path).await.expect(403);
        assert_eq!(writer.get(&app, path).await.body, json!({"v": 1}), "{path}");
    }
    reader
        .delete(&app, &state(COURSE, &ann(), None, None))
        .await
        .expect(403);
    writer.get(&app, &documents[0]).await.expect(200);

    // A shared:read client of an organisation of its own: nothing of this one to read, and
    // no right to write.
    let other = Lrs::with_scopes(&app, "HR", "shared:read").await;
    other.get(&app, &documents[0]).await.expect(404);
    put_with(&other, &app, &documents[0], &[], json!({}))
        .await
        .expect(403);
    other.post(&app, &documents[0], json!({})).await.expect(403);
    other.delete(&app, &documents[0]).await.expect(403);
}

/// Communication 4.0: the LRS answers only an organisation client. Without credentials a
/// request is 401 (with a Basic challenge); a person's bearer token is 403.
async fn the_document_resources_need_an_organisation_client(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let path = state(COURSE, &ann(), None, Some("bookmark"));
    lrs.put(&app, &path, json!({"page": 1})).await.expect(204);
    let person = app.person_token("x");
    let all = [Method::GET, Method::PUT, Method::POST, Method::DELETE];
    let requests = [
        (path.clone(), &all[..]),
        (activity_profile(COURSE, Some("settings")), &all[..]),
        (agent_profile(&ann(), Some("preferences")), &all[..]),
        (query("/activities", &[("activityId", COURSE)]), &all[..1]),
        (
            query("/agents", &[("agent", &ann().to_string())]),
            &all[..1],
        ),
    ];
    for (path, methods) in requests {
        for method in methods {
            let anonymous = without_client(&app, method.clone(), &path, None).await;
            anonymous.expect(401);
            assert!(
                anonymous
                    .headers
                    .get_all("www-authenticate")
                    .iter()
                    .any(|c| c.to_str().is_ok_and(|c| c.starts_with("Basic"))),
                "{method} {path}: {:?}",
                anonymous.headers
            );
            without_client(&app, method.clone(), &path, Some(&person))
                .await
                .expect(403);
        }
    }
    assert_eq!(lrs.get(&app, &path).await.body, json!({"page": 1}));
}

// ---------------------------------------------------------------------------------------------
// Headers (Communication 1.1 HEAD, 1.2 headers, 3.3 versioning)

/// 3.3: every answer of the document resources — success or error — carries
/// X-Experience-API-Version: 1.0.3.
async fn every_document_answer_names_the_xapi_version(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let reader = Lrs::with_scopes(&app, "HR", "shared:read").await;
    let state_path = state(COURSE, &ann(), None, Some("bookmark"));
    let profile = activity_profile(COURSE, Some("settings"));
    let mut answers: Vec<(String, Reply)> = Vec::new();
    let mut note = |what: &str, reply: Reply| answers.push((what.to_owned(), reply));
    note("PUT 204", lrs.put(&app, &state_path, json!({})).await);
    note("GET 200", lrs.get(&app, &state_path).await);
    note(
        "list 200",
        lrs.get(&app, &state(COURSE, &ann(), None, None)).await,
    );
    note(
        "POST 204",
        lrs.post(&app, &state_path, json!({"a": 1})).await,
    );
    note(
        "GET 404",
        lrs.get(&app, &state(COURSE, &bob(), None, Some("x"))).await,
    );
    note("GET 400", lrs.get(&app, "/activities/state").await);
    note(
        "POST 400",
        lrs.send(
            &app,
            Method::POST,
            &state_path,
            &[],
            Some(raw("text/plain", b"x")),
        )
        .await,
    );
    note(
        "PUT 204 profile",
        put_with(&lrs, &app, &profile, &[("If-None-Match", "*")], json!({})).await,
    );
    note("PUT 409", lrs.put(&app, &profile, json!({})).await);
    note(
        "PUT 412",
        put_with(&lrs, &app, &profile, &[("If-None-Match", "*")], json!({})).await,
    );
    note("PUT 403", reader.put(&app, &state_path, json!({})).await);
    note("DELETE 204", lrs.delete(&app, &state_path).await);
    note(
        "activities 200",
        lrs.get(&app, &query("/activities", &[("activityId", COURSE)]))
            .await,
    );
    note(
        "agents 200",
        lrs.get(&app, &query("/agents", &[("agent", &ann().to_string())]))
            .await,
    );
    note(
        "401",
        without_client(&app, Method::GET, &state_path, None).await,
    );
    for (what, reply) in &answers {
        assert_eq!(
            reply.header("x-experience-api-version"),
            Some("1.0.3"),
            "{what} ({})",
            reply.status
        );
    }
    let statuses: Vec<u16> = answers.iter().map(|(_, r)| r.status.as_u16()).collect();
    assert_eq!(
        statuses,
        [
            204, 200, 200, 204, 404, 400, 400, 204, 409, 412, 403, 204, 200, 200, 401
        ]
    );
}

/// 3.3 (Communication 1.2): a request without X-Experience-API-Version, or with a version that
/// is not 1.0.x, is refused with 400, and changes nothing.
async fn a_request_without_the_version_header_is_refused(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let path = state(COURSE, &ann(), None, Some("bookmark"));
    lrs.put(&app, &path, json!({"page": 1})).await.expect(204);
    for version in [None, Some("0.95"), Some("2.0.0")] {
        let mut unversioned = lrs.clone();
        unversioned.version = version.map(str::to_owned);
        for path in [
            path.clone(),
            activity_profile(COURSE, Some("settings")),
            agent_profile(&ann(), Some("preferences")),
        ] {
            for method in [Method::GET, Method::PUT, Method::POST, Method::DELETE] {
                let body = (method == Method::PUT || method == Method::POST)
                    .then(|| Body::Json(json!({"page": 2})));
                let headers: &[(&str, &str)] = if method == Method::PUT {
                    &[("If-None-Match", "*")]
                } else {
                    &[]
                };
                let reply = unversioned
                    .send(&app, method.clone(), &path, headers, body)
                    .await;
                assert_eq!(
                    reply.status.as_u16(),
                    400,
                    "{version:?} {method} {path}: {:#}",
                    reply.body
                );
                assert_eq!(reply.header("x-experience-api-version"), Some("1.0.3"));
            }
        }
    }
    assert_eq!(lrs.get(&app, &path).await.body, json!({"page": 1}));
    lrs.get(&app, &activity_profile(COURSE, Some("settings")))
        .await
        .expect(404);
}

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
    a_state_document_comes_back_as_stored,
    a_state_document_of_any_media_type_comes_back_byte_for_byte,
    listing_states_answers_their_ids_and_since_keeps_the_later_ones,
    a_registration_keeps_its_own_state,
    posting_a_json_object_merges_it_into_the_state,
    posting_a_state_that_does_not_exist_stores_it,
    posting_refuses_to_merge_anything_but_json_objects,
    deleting_a_state_removes_that_one_only,
    deleting_without_a_state_id_clears_the_context_and_nothing_else,
    state_requests_must_name_an_activity_and_an_agent,
    state_parameters_must_be_well_formed,
    a_json_state_body_must_be_json,
    the_state_honours_preconditions_when_sent,
    a_document_is_found_by_any_form_of_the_same_agent,
    a_get_of_one_document_ignores_since,
    activity_profile_writes_are_optimistically_concurrent,
    agent_profile_writes_are_optimistically_concurrent,
    posting_to_a_profile_merges_json_objects,
    listing_profiles_answers_their_ids_and_since_keeps_the_later_ones,
    a_profile_delete_must_name_the_profile,
    profile_parameters_must_be_well_formed,
    the_activities_resource_answers_the_latest_definition,
    the_activities_resource_needs_only_an_activity_id,
    the_agents_resource_answers_a_person,
    the_agents_resource_refuses_what_is_not_an_agent,
    another_organisation_cannot_see_or_touch_the_documents,
    a_client_without_records_write_can_read_but_not_write,
    the_document_resources_need_an_organisation_client,
    every_document_answer_names_the_xapi_version,
    a_request_without_the_version_header_is_refused,
    head_answers_the_headers_of_get_without_the_body,
);

// ---------------------------------------------------------------------------------------------
// Helpers

/// The concurrency requirements of Communication 3.1, on a profile resource whose document
/// `path_for(id)` addresses.
async fn concurrency_scenario(app: &TestApp, lrs: &Lrs, path_for: impl Fn(&str) -> String) {
    let path = path_for("settings");
    let first = json!({"theme": "dark"});

    // If-None-Match: * creates a document that does not exist...
    let created = put_with(lrs, app, &path, &[("If-None-Match", "*")], first.clone()).await;
    created.expect(204);
    let first_tag = sha1_etag(&serde_json::to_vec(&first).unwrap());
    assert_eq!(created.header("etag"), Some(first_tag.as_str()));
    // ...and only then.
    put_with(
        lrs,
        app,
        &path,
        &[("If-None-Match", "*")],
        json!({"theme": "light"}),
    )
    .await
    .expect(412);
    assert_eq!(lrs.get(app, &path).await.body, first);

    // Neither header, over an existing document: 409, explained, and nothing changed.
    let conflict = lrs.put(app, &path, json!({"theme": "light"})).await;
    conflict.expect(409);
    assert!(
        conflict.body["detail"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{:#}",
        conflict.body
    );
    assert_eq!(lrs.get(app, &path).await.body, first);

    // If-Match with the ETag a GET answered: replaced, with a new ETag.
    let current = lrs.get(app, &path).await;
    let current_tag = current.header("etag").unwrap().to_owned();
    assert_eq!(current_tag, first_tag);
    let second = json!({"theme": "light", "font": "large"});
    let updated = put_with(
        lrs,
        app,
        &path,
        &[("If-Match", &current_tag)],
        second.clone(),
    )
    .await;
    updated.expect(204);
    let second_tag = sha1_etag(&serde_json::to_vec(&second).unwrap());
    assert_ne!(second_tag, first_tag);
    assert_eq!(updated.header("etag"), Some(second_tag.as_str()));
    let fetched = lrs.get(app, &path).await;
    assert_eq!(fetched.body, second);
    assert_eq!(fetched.header("etag"), Some(second_tag.as_str()));

    // A stale If-Match (and a made-up one): 412, and nothing changed.
    for stale in [
        first_tag.as_str(),
        "\"1111111111111111111111111111111111111111\"",
    ] {
        put_with(
            lrs,
            app,
            &path,
            &[("If-Match", stale)],
            json!({"theme": "blue"}),
        )
        .await
        .expect(412);
    }
    assert_eq!(lrs.get(app, &path).await.body, second);

    // If-Match on a document that does not exist: 412, and it is not created.
    let absent = path_for("absent");
    put_with(lrs, app, &absent, &[("If-Match", &second_tag)], json!({}))
        .await
        .expect(412);
    put_with(lrs, app, &absent, &[("If-Match", "*")], json!({}))
        .await
        .expect(412);
    lrs.get(app, &absent).await.expect(404);

    // DELETE with a stale If-Match: 412, still there; with the current one: deleted.
    lrs.send(
        app,
        Method::DELETE,
        &path,
        &[("If-Match", &first_tag)],
        None,
    )
    .await
    .expect(412);
    assert_eq!(lrs.get(app, &path).await.body, second);
    lrs.send(
        app,
        Method::DELETE,
        &path,
        &[("If-Match", &second_tag)],
        None,
    )
    .await
    .expect(204);
    lrs.get(app, &path).await.expect(404);
}

/// An Agent as the document resources take it.
fn ann() -> Value {
    json!({"objectType": "Agent", "mbox": "mailto:ann@example.org"})
}

fn bob() -> Value {
    json!({"objectType": "Agent", "mbox": "mailto:bob@example.org"})
}

/// `/activities/state` for an activity, an agent, optionally a registration and a stateId.
fn state(activity: &str, agent: &Value, registration: Option<&str>, id: Option<&str>) -> String {
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
fn state_since(activity: &str, agent: &Value, registration: Option<&str>, since: &str) -> String {
    format!(
        "{}&since={}",
        state(activity, agent, registration, None),
        encode(since)
    )
}

fn activity_profile(activity: &str, id: Option<&str>) -> String {
    let mut params = vec![("activityId", activity)];
    if let Some(id) = id {
        params.push(("profileId", id));
    }
    query("/activities/profile", &params)
}

fn agent_profile(agent: &Value, id: Option<&str>) -> String {
    let agent = agent.to_string();
    let mut params = vec![("agent", agent.as_str())];
    if let Some(id) = id {
        params.push(("profileId", id));
    }
    query("/agents/profile", &params)
}

/// The ETag xAPI asks for: the SHA-1 of the content, hexadecimal, quoted.
fn sha1_etag(content: &[u8]) -> String {
    let hex: String = Sha1::digest(content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("\"{hex}\"")
}

/// Now, as a `since` parameter (microseconds, UTC).
fn now_param() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The ids of a list answer, asserting it is a 200 with a JSON array of strings.
#[track_caller]
fn ids(reply: &Reply) -> Vec<String> {
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

fn raw(content_type: &str, bytes: &[u8]) -> Body {
    Body::Raw {
        content_type: content_type.to_owned(),
        bytes: bytes.to_vec(),
    }
}

fn json_bytes(bytes: &[u8]) -> Body {
    raw("application/json", bytes)
}

async fn put_with(
    lrs: &Lrs,
    app: &TestApp,
    path: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> Reply {
    lrs.send(app, Method::PUT, path, headers, Some(Body::Json(body)))
        .await
}

/// A statement by `mbox` that completed the course, defining it as `definition`.
fn described(mbox: &str, definition: &Value) -> Value {
    let mut statement = statement(mbox, "completed", COURSE);
    statement["object"]["definition"] = definition.clone();
    statement
}

/// A request with the version header and, at most, a bearer token: no client credentials.
async fn without_client(app: &TestApp, method: Method, path: &str, bearer: Option<&str>) -> Reply {
    let mut request = app
        .http
        .request(method.clone(), app.url(&format!("/xapi{path}")))
        .header("X-Experience-API-Version", VERSION);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    if method == Method::PUT || method == Method::POST {
        request = request.json(&json!({"page": 9}));
    }
    Reply::from(request.send().await.unwrap()).await
}

/// A second client of `org`'s organisation holding only shared:read.
async fn reader_of(app: &TestApp, org: &support::OrgClient) -> Lrs {
    let organisation: uuid::Uuid = org.organisation_id.parse().unwrap();
    let db = app.db.clone();
    let client = actix_web::rt::task::spawn_blocking(move || {
        let mut conn = db.get().unwrap();
        let scopes = learning_passport::auth::Scopes::parse("shared:read").unwrap();
        learning_passport::organisations::create_client(
            &mut conn,
            learning_passport::db::types::Id(organisation),
            &scopes,
        )
        .unwrap()
    })
    .await
    .unwrap();
    Lrs {
        client: support::OrgClient {
            organisation_id: org.organisation_id.clone(),
            client_id: client.client_id,
            client_secret: client.client_secret,
            token: String::new(),
        },
        version: Some(VERSION.into()),
    }
}
