//! Hostile clients: made-up credentials, floods and forged forwarding headers cost the service
//! little and never lock legitimate callers out.

mod support;

use futures_util::future::join_all;
use support::{Backend, OrgClient, TestApp};

/// Failed authentications allowed per address per minute in these tests.
const BUDGET: u32 = 5;

async fn start(backend: Backend, trusted_proxies: &[&str]) -> Option<TestApp> {
    let proxies: Vec<String> = trusted_proxies.iter().map(|p| p.to_string()).collect();
    TestApp::start_with(backend, |s| {
        s.protection.auth_failures_per_minute = BUDGET;
        s.protection.trusted_proxies = proxies;
    })
    .await
}

/// A token request with HTTP Basic credentials, optionally as a proxy forwarding for `from`.
async fn token_request(
    app: &TestApp,
    id: &str,
    secret: &str,
    from: Option<&str>,
) -> support::Reply {
    let mut request = app
        .http
        .post(app.url("/v1/oauth/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")]);
    if let Some(address) = from {
        request = request.header("X-Forwarded-For", address);
    }
    support::Reply::from(request.send().await.unwrap()).await
}

fn made_up(n: usize) -> (String, String) {
    (format!("lpc_madeup{n}"), format!("lps_wrong{n}"))
}

/// Sends `n` made-up credentials at once; answers the statuses.
async fn flood(app: &TestApp, n: usize, from: Option<&str>) -> Vec<support::Reply> {
    join_all((0..n).map(|i| {
        let (id, secret) = made_up(i);
        async move { token_request(app, &id, &secret, from).await }
    }))
    .await
}

fn statuses(replies: &[support::Reply]) -> (usize, usize, usize) {
    let count = |code: u16| replies.iter().filter(|r| r.status.as_u16() == code).count();
    (
        count(401),
        count(429),
        replies.len() - count(401) - count(429),
    )
}

fn assert_too_many(reply: &support::Reply) {
    reply.expect_problem(429);
    let wait: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!(wait >= 1);
}

async fn made_up_client_credentials_are_answered_429_once_the_budget_is_spent(backend: Backend) {
    let Some(app) = start(backend, &[]).await else {
        return;
    };
    let employer = app.org("Employer", "shared:read").await;
    let replies = flood(&app, 40, None).await;
    let (refused, limited, other) = statuses(&replies);
    assert_eq!(other, 0, "only 401 and 429: {replies:#?}");
    assert!(
        refused <= BUDGET as usize,
        "{refused} secrets were checked, beyond the budget of {BUDGET}"
    );
    assert!(limited >= 40 - BUDGET as usize);
    assert_too_many(replies.iter().find(|r| r.status == 429).unwrap());

    // A caller with a valid token from the same address is not affected.
    app.get("/v1/grants", &employer.token).await.expect(200);
    // Nor is a client whose secret verified a moment ago, asking again.
    token_request(&app, &employer.client_id, &employer.client_secret, None)
        .await
        .expect(200);
    // A client that has not signed in lately must wait, as every caller from that address.
    let fresh = fresh_client(&app).await;
    assert_too_many(&token_request(&app, &fresh.0, &fresh.1, None).await);
}

/// A client created directly in the database, whose secret the service has not seen yet.
async fn fresh_client(app: &TestApp) -> (String, String) {
    let db = app.db.clone();
    actix_web::rt::task::spawn_blocking(move || {
        let mut conn = db.get().unwrap();
        let organisation =
            learning_passport::organisations::create(&mut conn, "Fresh", None).unwrap();
        let credentials = learning_passport::organisations::create_client(
            &mut conn,
            organisation.id,
            &learning_passport::auth::Scopes::parse("shared:read").unwrap(),
        )
        .unwrap();
        (credentials.client_id, credentials.client_secret)
    })
    .await
    .unwrap()
}

async fn made_up_bearer_tokens_spend_the_same_budget(backend: Backend) {
    let Some(app) = start(backend, &[]).await else {
        return;
    };
    let employer = app.org("Employer", "shared:read").await;
    let mut seen = Vec::new();
    for n in 0..12 {
        seen.push(app.get("/v1/grants", &format!("not.a.token{n}")).await);
    }
    let (refused, limited, other) = statuses(&seen);
    assert_eq!(
        (refused, limited, other),
        (BUDGET as usize, 12 - BUDGET as usize, 0)
    );
    assert_too_many(seen.last().unwrap());
    app.get("/v1/grants", &employer.token).await.expect(200);
}

async fn an_lrs_flood_of_wrong_secrets_is_answered_429(backend: Backend) {
    let Some(app) = start(backend, &[]).await else {
        return;
    };
    let platform: OrgClient = app.org("Platform", "records:write").await;
    let about = |id: String, secret: String| {
        let request = app
            .http
            .get(app.url("/xapi/statements"))
            .basic_auth(id, Some(secret))
            .header("X-Experience-API-Version", "1.0.3");
        async move { support::Reply::from(request.send().await.unwrap()).await }
    };
    // The platform's own client has been seen once (its secret is remembered).
    about(platform.client_id.clone(), platform.client_secret.clone())
        .await
        .expect(200);
    let replies = join_all((0..30).map(|i| {
        let (id, secret) = made_up(i);
        about(id, secret)
    }))
    .await;
    let (refused, limited, other) = statuses(&replies);
    assert_eq!(other, 0);
    assert!(refused <= BUDGET as usize);
    assert!(limited >= 30 - BUDGET as usize);
    about(platform.client_id.clone(), platform.client_secret.clone())
        .await
        .expect(200);
}

async fn forwarded_addresses_are_ignored_unless_the_proxy_is_trusted(backend: Backend) {
    let Some(app) = start(backend, &[]).await else {
        return;
    };
    // Changing X-Forwarded-For does not buy a fresh budget.
    let mut replies = Vec::new();
    for n in 0..10 {
        let (id, secret) = made_up(n);
        let from = format!("203.0.113.{n}");
        replies.push(token_request(&app, &id, &secret, Some(&from)).await);
    }
    let (refused, limited, _) = statuses(&replies);
    assert_eq!((refused, limited), (BUDGET as usize, 10 - BUDGET as usize));
}

async fn behind_a_trusted_proxy_each_caller_has_its_own_budget(backend: Backend) {
    let Some(app) = start(backend, &["127.0.0.1/32", "::1"]).await else {
        return;
    };
    let employer = app.org("Employer", "shared:read").await;
    let attacker = Some("198.51.100.66");
    let replies = flood(&app, 20, attacker).await;
    let (refused, limited, _) = statuses(&replies);
    assert!(refused <= BUDGET as usize && limited >= 20 - BUDGET as usize);
    // Another caller behind the same proxy still has its secret checked, and signs in.
    let (id, secret) = made_up(99);
    token_request(&app, &id, &secret, Some("198.51.100.67"))
        .await
        .expect_problem(401);
    let fresh = fresh_client(&app).await;
    token_request(&app, &fresh.0, &fresh.1, Some("198.51.100.68"))
        .await
        .expect(200);
    // A client guessed at from several addresses cannot be locked out by those failures: from
    // an address that has not failed, its own secret is checked, and it signs in.
    let target = fresh_client(&app).await;
    for attacker in ["198.51.100.70", "198.51.100.71", "198.51.100.72"] {
        let replies = join_all((0..8).map(|i| {
            let (client, secret) = (target.0.clone(), format!("lps_guess{i}"));
            let app = &app;
            async move { token_request(app, &client, &secret, Some(attacker)).await }
        }))
        .await;
        assert!(statuses(&replies).1 > 0, "the guessing address is limited");
    }
    let token = token_request(&app, &target.0, &target.1, Some("198.51.100.80")).await;
    token.expect(200);
    assert!(token.body["access_token"].is_string());
    drop(employer);
}

on_each_backend!(
    made_up_client_credentials_are_answered_429_once_the_budget_is_spent,
    made_up_bearer_tokens_spend_the_same_budget,
    an_lrs_flood_of_wrong_secrets_is_answered_429,
    forwarded_addresses_are_ignored_unless_the_proxy_is_trusted,
    behind_a_trusted_proxy_each_caller_has_its_own_budget,
);
