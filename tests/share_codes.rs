//! Share codes: a person makes a single-use code, an organisation redeems it for a grant; every
//! refusal, the race between two redeemers, and a guessing flood.

mod support;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use futures_util::future::join_all;
use learning_passport::db::schema::share_codes;
use learning_passport::db::types::Timestamp;
use serde_json::{Value, json};
use support::receiver::Receiver;
use support::webhooks::{subscribe, with_db};
use support::{Backend, OrgClient, Reply, TestApp};

fn in_days(days: i64) -> String {
    (Utc::now() + Duration::days(days)).to_rfc3339()
}

fn offer(permission: &str, scope: Value) -> Value {
    json!({"permission": permission, "scope": scope, "purpose": "Checks at my interview",
        "grant_expires_at": in_days(30)})
}

async fn person_id(app: &TestApp, token: &str) -> String {
    app.get("/v1/me", token).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Makes a code; answers (id, code).
async fn make(app: &TestApp, token: &str, body: Value) -> (String, String) {
    let made = app.post("/v1/me/share-codes", token, body).await;
    made.expect(201);
    (
        made.body["id"].as_str().unwrap().to_owned(),
        made.body["code"].as_str().unwrap().to_owned(),
    )
}

async fn redeem(app: &TestApp, org: &OrgClient, code: &str) -> Reply {
    app.post("/v1/share-codes/redeem", &org.token, json!({"code": code}))
        .await
}

/// A problem without its `instance` (the request id, different on every answer).
fn without_instance(reply: &Reply) -> Value {
    let mut body = reply.body.clone();
    body.as_object_mut().unwrap().remove("instance");
    body
}

async fn grant_count(app: &TestApp, token: &str) -> usize {
    app.get("/v1/me/grants", token).await.body["items"]
        .as_array()
        .unwrap()
        .len()
}

async fn a_person_shares_by_code_and_the_employer_reads(app: TestApp) {
    let employer = app
        .org("St Elsewhere NHS Foundation Trust", "shared:read")
        .await;
    let receiver = Receiver::start();
    subscribe(&app, &employer, &receiver, &["grant.created"]).await;
    let alice = app.person_token("alice");
    let alice_id = person_id(&app, &alice).await;
    let add = |body: Value| app.post("/v1/me/records", &alice, body);
    let fire = add(json!({"kind": "statutory_mandatory", "title": "Fire safety"})).await;
    add(json!({"kind": "course", "title": "Tropical medicine"}))
        .await
        .expect(201);

    let made = app
        .post(
            "/v1/me/share-codes",
            &alice,
            offer(
                "read",
                json!({"records": {"kinds": ["statutory_mandatory"]}}),
            ),
        )
        .await;
    made.expect(201);
    let code = made.body["code"].as_str().unwrap().to_owned();
    let id = made.body["id"].as_str().unwrap().to_owned();
    let alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    assert_eq!(code.len(), 11, "{code}");
    assert_eq!(&code[5..6], "-");
    assert!(code.replace('-', "").chars().all(|c| alphabet.contains(c)));
    assert_eq!(made.body["url"], format!("{}/share/{code}", app.base_url));
    assert_eq!(made.body["status"], "active");
    assert!(made.body["redemption"].is_null());
    assert_eq!(
        made.header("location"),
        Some(format!("/v1/me/share-codes/{id}").as_str())
    );
    assert_eq!(made.header("cache-control"), Some("no-store"));
    let expires: DateTime<Utc> = made.body["expires_at"].as_str().unwrap().parse().unwrap();
    let lifetime = expires - Utc::now();
    assert!(lifetime > Duration::minutes(14) && lifetime <= Duration::minutes(15));

    // The code is never shown again.
    let listed = app.get("/v1/me/share-codes", &alice).await;
    listed.expect(200);
    assert_eq!(listed.body["items"][0]["id"], id.as_str());
    assert!(listed.body["items"][0].get("code").is_none());
    assert!(listed.body["next_cursor"].is_null());

    // Read back over the phone: lower case, no dash.
    let redeemed = redeem(&app, &employer, &code.replace('-', "").to_lowercase()).await;
    redeemed.expect(201);
    assert_eq!(redeemed.body["person_id"], alice_id.as_str());
    assert_eq!(redeemed.body["person_display_name"], "Person alice");
    assert_eq!(redeemed.body["permission"], "read");
    assert_eq!(redeemed.body["purpose"], "Checks at my interview");
    let grant_id = redeemed.body["id"].as_str().unwrap().to_owned();

    // The grant works: the employer reads what it covers, and nothing else.
    let shared = app
        .get(&format!("/v1/people/{alice_id}/records"), &employer.token)
        .await;
    shared.expect(200);
    let items = shared.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], fire.body["id"]);
    let received = app.get("/v1/grants", &employer.token).await;
    assert_eq!(received.body["items"][0]["id"], grant_id.as_str());
    // It is told as every grant is.
    let told = receiver.wait_for("grant.created", 1).await;
    assert_eq!(told[0].event()["data"]["grant_id"], grant_id.as_str());

    // Alice sees who redeemed the code, and the grant it became among her own.
    let seen = app.get(&format!("/v1/me/share-codes/{id}"), &alice).await;
    seen.expect(200);
    assert_eq!(seen.body["status"], "redeemed");
    let redemption = &seen.body["redemption"];
    assert_eq!(
        redemption["organisation_id"],
        employer.organisation_id.as_str()
    );
    assert_eq!(
        redemption["organisation_name"],
        "St Elsewhere NHS Foundation Trust"
    );
    assert_eq!(redemption["client_id"], employer.client_id.as_str());
    assert_eq!(redemption["grant_id"], grant_id.as_str());
    assert!(redemption["redeemed_at"].is_string());
    let grant = app.get(&format!("/v1/me/grants/{grant_id}"), &alice).await;
    grant.expect(200);
    assert_eq!(grant.body["status"], "live");
    assert_eq!(
        grant.body["organisation_id"],
        employer.organisation_id.as_str()
    );
    assert_eq!(
        grant.body["scope"]["records"]["kinds"],
        json!(["statutory_mandatory"])
    );
    // And the redemption in her access log.
    let logged = redemptions(&app, &alice).await;
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0]["allowed"], true);
    assert_eq!(logged[0]["grant_id"], grant_id.as_str());
    assert_eq!(logged[0]["client_id"], employer.client_id.as_str());
    assert_eq!(logged[0]["resource"], format!("share-codes/{id}"));
}

/// Moves a code's expiry into the past, as time passing would.
async fn expire(app: &TestApp, id: &str) {
    let id: learning_passport::db::ids::ShareCodeId = uuid::Uuid::parse_str(id).unwrap().into();
    with_db(app, move |conn| {
        learning_passport::on_backend!(conn, |c| diesel::update(share_codes::table.find(id))
            .set(share_codes::expires_at.eq(Timestamp::from(Utc::now() - Duration::seconds(1))))
            .execute(c))
        .unwrap()
    })
    .await;
}

async fn a_used_expired_revoked_or_unknown_code_gets_one_answer(app: TestApp) {
    let employer = app.org("Employer", "shared:read").await;
    let alice = app.person_token("alice");
    let all = json!({"records": "all"});
    let (_, used) = make(&app, &alice, offer("read", all.clone())).await;
    let (expired_id, expired) = make(&app, &alice, offer("read", all.clone())).await;
    let (revoked_id, revoked) = make(&app, &alice, offer("read", all.clone())).await;
    redeem(&app, &employer, &used).await.expect(201);
    expire(&app, &expired_id).await;
    let revoking = app
        .delete(&format!("/v1/me/share-codes/{revoked_id}"), &alice)
        .await;
    revoking.expect(200);
    assert_eq!(revoking.body["status"], "revoked");
    assert!(revoking.body["revoked_at"].is_string());

    let mut answers = Vec::new();
    for code in [&used, &expired, &revoked, "00000-00000", "not a code"] {
        let refused = redeem(&app, &employer, code).await;
        refused.expect_field_error(422, "code");
        answers.push(without_instance(&refused));
    }
    assert!(
        answers.iter().all(|a| *a == answers[0]),
        "one answer: {answers:#?}"
    );

    // Nothing changed: one grant (the first redemption's), each code as it was.
    assert_eq!(grant_count(&app, &alice).await, 1);
    let statuses: Vec<Value> = app.get("/v1/me/share-codes", &alice).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].clone())
        .collect();
    assert_eq!(
        statuses,
        [json!("revoked"), json!("expired"), json!("redeemed")]
    );
    // Revoking an expired or revoked code changes nothing; a redeemed one is refused.
    let again = app
        .delete(&format!("/v1/me/share-codes/{revoked_id}"), &alice)
        .await;
    assert_eq!(again.body["revoked_at"], revoking.body["revoked_at"]);
    let expired_revoke = app
        .delete(&format!("/v1/me/share-codes/{expired_id}"), &alice)
        .await;
    expired_revoke.expect(200);
    assert_eq!(expired_revoke.body["status"], "expired");
    let items = app.get("/v1/me/share-codes", &alice).await.body["items"].clone();
    let used_id = items[2]["id"].as_str().unwrap();
    app.delete(&format!("/v1/me/share-codes/{used_id}"), &alice)
        .await
        .expect_problem(409);
}

async fn only_people_make_codes_and_only_scoped_clients_redeem_them(app: TestApp) {
    let reader = app.org("Reader Trust", "shared:read").await;
    let writer = app.org("Learning Platform", "records:write").await;
    let admin = app.org("Host", "admin").await;
    let alice = app.person_token("alice");
    let bob = app.person_token("bob");

    app.post(
        "/v1/me/share-codes",
        &reader.token,
        offer("read", json!({"records": "all"})),
    )
    .await
    .expect_problem(403);

    let (id, code) = make(&app, &alice, offer("write", json!({"records": "all"}))).await;
    app.post("/v1/share-codes/redeem", &bob, json!({"code": code}))
        .await
        .expect_problem(403);
    redeem(&app, &admin, &code).await.expect_problem(403);
    // A write code needs `records:write`: a reader is refused, and the code stays active.
    let refused = redeem(&app, &reader, &code).await;
    refused.expect_problem(403);
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("records:write")
    );
    assert_eq!(grant_count(&app, &alice).await, 0);

    // Bob reaches none of Alice's codes.
    let path = format!("/v1/me/share-codes/{id}");
    app.get(&path, &bob).await.expect_problem(404);
    app.delete(&path, &bob).await.expect_problem(404);
    let bobs = app.get("/v1/me/share-codes", &bob).await;
    assert_eq!(bobs.body["items"], json!([]));
    let still = app.get(&path, &alice).await;
    assert_eq!(still.body["status"], "active");

    let redeemed = redeem(&app, &writer, &code).await;
    redeemed.expect(201);
    assert_eq!(redeemed.body["permission"], "write");
    // The refused attempt is in Alice's log too (written a moment after the answer).
    support::eventually("the refused redemption is logged", || async {
        redemptions(&app, &alice).await.len() == 2
    })
    .await;
    let logged = redemptions(&app, &alice).await;
    assert_eq!(logged[0]["allowed"], true);
    assert_eq!(
        logged[0]["organisation_id"],
        writer.organisation_id.as_str()
    );
    assert_eq!(logged[1]["allowed"], false);
    assert_eq!(
        logged[1]["organisation_id"],
        reader.organisation_id.as_str()
    );
    assert!(
        logged[1]["reason"]
            .as_str()
            .unwrap()
            .contains("records:write")
    );
}

/// The redemptions in a person's access log, newest first.
async fn redemptions(app: &TestApp, token: &str) -> Vec<Value> {
    let log = app.get("/v1/me/access-events", token).await;
    log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "share_codes.redeem")
        .cloned()
        .collect()
}

async fn invalid_codes_name_the_field_and_store_nothing(app: TestApp) {
    let alice = app.person_token("alice");
    let bob = app.person_token("bob");
    let bobs_record = app
        .post(
            "/v1/me/records",
            &bob,
            json!({"kind": "course", "title": "Bob's"}),
        )
        .await;
    let all = json!({"records": "all"});
    let with = |change: Value| {
        let mut body = offer("read", all.clone());
        for (key, value) in change.as_object().unwrap() {
            body[key] = value.clone();
        }
        body
    };
    let cases = [
        (
            with(json!({"expires_in_minutes": 1441})),
            "expires_in_minutes",
        ),
        (with(json!({"expires_in_minutes": 0})), "expires_in_minutes"),
        (with(json!({"scope": {"records": {}}})), "scope.records"),
        (
            with(json!({"scope": {"records": {"record_ids": [bobs_record.body["id"]]}}})),
            "scope.records.record_ids[0]",
        ),
        (with(json!({"purpose": "  "})), "purpose"),
        (
            with(json!({"grant_expires_at": in_days(-1)})),
            "grant_expires_at",
        ),
        (
            with(json!({"grant_expires_at": in_days(400)})),
            "grant_expires_at",
        ),
        // The grant must outlive the code.
        (
            with(
                json!({"grant_expires_at": (Utc::now() + Duration::minutes(30)).to_rfc3339(),
                "expires_in_minutes": 60}),
            ),
            "grant_expires_at",
        ),
    ];
    for (body, field) in cases {
        app.post("/v1/me/share-codes", &alice, body)
            .await
            .expect_field_error(422, field);
    }
    app.post("/v1/me/share-codes", &alice, with(json!({"code": "mine"})))
        .await
        .expect_field_error(422, "code");
    assert_eq!(
        app.get("/v1/me/share-codes", &alice).await.body["items"],
        json!([])
    );
    // A day is the longest a code lives.
    let day = app
        .post(
            "/v1/me/share-codes",
            &alice,
            with(json!({"expires_in_minutes": 1440})),
        )
        .await;
    day.expect(201);
    let expires: DateTime<Utc> = day.body["expires_at"].as_str().unwrap().parse().unwrap();
    assert!(expires - Utc::now() > Duration::minutes(1439));
}

async fn a_person_holds_at_most_20_active_codes(app: TestApp) {
    let alice = app.person_token("alice");
    let body = offer("read", json!({"records": "all"}));
    let mut first = String::new();
    for n in 0..20 {
        let (id, _) = make(&app, &alice, body.clone()).await;
        if n == 0 {
            first = id;
        }
    }
    let refused = app.post("/v1/me/share-codes", &alice, body.clone()).await;
    refused.expect_problem(409);
    assert!(refused.body["detail"].as_str().unwrap().contains("20"));
    app.delete(&format!("/v1/me/share-codes/{first}"), &alice)
        .await
        .expect(200);
    make(&app, &alice, body).await;
}

async fn of_two_redeemers_at_once_exactly_one_wins(app: TestApp) {
    let one = app.org("One", "shared:read").await;
    let other = app.org("Other", "shared:read").await;
    let alice = app.person_token("alice");
    for _ in 0..3 {
        let (id, code) = make(&app, &alice, offer("read", json!({"records": "all"}))).await;
        let replies = join_all([redeem(&app, &one, &code), redeem(&app, &other, &code)]).await;
        let mut statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
        statuses.sort();
        assert_eq!(statuses, [201, 422], "{replies:#?}");
        let winner = replies.iter().find(|r| r.status == 201).unwrap();
        let seen = app.get(&format!("/v1/me/share-codes/{id}"), &alice).await;
        assert_eq!(seen.body["redemption"]["grant_id"], winner.body["id"]);
    }
    assert_eq!(grant_count(&app, &alice).await, 3);
}

/// A redemption as a proxy forwarding for `from` would send it.
async fn redeem_from(app: &TestApp, org: &OrgClient, code: &str, from: &str) -> Reply {
    let request = app
        .http
        .post(app.url("/v1/share-codes/redeem"))
        .bearer_auth(&org.token)
        .header("X-Forwarded-For", from)
        .json(&json!({"code": code}));
    Reply::from(request.send().await.unwrap()).await
}

fn count(replies: &[Reply], status: u16) -> usize {
    replies
        .iter()
        .filter(|r| r.status.as_u16() == status)
        .count()
}

async fn a_guessing_flood_is_answered_429_and_others_carry_on(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, |s| {
        s.protection.auth_failures_per_minute = 15;
        s.protection.trusted_proxies = vec!["127.0.0.1/32".into(), "::1".into()];
    })
    .await
    else {
        return;
    };
    let guesser = app.org("Guesser", "shared:read").await;
    let accomplice = app.org("Accomplice", "shared:read").await;
    let employer = app.org("Employer", "shared:read").await;
    let alice = app.person_token("alice");
    let alice_id = person_id(&app, &alice).await;
    let (_, code) = make(&app, &alice, offer("read", json!({"records": "all"}))).await;
    let (_, later) = make(&app, &alice, offer("read", json!({"records": "all"}))).await;
    redeem(&app, &employer, &code).await.expect(201);

    // One client guessing, at once: at most its 10 failures are looked at, the rest are 429.
    let guesses: Vec<String> = (0..30).map(|n| format!("{n:05}-00000")).collect();
    let replies = join_all(
        guesses
            .iter()
            .map(|g| redeem_from(&app, &guesser, g, "203.0.113.7")),
    )
    .await;
    assert_eq!(count(&replies, 422), 10, "{replies:#?}");
    assert_eq!(count(&replies, 429), 20);
    let limited = replies.iter().find(|r| r.status == 429).unwrap();
    limited.expect_problem(429);
    assert!(
        limited
            .header("retry-after")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    // Even a good code is not looked at until the budget refills.
    redeem_from(&app, &guesser, &later, "203.0.113.7")
        .await
        .expect_problem(429);

    // Another client from the same address has what is left of the address's budget (15).
    let replies = join_all(
        guesses
            .iter()
            .take(10)
            .map(|g| redeem_from(&app, &accomplice, g, "203.0.113.7")),
    )
    .await;
    assert_eq!((count(&replies, 422), count(&replies, 429)), (5, 5));

    // Everyone else carries on: reads, and a redemption from elsewhere.
    app.get(&format!("/v1/people/{alice_id}/records"), &employer.token)
        .await
        .expect(200);
    let elsewhere = redeem_from(&app, &employer, &later, "198.51.100.20").await;
    elsewhere.expect(201);
    assert_eq!(grant_count(&app, &alice).await, 2);
}

on_both_backends!(
    a_person_shares_by_code_and_the_employer_reads,
    a_used_expired_revoked_or_unknown_code_gets_one_answer,
    only_people_make_codes_and_only_scoped_clients_redeem_them,
    invalid_codes_name_the_field_and_store_nothing,
    a_person_holds_at_most_20_active_codes,
    of_two_redeemers_at_once_exactly_one_wins,
);

on_each_backend!(a_guessing_flood_is_answered_429_and_others_carry_on);
