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

#[path = "support/hostile.rs"]
mod hostile;
#[path = "support/webhooks.rs"]
mod webhooks;
#[path = "support/xapi.rs"]
mod xapi;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use learning_passport::AppState;
use learning_passport::auth::Scopes;
use learning_passport::auth::keys::Keys;
use learning_passport::auth::tokens::TokenService;
use learning_passport::config::{LogFormat, Settings};
use learning_passport::db::DbConnection;
use learning_passport::db::schema::{grants, people, records};
use learning_passport::db::types::{Id, Json, Timestamp};
use learning_passport::grants::GrantRow;
use learning_passport::http::pagination::Page;
use learning_passport::people::PersonRow;
use learning_passport::records::model::{Provenance, RecordContent, RecordKind, RecordResult};
use learning_passport::records::store::{self, RecordFilter};
use learning_passport::records::{RecordRow, Viewer};
use learning_passport::{on_backend, organisations};
use serde_json::{Value, json};

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

/// One measured scenario.
struct Measure {
    name: String,
    unit: &'static str,
    rate: f64,
    p50: Duration,
    p99: Duration,
}

fn summarise(
    name: &str,
    unit: &'static str,
    latencies: &mut [Duration],
    elapsed: Duration,
    per_request: usize,
) -> Measure {
    latencies.sort();
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    Measure {
        name: name.to_owned(),
        unit,
        rate: (latencies.len() * per_request) as f64 / elapsed.as_secs_f64(),
        p50: pick(0.50),
        p99: pick(0.99),
    }
}

/// Runs `clients` loops of `work` for `seconds`; answers every latency and the elapsed time.
async fn hammer<F, Fut>(clients: usize, seconds: u64, work: F) -> (Vec<Duration>, Duration)
where
    F: Fn(usize, usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for client in 0..clients {
        let work = work.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = 0;
            while Instant::now() < deadline {
                let began = Instant::now();
                work(client, i).await;
                latencies.push(began.elapsed());
                i += 1;
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    (all, start.elapsed())
}

/// The peak resident memory of a process (VmHWM), in MiB.
fn peak_memory_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn record(person: Id, i: usize) -> RecordRow {
    let completed = chrono::Utc::now() - chrono::Duration::days((i % 700) as i64 + 1);
    RecordRow::new(
        person,
        RecordContent {
            kind: [
                RecordKind::StatutoryMandatory,
                RecordKind::Course,
                RecordKind::Cpd,
            ][i % 3],
            title: format!("Training module {i}"),
            activity_code: Some(format!("ACT-{}", i % 40)),
            provider_name: Some("Seed provider".into()),
            started_at: None,
            completed_at: Some(completed),
            expires_at: Some(completed + chrono::Duration::days(365)),
            result: Some(RecordResult::Passed),
            score: Some(80.0),
            hours: Some(1.5),
            evidence: vec![],
            notes: None,
        }
        .normalised(),
        Provenance::SelfDeclared,
    )
}

/// Seeds people with records and grants, set-based; answers the people's ids.
fn seed(
    conn: &mut DbConnection,
    options: &Options,
    employer: Id,
    platform: Id,
    issuer: &str,
) -> Vec<Id> {
    let now = Timestamp::now();
    let mut ids = Vec::with_capacity(options.people);
    for chunk in 0..options.people.div_ceil(500) {
        let people_rows: Vec<PersonRow> = (chunk * 500..((chunk + 1) * 500).min(options.people))
            .map(|n| PersonRow {
                id: Id::new(),
                issuer: issuer.to_owned(),
                subject: format!("person-{n}"),
                display_name: Some(format!("Person {n}")),
                email: None,
                email_verified: false,
                registration_body: None,
                registration_number: None,
                version: 1,
                created_at: now,
                updated_at: now,
            })
            .collect();
        ids.extend(people_rows.iter().map(|p| p.id));
        let grant_rows: Vec<GrantRow> = people_rows
            .iter()
            .flat_map(|p| {
                [(employer, "read"), (platform, "write")].map(|(org, permission)| GrantRow {
                    id: Id::new(),
                    person_id: p.id,
                    organisation_id: org,
                    permission: permission.into(),
                    scope: Json(json!({"records": "all", "attainments": true})),
                    purpose: "benchmark".into(),
                    version: 1,
                    created_at: now,
                    expires_at: Timestamp::from(chrono::Utc::now() + chrono::Duration::days(300)),
                    revoked_at: None,
                })
            })
            .collect();
        learning_passport::db::transaction(conn, |conn| {
            on_backend!(conn, |c| diesel::insert_into(people::table)
                .values(&people_rows)
                .execute(c))?;
            on_backend!(conn, |c| diesel::insert_into(grants::table)
                .values(&grant_rows)
                .execute(c))?;
            let rows: Vec<RecordRow> = people_rows
                .iter()
                .flat_map(|p| (0..options.records_per_person).map(|i| record(p.id, i)))
                .collect();
            for part in rows.chunks(500) {
                on_backend!(conn, |c| diesel::insert_into(records::table)
                    .values(part)
                    .execute(c))?;
            }
            Ok(())
        })
        .unwrap();
    }
    ids
}

fn completion(person: Id, external_id: String) -> Value {
    json!({"person_id": person.0, "external_id": external_id, "title": "Fire safety", "kind": "statutory_mandatory",
           "completed_at": "2026-03-01T10:00:00Z", "result": "passed", "hours": 1})
}

/// What hostile callers did to the service, measured in the same run.
struct Hostile {
    flood: hostile::Flooded,
    refused_existing: Measure,
    refused_made_up: Measure,
}

/// Runs every scenario on one backend; answers the measures, the hostile scenarios and the
/// service's peak memory.
async fn run(backend: &'static str, options: &Options) -> (Vec<Measure>, Hostile, f64) {
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
    let settings = Settings {
        addr: "127.0.0.1:0".into(),
        workers: Some(2),
        data_dir: dir.path().to_path_buf(),
        database_url: Some(url.clone()),
        db_pool_size: 8,
        public_url: Some("http://passport.bench".into()),
        token_audience: "learning-passport".into(),
        client_token_ttl: 3600,
        grant_max_days: 365,
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
    };
    let state = AppState::start(settings.clone()).unwrap();
    let db = state.db.clone();
    let (employer, platform, prober) = {
        let mut conn = db.get().unwrap();
        let employer = organisations::create(&mut conn, "Bench employer", None).unwrap();
        let employer_client = organisations::create_client(
            &mut conn,
            employer.id,
            &Scopes::parse("shared:read").unwrap(),
        )
        .unwrap();
        let platform = organisations::create(&mut conn, "Bench platform", None).unwrap();
        let platform_client = organisations::create_client(
            &mut conn,
            platform.id,
            &Scopes::parse("records:write").unwrap(),
        )
        .unwrap();
        for n in 0..47 {
            organisations::create(&mut conn, &format!("Other organisation {n}"), None).unwrap();
        }
        // An organisation that nobody has shared with: every read it makes is refused.
        let prober = organisations::create(&mut conn, "Bench prober", None).unwrap();
        let prober_client = organisations::create_client(
            &mut conn,
            prober.id,
            &Scopes::parse("shared:read").unwrap(),
        )
        .unwrap();
        (
            (employer.id, employer_client),
            (platform.id, platform_client),
            prober_client,
        )
    };
    {
        let mut conn = db.get().unwrap();
        for n in 0..40 {
            learning_passport::activities::put(
                &mut conn,
                &format!("ACT-{n}"),
                learning_passport::activities::ActivityInput {
                    title: format!("Activity {n}"),
                    kind: RecordKind::StatutoryMandatory,
                    level: None,
                    refresher_months: Some(12),
                    publisher: "Bench".into(),
                    source: None,
                },
            )
            .unwrap();
        }
    }
    let seeding = Instant::now();
    let ids = Arc::new(seed(
        &mut db.get().unwrap(),
        options,
        employer.0,
        platform.0,
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
    // Seeding leaves a large SQLite write-ahead log; checkpoint it now, or the first writes of the
    // measured scenarios pay for it. A running service keeps its log small.
    if backend == "sqlite" {
        use diesel::connection::SimpleConnection;
        db.get()
            .unwrap()
            .batch_execute("PRAGMA wal_checkpoint(TRUNCATE)")
            .unwrap();
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base_url = format!("http://127.0.0.1:{port}");
    let mut service = std::process::Command::new(env!("CARGO_BIN_EXE_learning-passport"))
        .arg("serve")
        .env("DATABASE_URL", &url)
        .env("PASSPORT_DATA_DIR", dir.path())
        .env("PASSPORT_ADDR", format!("127.0.0.1:{port}"))
        .env("PASSPORT_PUBLIC_URL", settings.issuer())
        .env("PASSPORT_RATE_LIMIT_PER_MINUTE", "0")
        .env("PASSPORT_WORKERS", "2")
        .env("PASSPORT_DB_POOL_SIZE", "8")
        .env("PASSPORT_LOG", "warn")
        // The webhook scenario's receiver listens on loopback.
        .env("PASSPORT_WEBHOOK_ALLOW_PRIVATE", "true")
        .spawn()
        .expect("the service binary");
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

    let tokens = TokenService {
        keys: Arc::new(Keys::open(&settings.keys_dir()).unwrap()),
        issuer: settings.issuer(),
        audience: settings.token_audience.clone(),
        oidc: None,
    };
    let person_tokens: Arc<Vec<String>> = Arc::new(
        (0..200.min(options.people))
            .map(|n| {
                tokens
                    .issue_person_token(&format!("person-{n}"), None, None, 3600)
                    .unwrap()
            })
            .collect(),
    );
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let org_token = |client: &organisations::NewCredentials| {
        let http = http.clone();
        let base_url = base_url.clone();
        let client = client.clone();
        async move {
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
    };
    let employer_token = Arc::new(org_token(&employer.1).await);
    let platform_token = Arc::new(org_token(&platform.1).await);
    let mut results = Vec::new();
    let c = options.clients;
    let s = options.seconds;

    // Framework ceiling.
    let (h, b) = (http.clone(), base_url.clone());
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
    results.push(summarise(
        "health/live (framework ceiling)",
        "req/s",
        &mut lat,
        took,
        1,
    ));

    // A person listing their records.
    let (h, b, t) = (http.clone(), base_url.clone(), person_tokens.clone());
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
    results.push(summarise(
        "owner lists 30 records",
        "req/s",
        &mut lat,
        took,
        1,
    ));

    // The same list query run directly on the pool (database ceiling).
    let (mut lat, took) = {
        let (db, ids) = (db.clone(), ids.clone());
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
    results.push(summarise(
        "owner list query, direct (database ceiling)",
        "req/s",
        &mut lat,
        took,
        1,
    ));

    // An employer reading a shared passport.
    let (h, b, t, ids2) = (
        http.clone(),
        base_url.clone(),
        employer_token.clone(),
        ids.clone(),
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
    results.push(summarise(
        "employer reads a shared passport",
        "req/s",
        &mut lat,
        took,
        1,
    ));

    // A 15-requirement profile: 12 activities (some any-of), CPD hours, course hours, one more.
    let mut requirements: Vec<Value> = (0..12).map(|n| json!({"type": "activity", "activity_codes": [format!("ACT-{n}"), format!("ACT-{}", n + 20)], "max_age_days": 730})).collect();
    requirements.push(json!({"type": "hours", "kind": "cpd", "hours": 10, "within_days": 365}));
    requirements.push(json!({"type": "hours", "kind": "course", "hours": 5, "within_days": 365}));
    requirements
        .push(json!({"type": "activity", "activity_codes": ["ACT-39"], "issued_only": false}));
    let profile: Value = http
        .post(format!("{base_url}/v1/requirement-profiles"))
        .bearer_auth(employer_token.as_str())
        .json(&json!({"name": "Registered nurse, band 5", "requirements": requirements}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let profile_id = Arc::new(profile["id"].as_str().expect("profile created").to_owned());

    // A compliance check of one shared passport.
    let (h, b, t, ids2, pid) = (
        http.clone(),
        base_url.clone(),
        employer_token.clone(),
        ids.clone(),
        profile_id.clone(),
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
    results.push(summarise(
        "compliance check, 15 requirements",
        "req/s",
        &mut lat,
        took,
        1,
    ));

    // The worklist: pages of 200 people, each checked against the profile.
    let (h, b, t, pid) = (
        http.clone(),
        base_url.clone(),
        employer_token.clone(),
        profile_id.clone(),
    );
    let people_count = ids.len();
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
    results.push(summarise(
        "worklist, pages of 200 people",
        "people/s",
        &mut lat,
        took,
        200.min(people_count),
    ));

    // Batch ingestion of completions.
    let batch = options.batch;
    let (h, b, t, ids3) = (
        http.clone(),
        base_url.clone(),
        platform_token.clone(),
        ids.clone(),
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
    results.push(summarise(
        &format!("push completions, batches of {batch}"),
        "records/s",
        &mut lat,
        took,
        batch,
    ));

    // The same rows inserted directly, one multi-row insert per batch (database ceiling).
    let (mut lat, took) = {
        let (db, ids) = (db.clone(), ids.clone());
        let platform = platform.0;
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
    results.push(summarise(
        &format!("raw insert of the same rows, batches of {batch} (database ceiling)"),
        "records/s",
        &mut lat,
        took,
        batch,
    ));

    // Token issuance (argon2id verification of the client secret on every request).
    let (h, b, cred) = (http.clone(), base_url.clone(), employer.1.clone());
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
    results.push(summarise(
        "token issuance (client credentials)",
        "req/s",
        &mut lat,
        took,
        1,
    ));

    // A webhook: from a person's grant to the signed grant.created at the organisation's receiver.
    let receiver = Arc::new(webhooks::Receiver::start());
    webhooks::subscribe(&http, &base_url, &platform_token, &receiver).await;
    let platform_id = platform.0.0.to_string();
    let (h, b, people, r) = (
        http.clone(),
        base_url.clone(),
        person_tokens.clone(),
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
    results.push(summarise(
        "grant → signed grant.created at the receiver (webhook)",
        "events/s",
        &mut lat,
        took,
        1,
    ));

    // xAPI ingestion: a learning platform's LRS client POSTs 100 statements at a time with its
    // id and secret (HTTP Basic); one in five is a pass that becomes an issued record.
    let (h, b, cred, people, home) = (
        http.clone(),
        base_url.clone(),
        platform.1.clone(),
        ids.clone(),
        settings.issuer(),
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
    results.push(summarise(
        "xAPI: POST of 100 statements (a fifth become records)",
        "statements/s",
        &mut lat,
        took,
        100,
    ));

    // Refused reads: a person who exists and a made-up id cost the same.
    let prober_token = Arc::new(org_token(&prober).await);
    let (refused_existing, refused_made_up) =
        hostile::refused_reads(&base_url, prober_token, ids.clone(), c, s).await;
    // Last, since it spends the loopback address's failed-authentication budget: a flood of
    // made-up credentials beside the employer's reads.
    let flood =
        hostile::credential_flood(&base_url, employer_token.clone(), ids.clone(), c, s).await;
    let hostile = Hostile {
        flood,
        refused_existing,
        refused_made_up,
    };

    let peak = peak_memory_mib(service.id());
    let _ = service.kill();
    let _ = service.wait();
    drop(db);
    if backend == "postgres" {
        let mut admin = diesel::PgConnection::establish(&base).unwrap();
        let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)"))
            .execute(&mut admin);
    }
    (results, hostile, peak)
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
            let (results, hostile, peak) = run(backend, &options).await;
            let ceiling = results[0].rate;
            println!("\n{backend}: the service's peak memory (VmHWM) over the run: {peak:.0} MiB");
            println!("| scenario | rate | p50 ms | p99 ms | ratio |");
            println!("| --- | ---: | ---: | ---: | --- |");
            for (i, m) in results.iter().enumerate() {
                let ratio = match i {
                    0 => "framework ceiling".to_owned(),
                    1 => format!("{:.0}% of framework, {:.0}% of direct query", 100.0 * m.rate / ceiling, 100.0 * m.rate / results[2].rate),
                    5 => "one query per table per page, whatever its size".to_owned(),
                    6 => format!("{:.0}% of the raw insert rate", 100.0 * m.rate / results[7].rate),
                    7 => format!("database ceiling: {:.1}× the push", m.rate / results[6].rate),
                    8 => format!("{:.1}% of framework (argon2id per request, by design)", 100.0 * m.rate / ceiling),
                    9 => "end to end: commit, worker woken, signed, sent, answered".to_owned(),
                    10 => format!("{:.0}% of the raw insert rate", 100.0 * m.rate / results[7].rate),
                    _ => format!("{:.0}% of framework", 100.0 * m.rate / ceiling),
                };
                println!("| {} | {:.0} {} | {:.1} | {:.1} | {} |", m.name, m.rate, m.unit, m.p50.as_secs_f64() * 1e3, m.p99.as_secs_f64() * 1e3, ratio);
            }
            print_hostile(&hostile);
        }
    });
}
