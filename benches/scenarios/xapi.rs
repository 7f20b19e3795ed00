//! xAPI: an LRS client POSTing statements, some of which become records — 100 to a POST, and
//! one to a POST as a course player sends them while a person takes the course.

use serde_json::Value;

use super::Bench;
use crate::measure::{Measure, hammer, summarise};
use crate::xapi;

/// xAPI ingestion: a learning platform's LRS client POSTs 100 statements at a time with its
/// id and secret (HTTP Basic); one in five is a pass that becomes an issued record.
pub async fn xapi_ingestion(bench: &Bench) -> Measure {
    let (mut lat, took) = post_statements(bench, bench.clients.min(8), 100).await;
    summarise(
        "xAPI: POST of 100 statements (a fifth become records)",
        "statements/s",
        &mut lat,
        took,
        100,
    )
}

/// One statement to a POST (the statement itself, not an array), at the full client count: the
/// latency a course player sees for each statement it sends.
pub async fn xapi_single(bench: &Bench) -> Measure {
    let (mut lat, took) = post_statements(bench, bench.clients, 1).await;
    summarise(
        "xAPI: POST of one statement",
        "statements/s",
        &mut lat,
        took,
        1,
    )
}

/// `clients` loops POSTing `count` statements at a time as the platform's LRS client; a single
/// statement goes as an object, more as an array.
async fn post_statements(
    bench: &Bench,
    clients: usize,
    count: usize,
) -> (Vec<std::time::Duration>, std::time::Duration) {
    let (h, b, cred, people, home) = (
        bench.http.clone(),
        bench.base_url.clone(),
        bench.orgs.platform.1.clone(),
        bench.ids.clone(),
        bench.issuer.clone(),
    );
    hammer(clients, bench.seconds, move |client, i| {
        let (h, b, cred, people, home) = (
            h.clone(),
            b.clone(),
            cred.clone(),
            people.clone(),
            home.clone(),
        );
        async move {
            let body = match xapi::statements(&people, &home, client, i, count) {
                Value::Array(mut one) if count == 1 => one.remove(0),
                many => many,
            };
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
    .await
}
