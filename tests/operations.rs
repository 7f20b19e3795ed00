//! Operations: health, metrics, request ids, fallbacks, the docs page and serving the OpenAPI
//! document (what the document says is checked in `tests/openapi.rs`).

mod support;

use serde_json::Value;
use support::{Backend, TestApp};

async fn health_endpoints_answer(app: TestApp) {
    let live = app.http.get(app.url("/health/live")).send().await.unwrap();
    assert_eq!(live.status(), 200);
    let ready = app.http.get(app.url("/health/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    let expected = match app.backend {
        support::Backend::Sqlite => "sqlite",
        support::Backend::Postgres => "postgresql",
    };
    assert_eq!(body["database"], expected);
}

async fn every_response_carries_a_request_id(app: TestApp) {
    let made = app.http.get(app.url("/health/live")).send().await.unwrap();
    let id = made.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok());

    let echoed = app
        .http
        .get(app.url("/health/live"))
        .header("x-request-id", "trace-abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "trace-abc-123");

    let hostile = app
        .http
        .get(app.url("/health/live"))
        .header("x-request-id", "evil\"value with spaces")
        .send()
        .await
        .unwrap();
    assert_ne!(hostile.headers()["x-request-id"], "evil\"value with spaces");

    let problem = app
        .http
        .get(app.url("/v1/nothing-here"))
        .header("x-request-id", "trace-404")
        .send()
        .await
        .unwrap();
    assert_eq!(problem.headers()["x-request-id"], "trace-404");
    let body: Value = problem.json().await.unwrap();
    assert_eq!(body["instance"], "urn:request:trace-404");
}

async fn unknown_routes_and_methods_are_problem_details(app: TestApp) {
    let missing = app.http.get(app.url("/v1/unknown")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );

    let method = app
        .http
        .put(app.url("/v1/me/records"))
        .send()
        .await
        .unwrap();
    assert_eq!(method.status(), 405);
    assert_eq!(method.headers()["content-type"], "application/problem+json");
    assert_eq!(method.headers()["allow"], "GET, POST");

    let item = app
        .http
        .post(app.url("/v1/me/records/0190a000-0000-7000-8000-000000000000"))
        .send()
        .await
        .unwrap();
    assert_eq!(item.status(), 405);
    assert_eq!(item.headers()["allow"], "GET, DELETE, PATCH");
}

async fn metrics_are_exported(app: TestApp) {
    app.http.get(app.url("/health/live")).send().await.unwrap();
    let person = uuid::Uuid::new_v4();
    let path = format!("/v1/people/{person}/records");
    app.http.get(app.url(&path)).send().await.unwrap();
    let metrics = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains(
            "passport_http_requests_total{method=\"GET\",route=\"/health/live\",status=\"200\"}"
        ),
        "{text}"
    );
    assert!(text.contains("passport_http_request_duration_seconds_bucket"));
    // By the route's pattern, never by the ids in the path: one series per route.
    assert!(
        text.contains(
            "passport_http_requests_total{method=\"GET\",route=\"/v1/people/{person_id}/records\",status=\"401\"}"
        ),
        "{text}"
    );
    assert!(!text.contains(&person.to_string()), "{text}");
}

async fn metrics_can_be_kept_behind_a_token(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, |s| {
        s.protection.metrics_token = Some("scrape-me-0123456789".into())
    })
    .await
    else {
        return;
    };
    let bare = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(bare.status(), 401);
    let wrong = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth("scrape-me-0123456788")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let right = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth("scrape-me-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    assert!(
        right
            .text()
            .await
            .unwrap()
            .contains("passport_http_requests_total")
    );
}

async fn metrics_can_be_served_on_their_own_address(backend: Backend) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let Some(app) = TestApp::start_with(backend, |s| {
        s.protection.metrics_addr = Some(format!("127.0.0.1:{port}"))
    })
    .await
    else {
        return;
    };
    app.http.get(app.url("/health/live")).send().await.unwrap();
    let on_the_api = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(on_the_api.status(), 404);
    let mut separate = None;
    for _ in 0..50 {
        if let Ok(reply) = app
            .http
            .get(format!("http://127.0.0.1:{port}/metrics"))
            .send()
            .await
        {
            separate = Some(reply);
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let separate = separate.expect("the metrics address answers");
    assert_eq!(separate.status(), 200);
    assert!(
        separate
            .text()
            .await
            .unwrap()
            .contains("route=\"/health/live\"")
    );
}

async fn the_docs_page_is_served_from_the_binary(app: TestApp) {
    let redirect = app.http.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(redirect.status(), 200, "redirect followed to the docs page");
    let page = app.http.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"));
    // Every asset the page loads comes from this service, not from the internet.
    assert!(
        !html.contains("https://"),
        "the docs page must not load remote assets"
    );
    let script = app
        .http
        .get(app.url("/docs/swagger-ui-bundle.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), 200);
    let init = app
        .http
        .get(app.url("/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap();
    assert!(init.text().await.unwrap().contains("/openapi.json"));
}

async fn the_openapi_document_is_served(app: TestApp) {
    let served: Value = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let generated: Value =
        serde_json::from_str(&learning_passport::openapi().to_json().unwrap()).unwrap();
    assert_eq!(served, generated);
    assert!(served["openapi"].as_str().unwrap().starts_with("3.1"));
}

on_each_backend!(
    metrics_can_be_kept_behind_a_token,
    metrics_can_be_served_on_their_own_address,
);

on_both_backends!(
    health_endpoints_answer,
    every_response_carries_a_request_id,
    unknown_routes_and_methods_are_problem_details,
    metrics_are_exported,
    the_docs_page_is_served_from_the_binary,
    the_openapi_document_is_served,
);

mod limits {
    use super::support::{Backend, TestApp};
    use std::io::{Read, Write};

    #[actix_web::test]
    async fn a_client_over_its_rate_is_answered_429_with_retry_after() {
        let app = TestApp::start_with(Backend::Sqlite, |s| s.rate_limit_per_minute = 60)
            .await
            .unwrap();
        let alice = app.person_token("alice");
        let bob = app.person_token("bob");
        let mut limited = None;
        for _ in 0..40 {
            let reply = app.get("/v1/me", &alice).await;
            if reply.status == 429 {
                limited = Some(reply);
                break;
            }
        }
        let limited = limited.expect("the 21st request within a burst is refused");
        limited.expect_problem(429);
        assert!(
            limited
                .header("retry-after")
                .unwrap()
                .parse::<u64>()
                .unwrap()
                >= 1
        );
        // Another client, and the health probes, are unaffected.
        app.get("/v1/me", &bob).await.expect(200);
        assert_eq!(
            app.http
                .get(app.url("/health/live"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }

    #[actix_web::test]
    async fn cors_only_for_configured_origins_and_security_headers_everywhere() {
        let app = TestApp::start_with(Backend::Sqlite, |s| {
            s.cors_origins = vec!["https://app.example.org".into()]
        })
        .await
        .unwrap();
        let preflight = |origin: &'static str| {
            app.http
                .request(reqwest::Method::OPTIONS, app.url("/v1/me/records"))
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "authorization, content-type",
                )
                .send()
        };
        let allowed = preflight("https://app.example.org").await.unwrap();
        assert_eq!(
            allowed.headers()["access-control-allow-origin"],
            "https://app.example.org"
        );
        let refused = preflight("https://evil.example.org").await.unwrap();
        assert!(
            refused
                .headers()
                .get("access-control-allow-origin")
                .is_none()
        );

        let plain = TestApp::start(Backend::Sqlite).await.unwrap();
        let response = plain
            .http
            .get(plain.url("/health/live"))
            .header("origin", "https://app.example.org")
            .send()
            .await
            .unwrap();
        assert!(
            response
                .headers()
                .get("access-control-allow-origin")
                .is_none(),
            "no origin is allowed by default"
        );
        for (name, value) in [
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "no-referrer"),
            ("cache-control", "no-store"),
        ] {
            assert_eq!(response.headers()[name], value);
        }
        let jwks = plain
            .http
            .get(plain.url("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(jwks.headers()["cache-control"], "public, max-age=300");
    }

    #[actix_web::test]
    async fn a_client_too_slow_to_send_its_request_is_cut_off() {
        let app = TestApp::start_with(Backend::Sqlite, |s| s.client_timeout_seconds = 1)
            .await
            .unwrap();
        let address = app.base_url.trim_start_matches("http://").to_owned();
        let (closed_by_server, answer) = actix_web::rt::task::spawn_blocking(move || {
            let mut stream = std::net::TcpStream::connect(address).unwrap();
            // Far longer than the service's timeout: if this read timeout fires first, the
            // service kept the connection open.
            stream
                .set_read_timeout(Some(std::time::Duration::from_secs(30)))
                .unwrap();
            stream
                .write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            let mut answer = Vec::new();
            let closed = stream.read_to_end(&mut answer).is_ok();
            (closed, String::from_utf8_lossy(&answer).into_owned())
        })
        .await
        .unwrap();
        assert!(
            closed_by_server,
            "the service kept a stalled connection open"
        );
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "{answer}"
        );
    }
}

/// The service reaches a PostgreSQL database on its own host in plain text, where TLS would
/// cost CPU and protect nothing, and with TLS whenever `DATABASE_URL` asks for it.
#[actix_web::test]
async fn a_database_on_this_host_is_reached_in_plain_text_unless_the_url_asks_for_tls() {
    use learning_passport::db::{Database, postgres_url};
    let Some(app) = TestApp::start(Backend::Postgres).await else {
        return;
    };
    let url = app.settings.database_url.clone().unwrap();
    if postgres_url::choose(&url, |name| std::env::var(name).ok()).url == url {
        eprintln!("TEST_DATABASE_URL names sslmode or another host: nothing to check here");
        return;
    }
    let encrypted = |db: &Database| {
        let mut conn = db.get().unwrap();
        diesel::RunQueryDsl::get_result::<Tls>(
            diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"),
            &mut *conn,
        )
        .unwrap()
        .ssl
    };
    assert!(!encrypted(&app.db), "the service's own pool uses TLS");
    let server_offers_tls = {
        let mut conn = app.db.get().unwrap();
        diesel::RunQueryDsl::get_result::<Setting>(diesel::sql_query("SHOW ssl"), &mut *conn)
            .unwrap()
            .ssl
            == "on"
    };
    if server_offers_tls {
        let separator = if url.contains('?') { '&' } else { '?' };
        let asked =
            Database::connect(&format!("{url}{separator}sslmode=require"), 1, false).unwrap();
        assert!(encrypted(&asked), "sslmode=require was not followed");
    }
}

#[derive(diesel::QueryableByName)]
struct Tls {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    ssl: bool,
}

#[derive(diesel::QueryableByName)]
struct Setting {
    #[diesel(sql_type = diesel::sql_types::Text)]
    ssl: String,
}
