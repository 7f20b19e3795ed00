//! Evidenced attainment of a framework's outcomes: a person's claims and their evidence,
//! verification by an organisation with a write grant, what an employer sees through a grant,
//! and progress through a framework.

mod support;

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use support::{OrgClient, TestApp};

fn in_days(days: i64) -> String {
    (Utc::now() + Duration::days(days)).to_rfc3339()
}

struct Setup {
    alice: String,
    alice_id: String,
    placement: String,
    course: String,
}

async fn setup(app: &TestApp) -> Setup {
    let admin = app.org("Admin", "admin").await;
    support::publish_example_framework(app, &admin.token).await;
    let alice = app.person_token("alice");
    let alice_id = app.get("/v1/me", &alice).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let placement = app
        .post(
            "/v1/me/records",
            &alice,
            json!({"kind": "placement", "title": "Six months in a Ugandan district hospital"}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let course = app
        .post(
            "/v1/me/records",
            &alice,
            json!({"kind": "course", "title": "Tropical medicine"}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Setup {
        alice,
        alice_id,
        placement,
        course,
    }
}

fn claim(setup: &Setup, outcome: &str, level: i32) -> Value {
    json!({
        "framework": {"code": "dghp-lof-example", "version": "0.1-example"},
        "outcome_code": outcome, "level": level, "achieved_on": "2026-05-01",
        "reflection": "Worked with the ward team on a shared improvement plan.",
        "evidence": {"record_ids": [setup.placement, setup.course], "links": [{"url": "https://portfolio.example.org/entry/9", "description": "supervisor's report"}]}
    })
}

async fn grant(
    app: &TestApp,
    setup: &Setup,
    org: &OrgClient,
    permission: &str,
    records: Value,
    attainments: bool,
) {
    app.post("/v1/me/grants", &setup.alice, json!({"organisation_id": org.organisation_id, "permission": permission, "scope": {"records": records, "attainments": attainments}, "purpose": "p", "expires_at": in_days(30)}))
        .await
        .expect(201);
}

async fn a_person_records_evidences_and_edits_attainments(app: TestApp) {
    let s = setup(&app).await;
    let created = app
        .post("/v1/me/attainments", &s.alice, claim(&s, "EX-PART-01", 2))
        .await;
    created.expect(201);
    assert_eq!(created.body["status"], "self_assessed");
    assert_eq!(created.body["domain_code"], "EX-PART");
    snapshot!("attainment_created", created.body);
    let path = format!(
        "/v1/me/attainments/{}",
        created.body["id"].as_str().unwrap()
    );

    let cases = vec![
        (
            json!({"framework": {"code": "nope", "version": "1"}}),
            "framework",
        ),
        (json!({"outcome_code": "NOPE-1"}), "outcome_code"),
        (json!({"level": 5}), "level"),
        (json!({"level": 0}), "level"),
        (json!({"achieved_on": "2999-01-01"}), "achieved_on"),
        (json!({"achieved_on": "yesterday"}), "achieved_on"),
        (
            json!({"evidence": {"record_ids": [], "links": [{"url": "http://x.example.org"}]}}),
            "evidence.links[0].url",
        ),
        (json!({"colour": "red"}), "colour"),
        // The documented length holds for the text as sent, before it is trimmed.
        (
            json!({"reflection": format!("{} ", "r".repeat(5000))}),
            "reflection",
        ),
    ];
    for (change, field) in cases {
        let mut body = claim(&s, "EX-PART-02", 1);
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        app.post("/v1/me/attainments", &s.alice, body)
            .await
            .expect_field_error(422, field);
    }
    // Someone else's record is not evidence.
    let bob = app.person_token("bob");
    let bobs = app
        .post(
            "/v1/me/records",
            &bob,
            json!({"kind": "course", "title": "Bob's"}),
        )
        .await
        .body["id"]
        .clone();
    let mut stolen = claim(&s, "EX-PART-02", 1);
    stolen["evidence"]["record_ids"] = json!([s.placement, bobs]);
    app.post("/v1/me/attainments", &s.alice, stolen)
        .await
        .expect_field_error(422, "evidence.record_ids[1]");
    assert_eq!(
        app.get("/v1/me/attainments", &s.alice).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Bob reaches none of it.
    app.get(&path, &bob).await.expect_problem(404);
    app.patch(&path, &bob, json!({"level": 1}))
        .await
        .expect_problem(404);
    app.delete(&path, &bob).await.expect_problem(404);

    let tag = created.header("etag").unwrap().to_owned();
    let edited = app
        .http
        .patch(app.url(&path))
        .bearer_auth(&s.alice)
        .header("if-match", &tag)
        .json(&json!({"level": 3, "reflection": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(edited.status(), 200);
    let stale = app
        .http
        .patch(app.url(&path))
        .bearer_auth(&s.alice)
        .header("if-match", &tag)
        .json(&json!({"level": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 412);
    // Two apps editing at once with the same tag: one wins, the other is refused.
    let tag = app
        .get(&path, &s.alice)
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    let bodies = vec![
        Some(json!({"level": 2})),
        Some(json!({"level": 1})),
        Some(json!({"level": 2})),
    ];
    let replies = app
        .racing(support::Method::PATCH, &path, &s.alice, &tag, bodies)
        .await;
    support::exactly_one_wins(&replies, 200);
    let tag = app
        .get(&path, &s.alice)
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    app.http
        .patch(app.url(&path))
        .bearer_auth(&s.alice)
        .header("if-match", &tag)
        .json(&json!({"level": 3}))
        .send()
        .await
        .unwrap();
    app.patch(&path, &s.alice, json!({"outcome_code": "EX-LEAD-01"}))
        .await
        .expect_field_error(422, "outcome_code");
    let current = app.get(&path, &s.alice).await;
    assert_eq!(current.body["level"], 3);
    assert_eq!(current.body["reflection"], Value::Null);

    let filtered = app
        .get(
            "/v1/me/attainments?framework=dghp-lof-example&domain=EX-PART&status=self_assessed",
            &s.alice,
        )
        .await;
    assert_eq!(filtered.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.get("/v1/me/attainments?domain=EX-LEAD", &s.alice)
            .await
            .body["items"],
        json!([])
    );

    app.delete(&path, &s.alice).await.expect(204);
    app.get(&path, &s.alice).await.expect_problem(404);
}

async fn only_an_organisation_with_a_write_grant_verifies(app: TestApp) {
    let s = setup(&app).await;
    let host = app.org("Host hospital", "records:write").await;
    let reader = app.org("Reader", "shared:read records:write").await;
    let stranger = app.org("Stranger", "records:write").await;
    let no_attainments = app.org("Records only", "records:write").await;
    let unscoped = app.org("Unscoped", "shared:read").await;
    grant(&app, &s, &host, "write", json!("all"), true).await;
    grant(&app, &s, &reader, "read", json!("all"), true).await;
    grant(&app, &s, &no_attainments, "write", json!("all"), false).await;
    grant(&app, &s, &unscoped, "write", json!("all"), true).await;
    let attainment = app
        .post(
            "/v1/me/attainments",
            &s.alice,
            claim(&s, "EX-CONTEXT-01", 2),
        )
        .await;
    let id = attainment.body["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/attainments/{id}/verification");
    let sign_off = json!({"assessor_name": "Dr A. Mensah", "assessor_role": "Placement supervisor", "level": 2, "comment": "Consistently adapted practice."});

    app.post(&path, &reader.token, sign_off.clone())
        .await
        .expect_problem(404);
    app.post(&path, &stranger.token, sign_off.clone())
        .await
        .expect_problem(404);
    app.post(&path, &no_attainments.token, sign_off.clone())
        .await
        .expect_problem(404);
    app.post(&path, &unscoped.token, sign_off.clone())
        .await
        .expect_problem(403);
    app.post(&path, &s.alice, sign_off.clone())
        .await
        .expect_problem(403);
    app.post(
        "/v1/attainments/0190a000-0000-7000-8000-000000000000/verification",
        &host.token,
        sign_off.clone(),
    )
    .await
    .expect_problem(404);
    app.post(
        &path,
        &host.token,
        json!({"assessor_name": "", "assessor_role": "r", "level": 2}),
    )
    .await
    .expect_field_error(422, "assessor_name");
    app.post(
        &path,
        &host.token,
        json!({"assessor_name": "n", "assessor_role": "r", "level": 7}),
    )
    .await
    .expect_field_error(422, "level");
    assert_eq!(
        app.get(&format!("/v1/me/attainments/{id}"), &s.alice)
            .await
            .body["status"],
        "self_assessed"
    );

    let verified = app.post(&path, &host.token, sign_off).await;
    verified.expect(200);
    // The verifier is answered what it wrote, nothing of the attainment: a write grant does not
    // read the reflection, the evidence or other organisations' assessments.
    let mut keys: Vec<&String> = verified.body.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["attainment_id", "verification"]);
    assert_eq!(verified.body["attainment_id"], id.as_str());
    assert_eq!(
        verified.body["verification"]["organisation_name"],
        "Host hospital"
    );
    assert_eq!(verified.body["verification"]["level"], 2);
    snapshot!("attainment_verified", verified.body);
    assert_eq!(
        app.get(&format!("/v1/me/attainments/{id}"), &s.alice)
            .await
            .body["status"],
        "verified"
    );

    // An edit by the person returns it to self-assessed; the verification stays in its history.
    let edited = app
        .patch(
            &format!("/v1/me/attainments/{id}"),
            &s.alice,
            json!({"level": 3}),
        )
        .await;
    assert_eq!(edited.body["status"], "self_assessed");
    assert_eq!(edited.body["verification"], Value::Null);
    assert_eq!(
        edited.body["verification_history"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let refused_verifies = || async {
        app.get("/v1/me/access-events?limit=50", &s.alice)
            .await
            .body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "attainments.verify" && e["allowed"] == false)
            .count()
    };
    support::eventually("the refused verifications are logged", || async {
        refused_verifies().await == 3
    })
    .await;
    let log = app.get("/v1/me/access-events?limit=50", &s.alice).await;
    let verifies: Vec<&Value> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "attainments.verify")
        .collect();
    assert_eq!(verifies.iter().filter(|e| e["allowed"] == true).count(), 1);
    assert_eq!(verifies.iter().filter(|e| e["allowed"] == false).count(), 3);
}

async fn a_passport_holds_at_most_5000_attainments(app: TestApp) {
    let s = setup(&app).await;
    {
        use diesel::prelude::*;
        use learning_passport::db::ids::{AttainmentId, PersonId};
        use learning_passport::db::schema::attainments as a;
        use learning_passport::db::types::{Json, Timestamp};
        let (db, person) = (app.db.clone(), PersonId(s.alice_id.parse().unwrap()));
        actix_web::rt::task::spawn_blocking(move || {
            let day = chrono::NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
            let rows: Vec<_> = (0..4_999)
                .map(|_| {
                    (
                        a::id.eq(AttainmentId::new()),
                        a::person_id.eq(person),
                        a::framework_code.eq("dghp-lof-example"),
                        a::framework_version.eq("0.1-example"),
                        a::outcome_code.eq("EX-CONTEXT-01"),
                        a::domain_code.eq("EX-CONTEXT"),
                        a::level.eq(1),
                        a::achieved_on.eq(day),
                        a::evidence.eq(Json(json!({"record_ids": [], "links": []}))),
                        a::status.eq("self_assessed"),
                        a::created_at.eq(Timestamp::now()),
                        a::updated_at.eq(Timestamp::now()),
                    )
                })
                .collect();
            let mut conn = db.get().unwrap();
            for chunk in rows.chunks(1000) {
                learning_passport::on_backend!(&mut *conn, |c| diesel::insert_into(a::table)
                    .values(chunk)
                    .execute(c))
                .unwrap();
            }
        })
        .await
        .unwrap();
    }
    app.post(
        "/v1/me/attainments",
        &s.alice,
        claim(&s, "EX-CONTEXT-01", 2),
    )
    .await
    .expect(201);
    app.post(
        "/v1/me/attainments",
        &s.alice,
        claim(&s, "EX-CONTEXT-01", 2),
    )
    .await
    .expect_problem(409);
}

async fn an_employer_sees_verified_attainments_through_a_grant(app: TestApp) {
    let s = setup(&app).await;
    let host = app.org("Host hospital", "records:write").await;
    let employer = app.org("Employer", "shared:read").await;
    let records_only = app.org("Records only", "shared:read").await;
    grant(&app, &s, &host, "write", json!("all"), true).await;
    // The employer sees attainments, but of the records only placements.
    grant(
        &app,
        &s,
        &employer,
        "read",
        json!({"kinds": ["placement"]}),
        true,
    )
    .await;
    grant(&app, &s, &records_only, "read", json!("all"), false).await;
    let attainment = app
        .post("/v1/me/attainments", &s.alice, claim(&s, "EX-PART-01", 2))
        .await;
    let id = attainment.body["id"].as_str().unwrap();
    app.post(
        &format!("/v1/attainments/{id}/verification"),
        &host.token,
        json!({"assessor_name": "Dr A. Mensah", "assessor_role": "Supervisor", "level": 2}),
    )
    .await
    .expect(200);

    let shared = app
        .get(
            &format!("/v1/people/{}/attainments", s.alice_id),
            &employer.token,
        )
        .await;
    shared.expect(200);
    let item = &shared.body["items"][0];
    assert_eq!(item["status"], "verified");
    assert_eq!(
        item["evidence"]["record_ids"],
        json!([s.placement]),
        "the course is outside the record scope"
    );
    assert_eq!(item["evidence"]["links"].as_array().unwrap().len(), 1);
    app.get(
        &format!("/v1/people/{}/attainments", s.alice_id),
        &records_only.token,
    )
    .await
    .expect_problem(404);
}

async fn progress_through_a_framework(app: TestApp) {
    let s = setup(&app).await;
    let host = app.org("Host hospital", "records:write").await;
    grant(&app, &s, &host, "write", json!("all"), true).await;
    app.post("/v1/me/attainments", &s.alice, claim(&s, "EX-PART-01", 1))
        .await
        .expect(201);
    let higher = app
        .post("/v1/me/attainments", &s.alice, claim(&s, "EX-PART-01", 3))
        .await;
    app.post(
        "/v1/me/attainments",
        &s.alice,
        claim(&s, "EX-REFLECT-02", 2),
    )
    .await
    .expect(201);
    app.post(
        &format!(
            "/v1/attainments/{}/verification",
            higher.body["id"].as_str().unwrap()
        ),
        &host.token,
        json!({"assessor_name": "n", "assessor_role": "r", "level": 2}),
    )
    .await
    .expect(200);

    let progress = app
        .get(
            "/v1/me/frameworks/dghp-lof-example/0.1-example/progress",
            &s.alice,
        )
        .await;
    progress.expect(200);
    assert_eq!(
        (
            progress.body["outcomes"].as_i64(),
            progress.body["attained"].as_i64(),
            progress.body["verified"].as_i64()
        ),
        (Some(7), Some(2), Some(1))
    );
    let part = &progress.body["domains"][0];
    assert_eq!(part["code"], "EX-PART");
    assert_eq!(part["items"][0]["level"], 3);
    assert_eq!(part["items"][0]["verified_level"], 2);
    assert_eq!(part["items"][1]["level"], Value::Null);
    snapshot!("progress", progress.body);
    app.get("/v1/me/frameworks/nope/1/progress", &s.alice)
        .await
        .expect_problem(404);
}

on_both_backends!(
    a_passport_holds_at_most_5000_attainments,
    a_person_records_evidences_and_edits_attainments,
    only_an_organisation_with_a_write_grant_verifies,
    an_employer_sees_verified_attainments_through_a_grant,
    progress_through_a_framework,
);
