//! Webhooks: organisations subscribe to events, which arrive signed (Standard Webhooks), at
//! least once, survive crashes, and never reach an organisation not entitled to them.

mod support;

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use support::receiver::{Received, Receiver, settle};
use support::{OrgClient, TestApp};

fn in_days(days: i64) -> String {
    (Utc::now() + Duration::days(days)).to_rfc3339()
}

/// Subscribes an organisation's receiver to event types; answers (subscription id, secret).
async fn subscribe(
    app: &TestApp,
    org: &OrgClient,
    receiver: &Receiver,
    types: &[&str],
) -> (String, String) {
    let created = app
        .post(
            "/v1/webhooks",
            &org.token,
            json!({"url": receiver.url, "event_types": types, "description": "our LMS"}),
        )
        .await;
    created.expect(201);
    (
        created.body["id"].as_str().unwrap().to_owned(),
        created.body["secret"].as_str().unwrap().to_owned(),
    )
}

async fn grant(
    app: &TestApp,
    person: &str,
    org: &OrgClient,
    permission: &str,
    scope: Value,
    expires_at: String,
) -> String {
    let created = app
        .post(
            "/v1/me/grants",
            person,
            json!({"organisation_id": org.organisation_id, "permission": permission, "scope": scope, "purpose": "employment", "expires_at": expires_at}),
        )
        .await;
    created.expect(201);
    created.body["id"].as_str().unwrap().to_owned()
}

async fn person_id(app: &TestApp, token: &str) -> String {
    app.get("/v1/me", token).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn deliveries(app: &TestApp, org: &OrgClient, webhook: &str) -> Vec<Value> {
    let list = app
        .get(&format!("/v1/webhooks/{webhook}/deliveries"), &org.token)
        .await;
    list.expect(200);
    list.body["items"].as_array().unwrap().clone()
}

/// Checks a received request with the Standard Webhooks library for Python, through the
/// example receiver; `None` when the library is not installed outside CI (loudly).
fn stock_library_verdict(
    received: &Received,
    secret: &str,
    body: &[u8],
) -> Option<Result<Value, String>> {
    let available = std::process::Command::new("python3")
        .args(["-c", "import standardwebhooks"])
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        assert!(
            std::env::var("CI").is_err(),
            "CI is set but Python's standardwebhooks is missing"
        );
        eprintln!("!!! SKIPPING the check with the stock library: `pip install standardwebhooks`");
        return None;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/webhooks/receiver.py");
    let mut child = std::process::Command::new("python3")
        .args([script, "check", secret])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let request = json!({"headers": received.headers, "body": String::from_utf8_lossy(body)});
    std::io::Write::write_all(
        &mut child.stdin.take().unwrap(),
        request.to_string().as_bytes(),
    )
    .unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    Some(if output.status.success() {
        Ok(serde_json::from_str(&stdout).unwrap())
    } else {
        Err(stdout)
    })
}

async fn a_platform_hears_at_once_that_a_person_connected_it(app: TestApp) {
    let platform = app.org("Elsewhere Learning", "records:write").await;
    let receiver = Receiver::start();
    let (webhook, secret) = subscribe(&app, &platform, &receiver, &["grant.created"]).await;
    let alice = app.person_token("alice");
    let alice_id = person_id(&app, &alice).await;

    let started = std::time::Instant::now();
    let grant_id = grant(
        &app,
        &alice,
        &platform,
        "write",
        json!({"records": "all", "attainments": false}),
        in_days(90),
    )
    .await;
    let arrived = receiver.wait_for("grant.created", 1).await;
    // Not a timing assertion on speed, only that it is not left to a slow poll.
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let event = &arrived[0];
    assert!(event.verifies_with(&secret), "signature does not verify");
    assert!(!event.verifies_with("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
    assert_eq!(event.header("content-type"), "application/json");
    // A stock Standard Webhooks library accepts it, and refuses it once altered.
    if let Some(verdict) = stock_library_verdict(event, &secret, &event.body) {
        assert_eq!(verdict.unwrap()["type"], "grant.created");
        let tampered = String::from_utf8_lossy(&event.body).replace("write", "read");
        let refused = stock_library_verdict(event, &secret, tampered.as_bytes()).unwrap();
        assert!(refused.is_err());
    }
    let body = event.event();
    assert_eq!(body["type"], "grant.created");
    assert_eq!(body["data"]["grant_id"], grant_id.as_str());
    assert_eq!(body["data"]["person_id"], alice_id.as_str());
    assert_eq!(body["data"]["permission"], "write");
    assert_eq!(body["data"]["scope"]["records"], "all");
    // Ids and what the organisation's grant list shows; nothing of the person beyond that.
    let mut keys: Vec<&str> = body["data"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "expires_at",
            "grant_id",
            "permission",
            "person_id",
            "purpose",
            "revoked_at",
            "scope"
        ]
    );
    snapshot!("webhook_grant_created", body);

    // The platform starts pushing under the grant it heard of.
    app.post(
        "/v1/completions",
        &platform.token,
        json!({"completions": [{"person_id": body["data"]["person_id"], "external_id": "c-1", "title": "Fire safety", "kind": "statutory_mandatory", "completed_at": "2026-03-01T10:00:00Z", "result": "passed"}]}),
    )
    .await
    .expect(200);

    let log = deliveries(&app, &platform, &webhook).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["id"], event.id());
    assert_eq!(log[0]["status"], "delivered");
    assert_eq!(log[0]["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(log[0]["attempts"][0]["status_code"], 204);
    assert_eq!(log[0]["payload"], body);
}

async fn an_employer_hears_of_revocation_expiry_and_erasure(app: TestApp) {
    let employer = app.org("St Elsewhere", "shared:read").await;
    let receiver = Receiver::start();
    let (_, secret) = subscribe(
        &app,
        &employer,
        &receiver,
        &[
            "grant.created",
            "grant.revoked",
            "grant.expiring",
            "grant.expired",
            "person.erased",
        ],
    )
    .await;
    let alice = app.person_token("alice");
    let long = grant(
        &app,
        &alice,
        &employer,
        "read",
        json!({"records": "all"}),
        in_days(200),
    )
    .await;
    // Expires in three seconds: `grant.expiring` at once (within the 14 days), then `grant.expired`.
    let short = grant(
        &app,
        &alice,
        &employer,
        "read",
        json!({"records": "all"}),
        (Utc::now() + Duration::seconds(3)).to_rfc3339(),
    )
    .await;
    receiver.wait_for("grant.created", 2).await;

    app.delete(&format!("/v1/me/grants/{long}"), &alice)
        .await
        .expect(200);
    let revoked = receiver.wait_for("grant.revoked", 1).await;
    assert_eq!(revoked[0].event()["data"]["grant_id"], long.as_str());
    assert!(revoked[0].event()["data"]["revoked_at"].is_string());
    assert!(revoked[0].verifies_with(&secret));

    let expiring = receiver.wait_for("grant.expiring", 1).await;
    assert_eq!(expiring[0].event()["data"]["grant_id"], short.as_str());
    let expired = receiver.wait_for("grant.expired", 1).await;
    assert_eq!(expired[0].event()["data"]["grant_id"], short.as_str());
    assert!(expired[0].verifies_with(&secret));
    settle().await;
    // Each notice once; none for the revoked grant.
    assert_eq!(receiver.of_type("grant.expiring").len(), 1);
    assert_eq!(receiver.of_type("grant.expired").len(), 1);

    let alice_id = person_id(&app, &alice).await;
    app.delete("/v1/me?confirm=true", &alice).await.expect(204);
    let erased = receiver.wait_for("person.erased", 1).await;
    assert_eq!(erased[0].event()["data"], json!({"person_id": alice_id}));
}

async fn record_events_reach_only_organisations_that_may_read_the_record(app: TestApp) {
    let platform = app.org("Platform", "records:write").await;
    let reader = app.org("Reader", "shared:read").await;
    let narrow = app.org("Narrow reader", "shared:read").await;
    let outsider = app.org("Outsider", "shared:read").await;
    let (platform_hook, reader_hook, narrow_hook, outsider_hook) = (
        Receiver::start(),
        Receiver::start(),
        Receiver::start(),
        Receiver::start(),
    );
    let all = ["record.updated", "record.voided"];
    subscribe(&app, &platform, &platform_hook, &all).await;
    let (_, reader_secret) = subscribe(&app, &reader, &reader_hook, &all).await;
    subscribe(&app, &narrow, &narrow_hook, &all).await;
    subscribe(&app, &outsider, &outsider_hook, &all).await;
    let alice = app.person_token("alice");
    let alice_id = person_id(&app, &alice).await;
    grant(
        &app,
        &alice,
        &platform,
        "write",
        json!({"records": "all"}),
        in_days(30),
    )
    .await;
    // The platform may read too: it still does not hear of its own changes.
    grant(
        &app,
        &alice,
        &platform,
        "read",
        json!({"records": "all"}),
        in_days(30),
    )
    .await;
    grant(
        &app,
        &alice,
        &reader,
        "read",
        json!({"records": "all"}),
        in_days(30),
    )
    .await;
    grant(
        &app,
        &alice,
        &narrow,
        "read",
        json!({"records": {"kinds": ["cpd"]}}),
        in_days(30),
    )
    .await;

    let item = |title: &str| json!({"completions": [{"person_id": alice_id, "external_id": "fire-1", "title": title, "kind": "statutory_mandatory", "completed_at": "2026-03-01T10:00:00Z", "result": "passed"}]});
    let pushed = app
        .post("/v1/completions", &platform.token, item("Fire safety"))
        .await;
    pushed.expect(200);
    let record_id = pushed.body["results"][0]["record_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        "/v1/completions",
        &platform.token,
        item("Fire safety, level 2"),
    )
    .await
    .expect(200);
    let updated = reader_hook.wait_for("record.updated", 1).await;
    assert!(updated[0].verifies_with(&reader_secret));
    assert_eq!(
        updated[0].event()["data"],
        json!({"person_id": alice_id, "record_id": record_id})
    );

    app.post(
        "/v1/completions/fire-1/void",
        &platform.token,
        json!({"reason": "issued in error"}),
    )
    .await
    .expect(200);
    let voided = reader_hook.wait_for("record.voided", 1).await;
    assert_eq!(voided[0].event()["data"]["record_id"], record_id.as_str());

    // A hidden record is never spoken of.
    let own = app
        .post(
            "/v1/me/records",
            &alice,
            json!({"kind": "course", "title": "Private study"}),
        )
        .await;
    let own_id = own.body["id"].as_str().unwrap().to_owned();
    app.patch(
        &format!("/v1/me/records/{own_id}"),
        &alice,
        json!({"hidden": true, "title": "Private study, part 2"}),
    )
    .await
    .expect(200);
    settle().await;
    assert_eq!(reader_hook.of_type("record.updated").len(), 1);
    assert!(narrow_hook.received().is_empty(), "outside its scope");
    assert!(outsider_hook.received().is_empty(), "no grant at all");
    assert!(platform_hook.received().is_empty(), "its own changes");
}

async fn attainment_verification_is_told_to_readers_of_attainments(app: TestApp) {
    let admin = app.org("Admin", "admin").await;
    let framework: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/frameworks/dghp-lof-example.json"
        ))
        .unwrap(),
    )
    .unwrap();
    app.call(
        support::Method::PUT,
        "/v1/frameworks/dghp-lof-example/0.1-example",
        Some(&admin.token),
        Some(framework),
    )
    .await
    .expect(201);
    let host = app.org("Host hospital", "records:write").await;
    let employer = app.org("Employer", "shared:read").await;
    let records_only = app.org("Records only", "shared:read").await;
    let (employer_hook, records_only_hook) = (Receiver::start(), Receiver::start());
    subscribe(&app, &employer, &employer_hook, &["attainment.verified"]).await;
    subscribe(
        &app,
        &records_only,
        &records_only_hook,
        &["attainment.verified"],
    )
    .await;
    let alice = app.person_token("alice");
    let alice_id = person_id(&app, &alice).await;
    grant(
        &app,
        &alice,
        &host,
        "write",
        json!({"records": "all", "attainments": true}),
        in_days(30),
    )
    .await;
    grant(
        &app,
        &alice,
        &employer,
        "read",
        json!({"records": "all", "attainments": true}),
        in_days(30),
    )
    .await;
    grant(
        &app,
        &alice,
        &records_only,
        "read",
        json!({"records": "all", "attainments": false}),
        in_days(30),
    )
    .await;
    let attainment = app
        .post(
            "/v1/me/attainments",
            &alice,
            json!({"framework": {"code": "dghp-lof-example", "version": "0.1-example"}, "outcome_code": "EX-CONTEXT-01", "level": 2, "achieved_on": "2026-05-01"}),
        )
        .await;
    attainment.expect(201);
    let id = attainment.body["id"].as_str().unwrap();
    app.post(
        &format!("/v1/attainments/{id}/verification"),
        &host.token,
        json!({"assessor_name": "Dr A. Mensah", "assessor_role": "Supervisor", "level": 2}),
    )
    .await
    .expect(200);
    let verified = employer_hook.wait_for("attainment.verified", 1).await;
    assert_eq!(
        verified[0].event()["data"],
        json!({"person_id": alice_id, "attainment_id": id})
    );
    settle().await;
    assert!(records_only_hook.received().is_empty());
}

async fn a_failing_receiver_gets_the_event_again_and_it_can_be_resent(app: TestApp) {
    let platform = app.org("Platform", "records:write").await;
    let receiver = Receiver::start();
    receiver.fail_next(2);
    let (webhook, secret) = subscribe(&app, &platform, &receiver, &["grant.created"]).await;
    let alice = app.person_token("alice");
    grant(
        &app,
        &alice,
        &platform,
        "write",
        json!({"records": "all"}),
        in_days(30),
    )
    .await;

    let arrived = receiver.wait_for("grant.created", 1).await;
    let all = receiver.received();
    assert_eq!(all.len(), 3, "two failures, then success");
    assert!(
        all.iter().all(|r| r.id() == arrived[0].id()),
        "one webhook-id"
    );
    assert!(all.iter().all(|r| r.verifies_with(&secret)));

    let log = deliveries(&app, &platform, &webhook).await;
    assert_eq!(log[0]["status"], "delivered");
    let codes: Vec<&Value> = log[0]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["status_code"])
        .collect();
    assert_eq!(codes, [&json!(503), &json!(503), &json!(204)]);
    assert_eq!(
        log[0]["attempts"][0]["response_excerpt"],
        "receiver down for maintenance"
    );

    let resent = app
        .post(
            &format!(
                "/v1/webhooks/{webhook}/deliveries/{}/resend",
                log[0]["id"].as_str().unwrap()
            ),
            &platform.token,
            json!({}),
        )
        .await;
    resent.expect(202);
    receiver.wait_for("grant.created", 2).await;
    assert_eq!(receiver.received().last().unwrap().id(), arrived[0].id());
}

async fn a_receiver_that_stays_down_marks_the_subscription_failing(app: TestApp) {
    let mut app = app;
    app.restart_with(|s| s.webhooks.retry_hours = 0).await;
    let platform = app.org("Platform", "records:write").await;
    let receiver = Receiver::start();
    receiver.fail_next(usize::MAX);
    let (webhook, _) = subscribe(&app, &platform, &receiver, &["grant.created"]).await;
    let alice = app.person_token("alice");
    grant(
        &app,
        &alice,
        &platform,
        "write",
        json!({"records": "all"}),
        in_days(30),
    )
    .await;
    let mut waited = 0;
    loop {
        let shown = app
            .get(&format!("/v1/webhooks/{webhook}"), &platform.token)
            .await;
        if shown.body["failing_since"].is_string() {
            break;
        }
        waited += 1;
        assert!(waited < 300, "never marked failing");
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let failed = app
        .get(
            &format!("/v1/webhooks/{webhook}/deliveries?status=failed"),
            &platform.token,
        )
        .await;
    assert_eq!(failed.body["items"].as_array().unwrap().len(), 1);

    // The receiver recovers; a delivery re-sent by hand succeeds and clears the mark.
    receiver.fail_next(0);
    let id = failed.body["items"][0]["id"].as_str().unwrap();
    app.post(
        &format!("/v1/webhooks/{webhook}/deliveries/{id}/resend"),
        &platform.token,
        json!({}),
    )
    .await
    .expect(202);
    receiver.wait_for("grant.created", 1).await;
    settle().await;
    let shown = app
        .get(&format!("/v1/webhooks/{webhook}"), &platform.token)
        .await;
    assert!(shown.body["failing_since"].is_null());
}

async fn an_event_survives_a_crash_between_the_change_and_its_delivery(app: TestApp) {
    let mut app = app;
    // This instance records changes but delivers nothing, then stops at once.
    app.restart_with(|s| s.webhooks.worker = false).await;
    let platform = app.org("Platform", "records:write").await;
    let receiver = Receiver::start();
    let (webhook, secret) = subscribe(&app, &platform, &receiver, &["grant.created"]).await;
    let alice = app.person_token("alice");
    grant(
        &app,
        &alice,
        &platform,
        "write",
        json!({"records": "all"}),
        in_days(30),
    )
    .await;
    settle().await;
    assert!(receiver.received().is_empty());
    assert_eq!(
        deliveries(&app, &platform, &webhook).await[0]["status"],
        "pending"
    );

    app.restart_with(|s| s.webhooks.worker = true).await;
    let arrived = receiver.wait_for("grant.created", 1).await;
    assert!(arrived[0].verifies_with(&secret));
    settle().await;
    assert_eq!(receiver.received().len(), 1, "exactly once");
}

async fn a_delivery_cut_off_by_a_crash_is_sent_again_with_the_same_id(app: TestApp) {
    let mut app = app;
    app.restart_with(|s| s.webhooks.timeout_seconds = 2).await;
    let platform = app.org("Platform", "records:write").await;
    let receiver = Receiver::start();
    receiver.answer_after(std::time::Duration::from_millis(1500));
    let (webhook, _) = subscribe(&app, &platform, &receiver, &["grant.created"]).await;
    let alice = app.person_token("alice");
    grant(
        &app,
        &alice,
        &platform,
        "write",
        json!({"records": "all"}),
        in_days(30),
    )
    .await;
    // The request is in flight: the service stops before it can record the answer.
    while receiver.received().is_empty() {
        actix_web::rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    app.restart_with(|_| {}).await;
    receiver.answer_after(std::time::Duration::ZERO);
    // Once the dead instance's lease runs out, the delivery goes again, under the same id.
    let arrived = receiver.wait_for("grant.created", 2).await;
    assert_eq!(arrived[0].id(), arrived[1].id());
    settle().await;
    assert_eq!(receiver.received().len(), 2);
    let log = deliveries(&app, &platform, &webhook).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["status"], "delivered");
}

async fn several_instances_share_the_work_without_sending_twice(app: TestApp) {
    let mut app = app;
    app.another_instance().await;
    app.another_instance().await;
    let platform = app.org("Platform", "records:write").await;
    let receiver = Receiver::start();
    subscribe(&app, &platform, &receiver, &["grant.created"]).await;
    for i in 0..30 {
        let person = app.person_token(&format!("person-{i}"));
        grant(
            &app,
            &person,
            &platform,
            "write",
            json!({"records": "all"}),
            in_days(30),
        )
        .await;
    }
    receiver.wait_for("grant.created", 30).await;
    settle().await;
    let received = receiver.received();
    let ids: std::collections::HashSet<&str> = received.iter().map(|r| r.id()).collect();
    assert_eq!(ids.len(), 30);
    assert_eq!(received.len(), 30, "an event was sent twice");
}

async fn an_organisation_reaches_only_its_own_subscriptions_and_events(app: TestApp) {
    let first = app.org("First", "records:write").await;
    let second = app.org("Second", "shared:read").await;
    let (first_hook, second_hook) = (Receiver::start(), Receiver::start());
    let (first_webhook, _) = subscribe(&app, &first, &first_hook, &["grant.created"]).await;
    subscribe(&app, &second, &second_hook, &["grant.created"]).await;
    let alice = app.person_token("alice");
    grant(
        &app,
        &alice,
        &first,
        "write",
        json!({"records": "all"}),
        in_days(30),
    )
    .await;
    first_hook.wait_for("grant.created", 1).await;
    settle().await;
    assert!(second_hook.received().is_empty());

    let path = format!("/v1/webhooks/{first_webhook}");
    app.get(&path, &second.token).await.expect_problem(404);
    app.patch(&path, &second.token, json!({"status": "paused"}))
        .await
        .expect_problem(404);
    app.delete(&path, &second.token).await.expect_problem(404);
    app.post(&format!("{path}/rotate"), &second.token, json!({}))
        .await
        .expect_problem(404);
    app.get(&format!("{path}/deliveries"), &second.token)
        .await
        .expect_problem(404);
    let list = app.get("/v1/webhooks", &second.token).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert_ne!(list.body["items"][0]["id"], first_webhook.as_str());
    // People and anonymous callers have no subscriptions.
    app.get("/v1/webhooks", &alice).await.expect_problem(403);
    app.call(support::Method::GET, "/v1/webhooks", None, None)
        .await
        .expect_problem(401);
    // The secret is shown once, never again.
    let shown = app.get(&path, &first.token).await;
    shown.expect(200);
    assert!(shown.body.get("secret").is_none());
}

async fn webhook_urls_on_private_networks_are_refused(app: TestApp) {
    let mut app = app;
    app.restart_with(|s| s.webhooks.allow_private = false).await;
    let org = app.org("Org", "shared:read").await;
    for url in [
        "https://10.0.0.7/hook",
        "https://192.168.1.20/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[fd12::1]/hook",
        "http://127.0.0.1:9000/hook",
        "http://hooks.example.org/hook",
        "ftp://hooks.example.org/hook",
        "not a url",
    ] {
        app.post(
            "/v1/webhooks",
            &org.token,
            json!({"url": url, "event_types": ["grant.created"]}),
        )
        .await
        .expect_field_error(422, "url");
    }
    let list = app.get("/v1/webhooks", &org.token).await;
    assert!(list.body["items"].as_array().unwrap().is_empty());
    // A public https URL is fine.
    app.post(
        "/v1/webhooks",
        &org.token,
        json!({"url": "https://hooks.example.org/passport", "event_types": ["grant.created"]}),
    )
    .await
    .expect(201);
    // Changing it to a private address is refused as well, and changes nothing.
    let id = app.get("/v1/webhooks", &org.token).await.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.patch(
        &format!("/v1/webhooks/{id}"),
        &org.token,
        json!({"url": "https://10.0.0.7/hook"}),
    )
    .await
    .expect_field_error(422, "url");
    let shown = app.get(&format!("/v1/webhooks/{id}"), &org.token).await;
    assert_eq!(shown.body["url"], "https://hooks.example.org/passport");
}

async fn invalid_subscriptions_name_the_field_and_store_nothing(app: TestApp) {
    let org = app.org("Org", "shared:read").await;
    let receiver = Receiver::start();
    app.post(
        "/v1/webhooks",
        &org.token,
        json!({"url": receiver.url, "event_types": []}),
    )
    .await
    .expect_field_error(422, "event_types");
    app.post(
        "/v1/webhooks",
        &org.token,
        json!({"url": receiver.url, "event_types": ["grant.created", "grant.created"]}),
    )
    .await
    .expect_field_error(422, "event_types");
    let unknown = app
        .post(
            "/v1/webhooks",
            &org.token,
            json!({"url": receiver.url, "event_types": ["grant.exploded"]}),
        )
        .await;
    assert_eq!(unknown.status.as_u16(), 422);
    assert!(unknown.body.to_string().contains("event_types"));
    app.post(
        "/v1/webhooks",
        &org.token,
        json!({"event_types": ["grant.created"]}),
    )
    .await
    .expect_problem(422);
    let list = app.get("/v1/webhooks", &org.token).await;
    assert!(list.body["items"].as_array().unwrap().is_empty());
}

async fn a_rotated_secret_signs_alongside_the_old_one_and_pausing_stops_delivery(app: TestApp) {
    let platform = app.org("Platform", "records:write").await;
    let receiver = Receiver::start();
    let (webhook, old) = subscribe(&app, &platform, &receiver, &["grant.created"]).await;
    let rotated = app
        .post(
            &format!("/v1/webhooks/{webhook}/rotate"),
            &platform.token,
            json!({}),
        )
        .await;
    rotated.expect(200);
    let new = rotated.body["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(new.starts_with("whsec_"));
    let alice = app.person_token("alice");
    grant(
        &app,
        &alice,
        &platform,
        "write",
        json!({"records": "all"}),
        in_days(30),
    )
    .await;
    let arrived = receiver.wait_for("grant.created", 1).await;
    assert_eq!(arrived[0].header("webhook-signature").split(' ').count(), 2);
    assert!(arrived[0].verifies_with(&new));
    assert!(arrived[0].verifies_with(&old));

    let paused = app
        .patch(
            &format!("/v1/webhooks/{webhook}"),
            &platform.token,
            json!({"status": "paused"}),
        )
        .await;
    paused.expect(200);
    assert_eq!(paused.body["status"], "paused");
    let bob = app.person_token("bob");
    grant(
        &app,
        &bob,
        &platform,
        "write",
        json!({"records": "all"}),
        in_days(30),
    )
    .await;
    settle().await;
    assert_eq!(
        receiver.received().len(),
        1,
        "a paused subscription is sent nothing"
    );

    app.patch(
        &format!("/v1/webhooks/{webhook}"),
        &platform.token,
        json!({"status": "active", "event_types": ["grant.created", "grant.revoked"]}),
    )
    .await
    .expect(200);
    let carol = app.person_token("carol");
    grant(
        &app,
        &carol,
        &platform,
        "write",
        json!({"records": "all"}),
        in_days(30),
    )
    .await;
    receiver.wait_for("grant.created", 2).await;

    app.delete(&format!("/v1/webhooks/{webhook}"), &platform.token)
        .await
        .expect(204);
    app.get(&format!("/v1/webhooks/{webhook}"), &platform.token)
        .await
        .expect_problem(404);
}

on_both_backends!(
    a_platform_hears_at_once_that_a_person_connected_it,
    an_employer_hears_of_revocation_expiry_and_erasure,
    record_events_reach_only_organisations_that_may_read_the_record,
    attainment_verification_is_told_to_readers_of_attainments,
    a_failing_receiver_gets_the_event_again_and_it_can_be_resent,
    a_receiver_that_stays_down_marks_the_subscription_failing,
    an_event_survives_a_crash_between_the_change_and_its_delivery,
    a_delivery_cut_off_by_a_crash_is_sent_again_with_the_same_id,
    several_instances_share_the_work_without_sending_twice,
    an_organisation_reaches_only_its_own_subscriptions_and_events,
    webhook_urls_on_private_networks_are_refused,
    invalid_subscriptions_name_the_field_and_store_nothing,
    a_rotated_secret_signs_alongside_the_old_one_and_pausing_stops_delivery,
);
