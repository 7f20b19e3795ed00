//! `GET /v1/me/records/{id}/history`: a record's earlier versions, newest first, paged as every
//! list is, and only ever its owner's.

mod support;

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use support::TestApp;

/// A record Alice let a platform push, then corrected by it `corrections` times (scores 1, 2,
/// …): her token, the record's id and the platform's token.
async fn corrected_record(app: &TestApp, corrections: i64) -> (String, String, String) {
    let platform = app.org("Platform", "records:write").await;
    let alice = app.person_token("alice");
    let person_id = app.get("/v1/me", &alice).await.body["id"].clone();
    app.post(
        "/v1/me/grants",
        &alice,
        json!({"organisation_id": platform.organisation_id, "permission": "write",
               "scope": {"records": "all", "attainments": false}, "purpose": "training",
               "expires_at": (Utc::now() + Duration::days(30)).to_rfc3339()}),
    )
    .await
    .expect(201);
    let pushed = app
        .post(
            "/v1/completions",
            &platform.token,
            json!({"completions": [{"person_id": person_id, "external_id": "h-1",
                   "title": "Fire safety", "kind": "statutory_mandatory",
                   "completed_at": "2026-03-01T10:00:00Z", "score": 0}]}),
        )
        .await;
    pushed.expect(200);
    for score in 1..=corrections {
        app.patch(
            "/v1/completions/h-1",
            &platform.token,
            json!({"score": score}),
        )
        .await
        .expect(200);
    }
    let id = pushed.body["results"][0]["record_id"]
        .as_str()
        .unwrap()
        .to_owned();
    (alice, id, platform.token)
}

fn versions(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect()
}

async fn a_records_history_is_paged_newest_first(app: TestApp) {
    let (alice, id, platform) = corrected_record(&app, 5).await;
    let path = format!("/v1/me/records/{id}/history");

    // Without paging parameters: the whole of a short history, and no next page.
    let all = app.get(&path, &alice).await;
    all.expect(200);
    assert_eq!(versions(&all.body), vec![5, 4, 3, 2, 1]);
    assert!(all.body["next_cursor"].is_null());

    // Pages of two: each version once, in order, the last page with a null cursor.
    let first = app.get(&format!("{path}?limit=2"), &alice).await;
    assert_eq!(versions(&first.body), vec![5, 4]);
    // What version 4 said: the score before the fourth correction.
    assert_eq!(first.body["items"][1]["content"]["score"], 3.0);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let second = app
        .get(&format!("{path}?limit=2&cursor={cursor}"), &alice)
        .await;
    assert_eq!(versions(&second.body), vec![3, 2]);
    let cursor = second.body["next_cursor"].as_str().unwrap().to_owned();
    // A correction made meanwhile lands before the first page and shifts nothing.
    app.patch("/v1/completions/h-1", &platform, json!({"score": 9}))
        .await
        .expect(200);
    let last = app
        .get(&format!("{path}?limit=2&cursor={cursor}"), &alice)
        .await;
    last.expect(200);
    assert_eq!(versions(&last.body), vec![1]);
    assert!(last.body["next_cursor"].is_null());
    let fresh = app.get(&format!("{path}?limit=2"), &alice).await;
    assert_eq!(versions(&fresh.body), vec![6, 5]);

    // Bad paging parameters are refused, naming the parameter.
    for bad in ["limit=0", "limit=201", "limit=two"] {
        app.get(&format!("{path}?{bad}"), &alice)
            .await
            .expect_field_error(422, "limit");
    }
    // Not a cursor, and a cursor of another list (a list ordered by id).
    let record_cursor = {
        use base64::Engine;
        let id: uuid::Uuid = id.parse().unwrap();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.as_bytes())
    };
    for bad in ["not-a-cursor", record_cursor.as_str()] {
        app.get(&format!("{path}?cursor={bad}"), &alice)
            .await
            .expect_field_error(422, "cursor");
    }
}

async fn only_the_owner_reads_a_records_history(app: TestApp) {
    let (_, id, _) = corrected_record(&app, 2).await;
    let path = format!("/v1/me/records/{id}/history");
    let bob = app.person_token("bob");
    // Another person: no such record of theirs, whatever page they ask for.
    for query in ["", "?limit=1", "?limit=2&cursor=AAAAAg"] {
        app.get(&format!("{path}{query}"), &bob)
            .await
            .expect_problem(404);
    }
    // An organisation, even the record's issuer: not a person's token.
    let employer = app.org("Employer", "shared:read records:write").await;
    app.get(&path, &employer.token).await.expect_problem(403);
}

on_both_backends!(
    a_records_history_is_paged_newest_first,
    only_the_owner_reads_a_records_history,
);
