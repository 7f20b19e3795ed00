//! The test harness: starts the service on a fresh database of either backend, over real HTTP,
//! and gives each kind of caller a ready-made client.
//!
//! PostgreSQL: each test gets its own database, cloned from a template that is migrated once
//! per migration set, and dropped when the test ends. The server comes from
//! `TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`). When it cannot
//! be reached the PostgreSQL half of each test is skipped with a loud warning, unless `CI` is
//! set, in which case it fails.

#![allow(dead_code)]

pub mod receiver;
pub mod webhooks;
pub mod xapi;

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

use diesel::prelude::*;
use learning_passport::auth::Scopes;
use learning_passport::auth::keys::Keys;
use learning_passport::auth::tokens::TokenService;
use learning_passport::config::{LogFormat, Settings, WebhookSettings, XapiSettings};
use learning_passport::db::Database;
use learning_passport::{AppState, organisations};
use serde_json::Value;

pub use reqwest::{Method, StatusCode};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs a scenario `async fn name(app: TestApp)` on SQLite and on PostgreSQL, as two tests
/// `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[actix_web::test]
            async fn sqlite() {
                if let Some(app) = $crate::support::TestApp::start($crate::support::Backend::Sqlite).await {
                    super::$name(app).await
                }
            }
            #[actix_web::test]
            async fn postgres() {
                if let Some(app) = $crate::support::TestApp::start($crate::support::Backend::Postgres).await {
                    super::$name(app).await
                }
            }
        }
    )*};
}

/// Runs a scenario `async fn name(backend: Backend)` that starts its own app (with settings of
/// its own) on SQLite and on PostgreSQL, as two tests `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_each_backend {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[actix_web::test]
            async fn sqlite() {
                super::$name($crate::support::Backend::Sqlite).await
            }
            #[actix_web::test]
            async fn postgres() {
                super::$name($crate::support::Backend::Postgres).await
            }
        }
    )*};
}

const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn pg_base() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_PG.to_owned())
}

fn with_database(base: &str, name: &str) -> String {
    let mut url = url::Url::parse(base).expect("TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

fn migrations_fingerprint() -> String {
    use sha2::{Digest, Sha256};
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    let mut files: Vec<PathBuf> = walk(&dir);
    files.sort();
    let mut hash = Sha256::new();
    for file in files {
        hash.update(
            file.strip_prefix(&dir)
                .unwrap()
                .to_string_lossy()
                .as_bytes(),
        );
        hash.update(std::fs::read(&file).unwrap());
    }
    hex(&hash.finalize()[..6])
}

fn walk(dir: &PathBuf) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path))
        } else {
            out.push(path)
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh PostgreSQL database, dropped with this value.
struct PgDatabase {
    admin_url: String,
    name: String,
}

impl PgDatabase {
    fn create() -> Option<(Self, String)> {
        let admin_url = pg_base();
        let mut admin = match diesel::PgConnection::establish(&admin_url) {
            Ok(conn) => conn,
            Err(error) => {
                if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false") {
                    panic!("CI is set but PostgreSQL at {admin_url} is unreachable: {error}");
                }
                eprintln!(
                    "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                     !! SKIPPING the PostgreSQL half of this test: {admin_url} is unreachable\n\
                     !! ({error}). Set TEST_DATABASE_URL, or start PostgreSQL. CI never skips.\n\
                     !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
                );
                return None;
            }
        };
        let template = format!("lp_template_{}", migrations_fingerprint());
        // One process builds the template; the others wait for it on this lock.
        diesel::sql_query("SELECT pg_advisory_lock(727274)")
            .execute(&mut admin)
            .unwrap();
        let exists: i64 = diesel::sql_query(format!(
            "SELECT count(*) AS n FROM pg_database WHERE datname = '{template}'"
        ))
        .get_result::<Count>(&mut admin)
        .unwrap()
        .n;
        if exists == 0 {
            diesel::sql_query(format!("CREATE DATABASE {template}"))
                .execute(&mut admin)
                .unwrap();
            let db = Database::connect(&with_database(&admin_url, &template), 1, false).unwrap();
            db.migrate().unwrap();
            drop(db);
        }
        diesel::sql_query("SELECT pg_advisory_unlock(727274)")
            .execute(&mut admin)
            .unwrap();
        let name = format!("lp_test_{}", uuid::Uuid::new_v4().simple());
        // Cloning needs the template to be idle for a moment; retry while another clone runs.
        let mut attempts = 0;
        loop {
            match diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}"))
                .execute(&mut admin)
            {
                Ok(_) => break,
                Err(error) if attempts < 50 => {
                    attempts += 1;
                    let _ = error;
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(error) => panic!("could not create a test database: {error}"),
            }
        }
        let url = with_database(&admin_url, &name);
        Some((PgDatabase { admin_url, name }, url))
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = diesel::PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// An organisation client set up for a test.
#[derive(Debug, Clone)]
pub struct OrgClient {
    pub organisation_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub token: String,
}

/// A running service on a fresh database.
pub struct TestApp {
    pub backend: Backend,
    pub base_url: String,
    pub http: reqwest::Client,
    pub settings: Settings,
    pub tokens: TokenService,
    pub db: Database,
    server: Option<RunningServer>,
    others: Vec<RunningServer>,
    _pg: Option<PgDatabase>,
    _dir: tempfile::TempDir,
}

pub fn test_settings(data_dir: PathBuf, database_url: String) -> Settings {
    Settings {
        addr: "127.0.0.1:0".into(),
        workers: Some(2),
        data_dir,
        database_url: Some(database_url),
        db_pool_size: 4,
        public_url: Some("http://passport.test".into()),
        token_audience: "learning-passport".into(),
        client_token_ttl: 900,
        grant_max_days: 365,
        oidc_issuer: None,
        oidc_audience: None,
        oidc_jwks: None,
        max_body_bytes: 64 * 1024,
        max_batch_bytes: 2 << 20,
        rate_limit_per_minute: 0,
        client_timeout_seconds: 10,
        cors_origins: vec![],
        log_format: LogFormat::Text,
        // Receivers in tests listen on loopback, and a failed delivery is retried within moments.
        webhooks: WebhookSettings {
            allow_private: true,
            retry_base_ms: 200,
            poll_ms: 100,
            sweep_seconds: 1,
            ..Default::default()
        },
        protection: Default::default(),
        xapi: XapiSettings::default(),
    }
}

impl TestApp {
    /// Starts the service with the test settings; `None` when PostgreSQL is unavailable
    /// outside CI.
    pub async fn start(backend: Backend) -> Option<TestApp> {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(
        backend: Backend,
        adjust: impl FnOnce(&mut Settings),
    ) -> Option<TestApp> {
        let dir = tempfile::tempdir().unwrap();
        let (pg, url) = match backend {
            Backend::Sqlite => (
                None,
                dir.path()
                    .join("passport.db")
                    .to_string_lossy()
                    .into_owned(),
            ),
            Backend::Postgres => {
                let (pg, url) = actix_web::rt::task::spawn_blocking(PgDatabase::create)
                    .await
                    .unwrap()?;
                (Some(pg), url)
            }
        };
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut settings = test_settings(dir.path().to_path_buf(), url.clone());
        // The service names itself by the address it really answers on, so that its did:web
        // and token issuer resolve to it.
        settings.public_url = Some(format!("http://127.0.0.1:{port}"));
        adjust(&mut settings);
        let for_server = settings.clone();
        let state = actix_web::rt::task::spawn_blocking(move || AppState::start(for_server))
            .await
            .unwrap()
            .unwrap();
        let server = RunningServer::start(state, listener);
        let keys = Arc::new(Keys::open(&settings.keys_dir()).unwrap());
        let tokens = TokenService {
            keys,
            issuer: settings.issuer(),
            audience: settings.token_audience.clone(),
            oidc: None,
        };
        let db = Database::connect(&url, 2, true).unwrap();
        Some(TestApp {
            backend,
            base_url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            settings,
            tokens,
            db,
            server: Some(server),
            others: Vec::new(),
            _pg: pg,
            _dir: dir,
        })
    }

    /// A second service instance on the same database and keys, as behind a load balancer;
    /// answers its base URL. It stops with this app.
    pub async fn another_instance(&mut self) -> String {
        let settings = self.settings.clone();
        let state = actix_web::rt::task::spawn_blocking(move || AppState::start(settings))
            .await
            .unwrap()
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        self.others.push(RunningServer::start(state, listener));
        format!("http://127.0.0.1:{port}")
    }

    /// Stops the service at once (as a crash would, between any two requests) and starts it
    /// again on the same database and keys, with adjusted settings, on a new port.
    pub async fn restart_with(&mut self, adjust: impl FnOnce(&mut Settings)) {
        if let Some(mut server) = self.server.take() {
            actix_web::rt::task::spawn_blocking(move || server.stop())
                .await
                .unwrap();
        }
        adjust(&mut self.settings);
        let settings = self.settings.clone();
        let state = actix_web::rt::task::spawn_blocking(move || AppState::start(settings))
            .await
            .unwrap()
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        self.server = Some(RunningServer::start(state, listener));
        self.base_url = format!("http://127.0.0.1:{port}");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// A person token for a subject, as `token person` would mint it.
    pub fn person_token(&self, subject: &str) -> String {
        self.tokens
            .issue_person_token(
                subject,
                Some(&format!("{subject}@example.org")),
                Some(&format!("Person {subject}")),
                3600,
            )
            .unwrap()
    }

    /// Creates an organisation with a client holding `scopes`, as `org create` would, and
    /// fetches a token for it through `/v1/oauth/token`.
    pub async fn org(&self, name: &str, scopes: &str) -> OrgClient {
        let name = name.to_owned();
        let scopes = Scopes::parse(scopes).unwrap();
        let db = self.db.clone();
        let credentials = actix_web::rt::task::spawn_blocking(move || {
            let mut conn = db.get().unwrap();
            let organisation = organisations::create(&mut conn, &name, None).unwrap();
            organisations::create_client(&mut conn, organisation.id, &scopes).unwrap()
        })
        .await
        .unwrap();
        let response = self
            .http
            .post(self.url("/v1/oauth/token"))
            .basic_auth(&credentials.client_id, Some(&credentials.client_secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "token request failed");
        let body: Value = response.json().await.unwrap();
        OrgClient {
            organisation_id: credentials.organisation_id.to_string(),
            client_id: credentials.client_id,
            client_secret: credentials.client_secret,
            token: body["access_token"].as_str().unwrap().to_owned(),
        }
    }

    /// Sends a request with an optional bearer token and JSON body; answers status, headers
    /// and the body as JSON (`Value::Null` when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Reply::from(request.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// Sends one request per body at once, each with `If-Match: etag`, as several apps that
    /// read the same version would; answers the replies in the order of the bodies.
    pub async fn racing(
        &self,
        method: Method,
        path: &str,
        token: &str,
        etag: &str,
        bodies: Vec<Option<Value>>,
    ) -> Vec<Reply> {
        let requests = bodies.into_iter().map(|body| {
            let mut request = self
                .http
                .request(method.clone(), self.url(path))
                .bearer_auth(token)
                .header("if-match", etag);
            if let Some(body) = body {
                request = request.json(&body);
            }
            async move { Reply::from(request.send().await.unwrap()).await }
        });
        futures_util::future::join_all(requests).await
    }
}

/// Asserts that of several writers holding one ETag exactly one won and every other was
/// answered 412.
#[track_caller]
pub fn exactly_one_wins(replies: &[Reply], success: u16) {
    let won = replies.iter().filter(|r| r.status == success).count();
    let stale = replies.iter().filter(|r| r.status == 412).count();
    assert_eq!(
        (won, stale),
        (1, replies.len() - 1),
        "one writer wins, the others are refused: {:?}",
        replies
            .iter()
            .map(|r| r.status.as_u16())
            .collect::<Vec<_>>()
    );
}

/// Waits (up to ten seconds) until `check` holds, for what the service writes a moment after
/// it answers (refused accesses in the access log, webhook deliveries).
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A service instance on a thread of its own, so that it can be stopped and waited for from
/// anywhere, before its database and data folder are removed.
struct RunningServer {
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningServer {
    fn start(state: AppState, listener: TcpListener) -> Self {
        let (sender, receiver) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = learning_passport::server(state, listener).unwrap();
                sender.send(server.handle()).unwrap();
                let _ = server.await;
            })
        });
        RunningServer {
            handle: receiver.recv().unwrap(),
            thread: Some(thread),
        }
    }

    fn stop(&mut self) {
        // `stop` sends its command at once; the returned future only waits for the answer.
        drop(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Every instance stops, and its pool closes, before the database and the data folder
        // are removed (the fields drop after this).
        for server in self.server.iter_mut().chain(self.others.iter_mut()) {
            server.stop();
        }
    }
}

/// Publishes the example learning-outcomes framework (`examples/frameworks/dghp-lof-example.json`,
/// code `dghp-lof-example`, version `0.1-example`) with an administrator's token.
pub async fn publish_example_framework(app: &TestApp, admin_token: &str) {
    let framework: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/frameworks/dghp-lof-example.json"
        ))
        .unwrap(),
    )
    .unwrap();
    app.call(
        Method::PUT,
        "/v1/frameworks/dghp-lof-example/0.1-example",
        Some(admin_token),
        Some(framework),
    )
    .await
    .expect(201);
}

/// `count` self-declared records straight into the database for a person (for tests of what a
/// full passport does), in multi-row inserts.
pub async fn seed_records(app: &TestApp, person_id: &str, count: usize) {
    use learning_passport::db::types::Id;
    use learning_passport::records::RecordRow;
    use learning_passport::records::model::{Provenance, RecordContent, RecordKind};
    let person = Id(person_id.parse().unwrap());
    let db = app.db.clone();
    actix_web::rt::task::spawn_blocking(move || {
        let mut conn = db.get().unwrap();
        let rows: Vec<RecordRow> = (0..count)
            .map(|n| {
                RecordRow::new(
                    person,
                    RecordContent {
                        kind: RecordKind::Cpd,
                        title: format!("Seeded {n}"),
                        activity_code: None,
                        provider_name: None,
                        started_at: None,
                        completed_at: None,
                        expires_at: None,
                        result: None,
                        score: None,
                        hours: None,
                        evidence: vec![],
                        notes: None,
                    },
                    Provenance::SelfDeclared,
                )
            })
            .collect();
        for chunk in rows.chunks(1000) {
            learning_passport::on_backend!(&mut *conn, |c| diesel::insert_into(
                learning_passport::db::schema::records::table
            )
            .values(chunk)
            .execute(c))
            .unwrap();
        }
    })
    .await
    .unwrap();
}

/// A response, read.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub async fn from(response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, printing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {:#}",
            self.body
        );
        self
    }

    /// Asserts a problem details answer naming `field`.
    #[track_caller]
    pub fn expect_field_error(&self, status: u16, field: &str) -> &Self {
        self.expect(status);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        let fields: Vec<&str> = self.body["errors"]
            .as_array()
            .map(|e| e.iter().filter_map(|x| x["field"].as_str()).collect())
            .unwrap_or_default();
        assert!(
            fields.contains(&field),
            "expected an error naming `{field}`, got {:#}",
            self.body
        );
        self
    }

    /// Asserts a problem details answer.
    #[track_caller]
    pub fn expect_problem(&self, status: u16) -> &Self {
        self.expect(status);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "body: {:#}",
            self.body
        );
        assert_eq!(self.body["status"], status);
        assert!(
            self.body["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("urn:learning-passport:problem:"))
        );
        assert!(self.body["detail"].is_string());
        self
    }
}

/// insta redactions for the ids and times of a resource.
pub fn redact(value: &Value) -> Value {
    fn walk(key: Option<&str>, value: &Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), walk(Some(k), v)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|v| walk(key, v)).collect()),
            Value::String(_)
                if key.is_some_and(|k| {
                    k == "id" || k.ends_with("_id") || k.ends_with("_ids") || k == "instance"
                }) =>
            {
                Value::String("[id]".into())
            }
            Value::String(_)
                if key.is_some_and(|k| {
                    k.ends_with("_at") || k == "timestamp" || k == "next_cursor"
                }) =>
            {
                Value::String("[redacted]".into())
            }
            other => other.clone(),
        }
    }
    walk(None, value)
}

/// Compares a response body with its snapshot, the same file for both backends.
#[macro_export]
macro_rules! snapshot {
    ($name:expr, $value:expr) => {{
        let mut settings = insta::Settings::clone_current();
        settings.set_prepend_module_to_snapshot(false);
        settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots"));
        settings.bind(|| insta::assert_json_snapshot!($name, $crate::support::redact(&$value)));
    }};
}
