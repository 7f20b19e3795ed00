//! The scenarios of the load benchmark, one function each, grouped by what they measure; and
//! the running service, its callers and the seeded people that every scenario is given.

pub mod compliance;
pub mod events;
pub mod hostile;
pub mod ingestion;
pub mod reads;
pub mod tokens;
pub mod xapi;

use std::sync::Arc;
use std::time::Instant;

use learning_passport::AppState;
use learning_passport::db::Database;
use learning_passport::db::ids::PersonId;

use crate::Options;
use crate::seed::{self, Organisations};
use crate::service::{self, BenchDatabase, Service};

/// What every scenario is given: the running service, its callers and the seeded people.
pub struct Bench {
    clients: usize,
    seconds: u64,
    batch: usize,
    issuer: String,
    http: reqwest::Client,
    base_url: String,
    /// A pool on the service's database, for the database ceilings.
    db: Database,
    ids: Arc<Vec<PersonId>>,
    person_tokens: Arc<Vec<String>>,
    orgs: Organisations,
    employer_token: Arc<String>,
    platform_token: Arc<String>,
    /// The 15-requirement profile, created when a scenario first needs it.
    profile: tokio::sync::OnceCell<Arc<String>>,
}

impl Bench {
    async fn profile_id(&self) -> Arc<String> {
        self.profile
            .get_or_init(|| async {
                let id =
                    seed::requirement_profile(&self.http, &self.base_url, &self.employer_token)
                        .await;
                Arc::new(id)
            })
            .await
            .clone()
    }
}

/// Seeds a fresh database of `backend`, then starts the service on it as its own process, on
/// its default allocator.
pub async fn start(backend: &'static str, options: &Options) -> (BenchDatabase, Service, Bench) {
    let database = BenchDatabase::create(backend);
    let settings = service::settings(database.dir.path(), &database.url);
    let state = AppState::start(settings.clone()).unwrap();
    let db = state.db.clone();
    let orgs = seed::organisations_with_clients(&mut db.get().unwrap());
    seed::activities(&mut db.get().unwrap());
    let seeding = Instant::now();
    let ids = Arc::new(seed::passports(
        &mut db.get().unwrap(),
        options,
        orgs.employer.0,
        orgs.platform.0,
        &settings.issuer(),
    ));
    eprintln!(
        "[{backend}] seeded {} people × {} records in {:.1?}",
        options.people,
        options.records_per_person,
        seeding.elapsed()
    );

    // The service runs as its own process, the release binary, so that its memory is its own.
    drop(state);
    // Only SQLite's log: PostgreSQL analysed here, while the tables the scenarios write to are
    // still empty of their rows, planned the ingestion rows from those statistics and ran them
    // several times slower (10,000 people: push completions 22,215 → 8,983 records/s, xAPI
    // POSTs of 100 9,419 → 1,338 statements/s). A new deployment starts the same way.
    if backend == "sqlite" {
        service::settle(&db);
    }
    let service = service::spawn(&database, &settings.issuer(), None).await;
    let base_url = service.base_url.clone();

    let person_tokens = service::person_tokens(&settings, 200.min(options.people));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let employer_token = Arc::new(service::org_token(&http, &base_url, &orgs.employer.1).await);
    let platform_token = Arc::new(service::org_token(&http, &base_url, &orgs.platform.1).await);
    let bench = Bench {
        clients: options.clients,
        seconds: options.seconds,
        batch: options.batch,
        issuer: settings.issuer(),
        http,
        base_url,
        db,
        ids,
        person_tokens: Arc::new(person_tokens),
        orgs,
        employer_token,
        platform_token,
        profile: tokio::sync::OnceCell::new(),
    };
    (database, service, bench)
}

/// Stops the service and starts it again on the same database, on `allocator`, once the
/// database has settled: the scenarios then call the new process. Tokens stay valid, being
/// signed with the same keys.
pub async fn restart(
    bench: &mut Bench,
    database: &BenchDatabase,
    service: Service,
    allocator: &str,
) -> Service {
    service.stop();
    service::settle(&bench.db);
    let service = service::spawn(database, &bench.issuer, Some(allocator)).await;
    bench.base_url = service.base_url.clone();
    service
}
