//! `learning-passport token person`, run as an operator runs it: the binary, pointed at the
//! service's data folder and database and at nothing else, mints a token the running service
//! accepts, whatever public URL and audience the service was started with.

mod support;

use std::path::Path;
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use support::{Backend, TestApp, UnusedDatabase};

/// What the command printed: the token on standard output, notes on standard error.
struct Minted {
    token: String,
    stderr: String,
}

impl Minted {
    /// Whether the command had nothing to say about the token.
    fn quiet(&self) -> bool {
        !self.stderr.contains("note:") && !self.stderr.contains("warning:")
    }

    fn claims(&self) -> Value {
        let payload = self.token.split('.').nth(1).expect("a JWT");
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    }
}

/// Runs `token person --subject SUBJECT` on a data folder and database, with the flags and
/// environment given and none of the caller's own.
async fn token_person(
    data_dir: &Path,
    database_url: &str,
    subject: &str,
    flags: &[&str],
    env: &[(&str, &str)],
) -> Minted {
    let mut command = Command::new(env!("CARGO_BIN_EXE_learning-passport"));
    command
        .env_clear()
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--database-url")
        .arg(database_url)
        .args(["token", "person", "--subject", subject])
        .args(flags)
        .envs(env.iter().copied());
    let output = actix_web::rt::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "token person failed: {stderr}");
    Minted {
        token: String::from_utf8(output.stdout).unwrap().trim().to_owned(),
        stderr,
    }
}

async fn mint(app: &TestApp, subject: &str, flags: &[&str], env: &[(&str, &str)]) -> Minted {
    let url = app.settings.database_url();
    token_person(&app.settings.data_dir, &url, subject, flags, env).await
}

/// The README's walkthrough: the service on its defaults, the command on its defaults.
async fn a_token_for_a_service_on_its_defaults_is_accepted(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, |s| {
        s.public_url = None;
        s.addr = "127.0.0.1:8080".into();
    })
    .await
    else {
        return;
    };
    let minted = mint(&app, "alice", &[], &[]).await;
    assert_eq!(minted.claims()["iss"], "http://127.0.0.1:8080");
    assert!(minted.quiet(), "{}", minted.stderr);
    app.get("/v1/me", &minted.token).await.expect(200);
}

/// The service started with a public URL and an audience of its own (in its environment), the
/// command with neither: the command signs with what the service recorded as it started.
async fn a_token_follows_the_settings_the_service_started_with(app: TestApp) {
    let mut app = app;
    app.restart_with(|s| {
        s.public_url = Some("https://passport.example.test/".into());
        s.token_audience = "passport-test".into();
    })
    .await;
    let minted = mint(&app, "alice", &[], &[]).await;
    let claims = minted.claims();
    assert_eq!(claims["iss"], "https://passport.example.test");
    assert_eq!(claims["aud"], "passport-test");
    assert!(minted.quiet(), "{}", minted.stderr);
    app.get("/v1/me", &minted.token).await.expect(200);

    // Started again with another URL: the next token follows it, and the one before is refused.
    app.restart_with(|s| s.public_url = Some("https://passport.example.org".into()))
        .await;
    let refused = app.get("/v1/me", &minted.token).await;
    refused.expect_problem(401);
    assert!(
        refused.body["detail"].as_str().unwrap().contains("issuer"),
        "{:#}",
        refused.body
    );
    let minted = mint(&app, "alice", &[], &[]).await;
    assert_eq!(minted.claims()["iss"], "https://passport.example.org");
    app.get("/v1/me", &minted.token).await.expect(200);
}

/// What the command is told wins (it may mint for another service), with a warning naming
/// what the service on this database accepts; told the same, it says nothing.
async fn a_token_for_other_settings_is_minted_with_a_warning(app: TestApp) {
    let issuer = app.settings.issuer();
    for (flags, env) in [
        (
            vec!["--public-url", "https://elsewhere.example.test"],
            vec![],
        ),
        (
            vec![],
            vec![("PASSPORT_PUBLIC_URL", "https://elsewhere.example.test")],
        ),
        (vec!["--addr", "127.0.0.1:9999"], vec![]),
        (vec!["--token-audience", "someone-else"], vec![]),
    ] {
        let minted = mint(&app, "alice", &flags, &env).await;
        assert!(
            minted.stderr.contains("warning:") && minted.stderr.contains(&issuer),
            "{flags:?} {env:?}: {}",
            minted.stderr
        );
        app.get("/v1/me", &minted.token).await.expect_problem(401);
    }
    let minted = mint(&app, "alice", &["--public-url", &issuer], &[]).await;
    assert!(minted.quiet(), "{}", minted.stderr);
    app.get("/v1/me", &minted.token).await.expect(200);
}

/// Before any service has started on the database the command still mints, with the defaults
/// a service started on its defaults accepts, and says what to pass otherwise.
async fn a_database_no_service_has_used_gets_the_defaults_and_a_note(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(database) = UnusedDatabase::create(backend, dir.path()).await else {
        return;
    };
    let data = dir.path().join("data");
    let minted = token_person(&data, &database.url, "alice", &[], &[]).await;
    let claims = minted.claims();
    assert_eq!(claims["iss"], "http://127.0.0.1:8080");
    assert_eq!(claims["aud"], "learning-passport");
    for words in [
        "no service has started on this database",
        "--public-url",
        "PASSPORT_PUBLIC_URL",
    ] {
        assert!(minted.stderr.contains(words), "{}", minted.stderr);
    }

    // Told the service's settings, it mints with them and has nothing to add.
    let minted = token_person(
        &data,
        &database.url,
        "alice",
        &["--public-url", "https://passport.example.test"],
        &[("PASSPORT_TOKEN_AUDIENCE", "passport-test")],
    )
    .await;
    let claims = minted.claims();
    assert_eq!(claims["iss"], "https://passport.example.test");
    assert_eq!(claims["aud"], "passport-test");
    assert!(minted.quiet(), "{}", minted.stderr);
}

on_both_backends!(
    a_token_follows_the_settings_the_service_started_with,
    a_token_for_other_settings_is_minted_with_a_warning,
);
on_each_backend!(
    a_token_for_a_service_on_its_defaults_is_accepted,
    a_database_no_service_has_used_gets_the_defaults_and_a_note,
);
