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
//! Each scenario is one function, in `scenarios/` by what it measures; `SCENARIOS` lists them in
//! the order of the printed table, and `ratio` compares each row with the rows it names. The
//! hostile scenarios follow, last. Their helpers (the data set, the service process, measuring)
//! are in `support/`.

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

mod scenarios;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use measure::{Measure, peak_memory_mib};
use scenarios::compliance::{compliance_check, worklist};
use scenarios::events::webhook;
use scenarios::hostile::{Hostile, hostile_scenarios};
use scenarios::ingestion::{push_completions, raw_insert};
use scenarios::reads::{
    employer_read_direct, employer_reads, framework_ceiling, owner_list_direct, owner_lists,
};
use scenarios::tokens::token_issuance;
use scenarios::xapi::{xapi_ingestion, xapi_single};
use scenarios::{Bench, start};

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
    EmployerReadDirect,
    ComplianceCheck,
    Worklist,
    PushCompletions,
    RawInsert,
    TokenIssuance,
    Webhook,
    XapiIngestion,
    XapiSingle,
}

/// A scenario: measures one row against the running service.
type Scenario = for<'a> fn(&'a Bench) -> Pin<Box<dyn Future<Output = Measure> + 'a>>;

/// Every scenario, in the order of the printed table.
const SCENARIOS: [(Row, Scenario); 13] = [
    (Row::FrameworkCeiling, |b| Box::pin(framework_ceiling(b))),
    (Row::OwnerLists, |b| Box::pin(owner_lists(b))),
    (Row::OwnerListDirect, |b| Box::pin(owner_list_direct(b))),
    (Row::EmployerReads, |b| Box::pin(employer_reads(b))),
    (Row::EmployerReadDirect, |b| {
        Box::pin(employer_read_direct(b))
    }),
    (Row::ComplianceCheck, |b| Box::pin(compliance_check(b))),
    (Row::Worklist, |b| Box::pin(worklist(b))),
    (Row::PushCompletions, |b| Box::pin(push_completions(b))),
    (Row::RawInsert, |b| Box::pin(raw_insert(b))),
    (Row::TokenIssuance, |b| Box::pin(token_issuance(b))),
    (Row::Webhook, |b| Box::pin(webhook(b))),
    (Row::XapiIngestion, |b| Box::pin(xapi_ingestion(b))),
    (Row::XapiSingle, |b| Box::pin(xapi_single(b))),
];

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

/// The p99 the issue sets for a row, if it sets one.
fn p99_target(row: Row) -> Option<Duration> {
    match row {
        Row::OwnerLists | Row::EmployerReads | Row::ComplianceCheck => {
            Some(Duration::from_millis(10))
        }
        Row::XapiSingle => Some(Duration::from_millis(20)),
        _ => None,
    }
}

/// "p99 target ≤ N ms: met" (or missed), for the rows with a latency target.
fn latency_note(row: Row, m: &Measure) -> Option<String> {
    p99_target(row).map(|target| {
        let verdict = if m.p99 <= target { "met" } else { "missed" };
        format!("p99 target ≤ {} ms: {verdict}", target.as_millis())
    })
}

/// What a row's rate is compared with: the framework ceiling, or the rows it names; with the
/// issue's targets where it sets them.
fn ratio(backend: &str, row: Row, m: &Measure, results: &[(Row, Measure)]) -> String {
    let rate = |of: Row| {
        results
            .iter()
            .find(|(r, _)| *r == of)
            .map(|(_, m)| m.rate)
            .expect("every row is measured")
    };
    let percent = |of: Row| 100.0 * m.rate / rate(of);
    let ceiling = rate(Row::FrameworkCeiling);
    let text = match row {
        Row::FrameworkCeiling => "framework ceiling".to_owned(),
        Row::OwnerLists => format!(
            "{:.0}% of framework, {:.0}% of direct query",
            100.0 * m.rate / ceiling,
            percent(Row::OwnerListDirect)
        ),
        Row::EmployerReads if backend == "sqlite" => format!(
            "{:.0}% of its read-only ceiling, {:.0}% of the owner-list direct ceiling \
             (target ≥ 50% on SQLite)",
            percent(Row::EmployerReadDirect),
            percent(Row::OwnerListDirect)
        ),
        Row::EmployerReads => format!(
            "{:.0}% of its read-only ceiling (target ≥ 70% on PostgreSQL)",
            percent(Row::EmployerReadDirect)
        ),
        Row::Worklist => "one query per table per page, whatever its size".to_owned(),
        Row::PushCompletions | Row::XapiIngestion => {
            format!("{:.0}% of the raw insert rate", percent(Row::RawInsert))
        }
        Row::RawInsert => format!(
            "database ceiling: {:.1}× the push",
            m.rate / rate(Row::PushCompletions)
        ),
        Row::TokenIssuance => format!(
            "{:.1}% of framework (a verified secret is remembered for a minute)",
            100.0 * m.rate / ceiling
        ),
        Row::Webhook => "end to end: commit, worker woken, signed, sent, answered".to_owned(),
        Row::XapiSingle => "one statement to a POST".to_owned(),
        Row::OwnerListDirect | Row::EmployerReadDirect | Row::ComplianceCheck => {
            format!("{:.0}% of framework", 100.0 * m.rate / ceiling)
        }
    };
    match latency_note(row, m) {
        Some(note) => format!("{text}; {note}"),
        None => text,
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
            ratio(backend, *row, m, &run.results)
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
