//! A person's passport with records to put in credentials, and credentials issued and verified
//! over HTTP: shared by the credential tests and the erasure tests.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use super::{Method, OrgClient, Reply, TestApp};

/// A person with an issued record (pushed by a learning platform under a write grant) and a
/// record of their own.
pub struct Passport {
    pub token: String,
    pub id: String,
    pub issued: String,
    pub own: String,
    pub platform: OrgClient,
}

pub async fn passport(app: &TestApp) -> Passport {
    let token = app.person_token("alice");
    let id = app.get("/v1/me", &token).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let platform = app.org("E-Learning for All", "records:write").await;
    app.post("/v1/me/grants", &token, json!({"organisation_id": platform.organisation_id, "permission": "write", "scope": {"records": "all", "attainments": true}, "purpose": "p", "expires_at": (Utc::now() + Duration::days(30)).to_rfc3339()}))
        .await
        .expect(201);
    let pushed = app
        .post("/v1/completions", &platform.token, json!({"completions": [{"person_id": id, "external_id": "fire-1", "title": "Fire safety", "kind": "statutory_mandatory", "completed_at": "2026-02-01T10:00:00Z", "result": "passed"}]}))
        .await;
    let issued = pushed.body["results"][0]["record_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let own = app.post("/v1/me/records", &token, json!({"kind": "cpd", "title": "Journal club", "completed_at": "2026-03-01T10:00:00Z", "hours": 1})).await.body["id"].as_str().unwrap().to_owned();
    Passport {
        token,
        id,
        issued,
        own,
        platform,
    }
}

/// The person asks for a credential.
pub async fn issue(app: &TestApp, p: &Passport, body: Value) -> Reply {
    app.post("/v1/me/credentials", &p.token, body).await
}

/// Verifies a credential online, as anyone may; answers the verdict.
pub async fn verify(app: &TestApp, jwt: &str) -> Value {
    let reply = app
        .call(
            Method::POST,
            "/v1/credentials/verify",
            None,
            Some(json!({"jwt": jwt})),
        )
        .await;
    reply.expect(200);
    reply.body
}
