//! People signing in with an external identity provider's tokens, and the provider's keys:
//! fetched once at a time, never through a redirect, and not hammered when the provider fails
//! or forged tokens name unknown keys.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::future::join_all;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use support::{Backend, TestApp};

/// How the provider answers for its key set.
#[derive(Clone, Copy)]
enum Mode {
    Keys,
    Failing,
    Redirecting,
}

/// A provider on loopback that counts every request for its keys.
struct Provider {
    url: String,
    key: EncodingKey,
    fetches: Arc<AtomicUsize>,
    elsewhere: Arc<AtomicUsize>,
    _server: actix_web::dev::ServerHandle,
}

impl Provider {
    async fn start(mode: Mode) -> Provider {
        use ed25519_dalek::pkcs8::EncodePrivateKey;
        let signing = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
        let x = URL_SAFE_NO_PAD.encode(signing.verifying_key().as_bytes());
        let jwks = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "key-1", "alg": "EdDSA", "use": "sig"}]});
        let (fetches, elsewhere) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (counted, moved) = (fetches.clone(), elsewhere.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = actix_web::HttpServer::new(move || {
            let (jwks, counted, moved) = (jwks.clone(), counted.clone(), moved.clone());
            let real = jwks.clone();
            actix_web::App::new()
                .route(
                    "/jwks.json",
                    actix_web::web::get().to(move || {
                        let jwks = jwks.clone();
                        counted.fetch_add(1, Ordering::SeqCst);
                        async move {
                            match mode {
                                Mode::Keys => actix_web::HttpResponse::Ok().json(jwks),
                                Mode::Failing => {
                                    actix_web::HttpResponse::InternalServerError().finish()
                                }
                                Mode::Redirecting => actix_web::HttpResponse::Found()
                                    .insert_header(("Location", "/elsewhere.json"))
                                    .finish(),
                            }
                        }
                    }),
                )
                .route(
                    "/elsewhere.json",
                    actix_web::web::get().to(move || {
                        moved.fetch_add(1, Ordering::SeqCst);
                        let real = real.clone();
                        async move { actix_web::HttpResponse::Ok().json(real) }
                    }),
                )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Provider {
            url: format!("http://127.0.0.1:{port}/jwks.json"),
            key: EncodingKey::from_ed_der(signing.to_pkcs8_der().unwrap().as_bytes()),
            fetches,
            elsewhere,
            _server: handle,
        }
    }

    fn token(&self, kid: &str, typ: Option<&str>) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = json!({"iss": "https://login.example.org", "aud": "passport-app",
                            "sub": "nurse-7", "exp": now + 600, "iat": now});
        self.sign(&claims, kid, typ)
    }

    fn sign(&self, claims: &Value, kid: &str, typ: Option<&str>) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.into());
        header.typ = typ.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, &self.key).unwrap()
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

async fn app_for(backend: Backend, provider: &Provider) -> Option<TestApp> {
    let jwks = provider.url.clone();
    TestApp::start_with(backend, |s| {
        s.oidc_issuer = Some("https://login.example.org".into());
        s.oidc_audience = Some("passport-app".into());
        s.oidc_jwks = Some(jwks);
        // These tests send many refused tokens on purpose.
        s.protection.auth_failures_per_minute = 10_000;
    })
    .await
}

/// A refused token, as every refused token is answered.
async fn refused(app: &TestApp, token: &str, why: &str) {
    let reply = app.get("/v1/me", token).await;
    assert_eq!(reply.status.as_u16(), 401, "{why}: {:#}", reply.body);
    assert!(
        reply
            .header("www-authenticate")
            .is_some_and(|c| c.starts_with("Bearer"))
    );
}

async fn a_person_signs_in_with_the_identity_providers_token(backend: Backend) {
    let provider = Provider::start(Mode::Keys).await;
    let Some(app) = app_for(backend, &provider).await else {
        return;
    };
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "iss": "https://login.example.org", "aud": "passport-app", "sub": "nurse-1234",
        "email": "sam@example.org", "name": "Sam Nurse", "exp": now + 600, "iat": now,
    });
    let me = app
        .get("/v1/me", &provider.sign(&claims, "key-1", None))
        .await;
    me.expect(200);
    assert_eq!(me.body["display_name"], "Sam Nurse");
    assert_eq!(me.body["email"], "sam@example.org");

    // The same subject from the service's own issuer is a different person, who sees none of
    // the other's records.
    let local_token = app.person_token("nurse-1234");
    let local = app.get("/v1/me", &local_token).await;
    assert_ne!(local.body["id"], me.body["id"]);
    let sams = provider.sign(&claims, "key-1", None);
    let record =
        json!({"kind": "cpd", "title": "Sepsis update", "completed_at": "2026-01-10T12:00:00Z"});
    app.post("/v1/me/records", &sams, record).await.expect(201);
    let listed = app.get("/v1/me/records", &sams).await;
    listed.expect(200);
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    let others = app.get("/v1/me/records", &local_token).await;
    others.expect(200);
    assert_eq!(others.body["items"], json!([]));

    let mut wrong_aud = claims.clone();
    wrong_aud["aud"] = json!("learning-passport");
    refused(
        &app,
        &provider.sign(&wrong_aud, "key-1", None),
        "the service's audience",
    )
    .await;
    let mut wrong_iss = claims.clone();
    wrong_iss["iss"] = json!(app.tokens.issuer);
    refused(
        &app,
        &provider.sign(&wrong_iss, "key-1", None),
        "claiming the service's issuer",
    )
    .await;
    refused(
        &app,
        &provider.sign(&claims, "key-2", None),
        "unknown provider kid",
    )
    .await;
    // A provider token cannot pose as an organisation client.
    let mut client = claims.clone();
    client["client_id"] = json!("nurse-1234");
    client["org"] = json!("0190a000-0000-7000-8000-000000000000");
    client["scope"] = json!("admin");
    app.get("/v1/me", &provider.sign(&client, "key-1", None))
        .await
        .expect(200);
}

async fn unknown_keys_are_fetched_once_at_a_time(backend: Backend) {
    let provider = Provider::start(Mode::Keys).await;
    let Some(app) = app_for(backend, &provider).await else {
        return;
    };
    // Forty tokens naming keys the provider does not have, at once: one fetch answers them all.
    let forged: Vec<String> = (0..40)
        .map(|n| provider.token(&format!("made-up-{n}"), None))
        .collect();
    let replies = join_all(forged.iter().map(|t| app.get("/v1/me", t))).await;
    assert!(replies.iter().all(|r| r.status == 401));
    assert_eq!(
        provider.fetches(),
        1,
        "one fetch for a burst of unknown keys"
    );
    // The keys it fetched serve a real token without another fetch.
    app.get("/v1/me", &provider.token("key-1", None))
        .await
        .expect(200);
    // And more unknown keys soon after do not fetch again.
    app.get("/v1/me", &provider.token("made-up-again", None))
        .await
        .expect_problem(401);
    assert_eq!(provider.fetches(), 1);
}

async fn a_failing_provider_is_asked_again_only_after_a_pause(backend: Backend) {
    let provider = Provider::start(Mode::Failing).await;
    let Some(app) = app_for(backend, &provider).await else {
        return;
    };
    for _ in 0..10 {
        app.get("/v1/me", &provider.token("key-1", None))
            .await
            .expect_problem(401);
    }
    assert_eq!(
        provider.fetches(),
        1,
        "failures are backed off, not retried at once"
    );
}

async fn a_redirect_from_the_provider_is_not_followed(backend: Backend) {
    let provider = Provider::start(Mode::Redirecting).await;
    let Some(app) = app_for(backend, &provider).await else {
        return;
    };
    app.get("/v1/me", &provider.token("key-1", None))
        .await
        .expect_problem(401);
    assert_eq!(provider.fetches(), 1);
    assert_eq!(provider.elsewhere.load(Ordering::SeqCst), 0);
}

async fn provider_tokens_of_another_type_are_refused(backend: Backend) {
    let provider = Provider::start(Mode::Keys).await;
    let Some(app) = app_for(backend, &provider).await else {
        return;
    };
    for typ in [
        None,
        Some("JWT"),
        Some("at+jwt"),
        Some("application/at+jwt"),
    ] {
        let reply = app.get("/v1/me", &provider.token("key-1", typ)).await;
        assert_eq!(reply.status, 200, "typ {typ:?}: {:#}", reply.body);
    }
    for typ in ["vc+jwt", "logout+jwt", "dpop+jwt"] {
        let reply: Value = app
            .get("/v1/me", &provider.token("key-1", Some(typ)))
            .await
            .expect_problem(401)
            .body
            .clone();
        assert!(
            reply["detail"].as_str().unwrap().contains("type"),
            "{typ}: {reply}"
        );
    }
}

on_each_backend!(
    a_person_signs_in_with_the_identity_providers_token,
    unknown_keys_are_fetched_once_at_a_time,
    a_failing_provider_is_asked_again_only_after_a_pause,
    a_redirect_from_the_provider_is_not_followed,
    provider_tokens_of_another_type_are_refused,
);
