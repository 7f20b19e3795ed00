//! The LRS's Statements resource storing statements, requirement by requirement, as xAPI
//! 1.0.3 states them (Communication 2.1.1, 2.1.2 and 2.1.4; Data 2.3 and 2.4; section numbers
//! are the specification's): what PUT and POST store and answer, statement immutability and
//! conflicts, batches stored whole or not at all, and voiding. Where the specification leaves
//! room, the ADL LRS conformance test suite decides.

mod support;

use chrono::DateTime;
use serde_json::{Value, json};
use support::TestApp;
use support::xapi::*;
use uuid::Uuid;

// Storing (Communication 2.1.1, 2.1.2; Data 2.4) ---------------------------------------------

/// Communication 2.1.1: PUT with `statementId` stores the statement (204); the LRS adds
/// `stored`, the `authority` it vouches for (the client, as an Agent account), `version` 1.0.0
/// when absent (Data 2.4.10), and a `timestamp` equal to `stored` when absent (Data 2.4.7).
async fn a_put_statement_is_stored_with_what_the_lrs_supplies(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let id = Uuid::new_v4().to_string();
    let put = lrs
        .put(&app, &format!("/statements?statementId={id}"), base())
        .await;
    put.expect(204);
    assert_eq!(put.body, Value::Null);

    let got = lrs.statement(&app, &id).await;
    got.expect(200);
    let s = &got.body;
    assert_eq!(s["id"], id.as_str());
    assert_eq!(s["actor"], base()["actor"]);
    assert_eq!(s["verb"], base()["verb"]);
    assert_eq!(s["object"], base()["object"]);
    let stored = s["stored"].as_str().unwrap();
    DateTime::parse_from_rfc3339(stored).unwrap();
    assert_eq!(s["timestamp"], stored);
    assert_eq!(s["version"], "1.0.0");
    assert_eq!(
        s["authority"],
        json!({
            "objectType": "Agent",
            "account": {"homePage": app.settings.issuer(), "name": lrs.client.client_id},
        })
    );

    // What the client gave is kept as given.
    let id = Uuid::new_v4().to_string();
    let timed = set(base(), "/timestamp", json!("2024-05-01T12:00:00.250+01:00"));
    let timed = set(timed, "/version", json!("1.0.3"));
    lrs.put(&app, &format!("/statements?statementId={id}"), timed)
        .await
        .expect(204);
    let got = lrs.statement(&app, &id).await;
    assert_eq!(got.body["timestamp"], "2024-05-01T12:00:00.250+01:00");
    assert_eq!(got.body["version"], "1.0.3");
    assert_ne!(got.body["stored"], got.body["timestamp"]);
}

/// Communication 2.1.1: a PUT whose statement carries an id other than `statementId` is
/// refused (400), as is a PUT without `statementId`.
async fn a_put_needs_a_statement_id_matching_the_statement(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let id = Uuid::new_v4().to_string();
    let other = Uuid::new_v4().to_string();
    let reply = lrs
        .put(
            &app,
            &format!("/statements?statementId={id}"),
            with_id(base(), &other),
        )
        .await;
    assert_refused(&reply, "id");
    let reply = lrs.put(&app, "/statements", with_id(base(), &id)).await;
    assert_refused(&reply, "statementId");
    let reply = lrs
        .put(&app, "/statements?statementId=not-a-uuid", base())
        .await;
    assert_refused(&reply, "statementId");
    for unseen in [&id, &other] {
        lrs.statement(&app, unseen).await.expect_problem(404);
    }
    assert!(lrs.query(&app, "").await.is_empty());
}

/// Communication 2.1.2: POST takes one statement or an array, and answers the array of their
/// ids in the order sent; the LRS gives an id to each statement sent without one.
async fn a_post_answers_the_ids_in_order_and_assigns_missing_ones(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let single = Uuid::new_v4().to_string();
    assert_eq!(
        lrs.store(&app, with_id(base(), &single)).await,
        vec![single.clone()]
    );

    let first = Uuid::new_v4().to_string();
    let last = Uuid::new_v4().to_string();
    let batch = json!([
        with_id(statement("ann@example.com", "attempted", COURSE), &first),
        statement("bob@example.com", "attempted", COURSE),
        with_id(statement("cat@example.com", "attempted", COURSE), &last),
    ]);
    let answered = lrs.store(&app, batch).await;
    assert_eq!(answered.len(), 3);
    assert_eq!(answered[0], first);
    assert_eq!(answered[2], last);
    Uuid::parse_str(&answered[1]).expect("the LRS assigned a UUID");
    assert!(![&single, &first, &last].contains(&&answered[1]));
    let bob = lrs.statement(&app, &answered[1]).await;
    bob.expect(200);
    assert_eq!(bob.body["id"], answered[1].as_str());
    assert_eq!(bob.body["actor"]["mbox"], "mailto:bob@example.com");
    assert_eq!(lrs.query(&app, "").await.len(), 4);
}

// Immutability (Data 2.3.1) ------------------------------------------------------------------

/// Data 2.3.1 and Communication 2.1.1/2.1.2: sending a statement the LRS already holds, by PUT
/// or POST, is accepted and changes nothing (the first `stored` stays).
async fn the_same_statement_stored_again_is_accepted_and_unchanged(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let id = Uuid::new_v4().to_string();
    let sent = with_id(base(), &id);
    lrs.put(&app, &format!("/statements?statementId={id}"), sent.clone())
        .await
        .expect(204);
    let first = lrs.statement(&app, &id).await.body;

    lrs.put(&app, &format!("/statements?statementId={id}"), sent.clone())
        .await
        .expect(204);
    assert_eq!(lrs.store(&app, sent.clone()).await, vec![id.clone()]);
    assert_eq!(
        lrs.store(&app, json!([sent.clone()])).await,
        vec![id.clone()]
    );
    // Without its id, under the PUT's statementId, it is still the same statement.
    lrs.put(&app, &format!("/statements?statementId={id}"), base())
        .await
        .expect(204);

    let again = lrs.statement(&app, &id).await.body;
    assert_eq!(again, first);
    assert_eq!(ids(&lrs.query(&app, "").await), vec![id]);
}

/// Data 2.3.1.s9: statements are compared setting aside the exceptions to immutability, so a
/// statement sent again with another verb display (b3), another Activity definition (b2), its
/// timestamp in another time zone (b4), its e-mail domain or id in another case (b7) is the
/// same statement: accepted, and the stored statement unchanged.
async fn a_statement_sent_again_differing_only_where_immutability_allows_is_the_same(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let id = Uuid::new_v4().to_string();
    let sent = set(
        with_id(described(), &id),
        "/timestamp",
        json!("2024-05-01T12:00:00Z"),
    );
    lrs.store(&app, sent.clone()).await;
    let original = lrs.statement(&app, &id).await.body;

    let variants = [
        set(sent.clone(), "/verb/display", json!({"en-US": "finished"})),
        set(
            sent.clone(),
            "/object/definition/name",
            json!({"en-GB": "Fire safety (2025 edition)"}),
        ),
        unset(sent.clone(), "/object/definition"),
        set(
            sent.clone(),
            "/timestamp",
            json!("2024-05-01T13:00:00.000+01:00"),
        ),
        set(sent.clone(), "/actor/mbox", json!("mailto:ann@EXAMPLE.com")),
        set(sent.clone(), "/id", json!(id.to_uppercase())),
    ];
    for variant in variants {
        let posted = lrs.post(&app, "/statements", variant.clone()).await;
        assert_eq!(posted.status, 200, "{variant:#}: {:#}", posted.body);
        assert_eq!(posted.body, json!([id]));
        let put = lrs
            .put(
                &app,
                &format!("/statements?statementId={id}"),
                variant.clone(),
            )
            .await;
        assert_eq!(put.status, 204, "{variant:#}: {:#}", put.body);
    }
    assert_eq!(lrs.statement(&app, &id).await.body, original);
    assert_eq!(ids(&lrs.query(&app, "").await), vec![id]);
}

/// Data 2.3.1 (statement immutability) and Communication 2.1.1/2.1.2: a different statement
/// under an id already stored is a conflict (409), and the stored statement is unchanged.
async fn a_statement_with_the_same_id_and_different_content_is_a_conflict(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let id = Uuid::new_v4().to_string();
    lrs.store(&app, with_id(base(), &id)).await;
    let original = lrs.statement(&app, &id).await.body;

    let changed = with_id(statement("ann@example.com", "failed", COURSE), &id);
    lrs.put(
        &app,
        &format!("/statements?statementId={id}"),
        changed.clone(),
    )
    .await
    .expect_problem(409);
    lrs.post(&app, "/statements", changed)
        .await
        .expect_problem(409);
    let renamed = set(with_id(base(), &id), "/actor/name", json!("Anne"));
    lrs.post(&app, "/statements", renamed)
        .await
        .expect_problem(409);

    assert_eq!(lrs.statement(&app, &id).await.body, original);
    assert_eq!(ids(&lrs.query(&app, "").await), vec![id]);

    // Data 2.3.1.b8: a duration is compared as a string, however long it lasts.
    let id = Uuid::new_v4().to_string();
    let hour = set(with_id(base(), &id), "/result", json!({"duration": "PT1H"}));
    lrs.store(&app, hour).await;
    let minutes = set(
        with_id(base(), &id),
        "/result",
        json!({"duration": "PT60M"}),
    );
    lrs.post(&app, "/statements", minutes)
        .await
        .expect_problem(409);
}

// Batches (Communication 2.1.2) --------------------------------------------------------------

/// Communication 2.1.2: a batch is stored whole or not at all; one malformed statement makes
/// the LRS refuse the batch (400, naming the statement's place), and none of it is stored.
async fn a_batch_with_one_malformed_statement_stores_nothing(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let good = [Uuid::new_v4().to_string(), Uuid::new_v4().to_string()];
    let bad = set(
        with_id(base(), &Uuid::new_v4().to_string()),
        "/actor/mbox",
        json!("bob@example.com"),
    );
    let batch = json!([with_id(base(), &good[0]), bad, with_id(base(), &good[1])]);
    let reply = lrs.post(&app, "/statements", batch).await;
    assert_refused(&reply, "[1].actor.mbox");
    for id in &good {
        lrs.statement(&app, id).await.expect_problem(404);
    }
    assert!(lrs.query(&app, "").await.is_empty());
}

/// A batch naming one id twice is refused (400) and nothing is stored (conformance suite:
/// "An LRS rejects a batch of statements with duplicate statement ids").
async fn a_batch_with_a_duplicated_id_is_refused(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let id = Uuid::new_v4().to_string();
    let other = Uuid::new_v4().to_string();
    let batch = json!([
        with_id(base(), &id),
        with_id(base(), &other),
        with_id(statement("bob@example.com", "attempted", COURSE), &id),
    ]);
    let reply = lrs.post(&app, "/statements", batch).await;
    assert_refused(&reply, "[2].id");
    assert!(lrs.query(&app, "").await.is_empty());
}

/// Communication 2.1.2: a batch in which one id is already stored with different content is a
/// conflict (409), and none of the batch is stored.
async fn a_batch_in_which_one_id_conflicts_stores_nothing(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let taken = Uuid::new_v4().to_string();
    lrs.store(&app, with_id(base(), &taken)).await;
    let fresh = [Uuid::new_v4().to_string(), Uuid::new_v4().to_string()];
    let batch = json!([
        with_id(base(), &fresh[0]),
        with_id(statement("ann@example.com", "failed", COURSE), &taken),
        with_id(base(), &fresh[1]),
    ]);
    lrs.post(&app, "/statements", batch)
        .await
        .expect_problem(409);
    for id in &fresh {
        lrs.statement(&app, id).await.expect_problem(404);
    }
    assert_eq!(ids(&lrs.query(&app, "").await), vec![taken.clone()]);
    assert_eq!(
        lrs.statement(&app, &taken).await.body["verb"]["id"],
        "http://adlnet.gov/expapi/verbs/completed"
    );
}

/// A batch that sends a stored statement again beside new ones stores the new ones, found by
/// the filters and with the definitions they give, and leaves the stored one as it was.
async fn a_batch_sending_a_stored_statement_again_stores_the_new_ones(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let held = Uuid::new_v4().to_string();
    lrs.store(&app, with_id(base(), &held)).await;
    let first = lrs.statement(&app, &held).await.body;

    let fresh = [Uuid::new_v4().to_string(), Uuid::new_v4().to_string()];
    let batch = json!([
        with_id(
            statement("bob@example.com", "failed", OTHER_COURSE),
            &fresh[0]
        ),
        with_id(base(), &held),
        with_id(described(), &fresh[1]),
    ]);
    assert_eq!(
        lrs.store(&app, batch).await,
        vec![fresh[0].clone(), held.clone(), fresh[1].clone()]
    );
    assert_eq!(lrs.statement(&app, &held).await.body, first);
    let failed = "http://adlnet.gov/expapi/verbs/failed";
    assert_eq!(
        ids(&lrs.query(&app, &format!("verb={failed}")).await),
        vec![fresh[0].clone()]
    );
    assert_eq!(
        ids(&lrs.query(&app, &format!("activity={COURSE}")).await),
        vec![fresh[1].clone(), held.clone()]
    );
    let activity = lrs
        .get(&app, &format!("/activities?activityId={COURSE}"))
        .await;
    activity.expect(200);
    assert_eq!(activity.body["definition"]["name"]["en-GB"], "Fire safety");
}

// Voiding (Data 2.3.2; Communication 2.1.4) --------------------------------------------------

/// Communication 2.1.4: a voided statement is no longer found by `statementId` (404), only by
/// `voidedStatementId`; the voiding statement is found as any other.
async fn a_voided_statement_is_found_only_by_voided_statement_id(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let target = Uuid::new_v4().to_string();
    lrs.store(&app, with_id(base(), &target)).await;
    let voiding = lrs.store(&app, voiding(&target)).await.remove(0);

    lrs.statement(&app, &target).await.expect_problem(404);
    let voided = lrs
        .get(&app, &format!("/statements?voidedStatementId={target}"))
        .await;
    voided.expect(200);
    assert_eq!(voided.body["id"], target.as_str());
    assert_eq!(voided.body["actor"], base()["actor"]);
    let found = lrs.statement(&app, &voiding).await;
    found.expect(200);
    assert_eq!(found.body["verb"]["id"], VOIDED);
    assert_eq!(found.body["object"]["id"], target.as_str());
}

/// Communication 2.1.4: `voidedStatementId` finds voided statements only (404 otherwise).
async fn a_statement_that_is_not_voided_is_not_found_by_voided_statement_id(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let id = lrs.store(&app, base()).await.remove(0);
    lrs.get(&app, &format!("/statements?voidedStatementId={id}"))
        .await
        .expect_problem(404);
    let unknown = Uuid::new_v4();
    lrs.get(&app, &format!("/statements?voidedStatementId={unknown}"))
        .await
        .expect_problem(404);
}

/// Communication 2.1.4: queries never answer voided statements, whatever they filter on, but
/// do answer the voiding statements.
async fn voided_statements_never_appear_in_queries_but_voiding_statements_do(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let kept = lrs.store(&app, base()).await.remove(0);
    let target = lrs.store(&app, base()).await.remove(0);
    let voiding = lrs.store(&app, voiding(&target)).await.remove(0);

    assert_eq!(
        ids(&lrs.query(&app, "").await),
        vec![voiding.clone(), kept.clone()]
    );
    // The voiding statement targets a completion, so it is found by what finds that
    // (Communication 2.1.3, "Filter Conditions for StatementRefs"); the target is not.
    let completed = encode("http://adlnet.gov/expapi/verbs/completed");
    assert_eq!(
        ids(&lrs.query(&app, &format!("verb={completed}")).await),
        vec![voiding.clone(), kept.clone()]
    );
    let course = encode(COURSE);
    let by_activity = ids(&lrs.query(&app, &format!("activity={course}")).await);
    assert!(!by_activity.contains(&target), "{by_activity:?}");
    assert!(by_activity.contains(&kept));
    let voided = encode(VOIDED);
    assert_eq!(
        ids(&lrs.query(&app, &format!("verb={voided}")).await),
        vec![voiding]
    );
}

/// Data 2.3.2: a voiding statement cannot itself be voided (400), and stays in force.
async fn a_voiding_statement_cannot_be_voided(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let target = lrs.store(&app, base()).await.remove(0);
    let voiding_id = lrs.store(&app, voiding(&target)).await.remove(0);
    let reply = lrs.post(&app, "/statements", voiding(&voiding_id)).await;
    assert_refused(&reply, "object.id");
    lrs.statement(&app, &voiding_id).await.expect(200);
    lrs.statement(&app, &target).await.expect_problem(404);
    assert_eq!(ids(&lrs.query(&app, "").await), vec![voiding_id]);
}

/// Data 2.3.2 and the conformance suite: a statement voiding a statement the LRS does not hold
/// is accepted.
async fn voiding_an_unknown_statement_is_accepted(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let unknown = Uuid::new_v4().to_string();
    let voiding = lrs.store(&app, voiding(&unknown)).await.remove(0);
    lrs.statement(&app, &voiding).await.expect(200);
    assert_eq!(ids(&lrs.query(&app, "").await), vec![voiding]);
}

/// Data 2.3.2: a batch may hold a statement and the statement voiding it; both are stored, the
/// first is voided and the second is found by what finds the first, as if they had been sent
/// one after the other.
async fn a_statement_voided_in_its_own_batch_is_voided(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let target = Uuid::new_v4().to_string();
    let reply = lrs
        .post(
            &app,
            "/statements",
            json!([with_id(base(), &target), voiding(&target)]),
        )
        .await;
    reply.expect(200);
    let voiding_id = reply.body[1].as_str().unwrap().to_owned();
    lrs.statement(&app, &target).await.expect_problem(404);
    lrs.get(&app, &format!("/statements?voidedStatementId={target}"))
        .await
        .expect(200);
    assert_eq!(ids(&lrs.query(&app, "").await), vec![voiding_id.clone()]);
    // Found by what finds its target (Communication 2.1.3), as when sent after it.
    let completed = encode("http://adlnet.gov/expapi/verbs/completed");
    assert_eq!(
        ids(&lrs.query(&app, &format!("verb={completed}")).await),
        vec![voiding_id]
    );
}

on_both_backends!(
    a_statement_voided_in_its_own_batch_is_voided,
    a_put_statement_is_stored_with_what_the_lrs_supplies,
    a_put_needs_a_statement_id_matching_the_statement,
    a_post_answers_the_ids_in_order_and_assigns_missing_ones,
    the_same_statement_stored_again_is_accepted_and_unchanged,
    a_statement_sent_again_differing_only_where_immutability_allows_is_the_same,
    a_statement_with_the_same_id_and_different_content_is_a_conflict,
    a_batch_with_one_malformed_statement_stores_nothing,
    a_batch_with_a_duplicated_id_is_refused,
    a_batch_in_which_one_id_conflicts_stores_nothing,
    a_batch_sending_a_stored_statement_again_stores_the_new_ones,
    a_voided_statement_is_found_only_by_voided_statement_id,
    a_statement_that_is_not_voided_is_not_found_by_voided_statement_id,
    voided_statements_never_appear_in_queries_but_voiding_statements_do,
    a_voiding_statement_cannot_be_voided,
    voiding_an_unknown_statement_is_accepted,
);
