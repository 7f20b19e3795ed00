//! A person's own training records: `/v1/me/records`.

mod support;

use serde_json::{Value, json};
use support::{Method, TestApp, exactly_one_wins};

fn bls() -> Value {
    json!({
        "kind": "statutory_mandatory",
        "title": "Basic Life Support",
        "activity_code": "CSTF-RESUS-ADULT-L2",
        "provider_name": "St Elsewhere NHS Trust",
        "started_at": "2026-01-10T09:00:00Z",
        "completed_at": "2026-01-10T12:00:00Z",
        "expires_at": "2027-01-10T12:00:00Z",
        "result": "passed",
        "score": 92.5,
        "hours": 3,
        "evidence": [{"url": "https://certificates.example.org/bls/123.pdf", "description": "certificate"}],
        "notes": "Face-to-face session"
    })
}

async fn a_person_adds_a_record_and_reads_it_back(app: TestApp) {
    let alice = app.person_token("alice");
    let created = app.post("/v1/me/records", &alice, bls()).await;
    created.expect(201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.header("location"),
        Some(format!("/v1/me/records/{id}").as_str())
    );
    assert!(created.header("etag").is_some());
    snapshot!("record_created", created.body);

    let read = app.get(&format!("/v1/me/records/{id}"), &alice).await;
    read.expect(200);
    assert_eq!(read.body, created.body);
    assert_eq!(read.header("etag"), created.header("etag"));

    let list = app.get("/v1/me/records", &alice).await;
    list.expect(200);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["items"][0], created.body);
    assert_eq!(list.body["next_cursor"], Value::Null);
}

async fn a_person_never_reaches_another_persons_records(app: TestApp) {
    let alice = app.person_token("alice");
    let bob = app.person_token("bob");
    let id = app.post("/v1/me/records", &alice, bls()).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v1/me/records/{id}");

    app.get(&path, &bob).await.expect_problem(404);
    app.patch(&path, &bob, json!({"title": "Mine now"}))
        .await
        .expect_problem(404);
    app.delete(&path, &bob).await.expect_problem(404);
    let bobs = app.get("/v1/me/records", &bob).await;
    assert_eq!(bobs.body["items"], json!([]));

    // Alice's record is untouched.
    let read = app.get(&path, &alice).await;
    read.expect(200);
    assert_eq!(read.body["title"], "Basic Life Support");
}

/// A person's first request may be the list of their records: an empty page, and their
/// passport exists from then on, as after any first request.
async fn a_first_request_for_the_list_answers_an_empty_page_and_creates_the_passport(app: TestApp) {
    let carol = app.person_token("carol");
    let passports = || {
        use diesel::prelude::*;
        use learning_passport::db::schema::people;
        people::table
            .filter(people::subject.eq("carol"))
            .count()
            .get_result::<i64>(&mut *app.db.get().unwrap())
            .unwrap()
    };
    assert_eq!(passports(), 0);
    let list = app.get("/v1/me/records", &carol).await;
    list.expect(200);
    assert_eq!(list.body["items"], json!([]));
    assert_eq!(list.body["next_cursor"], Value::Null);
    assert_eq!(passports(), 1);
    // Listing again finds the same passport, not a second one.
    app.get("/v1/me/records", &carol).await.expect(200);
    assert_eq!(passports(), 1);
    let me = app.get("/v1/me", &carol).await;
    me.expect(200);
    let created = app.post("/v1/me/records", &carol, bls()).await;
    created.expect(201);
    let list = app.get("/v1/me/records", &carol).await;
    assert_eq!(list.body["items"][0]["id"], created.body["id"]);
}

async fn an_organisation_token_cannot_use_the_personal_endpoints(app: TestApp) {
    let org = app.org("Trust", "shared:read records:write").await;
    app.get("/v1/me/records", &org.token)
        .await
        .expect_problem(403);
    app.post("/v1/me/records", &org.token, bls())
        .await
        .expect_problem(403);
    app.get("/v1/me", &org.token).await.expect_problem(403);
}

async fn every_validation_rule_names_its_field_and_changes_nothing(app: TestApp) {
    let alice = app.person_token("alice");
    let cases: Vec<(Value, &str)> = vec![
        (json!({"title": "No kind"}), "kind"),
        (json!({"kind": "course"}), "title"),
        (json!({"kind": "course", "title": "   "}), "title"),
        (json!({"kind": "course", "title": "x".repeat(301)}), "title"),
        (json!({"kind": "seminar", "title": "Wrong kind"}), "kind"),
        (
            json!({"kind": "course", "title": "t", "activity_code": "has space"}),
            "activity_code",
        ),
        (
            json!({"kind": "course", "title": "t", "provider_name": "p".repeat(201)}),
            "provider_name",
        ),
        (
            json!({"kind": "course", "title": "t", "notes": "n".repeat(5001)}),
            "notes",
        ),
        (
            json!({"kind": "course", "title": "t", "completed_at": "2999-01-01T00:00:00Z"}),
            "completed_at",
        ),
        (
            json!({"kind": "course", "title": "t", "started_at": "2999-01-01T00:00:00Z"}),
            "started_at",
        ),
        (
            json!({"kind": "course", "title": "t", "completed_at": "yesterday"}),
            "completed_at",
        ),
        (
            json!({"kind": "course", "title": "t", "started_at": "2026-02-01T00:00:00Z", "completed_at": "2026-01-01T00:00:00Z"}),
            "started_at",
        ),
        (
            json!({"kind": "course", "title": "t", "completed_at": "2026-01-01T00:00:00Z", "expires_at": "2025-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (
            json!({"kind": "course", "title": "t", "completed_at": "2026-01-01T00:00:00Z", "expires_at": "2026-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (
            json!({"kind": "course", "title": "t", "expires_at": "2027-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (
            json!({"kind": "course", "title": "t", "result": "excellent"}),
            "result",
        ),
        (
            json!({"kind": "course", "title": "t", "score": 101}),
            "score",
        ),
        (
            json!({"kind": "course", "title": "t", "score": -1}),
            "score",
        ),
        (
            json!({"kind": "course", "title": "t", "hours": -0.5}),
            "hours",
        ),
        (
            json!({"kind": "course", "title": "t", "hours": 10001}),
            "hours",
        ),
        (
            json!({"kind": "course", "title": "t", "hours": "three"}),
            "hours",
        ),
        (
            json!({"kind": "course", "title": "t", "evidence": [{"url": "http://insecure.example.org/c.pdf"}]}),
            "evidence[0].url",
        ),
        (
            json!({"kind": "course", "title": "t", "evidence": [{"url": "https://ok.example.org"}, {"url": "not a url"}]}),
            "evidence[1].url",
        ),
        (
            json!({"kind": "course", "title": "t", "evidence": [{"url": "https://ok.example.org", "description": "d".repeat(501)}]}),
            "evidence[0].description",
        ),
        (
            json!({"kind": "course", "title": "t", "evidence": (0..21).map(|i| json!({"url": format!("https://e.example.org/{i}")})).collect::<Vec<_>>()}),
            "evidence",
        ),
        (
            json!({"kind": "course", "title": "t", "evidence": [{"url": "https://ok.example.org", "size": 3}]}),
            "evidence[0].size",
        ),
        // The documented lengths hold for the text as sent, before it is trimmed.
        (
            json!({"kind": "course", "title": "t", "notes": format!(" {}", "n".repeat(5000))}),
            "notes",
        ),
        (
            json!({"kind": "course", "title": format!("{} ", "t".repeat(300))}),
            "title",
        ),
        (
            json!({"kind": "course", "title": "t", "provenance": "issued"}),
            "provenance",
        ),
        (
            json!({"kind": "course", "title": "t", "hidden": true}),
            "hidden",
        ),
    ];
    for (body, field) in cases {
        let reply = app.post("/v1/me/records", &alice, body.clone()).await;
        assert_eq!(
            reply.status.as_u16(),
            422,
            "body {body} should be refused: {:#}",
            reply.body
        );
        reply.expect_field_error(422, field);
    }
    let list = app.get("/v1/me/records", &alice).await;
    assert_eq!(
        list.body["items"],
        json!([]),
        "a refused request must store nothing"
    );
}

async fn several_broken_rules_are_reported_together(app: TestApp) {
    let alice = app.person_token("alice");
    let reply = app
        .post(
            "/v1/me/records",
            &alice,
            json!({"kind": "course", "title": "", "score": 500, "evidence": [{"url": "ftp://x.example.org"}]}),
        )
        .await;
    reply.expect_field_error(422, "title");
    reply.expect_field_error(422, "score");
    reply.expect_field_error(422, "evidence[0].url");
    snapshot!("record_validation_problem", reply.body);
}

async fn malformed_bodies_are_problem_details(app: TestApp) {
    let alice = app.person_token("alice");
    let url = app.url("/v1/me/records");
    let send = |body: &'static str, content_type: &'static str| {
        app.http
            .post(&url)
            .bearer_auth(&alice)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let broken = send("{\"kind\": \"course\", ", "application/json")
        .await
        .unwrap();
    assert_eq!(broken.status(), 400);
    assert_eq!(broken.headers()["content-type"], "application/problem+json");

    let trailing = send(
        "{\"kind\": \"course\", \"title\": \"t\"} []",
        "application/json",
    )
    .await
    .unwrap();
    assert_eq!(trailing.status(), 400);

    let not_json = send("kind=course", "application/x-www-form-urlencoded")
        .await
        .unwrap();
    assert_eq!(not_json.status(), 415);
    assert_eq!(
        not_json.headers()["content-type"],
        "application/problem+json"
    );

    let array = send("[]", "application/json").await.unwrap();
    assert_eq!(array.status(), 422);
    // serde would read a struct from an array of its fields: the API takes objects only.
    let positional = send("[\"course\", \"Positional title\"]", "application/json")
        .await
        .unwrap();
    assert_eq!(positional.status(), 422);
    let problem: Value = positional.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "body");
    assert_eq!(
        app.get("/v1/me/records", &alice).await.body["items"],
        json!([])
    );
}

async fn an_oversized_body_is_refused_with_413(app: TestApp) {
    let alice = app.person_token("alice");
    let huge =
        json!({"kind": "course", "title": "t", "notes": "n".repeat(app.settings.max_body_bytes)});
    let reply = app.post("/v1/me/records", &alice, huge).await;
    reply.expect_problem(413);
    assert_eq!(
        app.get("/v1/me/records", &alice).await.body["items"],
        json!([])
    );
}

async fn a_self_declared_record_is_edited_with_merge_patch(app: TestApp) {
    let alice = app.person_token("alice");
    let created = app.post("/v1/me/records", &alice, bls()).await;
    let path = format!("/v1/me/records/{}", created.body["id"].as_str().unwrap());

    let patched = app
        .patch(
            &path,
            &alice,
            json!({"title": "Basic Life Support (adult)", "notes": null, "score": 95}),
        )
        .await;
    patched.expect(200);
    assert_eq!(patched.body["title"], "Basic Life Support (adult)");
    assert_eq!(patched.body["notes"], Value::Null);
    assert_eq!(patched.body["score"], 95.0);
    assert_eq!(
        patched.body["provider_name"], "St Elsewhere NHS Trust",
        "absent fields are kept"
    );
    assert_ne!(patched.header("etag"), created.header("etag"));

    // The merged record is checked as a whole.
    app.patch(
        &path,
        &alice,
        json!({"completed_at": "2028-01-01T00:00:00Z"}),
    )
    .await
    .expect_field_error(422, "completed_at");
    app.patch(&path, &alice, json!({"expires_at": "2025-01-01T00:00:00Z"}))
        .await
        .expect_field_error(422, "expires_at");
    app.patch(&path, &alice, json!({"title": null}))
        .await
        .expect_field_error(422, "title");
    app.patch(&path, &alice, json!({"colour": "red"}))
        .await
        .expect_field_error(422, "colour");
    assert_eq!(
        app.get(&path, &alice).await.body,
        patched.body,
        "refused patches change nothing"
    );

    let hidden = app.patch(&path, &alice, json!({"hidden": true})).await;
    hidden.expect(200);
    assert_eq!(hidden.body["hidden"], true);
}

async fn a_stale_if_match_is_refused_and_changes_nothing(app: TestApp) {
    let alice = app.person_token("alice");
    let created = app.post("/v1/me/records", &alice, bls()).await;
    let path = format!("/v1/me/records/{}", created.body["id"].as_str().unwrap());
    let first_tag = created.header("etag").unwrap().to_owned();

    // Another app edits the record first.
    let other = app
        .http
        .patch(app.url(&path))
        .bearer_auth(&alice)
        .header("if-match", &first_tag)
        .json(&json!({"title": "Edited elsewhere"}))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);

    let stale = app
        .http
        .patch(app.url(&path))
        .bearer_auth(&alice)
        .header("if-match", &first_tag)
        .json(&json!({"title": "Lost update"}))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 412);
    assert_eq!(stale.headers()["content-type"], "application/problem+json");

    let stale_delete = app
        .http
        .delete(app.url(&path))
        .bearer_auth(&alice)
        .header("if-match", &first_tag)
        .send()
        .await
        .unwrap();
    assert_eq!(stale_delete.status(), 412);

    let current = app.get(&path, &alice).await;
    assert_eq!(current.body["title"], "Edited elsewhere");

    let fresh_tag = current.header("etag").unwrap().to_owned();
    let deleted = app
        .http
        .delete(app.url(&path))
        .bearer_auth(&alice)
        .header("if-match", &fresh_tag)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    app.get(&path, &alice).await.expect_problem(404);
}

async fn writers_holding_one_etag_cannot_both_win(app: TestApp) {
    let alice = app.person_token("alice");
    let created = app.post("/v1/me/records", &alice, bls()).await;
    let path = format!("/v1/me/records/{}", created.body["id"].as_str().unwrap());
    let tag = created.header("etag").unwrap().to_owned();
    let bodies = (0..6)
        .map(|n| Some(json!({"title": format!("Edited by app {n}")})))
        .collect();
    let replies = app.racing(Method::PATCH, &path, &alice, &tag, bodies).await;
    exactly_one_wins(&replies, 200);
    let winner = replies.iter().find(|r| r.status == 200).unwrap();
    let current = app.get(&path, &alice).await;
    assert_eq!(current.body["title"], winner.body["title"]);
    // The same for deleting: one delete with the current tag wins.
    let tag = current.header("etag").unwrap().to_owned();
    let replies = app
        .racing(Method::DELETE, &path, &alice, &tag, vec![None; 4])
        .await;
    let gone = replies.iter().filter(|r| r.status == 204).count();
    assert_eq!(
        gone,
        1,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(
        replies
            .iter()
            .all(|r| [204, 404, 412].contains(&r.status.as_u16()))
    );
}

async fn a_passport_holds_at_most_ten_thousand_records(app: TestApp) {
    let alice = app.person_token("alice");
    let id = app.get("/v1/me", &alice).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    support::seed_records(&app, &id, 9_999).await;
    app.post("/v1/me/records", &alice, bls()).await.expect(201);
    let full = app.post("/v1/me/records", &alice, bls()).await;
    full.expect_problem(409);
    assert!(full.body["detail"].as_str().unwrap().contains("10000"));
    // A learning platform's push is refused item by item, saying why.
    let platform = app.org("Platform", "records:write").await;
    app.post(
        "/v1/me/grants",
        &alice,
        json!({"organisation_id": platform.organisation_id, "permission": "write",
        "scope": {"records": "all", "attainments": false}, "purpose": "p",
        "expires_at": (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339()}),
    )
    .await
    .expect(201);
    let pushed = app
        .post(
            "/v1/completions",
            &platform.token,
            json!({"completions": [{"person_id": id, "external_id": "x-1",
            "title": "Fire safety", "completed_at": "2026-02-01T10:00:00Z"}]}),
        )
        .await;
    pushed.expect(200);
    assert_eq!(pushed.body["results"][0]["reason"], "passport_full");
    // Deleting one makes room again.
    let first = app.get("/v1/me/records?limit=1", &alice).await.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.delete(&format!("/v1/me/records/{first}"), &alice)
        .await
        .expect(204);
    app.post("/v1/me/records", &alice, bls()).await.expect(201);
}

async fn lists_are_paginated_and_filtered(app: TestApp) {
    let alice = app.person_token("alice");
    for i in 0..7 {
        let kind = if i % 2 == 0 { "course" } else { "cpd" };
        let body = json!({"kind": kind, "title": format!("Training {i}"), "activity_code": format!("ACT-{}", i % 3), "completed_at": format!("2026-0{}-15T10:00:00Z", i + 1)});
        app.post("/v1/me/records", &alice, body).await.expect(201);
    }
    let mut titles = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/me/records?limit=3&cursor={c}"),
            None => "/v1/me/records?limit=3".to_owned(),
        };
        let page = app.get(&path, &alice).await;
        page.expect(200);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        titles.extend(
            items
                .iter()
                .map(|r| r["title"].as_str().unwrap().to_owned()),
        );
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let expected: Vec<String> = (0..7).rev().map(|i| format!("Training {i}")).collect();
    assert_eq!(titles, expected, "newest first, each record once");

    let cpd = app.get("/v1/me/records?kind=cpd", &alice).await;
    assert_eq!(cpd.body["items"].as_array().unwrap().len(), 3);
    let act = app.get("/v1/me/records?activity_code=ACT-0", &alice).await;
    assert_eq!(act.body["items"].as_array().unwrap().len(), 3);
    let window = app
        .get(
            "/v1/me/records?completed_from=2026-02-01T00:00:00Z&completed_to=2026-04-01T00:00:00Z",
            &alice,
        )
        .await;
    let window_titles: Vec<&str> = window.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    assert_eq!(window_titles, vec!["Training 2", "Training 1"]);

    app.get("/v1/me/records?limit=0", &alice)
        .await
        .expect_field_error(422, "limit");
    app.get("/v1/me/records?limit=201", &alice)
        .await
        .expect_field_error(422, "limit");
    app.get("/v1/me/records?limit=ten", &alice)
        .await
        .expect_field_error(422, "limit");
    app.get("/v1/me/records?cursor=not-a-cursor", &alice)
        .await
        .expect_field_error(422, "cursor");
    app.get("/v1/me/records?kind=seminar", &alice)
        .await
        .expect_field_error(422, "kind");
    app.get("/v1/me/records?completed_from=yesterday", &alice)
        .await
        .expect_field_error(422, "completed_from");
}

async fn pagination_is_stable_while_records_are_added(app: TestApp) {
    let alice = app.person_token("alice");
    for i in 0..6 {
        app.post(
            "/v1/me/records",
            &alice,
            json!({"kind": "course", "title": format!("Old {i}")}),
        )
        .await
        .expect(201);
    }
    let first = app.get("/v1/me/records?limit=2", &alice).await;
    let mut seen: Vec<String> = first.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap().to_owned())
        .collect();
    let mut cursor = first.body["next_cursor"].as_str().map(str::to_owned);

    // Concurrent inserts while the client pages through.
    let inserts = (0..4).map(|i| {
        app.post(
            "/v1/me/records",
            &alice,
            json!({"kind": "course", "title": format!("New {i}")}),
        )
    });
    for reply in futures_util::future::join_all(inserts).await {
        reply.expect(201);
    }
    while let Some(c) = cursor {
        let page = app
            .get(&format!("/v1/me/records?limit=2&cursor={c}"), &alice)
            .await;
        seen.extend(
            page.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["title"].as_str().unwrap().to_owned()),
        );
        cursor = page.body["next_cursor"].as_str().map(str::to_owned);
    }
    let expected: Vec<String> = (0..6).rev().map(|i| format!("Old {i}")).collect();
    assert_eq!(
        seen, expected,
        "no record skipped or repeated; new ones appear before the first page"
    );
}

async fn unknown_or_malformed_record_ids_are_not_found(app: TestApp) {
    let alice = app.person_token("alice");
    app.get(
        "/v1/me/records/0190a000-0000-7000-8000-000000000000",
        &alice,
    )
    .await
    .expect_problem(404);
    app.get("/v1/me/records/not-a-uuid", &alice)
        .await
        .expect_problem(404);
}

on_both_backends!(
    a_passport_holds_at_most_ten_thousand_records,
    writers_holding_one_etag_cannot_both_win,
    a_person_adds_a_record_and_reads_it_back,
    a_person_never_reaches_another_persons_records,
    a_first_request_for_the_list_answers_an_empty_page_and_creates_the_passport,
    an_organisation_token_cannot_use_the_personal_endpoints,
    every_validation_rule_names_its_field_and_changes_nothing,
    several_broken_rules_are_reported_together,
    malformed_bodies_are_problem_details,
    an_oversized_body_is_refused_with_413,
    a_self_declared_record_is_edited_with_merge_patch,
    a_stale_if_match_is_refused_and_changes_nothing,
    lists_are_paginated_and_filtered,
    pagination_is_stable_while_records_are_added,
    unknown_or_malformed_record_ids_are_not_found,
);
