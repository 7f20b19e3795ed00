//! Each organisation's LRS is bounded: at most so many statements, documents and bytes of
//! attachments (`PASSPORT_XAPI_MAX_*`). A write that would go past a quota is refused whole
//! with a `quota-exceeded` problem (403) and stores nothing; what is already stored (a
//! statement sent again, content held under its SHA-2, a document replaced) adds nothing; one
//! organisation at its quota does not hold up another. The counts the quotas are checked
//! against stay what the LRS really holds.

mod support;

use serde_json::{Value, json};
use support::xapi::*;
use support::{Method, Reply, TestApp};
use uuid::Uuid;

/// Asserts a refusal for a quota, naming it and its limit.
#[track_caller]
fn assert_quota(reply: &Reply, what: &str, limit: u64) {
    reply.expect_problem(403);
    assert_eq!(
        reply.body["type"],
        "urn:learning-passport:problem:quota-exceeded"
    );
    let detail = reply.body["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("at most {limit} {what}")),
        "the detail names the quota and its limit: {detail}"
    );
}

fn with_new_id(statement: Value) -> (String, Value) {
    let id = Uuid::new_v4().to_string();
    (id.clone(), with_id(statement, &id))
}

async fn statements_past_the_quota_are_refused_whole(mut app: TestApp) {
    app.restart_with(|s| s.xapi.max_statements = 3).await;
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let other = Lrs::new(&app, "Bolt Training").await;
    assert_eq!(usage(&app, &lrs.client.organisation_id).await, None);

    let (a, first) = with_new_id(base());
    let (b, second) = with_new_id(base());
    lrs.store(&app, json!([first.clone(), second.clone()]))
        .await;
    assert_eq!(
        usage(&app, &lrs.client.organisation_id).await,
        Some((2, 0, 0)),
        "the first use counts"
    );

    // Two more would make four: neither is stored.
    let (c, third) = with_new_id(base());
    let (d, fourth) = with_new_id(base());
    let reply = lrs.post(&app, "/statements", json!([third, fourth])).await;
    assert_quota(&reply, "statements", 3);
    for id in [&c, &d] {
        lrs.statement(&app, id).await.expect_problem(404);
    }
    // One more fits.
    lrs.put(&app, &format!("/statements?statementId={c}"), base())
        .await
        .expect(204);

    // At the quota: what is stored already can be sent again; anything new is refused.
    let mut held = ids(&lrs.query(&app, "").await);
    held.sort();
    let mut expected = vec![a.clone(), b, c];
    expected.sort();
    assert_eq!(held, expected);
    lrs.store(&app, json!([first, second])).await;
    let reply = lrs
        .put(&app, &format!("/statements?statementId={d}"), base())
        .await;
    assert_quota(&reply, "statements", 3);
    // A voiding statement is a statement too.
    let reply = lrs.post(&app, "/statements", voiding(&a)).await;
    assert_quota(&reply, "statements", 3);
    lrs.statement(&app, &a).await.expect(200);

    // Another organisation is not held up.
    for _ in 0..3 {
        other.store(&app, base()).await;
    }
    assert_quota(
        &other.post(&app, "/statements", base()).await,
        "statements",
        3,
    );
    for lrs in [&lrs, &other] {
        assert_usage_exact(&app, &lrs.client.organisation_id).await;
        assert_eq!(
            usage(&app, &lrs.client.organisation_id).await,
            Some((3, 0, 0))
        );
    }
}

async fn attachment_bytes_past_the_quota_are_refused_and_content_held_counts_once(
    mut app: TestApp,
) {
    app.restart_with(|s| s.xapi.max_attachment_bytes = 100)
        .await;
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let certificate = vec![b'c'; 60];
    let with = |content: &[u8]| {
        set(
            base(),
            "/attachments",
            json!([declared_attachment(content, None)]),
        )
    };
    store_with(
        &lrs,
        &app,
        &with(&certificate),
        &[Part::new("text/plain", &certificate)],
    )
    .await;
    // The same content again, with another statement: held already, it adds nothing.
    store_with(
        &lrs,
        &app,
        &with(&certificate),
        &[Part::new("text/plain", &certificate)],
    )
    .await;
    assert_eq!(
        usage(&app, &lrs.client.organisation_id).await,
        Some((2, 0, 60))
    );

    // 60 new bytes would make 120: the statement is not stored either.
    let transcript = vec![b't'; 60];
    let (id, refused) = with_new_id(with(&transcript));
    let reply = lrs
        .send(
            &app,
            Method::POST,
            "/statements",
            &[],
            Some(multipart(&refused, &[Part::new("text/plain", &transcript)])),
        )
        .await;
    assert_quota(&reply, "bytes of attachments", 100);
    lrs.statement(&app, &id).await.expect_problem(404);

    // 40 bytes fit exactly.
    let note = vec![b'n'; 40];
    store_with(&lrs, &app, &with(&note), &[Part::new("text/plain", &note)]).await;
    assert_eq!(
        usage(&app, &lrs.client.organisation_id).await,
        Some((3, 0, 100))
    );
    // Statements without attachments are not held back by the attachment quota.
    lrs.store(&app, base()).await;
    assert_usage_exact(&app, &lrs.client.organisation_id).await;
}

async fn documents_past_the_quota_are_refused_and_deleting_makes_room(mut app: TestApp) {
    app.restart_with(|s| s.xapi.max_documents = 2).await;
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let other = Lrs::new(&app, "Bolt Training").await;
    let registration = Uuid::new_v4().to_string();
    let bookmark = state(COURSE, &ann(), Some(&registration), Some("bookmark"));
    let progress = state(COURSE, &ann(), Some(&registration), Some("progress"));
    let score = state(COURSE, &ann(), Some(&registration), Some("score"));
    lrs.put(&app, &bookmark, json!({"page": 1}))
        .await
        .expect(204);
    lrs.post(&app, &progress, json!({"done": 0.1}))
        .await
        .expect(204);

    assert_quota(
        &lrs.put(&app, &score, json!({"score": 1})).await,
        "documents",
        2,
    );
    assert_quota(
        &lrs.post(&app, &agent_profile(&ann(), Some("preferences")), json!({}))
            .await,
        "documents",
        2,
    );
    lrs.get(&app, &score).await.expect_problem(404);
    // Replacing or merging into a document that exists adds none.
    lrs.put(&app, &bookmark, json!({"page": 2}))
        .await
        .expect(204);
    lrs.post(&app, &progress, json!({"done": 0.2}))
        .await
        .expect(204);
    other
        .put(&app, &score, json!({"score": 1}))
        .await
        .expect(204);

    lrs.delete(&app, &bookmark).await.expect(204);
    lrs.put(&app, &score, json!({"score": 1})).await.expect(204);
    assert_eq!(
        usage(&app, &lrs.client.organisation_id).await,
        Some((0, 2, 0))
    );
    // Clearing a context deletes all its states, and counts them all.
    lrs.delete(&app, &state(COURSE, &ann(), Some(&registration), None))
        .await
        .expect(204);
    assert_eq!(
        usage(&app, &lrs.client.organisation_id).await,
        Some((0, 0, 0))
    );
    for lrs in [&lrs, &other] {
        assert_usage_exact(&app, &lrs.client.organisation_id).await;
    }
}

/// Many requests at once from an organisation at the edge of its quota: exactly as many are
/// stored as fit, the rest are refused (never a server error), and another organisation's
/// requests meanwhile are all stored.
async fn a_flood_at_the_quota_stores_exactly_what_fits_and_holds_up_no_one_else(mut app: TestApp) {
    app.restart_with(|s| s.xapi.max_statements = 5).await;
    let flooding = Lrs::new(&app, "Acme Learning").await;
    let other = Lrs::new(&app, "Bolt Training").await;
    let requests = (0..12).map(|_| flooding.post(&app, "/statements", base()));
    let others = (0..4).map(|_| other.post(&app, "/statements", base()));
    let (flood, rest) = futures_join(requests, others).await;
    let stored = flood.iter().filter(|r| r.status == 200).count();
    for reply in flood.iter().filter(|r| r.status != 200) {
        assert_quota(reply, "statements", 5);
    }
    assert_eq!(stored, 5);
    for reply in &rest {
        reply.expect(200);
    }
    assert_eq!(flooding.query(&app, "").await.len(), 5);
    assert_eq!(other.query(&app, "").await.len(), 4);
    for lrs in [&flooding, &other] {
        assert_usage_exact(&app, &lrs.client.organisation_id).await;
    }
}

async fn futures_join<A, B>(
    a: impl Iterator<Item = A>,
    b: impl Iterator<Item = B>,
) -> (Vec<Reply>, Vec<Reply>)
where
    A: std::future::Future<Output = Reply>,
    B: std::future::Future<Output = Reply>,
{
    use futures_util::future::{join, join_all};
    join(join_all(a), join_all(b)).await
}

on_both_backends!(
    statements_past_the_quota_are_refused_whole,
    attachment_bytes_past_the_quota_are_refused_and_content_held_counts_once,
    documents_past_the_quota_are_refused_and_deleting_makes_room,
    a_flood_at_the_quota_stores_exactly_what_fits_and_holds_up_no_one_else,
);
