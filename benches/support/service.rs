//! The service under load: a fresh database of either backend, the settings it is seeded with,
//! and the release binary started on it as a process of its own, so that its memory is its own.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use learning_passport::auth::keys::Keys;
use learning_passport::auth::tokens::TokenService;
use learning_passport::config::{LogFormat, Settings};
use learning_passport::db::{BackendKind, Database};
use learning_passport::organisations::NewCredentials;
use serde_json::Value;

use crate::memory;

/// A database for one run: a SQLite file in a temporary folder, or a PostgreSQL database from
/// `BENCH_DATABASE_URL` created for the run and dropped by `remove`.
pub struct BenchDatabase {
    pub dir: tempfile::TempDir,
    pub url: String,
    base: String,
    pg_name: String,
    postgres: bool,
}

impl BenchDatabase {
    pub fn create(backend: &str) -> BenchDatabase {
        let dir = tempfile::tempdir().unwrap();
        let base = std::env::var("BENCH_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let pg_name = format!("lp_bench_{}", uuid::Uuid::new_v4().simple());
        let url = match backend {
            "sqlite" => dir
                .path()
                .join("passport.db")
                .to_string_lossy()
                .into_owned(),
            _ => {
                let mut admin = diesel::PgConnection::establish(&base)
                    .expect("PostgreSQL for the benchmark (BENCH_DATABASE_URL)");
                diesel::sql_query(format!("CREATE DATABASE {pg_name}"))
                    .execute(&mut admin)
                    .unwrap();
                let mut url = url::Url::parse(&base).unwrap();
                url.set_path(&format!("/{pg_name}"));
                url.to_string()
            }
        };
        BenchDatabase {
            dir,
            url,
            base,
            pg_name,
            postgres: backend == "postgres",
        }
    }

    /// Drops the PostgreSQL database (every connection to it closed first), then the folder.
    pub fn remove(self) {
        if self.postgres {
            let mut admin = diesel::PgConnection::establish(&self.base).unwrap();
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.pg_name
            ))
            .execute(&mut admin);
        }
    }
}

/// The settings the data set is seeded with (the service process gets the same through its
/// environment).
pub fn settings(data_dir: &Path, url: &str) -> Settings {
    Settings {
        addr: "127.0.0.1:0".into(),
        workers: Some(2),
        data_dir: data_dir.to_path_buf(),
        database_url: Some(url.to_owned()),
        db_pool_size: 8,
        public_url: Some("http://passport.bench".into()),
        token_audience: "learning-passport".into(),
        client_token_ttl: 3600,
        grant_max_days: 365,
        access_request_days: 30,
        access_requests_per_day: 1000,
        oidc_issuer: None,
        oidc_audience: None,
        oidc_jwks: None,
        max_body_bytes: 1 << 20,
        max_batch_bytes: 8 << 20,
        rate_limit_per_minute: 0,
        client_timeout_seconds: 10,
        cors_origins: vec![],
        log_format: LogFormat::Text,
        webhooks: Default::default(),
        protection: Default::default(),
        xapi: Default::default(),
    }
}

/// Lets the database finish what the scenarios before (or seeding) left it, so that the next
/// ones do not pay for it: SQLite's write-ahead log (a running service keeps it small), and
/// PostgreSQL's dead rows, statistics and dirty pages (which autovacuum and the checkpointer
/// would otherwise see to in the middle of a scenario).
pub fn settle(db: &Database) {
    use diesel::connection::SimpleConnection;
    let mut conn = db.get().unwrap();
    let statements: &[&str] = match db.kind() {
        BackendKind::Sqlite => &["PRAGMA wal_checkpoint(TRUNCATE)"],
        // One at a time: VACUUM cannot run in the implicit transaction of a batch.
        BackendKind::Postgres => &["VACUUM ANALYZE", "CHECKPOINT"],
    };
    for statement in statements {
        conn.batch_execute(statement).unwrap();
    }
}

/// The service's process, where it answers, and its resident size once started.
pub struct Service {
    process: Child,
    pub base_url: String,
    /// Its resident size (VmRSS) a second after it first answered ready, before any other
    /// request, in MiB.
    pub idle_mib: f64,
}

impl Service {
    pub fn pid(&self) -> u32 {
        self.process.id()
    }

    pub fn stop(mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Starts the release binary on the database, on `allocator` (`PASSPORT_ALLOCATOR`; the
/// service's default when `None`); answers it once it is ready.
pub async fn spawn(database: &BenchDatabase, issuer: &str, allocator: Option<&str>) -> Service {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base_url = format!("http://127.0.0.1:{port}");
    let mut command = Command::new(env!("CARGO_BIN_EXE_learning-passport"));
    command
        .arg("serve")
        .env("DATABASE_URL", &database.url)
        .env("PASSPORT_DATA_DIR", database.dir.path())
        .env("PASSPORT_ADDR", format!("127.0.0.1:{port}"))
        .env("PASSPORT_PUBLIC_URL", issuer)
        .env("PASSPORT_RATE_LIMIT_PER_MINUTE", "0")
        .env("PASSPORT_WORKERS", "2")
        .env("PASSPORT_DB_POOL_SIZE", "8")
        .env("PASSPORT_LOG", "warn")
        // The webhook scenario's receiver listens on loopback.
        .env("PASSPORT_WEBHOOK_ALLOW_PRIVATE", "true")
        .env_remove("PASSPORT_ALLOCATOR");
    if let Some(allocator) = allocator {
        command.env("PASSPORT_ALLOCATOR", allocator);
    }
    let process = command.spawn().expect("the service binary");
    let probe = reqwest::Client::new();
    for _ in 0..200 {
        if probe
            .get(format!("{base_url}/health/ready"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Start-up's last connections and threads settle before the idle size is read.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_mib = memory::resident_mib(process.id());
    Service {
        process,
        base_url,
        idle_mib,
    }
}

/// Tokens for the first `count` seeded people, signed with the service's keys.
pub fn person_tokens(settings: &Settings, count: usize) -> Vec<String> {
    let tokens = TokenService::new(
        Arc::new(Keys::open(&settings.keys_dir()).unwrap()),
        settings.issuer(),
        settings.token_audience.clone(),
        None,
    );
    (0..count)
        .map(|n| {
            tokens
                .issue_person_token(&format!("person-{n}"), None, None, 3600)
                .unwrap()
        })
        .collect()
}

/// An organisation's access token, through `/v1/oauth/token`.
pub async fn org_token(http: &reqwest::Client, base_url: &str, client: &NewCredentials) -> String {
    let body: Value = http
        .post(format!("{base_url}/v1/oauth/token"))
        .basic_auth(&client.client_id, Some(&client.client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}
