//! Compliance: one person checked against the 15-requirement profile, and the worklist.

use serde_json::Value;

use super::Bench;
use crate::measure::{Measure, hammer, read_ok, summarise};

/// A compliance check of one shared passport.
pub async fn compliance_check(bench: &Bench) -> Measure {
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
            read_ok(
                &h,
                format!("{b}/v1/people/{person}/compliance?profile={pid}"),
                t.as_str(),
            )
            .await;
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
pub async fn worklist(bench: &Bench) -> Measure {
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
