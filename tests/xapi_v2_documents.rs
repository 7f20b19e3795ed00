//! The document resources under xAPI 2.0 (IEEE 9274.1.1-2023; the 2.0 conformance suite's
//! 4.1.4 Concurrency and Communication 2.2): optimistic concurrency now covers the State
//! resource as it does profiles, for PUT, POST and DELETE; documents carry ETag and
//! Last-Modified and merge as in 1.0.3. A 1.0.x client keeps 1.0.3's rules.

mod support;

use serde_json::json;
use support::TestApp;
use support::xapi::*;

fn v2(lrs: &Lrs) -> Lrs {
    Lrs {
        version: Some("2.0.0".into()),
        ..lrs.clone()
    }
}

/// 2.0, 4.1.4: "If a PUT request is received without either header for a resource that
/// already exists" the LRS answers 409 with an explanation and leaves the document alone, now
/// for state documents too. A new state needs no header; `If-Match` with the ETag replaces,
/// `If-None-Match: *` over an existing one is 412.
async fn under_2_0_a_state_put_over_an_existing_document_needs_a_precondition(app: TestApp) {
    let lrs = v2(&Lrs::new(&app, "LMS").await);
    let path = state(COURSE, &ann(), None, Some("bookmark"));
    let first = lrs.put(&app, &path, json!({"page": 1})).await;
    first.expect(204);
    let etag = first.header("etag").unwrap().to_owned();

    let blind = lrs.put(&app, &path, json!({"page": 2})).await;
    blind.expect_problem(409);
    assert!(!blind.body["detail"].as_str().unwrap().is_empty());
    assert_eq!(lrs.get(&app, &path).await.body, json!({"page": 1}));

    put_with(
        &lrs,
        &app,
        &path,
        &[("If-None-Match", "*")],
        json!({"page": 3}),
    )
    .await
    .expect(412);
    put_with(
        &lrs,
        &app,
        &path,
        &[("If-Match", "\"1234\"")],
        json!({"page": 3}),
    )
    .await
    .expect(412);
    assert_eq!(lrs.get(&app, &path).await.body, json!({"page": 1}));
    put_with(
        &lrs,
        &app,
        &path,
        &[("If-Match", &etag)],
        json!({"page": 4}),
    )
    .await
    .expect(204);
    assert_eq!(lrs.get(&app, &path).await.body, json!({"page": 4}));
}

/// 1.0.3 (Communication 2.3): a 1.0.x client still replaces its state documents without
/// preconditions, as stock 1.0.3 clients do; the same document is 2.0's to guard when a 2.0
/// client writes it.
async fn a_1_0_x_client_keeps_replacing_state_without_preconditions(app: TestApp) {
    let v1 = Lrs::new(&app, "LMS").await;
    let path = state(COURSE, &ann(), None, Some("bookmark"));
    v1.put(&app, &path, json!({"page": 1})).await.expect(204);
    v1.put(&app, &path, json!({"page": 2})).await.expect(204);
    assert_eq!(v1.get(&app, &path).await.body, json!({"page": 2}));
    v2(&v1)
        .put(&app, &path, json!({"page": 3}))
        .await
        .expect_problem(409);
}

/// 2.0, 4.1.4: POST and DELETE honour `If-Match` (412 on a mismatch, nothing changed) on the
/// State, Activity Profile and Agent Profile resources; a GET carries the ETag, quoted SHA-1,
/// and Last-Modified; POST merges JSON objects one level deep (Communication 2.2, XAPI-00183,
/// XAPI-00184).
async fn under_2_0_every_document_write_honours_if_match_and_posts_merge(app: TestApp) {
    let lrs = v2(&Lrs::new(&app, "LMS").await);
    for path in [
        state(COURSE, &ann(), None, Some("progress")),
        activity_profile(COURSE, Some("settings")),
        agent_profile(&ann(), Some("preferences")),
    ] {
        let first = json!({"car": {"make": "Ford", "model": "Escape"}, "driver": "Dale"});
        lrs.post(&app, &path, first.clone()).await.expect(204);
        let got = lrs.get(&app, &path).await;
        got.expect(200);
        let bytes = serde_json::to_vec(&first).unwrap();
        assert_eq!(
            got.header("etag"),
            Some(sha1_etag(&bytes).as_str()),
            "{path}"
        );
        assert!(got.header("last-modified").is_some(), "{path}");
        let wrong = [("If-Match", "\"1111111111111111111111111111111111111111\"")];
        let posted = lrs
            .send(
                &app,
                support::Method::POST,
                &path,
                &wrong,
                Some(Body::Json(json!({"driver": "Jeff"}))),
            )
            .await;
        posted.expect(412);
        lrs.send(&app, support::Method::DELETE, &path, &wrong, None)
            .await
            .expect(412);
        assert_eq!(lrs.get(&app, &path).await.body, first, "{path}");

        let etag = got.header("etag").unwrap();
        let second = json!({"car": {"make": "Dodge"}, "series": {"nascar": "nextel"}});
        lrs.send(
            &app,
            support::Method::POST,
            &path,
            &[("If-Match", etag)],
            Some(Body::Json(second)),
        )
        .await
        .expect(204);
        assert_eq!(
            lrs.get(&app, &path).await.body,
            json!({"car": {"make": "Dodge"}, "driver": "Dale", "series": {"nascar": "nextel"}}),
            "{path}"
        );
        let etag = lrs
            .get(&app, &path)
            .await
            .header("etag")
            .unwrap()
            .to_owned();
        lrs.send(
            &app,
            support::Method::DELETE,
            &path,
            &[("If-Match", &etag)],
            None,
        )
        .await
        .expect(204);
        lrs.get(&app, &path).await.expect(404);
    }
}

/// 2.0, 4.1.4: a profile PUT over an existing document without a precondition is 409, as in
/// 1.0.3.
async fn under_2_0_a_profile_put_over_an_existing_document_is_409(app: TestApp) {
    let lrs = v2(&Lrs::new(&app, "LMS").await);
    for path in [
        activity_profile(COURSE, Some("settings")),
        agent_profile(&ann(), Some("preferences")),
    ] {
        put_with(
            &lrs,
            &app,
            &path,
            &[("If-None-Match", "*")],
            json!({"a": 1}),
        )
        .await
        .expect(204);
        lrs.put(&app, &path, json!({"a": 2}))
            .await
            .expect_problem(409);
        assert_eq!(lrs.get(&app, &path).await.body, json!({"a": 1}));
    }
}

on_both_backends!(
    under_2_0_a_state_put_over_an_existing_document_needs_a_precondition,
    a_1_0_x_client_keeps_replacing_state_without_preconditions,
    under_2_0_every_document_write_honours_if_match_and_posts_merge,
    under_2_0_a_profile_put_over_an_existing_document_is_409,
);
