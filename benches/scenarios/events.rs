//! Events: a webhook, from a person's grant until its signed event is at the receiver.

use std::sync::Arc;

use super::Bench;
use crate::measure::{Measure, hammer, summarise};
use crate::webhooks;

/// A webhook: from a person's grant to the signed grant.created at the organisation's receiver.
pub async fn webhook(bench: &Bench) -> Measure {
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
