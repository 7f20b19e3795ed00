//! Access requests: an organisation asks a person for a grant, the person approves (on the
//! terms asked or narrower ones) or declines; every refusal, the silence about who holds a
//! passport, blocking, expiry, the race between two answers, and a flood of requests.

mod support;

use diesel::prelude::*;
use learning_passport::db::schema::access_requests;
use learning_passport::db::types::Timestamp;
use serde_json::{Value, json};
use support::receiver::{Receiver, settle};
use support::webhooks::{person_id, subscribe, with_db};
use support::{Backend, OrgClient, Reply, TestApp};

fn ask(addressee: Value, scope: Value) -> Value {
    json!({"addressee": addressee, "permission": "read", "scope": scope,
        "purpose": "Pre-employment checks for your post on Ward 7", "duration_days": 90,
        "message": "Welcome to St Elsewhere!\nWe need this before your first shift."})
}

fn by_email(email: &str) -> Value {
    json!({"email": email})
}

async fn request(app: &TestApp, org: &OrgClient, body: Value) -> Reply {
    app.post("/v1/access-requests", &org.token, body).await
}

/// Makes a request, answers its id.
async fn asked(app: &TestApp, org: &OrgClient, body: Value) -> String {
    let reply = request(app, org, body).await;
    reply.expect(202);
    reply.body["id"].as_str().unwrap().to_owned()
}

async fn mine(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let reply = app
        .get(&format!("/v1/me/access-requests{query}"), token)
        .await;
    reply.expect(200);
    reply.body["items"].as_array().unwrap().clone()
}

async fn theirs(app: &TestApp, org: &OrgClient, id: &str) -> Value {
    let reply = app
        .get(&format!("/v1/access-requests/{id}"), &org.token)
        .await;
    reply.expect(200);
    reply.body.clone()
}

fn approve_path(id: &str) -> String {
    format!("/v1/me/access-requests/{id}/approve")
}

fn decline_path(id: &str) -> String {
    format!("/v1/me/access-requests/{id}/decline")
}

/// Moves a request's expiry into the past, as if its days had run out.
async fn run_out(app: &TestApp, id: &str) {
    let id = uuid::Uuid::parse_str(id).unwrap();
    with_db(app, move |conn| {
        diesel::update(
            access_requests::table.filter(
                access_requests::id.eq(learning_passport::db::ids::AccessRequestId::from(id)),
            ),
        )
        .set(
            access_requests::expires_at
                .eq(Timestamp(chrono::Utc::now() - chrono::Duration::seconds(1))),
        )
        .execute(conn)
        .unwrap();
    })
    .await;
}

async fn access_actions(app: &TestApp, token: &str) -> Vec<String> {
    app.get("/v1/me/access-events", token).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

async fn an_employer_asks_the_person_approves_and_the_employer_reads(app: TestApp) {
    let employer = app
        .org("St Elsewhere NHS Foundation Trust", "shared:read")
        .await;
    let receiver = Receiver::start();
    subscribe(
        &app,
        &employer,
        &receiver,
        &["access_request.approved", "grant.created"],
    )
    .await;
    let alice = app.person_token("alice");
    let alice_id = person_id(&app, &alice).await;
    let add = |body: Value| app.post("/v1/me/records", &alice, body);
    let fire = add(json!({"kind": "statutory_mandatory", "title": "Fire safety"})).await;
    fire.expect(201);
    add(json!({"kind": "course", "title": "Tropical medicine"}))
        .await
        .expect(201);
    add(json!({"kind": "cpd", "title": "Journal club"}))
        .await
        .expect(201);

    // The employer asks by the email Alice's identity provider vouched for (any case).
    let made = request(
        &app,
        &employer,
        ask(
            by_email("Alice@Example.org"),
            json!({"records": {"kinds": ["statutory_mandatory", "cpd"]}, "attainments": true}),
        ),
    )
    .await;
    made.expect(202);
    let id = made.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        made.header("location"),
        Some(format!("/v1/access-requests/{id}").as_str())
    );
    assert_eq!(made.body["status"], "pending");
    assert_eq!(
        made.body["addressee"],
        json!({"email": "alice@example.org"})
    );
    assert_eq!(made.body["person_id"], Value::Null);
    snapshot!("access_request_created", made.body);

    // Alice sees it in her app, with who asks, why, and their note.
    let pending = mine(&app, &alice, "?status=pending").await;
    assert_eq!(pending.len(), 1);
    let seen = &pending[0];
    assert_eq!(seen["id"], id.as_str());
    assert_eq!(
        seen["organisation_name"],
        "St Elsewhere NHS Foundation Trust"
    );
    assert_eq!(
        seen["message"],
        "Welcome to St Elsewhere!\nWe need this before your first shift."
    );
    assert_eq!(seen["duration_days"], 90);
    snapshot!("incoming_access_request", seen);
    assert!(mine(&app, &alice, "?status=approved").await.is_empty());

    // She approves less than was asked: her mandatory training only, for 30 days.
    let approved = app
        .post(
            &approve_path(&id),
            &alice,
            json!({"scope": {"records": {"kinds": ["statutory_mandatory"]}}, "duration_days": 30}),
        )
        .await;
    approved.expect(200);
    assert_eq!(approved.body["status"], "approved");
    let grant_id = approved.body["grant_id"].as_str().unwrap().to_owned();
    let grant = app.get(&format!("/v1/me/grants/{grant_id}"), &alice).await;
    grant.expect(200);
    assert_eq!(
        grant.body["scope"],
        json!({"records": {"kinds": ["statutory_mandatory"], "activity_codes": [], "record_ids": []}, "attainments": false})
    );
    assert_eq!(
        grant.body["purpose"],
        "Pre-employment checks for your post on Ward 7"
    );
    let expires: chrono::DateTime<chrono::Utc> =
        grant.body["expires_at"].as_str().unwrap().parse().unwrap();
    let days = (expires - chrono::Utc::now()).num_hours() as f64 / 24.0;
    assert!((29.9..=30.1).contains(&days), "{days}");

    // The employer is told, learns who Alice is, and reads what she shared and nothing else.
    let told = receiver.wait_for("access_request.approved", 1).await;
    snapshot!("webhook_access_request_approved", told[0].event());
    let data = &told[0].event()["data"];
    assert_eq!(data["access_request_id"], id.as_str());
    assert_eq!(data["status"], "approved");
    assert_eq!(data["person_id"], alice_id.as_str());
    assert_eq!(data["grant_id"], grant_id.as_str());
    receiver.wait_for("grant.created", 1).await;
    let now = theirs(&app, &employer, &id).await;
    assert_eq!(now["status"], "approved");
    assert_eq!(now["person_id"], alice_id.as_str());
    assert_eq!(now["grant_id"], grant_id.as_str());
    let shared = app
        .get(&format!("/v1/people/{alice_id}/records"), &employer.token)
        .await;
    shared.expect(200);
    let titles: Vec<&str> = shared.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Fire safety"]);

    // The employer's list shows it; Alice's access log has the request and her answer.
    let listed = app
        .get("/v1/access-requests?status=approved", &employer.token)
        .await;
    listed.expect(200);
    assert_eq!(listed.body["items"][0]["id"], id.as_str());
    let actions = access_actions(&app, &alice).await;
    assert!(
        actions.contains(&"access_requests.create".to_owned())
            && actions.contains(&"access_requests.approve".to_owned()),
        "{actions:?}"
    );
    // An answered request cannot be answered again, or withdrawn.
    app.post(&approve_path(&id), &alice, json!({}))
        .await
        .expect_problem(409);
    app.post(&decline_path(&id), &alice, json!({}))
        .await
        .expect_problem(409);
    app.delete(&format!("/v1/access-requests/{id}"), &employer.token)
        .await
        .expect_problem(409);
}

/// What the organisation sees of a fresh request, without what differs by addressee.
fn shape(reply: &Reply) -> Value {
    let mut body = reply.body.clone();
    let object = body.as_object_mut().unwrap();
    for varying in ["id", "addressee", "created_at", "expires_at"] {
        object.remove(varying);
    }
    json!({"status": reply.status.as_u16(), "body": body})
}

async fn the_answer_never_says_whether_the_addressee_holds_a_passport(app: TestApp) {
    let employer = app.org("St Elsewhere", "shared:read").await;
    let alice = app.person_token("alice");
    let alice_id = person_id(&app, &alice).await;
    app.patch(
        "/v1/me",
        &alice,
        json!({"registration": {"body": "NMC", "number": "12A3456B"}}),
    )
    .await
    .expect(200);
    let scope = json!({"records": "all"});
    let pairs = [
        (
            json!({"passport_id": alice_id}),
            json!({"passport_id": uuid::Uuid::now_v7()}),
        ),
        (
            by_email("alice@example.org"),
            by_email("nobody@example.org"),
        ),
        (
            json!({"registration": {"body": "nmc", "number": "12a 3456b"}}),
            json!({"registration": {"body": "NMC", "number": "99Z9999Z"}}),
        ),
    ];
    for (holder, nobody) in pairs {
        let to_holder = request(&app, &employer, ask(holder.clone(), scope.clone())).await;
        let to_nobody = request(&app, &employer, ask(nobody, scope.clone())).await;
        assert_eq!(shape(&to_holder), shape(&to_nobody), "{holder}");
        assert_eq!(to_holder.status, 202);
        // Until someone answers, both stay pending.
        for reply in [&to_holder, &to_nobody] {
            let id = reply.body["id"].as_str().unwrap();
            assert_eq!(theirs(&app, &employer, id).await["status"], "pending");
        }
    }
    // Alice sees the three addressed to her (by passport id, email and registration, the
    // registration matched without regard to case or spaces).
    assert_eq!(mine(&app, &alice, "").await.len(), 3);
}

async fn a_request_waits_for_someone_who_signs_up_later(app: TestApp) {
    let employer = app.org("St Elsewhere", "shared:read").await;
    let id = asked(
        &app,
        &employer,
        ask(by_email("bob@example.org"), json!({"records": "all"})),
    )
    .await;
    // Bob joins after he was asked (his first request creates his passport).
    let bob = app.person_token("bob");
    let listed = mine(&app, &bob, "").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], id.as_str());
    app.get(&format!("/v1/me/access-requests/{id}"), &bob)
        .await
        .expect(200);
    app.post(&approve_path(&id), &bob, json!({}))
        .await
        .expect(200);
    let bob_id = person_id(&app, &bob).await;
    assert_eq!(theirs(&app, &employer, &id).await["person_id"], bob_id);
    // Someone else never saw it, and cannot answer it.
    let carol = app.person_token("carol");
    assert!(mine(&app, &carol, "").await.is_empty());
    app.get(&format!("/v1/me/access-requests/{id}"), &carol)
        .await
        .expect_problem(404);
}

async fn a_requirement_profile_becomes_the_scope_asked_for(app: TestApp) {
    let employer = app.org("St Elsewhere", "shared:read").await;
    let other = app.org("Elsewhere Again", "shared:read").await;
    let host = app.org("Passport host", "admin").await;
    for code in ["CSTF-FIRE", "CSTF-BLS"] {
        app.call(
            support::Method::PUT,
            &format!("/v1/activities/{code}"),
            Some(&host.token),
            Some(json!({"title": code, "kind": "statutory_mandatory", "refresher_months": 12, "publisher": "Test"})),
        )
        .await
        .expect(201);
    }
    let profile = app
        .post(
            "/v1/requirement-profiles",
            &employer.token,
            json!({"name": "Registered nurse, band 5", "requirements": [
                {"type": "activity", "activity_codes": ["CSTF-FIRE", "CSTF-BLS"]},
                {"type": "hours", "kind": "cpd", "hours": 35, "within_days": 1095}]}),
        )
        .await;
    profile.expect(201);
    let profile_id = profile.body["id"].as_str().unwrap();
    let mut body = ask(by_email("alice@example.org"), Value::Null);
    body.as_object_mut().unwrap().remove("scope");
    body["requirement_profile_id"] = json!(profile_id);
    let made = request(&app, &employer, body.clone()).await;
    made.expect(202);
    assert_eq!(
        made.body["scope"],
        json!({"records": {"kinds": ["cpd"], "activity_codes": ["CSTF-FIRE", "CSTF-BLS"], "record_ids": []}, "attainments": false})
    );
    assert_eq!(made.body["requirement_profile_id"], profile_id);
    // Another organisation's profile is no profile of the caller's.
    request(&app, &other, body)
        .await
        .expect_field_error(422, "requirement_profile_id");
}

async fn every_refusal_of_the_organisation_side(app: TestApp) {
    let employer = app.org("St Elsewhere", "shared:read").await;
    let other = app.org("Elsewhere Again", "shared:read").await;
    let platform = app.org("E-Learning", "records:write").await;
    let manager = app.org("Admin Office", "clients:manage").await;
    let alice = app.person_token("alice");
    person_id(&app, &alice).await;
    let body = ask(by_email("alice@example.org"), json!({"records": "all"}));

    // A person is not an organisation; a client needs the scope its permission needs.
    request_as(&app, &alice, body.clone())
        .await
        .expect_problem(403);
    request(&app, &platform, body.clone())
        .await
        .expect_problem(403);
    let mut write = body.clone();
    write["permission"] = json!("write");
    request(&app, &employer, write.clone())
        .await
        .expect_problem(403);
    request(&app, &platform, write).await.expect(202);
    for path in ["/v1/access-requests"] {
        app.get(path, &manager.token).await.expect_problem(403);
        app.get(path, &alice).await.expect_problem(403);
    }

    // Another organisation's request is not found, to read or to withdraw.
    let id = asked(&app, &employer, body.clone()).await;
    for path in [format!("/v1/access-requests/{id}")] {
        app.get(&path, &other.token).await.expect_problem(404);
        app.delete(&path, &other.token).await.expect_problem(404);
    }
    assert!(
        app.get("/v1/access-requests", &other.token).await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // One pending request per organisation and addressee.
    request(&app, &employer, body.clone())
        .await
        .expect_problem(409);
    // Withdrawn, it is cancelled for both sides, and can no longer be answered.
    let cancelled = app
        .delete(&format!("/v1/access-requests/{id}"), &employer.token)
        .await;
    cancelled.expect(200);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(
        app.get(&format!("/v1/me/access-requests/{id}"), &alice)
            .await
            .body["status"],
        "cancelled"
    );
    app.post(&approve_path(&id), &alice, json!({}))
        .await
        .expect_problem(409);
    app.delete(&format!("/v1/access-requests/{id}"), &employer.token)
        .await
        .expect_problem(409);
    assert!(
        access_actions(&app, &alice)
            .await
            .contains(&"access_requests.cancel".to_owned())
    );
}

async fn request_as(app: &TestApp, token: &str, body: Value) -> Reply {
    app.post("/v1/access-requests", token, body).await
}

async fn invalid_requests_name_the_field_and_store_nothing(app: TestApp) {
    let employer = app.org("St Elsewhere", "shared:read").await;
    let good = ask(by_email("alice@example.org"), json!({"records": "all"}));
    let with = |change: Value| {
        let mut body = good.clone();
        for (key, value) in change.as_object().unwrap() {
            if value.is_null() {
                body.as_object_mut().unwrap().remove(key);
            } else {
                body[key] = value.clone();
            }
        }
        body
    };
    let cases = [
        (with(json!({"addressee": {}})), "addressee"),
        (
            with(
                json!({"addressee": {"email": "alice@example.org", "passport_id": uuid::Uuid::now_v7()}}),
            ),
            "addressee",
        ),
        (
            with(json!({"addressee": {"email": "not an address"}})),
            "addressee.email",
        ),
        (
            with(json!({"addressee": {"registration": {"body": " ", "number": "1"}}})),
            "addressee.registration.body",
        ),
        (with(json!({"scope": null})), "scope"),
        (
            with(json!({"requirement_profile_id": uuid::Uuid::now_v7()})),
            "scope",
        ),
        (
            with(json!({"scope": {"records": {"record_ids": [uuid::Uuid::now_v7()]}}})),
            "scope.records.record_ids",
        ),
        (with(json!({"scope": {"records": {}}})), "scope.records"),
        (with(json!({"purpose": " "})), "purpose"),
        (with(json!({"duration_days": 0})), "duration_days"),
        (with(json!({"duration_days": 366})), "duration_days"),
        (with(json!({"message": "x".repeat(1001)})), "message"),
        (
            with(json!({"message": "Pay here \u{202E}moc.live//:sptth"})),
            "message",
        ),
        (with(json!({"message": "bell \u{7}"})), "message"),
        (
            with(json!({"purpose": "Checks \u{202E}gnirtsnigeR"})),
            "purpose",
        ),
        (
            with(json!({"addressee": {"registration": {"body": "NMC:X", "number": "1"}}})),
            "addressee.registration.body",
        ),
    ];
    for (body, field) in cases {
        request(&app, &employer, body)
            .await
            .expect_field_error(422, field);
    }
    let unknown = with(json!({"addressee": {"phone": "0123"}}));
    request(&app, &employer, unknown)
        .await
        .expect_field_error(422, "addressee.phone");
    let listed = app.get("/v1/access-requests", &employer.token).await;
    assert!(listed.body["items"].as_array().unwrap().is_empty());
    let alice = app.person_token("alice");
    assert!(mine(&app, &alice, "").await.is_empty());
}

async fn approval_cannot_give_more_than_was_asked(app: TestApp) {
    let employer = app.org("St Elsewhere", "shared:read").await;
    let alice = app.person_token("alice");
    let bob = app.person_token("bob");
    let course = app
        .post(
            "/v1/me/records",
            &alice,
            json!({"kind": "course", "title": "Tropical medicine"}),
        )
        .await;
    let fire = app
        .post(
            "/v1/me/records",
            &alice,
            json!({"kind": "statutory_mandatory", "title": "Fire", "activity_code": "CSTF-FIRE"}),
        )
        .await;
    let bobs = app
        .post(
            "/v1/me/records",
            &bob,
            json!({"kind": "statutory_mandatory", "title": "Fire"}),
        )
        .await;
    let (course, fire, bobs) = (
        course.body["id"].as_str().unwrap(),
        fire.body["id"].as_str().unwrap(),
        bobs.body["id"].as_str().unwrap(),
    );
    let id = asked(
        &app,
        &employer,
        ask(
            by_email("alice@example.org"),
            json!({"records": {"kinds": ["statutory_mandatory"], "activity_codes": ["CSTF-BLS"]}}),
        ),
    )
    .await;
    let wider = [
        (json!({"scope": {"records": "all"}}), "scope.records"),
        (
            json!({"scope": {"records": {"kinds": ["course"]}}}),
            "scope.records.kinds[0]",
        ),
        (
            json!({"scope": {"records": {"activity_codes": ["CSTF-FIRE"]}}}),
            "scope.records.activity_codes[0]",
        ),
        (
            json!({"scope": {"records": {"record_ids": [course]}}}),
            "scope.records.record_ids[0]",
        ),
        (
            json!({"scope": {"records": {"record_ids": [bobs]}}}),
            "scope.records.record_ids[0]",
        ),
        (
            json!({"scope": {"records": {"kinds": ["statutory_mandatory"]}, "attainments": true}}),
            "scope.attainments",
        ),
        (json!({"duration_days": 91}), "duration_days"),
        (json!({"duration_days": 0}), "duration_days"),
    ];
    for (body, field) in wider {
        app.post(&approve_path(&id), &alice, body)
            .await
            .expect_field_error(422, field);
    }
    // A body without a Content-Type is never taken for no body.
    let untyped = app
        .http
        .post(app.url(&approve_path(&id)))
        .bearer_auth(&alice)
        .body(r#"{"duration_days": 1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(untyped.status(), 415);
    // Nothing changed: still pending, no grant.
    assert_eq!(theirs(&app, &employer, &id).await["status"], "pending");
    assert!(
        app.get("/v1/me/grants", &alice).await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Bob cannot answer Alice's request.
    app.post(&approve_path(&id), &bob, json!({}))
        .await
        .expect_problem(404);
    // One record the request covers, by id (its kind is asked for), is within it.
    let approved = app
        .post(
            &approve_path(&id),
            &alice,
            json!({"scope": {"records": {"record_ids": [fire]}}}),
        )
        .await;
    approved.expect(200);
}

async fn a_decline_is_told_and_a_block_keeps_later_requests_away(app: TestApp) {
    let employer = app.org("Pushy Recruiters Ltd", "shared:read").await;
    let receiver = Receiver::start();
    subscribe(&app, &employer, &receiver, &["access_request.declined"]).await;
    let alice = app.person_token("alice");
    let alice_id = person_id(&app, &alice).await;
    let first = asked(
        &app,
        &employer,
        ask(by_email("alice@example.org"), json!({"records": "all"})),
    )
    .await;
    let second = asked(
        &app,
        &employer,
        ask(json!({"passport_id": alice_id}), json!({"records": "all"})),
    )
    .await;
    // Declined without a body; the employer is told, without learning who she is.
    let declined = app
        .call(
            support::Method::POST,
            &decline_path(&first),
            Some(&alice),
            None,
        )
        .await;
    declined.expect(200);
    assert_eq!(declined.body["status"], "declined");
    let told = receiver.wait_for("access_request.declined", 1).await;
    assert_eq!(told[0].event()["data"]["person_id"], Value::Null);
    assert_eq!(told[0].event()["data"]["grant_id"], Value::Null);
    assert_eq!(
        theirs(&app, &employer, &first).await["person_id"],
        Value::Null
    );
    assert!(
        access_actions(&app, &alice)
            .await
            .contains(&"access_requests.decline".to_owned())
    );

    // Blocking declines what is pending, and later requests never reach her.
    let blocked = app
        .post(
            "/v1/me/blocked-organisations",
            &alice,
            json!({"organisation_id": employer.organisation_id}),
        )
        .await;
    blocked.expect(200);
    assert_eq!(blocked.body["organisation_name"], "Pushy Recruiters Ltd");
    assert_eq!(theirs(&app, &employer, &second).await["status"], "declined");
    receiver.wait_for("access_request.declined", 2).await;
    let later = request(
        &app,
        &employer,
        ask(json!({"passport_id": alice_id}), json!({"records": "all"})),
    )
    .await;
    later.expect(202);
    let later = later.body["id"].as_str().unwrap().to_owned();
    assert_eq!(theirs(&app, &employer, &later).await["status"], "pending");
    assert!(mine(&app, &alice, "?status=pending").await.is_empty());
    app.post(&approve_path(&later), &alice, json!({}))
        .await
        .expect_problem(404);
    let listed = app.get("/v1/me/blocked-organisations", &alice).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    // Her export holds everything asked of her, the blocked organisation's requests too.
    let export = app.get("/v1/me/export", &alice).await;
    export.expect(200);
    let exported: Vec<&str> = export.body["access_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(exported.contains(&later.as_str()), "{exported:?}");
    assert_eq!(
        export.body["blocked_organisations"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Blocking again changes nothing; an unknown organisation cannot be blocked.
    app.post(
        "/v1/me/blocked-organisations",
        &alice,
        json!({"organisation_id": employer.organisation_id}),
    )
    .await
    .expect(200);
    app.post(
        "/v1/me/blocked-organisations",
        &alice,
        json!({"organisation_id": uuid::Uuid::now_v7()}),
    )
    .await
    .expect_field_error(422, "organisation_id");
    // An organisation cannot block or unblock for her.
    app.post(
        "/v1/me/blocked-organisations",
        &employer.token,
        json!({"organisation_id": employer.organisation_id}),
    )
    .await
    .expect_problem(403);

    // Unblocked, its pending request reaches her again.
    let path = format!("/v1/me/blocked-organisations/{}", employer.organisation_id);
    app.delete(&path, &alice).await.expect(204);
    app.delete(&path, &alice).await.expect_problem(404);
    assert_eq!(mine(&app, &alice, "?status=pending").await.len(), 1);
}

async fn an_unanswered_request_expires(app: TestApp) {
    let employer = app.org("St Elsewhere", "shared:read").await;
    let receiver = Receiver::start();
    subscribe(&app, &employer, &receiver, &["access_request.expired"]).await;
    let alice = app.person_token("alice");
    // Alice holds a passport when she is asked.
    person_id(&app, &alice).await;
    let to_alice = asked(
        &app,
        &employer,
        ask(by_email("alice@example.org"), json!({"records": "all"})),
    )
    .await;
    let to_nobody = asked(
        &app,
        &employer,
        ask(by_email("nobody@example.org"), json!({"records": "all"})),
    )
    .await;
    run_out(&app, &to_alice).await;
    run_out(&app, &to_nobody).await;
    for id in [&to_alice, &to_nobody] {
        assert_eq!(theirs(&app, &employer, id).await["status"], "expired");
    }
    assert_eq!(mine(&app, &alice, "?status=expired").await.len(), 1);
    app.post(&approve_path(&to_alice), &alice, json!({}))
        .await
        .expect_problem(409);
    app.delete(&format!("/v1/access-requests/{to_alice}"), &employer.token)
        .await
        .expect_problem(409);
    // The employer is told of the request to Alice, once, and of the other never.
    let told = receiver.wait_for("access_request.expired", 1).await;
    assert_eq!(
        told[0].event()["data"]["access_request_id"],
        to_alice.as_str()
    );
    settle().await;
    assert_eq!(receiver.of_type("access_request.expired").len(), 1);
    // Expired requests no longer count as pending: the employer may ask again.
    request(
        &app,
        &employer,
        ask(by_email("alice@example.org"), json!({"records": "all"})),
    )
    .await
    .expect(202);
}

async fn of_two_answers_at_once_exactly_one_counts(app: TestApp) {
    let employer = app.org("St Elsewhere", "shared:read").await;
    let alice = app.person_token("alice");
    let id = asked(
        &app,
        &employer,
        ask(by_email("alice@example.org"), json!({"records": "all"})),
    )
    .await;
    let (approve, decline) = (approve_path(&id), decline_path(&id));
    let replies = futures_util::future::join_all([
        app.post(&approve, &alice, json!({})),
        app.post(&decline, &alice, json!({})),
        app.post(&approve, &alice, json!({})),
    ])
    .await;
    let won: Vec<&Reply> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(won.len(), 1, "{replies:#?}");
    assert!(
        replies
            .iter()
            .filter(|r| r.status != 200)
            .all(|r| r.status == 409)
    );
    let grants = app.get("/v1/me/grants", &alice).await.body["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(grants, usize::from(won[0].body["status"] == "approved"));
}

async fn a_flood_of_requests_is_bounded(backend: Backend) {
    let Some(mut app) = TestApp::start(backend).await else {
        return;
    };
    app.restart_with(|settings| settings.access_requests_per_day = 5)
        .await;
    let flooder = app.org("Spam Staffing", "shared:read").await;
    let employer = app.org("St Elsewhere", "shared:read").await;
    for n in 0..5 {
        asked(
            &app,
            &flooder,
            ask(
                by_email(&format!("person{n}@example.org")),
                json!({"records": "all"}),
            ),
        )
        .await;
    }
    let refused = request(
        &app,
        &flooder,
        ask(by_email("person5@example.org"), json!({"records": "all"})),
    )
    .await;
    refused.expect_problem(429);
    assert!(refused.header("retry-after").is_some());
    // Others carry on.
    asked(
        &app,
        &employer,
        ask(by_email("person5@example.org"), json!({"records": "all"})),
    )
    .await;

    // One addressee holds at most 20 pending requests, from all organisations together.
    for n in 1..20 {
        let org = app.org(&format!("Trust {n}"), "shared:read").await;
        asked(
            &app,
            &org,
            ask(by_email("popular@example.org"), json!({"records": "all"})),
        )
        .await;
    }
    asked(
        &app,
        &employer,
        ask(by_email("popular@example.org"), json!({"records": "all"})),
    )
    .await;
    let late = app.org("Trust 21", "shared:read").await;
    request(
        &app,
        &late,
        ask(by_email("POPULAR@example.org"), json!({"records": "all"})),
    )
    .await
    .expect_problem(409);
}

async fn attainments_alone_can_be_asked_for_and_shared(app: TestApp) {
    let employer = app.org("St Elsewhere", "shared:read").await;
    let alice = app.person_token("alice");
    let alice_id = person_id(&app, &alice).await;
    app.post(
        "/v1/me/records",
        &alice,
        json!({"kind": "course", "title": "Tropical medicine"}),
    )
    .await
    .expect(201);
    let id = asked(
        &app,
        &employer,
        ask(
            json!({"passport_id": alice_id}),
            json!({"records": {}, "attainments": true}),
        ),
    )
    .await;
    app.post(&approve_path(&id), &alice, json!({}))
        .await
        .expect(200);
    let records = app
        .get(&format!("/v1/people/{alice_id}/records"), &employer.token)
        .await;
    records.expect(200);
    assert!(records.body["items"].as_array().unwrap().is_empty());
    app.get(
        &format!("/v1/people/{alice_id}/attainments"),
        &employer.token,
    )
    .await
    .expect(200);
}

async fn a_declared_registration_reaches_everyone_who_declares_it(app: TestApp) {
    let employer = app.org("St Elsewhere", "shared:read").await;
    let vic = app.person_token("vic");
    let mallory = app.person_token("mallory");
    for token in [&mallory, &vic] {
        app.patch(
            "/v1/me",
            token,
            json!({"registration": {"body": "NMC", "number": "12A3456B"}}),
        )
        .await
        .expect(200);
    }
    let id = asked(
        &app,
        &employer,
        ask(
            json!({"registration": {"body": "NMC", "number": "12A3456B"}}),
            json!({"records": "all"}),
        ),
    )
    .await;
    // Declared, not checked: both see it, and whoever declared it first is not its owner.
    for token in [&vic, &mallory] {
        assert_eq!(mine(&app, token, "").await.len(), 1);
    }
    // Mallory erasing her passport leaves Vic's request as it was.
    app.delete("/v1/me?confirm=true", &mallory)
        .await
        .expect(204);
    let seen = mine(&app, &vic, "").await;
    assert_eq!(
        seen[0]["purpose"],
        "Pre-employment checks for your post on Ward 7"
    );
    app.post(&approve_path(&id), &vic, json!({}))
        .await
        .expect(200);
    let vic_id = person_id(&app, &vic).await;
    assert_eq!(theirs(&app, &employer, &id).await["person_id"], vic_id);
}

on_both_backends!(
    a_declared_registration_reaches_everyone_who_declares_it,
    attainments_alone_can_be_asked_for_and_shared,
    an_employer_asks_the_person_approves_and_the_employer_reads,
    the_answer_never_says_whether_the_addressee_holds_a_passport,
    a_request_waits_for_someone_who_signs_up_later,
    a_requirement_profile_becomes_the_scope_asked_for,
    every_refusal_of_the_organisation_side,
    invalid_requests_name_the_field_and_store_nothing,
    approval_cannot_give_more_than_was_asked,
    a_decline_is_told_and_a_block_keeps_later_requests_away,
    an_unanswered_request_expires,
    of_two_answers_at_once_exactly_one_counts,
);

on_each_backend!(a_flood_of_requests_is_bounded);
