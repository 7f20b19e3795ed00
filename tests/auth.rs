//! Tokens and keys: what the service signs, what it accepts, and what it refuses.

mod support;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use support::TestApp;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Claims as the service would sign them for a person.
fn person_claims(app: &TestApp) -> Value {
    json!({
        "iss": app.tokens.issuer, "aud": app.tokens.audience, "sub": "mallory",
        "exp": now() + 600, "nbf": now() - 5, "iat": now() - 5,
    })
}

fn service_key(app: &TestApp) -> (EncodingKey, String, String) {
    let dir = app.settings.keys_dir();
    let path = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|ext| ext == "pem"))
        .unwrap();
    let pem = std::fs::read_to_string(path).unwrap();
    use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
    let signing = ed25519_dalek::SigningKey::from_pkcs8_pem(&pem).unwrap();
    let der = signing.to_pkcs8_der().unwrap();
    let x = URL_SAFE_NO_PAD.encode(signing.verifying_key().as_bytes());
    (
        EncodingKey::from_ed_der(der.as_bytes()),
        app.tokens.keys.active_kid(),
        x,
    )
}

/// Signs claims with the service's key as an access token (`typ` `at+jwt`).
fn sign(app: &TestApp, claims: &Value) -> String {
    sign_typed(app, claims, Some("at+jwt"))
}

fn sign_typed(app: &TestApp, claims: &Value, typ: Option<&str>) -> String {
    let (key, kid, _) = service_key(app);
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid);
    header.typ = typ.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

async fn assert_refused(app: &TestApp, token: &str, why: &str) {
    let reply = app.get("/v1/me", token).await;
    assert_eq!(reply.status.as_u16(), 401, "{why}: {:#}", reply.body);
    let challenge = reply.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer"),
        "{why}: WWW-Authenticate is `{challenge}`"
    );
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
}

async fn a_token_minted_by_the_service_is_accepted(app: TestApp) {
    let token = sign(&app, &person_claims(&app));
    app.get("/v1/me", &token).await.expect(200);
}

async fn every_bad_token_is_refused_with_401(app: TestApp) {
    let good = person_claims(&app);

    let mut expired = good.clone();
    expired["exp"] = json!(now() - 3600);
    assert_refused(&app, &sign(&app, &expired), "expired").await;

    let mut early = good.clone();
    early["nbf"] = json!(now() + 3600);
    assert_refused(&app, &sign(&app, &early), "not yet valid").await;

    let mut audience = good.clone();
    audience["aud"] = json!("someone-else");
    assert_refused(&app, &sign(&app, &audience), "wrong audience").await;

    let mut issuer = good.clone();
    issuer["iss"] = json!("https://evil.example.org");
    assert_refused(&app, &sign(&app, &issuer), "wrong issuer").await;

    let mut no_exp = good.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    assert_refused(&app, &sign(&app, &no_exp), "no exp").await;

    // alg: none, with the service's kid.
    let kid = app.tokens.keys.active_kid();
    let header =
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT", "kid": kid}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(good.to_string());
    assert_refused(&app, &format!("{header}.{payload}."), "alg none").await;

    // A valid token whose payload was changed after signing.
    let valid = sign(&app, &good);
    let parts: Vec<&str> = valid.split('.').collect();
    let mut forged = good.clone();
    forged["sub"] = json!("alice");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(forged.to_string()),
        parts[2]
    );
    assert_refused(&app, &tampered, "tampered payload").await;

    // A flipped signature byte.
    let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    signature[0] ^= 0x01;
    let flipped = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        URL_SAFE_NO_PAD.encode(signature)
    );
    assert_refused(&app, &flipped, "tampered signature").await;

    // A key the service does not know.
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("unknown-key".into());
    let unknown = jsonwebtoken::encode(
        &header,
        &good,
        &EncodingKey::from_ed_der(stranger.to_pkcs8_der().unwrap().as_bytes()),
    )
    .unwrap();
    assert_refused(&app, &unknown, "unknown kid").await;

    // The service's kid on a token signed by another key.
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.clone());
    let impostor = jsonwebtoken::encode(
        &header,
        &good,
        &EncodingKey::from_ed_der(stranger.to_pkcs8_der().unwrap().as_bytes()),
    )
    .unwrap();
    assert_refused(&app, &impostor, "right kid, wrong key").await;

    // Algorithm confusion: HS256 keyed with the public key.
    let (_, _, x) = service_key(&app);
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid);
    let public = URL_SAFE_NO_PAD.decode(&x).unwrap();
    let confused =
        jsonwebtoken::encode(&header, &good, &EncodingKey::from_secret(&public)).unwrap();
    assert_refused(&app, &confused, "HS256 with the public key as secret").await;
    let confused_text =
        jsonwebtoken::encode(&header, &good, &EncodingKey::from_secret(x.as_bytes())).unwrap();
    assert_refused(&app, &confused_text, "HS256 with the JWK x as secret").await;

    // Another kind of token signed by the service's own key (RFC 8725 3.11).
    for typ in [None, Some("JWT"), Some("vc+jwt")] {
        assert_refused(&app, &sign_typed(&app, &good, typ), &format!("typ {typ:?}")).await;
    }
    assert_refused(&app, "not.a.jwt", "garbage").await;
    let missing = app.call(support::Method::GET, "/v1/me", None, None).await;
    missing.expect_problem(401);
    assert!(missing.header("www-authenticate").is_some());
    let basic = app
        .http
        .get(app.url("/v1/me"))
        .header("authorization", "Basic YTpi")
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);
}

async fn the_jwks_publishes_the_signing_key(app: TestApp) {
    let reply = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let jwks: Value = reply.json().await.unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    assert_eq!(key["kid"], app.tokens.keys.active_kid().as_str());
    // A token verifies with nothing but the published key.
    let token = app.person_token("alice");
    let decoding =
        jsonwebtoken::DecodingKey::from_jwk(&serde_json::from_value(key.clone()).unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(Algorithm::EdDSA);
    validation.set_audience(&["learning-passport"]);
    jsonwebtoken::decode::<Value>(&token, &decoding, &validation).unwrap();
}

async fn the_key_file_is_private(app: TestApp) {
    use std::os::unix::fs::PermissionsExt;
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let dir = app.settings.keys_dir();
    assert_eq!(mode(&dir), 0o700, "the keys folder is the service's alone");
    assert_eq!(mode(&app.settings.data_dir), 0o700, "so is the data folder");
    for entry in std::fs::read_dir(&dir).unwrap() {
        assert_eq!(mode(&entry.unwrap().path()), 0o600);
    }
    // The SQLite database and its write-ahead log and shared memory, whatever the umask.
    if app.backend == support::Backend::Sqlite {
        app.get("/v1/me", &app.person_token("alice"))
            .await
            .expect(200);
        for suffix in ["", "-wal", "-shm"] {
            let file = app.settings.data_dir.join(format!("passport.db{suffix}"));
            if file.exists() {
                assert_eq!(mode(&file), 0o600, "{}", file.display());
            }
        }
    }
}

async fn client_credentials_issue_a_scoped_token(app: TestApp) {
    let org = app
        .org("Learning Platform", "records:write shared:read")
        .await;
    let url = app.url("/v1/oauth/token");

    // HTTP Basic (done by the harness) and form credentials both work.
    let form = app
        .http
        .post(&url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &org.client_id),
            ("client_secret", &org.client_secret),
            ("scope", "shared:read"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    assert_eq!(form.headers()["cache-control"], "no-store");
    let body: Value = form.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "shared:read");
    assert_eq!(body["expires_in"], 900);
    snapshot!(
        "token_response",
        json!({"token_type": body["token_type"], "scope": body["scope"], "expires_in": body["expires_in"], "access_token_is_jwt": body["access_token"].as_str().unwrap().split('.').count() == 3})
    );

    let refused = |form: Vec<(&'static str, String)>| {
        let url = url.clone();
        let http = app.http.clone();
        async move { http.post(&url).form(&form).send().await.unwrap() }
    };
    let wrong_secret = refused(vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", org.client_id.clone()),
        ("client_secret", "lps_wrong".into()),
    ])
    .await;
    assert_eq!(wrong_secret.status(), 401);
    let body: Value = wrong_secret.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");

    let unknown = refused(vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", "lpc_nobody".into()),
        ("client_secret", "x".into()),
    ])
    .await;
    assert_eq!(unknown.status(), 401);

    let grant = refused(vec![
        ("grant_type", "password".into()),
        ("client_id", org.client_id.clone()),
        ("client_secret", org.client_secret.clone()),
    ])
    .await;
    assert_eq!(grant.status(), 400);
    assert_eq!(
        grant.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );

    let scope = refused(vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", org.client_id.clone()),
        ("client_secret", org.client_secret.clone()),
        ("scope", "admin".into()),
    ])
    .await;
    assert_eq!(scope.status(), 400);
    assert_eq!(
        scope.json::<Value>().await.unwrap()["error"],
        "invalid_scope"
    );

    let json_body = app
        .http
        .post(&url)
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_body.status(), 415);
}

async fn an_organisation_token_carries_its_scopes_and_organisation(app: TestApp) {
    let org = app.org("Employer", "shared:read").await;
    let parts: Vec<&str> = org.token.split('.').collect();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["client_id"], org.client_id.as_str());
    assert_eq!(claims["sub"], org.client_id.as_str());
    assert_eq!(claims["org"], org.organisation_id.as_str());
    assert_eq!(claims["scope"], "shared:read");
    assert_eq!(claims["iss"], app.base_url.as_str());
}

on_both_backends!(
    a_token_minted_by_the_service_is_accepted,
    every_bad_token_is_refused_with_401,
    the_jwks_publishes_the_signing_key,
    the_key_file_is_private,
    client_credentials_issue_a_scoped_token,
    an_organisation_token_carries_its_scopes_and_organisation,
);
