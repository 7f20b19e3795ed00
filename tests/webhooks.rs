//! Webhooks: organisations subscribe to events, which arrive signed as the Standard Webhooks
//! specification describes, and only to the organisations entitled to them.

mod support;

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use support::TestApp;
use support::receiver::{Received, Receiver, settle};
use support::webhooks::*;

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
    let mut app = app;
    // The worker would look only once a minute: the change itself must wake it.
    app.restart_with(|s| s.webhooks.poll_ms = 60_000).await;
    let platform = app.org("Elsewhere Learning", "records:write").await;
    let receiver = Receiver::start();
    let (webhook, secret) = subscribe(&app, &platform, &receiver, &["grant.created"]).await;
    let alice = app.person_token("alice");
    let alice_id = person_id(&app, &alice).await;

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

    let log = settled_deliveries(&app, &platform, &webhook).await;
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
    // Expires in six seconds: `grant.expiring` at once (within the 14 days), then `grant.expired`.
    let short = grant(
        &app,
        &alice,
        &employer,
        "read",
        json!({"records": "all"}),
        (Utc::now() + Duration::seconds(6)).to_rfc3339(),
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
    assert!(expiring[0].verifies_with(&secret));
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
    assert!(erased[0].verifies_with(&secret));
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
    grant_all(&app, &alice, &platform, "write").await;
    // The platform may read too: it still does not hear of its own changes.
    grant_all(&app, &alice, &platform, "read").await;
    grant_all(&app, &alice, &reader, "read").await;
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
    assert!(voided[0].verifies_with(&reader_secret));

    // The owner's own edits are told too; an edit that changes nothing is not.
    let own = app
        .post(
            "/v1/me/records",
            &alice,
            json!({"kind": "course", "title": "Study"}),
        )
        .await;
    let own_id = own.body["id"].as_str().unwrap().to_owned();
    let own_path = format!("/v1/me/records/{own_id}");
    app.patch(&own_path, &alice, json!({"hidden": false}))
        .await
        .expect(200);
    app.patch(&own_path, &alice, json!({"title": "Study, part 1"}))
        .await
        .expect(200);
    let updated = reader_hook.wait_for("record.updated", 2).await;
    assert_eq!(updated[1].event()["data"]["record_id"], own_id.as_str());
    // A hidden record is never spoken of.
    app.patch(
        &own_path,
        &alice,
        json!({"hidden": true, "title": "Private study, part 2"}),
    )
    .await
    .expect(200);
    settle().await;
    assert_eq!(reader_hook.of_type("record.updated").len(), 2);
    assert!(narrow_hook.received().is_empty(), "outside its scope");
    assert!(outsider_hook.received().is_empty(), "no grant at all");
    // The platform reads too: it hears of the owner's edit, never of its own pushes and voids.
    let heard: Vec<Value> = platform_hook
        .received()
        .iter()
        .map(|r| r.event()["data"]["record_id"].clone())
        .collect();
    assert_eq!(heard, [json!(own_id)], "its own changes");
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
    let (_, employer_secret) =
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
    assert!(verified[0].verifies_with(&employer_secret));
    settle().await;
    assert!(records_only_hook.received().is_empty());
}

/// Each stored delivery's event type, status and the person it names.
async fn stored_deliveries(app: &TestApp) -> Vec<(String, String, Option<String>, String)> {
    use diesel::prelude::*;
    use learning_passport::db::ids::PersonId;
    use learning_passport::db::schema::webhook_deliveries as d;
    use learning_passport::db::types::Json;
    with_db(app, |conn| {
        d::table
            .select((d::event_type, d::status, d::person_id, d::payload))
            .load::<(String, String, Option<PersonId>, Json)>(conn)
            .unwrap()
            .into_iter()
            .map(|(event, status, person, payload)| {
                (
                    event,
                    status,
                    person.map(|p| p.0.to_string()),
                    payload.0.to_string(),
                )
            })
            .collect()
    })
    .await
}

async fn erasure_takes_the_person_out_of_the_deliveries_log(app: TestApp) {
    let mut app = app;
    // Nothing is sent at first, so that the erasure finds every delivery still queued.
    app.restart_with(|s| s.webhooks.worker = false).await;
    let employer = app.org("Employer", "shared:read").await;
    let gone = app.org("Gone away", "shared:read").await;
    let (employer_hook, gone_hook) = (Receiver::start(), Receiver::start());
    gone_hook.fail_next(usize::MAX);
    let types = ["grant.created", "grant.revoked", "person.erased"];
    let (employer_webhook, _) = subscribe(&app, &employer, &employer_hook, &types).await;
    let (gone_webhook, _) = subscribe(&app, &gone, &gone_hook, &types).await;
    let alice = app.person_token("alice");
    let bob = app.person_token("bob");
    let (alice_id, bob_id) = (person_id(&app, &alice).await, person_id(&app, &bob).await);
    let revoked = grant_all(&app, &alice, &employer, "read").await;
    grant_all(&app, &alice, &gone, "read").await;
    grant_all(&app, &bob, &employer, "read").await;
    app.delete(&format!("/v1/me/grants/{revoked}"), &alice)
        .await
        .expect(200);

    // Every delivery names the person it is about.
    let stored = stored_deliveries(&app).await;
    assert_eq!(stored.len(), 4);
    for (event, _, person, payload) in &stored {
        let person = person
            .as_deref()
            .unwrap_or_else(|| panic!("{event} names nobody"));
        assert!(payload.contains(person), "{event}: {payload}");
    }
    let about = |stored: &[(String, String, Option<String>, String)], who: &str| {
        stored
            .iter()
            .filter(|d| d.2.as_deref() == Some(who))
            .count()
    };
    assert_eq!((about(&stored, &alice_id), about(&stored, &bob_id)), (3, 1));

    // The erasure deletes what is about the person, except the news of the erasure itself.
    app.delete("/v1/me?confirm=true", &alice).await.expect(204);
    let stored = stored_deliveries(&app).await;
    let left: Vec<(&str, Option<&str>)> = stored
        .iter()
        .map(|(event, _, person, _)| (event.as_str(), person.as_deref()))
        .collect();
    assert_eq!(left.len(), 3, "{left:?}");
    assert!(left.contains(&("grant.created", Some(bob_id.as_str()))));
    assert_eq!(
        left.iter()
            .filter(|d| *d == &("person.erased", Some(alice_id.as_str())))
            .count(),
        2
    );

    // The organisations are still told, with the person's id, so that they delete their
    // copies; the one whose receiver is away gives up at once.
    app.restart_with(|s| {
        s.webhooks.worker = true;
        s.webhooks.retry_hours = 0;
    })
    .await;
    let told = employer_hook.wait_for("person.erased", 1).await;
    assert_eq!(told[0].event()["data"], json!({"person_id": alice_id}));
    let employer_log = settled_deliveries(&app, &employer, &employer_webhook).await;
    let gone_log = settled_deliveries(&app, &gone, &gone_webhook).await;
    let erasure = |log: &[Value]| {
        log.iter()
            .find(|d| d["event_type"] == "person.erased")
            .unwrap()
            .clone()
    };
    let (delivered, failed) = (erasure(&employer_log), erasure(&gone_log));
    assert_eq!(delivered["status"], "delivered");
    assert_eq!(failed["status"], "failed");
    // Once delivered or given up, nothing of the person is left: not in the body, not in the
    // receiver's answers, not in the delivery's own columns.
    for (log, delivery) in [(&employer_log, &delivered), (&gone_log, &failed)] {
        assert_eq!(delivery["payload"]["type"], "person.erased");
        assert_eq!(delivery["payload"]["data"], json!({"redacted": true}));
        assert!(delivery["payload"]["timestamp"].is_string());
        for attempt in delivery["attempts"].as_array().unwrap() {
            assert!(attempt["response_excerpt"].is_null(), "{attempt}");
        }
        assert!(!Value::Array(log.to_vec()).to_string().contains(&alice_id));
    }
    assert_eq!(failed["attempts"][0]["status_code"], 503);
    let stored = stored_deliveries(&app).await;
    assert!(stored.iter().all(|(_, _, person, payload)| {
        person.as_deref() != Some(alice_id.as_str()) && !payload.contains(&alice_id)
    }));
    // Bob's deliveries are untouched.
    assert!(
        employer_log
            .iter()
            .any(|d| d["payload"]["data"]["person_id"] == bob_id.as_str())
    );

    // What was erased cannot be sent again.
    for (org, webhook, delivery) in [
        (&employer, &employer_webhook, &delivered),
        (&gone, &gone_webhook, &failed),
    ] {
        let refused = app
            .post(
                &format!(
                    "/v1/webhooks/{webhook}/deliveries/{}/resend",
                    delivery["id"].as_str().unwrap()
                ),
                &org.token,
                json!({}),
            )
            .await;
        refused.expect_problem(409);
        assert!(
            refused.body["detail"].as_str().unwrap().contains("erased"),
            "{:#}",
            refused.body
        );
    }
}

/// A change commits with its event in the outbox; were the service to stop before the event is
/// turned into deliveries, the delivery worker tells of it later, once.
async fn an_event_left_in_the_outbox_is_told_by_the_worker(app: TestApp) {
    let platform = app.org("Platform", "records:write").await;
    let receiver = Receiver::start();
    subscribe(&app, &platform, &receiver, &["grant.created"]).await;
    let alice = app.person_token("alice");
    let alice_id = person_id(&app, &alice).await;
    let grant_id = grant_all(&app, &alice, &platform, "write").await;
    receiver.wait_for("grant.created", 1).await;

    // The same event again, written as a change would write it, but left undrained.
    let (grant, person) = (
        uuid::Uuid::parse_str(&grant_id).unwrap(),
        uuid::Uuid::parse_str(&alice_id).unwrap(),
    );
    with_db(&app, move |conn| {
        learning_passport::outbox::record(
            conn,
            learning_passport::outbox::Event::Grant {
                change: learning_passport::outbox::GrantChange::Created,
                grant_id: grant.into(),
                person_id: person.into(),
            },
        )
        .unwrap()
    })
    .await;
    let told = receiver.wait_for("grant.created", 2).await;
    assert_eq!(told[1].event()["data"]["grant_id"], grant_id.as_str());
    settle().await;
    assert_eq!(receiver.of_type("grant.created").len(), 2, "told once");
    let left = with_db(&app, |conn| {
        learning_passport::outbox::oldest(conn, 10).unwrap()
    })
    .await;
    assert!(left.is_empty(), "the outbox is empty once told: {left:?}");
}

on_both_backends!(
    a_platform_hears_at_once_that_a_person_connected_it,
    an_employer_hears_of_revocation_expiry_and_erasure,
    record_events_reach_only_organisations_that_may_read_the_record,
    attainment_verification_is_told_to_readers_of_attainments,
    erasure_takes_the_person_out_of_the_deliveries_log,
    an_event_left_in_the_outbox_is_told_by_the_worker,
);
