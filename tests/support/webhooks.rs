//! Helpers for webhook tests: subscribing a receiver, granting, reading the deliveries log.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use super::receiver::Receiver;
use super::{OrgClient, TestApp};

pub fn in_days(days: i64) -> String {
    (Utc::now() + Duration::days(days)).to_rfc3339()
}

/// Subscribes an organisation's receiver to event types; answers (subscription id, secret).
pub async fn subscribe(
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

pub async fn grant(
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

/// A 30-day grant of every record.
pub async fn grant_all(app: &TestApp, person: &str, org: &OrgClient, permission: &str) -> String {
    grant(
        app,
        person,
        org,
        permission,
        json!({"records": "all"}),
        in_days(30),
    )
    .await
}

pub async fn person_id(app: &TestApp, token: &str) -> String {
    app.get("/v1/me", token).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The deliveries log once nothing in it is pending any more (the receiver may have answered
/// a moment before the attempt is recorded).
pub async fn settled_deliveries(app: &TestApp, org: &OrgClient, webhook: &str) -> Vec<Value> {
    let started = std::time::Instant::now();
    loop {
        let log = deliveries(app, org, webhook).await;
        if log.iter().all(|d| d["status"] != "pending") {
            return log;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(15),
            "deliveries still pending: {log:#?}"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

pub async fn deliveries(app: &TestApp, org: &OrgClient, webhook: &str) -> Vec<Value> {
    let list = app
        .get(&format!("/v1/webhooks/{webhook}/deliveries"), &org.token)
        .await;
    list.expect(200);
    list.body["items"].as_array().unwrap().clone()
}

/// Runs blocking work on the test's own connection to the service's database.
pub async fn with_db<T: Send + 'static>(
    app: &TestApp,
    work: impl FnOnce(&mut learning_passport::db::DbConnection) -> T + Send + 'static,
) -> T {
    let db = app.db.clone();
    actix_web::rt::task::spawn_blocking(move || work(&mut db.get().unwrap()))
        .await
        .unwrap()
}
