//! Webhook delivery: at least once, retried with backoff, never lost across a crash, never sent
//! twice at once by several instances.

mod support;

use serde_json::{Value, json};
use support::TestApp;
use support::receiver::{Receiver, settle};
use support::webhooks::*;

async fn a_failing_receiver_gets_the_event_again_and_it_can_be_resent(app: TestApp) {
    let platform = app.org("Platform", "records:write").await;
    let receiver = Receiver::start();
    receiver.fail_next(2);
    let (webhook, secret) = subscribe(&app, &platform, &receiver, &["grant.created"]).await;
    let alice = app.person_token("alice");
    grant_all(&app, &alice, &platform, "write").await;

    let arrived = receiver.wait_for("grant.created", 1).await;
    let all = receiver.received();
    assert_eq!(all.len(), 3, "two failures, then success");
    assert!(
        all.iter().all(|r| r.id() == arrived[0].id()),
        "one webhook-id"
    );
    assert!(all.iter().all(|r| r.verifies_with(&secret)));

    let log = settled_deliveries(&app, &platform, &webhook).await;
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
    let mut pinned = log[0].clone();
    for attempt in pinned["attempts"].as_array_mut().unwrap() {
        attempt["duration_ms"] = json!(0);
    }
    snapshot!("webhook_delivery", pinned);
    // The worker counts an attempt once its record is committed: the log can show the delivery
    // a moment before the metric counts it.
    let counted = [
        r#"passport_webhook_attempts_total{outcome="retrying"} 2"#,
        r#"passport_webhook_attempts_total{outcome="delivered"} 1"#,
    ];
    let mut metrics = String::new();
    for _ in 0..50 {
        metrics = app
            .http
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if counted.iter().all(|line| metrics.contains(line)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for line in counted {
        assert!(
            metrics.contains(line),
            "{line} not in the metrics:\n{metrics}"
        );
    }

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
    // Nobody listens on this one at all.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_url = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    let unreachable = app
        .post(
            "/v1/webhooks",
            &platform.token,
            json!({"url": closed_url, "event_types": ["grant.created"]}),
        )
        .await;
    unreachable.expect(201);
    let unreachable = unreachable.body["id"].as_str().unwrap().to_owned();
    let alice = app.person_token("alice");
    grant_all(&app, &alice, &platform, "write").await;
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
    assert_eq!(failed.body["items"][0]["attempts"][0]["status_code"], 503);
    let refused = settled_deliveries(&app, &platform, &unreachable).await;
    let error = refused[0]["attempts"][0]["error"].as_str().unwrap();
    assert!(error.starts_with("could not connect"), "{error}");

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
    grant_all(&app, &alice, &platform, "write").await;
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
    grant_all(&app, &alice, &platform, "write").await;
    // The request is in flight: the service stops before it can record the answer.
    let started = std::time::Instant::now();
    while receiver.received().is_empty() {
        assert!(started.elapsed() < std::time::Duration::from_secs(15));
        actix_web::rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    app.restart_with(|_| {}).await;
    receiver.answer_after(std::time::Duration::ZERO);
    // Once the dead instance's lease runs out, the delivery goes again, under the same id.
    let arrived = receiver.wait_for("grant.created", 2).await;
    assert_eq!(arrived[0].id(), arrived[1].id());
    settle().await;
    assert_eq!(receiver.received().len(), 2);
    let log = settled_deliveries(&app, &platform, &webhook).await;
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
        grant_all(&app, &person, &platform, "write").await;
    }
    receiver.wait_for("grant.created", 30).await;
    settle().await;
    let received = receiver.received();
    let ids: std::collections::HashSet<&str> = received.iter().map(|r| r.id()).collect();
    assert_eq!(ids.len(), 30);
    assert_eq!(received.len(), 30, "an event was sent twice");
}

async fn the_deliveries_log_keeps_30_days(app: TestApp) {
    let platform = app.org("Platform", "records:write").await;
    let receiver = Receiver::start();
    let (webhook, _) = subscribe(&app, &platform, &receiver, &["grant.created"]).await;
    let alice = app.person_token("alice");
    grant_all(&app, &alice, &platform, "write").await;
    let log = settled_deliveries(&app, &platform, &webhook).await;
    let payload = log[0]["payload"].clone();

    // Two deliveries from 40 days ago: one delivered, one still pending.
    use diesel::prelude::*;
    use learning_passport::db::ids::{DeliveryId, WebhookId};
    use learning_passport::db::schema::webhook_deliveries as d;
    use learning_passport::db::types::{Json, Timestamp};
    let db = app.db.clone();
    let webhook_id: WebhookId = uuid::Uuid::parse_str(&webhook).unwrap().into();
    let old_at = chrono::Utc::now() - chrono::Duration::days(40);
    let (delivered, pending) = actix_web::rt::task::spawn_blocking(move || {
        let mut conn = db.get().unwrap();
        let ids = [
            DeliveryId::first_at(old_at),
            DeliveryId::first_at(old_at + chrono::Duration::seconds(1)),
        ];
        for (id, status) in ids.iter().zip(["delivered", "pending"]) {
            diesel::insert_into(d::table)
                .values((
                    d::id.eq(id),
                    d::webhook_id.eq(webhook_id),
                    d::event_type.eq("grant.created"),
                    d::payload.eq(Json(payload.clone())),
                    d::status.eq(status),
                    d::attempts.eq(1),
                    // Not due: the worker leaves the pending one alone.
                    d::next_attempt_at
                        .eq(Timestamp(chrono::Utc::now() + chrono::Duration::days(1))),
                    d::retry_from.eq(Timestamp(old_at)),
                    d::created_at.eq(Timestamp(old_at)),
                ))
                .execute(&mut *conn)
                .unwrap();
        }
        (ids[0].0.to_string(), ids[1].0.to_string())
    })
    .await
    .unwrap();
    let listed = |log: &[Value]| -> Vec<String> {
        log.iter()
            .map(|d| d["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(listed(&deliveries(&app, &platform, &webhook).await).contains(&delivered));
    // The sweep runs every second in tests.
    let started = std::time::Instant::now();
    loop {
        let ids = listed(&deliveries(&app, &platform, &webhook).await);
        if !ids.contains(&delivered) {
            assert!(ids.contains(&pending), "pending deliveries are kept");
            assert_eq!(ids.len(), 2);
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(15));
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn a_receiver_too_slow_to_answer_is_tried_again(app: TestApp) {
    let mut app = app;
    app.restart_with(|s| s.webhooks.timeout_seconds = 1).await;
    let platform = app.org("Platform", "records:write").await;
    let receiver = Receiver::start();
    receiver.answer_after(std::time::Duration::from_millis(2500));
    let (webhook, _) = subscribe(&app, &platform, &receiver, &["grant.created"]).await;
    let alice = app.person_token("alice");
    grant_all(&app, &alice, &platform, "write").await;
    let started = std::time::Instant::now();
    while receiver.received().is_empty() {
        assert!(started.elapsed() < std::time::Duration::from_secs(15));
        actix_web::rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // The receiver recovers its speed; the retry goes through.
    receiver.answer_after(std::time::Duration::ZERO);
    let log = settled_deliveries(&app, &platform, &webhook).await;
    assert_eq!(log[0]["status"], "delivered");
    let attempts = log[0]["attempts"].as_array().unwrap();
    assert!(attempts.len() >= 2, "{attempts:?}");
    let error = attempts[0]["error"].as_str().unwrap();
    assert!(error.starts_with("timed out"), "{error}");
    assert!(attempts[0]["status_code"].is_null());
    assert_eq!(attempts.last().unwrap()["status_code"], 204);
    let ids: std::collections::HashSet<String> = receiver
        .received()
        .iter()
        .map(|r| r.id().to_owned())
        .collect();
    assert_eq!(ids.len(), 1, "one webhook-id across the attempts");
}

async fn a_slow_receiver_does_not_hold_up_other_organisations(app: TestApp) {
    use std::time::{Duration, Instant};
    const SLOW: Duration = Duration::from_secs(8);
    let slow_org = app.org("Slow Learning", "records:write").await;
    let employer = app.org("Employer", "shared:read").await;
    let (slow, quick) = (Receiver::start(), Receiver::start());
    // Answers, but only after eight seconds (within the ten allowed), every time.
    slow.answer_after(SLOW);
    subscribe(&app, &slow_org, &slow, &["grant.created"]).await;
    subscribe(&app, &employer, &quick, &["grant.revoked"]).await;
    // Many events for the slow receiver, due before the one that matters.
    for i in 0..24 {
        let person = app.person_token(&format!("person-{i}"));
        grant_all(&app, &person, &slow_org, "write").await;
    }
    let started = Instant::now();
    while slow.received().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(15), "nothing sent");
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
    let alice = app.person_token("alice");
    let grant = grant_all(&app, &alice, &employer, "read").await;
    let revoked = Instant::now();
    app.delete(&format!("/v1/me/grants/{grant}"), &alice)
        .await
        .expect(200);
    quick.wait_for("grant.revoked", 1).await;
    // Told while the slow receiver still sits on its first answers: a worker that waited for
    // them would have taken the whole eight seconds at least.
    let waited = revoked.elapsed();
    assert!(waited < SLOW / 2, "grant.revoked took {waited:?}");
    // The slow receiver is sent several at once, but never more than its share.
    assert!(slow.most_at_once() <= 4, "{} at once", slow.most_at_once());
    assert!(slow.most_at_once() >= 2, "{} at once", slow.most_at_once());
}

async fn a_receiver_that_is_away_cannot_fill_the_outbox(app: TestApp) {
    let platform = app.org("Platform", "records:write").await;
    let other = app.org("Other platform", "records:write").await;
    let (receiver, other_receiver) = (Receiver::start(), Receiver::start());
    let (webhook, _) = subscribe(&app, &platform, &receiver, &["grant.created"]).await;
    subscribe(&app, &other, &other_receiver, &["grant.created"]).await;
    let shown = app
        .get(&format!("/v1/webhooks/{webhook}"), &platform.token)
        .await;
    assert_eq!(shown.body["events_dropped"], 0);
    // Its receiver has been away: 10,000 deliveries wait for it already.
    fill_queue(&app, &webhook, 10_000).await;
    let alice = app.person_token("alice");
    grant_all(&app, &alice, &platform, "write").await;
    grant_all(&app, &alice, &other, "write").await;
    // Nobody else notices.
    other_receiver.wait_for("grant.created", 1).await;
    // The event is not queued for the full subscription, and the subscription says so.
    let shown = app
        .get(&format!("/v1/webhooks/{webhook}"), &platform.token)
        .await;
    assert_eq!(shown.body["events_dropped"], 1);
    let pending = app
        .get(
            &format!("/v1/webhooks/{webhook}/deliveries?status=pending&limit=1"),
            &platform.token,
        )
        .await;
    assert_eq!(pending.body["items"][0]["event_type"], "webhook.test");
    let bob = app.person_token("bob");
    grant_all(&app, &bob, &platform, "write").await;
    let shown = app
        .get(&format!("/v1/webhooks/{webhook}"), &platform.token)
        .await;
    assert_eq!(shown.body["events_dropped"], 2);
    // No tests either, with such a queue.
    app.post(
        &format!("/v1/webhooks/{webhook}/test"),
        &platform.token,
        json!({}),
    )
    .await
    .expect_problem(409);
    settle().await;
    assert!(receiver.received().is_empty());

    // The backlog is given up; the next event goes through, and the count starts again.
    give_up(&app, &webhook, 10_000).await;
    let carol = app.person_token("carol");
    grant_all(&app, &carol, &platform, "write").await;
    receiver.wait_for("grant.created", 1).await;
    let started = std::time::Instant::now();
    loop {
        let shown = app
            .get(&format!("/v1/webhooks/{webhook}"), &platform.token)
            .await;
        if shown.body["events_dropped"] == 0 {
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(15));
        actix_web::rt::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

on_both_backends!(
    a_failing_receiver_gets_the_event_again_and_it_can_be_resent,
    a_receiver_that_stays_down_marks_the_subscription_failing,
    a_receiver_too_slow_to_answer_is_tried_again,
    an_event_survives_a_crash_between_the_change_and_its_delivery,
    a_delivery_cut_off_by_a_crash_is_sent_again_with_the_same_id,
    several_instances_share_the_work_without_sending_twice,
    the_deliveries_log_keeps_30_days,
    a_slow_receiver_does_not_hold_up_other_organisations,
    a_receiver_that_is_away_cannot_fill_the_outbox,
);
