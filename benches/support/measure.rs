//! Measuring a scenario: `clients` concurrent loops for a number of seconds, their latencies
//! summed up as a rate and percentiles.

use std::time::{Duration, Instant};

/// One measured scenario.
#[derive(Clone)]
pub struct Measure {
    pub name: String,
    pub unit: &'static str,
    pub rate: f64,
    pub p50: Duration,
    pub p99: Duration,
}

pub fn summarise(
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
pub async fn hammer<F, Fut>(clients: usize, seconds: u64, work: F) -> (Vec<Duration>, Duration)
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

/// One authorised GET that must succeed, its body read to the end as a client reads it.
pub async fn read_ok(http: &reqwest::Client, url: String, token: &str) {
    let r = http.get(url).bearer_auth(token).send().await.unwrap();
    assert!(r.status().is_success());
    r.bytes().await.unwrap();
}
