//! A person's passport with records to put in credentials, and credentials issued and verified
//! over HTTP: shared by the credential tests and the erasure tests.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use super::{Method, OrgClient, Reply, TestApp};

/// Runs a Python script of `examples/verify` with `args` (the service's URL first, for those
/// that call it) and reads the JSON it prints; `None` when the modules it imports (`modules`, as an import line
/// names them) are missing, outside CI (loudly).
pub fn python_example(script: &str, modules: &str, args: &[&str]) -> Option<Value> {
    if !python_has(modules, script) {
        return None;
    }
    let script = format!("{}/examples/verify/{script}", env!("CARGO_MANIFEST_DIR"));
    let output = std::process::Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    Some(printed_json("python", &output))
}

/// The JSON a program printed, or a panic showing all it said.
pub fn printed_json(program: &str, output: &std::process::Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        panic!(
            "{program} said: {stdout} {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// A part of a compact JWS as JSON: 0 the header, 1 the payload.
pub fn jwt_part(jwt: &str, part: usize) -> Value {
    use base64::Engine;
    let part = jwt.split('.').nth(part).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

/// Whether Python can import `modules` (as an import line names them), for `what`; outside CI,
/// says loudly that `what` is skipped when it cannot, and under CI fails.
pub fn python_has(modules: &str, what: &str) -> bool {
    let available = std::process::Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        assert!(
            std::env::var("CI").is_err(),
            "CI is set but Python lacks {modules}"
        );
        eprintln!("!!! SKIPPING {what}: Python lacks {modules} (see examples/verify)");
    }
    available
}

/// Runs a Node script of `examples/verify` against the running service with `args` and reads
/// the JSON it prints; `None` when the package it needs is not installed, outside CI (loudly).
pub fn node_example(app: &TestApp, script: &str, package: &str, args: &[&str]) -> Option<Value> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/verify");
    if !std::path::Path::new(dir)
        .join("node_modules")
        .join(package)
        .exists()
    {
        assert!(
            std::env::var("CI").is_err(),
            "CI is set but the Node example's dependencies are missing (npm ci --prefix examples/verify)"
        );
        eprintln!("!!! SKIPPING {script}: run `npm ci --prefix examples/verify`");
        return None;
    }
    let output = std::process::Command::new("node")
        .current_dir(dir)
        .arg(script)
        .arg(&app.base_url)
        .args(args)
        .output()
        .unwrap();
    Some(printed_json("node", &output))
}

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
