//! Employer compliance checks: requirement profiles and gap analysis of shared passports.

mod support;

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use support::{Method, OrgClient, TestApp};

fn at(offset: Duration) -> String {
    (Utc::now() + offset).to_rfc3339()
}

struct World {
    employer: OrgClient,
    platform: OrgClient,
    host: OrgClient,
}

async fn world(app: &TestApp) -> World {
    let admin = app.org("Admin", "admin").await;
    for (code, title, kind) in [
        ("FIRE", "Fire safety", "statutory_mandatory"),
        ("BLS", "Basic life support", "statutory_mandatory"),
        ("ILS", "Immediate life support", "statutory_mandatory"),
        ("IG", "Information governance", "statutory_mandatory"),
        ("SEPSIS", "Sepsis course", "course"),
    ] {
        app.call(Method::PUT, &format!("/v1/activities/{code}"), Some(&admin.token), Some(json!({"title": title, "kind": kind, "refresher_months": null, "publisher": "Test"})))
            .await
            .expect(201);
    }
    support::publish_example_framework(app, &admin.token).await;
    World {
        employer: app.org("Employer", "shared:read").await,
        platform: app.org("Platform", "records:write").await,
        host: app.org("Host", "records:write").await,
    }
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

async fn grant(
    app: &TestApp,
    person: &Person,
    org: &OrgClient,
    permission: &str,
    records: Value,
    attainments: bool,
) -> String {
    let reply = app
        .post("/v1/me/grants", &person.token, json!({"organisation_id": org.organisation_id, "permission": permission, "scope": {"records": records, "attainments": attainments}, "purpose": "p", "expires_at": at(Duration::days(60))}))
        .await;
    reply.expect(201);
    reply.body["id"].as_str().unwrap().to_owned()
}

/// A self-declared record with an activity code; times are offsets from now.
#[allow(clippy::too_many_arguments)]
async fn record(
    app: &TestApp,
    person: &Person,
    code: &str,
    kind: &str,
    completed: Duration,
    expires: Option<Duration>,
    result: &str,
    hours: Option<f64>,
) -> String {
    let mut body = json!({"kind": kind, "title": code, "activity_code": code, "completed_at": at(completed), "result": result});
    if let Some(e) = expires {
        body["expires_at"] = json!(at(e));
    }
    if let Some(h) = hours {
        body["hours"] = json!(h);
    }
    let reply = app.post("/v1/me/records", &person.token, body).await;
    reply.expect(201);
    reply.body["id"].as_str().unwrap().to_owned()
}

async fn profile(app: &TestApp, org: &OrgClient, requirements: Value) -> String {
    let reply = app
        .post(
            "/v1/requirement-profiles",
            &org.token,
            json!({"name": "Registered nurse, band 5", "requirements": requirements}),
        )
        .await;
    reply.expect(201);
    reply.body["id"].as_str().unwrap().to_owned()
}

async fn check(
    app: &TestApp,
    org: &OrgClient,
    person: &Person,
    profile: &str,
    window: i64,
) -> Value {
    let reply = app
        .get(
            &format!(
                "/v1/people/{}/compliance?profile={profile}&expiring_within_days={window}",
                person.id
            ),
            &org.token,
        )
        .await;
    reply.expect(200);
    reply.body
}

fn statuses(answer: &Value) -> Vec<String> {
    answer["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .collect()
}

async fn profiles_are_validated_and_private_to_their_organisation(app: TestApp) {
    let w = world(&app).await;
    let other = app.org("Other employer", "shared:read").await;
    let reqs = json!([{"type": "activity", "activity_codes": ["FIRE"], "max_age_days": 365, "issued_only": false}, {"type": "hours", "kind": "cpd", "hours": 35, "within_days": 1095},
                      {"type": "outcome", "framework": {"code": "dghp-lof-example", "version": "0.1-example"}, "outcome_code": "EX-PART-01", "min_level": 2, "verified_only": true}]);
    let created = app
        .post(
            "/v1/requirement-profiles",
            &w.employer.token,
            json!({"name": "Registered nurse, band 5", "requirements": reqs}),
        )
        .await;
    created.expect(201);
    snapshot!("requirement_profile", created.body);
    let path = format!(
        "/v1/requirement-profiles/{}",
        created.body["id"].as_str().unwrap()
    );
    app.get(&path, &w.employer.token).await.expect(200);
    app.get(&path, &other.token).await.expect_problem(404);
    app.delete(&path, &other.token).await.expect_problem(404);
    assert_eq!(
        app.get("/v1/requirement-profiles", &other.token).await.body["items"],
        json!([])
    );
    app.get("/v1/requirement-profiles", &w.platform.token)
        .await
        .expect_problem(403);
    app.get("/v1/requirement-profiles", &app.person_token("alice"))
        .await
        .expect_problem(403);

    let bad = |requirement: Value| json!({"name": "x", "requirements": [requirement]});
    let cases = vec![
        (
            bad(json!({"type": "activity", "activity_codes": ["NOPE"]})),
            "requirements[0].activity_codes[0]",
        ),
        (
            bad(json!({"type": "activity", "activity_codes": []})),
            "requirements[0].activity_codes",
        ),
        (
            bad(json!({"type": "activity", "activity_codes": ["FIRE"], "max_age_days": 0})),
            "requirements[0].max_age_days",
        ),
        (
            bad(json!({"type": "hours", "kind": "cpd", "hours": 0, "within_days": 365})),
            "requirements[0].hours",
        ),
        (
            bad(
                json!({"type": "outcome", "framework": {"code": "dghp-lof-example", "version": "0.1-example"}, "outcome_code": "NOPE", "min_level": 1}),
            ),
            "requirements[0].outcome_code",
        ),
        (
            bad(
                json!({"type": "outcome", "framework": {"code": "dghp-lof-example", "version": "0.1-example"}, "outcome_code": "EX-PART-01", "min_level": 9}),
            ),
            "requirements[0].min_level",
        ),
        (
            bad(
                json!({"type": "outcome", "framework": {"code": "nope", "version": "1"}, "outcome_code": "EX-PART-01", "min_level": 1}),
            ),
            "requirements[0].framework",
        ),
        (bad(json!({"type": "vibes"})), "requirements[0]"),
        (
            json!({"name": "", "requirements": [{"type": "activity", "activity_codes": ["FIRE"]}]}),
            "name",
        ),
        (json!({"name": "x", "requirements": []}), "requirements"),
    ];
    for (body, field) in cases {
        let reply = app
            .post("/v1/requirement-profiles", &w.employer.token, body.clone())
            .await;
        assert_eq!(reply.status.as_u16(), 422, "{body}: {:#}", reply.body);
        let fields: Vec<&str> = reply.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(
            fields.iter().any(|f| f.starts_with(field)),
            "{body} should name {field}: {fields:?}"
        );
    }
    assert_eq!(
        app.get("/v1/requirement-profiles", &w.employer.token)
            .await
            .body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let tag = created.header("etag").unwrap().to_owned();
    let replaced = app.http.put(app.url(&path)).bearer_auth(&w.employer.token).header("if-match", &tag).json(&json!({"name": "Renamed", "requirements": [{"type": "activity", "activity_codes": ["BLS"]}]})).send().await.unwrap();
    assert_eq!(replaced.status(), 200);
    let stale = app.http.put(app.url(&path)).bearer_auth(&w.employer.token).header("if-match", &tag).json(&json!({"name": "Lost", "requirements": [{"type": "activity", "activity_codes": ["BLS"]}]})).send().await.unwrap();
    assert_eq!(stale.status(), 412);
    // Two of the employer's apps replacing it at once with the same tag: one wins.
    let tag = app
        .get(&path, &w.employer.token)
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    let bodies = (0..5)
        .map(|n| Some(json!({"name": format!("Version {n}"), "requirements": [{"type": "activity", "activity_codes": ["BLS"]}]})))
        .collect();
    let replies = app
        .racing(support::Method::PUT, &path, &w.employer.token, &tag, bodies)
        .await;
    support::exactly_one_wins(&replies, 200);
    app.delete(&path, &w.employer.token).await.expect(204);
    app.get(&path, &w.employer.token).await.expect_problem(404);
}

async fn each_status_at_its_boundaries(app: TestApp) {
    let w = world(&app).await;
    let alice = person(&app, "alice").await;
    grant(&app, &alice, &w.employer, "read", json!("all"), true).await;
    let year = Duration::days(365);
    record(
        &app,
        &alice,
        "FIRE",
        "statutory_mandatory",
        -year,
        Some(Duration::hours(-1)),
        "passed",
        None,
    )
    .await; // expired an hour ago
    record(
        &app,
        &alice,
        "BLS",
        "statutory_mandatory",
        -year,
        Some(Duration::days(1)),
        "passed",
        None,
    )
    .await; // expires tomorrow
    record(
        &app,
        &alice,
        "IG",
        "statutory_mandatory",
        -Duration::days(100),
        Some(Duration::days(30) - Duration::minutes(5)),
        "passed",
        None,
    )
    .await; // just within 30 days
    record(
        &app,
        &alice,
        "SEPSIS",
        "course",
        -Duration::days(100),
        Some(Duration::days(30) + Duration::hours(2)),
        "passed",
        None,
    )
    .await; // just beyond 30 days
    let p = profile(
        &app,
        &w.employer,
        json!([
            {"type": "activity", "activity_codes": ["FIRE"]},
            {"type": "activity", "activity_codes": ["BLS"]},
            {"type": "activity", "activity_codes": ["IG"]},
            {"type": "activity", "activity_codes": ["SEPSIS"]},
            {"type": "activity", "activity_codes": ["ILS"]},
        ]),
    )
    .await;
    let answer = check(&app, &w.employer, &alice, &p, 30).await;
    assert_eq!(
        statuses(&answer),
        vec!["expired", "expiring", "expiring", "met", "missing"]
    );
    assert_eq!(answer["status"], "missing");
    assert_eq!(answer["person_display_name"], "Person alice");
    assert!(answer["requirements"][0]["record_ids"][0].is_string());
    snapshot!(
        "compliance",
        json!({"status": answer["status"], "requirements": answer["requirements"].as_array().unwrap().iter().map(|r| json!({"index": r["index"], "status": r["status"], "outside_scope": r["outside_scope"]})).collect::<Vec<_>>()})
    );
    // The window decides what is expiring.
    assert_eq!(
        statuses(&check(&app, &w.employer, &alice, &p, 0).await),
        vec!["expired", "met", "met", "met", "missing"]
    );
    assert_eq!(
        statuses(&check(&app, &w.employer, &alice, &p, 31).await),
        vec!["expired", "expiring", "expiring", "expiring", "missing"]
    );
    app.get(
        &format!(
            "/v1/people/{}/compliance?profile={p}&expiring_within_days=-1",
            alice.id
        ),
        &w.employer.token,
    )
    .await
    .expect_field_error(422, "expiring_within_days");
    app.get(
        &format!("/v1/people/{}/compliance", alice.id),
        &w.employer.token,
    )
    .await
    .expect_field_error(422, "profile");
}

async fn any_of_sets_results_ages_and_issued_evidence(app: TestApp) {
    let w = world(&app).await;
    let alice = person(&app, "alice").await;
    grant(&app, &alice, &w.employer, "read", json!("all"), true).await;
    grant(&app, &alice, &w.platform, "write", json!("all"), false).await;
    record(
        &app,
        &alice,
        "ILS",
        "statutory_mandatory",
        -Duration::days(10),
        None,
        "passed",
        None,
    )
    .await;
    record(
        &app,
        &alice,
        "FIRE",
        "statutory_mandatory",
        -Duration::days(5),
        None,
        "failed",
        None,
    )
    .await;
    record(
        &app,
        &alice,
        "IG",
        "statutory_mandatory",
        -Duration::days(400),
        None,
        "passed",
        None,
    )
    .await;
    // A self-declared Sepsis course, and an issued one.
    record(
        &app,
        &alice,
        "SEPSIS",
        "course",
        -Duration::days(3),
        None,
        "passed",
        None,
    )
    .await;
    let p = profile(
        &app,
        &w.employer,
        json!([
            {"type": "activity", "activity_codes": ["BLS", "ILS"]},
            {"type": "activity", "activity_codes": ["FIRE"]},
            {"type": "activity", "activity_codes": ["IG"], "max_age_days": 365},
            {"type": "activity", "activity_codes": ["SEPSIS"], "issued_only": true},
        ]),
    )
    .await;
    assert_eq!(
        statuses(&check(&app, &w.employer, &alice, &p, 30).await),
        vec!["met", "missing", "expired", "missing"]
    );
    app.post("/v1/completions", &w.platform.token, json!({"completions": [{"person_id": alice.id, "external_id": "s-1", "activity_code": "SEPSIS", "completed_at": at(-Duration::days(2)), "result": "passed"}]}))
        .await
        .expect(200);
    let answer = check(&app, &w.employer, &alice, &p, 30).await;
    assert_eq!(statuses(&answer), vec!["met", "missing", "expired", "met"]);
}

async fn hours_within_a_window(app: TestApp) {
    let w = world(&app).await;
    let alice = person(&app, "alice").await;
    grant(&app, &alice, &w.employer, "read", json!("all"), true).await;
    record(
        &app,
        &alice,
        "CPD-A",
        "cpd",
        -Duration::days(400),
        None,
        "attended",
        Some(50.0),
    )
    .await; // outside the window
    record(
        &app,
        &alice,
        "CPD-B",
        "cpd",
        -Duration::days(350),
        None,
        "attended",
        Some(10.0),
    )
    .await; // leaves the window in 15 days
    record(
        &app,
        &alice,
        "CPD-C",
        "cpd",
        -Duration::days(20),
        None,
        "attended",
        Some(15.0),
    )
    .await;
    let p = profile(&app, &w.employer, json!([{"type": "hours", "kind": "cpd", "hours": 20, "within_days": 365}, {"type": "hours", "kind": "cpd", "hours": 30, "within_days": 365}])).await;
    let answer = check(&app, &w.employer, &alice, &p, 30).await;
    assert_eq!(statuses(&answer), vec!["expiring", "missing"]);
    assert_eq!(
        answer["requirements"][0]["record_ids"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        statuses(&check(&app, &w.employer, &alice, &p, 10).await),
        vec!["met", "missing"]
    );
}

async fn verified_outcomes(app: TestApp) {
    let w = world(&app).await;
    let alice = person(&app, "alice").await;
    grant(&app, &alice, &w.employer, "read", json!("all"), true).await;
    grant(&app, &alice, &w.host, "write", json!("all"), true).await;
    let claimed = app
        .post("/v1/me/attainments", &alice.token, json!({"framework": {"code": "dghp-lof-example", "version": "0.1-example"}, "outcome_code": "EX-PART-01", "level": 3, "achieved_on": "2026-04-01"}))
        .await;
    let outcome = |min: i32, verified: bool| json!({"type": "outcome", "framework": {"code": "dghp-lof-example", "version": "0.1-example"}, "outcome_code": "EX-PART-01", "min_level": min, "verified_only": verified});
    let p = profile(
        &app,
        &w.employer,
        json!([outcome(3, false), outcome(2, true), outcome(4, false)]),
    )
    .await;
    assert_eq!(
        statuses(&check(&app, &w.employer, &alice, &p, 30).await),
        vec!["met", "missing", "missing"]
    );
    app.post(
        &format!(
            "/v1/attainments/{}/verification",
            claimed.body["id"].as_str().unwrap()
        ),
        &w.host.token,
        json!({"assessor_name": "n", "assessor_role": "r", "level": 2}),
    )
    .await
    .expect(200);
    let answer = check(&app, &w.employer, &alice, &p, 30).await;
    assert_eq!(statuses(&answer), vec!["met", "met", "missing"]);
    assert_eq!(
        answer["requirements"][1]["attainment_ids"][0],
        claimed.body["id"]
    );
}

async fn only_what_the_grant_covers_counts(app: TestApp) {
    let w = world(&app).await;
    let alice = person(&app, "alice").await;
    grant(
        &app,
        &alice,
        &w.employer,
        "read",
        json!({"kinds": ["course"]}),
        false,
    )
    .await;
    record(
        &app,
        &alice,
        "FIRE",
        "statutory_mandatory",
        -Duration::days(10),
        None,
        "passed",
        None,
    )
    .await;
    let sepsis = record(
        &app,
        &alice,
        "SEPSIS",
        "course",
        -Duration::days(10),
        None,
        "passed",
        None,
    )
    .await;
    let p = profile(
        &app,
        &w.employer,
        json!([
            {"type": "activity", "activity_codes": ["FIRE"]},
            {"type": "activity", "activity_codes": ["SEPSIS"]},
            {"type": "outcome", "framework": {"code": "dghp-lof-example", "version": "0.1-example"}, "outcome_code": "EX-PART-01", "min_level": 1},
        ]),
    )
    .await;
    let answer = check(&app, &w.employer, &alice, &p, 30).await;
    assert_eq!(statuses(&answer), vec!["missing", "met", "missing"]);
    assert_eq!(
        answer["requirements"][0]["outside_scope"], true,
        "fire safety is statutory training, outside a course-only grant"
    );
    assert_eq!(
        answer["requirements"][2]["outside_scope"], true,
        "attainments are not shared"
    );
    assert_eq!(answer["requirements"][1]["outside_scope"], false);
    // The worklist judges the scope the same way, by the catalogue's kind of each activity.
    let worklist = app
        .get(&format!("/v1/compliance?profile={p}"), &w.employer.token)
        .await;
    worklist.expect(200);
    let items = worklist.body["items"].as_array().unwrap();
    let alices = items.iter().find(|c| c["person_id"] == alice.id).unwrap();
    let outside: Vec<&Value> = alices["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["outside_scope"])
        .collect();
    assert_eq!(outside, [&json!(true), &json!(false), &json!(true)]);

    // Hidden and voided records never count.
    app.patch(
        &format!("/v1/me/records/{sepsis}"),
        &alice.token,
        json!({"hidden": true}),
    )
    .await
    .expect(200);
    assert_eq!(
        statuses(&check(&app, &w.employer, &alice, &p, 30).await)[1],
        "missing"
    );
    grant(&app, &alice, &w.platform, "write", json!("all"), false).await;
    app.post("/v1/completions", &w.platform.token, json!({"completions": [{"person_id": alice.id, "external_id": "v-1", "activity_code": "SEPSIS", "kind": "course", "completed_at": at(-Duration::days(1)), "result": "passed"}]}))
        .await
        .expect(200);
    assert_eq!(
        statuses(&check(&app, &w.employer, &alice, &p, 30).await)[1],
        "met"
    );
    app.post(
        "/v1/completions/v-1/void",
        &w.platform.token,
        json!({"reason": "wrong learner"}),
    )
    .await
    .expect(200);
    assert_eq!(
        statuses(&check(&app, &w.employer, &alice, &p, 30).await)[1],
        "missing"
    );

    // Each check is an access event; without a grant, none is possible.
    let log = app
        .get("/v1/me/access-events?limit=100", &alice.token)
        .await;
    let checks = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "compliance.check")
        .count();
    assert_eq!(checks, 4);
    let stranger = app.org("Stranger", "shared:read").await;
    let theirs = profile(
        &app,
        &stranger,
        json!([{"type": "activity", "activity_codes": ["FIRE"]}]),
    )
    .await;
    app.get(
        &format!("/v1/people/{}/compliance?profile={theirs}", alice.id),
        &stranger.token,
    )
    .await
    .expect_problem(404);
    // Another organisation's profile cannot be used.
    app.get(
        &format!("/v1/people/{}/compliance?profile={theirs}", alice.id),
        &w.employer.token,
    )
    .await
    .expect_problem(404);
}

async fn the_worklist_covers_everyone_who_shares(app: TestApp) {
    let w = world(&app).await;
    let p = profile(
        &app,
        &w.employer,
        json!([{"type": "activity", "activity_codes": ["FIRE"]}]),
    )
    .await;
    let mut expected = Vec::new();
    for (i, name) in ["ann", "ben", "cat", "dan", "eve"].iter().enumerate() {
        let someone = person(&app, name).await;
        if *name != "eve" {
            grant(&app, &someone, &w.employer, "read", json!("all"), false).await;
        }
        if i % 2 == 0 {
            record(
                &app,
                &someone,
                "FIRE",
                "statutory_mandatory",
                -Duration::days(3),
                None,
                "passed",
                None,
            )
            .await;
        }
        if *name != "eve" {
            expected.push((
                someone.id.clone(),
                if i % 2 == 0 { "met" } else { "missing" },
            ));
        }
    }
    expected.sort();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/compliance?profile={p}&limit=3&cursor={c}"),
            None => format!("/v1/compliance?profile={p}&limit=3"),
        };
        let page = app.get(&path, &w.employer.token).await;
        page.expect(200);
        for item in page.body["items"].as_array().unwrap() {
            seen.push((
                item["person_id"].as_str().unwrap().to_owned(),
                if item["status"] == "met" {
                    "met"
                } else {
                    "missing"
                },
            ));
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, expected);
    let missing = app
        .get(
            &format!("/v1/compliance?profile={p}&status=missing"),
            &w.employer.token,
        )
        .await;
    assert_eq!(missing.body["items"].as_array().unwrap().len(), 2);
    app.get(&format!("/v1/compliance?profile={p}"), &w.platform.token)
        .await
        .expect_problem(403);
    let other = app.org("Other", "shared:read").await;
    app.get(&format!("/v1/compliance?profile={p}"), &other.token)
        .await
        .expect_problem(404);
}

on_both_backends!(
    profiles_are_validated_and_private_to_their_organisation,
    each_status_at_its_boundaries,
    any_of_sets_results_ages_and_issued_evidence,
    hours_within_a_window,
    verified_outcomes,
    only_what_the_grant_covers_counts,
    the_worklist_covers_everyone_who_shares,
);
