//! The service under test: started on a fresh database of either backend, over real HTTP, with
//! more instances or a restart on the same database and keys when a test needs them.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

use learning_passport::AppState;
use learning_passport::auth::keys::Keys;
use learning_passport::auth::tokens::TokenService;
use learning_passport::config::{LogFormat, Settings, WebhookSettings, XapiSettings};
use learning_passport::db::Database;

use super::Backend;
use super::database::PgDatabase;

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
        access_request_days: 30,
        access_requests_per_day: 1000,
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
        let tokens = TokenService::new(
            keys,
            settings.issuer(),
            settings.token_audience.clone(),
            None,
        );
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
