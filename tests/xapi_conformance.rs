//! Requirements of xAPI 1.0.3 that a conformance tester checks across resources, each test
//! naming its place in the specification (Communication 2.1.3, 3.1 and 3.2): every answer of the
//! Statements resource says how far it is consistent, a statement request of a media type the
//! LRS does not take is 400 (xAPI has no 415), and a profile PUT without a concurrency header
//! is refused even for a document that does not exist yet.

mod support;

use serde_json::json;
use support::xapi::*;
use support::{Method, TestApp};
use uuid::Uuid;

// Consistent-Through (Communication 2.1.3) ---------------------------------------------------

/// Communication 2.1.3.s2.b5: the LRS includes `X-Experience-API-Consistent-Through` on all
/// responses to Statements resource requests: PUT, POST, GET and HEAD, and every refusal (a
/// missing version, bad credentials, a client that may not write, a malformed request, an
/// unknown statement, a conflict, a body too large).
async fn every_answer_of_the_statements_resource_carries_consistent_through(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let id = Uuid::new_v4().to_string();
    let put = format!("/statements?statementId={id}");
    let mut seen = Vec::new();

    seen.push(("PUT 204", lrs.put(&app, &put, base()).await));
    let other = statement("bob@example.com", "attempted", COURSE);
    seen.push(("PUT 409", lrs.put(&app, &put, other.clone()).await));
    seen.push(("POST 200", lrs.post(&app, "/statements", other).await));
    seen.push((
        "POST 400 (malformed)",
        lrs.post(&app, "/statements", json!({"actor": {}})).await,
    ));
    seen.push(("GET 200 (one)", lrs.statement(&app, &id).await));
    seen.push(("GET 200 (query)", lrs.get(&app, "/statements").await));
    seen.push((
        "GET 404",
        lrs.statement(&app, &Uuid::new_v4().to_string()).await,
    ));
    seen.push((
        "GET 400 (a parameter in the wrong case)",
        lrs.get(&app, "/statements?LIMIT=1").await,
    ));
    seen.push((
        "HEAD 200",
        lrs.send(&app, Method::HEAD, "/statements", &[], None).await,
    ));
    let no_version = Lrs {
        version: None,
        ..lrs.clone()
    };
    seen.push((
        "GET 400 (no version)",
        no_version.get(&app, "/statements").await,
    ));
    let mut wrong = lrs.clone();
    wrong.client.client_secret = "not-the-secret".into();
    seen.push(("GET 401", wrong.get(&app, "/statements").await));
    let reader = Lrs::with_scopes(&app, "Acme Reports", "shared:read").await;
    seen.push(("POST 403", reader.post(&app, "/statements", base()).await));
    let oversized = vec![b' '; app.settings.max_batch_bytes + 1];
    seen.push((
        "POST 413",
        lrs.send(
            &app,
            Method::POST,
            "/statements",
            &[],
            Some(json_bytes(&oversized)),
        )
        .await,
    ));

    let statuses: Vec<u16> = seen.iter().map(|(_, r)| r.status.as_u16()).collect();
    assert_eq!(
        statuses,
        [
            204, 409, 200, 400, 200, 200, 404, 400, 200, 400, 401, 403, 413
        ]
    );
    for (what, reply) in &seen {
        assert_consistent_through(&reply.headers, what);
        // A request naming no version is told of the newest the LRS speaks.
        let answered = if *what == "GET 400 (no version)" {
            "2.0.0"
        } else {
            "1.0.3"
        };
        assert_eq!(
            reply.header("x-experience-api-version"),
            Some(answered),
            "{what}"
        );
    }
    // Other resources do not carry it.
    let about = lrs.get(&app, "/about").await;
    assert_eq!(about.header("x-experience-api-consistent-through"), None);
}

// Media types (Communication 1.5 and 3.2) ----------------------------------------------------

/// Communication 3.2.s3.b1 and b6 (with 1.5): a statement request is application/json, or
/// multipart/mixed with attachments; any other media type (multipart/form-data, a form, plain
/// text, none at all) is a malformed request, answered 400 (415 is not among the codes xAPI
/// allows), naming Content-Type, and nothing is stored.
async fn a_statement_request_of_another_media_type_is_400(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let statement = base();
    let form_data = {
        let boundary = "form-boundary-1c2d";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"statement\"\r\n\
             Content-Type: application/json\r\n\r\n{statement}\r\n--{boundary}--\r\n"
        );
        raw(
            &format!("multipart/form-data; boundary={boundary}"),
            body.as_bytes(),
        )
    };
    let bodies = [
        ("multipart/form-data", form_data),
        (
            "a form without `method`",
            raw(
                "application/x-www-form-urlencoded",
                format!("content={}", encode(&statement.to_string())).as_bytes(),
            ),
        ),
        (
            "text/plain",
            raw("text/plain", statement.to_string().as_bytes()),
        ),
        ("application/xml", raw("application/xml", b"<statement/>")),
    ];
    for (what, body) in bodies {
        let reply = lrs
            .send(&app, Method::POST, "/statements", &[], Some(body))
            .await;
        reply.expect_field_error(400, "Content-Type");
        assert_consistent_through(&reply.headers, what);
    }
    // PUT alike, and a body with no Content-Type at all.
    let id = Uuid::new_v4();
    let put = format!("/statements?statementId={id}");
    let form_data = raw("multipart/form-data; boundary=x", b"--x--\r\n");
    lrs.send(&app, Method::PUT, &put, &[], Some(form_data))
        .await
        .expect_field_error(400, "Content-Type");
    let untyped = app
        .http
        .post(app.url("/xapi/statements"))
        .basic_auth(&lrs.client.client_id, Some(&lrs.client.client_secret))
        .header("X-Experience-API-Version", VERSION)
        .body(statement.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(untyped.status(), 400);
    assert!(lrs.query(&app, "").await.is_empty());
    lrs.statement(&app, &id.to_string()).await.expect(404);
}

// Concurrency of the profile resources (Communication 3.1) -----------------------------------

/// Communication 3.1.s3.b1: a PUT to the Activity Profile or Agent Profile resource must carry
/// If-Match or If-None-Match. Without either, a document that does not exist yet is refused
/// with 400 and not created; one that exists keeps 3.1.s4.b13 (409, unchanged). With
/// `If-None-Match: *` it is created, and then replaced with `If-Match`. A POST needs neither
/// (3.1.s3.b2 is a SHOULD).
async fn a_profile_put_needs_a_concurrency_header_even_for_a_new_document(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    type PathFor = fn(Option<&str>) -> String;
    let resources: [PathFor; 2] = [
        |id| activity_profile(COURSE, id),
        |id| agent_profile(&ann(), id),
    ];
    for path_for in resources {
        let path = path_for(Some("settings"));
        let refused = lrs.put(&app, &path, json!({"theme": "dark"})).await;
        refused.expect_field_error(400, "If-None-Match");
        lrs.get(&app, &path).await.expect(404);
        assert!(document_ids(&lrs.get(&app, &path_for(None)).await).is_empty());

        let dark = json!({"theme": "dark"});
        put_with(&lrs, &app, &path, &[("If-None-Match", "*")], dark.clone())
            .await
            .expect(204);
        lrs.put(&app, &path, json!({"theme": "light"}))
            .await
            .expect(409);
        let fetched = lrs.get(&app, &path).await;
        assert_eq!(fetched.body, dark);
        let etag = fetched.header("etag").unwrap().to_owned();
        put_with(
            &lrs,
            &app,
            &path,
            &[("If-Match", &etag)],
            json!({"theme": "light"}),
        )
        .await
        .expect(204);
        assert_eq!(lrs.get(&app, &path).await.body, json!({"theme": "light"}));

        lrs.post(&app, &path_for(Some("merged")), json!({"a": 1}))
            .await
            .expect(204);
    }
}

/// Communication 3.1.s3: the State resource permits PUT, POST and DELETE without concurrency
/// headers: a new state document and an existing one are stored without either.
async fn a_state_put_needs_no_concurrency_header(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let path = state(COURSE, &ann(), None, Some("bookmark"));
    lrs.put(&app, &path, json!({"page": 1})).await.expect(204);
    lrs.put(&app, &path, json!({"page": 2})).await.expect(204);
    assert_eq!(lrs.get(&app, &path).await.body, json!({"page": 2}));
    lrs.delete(&app, &path).await.expect(204);
}

on_both_backends!(
    every_answer_of_the_statements_resource_carries_consistent_through,
    a_statement_request_of_another_media_type_is_400,
    a_profile_put_needs_a_concurrency_header_even_for_a_new_document,
    a_state_put_needs_no_concurrency_header,
);
