//! The LRS under concurrent writers (xAPI 1.0.3): many requests at once carrying the same
//! statement, different statements under one id, the same attachment, the same activity. Each
//! is answered as the specification says, as if the requests had come one after another, and
//! nothing a request stored is lost or counted twice. Each test names the requirement it checks.

mod support;

use futures_util::future::join_all;
use serde_json::{Value, json};
use support::xapi::*;
use support::{Method, Reply, TestApp};

/// Requests sent at once in each test.
const AT_ONCE: usize = 12;

/// A first request, so that the client's secret is verified (and remembered) before the
/// requests that race: they then reach the database together.
async fn warm_up(lrs: &Lrs, app: &TestApp) {
    lrs.get(app, "/statements?limit=1").await.expect(200);
}

async fn all_at_once(lrs: &Lrs, app: &TestApp, bodies: Vec<Value>) -> Vec<Reply> {
    join_all(
        bodies
            .into_iter()
            .map(|body| lrs.post(app, "/statements", body)),
    )
    .await
}

fn statuses(replies: &[Reply]) -> Vec<u16> {
    replies.iter().map(|r| r.status.as_u16()).collect()
}

/// Communication 2.1.1.s2.b2 and 2.1.2: a statement whose id the LRS holds is accepted again
/// when it is the same statement, and changes nothing. Sent by many requests at once (a
/// platform retrying), each is answered 200 with its id, and the statement is stored, indexed
/// and counted once.
async fn the_same_statement_sent_at_once_is_stored_once(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    warm_up(&lrs, &app).await;
    let id = uuid::Uuid::new_v4().to_string();
    let statement = with_id(described(), &id);
    let replies = all_at_once(&lrs, &app, vec![statement.clone(); AT_ONCE]).await;
    assert_eq!(statuses(&replies), vec![200; AT_ONCE]);
    for reply in &replies {
        assert_eq!(reply.body, json!([id]));
    }
    let path = format!("/statements?statementId={id}");
    let puts = join_all((0..AT_ONCE).map(|_| lrs.put(&app, &path, statement.clone()))).await;
    assert_eq!(statuses(&puts), vec![204; AT_ONCE]);

    let found = lrs
        .query(&app, &format!("activity={}", encode(COURSE)))
        .await;
    assert_eq!(ids(&found), vec![id.clone()]);
    assert_usage_exact(&app, &lrs.client.organisation_id).await;
    assert_eq!(recount(&app, &lrs.client.organisation_id).await.0, 1);
}

/// Communication 2.1.1.s2.b2 (statements are immutable: the LRS rejects with 409 a different
/// statement under an id it holds): of different statements sent at once under one id,
/// exactly one is stored, the others are answered 409, and the stored one is the one that was
/// answered 200.
async fn different_statements_under_one_id_at_once_one_is_stored(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    warm_up(&lrs, &app).await;
    let id = uuid::Uuid::new_v4().to_string();
    let bodies: Vec<Value> = (0..AT_ONCE)
        .map(|n| {
            let activity = format!("http://example.com/courses/{n}");
            with_id(statement("ann@example.org", "completed", &activity), &id)
        })
        .collect();
    let replies = all_at_once(&lrs, &app, bodies.clone()).await;
    let mut sorted = statuses(&replies);
    sorted.sort();
    assert_eq!(sorted, [vec![200], vec![409; AT_ONCE - 1]].concat());
    let winner = replies.iter().position(|r| r.status == 200).unwrap();

    let stored = lrs.statement(&app, &id).await;
    stored.expect(200);
    assert_eq!(stored.body["object"], bodies[winner]["object"]);
    assert_usage_exact(&app, &lrs.client.organisation_id).await;
    assert_eq!(recount(&app, &lrs.client.organisation_id).await.0, 1);
}

/// Data 2.4.11 (attachments are identified by their SHA-2): statements sent at once, each with
/// the same attachment, are all stored (200, not an error because another request stored the
/// content first), each answered with the attachment; the content is stored and counted
/// against the quota once.
async fn the_same_attachment_sent_at_once_is_stored_once(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    warm_up(&lrs, &app).await;
    let content = b"Certificate of completion: fire safety, level 2.";
    let replies = join_all((0..AT_ONCE).map(|_| {
        let mut statement = base();
        statement["attachments"] = json!([declared_attachment(content, None)]);
        let body = multipart(&statement, &[Part::new("text/plain", content)]);
        lrs.send(&app, Method::POST, "/statements", &[], Some(body))
    }))
    .await;
    assert_eq!(statuses(&replies), vec![200; AT_ONCE]);

    let (statements, _, bytes) = recount(&app, &lrs.client.organisation_id).await;
    assert_eq!((statements, bytes), (AT_ONCE as i64, content.len() as i64));
    assert_usage_exact(&app, &lrs.client.organisation_id).await;
    let id = replies[AT_ONCE - 1].body[0].as_str().unwrap().to_owned();
    let reply = lrs
        .get(
            &app,
            &format!("/statements?statementId={id}&attachments=true"),
        )
        .await;
    reply.expect(200);
    assert_eq!(parts(&reply)[1].body.as_bytes(), content);
}

/// Communication 2.5 with Data 2.4.4.1.s4: statements sent at once, each describing the same
/// activity in another language (with an extension of its own), are all stored, and the
/// Activities resource answers every language and every extension: no request's definition
/// is lost to another's.
async fn one_activity_described_by_many_requests_at_once_loses_nothing(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    warm_up(&lrs, &app).await;
    let tags = [
        "en-GB", "fr", "de", "es", "it", "nl", "pt", "sv", "da", "pl", "cy", "ga",
    ];
    let bodies = tags
        .iter()
        .map(|tag| {
            let mut statement = statement("ann@example.org", "experienced", COURSE);
            statement["object"]["definition"] = json!({
                "name": {*tag: format!("Fire safety ({tag})")},
                "extensions": {format!("http://example.com/ext/{tag}"): tag},
            });
            statement
        })
        .collect();
    let replies = all_at_once(&lrs, &app, bodies).await;
    assert_eq!(statuses(&replies), vec![200; AT_ONCE]);

    let reply = lrs
        .get(&app, &query("/activities", &[("activityId", COURSE)]))
        .await;
    reply.expect(200);
    let definition = &reply.body["definition"];
    for tag in tags {
        assert_eq!(
            definition["name"][tag],
            format!("Fire safety ({tag})"),
            "{definition:#}"
        );
        assert_eq!(
            definition["extensions"][format!("http://example.com/ext/{tag}")],
            tag
        );
    }
}

/// Communication 2.1.1.s2.b2 again, beside other writes: requests sent at once, half of them
/// new statements and half a different statement under an id the LRS holds. Each is answered
/// as if it had come alone: the new statements are stored (200), the others refused (409), and
/// a refusal undoes nothing of the requests stored with it.
async fn a_refused_request_among_others_at_once_fails_alone(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    warm_up(&lrs, &app).await;
    let held = uuid::Uuid::new_v4().to_string();
    lrs.store(&app, with_id(base(), &held)).await;
    let fresh: Vec<String> = (0..AT_ONCE / 2)
        .map(|_| uuid::Uuid::new_v4().to_string())
        .collect();
    let mut bodies = Vec::new();
    for (n, id) in fresh.iter().enumerate() {
        let activity = format!("http://example.com/courses/{n}");
        bodies.push(with_id(
            statement("ann@example.org", "completed", &activity),
            id,
        ));
        bodies.push(with_id(
            statement("bob@example.org", "failed", &activity),
            &held,
        ));
    }
    let replies = all_at_once(&lrs, &app, bodies).await;
    let expected: Vec<u16> = (0..AT_ONCE)
        .map(|n| if n % 2 == 0 { 200 } else { 409 })
        .collect();
    assert_eq!(statuses(&replies), expected);
    for (n, id) in fresh.iter().enumerate() {
        assert_eq!(replies[2 * n].body, json!([id]));
        lrs.statement(&app, id).await.expect(200);
    }
    let stored = lrs.statement(&app, &held).await;
    stored.expect(200);
    assert_eq!(stored.body["verb"]["id"], base()["verb"]["id"]);
    assert_usage_exact(&app, &lrs.client.organisation_id).await;
    assert_eq!(
        recount(&app, &lrs.client.organisation_id).await.0,
        1 + fresh.len() as i64
    );
}

/// Statements sent at once past the organisation's quota: exactly as many are stored as the
/// quota allows, the rest are refused (403) and store nothing, and the count stays what the
/// LRS holds.
async fn statements_sent_at_once_stop_exactly_at_the_quota(mut app: TestApp) {
    const QUOTA: usize = 5;
    app.restart_with(|s| s.xapi.max_statements = QUOTA as u64)
        .await;
    let lrs = Lrs::new(&app, "LMS").await;
    warm_up(&lrs, &app).await;
    let ids: Vec<String> = (0..AT_ONCE)
        .map(|_| uuid::Uuid::new_v4().to_string())
        .collect();
    let bodies = ids.iter().map(|id| with_id(base(), id)).collect();
    let replies = all_at_once(&lrs, &app, bodies).await;
    let mut sorted = statuses(&replies);
    sorted.sort();
    assert_eq!(
        sorted,
        [vec![200; QUOTA], vec![403; AT_ONCE - QUOTA]].concat()
    );
    for (reply, id) in replies.iter().zip(&ids) {
        if reply.status == 200 {
            lrs.statement(&app, id).await.expect(200);
        } else {
            assert_eq!(
                reply.body["type"],
                "urn:learning-passport:problem:quota-exceeded"
            );
            lrs.statement(&app, id).await.expect_problem(404);
        }
    }
    assert_usage_exact(&app, &lrs.client.organisation_id).await;
    assert_eq!(
        recount(&app, &lrs.client.organisation_id).await.0,
        QUOTA as i64
    );
}

on_both_backends!(
    the_same_statement_sent_at_once_is_stored_once,
    different_statements_under_one_id_at_once_one_is_stored,
    the_same_attachment_sent_at_once_is_stored_once,
    one_activity_described_by_many_requests_at_once_loses_nothing,
    a_refused_request_among_others_at_once_fails_alone,
    statements_sent_at_once_stop_exactly_at_the_quota,
);
