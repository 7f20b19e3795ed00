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

on_both_backends!(
    a_platform_hears_at_once_that_a_person_connected_it,
    an_employer_hears_of_revocation_expiry_and_erasure,
    record_events_reach_only_organisations_that_may_read_the_record,
    attainment_verification_is_told_to_readers_of_attainments,
);
