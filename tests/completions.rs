//! Learning platforms push completions: batch, idempotent, issued provenance, corrections and
//! voids, expiry from the activity catalogue.

mod support;

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use support::{OrgClient, TestApp};

fn in_days(days: i64) -> String {
    (Utc::now() + Duration::days(days)).to_rfc3339()
}

struct Person {
    token: String,
    id: String,
}

async fn person(app: &TestApp, subject: &str) -> Person {
    let token = app.person_token(subject);
    let id = app.get("/v1/me", &token).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Person { token, id }
}

async fn share(app: &TestApp, person: &Person, org: &OrgClient, permission: &str) -> String {
    let reply = app
        .post("/v1/me/grants", &person.token, json!({"organisation_id": org.organisation_id, "permission": permission, "scope": {"records": "all", "attainments": false}, "purpose": "training records", "expires_at": in_days(60)}))
        .await;
    reply.expect(201);
    reply.body["id"].as_str().unwrap().to_owned()
}

fn completion(person: &Person, external_id: &str) -> Value {
    json!({
        "person_id": person.id, "external_id": external_id, "title": "Infection prevention and control",
        "kind": "statutory_mandatory", "completed_at": "2026-03-01T10:00:00Z", "result": "passed", "score": 88, "hours": 1.5,
        "evidence": [{"url": "https://learning.example.org/certificates/1"}]
    })
}

async fn push(app: &TestApp, org: &OrgClient, items: Vec<Value>) -> support::Reply {
    app.post("/v1/completions", &org.token, json!({"completions": items}))
        .await
}

fn statuses(reply: &support::Reply) -> Vec<String> {
    reply.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .collect()
}

async fn a_platform_pushes_and_every_outcome_is_reported(app: TestApp) {
    let platform = app.org("E-Learning for All", "records:write").await;
    let alice = person(&app, "alice").await;
    let bob = person(&app, "bob").await; // no grant
    share(&app, &alice, &platform, "write").await;

    let first = push(
        &app,
        &platform,
        vec![completion(&alice, "c-1"), completion(&alice, "c-2")],
    )
    .await;
    first.expect(200);
    assert_eq!(statuses(&first), vec!["created", "created"]);
    snapshot!("push_created", first.body);

    let mut changed = completion(&alice, "c-2");
    changed["score"] = json!(95);
    let mut taken = completion(&bob, "c-1");
    taken["person_id"] = json!(bob.id);
    let mut invalid = completion(&alice, "c-5");
    invalid["completed_at"] = json!("2999-01-01T00:00:00Z");
    invalid["evidence"] = json!([{"url": "http://insecure.example.org"}]);
    let mut wrong_type = completion(&alice, "c-6");
    wrong_type["hours"] = json!("lots");
    let second = push(
        &app,
        &platform,
        vec![
            completion(&alice, "c-1"),                    // identical retry
            changed,                                      // new content
            completion(&alice, "c-3"),                    // new
            completion(&alice, "c-3"),                    // repeated in the batch
            completion(&bob, "c-4"),                      // no grant
            json!({"person_id": "0190a000-0000-7000-8000-000000000000", "external_id": "c-7", "title": "t", "completed_at": "2026-01-01T00:00:00Z"}),
            invalid,
            wrong_type,
            json!({"person_id": alice.id, "external_id": "c-8", "completed_at": "2026-01-01T00:00:00Z"}), // no title, no known code
        ],
    )
    .await;
    second.expect(200);
    assert_eq!(
        statuses(&second),
        vec![
            "unchanged",
            "updated",
            "created",
            "rejected",
            "rejected",
            "rejected",
            "rejected",
            "rejected",
            "rejected"
        ]
    );
    let results = second.body["results"].as_array().unwrap();
    let reasons: Vec<&str> = results
        .iter()
        .map(|r| r["reason"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        reasons,
        vec![
            "",
            "",
            "",
            "duplicate_in_batch",
            "no_write_grant",
            "no_write_grant",
            "invalid",
            "invalid",
            "invalid"
        ]
    );
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["index"], i);
    }
    let fields: Vec<&str> = results[6]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        vec![
            "completions[6].completed_at",
            "completions[6].evidence[0].url"
        ]
    );
    assert_eq!(results[7]["errors"][0]["field"], "completions[7].hours");
    assert_eq!(results[8]["errors"][0]["field"], "completions[8].title");
    assert_eq!(
        results[1]["record_id"],
        first.body["results"][1]["record_id"]
    );

    let taken = push(&app, &platform, vec![taken]).await;
    assert_eq!(taken.body["results"][0]["reason"], "no_write_grant");
    share(&app, &bob, &platform, "write").await;
    let taken = push(
        &app,
        &platform,
        vec![{
            let mut c = completion(&bob, "c-1");
            c["person_id"] = json!(bob.id);
            c
        }],
    )
    .await;
    assert_eq!(taken.body["results"][0]["reason"], "external_id_taken");

    // Alice's passport holds exactly c-1, c-2 (updated) and c-3, all issued.
    let records = app.get("/v1/me/records", &alice.token).await;
    let items = records.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    for record in items {
        assert_eq!(record["provenance"], "issued");
        assert_eq!(record["issuer"]["name"], "E-Learning for All");
        assert_eq!(
            record["issuer"]["organisation_id"],
            platform.organisation_id.as_str()
        );
        assert_eq!(record["provider_name"], "E-Learning for All");
    }
    let c2 = items.iter().find(|r| r["external_id"] == "c-2").unwrap();
    assert_eq!(c2["score"], 95.0);
    let history = app
        .get(
            &format!("/v1/me/records/{}/history", c2["id"].as_str().unwrap()),
            &alice.token,
        )
        .await;
    history.expect(200);
    assert_eq!(history.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(history.body["items"][0]["change"], "updated");
    assert_eq!(history.body["items"][0]["content"]["score"], 88.0);
    assert!(history.body["next_cursor"].is_null());
}

async fn a_batch_of_1000_is_stored_and_a_larger_one_refused(app: TestApp) {
    let platform = app.org("Platform", "records:write").await;
    let alice = person(&app, "alice").await;
    share(&app, &alice, &platform, "write").await;
    let batch: Vec<Value> = (0..1000)
        .map(|i| completion(&alice, &format!("bulk-{i}")))
        .collect();
    let reply = push(&app, &platform, batch.clone()).await;
    reply.expect(200);
    assert!(statuses(&reply).iter().all(|s| s == "created"));
    let retry = push(&app, &platform, batch).await;
    assert!(statuses(&retry).iter().all(|s| s == "unchanged"));

    let too_many: Vec<Value> = (0..1001)
        .map(|i| completion(&alice, &format!("over-{i}")))
        .collect();
    push(&app, &platform, too_many)
        .await
        .expect_field_error(422, "completions");
    let page = app
        .get("/v1/me/records?limit=200&activity_code=none", &alice.token)
        .await;
    assert_eq!(page.body["items"], json!([]));
    // Exactly 1,000 records: five full pages.
    let mut count = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/me/records?limit=200&cursor={c}"),
            None => "/v1/me/records?limit=200".into(),
        };
        let page = app.get(&path, &alice.token).await;
        count += page.body["items"].as_array().unwrap().len();
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(count, 1000);
}

async fn whole_request_problems_write_nothing(app: TestApp) {
    let platform = app.org("Platform", "records:write").await;
    let reader = app.org("Reader", "shared:read").await;
    let alice = person(&app, "alice").await;
    share(&app, &alice, &platform, "write").await;
    share(&app, &alice, &reader, "write").await;
    let batch = json!({"completions": [completion(&alice, "x-1")]});
    app.post("/v1/completions", &reader.token, batch.clone())
        .await
        .expect_problem(403);
    app.post("/v1/completions", &alice.token, batch.clone())
        .await
        .expect_problem(403);
    app.call(
        support::Method::POST,
        "/v1/completions",
        None,
        Some(batch.clone()),
    )
    .await
    .expect_problem(401);
    app.post(
        "/v1/completions",
        &platform.token,
        json!([completion(&alice, "x-1")]),
    )
    .await
    .expect_problem(422);
    app.post("/v1/completions", &platform.token, json!({"items": []}))
        .await
        .expect_field_error(422, "items");
    let malformed = app
        .http
        .post(app.url("/v1/completions"))
        .bearer_auth(&platform.token)
        .header("content-type", "application/json")
        .body("{\"completions\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    assert_eq!(
        app.get("/v1/me/records", &alice.token).await.body["items"],
        json!([])
    );
}

async fn concurrent_duplicate_batches_store_each_completion_once(mut app: TestApp) {
    let platform = app.org("Platform", "records:write").await;
    let alice = person(&app, "alice").await;
    share(&app, &alice, &platform, "write").await;
    let second = app.another_instance().await;
    let batch = json!({"completions": (0..200).map(|i| completion(&alice, &format!("race-{i}"))).collect::<Vec<_>>()});
    let send = |base: String| {
        let http = app.http.clone();
        let token = platform.token.clone();
        let batch = batch.clone();
        async move {
            http.post(format!("{base}/v1/completions"))
                .bearer_auth(token)
                .json(&batch)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let (a, b, c) = tokio::join!(
        send(app.base_url.clone()),
        send(second.clone()),
        send(app.base_url.clone())
    );
    let mut created = 0;
    for i in 0..200 {
        let outcomes: Vec<&str> = [&a, &b, &c]
            .iter()
            .map(|r| r["results"][i]["status"].as_str().unwrap())
            .collect();
        created += outcomes.iter().filter(|s| **s == "created").count();
        assert!(
            outcomes
                .iter()
                .all(|s| *s == "created" || *s == "unchanged"),
            "item {i}: {outcomes:?}"
        );
        let ids: std::collections::HashSet<&str> = [&a, &b, &c]
            .iter()
            .map(|r| r["results"][i]["record_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), 1, "one record per external id");
    }
    assert_eq!(created, 200, "each completion created exactly once");
    let stored = app.get("/v1/me/records?limit=200", &alice.token).await;
    assert_eq!(stored.body["items"].as_array().unwrap().len(), 200);
    assert!(stored.body["next_cursor"].is_null());
}

async fn corrections_and_voids_by_the_issuer_only(app: TestApp) {
    let platform = app.org("Platform", "records:write").await;
    let rival = app.org("Rival platform", "records:write").await;
    let employer = app.org("Employer", "shared:read").await;
    let alice = person(&app, "alice").await;
    share(&app, &alice, &platform, "write").await;
    share(&app, &alice, &rival, "write").await;
    share(&app, &alice, &employer, "read").await;
    push(
        &app,
        &platform,
        vec![completion(&alice, "k-1"), completion(&alice, "k-2")],
    )
    .await
    .expect(200);

    // The employer sees issued records with their issuer.
    let shared = app
        .get(&format!("/v1/people/{}/records", alice.id), &employer.token)
        .await;
    assert_eq!(shared.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(shared.body["items"][0]["provenance"], "issued");
    assert_eq!(shared.body["items"][0]["issuer"]["name"], "Platform");

    let corrected = app
        .patch(
            "/v1/completions/k-1",
            &platform.token,
            json!({"result": "failed", "score": 40}),
        )
        .await;
    corrected.expect(200);
    assert_eq!(corrected.body["result"], "failed");
    app.patch(
        "/v1/completions/k-1",
        &platform.token,
        json!({"score": 400}),
    )
    .await
    .expect_field_error(422, "score");
    app.patch(
        "/v1/completions/k-1",
        &platform.token,
        json!({"hidden": true}),
    )
    .await
    .expect_field_error(422, "hidden");
    app.patch("/v1/completions/k-1", &rival.token, json!({"score": 100}))
        .await
        .expect_problem(404);
    app.post(
        "/v1/completions/k-1/void",
        &rival.token,
        json!({"reason": "not ours"}),
    )
    .await
    .expect_problem(404);
    app.patch(
        "/v1/completions/k-1",
        &employer.token,
        json!({"score": 100}),
    )
    .await
    .expect_problem(403);
    app.patch(
        "/v1/completions/unknown",
        &platform.token,
        json!({"score": 100}),
    )
    .await
    .expect_problem(404);

    let id = corrected.body["id"].as_str().unwrap().to_owned();
    let history = app
        .get(&format!("/v1/me/records/{id}/history"), &alice.token)
        .await;
    assert_eq!(history.body["items"][0]["change"], "corrected");
    assert_eq!(history.body["items"][0]["content"]["result"], "passed");

    app.post(
        "/v1/completions/k-2/void",
        &platform.token,
        json!({"reason": ""}),
    )
    .await
    .expect_field_error(422, "reason");
    let voided = app
        .post(
            "/v1/completions/k-2/void",
            &platform.token,
            json!({"reason": "Issued to the wrong learner"}),
        )
        .await;
    voided.expect(200);
    assert!(voided.body["voided_at"].is_string());
    let again = app
        .post(
            "/v1/completions/k-2/void",
            &platform.token,
            json!({"reason": "again"}),
        )
        .await;
    assert_eq!(again.body["voided_at"], voided.body["voided_at"]);
    app.patch("/v1/completions/k-2", &platform.token, json!({"score": 1}))
        .await
        .expect_problem(409);
    let repush = push(&app, &platform, vec![completion(&alice, "k-2")]).await;
    assert_eq!(repush.body["results"][0]["reason"], "voided");

    // The owner keeps the voided record, marked; the employer no longer sees it.
    let own = app.get("/v1/me/records", &alice.token).await;
    assert_eq!(own.body["items"].as_array().unwrap().len(), 2);
    let shared = app
        .get(&format!("/v1/people/{}/records", alice.id), &employer.token)
        .await;
    let titles: Vec<&str> = shared.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["external_id"].as_str().unwrap())
        .collect();
    assert_eq!(titles, vec!["k-1"]);

    // Without a live write grant, nothing more can be written.
    let grants = app.get("/v1/me/grants?status=live", &alice.token).await;
    for grant in grants.body["items"].as_array().unwrap() {
        if grant["organisation_id"] == platform.organisation_id.as_str() {
            app.delete(
                &format!("/v1/me/grants/{}", grant["id"].as_str().unwrap()),
                &alice.token,
            )
            .await
            .expect(200);
        }
    }
    app.patch("/v1/completions/k-1", &platform.token, json!({"score": 99}))
        .await
        .expect_problem(404);
    let refused = push(&app, &platform, vec![completion(&alice, "k-3")]).await;
    assert_eq!(refused.body["results"][0]["reason"], "no_write_grant");
    support::eventually("the refused push is in alice's log", || async {
        app.get("/v1/me/access-events?limit=200", &alice.token)
            .await
            .body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "completions.push" && e["allowed"] == false)
    })
    .await;
}

async fn the_owner_can_hide_but_never_alter_an_issued_record(app: TestApp) {
    let platform = app.org("Platform", "records:write").await;
    let alice = person(&app, "alice").await;
    share(&app, &alice, &platform, "write").await;
    let pushed = push(&app, &platform, vec![completion(&alice, "o-1")]).await;
    let id = pushed.body["results"][0]["record_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v1/me/records/{id}");
    app.patch(&path, &alice.token, json!({"title": "Better title"}))
        .await
        .expect_field_error(422, "title");
    app.patch(&path, &alice.token, json!({"score": 100, "hidden": true}))
        .await
        .expect_field_error(422, "score");
    app.delete(&path, &alice.token).await.expect_problem(409);
    let hidden = app
        .patch(&path, &alice.token, json!({"hidden": true}))
        .await;
    hidden.expect(200);
    assert_eq!(hidden.body["hidden"], true);
    assert_eq!(hidden.body["score"], 88.0);
}

async fn expiry_follows_from_the_catalogue(app: TestApp) {
    let admin = app.org("Admin", "admin").await;
    let platform = app.org("Platform", "records:write").await;
    app.call(
        support::Method::PUT,
        "/v1/activities/CSTF-IPC-L2",
        Some(&admin.token),
        Some(json!({"title": "Infection Prevention and Control (Level 2)", "kind": "statutory_mandatory", "level": "Level 2", "refresher_months": 12, "publisher": "Skills for Health", "source": "test"})),
    )
    .await
    .expect(201);
    let alice = person(&app, "alice").await;
    share(&app, &alice, &platform, "write").await;
    let pushed = push(&app, &platform, vec![json!({"person_id": alice.id, "external_id": "ipc-1", "activity_code": "CSTF-IPC-L2", "completed_at": "2026-02-28T09:30:00Z", "result": "passed"})]).await;
    assert_eq!(statuses(&pushed), vec!["created"]);
    let id = pushed.body["results"][0]["record_id"].as_str().unwrap();
    let record = app.get(&format!("/v1/me/records/{id}"), &alice.token).await;
    assert_eq!(
        record.body["title"],
        "Infection Prevention and Control (Level 2)"
    );
    assert_eq!(record.body["kind"], "statutory_mandatory");
    assert_eq!(record.body["expires_at"], "2027-02-28T09:30:00Z");

    // An explicit expiry wins; an unknown code gets none.
    let explicit = push(&app, &platform, vec![json!({"person_id": alice.id, "external_id": "ipc-2", "activity_code": "CSTF-IPC-L2", "completed_at": "2026-02-28T09:30:00Z", "expires_at": "2026-08-28T09:30:00Z"})]).await;
    let id = explicit.body["results"][0]["record_id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/v1/me/records/{id}"), &alice.token)
            .await
            .body["expires_at"],
        "2026-08-28T09:30:00Z"
    );

    // A correction of the completion date moves the derived expiry with it.
    let corrected = app
        .patch(
            "/v1/completions/ipc-1",
            &platform.token,
            json!({"completed_at": "2026-03-15T09:30:00Z"}),
        )
        .await;
    assert_eq!(corrected.body["expires_at"], "2027-03-15T09:30:00Z");

    // Self-declared records follow the catalogue too.
    let own = app.post("/v1/me/records", &alice.token, json!({"kind": "statutory_mandatory", "title": "IPC", "activity_code": "CSTF-IPC-L2", "completed_at": "2026-01-31T00:00:00Z"})).await;
    assert_eq!(own.body["expires_at"], "2027-01-31T00:00:00Z");
}

/// The keys of a JSON object, sorted.
fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

async fn a_write_grant_writes_and_never_reads(app: TestApp) {
    let platform = app.org("Platform", "records:write").await;
    let alice = person(&app, "alice").await;
    share(&app, &alice, &platform, "write").await;
    let pushed = push(
        &app,
        &platform,
        vec![completion(&alice, "w-1"), completion(&alice, "w-2")],
    )
    .await;
    pushed.expect(200);
    for result in pushed.body["results"].as_array().unwrap() {
        assert_eq!(
            keys(result),
            [
                "detail",
                "external_id",
                "index",
                "reason",
                "record_id",
                "status"
            ]
        );
    }
    // Alice hides one; nothing the issuer is answered says so.
    let id = pushed.body["results"][0]["record_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.patch(
        &format!("/v1/me/records/{id}"),
        &alice.token,
        json!({"hidden": true}),
    )
    .await
    .expect(200);
    let issued_keys = [
        "activity_code",
        "completed_at",
        "created_at",
        "evidence",
        "expires_at",
        "external_id",
        "hours",
        "id",
        "kind",
        "person_id",
        "provider_name",
        "result",
        "score",
        "started_at",
        "title",
        "updated_at",
        "voided_at",
    ];
    let corrected = app
        .patch("/v1/completions/w-1", &platform.token, json!({"score": 90}))
        .await;
    corrected.expect(200);
    assert_eq!(keys(&corrected.body), issued_keys);
    assert_eq!(corrected.body["score"], 90.0);
    let voided = app
        .post(
            "/v1/completions/w-1/void",
            &platform.token,
            json!({"reason": "duplicate"}),
        )
        .await;
    voided.expect(200);
    assert_eq!(keys(&voided.body), issued_keys);
    assert!(voided.body["voided_at"].is_string());
    // The owner still sees the record as hidden.
    let own = app.get(&format!("/v1/me/records/{id}"), &alice.token).await;
    assert_eq!(own.body["hidden"], true);
}

async fn a_record_keeps_at_most_500_versions(app: TestApp) {
    let platform = app.org("Platform", "records:write").await;
    let alice = person(&app, "alice").await;
    share(&app, &alice, &platform, "write").await;
    let pushed = push(&app, &platform, vec![completion(&alice, "v-1")]).await;
    let id = pushed.body["results"][0]["record_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // 499 earlier versions straight into its history, then one more through the API.
    {
        use diesel::prelude::*;
        use learning_passport::db::ids::{RecordId, RecordVersionId};
        use learning_passport::db::schema::record_history;
        use learning_passport::db::types::{Json, Timestamp};
        let (db, record) = (app.db.clone(), RecordId(id.parse().unwrap()));
        actix_web::rt::task::spawn_blocking(move || {
            let rows: Vec<_> = (0..499)
                .map(|n| {
                    (
                        record_history::id.eq(RecordVersionId::new()),
                        record_history::record_id.eq(record),
                        record_history::version.eq(-n),
                        record_history::content.eq(Json(json!({}))),
                        record_history::change.eq("updated"),
                        record_history::changed_at.eq(Timestamp::now()),
                    )
                })
                .collect();
            let mut conn = db.get().unwrap();
            learning_passport::on_backend!(&mut *conn, |c| diesel::insert_into(
                record_history::table
            )
            .values(&rows)
            .execute(c))
            .unwrap();
        })
        .await
        .unwrap();
    }
    app.patch("/v1/completions/v-1", &platform.token, json!({"score": 70}))
        .await
        .expect(200);
    let refused = app
        .patch("/v1/completions/v-1", &platform.token, json!({"score": 71}))
        .await;
    refused.expect_problem(409);
    let mut again = completion(&alice, "v-1");
    again["score"] = json!(72);
    let repush = push(&app, &platform, vec![again]).await;
    assert_eq!(repush.body["results"][0]["reason"], "too_many_versions");
    // Voiding is always possible.
    app.post(
        "/v1/completions/v-1/void",
        &platform.token,
        json!({"reason": "replaced"}),
    )
    .await
    .expect(200);
    let record = app.get(&format!("/v1/me/records/{id}"), &alice.token).await;
    assert_eq!(record.body["score"], 70.0);
    assert!(record.body["voided_at"].is_string());
}

on_both_backends!(
    a_record_keeps_at_most_500_versions,
    a_write_grant_writes_and_never_reads,
    a_platform_pushes_and_every_outcome_is_reported,
    a_batch_of_1000_is_stored_and_a_larger_one_refused,
    whole_request_problems_write_nothing,
    concurrent_duplicate_batches_store_each_completion_once,
    corrections_and_voids_by_the_issuer_only,
    the_owner_can_hide_but_never_alter_an_issued_record,
    expiry_follows_from_the_catalogue,
);
