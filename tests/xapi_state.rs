//! The LRS's State resource (xAPI 1.0.3, Communication 2.3; document merging, 2.2; concurrency,
//! 3.1): a state document comes back as stored, byte for byte; states are listed, kept apart
//! per registration, merged by POST and deleted one by one or by context; and preconditions
//! are honoured when sent. Each test names the requirement it checks.

mod support;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use support::xapi::*;
use support::{Method, TestApp};

const REGISTRATION: &str = "6f1a3c3e-2f44-4c1d-9a0b-2b5f6a7d8e90";
const OTHER_REGISTRATION: &str = "0d2c1b3a-5e4f-4a6b-8c7d-9e0f1a2b3c4d";

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

    assert_eq!(
        document_ids(&lrs.get(&app, &list).await),
        ["bookmark", "score"]
    );
    let since_start = state_since(COURSE, &ann(), None, &start);
    assert_eq!(
        document_ids(&lrs.get(&app, &since_start).await),
        ["bookmark", "score"]
    );
    let since_between = state_since(COURSE, &ann(), None, &between);
    assert_eq!(
        document_ids(&lrs.get(&app, &since_between).await),
        ["score"]
    );
    let since_now = state_since(COURSE, &ann(), None, &now_param());
    assert_eq!(
        document_ids(&lrs.get(&app, &since_now).await),
        Vec::<String>::new()
    );

    // Stored again after `between`: listed since then.
    lrs.put(
        &app,
        &state(COURSE, &ann(), None, Some("bookmark")),
        json!({"page": 2}),
    )
    .await
    .expect(204);
    assert_eq!(
        document_ids(&lrs.get(&app, &since_between).await),
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
    assert_eq!(document_ids(&listed), ["bookmark", "progress"]);
    let listed = lrs
        .get(&app, &state(COURSE, &ann(), Some(OTHER_REGISTRATION), None))
        .await;
    assert_eq!(document_ids(&listed), ["progress"]);
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
        document_ids(&lrs.get(&app, &state(COURSE, &ann(), None, None)).await),
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
            document_ids(
                &lrs.get(app, &state(activity, &agent, registration, None))
                    .await,
            )
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
    the_state_honours_preconditions_when_sent,
);
