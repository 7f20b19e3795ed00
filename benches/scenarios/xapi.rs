//! xAPI: an LRS client POSTing statements, some of which become records.

use super::Bench;
use crate::measure::{Measure, hammer, summarise};
use crate::xapi;

/// xAPI ingestion: a learning platform's LRS client POSTs 100 statements at a time with its
/// id and secret (HTTP Basic); one in five is a pass that becomes an issued record.
pub async fn xapi_ingestion(bench: &Bench) -> Measure {
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
