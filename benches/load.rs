//! Load benchmark: seeds a realistic data set, runs the service, and measures each hot path over
//! HTTP with concurrent clients, beside two ceilings measured in the same run — the framework's
//! (`/health/live` under the same load) and the database's (the same queries run directly).
//!
//! ```text
//! cargo bench --bench load                                  # SQLite and PostgreSQL
//! cargo bench --bench load -- --backend sqlite --people 10000 --seconds 10
//! ```
//!
//! PostgreSQL comes from `BENCH_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! a fresh database is created for the run and dropped afterwards. Numbers are only comparable
//! within one run: compare the ratios, not the absolute rates.
//!
//! Each scenario is one function; `SCENARIOS` lists them in the order of the printed table, and
//! `ratio` compares each row with the rows it names. The hostile scenarios follow, last.

#[path = "support/hostile.rs"]
mod hostile;
#[path = "support/measure.rs"]
mod measure;
#[path = "support/seed.rs"]
mod seed;
#[path = "support/service.rs"]
mod service;
#[path = "support/webhooks.rs"]
mod webhooks;
#[path = "support/xapi.rs"]
mod xapi;

use std::future::Future;
use std::pin::Pin;
use std::process::Child;
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use learning_passport::AppState;
use learning_passport::db::Database;
use learning_passport::db::ids::PersonId;
use learning_passport::db::schema::records;
use learning_passport::http::pagination::Page;
use learning_passport::on_backend;
use learning_passport::records::store::{self, RecordFilter};
use learning_passport::records::{RecordRow, Viewer};
use serde_json::{Value, json};

use measure::{Measure, hammer, peak_memory_mib, summarise};
use seed::{Organisations, completion, record};
use service::BenchDatabase;

struct Options {
    backends: Vec<&'static str>,
    people: usize,
    records_per_person: usize,
    seconds: u64,
    clients: usize,
    batch: usize,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let number =
        |name: &str, default: usize| value(name).and_then(|v| v.parse().ok()).unwrap_or(default);
    let backends = match value("--backend").as_deref() {
        Some("sqlite") => vec!["sqlite"],
        Some("postgres") => vec!["postgres"],
        _ => vec!["sqlite", "postgres"],
    };
    Options {
        backends,
        people: number("--people", 10_000),
        records_per_person: number("--records", 30),
        seconds: number("--seconds", 5) as u64,
        clients: number("--clients", 16),
        batch: number("--batch", 500),
    }
}

/// The rows of the printed table, by name: what a row's ratio compares it with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Row {
    FrameworkCeiling,
    OwnerLists,
    OwnerListDirect,
    EmployerReads,
    ComplianceCheck,
    Worklist,
    PushCompletions,
    RawInsert,
    TokenIssuance,
    Webhook,
    XapiIngestion,
}

/// A scenario: measures one row against the running service.
type Scenario = for<'a> fn(&'a Bench) -> Pin<Box<dyn Future<Output = Measure> + 'a>>;

/// Every scenario, in the order of the printed table.
const SCENARIOS: [(Row, Scenario); 11] = [
    (Row::FrameworkCeiling, |b| Box::pin(framework_ceiling(b))),
    (Row::OwnerLists, |b| Box::pin(owner_lists(b))),
    (Row::OwnerListDirect, |b| Box::pin(owner_list_direct(b))),
    (Row::EmployerReads, |b| Box::pin(employer_reads(b))),
    (Row::ComplianceCheck, |b| Box::pin(compliance_check(b))),
    (Row::Worklist, |b| Box::pin(worklist(b))),
    (Row::PushCompletions, |b| Box::pin(push_completions(b))),
    (Row::RawInsert, |b| Box::pin(raw_insert(b))),
    (Row::TokenIssuance, |b| Box::pin(token_issuance(b))),
    (Row::Webhook, |b| Box::pin(webhook(b))),
    (Row::XapiIngestion, |b| Box::pin(xapi_ingestion(b))),
];

/// What every scenario is given: the running service, its callers and the seeded people.
struct Bench {
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

/// Seeds a fresh database of `backend`, then starts the service on it as its own process.
async fn start(backend: &'static str, options: &Options) -> (BenchDatabase, Child, Bench) {
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
    if backend == "sqlite" {
        service::checkpoint(&db);
    }
    let (process, base_url) = service::spawn(&database, &settings).await;

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
    (database, process, bench)
}

/// Framework ceiling.
async fn framework_ceiling(bench: &Bench) -> Measure {
    let (c, s) = (bench.clients, bench.seconds);
    let (h, b) = (bench.http.clone(), bench.base_url.clone());
    let (mut lat, took) = hammer(c, s, move |_, _| {
        let (h, b) = (h.clone(), b.clone());
        async move {
            assert!(
                h.get(format!("{b}/health/live"))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .is_success()
            );
        }
    })
    .await;
    summarise(
        "health/live (framework ceiling)",
        "req/s",
        &mut lat,
        took,
        1,
    )
}

/// A person listing their records.
async fn owner_lists(bench: &Bench) -> Measure {
    let (c, s) = (bench.clients, bench.seconds);
    let (h, b, t) = (
        bench.http.clone(),
        bench.base_url.clone(),
        bench.person_tokens.clone(),
    );
    let (mut lat, took) = hammer(c, s, move |client, i| {
        let (h, b, t) = (h.clone(), b.clone(), t.clone());
        async move {
            let token = &t[(client * 7919 + i) % t.len()];
            let r = h
                .get(format!("{b}/v1/me/records?limit=30"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
            r.bytes().await.unwrap();
        }
    })
    .await;
    summarise("owner lists 30 records", "req/s", &mut lat, took, 1)
}

/// The same list query run directly on the pool (database ceiling).
async fn owner_list_direct(bench: &Bench) -> Measure {
    let (c, s) = (bench.clients, bench.seconds);
    let (mut lat, took) = {
        let (db, ids) = (bench.db.clone(), bench.ids.clone());
        hammer(c, s, move |client, i| {
            let (db, ids) = (db.clone(), ids.clone());
            async move {
                let person = ids[(client * 7919 + i) % 200.min(ids.len())];
                tokio::task::spawn_blocking(move || {
                    store::list(
                        &mut db.get().unwrap(),
                        person,
                        Viewer::Owner,
                        &RecordFilter::default(),
                        Page {
                            limit: 30,
                            after: None,
                        },
                    )
                    .unwrap()
                })
                .await
                .unwrap();
            }
        })
        .await
    };
    summarise(
        "owner list query, direct (database ceiling)",
        "req/s",
        &mut lat,
        took,
        1,
    )
}

/// An employer reading a shared passport.
async fn employer_reads(bench: &Bench) -> Measure {
    let (c, s) = (bench.clients, bench.seconds);
    let (h, b, t, ids2) = (
        bench.http.clone(),
        bench.base_url.clone(),
        bench.employer_token.clone(),
        bench.ids.clone(),
    );
    let (mut lat, took) = hammer(c, s, move |client, i| {
        let (h, b, t, ids) = (h.clone(), b.clone(), t.clone(), ids2.clone());
        async move {
            let person = ids[(client * 104_729 + i * 31) % ids.len()];
            let r = h
                .get(format!("{b}/v1/people/{person}/records?limit=30"))
                .bearer_auth(t.as_str())
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
            r.bytes().await.unwrap();
        }
    })
    .await;
    summarise(
        "employer reads a shared passport",
        "req/s",
        &mut lat,
        took,
        1,
    )
}

/// A compliance check of one shared passport.
async fn compliance_check(bench: &Bench) -> Measure {
    let (c, s) = (bench.clients, bench.seconds);
    let (h, b, t, ids2, pid) = (
        bench.http.clone(),
        bench.base_url.clone(),
        bench.employer_token.clone(),
        bench.ids.clone(),
        bench.profile_id().await,
    );
    let (mut lat, took) = hammer(c, s, move |client, i| {
        let (h, b, t, ids, pid) = (h.clone(), b.clone(), t.clone(), ids2.clone(), pid.clone());
        async move {
            let person = ids[(client * 104_729 + i * 31) % ids.len()];
            let r = h
                .get(format!("{b}/v1/people/{person}/compliance?profile={pid}"))
                .bearer_auth(t.as_str())
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
            r.bytes().await.unwrap();
        }
    })
    .await;
    summarise(
        "compliance check, 15 requirements",
        "req/s",
        &mut lat,
        took,
        1,
    )
}

/// The worklist: pages of 200 people, each checked against the profile.
async fn worklist(bench: &Bench) -> Measure {
    let (c, s) = (bench.clients, bench.seconds);
    let (h, b, t, pid) = (
        bench.http.clone(),
        bench.base_url.clone(),
        bench.employer_token.clone(),
        bench.profile_id().await,
    );
    let people_count = bench.ids.len();
    let (mut lat, took) = hammer(c.min(4), s, move |_, _| {
        let (h, b, t, pid) = (h.clone(), b.clone(), t.clone(), pid.clone());
        async move {
            let r = h
                .get(format!("{b}/v1/compliance?profile={pid}&limit=200"))
                .bearer_auth(t.as_str())
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
            let body: Value = r.json().await.unwrap();
            assert_eq!(
                body["items"].as_array().unwrap().len(),
                200.min(people_count)
            );
        }
    })
    .await;
    summarise(
        "worklist, pages of 200 people",
        "people/s",
        &mut lat,
        took,
        200.min(people_count),
    )
}

/// Batch ingestion of completions.
async fn push_completions(bench: &Bench) -> Measure {
    let (c, s, batch) = (bench.clients, bench.seconds, bench.batch);
    let (h, b, t, ids3) = (
        bench.http.clone(),
        bench.base_url.clone(),
        bench.platform_token.clone(),
        bench.ids.clone(),
    );
    let (mut lat, took) = hammer(c.min(8), s, move |client, i| {
        let (h, b, t, ids) = (h.clone(), b.clone(), t.clone(), ids3.clone());
        async move {
            let items: Vec<Value> = (0..batch)
                .map(|k| {
                    completion(
                        ids[(client * 7 + i * 131 + k * 17) % ids.len()],
                        format!("http-{client}-{i}-{k}"),
                    )
                })
                .collect();
            let r = h
                .post(format!("{b}/v1/completions"))
                .bearer_auth(t.as_str())
                .json(&json!({"completions": items}))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
            let body: Value = r.json().await.unwrap();
            assert!(
                body["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|x| x["status"] == "created"),
                "{body}"
            );
        }
    })
    .await;
    summarise(
        &format!("push completions, batches of {batch}"),
        "records/s",
        &mut lat,
        took,
        batch,
    )
}

/// The same rows inserted directly, one multi-row insert per batch (database ceiling).
async fn raw_insert(bench: &Bench) -> Measure {
    let (c, s, batch) = (bench.clients, bench.seconds, bench.batch);
    let (mut lat, took) = {
        let (db, ids) = (bench.db.clone(), bench.ids.clone());
        let platform = bench.orgs.platform.0;
        hammer(c.min(8), s, move |client, i| {
            let (db, ids) = (db.clone(), ids.clone());
            async move {
                tokio::task::spawn_blocking(move || {
                    let rows: Vec<RecordRow> = (0..batch)
                        .map(|k| {
                            let mut row =
                                record(ids[(client * 7 + i * 131 + k * 17) % ids.len()], k);
                            row.provenance = "issued".into();
                            row.issuer_organisation_id = Some(platform);
                            row.external_id = Some(format!("raw-{client}-{i}-{k}"));
                            row
                        })
                        .collect();
                    learning_passport::db::transaction(&mut db.get().unwrap(), |conn| {
                        on_backend!(conn, |c| diesel::insert_into(records::table)
                            .values(&rows)
                            .execute(c))?;
                        Ok(())
                    })
                    .unwrap();
                })
                .await
                .unwrap();
            }
        })
        .await
    };
    summarise(
        &format!("raw insert of the same rows, batches of {batch} (database ceiling)"),
        "records/s",
        &mut lat,
        took,
        batch,
    )
}

/// Token issuance: argon2id verifies a client secret once, then the verified secret is remembered
/// for a minute, so this measures issuing the token itself.
async fn token_issuance(bench: &Bench) -> Measure {
    let (c, s) = (bench.clients, bench.seconds);
    let (h, b, cred) = (
        bench.http.clone(),
        bench.base_url.clone(),
        bench.orgs.employer.1.clone(),
    );
    let (mut lat, took) = hammer(c.min(4), s, move |_, _| {
        let (h, b, cred) = (h.clone(), b.clone(), cred.clone());
        async move {
            let r = h
                .post(format!("{b}/v1/oauth/token"))
                .basic_auth(&cred.client_id, Some(&cred.client_secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
        }
    })
    .await;
    summarise(
        "token issuance (client credentials)",
        "req/s",
        &mut lat,
        took,
        1,
    )
}

/// A webhook: from a person's grant to the signed grant.created at the organisation's receiver.
async fn webhook(bench: &Bench) -> Measure {
    let (c, s) = (bench.clients, bench.seconds);
    let receiver = Arc::new(webhooks::Receiver::start());
    webhooks::subscribe(
        &bench.http,
        &bench.base_url,
        &bench.platform_token,
        &receiver,
    )
    .await;
    let platform_id = bench.orgs.platform.0.0.to_string();
    let (h, b, people, r) = (
        bench.http.clone(),
        bench.base_url.clone(),
        bench.person_tokens.clone(),
        receiver.clone(),
    );
    let (mut lat, took) = {
        let deliveries = Arc::new(std::sync::Mutex::new(Vec::new()));
        let noted = deliveries.clone();
        let (_, took) = hammer(c.min(8), s, move |client, i| {
            let (h, b, people, r, p, noted) = (
                h.clone(),
                b.clone(),
                people.clone(),
                r.clone(),
                platform_id.clone(),
                noted.clone(),
            );
            async move {
                let token = &people[(client * 31 + i) % people.len()];
                let latency = webhooks::grant_to_arrival(&h, &b, token, &p, &r).await;
                noted.lock().unwrap().push(latency);
            }
        })
        .await;
        let latencies = deliveries.lock().unwrap().clone();
        (latencies, took)
    };
    if let Ok(receiver) = Arc::try_unwrap(receiver) {
        receiver.stop();
    }
    summarise(
        "grant → signed grant.created at the receiver (webhook)",
        "events/s",
        &mut lat,
        took,
        1,
    )
}

/// xAPI ingestion: a learning platform's LRS client POSTs 100 statements at a time with its
/// id and secret (HTTP Basic); one in five is a pass that becomes an issued record.
async fn xapi_ingestion(bench: &Bench) -> Measure {
    let (c, s) = (bench.clients, bench.seconds);
    let (h, b, cred, people, home) = (
        bench.http.clone(),
        bench.base_url.clone(),
        bench.orgs.platform.1.clone(),
        bench.ids.clone(),
        bench.issuer.clone(),
    );
    let (mut lat, took) = hammer(c.min(8), s, move |client, i| {
        let (h, b, cred, people, home) = (
            h.clone(),
            b.clone(),
            cred.clone(),
            people.clone(),
            home.clone(),
        );
        async move {
            let body = xapi::statements(&people, &home, client, i, 100);
            let r = h
                .post(format!("{b}/xapi/statements"))
                .basic_auth(&cred.client_id, Some(&cred.client_secret))
                .header("X-Experience-API-Version", "1.0.3")
                .json(&body)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        }
    })
    .await;
    summarise(
        "xAPI: POST of 100 statements (a fifth become records)",
        "statements/s",
        &mut lat,
        took,
        100,
    )
}

/// What hostile callers did to the service, measured in the same run.
struct Hostile {
    flood: hostile::Flooded,
    refused_existing: Measure,
    refused_made_up: Measure,
}

/// The hostile scenarios, after every other.
async fn hostile_scenarios(bench: &Bench) -> Hostile {
    let (c, s) = (bench.clients, bench.seconds);
    // Refused reads: a person who exists and a made-up id cost the same.
    let prober_token =
        Arc::new(service::org_token(&bench.http, &bench.base_url, &bench.orgs.prober).await);
    let (refused_existing, refused_made_up) =
        hostile::refused_reads(&bench.base_url, prober_token, bench.ids.clone(), c, s).await;
    // Last, since it spends the loopback address's failed-authentication budget: a flood of
    // made-up credentials beside the employer's reads.
    let flood = hostile::credential_flood(
        &bench.base_url,
        bench.employer_token.clone(),
        bench.ids.clone(),
        c,
        s,
    )
    .await;
    Hostile {
        flood,
        refused_existing,
        refused_made_up,
    }
}

/// One backend's run: every row of the table with its measure, the hostile scenarios, and the
/// service's peak memory in MiB.
struct Run {
    results: Vec<(Row, Measure)>,
    hostile: Hostile,
    peak: f64,
}

/// Runs every scenario on one backend.
async fn run(backend: &'static str, options: &Options) -> Run {
    let (database, mut service, bench) = start(backend, options).await;
    let mut results = Vec::with_capacity(SCENARIOS.len());
    for (row, scenario) in SCENARIOS {
        results.push((row, scenario(&bench).await));
    }
    let hostile = hostile_scenarios(&bench).await;

    let peak = peak_memory_mib(service.id());
    let _ = service.kill();
    let _ = service.wait();
    // The pool closes before the database is dropped.
    drop(bench);
    database.remove();
    Run {
        results,
        hostile,
        peak,
    }
}

/// What a row's rate is compared with: the framework ceiling, or the rows it names.
fn ratio(row: Row, m: &Measure, results: &[(Row, Measure)]) -> String {
    let rate = |of: Row| {
        results
            .iter()
            .find(|(r, _)| *r == of)
            .map(|(_, m)| m.rate)
            .expect("every row is measured")
    };
    let ceiling = rate(Row::FrameworkCeiling);
    match row {
        Row::FrameworkCeiling => "framework ceiling".to_owned(),
        Row::OwnerLists => format!(
            "{:.0}% of framework, {:.0}% of direct query",
            100.0 * m.rate / ceiling,
            100.0 * m.rate / rate(Row::OwnerListDirect)
        ),
        Row::Worklist => "one query per table per page, whatever its size".to_owned(),
        Row::PushCompletions | Row::XapiIngestion => format!(
            "{:.0}% of the raw insert rate",
            100.0 * m.rate / rate(Row::RawInsert)
        ),
        Row::RawInsert => format!(
            "database ceiling: {:.1}× the push",
            m.rate / rate(Row::PushCompletions)
        ),
        Row::TokenIssuance => format!(
            "{:.1}% of framework (a verified secret is remembered for a minute)",
            100.0 * m.rate / ceiling
        ),
        Row::Webhook => "end to end: commit, worker woken, signed, sent, answered".to_owned(),
        Row::OwnerListDirect | Row::EmployerReads | Row::ComplianceCheck => {
            format!("{:.0}% of framework", 100.0 * m.rate / ceiling)
        }
    }
}

fn print_run(backend: &str, run: &Run) {
    println!(
        "\n{backend}: the service's peak memory (VmHWM) over the run: {:.0} MiB",
        run.peak
    );
    println!("| scenario | rate | p50 ms | p99 ms | ratio |");
    println!("| --- | ---: | ---: | ---: | --- |");
    for (row, m) in &run.results {
        println!(
            "| {} | {:.0} {} | {:.1} | {:.1} | {} |",
            m.name,
            m.rate,
            m.unit,
            m.p50.as_secs_f64() * 1e3,
            m.p99.as_secs_f64() * 1e3,
            ratio(*row, m, &run.results)
        );
    }
    print_hostile(&run.hostile);
}

fn print_hostile(hostile: &Hostile) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let f = &hostile.flood;
    println!("\nhostile load (same run):");
    println!("| scenario | rate | p50 ms | p99 ms | note |");
    println!("| --- | ---: | ---: | ---: | --- |");
    for (m, note) in [
        (&f.quiet, "quiet".to_owned()),
        (
            &f.flooded,
            format!(
                "p99 {:.1}× the quiet p99; {} answers not 200",
                f.flooded.p99.as_secs_f64() / f.quiet.p99.as_secs_f64().max(1e-9),
                f.employer_failures
            ),
        ),
        (
            &f.flood,
            format!("answered {:?} (status: count)", f.flood_statuses),
        ),
        (&hostile.refused_existing, "refused: no grant".to_owned()),
        (
            &hostile.refused_made_up,
            format!(
                "median {:.2}× that of a person who exists",
                hostile.refused_made_up.p50.as_secs_f64()
                    / hostile.refused_existing.p50.as_secs_f64().max(1e-9)
            ),
        ),
    ] {
        println!(
            "| {} | {:.0} {} | {:.2} | {:.2} | {} |",
            m.name,
            m.rate,
            m.unit,
            ms(m.p50),
            ms(m.p99),
            note
        );
    }
}

fn main() {
    let options = options();
    // The load generator needs a multi-threaded runtime; the service's workers run their own.
    let system = actix_web::rt::System::with_tokio_rt(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap()
    });
    system.block_on(async move {
        println!(
            "\nLearning Passport load benchmark: {} people × {} records, {} clients, {} s per scenario, {} cores",
            options.people,
            options.records_per_person,
            options.clients,
            options.seconds,
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
        );
        for backend in options.backends.clone() {
            let run = run(backend, &options).await;
            print_run(backend, &run);
        }
    });
}
