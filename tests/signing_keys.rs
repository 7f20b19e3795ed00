//! The service's signing keys and its `did:web` DID: a new key is published before it signs,
//! an urgent one signs at once, a key is not retired while what it signed still verifies, and
//! the DID document is where `did:web` resolution looks for it, whatever the public URL.

mod support;

use std::process::Command;

use learning_passport::auth::keys::KeyRing;
use serde_json::{Value, json};
use support::TestApp;
use support::credentials::{issue, passport, verify};

async fn signed_with(app: &TestApp, p: &support::credentials::Passport) -> (String, String) {
    let jwt = issue(app, p, json!({"record_ids": [p.own]})).await.body["jwt"]
        .as_str()
        .unwrap()
        .to_owned();
    let kid = jsonwebtoken::decode_header(&jwt).unwrap().kid.unwrap();
    (jwt, kid)
}

async fn public(app: &TestApp, path: &str) -> reqwest::Response {
    app.http.get(app.url(path)).send().await.unwrap()
}

async fn published_kids(app: &TestApp) -> Vec<String> {
    let jwks: Value = public(app, "/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

async fn a_new_key_is_published_before_it_signs(app: TestApp) {
    let p = passport(&app).await;
    let dir = app.settings.keys_dir();
    let (old, old_kid) = signed_with(&app, &p).await;

    // A rotation publishes the key at once; the old key goes on signing until verifiers'
    // cached key sets (max-age) can hold the new one.
    let published = KeyRing::generate(&dir).unwrap();
    let jwks = public(&app, "/.well-known/jwks.json").await;
    assert_eq!(
        jwks.headers()["cache-control"],
        format!(
            "public, max-age={}",
            learning_passport::auth::keys::JWKS_MAX_AGE_SECONDS
        )
    );
    assert!(published_kids(&app).await.contains(&published));
    let (_, kid) = signed_with(&app, &p).await;
    assert_eq!(kid, old_kid, "the new key does not sign yet");
    // The published key does not sign, so it may be retired.
    KeyRing::retire(&dir, &published).unwrap();
    assert!(!published_kids(&app).await.contains(&published));

    // After a compromise, a key that signs at once.
    let urgent = KeyRing::generate_signing_now(&dir).unwrap();
    let (new, kid) = signed_with(&app, &p).await;
    assert_eq!(kid, urgent, "an urgent key signs at once");
    assert_eq!(published_kids(&app).await.len(), 2);
    assert_eq!(verify(&app, &old).await["valid"], true);
    assert_eq!(verify(&app, &new).await["valid"], true);

    // The signing key cannot be retired; an old one can, and what it signed stops verifying.
    assert!(KeyRing::retire(&dir, &urgent).is_err());
    KeyRing::retire(&dir, &old_kid).unwrap();
    let verdict = verify(&app, &old).await;
    assert_eq!(verdict["valid"], false, "{verdict}");
    assert_eq!(verify(&app, &new).await["valid"], true);
}

/// Runs `keys …` as an operator does, on the service's data folder and database.
async fn keys_command(app: &TestApp, args: &[&str]) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_learning-passport"));
    command
        .env_clear()
        .arg("--data-dir")
        .arg(&app.settings.data_dir)
        .arg("--database-url")
        .arg(app.settings.database_url())
        .arg("keys")
        .args(args);
    let output = actix_web::rt::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), said)
}

async fn a_key_is_not_retired_while_what_it_signed_still_verifies(app: TestApp) {
    let p = passport(&app).await;
    let (first, old_kid) = signed_with(&app, &p).await;
    signed_with(&app, &p).await;
    let (ok, said) = keys_command(&app, &["rotate", "--now"]).await;
    assert!(ok, "{said}");
    let (ok, listed) = keys_command(&app, &["list"]).await;
    assert!(ok, "{listed}");
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with(&old_kid) && l.contains("verifies")),
        "{listed}"
    );
    assert_eq!(listed.lines().filter(|l| l.contains("signs")).count(), 1);

    // Two credentials it signed still verify: refused, and the command says how many.
    let (ok, said) = keys_command(&app, &["retire", &old_kid]).await;
    assert!(!ok, "{said}");
    assert!(said.contains("2 credentials this key signed"), "{said}");
    assert!(said.contains("--force"), "{said}");
    assert_eq!(verify(&app, &first).await["valid"], true);

    // Revoked credentials do not count; forced, it is retired and says what stopped verifying.
    let all = app.get("/v1/me/credentials", &p.token).await;
    let ids: Vec<String> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    app.delete(&format!("/v1/me/credentials/{}", ids[0]), &p.token)
        .await
        .expect(200);
    let (ok, said) = keys_command(&app, &["retire", &old_kid]).await;
    assert!(!ok, "{said}");
    assert!(said.contains("1 credentials this key signed"), "{said}");
    let (ok, said) = keys_command(&app, &["retire", &old_kid, "--force"]).await;
    assert!(ok, "{said}");
    assert!(said.contains(&format!("retired {old_kid}")), "{said}");
    assert!(!published_kids(&app).await.contains(&old_kid));
}

async fn the_did_document_is_where_did_web_resolution_looks(app: TestApp) {
    let mut app = app;
    for (public_url, did, path) in [
        (
            "http://passport.test",
            "did:web:passport.test",
            "/.well-known/did.json",
        ),
        (
            "https://trust.example.org/services/passport/",
            "did:web:trust.example.org:services:passport",
            "/services/passport/did.json",
        ),
    ] {
        app.restart_with(|s| s.public_url = Some(public_url.to_owned()))
            .await;
        // Where resolution looks, and at /did.json for a proxy that strips the path.
        for at in [path, "/did.json", "/.well-known/did.json"] {
            let answer = public(&app, at).await;
            assert_eq!(answer.status(), 200, "{public_url}: {at}");
            assert!(
                answer.headers()["cache-control"]
                    .to_str()
                    .unwrap()
                    .contains("max-age=300")
            );
            let document: Value = answer.json().await.unwrap();
            assert_eq!(document["id"], did, "{public_url}: {at}");
        }
    }
}

on_both_backends!(
    a_new_key_is_published_before_it_signs,
    a_key_is_not_retired_while_what_it_signed_still_verifies,
    the_did_document_is_where_did_web_resolution_looks,
);
