//! Load benchmark: seeds a realistic data set, runs the service, and measures each hot path over
//! HTTP with concurrent clients, beside two ceilings measured in the same run — the framework's
//! (`/health/live` under the same load) and the database's (the same queries run directly).
//!
//! ```text
//! cargo bench --bench load                                  # SQLite and PostgreSQL
//! cargo bench --bench load -- --backend sqlite --people 10000 --seconds 10
//! cargo bench --bench load -- --rows employer-reads,employer-read-direct   # those rows only
//! ```
//!
//! PostgreSQL comes from `BENCH_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! a fresh database is created for the run and dropped afterwards. Numbers are only comparable
//! within one run: compare the ratios, not the absolute rates.
//!
//! Each scenario is one function, in `scenarios/` by what it measures; `SCENARIOS` lists them in
//! the order of the printed table, and `report::ratio` compares each row with the rows it names.
//! The hostile scenarios follow. The service's peak memory is reset before each scenario and
//! read after it, so that each row shows its own peak. Last, the memory-relevant rows run again
//! on a freshly started service with each global allocator, side by side. The helpers (the data
//! set, the service process, its memory, measuring, the printed report) are in `support/`.

#[path = "support/hostile.rs"]
mod hostile;
#[path = "support/measure.rs"]
mod measure;
#[path = "support/memory.rs"]
mod memory;
#[path = "support/report.rs"]
mod report;
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

use learning_passport::allocator::Allocator;
use measure::Measure;
use scenarios::compliance::{compliance_check, worklist};
use scenarios::events::webhook;
use scenarios::hostile::{Hostile, hostile_scenarios};
use scenarios::ingestion::{push_completions, raw_insert};
use scenarios::reads::{
    employer_read_direct, employer_reads, framework_ceiling, owner_list_direct, owner_lists,
};
use scenarios::tokens::token_issuance;
use scenarios::xapi::{xapi_ingestion, xapi_single};
use scenarios::{Bench, restart, start};
use service::{BenchDatabase, Service};

struct Options {
    backends: Vec<&'static str>,
    people: usize,
    records_per_person: usize,
    seconds: u64,
    clients: usize,
    batch: usize,
    /// Only these rows, with no hostile scenarios or allocator comparison: a quick look at a
    /// few rows while working on them (`--rows`, the rows' names in kebab case).
    rows: Option<Vec<Row>>,
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
        rows: value("--rows").map(|names| {
            names
                .split(',')
                .map(|name| {
                    Row::named(name).unwrap_or_else(|| panic!("--rows: no row is named {name}"))
                })
                .collect()
        }),
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

impl Row {
    /// The row of a kebab-case name (`employer-reads` for `EmployerReads`).
    fn named(name: &str) -> Option<Row> {
        SCENARIOS.iter().map(|(row, _)| *row).find(|row| {
            let mut kebab = String::new();
            for (i, c) in format!("{row:?}").chars().enumerate() {
                if c.is_uppercase() && i > 0 {
                    kebab.push('-');
                }
                kebab.push(c.to_ascii_lowercase());
            }
            kebab == name
        })
    }
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

/// The rows run again on each allocator: those whose memory is the service's (the direct
/// ceilings run in the benchmark's own process) and that the issue's targets name.
const ALLOCATOR_ROWS: [Row; 4] = [
    Row::OwnerLists,
    Row::EmployerReads,
    Row::XapiIngestion,
    Row::XapiSingle,
];

/// How long the service is left without requests before its idle size is read at the end.
const QUIET: Duration = Duration::from_secs(5);

/// A row's measure, with the service's peak resident size (VmHWM) while it ran, in MiB.
#[derive(Clone)]
struct Measured {
    row: Row,
    measure: Measure,
    peak: f64,
}

/// The service's resident memory over one process's life, in MiB.
#[derive(Clone)]
struct Memory {
    /// VmRSS once started, before any scenario.
    idle_start: f64,
    /// VmRSS after `QUIET` without requests, at the end.
    idle_end: f64,
    /// VmHWM over the whole life: start-up and every scenario.
    peak: f64,
}

/// The allocator rows measured on one allocator.
#[derive(Clone)]
struct AllocatorRun {
    allocator: Allocator,
    results: Vec<Measured>,
    memory: Memory,
}

/// One backend's run: every row of the table, the hostile scenarios (and the service's peak
/// while they ran), the service's memory, and the allocator comparison.
struct Run {
    backend: &'static str,
    results: Vec<Measured>,
    hostile: Hostile,
    hostile_peak: f64,
    memory: Memory,
    allocators: Vec<AllocatorRun>,
}

/// Runs `rows` in turn, the service's peak reset before each and read after it.
async fn measure_rows(
    bench: &Bench,
    service: &Service,
    backend: &str,
    rows: &[Row],
) -> Vec<Measured> {
    let pid = service.pid();
    let mut results = Vec::with_capacity(rows.len());
    for (row, scenario) in SCENARIOS.iter().filter(|(row, _)| rows.contains(row)) {
        memory::reset_peak(pid);
        let measure = scenario(bench).await;
        let peak = memory::peak_mib(pid);
        eprintln!(
            "[{backend}] {}: {:.0} {}, peak {peak:.0} MiB, {} threads",
            measure.name,
            measure.rate,
            measure.unit,
            memory::threads(pid)
        );
        results.push(Measured {
            row: *row,
            measure,
            peak,
        });
    }
    results
}

/// The service's memory once its scenarios are done: its idle size after `QUIET`, and the
/// peak over its life, from its start-up's and its scenarios' peaks.
async fn wind_down(service: &Service, start_peak: f64, peaks: &[f64]) -> Memory {
    tokio::time::sleep(QUIET).await;
    Memory {
        idle_start: service.idle_mib,
        idle_end: memory::resident_mib(service.pid()),
        peak: peaks.iter().copied().fold(start_peak, f64::max),
    }
}

/// The order the allocators run the allocator rows in: each twice, the default first and last
/// (A B B A), so that a drift over the comparison (the database growing, the machine's other
/// work) weighs on both alike.
const ALLOCATOR_ROUNDS: [usize; 4] = [0, 1, 1, 0];

/// Runs the allocator rows on a freshly started service for each round of `ALLOCATOR_ROUNDS`,
/// then stops it; answers each allocator's two rounds merged, the default first.
async fn compare_allocators(
    bench: &mut Bench,
    database: &BenchDatabase,
    mut service: Service,
    backend: &str,
) -> Vec<AllocatorRun> {
    let mut rounds = Vec::new();
    for allocator in ALLOCATOR_ROUNDS.map(|i| Allocator::ALL[i]) {
        service = restart(bench, database, service, allocator.name()).await;
        let start_peak = memory::peak_mib(service.pid());
        let results = measure_rows(bench, &service, backend, &ALLOCATOR_ROWS).await;
        let peaks: Vec<f64> = results.iter().map(|m| m.peak).collect();
        let memory = wind_down(&service, start_peak, &peaks).await;
        rounds.push(AllocatorRun {
            allocator,
            results,
            memory,
        });
    }
    service.stop();
    Allocator::ALL
        .into_iter()
        .filter_map(|allocator| {
            let mut mine = rounds.iter().filter(|r| r.allocator == allocator);
            let first = mine.next()?;
            Some(mine.fold(first.clone(), merge))
        })
        .collect()
}

/// Two rounds of one allocator as one: the mean of their rates and latencies, the higher of
/// their memory figures.
fn merge(a: AllocatorRun, b: &AllocatorRun) -> AllocatorRun {
    let mean = |x: Duration, y: Duration| (x + y) / 2;
    let results = a
        .results
        .into_iter()
        .zip(&b.results)
        .map(|(x, y)| Measured {
            row: x.row,
            measure: Measure {
                rate: (x.measure.rate + y.measure.rate) / 2.0,
                p50: mean(x.measure.p50, y.measure.p50),
                p99: mean(x.measure.p99, y.measure.p99),
                ..x.measure
            },
            peak: x.peak.max(y.peak),
        })
        .collect();
    AllocatorRun {
        allocator: a.allocator,
        results,
        memory: Memory {
            idle_start: a.memory.idle_start.max(b.memory.idle_start),
            idle_end: a.memory.idle_end.max(b.memory.idle_end),
            peak: a.memory.peak.max(b.memory.peak),
        },
    }
}

/// Runs every scenario on one backend, then the allocator rows on each allocator.
async fn run(backend: &'static str, options: &Options) -> Run {
    let (database, service, mut bench) = start(backend, options).await;
    let pid = service.pid();
    let start_peak = memory::peak_mib(pid);
    let all: Vec<Row> = SCENARIOS.iter().map(|(row, _)| *row).collect();
    let results = measure_rows(&bench, &service, backend, &all).await;
    memory::reset_peak(pid);
    let hostile = hostile_scenarios(&bench).await;
    let hostile_peak = memory::peak_mib(pid);
    let mut peaks: Vec<f64> = results.iter().map(|m| m.peak).collect();
    peaks.push(hostile_peak);
    let memory = wind_down(&service, start_peak, &peaks).await;

    let allocators = compare_allocators(&mut bench, &database, service, backend).await;
    // The pool closes before the database is dropped.
    drop(bench);
    database.remove();
    Run {
        backend,
        results,
        hostile,
        hostile_peak,
        memory,
        allocators,
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
            if let Some(rows) = &options.rows {
                let (database, service, bench) = start(backend, &options).await;
                for m in measure_rows(&bench, &service, backend, rows).await {
                    let ms = |d: Duration| d.as_secs_f64() * 1e3;
                    println!(
                        "[{backend}] {}: {:.0} {}, p50 {:.1} ms, p99 {:.1} ms, peak {:.0} MiB",
                        m.measure.name,
                        m.measure.rate,
                        m.measure.unit,
                        ms(m.measure.p50),
                        ms(m.measure.p99),
                        m.peak
                    );
                }
                service.stop();
                drop(bench);
                database.remove();
                continue;
            }
            let run = run(backend, &options).await;
            report::print_run(&run);
        }
    });
}
