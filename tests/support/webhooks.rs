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

/// Queues `count` deliveries for a subscription straight into the outbox, not due for a day,
/// as if its receiver had been away while events piled up.
pub async fn fill_queue(app: &TestApp, webhook: &str, count: usize) {
    use diesel::prelude::*;
    use learning_passport::db::ids::{DeliveryId, WebhookId};
    use learning_passport::db::schema::webhook_deliveries as d;
    use learning_passport::db::types::{Json, Timestamp};
    let db = app.db.clone();
    let webhook_id: WebhookId = uuid::Uuid::parse_str(webhook).unwrap().into();
    actix_web::rt::task::spawn_blocking(move || {
        let now = Utc::now();
        let payload = Json(
            json!({"type": "webhook.test", "timestamp": now, "data": {"webhook_id": webhook_id.0}}),
        );
        let rows: Vec<_> = (0..count)
            .map(|_| {
                (
                    d::id.eq(DeliveryId::new()),
                    d::webhook_id.eq(webhook_id),
                    d::event_type.eq("webhook.test"),
                    d::payload.eq(payload.clone()),
                    d::status.eq("pending"),
                    d::attempts.eq(0),
                    d::next_attempt_at.eq(Timestamp(now + Duration::days(1))),
                    d::retry_from.eq(Timestamp(now)),
                    d::created_at.eq(Timestamp(now)),
                )
            })
            .collect();
        let mut conn = db.get().unwrap();
        learning_passport::on_backend!(&mut *conn, |c| {
            c.transaction::<_, diesel::result::Error, _>(|c| {
                for chunk in rows.chunks(500) {
                    diesel::insert_into(d::table).values(chunk).execute(c)?;
                }
                Ok(())
            })
            .unwrap()
        });
    })
    .await
    .unwrap();
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

/// Marks `count` of a subscription's not-yet-due deliveries failed, as if their retry period
/// had ended; answers their ids.
pub async fn give_up(app: &TestApp, webhook: &str, count: i64) -> Vec<String> {
    use diesel::prelude::*;
    use learning_passport::db::ids::{DeliveryId, WebhookId};
    use learning_passport::db::schema::webhook_deliveries as d;
    use learning_passport::db::types::Timestamp;
    let webhook_id: WebhookId = uuid::Uuid::parse_str(webhook).unwrap().into();
    with_db(app, move |conn| {
        let later = Timestamp(Utc::now() + Duration::hours(1));
        let ids: Vec<DeliveryId> = d::table
            .filter(d::webhook_id.eq(webhook_id))
            .filter(d::status.eq("pending"))
            .filter(d::next_attempt_at.gt(later))
            .select(d::id)
            .limit(count)
            .load(conn)
            .unwrap();
        diesel::update(d::table.filter(d::id.eq_any(&ids)))
            .set(d::status.eq("failed"))
            .execute(conn)
            .unwrap();
        ids.into_iter().map(|id| id.0.to_string()).collect()
    })
    .await
}
