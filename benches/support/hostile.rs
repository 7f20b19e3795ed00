//! Hostile load: a flood of made-up client credentials beside an employer reading shared
//! passports, and refused reads of people who exist and people who do not.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use learning_passport::db::ids::PersonId;

use crate::measure::{Measure, hammer, summarise};

/// The flood's connections, as the issue measured it.
pub const FLOOD_CONNECTIONS: usize = 64;

/// An employer's reads, quiet and then beside the flood; and what the flood was answered.
pub struct Flooded {
    pub quiet: Measure,
    pub flooded: Measure,
    pub flood: Measure,
    /// Answers to the flood by status code.
    pub flood_statuses: BTreeMap<u16, usize>,
    /// Answers to the employer that were not 200 during the flood.
    pub employer_failures: usize,
}

async fn employer_reads(
    http: &reqwest::Client,
    base: &str,
    token: &Arc<String>,
    ids: &Arc<Vec<PersonId>>,
    clients: usize,
    seconds: u64,
    failures: Arc<std::sync::atomic::AtomicUsize>,
) -> (Vec<Duration>, Duration) {
    let (h, b, t, ids) = (http.clone(), base.to_owned(), token.clone(), ids.clone());
    hammer(clients, seconds, move |client, i| {
        let (h, b, t, ids, failures) = (
            h.clone(),
            b.clone(),
            t.clone(),
            ids.clone(),
            failures.clone(),
        );
        async move {
            let person = ids[(client * 104_729 + i * 31) % ids.len()];
            let r = h
                .get(format!("{b}/v1/people/{person}/records?limit=30"))
                .bearer_auth(t.as_str())
                .send()
                .await
                .unwrap();
            if !r.status().is_success() {
                failures.fetch_add(1, Ordering::Relaxed);
            }
            r.bytes().await.unwrap();
        }
    })
    .await
}

/// What one flooding connection was answered: each answer's status (0 for none) and latency.
type Answers = Vec<(u16, Duration)>;

/// `FLOOD_CONNECTIONS` connections, each sending made-up HTTP Basic credentials to the token
/// endpoint as fast as it is answered, until `stop`.
fn flood(
    http: &reqwest::Client,
    base: &str,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<Answers>> {
    let mut flooders = Vec::new();
    for connection in 0..FLOOD_CONNECTIONS {
        let (http, base, stop) = (http.clone(), base.to_owned(), stop.clone());
        flooders.push(tokio::spawn(async move {
            let mut seen: Answers = Vec::new();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let began = Instant::now();
                let status = http
                    .post(format!("{base}/v1/oauth/token"))
                    .basic_auth(
                        format!("lpc_flood{connection}x{n}"),
                        Some(format!("lps_guess{n}")),
                    )
                    .form(&[("grant_type", "client_credentials")])
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                seen.push((status, began.elapsed()));
                n += 1;
            }
            seen
        }));
    }
    flooders
}

/// The flood's answers once its connections have stopped: a count by status, and every latency.
async fn tally(
    flooders: Vec<tokio::task::JoinHandle<Answers>>,
) -> (BTreeMap<u16, usize>, Vec<Duration>) {
    let mut statuses = BTreeMap::new();
    let mut latencies = Vec::new();
    for flooder in flooders {
        for (status, latency) in flooder.await.unwrap() {
            *statuses.entry(status).or_insert(0) += 1;
            latencies.push(latency);
        }
    }
    (statuses, latencies)
}

/// The employer's reads alone, then again while `FLOOD_CONNECTIONS` connections send made-up
/// HTTP Basic credentials to the token endpoint as fast as they are answered.
pub async fn credential_flood(
    base: &str,
    employer: Arc<String>,
    ids: Arc<Vec<PersonId>>,
    clients: usize,
    seconds: u64,
) -> Flooded {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(128)
        .build()
        .unwrap();
    let none = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (mut lat, took) =
        employer_reads(&http, base, &employer, &ids, clients, seconds, none.clone()).await;
    let quiet = summarise("employer reads, quiet", "req/s", &mut lat, took, 1);

    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let flooders = flood(&http, base, &stop);
    // Let the flood spend the address's budget before measuring beside it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let failures = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (mut lat, took) = employer_reads(
        &http,
        base,
        &employer,
        &ids,
        clients,
        seconds,
        failures.clone(),
    )
    .await;
    let flooded = summarise(
        "employer reads, beside the flood",
        "req/s",
        &mut lat,
        took,
        1,
    );
    stop.store(true, Ordering::Relaxed);
    let (flood_statuses, mut flood_latencies) = tally(flooders).await;
    let flood = summarise(
        &format!("made-up credentials, {FLOOD_CONNECTIONS} connections"),
        "req/s",
        &mut flood_latencies,
        started.elapsed(),
        1,
    );
    Flooded {
        quiet,
        flooded,
        flood,
        flood_statuses,
        employer_failures: failures.load(Ordering::Relaxed),
    }
}

/// Refused reads by an organisation with no grant: of people who exist, and of made-up ids,
/// interleaved so that both meet the same machine. Answers both medians.
pub async fn refused_reads(
    base: &str,
    prober: Arc<String>,
    ids: Arc<Vec<PersonId>>,
    clients: usize,
    seconds: u64,
) -> (Measure, Measure) {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let existing = Arc::new(std::sync::Mutex::new(Vec::new()));
    let made_up = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (h, b, t, ids2, e, m) = (
        http.clone(),
        base.to_owned(),
        prober.clone(),
        ids.clone(),
        existing.clone(),
        made_up.clone(),
    );
    let (_, took) = hammer(clients, seconds, move |client, i| {
        let (h, b, t, ids, e, m) = (
            h.clone(),
            b.clone(),
            t.clone(),
            ids2.clone(),
            e.clone(),
            m.clone(),
        );
        async move {
            let real = i % 2 == 0;
            let person = if real {
                ids[(client * 7_919 + i * 13) % ids.len()].0
            } else {
                uuid::Uuid::now_v7()
            };
            let began = Instant::now();
            let r = h
                .get(format!("{b}/v1/people/{person}/records?limit=30"))
                .bearer_auth(t.as_str())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 404, "a read without a grant is refused");
            r.bytes().await.unwrap();
            let latency = began.elapsed();
            if real {
                e.lock().unwrap().push(latency)
            } else {
                m.lock().unwrap().push(latency)
            }
        }
    })
    .await;
    let mut existing = existing.lock().unwrap().clone();
    let mut made_up = made_up.lock().unwrap().clone();
    (
        summarise(
            "refused read, a person who exists",
            "req/s",
            &mut existing,
            took,
            1,
        ),
        summarise("refused read, a made-up id", "req/s", &mut made_up, took, 1),
    )
}
