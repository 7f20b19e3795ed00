//! Reaching the LRS, requirement by requirement, as xAPI 1.0.3 states it (Communication 2.8,
//! 3.3 and 4; section numbers are the specification's): every request names a version, and
//! every answer to a 1.0.x request names 1.0.3 (2.0 is in `xapi_v2.rs`); the About resource is
//! open to all; an organisation client
//! authenticates with Basic credentials or a bearer token, and stores only with
//! `records:write`; and each organisation's statements are its own.

mod support;

use serde_json::Value;
use support::xapi::*;
use support::{Method, Reply, TestApp};
use uuid::Uuid;

// Versions (Communication 3.3) ---------------------------------------------------------------

/// Communication 3.3: an LRS accepts requests of every 1.0.x version, and answers every
/// request with `X-Experience-API-Version` set to the latest patch version it supports (1.0.3).
async fn every_1_0_x_version_is_accepted_and_answered_as_1_0_3(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    for version in ["1.0.0", "1.0.1", "1.0.2", "1.0.3"] {
        let client = Lrs {
            version: Some(version.into()),
            ..lrs.clone()
        };
        let stored = client
            .post(
                &app,
                "/statements",
                statement("ann@example.com", "completed", COURSE),
            )
            .await;
        stored.expect(200);
        assert_eq!(stored.header("x-experience-api-version"), Some("1.0.3"));
        let id = stored.body[0].as_str().unwrap();
        let fetched = client.statement(&app, id).await;
        fetched.expect(200);
        assert_eq!(fetched.header("x-experience-api-version"), Some("1.0.3"));
    }
    assert_eq!(lrs.query(&app, "").await.len(), 4);
}

/// Communication 3.3: a request without `X-Experience-API-Version`, or naming a version the
/// LRS does not speak (anything but 1.0.x and 2.0.x), is refused with 400 and changes nothing;
/// the refusal still names a version of the LRS, its newest.
async fn a_missing_or_unknown_version_is_refused_and_nothing_is_stored(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    for version in [
        None,
        Some("0.95"),
        Some("1.1.0"),
        Some("2.1.0"),
        Some("1.0.x"),
    ] {
        let client = Lrs {
            version: version.map(str::to_owned),
            ..lrs.clone()
        };
        let id = Uuid::new_v4().to_string();
        let posted = client.post(&app, "/statements", with_id(base(), &id)).await;
        posted.expect_problem(400);
        assert_eq!(posted.header("x-experience-api-version"), Some("2.0.0"));
        client
            .put(&app, &format!("/statements?statementId={id}"), base())
            .await
            .expect_problem(400);
        client.get(&app, "/statements").await.expect_problem(400);
        lrs.statement(&app, &id).await.expect_problem(404);
    }
    assert!(lrs.query(&app, "").await.is_empty());
}

/// Communication 2.8: the About resource needs neither credentials nor a version header, and
/// lists the versions the LRS accepts; to a 1.0.x client, only 1.0.x versions (XAPI-00316:
/// "0.9", "0.95", "1.0.0" or "1.0.x" only).
async fn the_about_resource_needs_no_credentials_and_lists_the_versions(app: TestApp) {
    let about = Reply::from(
        app.http
            .get(app.url("/xapi/about"))
            .header("X-Experience-API-Version", VERSION)
            .send()
            .await
            .unwrap(),
    )
    .await;
    about.expect(200);
    assert_eq!(about.header("x-experience-api-version"), Some("1.0.3"));
    let versions: Vec<&str> = about.body["version"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for version in ["1.0.3", "1.0.2", "1.0.1", "1.0.0"] {
        assert!(
            versions.contains(&version),
            "{version} missing: {versions:?}"
        );
    }
    assert!(versions.iter().all(|v| v.starts_with("1.0")));
}

// Authentication (Communication 4) -----------------------------------------------------------

/// Communication 4: an organisation client reaches the LRS with HTTP Basic (its id and secret,
/// as LRS clients are configured) or with a bearer token from `/v1/oauth/token`.
async fn a_client_authenticates_with_basic_credentials_or_a_bearer_token(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let by_basic = lrs.store(&app, base()).await;
    let token = Auth::Bearer(&lrs.client.token);
    let by_token = call(&app, Method::POST, "/statements", token, Some(base())).await;
    by_token.expect(200);
    let by_token = by_token.body[0].as_str().unwrap().to_owned();
    for id in [&by_basic[0], &by_token] {
        let path = format!("/statements?statementId={id}");
        call(&app, Method::GET, &path, token, None)
            .await
            .expect(200);
        lrs.get(&app, &path).await.expect(200);
    }
}

/// Communication 4 and 3.2: a request without valid credentials is refused with 401, and the
/// answer challenges for Basic credentials (`WWW-Authenticate: Basic`).
async fn requests_without_valid_credentials_are_refused_with_a_basic_challenge(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let client_id = lrs.client.client_id.as_str();
    let refused = [
        Auth::None,
        Auth::Basic(client_id, "not-the-secret"),
        Auth::Basic("lpc_nobody", &lrs.client.client_secret),
        Auth::Bearer("not.a.token"),
    ];
    for auth in refused {
        for (method, body) in [(Method::GET, None), (Method::POST, Some(base()))] {
            let reply = call(&app, method, "/statements", auth, body).await;
            reply.expect_problem(401);
            // Other challenges (Bearer) may come too; one of them is for Basic.
            let challenges: Vec<&str> = reply
                .headers
                .get_all("www-authenticate")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            assert!(
                challenges.iter().any(|c| c.starts_with("Basic")),
                "challenges: {challenges:?}"
            );
        }
    }
    assert!(lrs.query(&app, "").await.is_empty());
}

/// The LRS is for organisation clients: a person's token is understood, and refused (403).
async fn a_persons_token_is_forbidden(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let alice = app.person_token("alice");
    let token = Auth::Bearer(&alice);
    call(&app, Method::GET, "/statements", token, None)
        .await
        .expect_problem(403);
    call(&app, Method::POST, "/statements", token, Some(base()))
        .await
        .expect_problem(403);
    assert!(lrs.query(&app, "").await.is_empty());
}

/// A revoked client is refused at once (401), even with the Basic credentials that worked a
/// moment before, and with its token.
async fn a_revoked_client_is_refused_at_once(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    lrs.store(&app, base()).await;
    revoke(&app, &[&lrs]).await;
    lrs.get(&app, "/statements").await.expect_problem(401);
    lrs.post(&app, "/statements", base())
        .await
        .expect_problem(401);
    call(
        &app,
        Method::GET,
        "/statements",
        Auth::Bearer(&lrs.client.token),
        None,
    )
    .await
    .expect_problem(401);
}

/// A revoked client stores nothing by any way (401), even with the Basic credentials the LRS
/// remembers as verified a moment before: by POST and by PUT, with those credentials or with
/// its token. Its revocation is what it is told, before anything wrong with the request itself
/// (a body that is no statement, storing without `records:write`).
async fn a_revoked_client_stores_nothing_by_any_way(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let reader = Lrs::with_scopes(&app, "HR", "shared:read").await;
    // Both verified, and so remembered, before they are revoked.
    lrs.store(&app, base()).await;
    reader.get(&app, "/statements").await.expect(200);
    revoke(&app, &[&lrs, &reader]).await;
    let put = format!("/statements?statementId={}", Uuid::new_v4());
    lrs.post(&app, "/statements", base())
        .await
        .expect_problem(401);
    lrs.put(&app, &put, base()).await.expect_problem(401);
    let token = Auth::Bearer(&lrs.client.token);
    call(&app, Method::POST, "/statements", token, Some(base()))
        .await
        .expect_problem(401);
    call(&app, Method::PUT, &put, token, Some(base()))
        .await
        .expect_problem(401);
    // Wrong in itself, and from a revoked client: the revocation is the answer.
    let no_statement = serde_json::json!("not a statement");
    lrs.post(&app, "/statements", no_statement.clone())
        .await
        .expect_problem(401);
    call(&app, Method::POST, "/statements", token, Some(no_statement))
        .await
        .expect_problem(401);
    lrs.put(&app, "/statements", base())
        .await
        .expect_problem(401);
    reader
        .post(&app, "/statements", base())
        .await
        .expect_problem(401);
    call(
        &app,
        Method::POST,
        "/statements",
        Auth::Bearer(&reader.client.token),
        Some(base()),
    )
    .await
    .expect_problem(401);
}

/// Storing statements feeds passports, so it needs the `records:write` scope (403 without);
/// reading needs no particular scope.
async fn a_client_without_records_write_may_read_but_not_store(app: TestApp) {
    let reader = Lrs::with_scopes(&app, "HR", "shared:read").await;
    let id = Uuid::new_v4().to_string();
    reader
        .post(&app, "/statements", with_id(base(), &id))
        .await
        .expect_problem(403);
    reader
        .put(&app, &format!("/statements?statementId={id}"), base())
        .await
        .expect_problem(403);
    assert!(reader.query(&app, "").await.is_empty());
    reader.statement(&app, &id).await.expect_problem(404);
}

// Isolation between organisations ------------------------------------------------------------

/// Each organisation's statements are its own: another organisation cannot fetch them by id,
/// does not find them by query, and may store a statement under the same id without conflict.
async fn organisations_do_not_see_each_others_statements(app: TestApp) {
    let a = Lrs::new(&app, "Acme Learning").await;
    let b = Lrs::new(&app, "Brightside Training").await;
    let id = Uuid::new_v4().to_string();
    a.store(&app, with_id(base(), &id)).await;

    b.statement(&app, &id).await.expect_problem(404);
    b.get(&app, &format!("/statements?voidedStatementId={id}"))
        .await
        .expect_problem(404);
    assert!(b.query(&app, "").await.is_empty());
    let ann = encode(r#"{"mbox":"mailto:ann@example.com"}"#);
    assert!(b.query(&app, &format!("agent={ann}")).await.is_empty());

    let theirs = with_id(
        statement("bob@example.com", "attempted", "http://example.com/b"),
        &id,
    );
    b.store(&app, theirs).await;
    let in_a = a.statement(&app, &id).await;
    assert_eq!(in_a.body["actor"]["mbox"], "mailto:ann@example.com");
    let in_b = b.statement(&app, &id).await;
    assert_eq!(in_b.body["actor"]["mbox"], "mailto:bob@example.com");
    assert_eq!(ids(&a.query(&app, "").await), vec![id.clone()]);
    assert_eq!(ids(&b.query(&app, "").await), vec![id]);
}

on_both_backends!(
    every_1_0_x_version_is_accepted_and_answered_as_1_0_3,
    a_missing_or_unknown_version_is_refused_and_nothing_is_stored,
    the_about_resource_needs_no_credentials_and_lists_the_versions,
    a_client_authenticates_with_basic_credentials_or_a_bearer_token,
    requests_without_valid_credentials_are_refused_with_a_basic_challenge,
    a_persons_token_is_forbidden,
    a_revoked_client_is_refused_at_once,
    a_revoked_client_stores_nothing_by_any_way,
    a_client_without_records_write_may_read_but_not_store,
    organisations_do_not_see_each_others_statements,
);

// Helpers ------------------------------------------------------------------------------------

/// The service's administrators revoke these LRS clients.
async fn revoke(app: &TestApp, clients: &[&Lrs]) {
    let admin = app.org("Passport Administration", "admin").await;
    for lrs in clients {
        app.delete(
            &format!(
                "/v1/organisations/{}/clients/{}",
                lrs.client.organisation_id, lrs.client.client_id
            ),
            &admin.token,
        )
        .await
        .expect(200);
    }
}

/// Credentials for a request made without the LRS client's Basic credentials.
#[derive(Clone, Copy)]
enum Auth<'a> {
    None,
    Basic(&'a str, &'a str),
    Bearer(&'a str),
}

/// A request to `/xapi{path}` with the version header and the given credentials.
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    auth: Auth<'_>,
    body: Option<Value>,
) -> Reply {
    let mut request = app
        .http
        .request(method, app.url(&format!("/xapi{path}")))
        .header("X-Experience-API-Version", VERSION);
    request = match auth {
        Auth::None => request,
        Auth::Basic(id, secret) => request.basic_auth(id, Some(secret)),
        Auth::Bearer(token) => request.bearer_auth(token),
    };
    if let Some(body) = body {
        request = request.json(&body);
    }
    Reply::from(request.send().await.unwrap()).await
}
