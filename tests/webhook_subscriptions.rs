//! Webhook subscriptions: each organisation manages its own, only https URLs on public
//! addresses, secrets rotate with a grace period, and paused subscriptions are sent nothing.

mod support;

use serde_json::json;
use support::TestApp;
use support::receiver::{Receiver, settle};
use support::webhooks::*;

async fn an_organisation_reaches_only_its_own_subscriptions_and_events(app: TestApp) {
    let first = app.org("First", "records:write").await;
    let second = app.org("Second", "shared:read").await;
    let (first_hook, second_hook) = (Receiver::start(), Receiver::start());
    let (first_webhook, _) = subscribe(&app, &first, &first_hook, &["grant.created"]).await;
    subscribe(&app, &second, &second_hook, &["grant.created"]).await;
    let alice = app.person_token("alice");
    grant_all(&app, &alice, &first, "write").await;
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
    // Subscribed while loopback was allowed, then the setting is turned off.
    let org = app.org("Org", "records:write").await;
    let receiver = Receiver::start();
    let (loopback, _) = subscribe(&app, &org, &receiver, &["grant.created"]).await;
    // Special-purpose addresses are refused even while private ones are allowed, in every
    // form an IPv6 address can carry an IPv4 one.
    for (url, address) in [
        ("https://192.0.0.8/hook", "192.0.0.8"),
        ("https://192.0.2.10/hook", "192.0.2.10"),
        ("https://198.18.0.1/hook", "198.18.0.1"),
        ("https://203.0.113.9/hook", "203.0.113.9"),
        ("https://240.0.0.1/hook", "240.0.0.1"),
        ("https://255.255.255.255/hook", "255.255.255.255"),
        ("https://224.0.0.251/hook", "224.0.0.251"),
        ("https://[64:ff9b::c000:20a]/hook", "64:ff9b::c000:20a"),
        ("https://[64:ff9b:1::1]/hook", "64:ff9b:1::1"),
        ("https://[2002:c000:20a::1]/hook", "2002:c000:20a::1"),
        ("https://[2001::1]/hook", "2001::1"),
        ("https://[2001:db8::1]/hook", "2001:db8::1"),
        ("https://[3fff::1]/hook", "3fff::1"),
        ("https://[5f00::1]/hook", "5f00::1"),
        ("https://[fec0::1]/hook", "fec0::1"),
        ("https://[ff02::1]/hook", "ff02::1"),
        ("https://[100::1]/hook", "100::1"),
    ] {
        let refused = app
            .post(
                "/v1/webhooks",
                &org.token,
                json!({"url": url, "event_types": ["grant.created"]}),
            )
            .await;
        refused.expect_field_error(422, "url");
        assert!(
            !refused.body.to_string().contains(address),
            "the refusal echoes the address: {:#}",
            refused.body
        );
    }
    app.restart_with(|s| {
        s.webhooks.allow_private = false;
        s.webhooks.retry_hours = 0;
    })
    .await;
    for url in [
        "https://10.0.0.7/hook",
        "https://192.168.1.20/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://100.100.1.1/hook",
        "https://[::1]/hook",
        "https://[fd12::1]/hook",
        "https://[fe80::1]/hook",
        // Private addresses inside IPv6 forms that carry IPv4: mapped, compatible, NAT64
        // and 6to4.
        "https://[::ffff:10.0.0.7]/hook",
        "https://[::10.0.0.7]/hook",
        "https://[64:ff9b::a00:7]/hook",
        "https://[64:ff9b::169.254.169.254]/hook",
        "https://[2002:a00:7::1]/hook",
        "https://[2002:a9fe:a9fe::1]/hook",
        "http://127.0.0.1:9000/hook",
        "http://hooks.example.org/hook",
        "ftp://hooks.example.org/hook",
        "not a url",
    ] {
        let refused = app
            .post(
                "/v1/webhooks",
                &org.token,
                json!({"url": url, "event_types": ["grant.created"]}),
            )
            .await;
        refused.expect_field_error(422, "url");
        for address in [
            "10.0.0.7",
            "a00:7",
            "169.254.169.254",
            "a9fe",
            "127.0.0.1",
            "::1",
        ] {
            assert!(
                !url.contains(address) || !refused.body.to_string().contains(address),
                "the refusal echoes the address: {:#}",
                refused.body
            );
        }
    }
    let list = app.get("/v1/webhooks", &org.token).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    // What was allowed before is refused at delivery, without a request.
    let alice = app.person_token("alice");
    grant_all(&app, &alice, &org, "write").await;
    let log = settled_deliveries(&app, &org, &loopback).await;
    assert_eq!(log[0]["status"], "failed");
    let error = log[0]["attempts"][0]["error"].as_str().unwrap();
    assert!(error.starts_with("not sent"), "{error}");
    assert!(!error.contains("127.0.0.1"), "{error}");
    assert!(log[0]["attempts"][0]["status_code"].is_null());
    assert!(receiver.received().is_empty());
    app.delete(&format!("/v1/webhooks/{loopback}"), &org.token)
        .await
        .expect(204);
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
    snapshot!("webhook", shown.body);
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
    let before_rotation = app
        .get(&format!("/v1/webhooks/{webhook}"), &platform.token)
        .await
        .header("etag")
        .unwrap()
        .to_owned();
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
    // At rest the secrets are sealed: a copy of the database does not hold them.
    use diesel::prelude::*;
    use learning_passport::db::schema::webhooks as w;
    let db = app.db.clone();
    let stored: Vec<(String, Option<String>)> = actix_web::rt::task::spawn_blocking(move || {
        w::table
            .select((w::secret, w::previous_secret))
            .load(&mut *db.get().unwrap())
            .unwrap()
    })
    .await
    .unwrap();
    let (current, previous) = &stored[0];
    let previous = previous.as_deref().unwrap();
    for secret in [&old, &new] {
        let key = secret.trim_start_matches("whsec_");
        assert!(!current.contains(key) && !previous.contains(key));
    }
    assert!(current.starts_with("sealed:") && previous.starts_with("sealed:"));
    let alice = app.person_token("alice");
    grant_all(&app, &alice, &platform, "write").await;
    let arrived = receiver.wait_for("grant.created", 1).await;
    assert_eq!(arrived[0].header("webhook-signature").split(' ').count(), 2);
    assert!(arrived[0].verifies_with(&new));
    assert!(arrived[0].verifies_with(&old));

    // Changes honour If-Match: the ETag read before the rotation is stale now.
    let path = format!("/v1/webhooks/{webhook}");
    let with_tag = |tag: String| {
        app.http
            .patch(app.url(&path))
            .bearer_auth(&platform.token)
            .header("if-match", tag)
            .json(&json!({"status": "paused"}))
    };
    let stale = with_tag(before_rotation).send().await.unwrap();
    assert_eq!(stale.status(), 412);
    assert_eq!(
        app.get(&path, &platform.token).await.body["status"],
        "active"
    );
    let current = app.get(&path, &platform.token).await;
    let paused = with_tag(current.header("etag").unwrap().to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(paused.status(), 200);
    assert_ne!(paused.headers()["etag"], current.header("etag").unwrap());
    let paused: serde_json::Value = paused.json().await.unwrap();
    assert_eq!(paused["status"], "paused");
    let bob = app.person_token("bob");
    grant_all(&app, &bob, &platform, "write").await;
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
    grant_all(&app, &carol, &platform, "write").await;
    receiver.wait_for("grant.created", 2).await;

    app.delete(&format!("/v1/webhooks/{webhook}"), &platform.token)
        .await
        .expect(204);
    app.get(&format!("/v1/webhooks/{webhook}"), &platform.token)
        .await
        .expect_problem(404);
}

async fn a_test_event_checks_the_receiver_on_demand(app: TestApp) {
    let platform = app.org("Platform", "records:write").await;
    let other = app.org("Other", "shared:read").await;
    let receiver = Receiver::start();
    let (webhook, secret) = subscribe(&app, &platform, &receiver, &["grant.revoked"]).await;
    let path = format!("/v1/webhooks/{webhook}/test");
    let queued = app.post(&path, &platform.token, json!({})).await;
    queued.expect(202);
    assert_eq!(queued.body["event_type"], "webhook.test");
    let arrived = receiver.wait_for("webhook.test", 1).await;
    assert!(arrived[0].verifies_with(&secret));
    assert_eq!(arrived[0].event()["data"], json!({"webhook_id": webhook}));
    assert_eq!(arrived[0].id(), queued.body["id"].as_str().unwrap());

    app.post(&path, &other.token, json!({}))
        .await
        .expect_problem(404);
    app.post(
        "/v1/webhooks",
        &platform.token,
        json!({"url": receiver.url, "event_types": ["webhook.test"]}),
    )
    .await
    .expect_field_error(422, "event_types");
    app.patch(
        &format!("/v1/webhooks/{webhook}"),
        &platform.token,
        json!({"status": "paused"}),
    )
    .await
    .expect(200);
    app.post(&path, &platform.token, json!({}))
        .await
        .expect_problem(409);
}

/// The stored (sealed) secrets of a subscription.
async fn stored_secrets(app: &TestApp, webhook: &str) -> (String, Option<String>) {
    use diesel::prelude::*;
    use learning_passport::db::ids::WebhookId;
    use learning_passport::db::schema::webhooks as w;
    let id: WebhookId = uuid::Uuid::parse_str(webhook).unwrap().into();
    with_db(app, move |conn| {
        w::table
            .find(id)
            .select((w::secret, w::previous_secret))
            .first(conn)
            .unwrap()
    })
    .await
}

async fn a_sealed_secret_moved_to_another_subscription_does_not_open(app: TestApp) {
    use diesel::prelude::*;
    use learning_passport::db::ids::WebhookId;
    use learning_passport::db::schema::webhooks as w;
    // Someone who can write to the database but not read the keys folder knows their own
    // organisation's secret: moving its sealed form onto another organisation's subscription
    // must not make that subscription's webhooks signed with a secret they know.
    let mallory = app.org("Mallory", "shared:read").await;
    let victim = app.org("Victim", "shared:read").await;
    let (mallory_hook, victim_hook) = (Receiver::start(), Receiver::start());
    let (mallory_webhook, mallory_secret) =
        subscribe(&app, &mallory, &mallory_hook, &["grant.created"]).await;
    let (victim_webhook, _) = subscribe(&app, &victim, &victim_hook, &["grant.created"]).await;
    let (sealed, _) = stored_secrets(&app, &mallory_webhook).await;
    assert!(sealed.starts_with("sealed:v2:"), "{sealed}");
    let victim_id: WebhookId = uuid::Uuid::parse_str(&victim_webhook).unwrap().into();
    with_db(&app, move |conn| {
        diesel::update(w::table.find(victim_id))
            .set(w::secret.eq(sealed))
            .execute(conn)
            .unwrap()
    })
    .await;

    let alice = app.person_token("alice");
    grant_all(&app, &alice, &victim, "read").await;
    grant_all(&app, &alice, &mallory, "read").await;
    // The rightful owner of the secret is still served.
    let arrived = mallory_hook.wait_for("grant.created", 1).await;
    assert!(arrived[0].verifies_with(&mallory_secret));
    // The victim's delivery fails, says why, and nothing goes out unsigned or signed with
    // the moved secret.
    let started = std::time::Instant::now();
    let attempt = loop {
        let log = deliveries(&app, &victim, &victim_webhook).await;
        if let Some(attempt) = log[0]["attempts"].as_array().and_then(|a| a.first()) {
            break attempt.clone();
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(15));
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let error = attempt["error"].as_str().unwrap();
    assert!(
        error.starts_with("not sent: the signing secret cannot be opened"),
        "{error}"
    );
    assert!(attempt["status_code"].is_null());
    settle().await;
    assert!(victim_hook.received().is_empty());
}

async fn secrets_sealed_before_the_binding_are_bound_at_start_up(app: TestApp) {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use chacha20poly1305::aead::{Aead, KeyInit};
    use chacha20poly1305::{XChaCha20Poly1305, XNonce};
    use diesel::prelude::*;
    use learning_passport::db::ids::WebhookId;
    use learning_passport::db::schema::webhooks as w;
    use learning_passport::db::types::Timestamp;
    let mut app = app;
    let platform = app.org("Platform", "records:write").await;
    let receiver = Receiver::start();
    let (webhook, secret) = subscribe(&app, &platform, &receiver, &["grant.created"]).await;
    // As an earlier version stored them: sealed with the same key, bound to nothing; a
    // previous secret still in its grace period too.
    let key = std::fs::read_to_string(app.settings.keys_dir().join("webhook-secrets.key")).unwrap();
    let cipher = XChaCha20Poly1305::new_from_slice(&STANDARD.decode(key.trim()).unwrap()).unwrap();
    let unbound = |plain: &str| {
        let nonce = [7u8; 24];
        let mut bytes = nonce.to_vec();
        bytes.extend(
            cipher
                .encrypt(&XNonce::from(nonce), plain.as_bytes())
                .unwrap(),
        );
        format!("sealed:v1:{}", STANDARD.encode(bytes))
    };
    let previous = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let (current_v1, previous_v1) = (unbound(&secret), unbound(previous));
    let id: WebhookId = uuid::Uuid::parse_str(&webhook).unwrap().into();
    with_db(&app, move |conn| {
        diesel::update(w::table.find(id))
            .set((
                w::secret.eq(current_v1),
                w::previous_secret.eq(Some(previous_v1)),
                w::previous_secret_expires_at.eq(Some(Timestamp(
                    chrono::Utc::now() + chrono::Duration::hours(1),
                ))),
            ))
            .execute(conn)
            .unwrap()
    })
    .await;

    app.restart_with(|_| {}).await;
    let (current, previous_stored) = stored_secrets(&app, &webhook).await;
    assert!(current.starts_with("sealed:v2:"), "{current}");
    assert!(previous_stored.unwrap().starts_with("sealed:v2:"));
    let alice = app.person_token("alice");
    grant_all(&app, &alice, &platform, "write").await;
    let arrived = receiver.wait_for("grant.created", 1).await;
    assert!(arrived[0].verifies_with(&secret));
    assert!(arrived[0].verifies_with(previous));
    // A second start finds nothing left to bind and changes nothing.
    app.restart_with(|_| {}).await;
    assert_eq!(stored_secrets(&app, &webhook).await.0, current);
}

async fn tests_and_resends_are_limited_per_subscription(app: TestApp) {
    let platform = app.org("Platform", "records:write").await;
    let other = app.org("Other", "records:write").await;
    let receiver = Receiver::start();
    // The receiver is down: what is sent stays pending, retried.
    receiver.fail_next(usize::MAX);
    let (webhook, _) = subscribe(&app, &platform, &receiver, &["grant.created"]).await;
    let test = format!("/v1/webhooks/{webhook}/test");
    // Another organisation is refused before it can spend this subscription's allowance.
    for _ in 0..12 {
        app.post(&test, &other.token, json!({}))
            .await
            .expect_problem(404);
    }
    // A burst of five, then the steady rate: 429 with how long to wait.
    for _ in 0..5 {
        app.post(&test, &platform.token, json!({}))
            .await
            .expect(202);
    }
    let refused = app.post(&test, &platform.token, json!({})).await;
    refused.expect_problem(429);
    let wait: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=6).contains(&wait), "Retry-After: {wait}");

    // A pending delivery is already queued: re-sending it is refused, and uses no allowance.
    let pending = deliveries(&app, &platform, &webhook).await;
    assert_eq!(pending.len(), 5);
    assert!(pending.iter().all(|d| d["status"] == "pending"));
    let resend = format!(
        "/v1/webhooks/{webhook}/deliveries/{}/resend",
        pending[0]["id"].as_str().unwrap()
    );
    let queued = app.post(&resend, &platform.token, json!({})).await;
    queued.expect_problem(409);
    assert!(
        queued.body["detail"]
            .as_str()
            .unwrap()
            .contains("already queued"),
        "{:#}",
        queued.body
    );
    app.post(&resend, &other.token, json!({}))
        .await
        .expect_problem(404);

    // After the wait, one more goes.
    actix_web::rt::time::sleep(std::time::Duration::from_secs(wait)).await;
    app.post(&test, &platform.token, json!({}))
        .await
        .expect(202);

    // Another subscription has an allowance of its own, and is refused once 100 deliveries
    // wait for it, whatever its allowance.
    let second_receiver = Receiver::start();
    second_receiver.fail_next(usize::MAX);
    let (second, _) = subscribe(&app, &platform, &second_receiver, &["grant.revoked"]).await;
    fill_queue(&app, &second, 99).await;
    let second_test = format!("/v1/webhooks/{second}/test");
    app.post(&second_test, &platform.token, json!({}))
        .await
        .expect(202);
    let full = app.post(&second_test, &platform.token, json!({})).await;
    full.expect_problem(409);
    assert!(
        full.body["detail"].as_str().unwrap().contains("100"),
        "{:#}",
        full.body
    );
    // A failed delivery is not re-sent while 100 wait either.
    let failed = give_up(&app, &second, 1).await;
    fill_queue(&app, &second, 1).await;
    app.post(
        &format!("/v1/webhooks/{second}/deliveries/{}/resend", failed[0]),
        &platform.token,
        json!({}),
    )
    .await
    .expect_problem(409);
}

async fn two_apps_changing_a_subscription_at_once_cannot_both_win(app: TestApp) {
    let platform = app.org("Platform", "records:write").await;
    let receiver = Receiver::start();
    let (webhook, _) = subscribe(&app, &platform, &receiver, &["grant.created"]).await;
    let path = format!("/v1/webhooks/{webhook}");
    let tag = app
        .get(&path, &platform.token)
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    let bodies = (0..5)
        .map(|n| Some(json!({"description": format!("changed by app {n}")})))
        .collect();
    let replies = app
        .racing(support::Method::PATCH, &path, &platform.token, &tag, bodies)
        .await;
    support::exactly_one_wins(&replies, 200);
    // Two rotations at once: only one secret is kept, so only one is answered.
    let rotate = format!("{path}/rotate");
    let rotations = futures_util::future::join_all(
        (0..4).map(|_| app.post(&rotate, &platform.token, json!({}))),
    )
    .await;
    let rotated = rotations.iter().filter(|r| r.status == 200).count();
    assert_eq!(
        rotated,
        rotations.iter().filter(|r| r.status != 412).count()
    );
    assert!(rotated >= 1);
    let tag = app
        .get(&path, &platform.token)
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    let replies = app
        .racing(
            support::Method::DELETE,
            &path,
            &platform.token,
            &tag,
            vec![None; 3],
        )
        .await;
    assert_eq!(replies.iter().filter(|r| r.status == 204).count(), 1);
}

on_both_backends!(
    two_apps_changing_a_subscription_at_once_cannot_both_win,
    a_test_event_checks_the_receiver_on_demand,
    an_organisation_reaches_only_its_own_subscriptions_and_events,
    webhook_urls_on_private_networks_are_refused,
    invalid_subscriptions_name_the_field_and_store_nothing,
    a_rotated_secret_signs_alongside_the_old_one_and_pausing_stops_delivery,
    a_sealed_secret_moved_to_another_subscription_does_not_open,
    secrets_sealed_before_the_binding_are_bound_at_start_up,
    tests_and_resends_are_limited_per_subscription,
);
