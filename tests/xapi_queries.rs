//! Querying the LRS's Statements resource, requirement by requirement, as xAPI 1.0.3 states it
//! (Communication 1.1 and 2.1.3; Data 2.5; section numbers are the specification's): the GET
//! parameters and the filters they make, statements that target others by StatementRef, order
//! and paging, the Consistent-Through and Last-Modified headers and HEAD, and the `ids`,
//! `canonical` and `exact` formats. Where the specification leaves room, the ADL LRS
//! conformance test suite decides.

mod support;

use chrono::DateTime;
use serde_json::{Value, json};
use support::xapi::*;
use support::{Method, TestApp};
use uuid::Uuid;

// GET parameters (Communication 2.1.3) -------------------------------------------------------

/// Communication 2.1.3: `statementId` and `voidedStatementId` combine with `format` and
/// `attachments` only; with any other parameter the request is refused (400).
async fn statement_id_cannot_be_combined_with_other_filters(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let id = lrs.store(&app, base()).await.remove(0);
    let ann = encode(r#"{"mbox":"mailto:ann@example.com"}"#);
    for other in [
        format!("agent={ann}"),
        "limit=1".into(),
        "ascending=true".into(),
        "since=2020-01-01T00:00:00Z".into(),
    ] {
        for name in ["statementId", "voidedStatementId"] {
            let reply = lrs
                .get(&app, &format!("/statements?{name}={id}&{other}"))
                .await;
            reply.expect_problem(400);
        }
    }
    lrs.get(
        &app,
        &format!("/statements?statementId={id}&format=ids&attachments=false"),
    )
    .await
    .expect(200);
}

/// Communication 2.1.3 (conformance suite): a parameter the resource does not define is
/// refused (400), naming it.
async fn an_unknown_parameter_is_refused(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    lrs.store(&app, base()).await;
    let reply = lrs.get(&app, "/statements?colour=red").await;
    assert_refused(&reply, "colour");
    let reply = lrs.get(&app, "/statements?Verb=x").await;
    assert_refused(&reply, "Verb");
}

// Filters (Communication 2.1.3) --------------------------------------------------------------

/// Communication 2.1.3: `agent` (JSON) finds statements whose actor or object is that Agent.
async fn the_agent_filter_matches_the_actor_or_the_object(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let by_ann = lrs.store(&app, base()).await.remove(0);
    let by_bob = lrs
        .store(&app, statement("bob@example.com", "attempted", COURSE))
        .await
        .remove(0);
    let bob = json!({"objectType": "Agent", "mbox": "mailto:bob@example.com"});
    let about_bob = lrs.store(&app, set(base(), "/object", bob)).await.remove(0);

    let ann = encode(r#"{"mbox":"mailto:ann@example.com"}"#);
    assert_eq!(
        ids(&lrs.query(&app, &format!("agent={ann}")).await),
        vec![about_bob.clone(), by_ann]
    );
    let bob = encode(r#"{"objectType":"Agent","mbox":"mailto:bob@example.com"}"#);
    assert_eq!(
        ids(&lrs.query(&app, &format!("agent={bob}")).await),
        vec![about_bob, by_bob]
    );
    let nobody = encode(r#"{"mbox":"mailto:nobody@example.com"}"#);
    assert!(lrs.query(&app, &format!("agent={nobody}")).await.is_empty());
    let reply = lrs.get(&app, "/statements?agent=ann%40example.com").await;
    assert_refused(&reply, "agent");
}

/// Communication 2.1.3: `verb` matches the verb id, `activity` the Activity that is the object,
/// `registration` the context's registration.
async fn the_verb_activity_and_registration_filters_match_exactly(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let registration = Uuid::new_v4().to_string();
    let completed = lrs.store(&app, base()).await.remove(0);
    let attempted = lrs
        .store(
            &app,
            set(
                statement(
                    "ann@example.com",
                    "attempted",
                    "http://example.com/courses/manual-handling",
                ),
                "/context",
                json!({"registration": registration}),
            ),
        )
        .await
        .remove(0);

    let verb = encode("http://adlnet.gov/expapi/verbs/completed");
    assert_eq!(
        ids(&lrs.query(&app, &format!("verb={verb}")).await),
        vec![completed.clone()]
    );
    let activity = encode("http://example.com/courses/manual-handling");
    assert_eq!(
        ids(&lrs.query(&app, &format!("activity={activity}")).await),
        vec![attempted.clone()]
    );
    assert_eq!(
        ids(&lrs
            .query(&app, &format!("registration={registration}"))
            .await),
        vec![attempted.clone()]
    );
    let other = Uuid::new_v4();
    assert!(
        lrs.query(&app, &format!("registration={other}"))
            .await
            .is_empty()
    );
    // Filters combine: every one must match.
    assert!(
        lrs.query(&app, &format!("verb={verb}&activity={activity}"))
            .await
            .is_empty()
    );
}

/// Communication 2.1.3: `since` answers statements stored after it (exclusive), `until`
/// those stored at or before it (inclusive).
async fn since_is_exclusive_and_until_inclusive_by_stored_time(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let mut stored = Vec::new();
    for _ in 0..3 {
        let id = lrs.store(&app, base()).await.remove(0);
        let at = lrs.statement(&app, &id).await.body["stored"]
            .as_str()
            .unwrap()
            .to_owned();
        stored.push((id, at));
    }
    let [(first, t1), (second, t2), (third, _)] = &stored[..] else {
        unreachable!()
    };
    let since = |t: &str| format!("since={}", encode(t));
    let until = |t: &str| format!("until={}", encode(t));
    assert_eq!(ids(&lrs.query(&app, &since(t2)).await), vec![third.clone()]);
    assert_eq!(
        ids(&lrs.query(&app, &until(t2)).await),
        vec![second.clone(), first.clone()]
    );
    assert_eq!(
        ids(&lrs
            .query(&app, &format!("{}&{}", since(t1), until(t2)))
            .await),
        vec![second.clone()]
    );
    // The same instant in another offset is the same instant.
    let t2_elsewhere = DateTime::parse_from_rfc3339(t2)
        .unwrap()
        .with_timezone(&chrono::FixedOffset::east_opt(5 * 3600).unwrap())
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, false);
    assert_eq!(
        ids(&lrs.query(&app, &since(&t2_elsewhere)).await),
        vec![third.clone()]
    );
    let reply = lrs.get(&app, "/statements?since=yesterday").await;
    assert_refused(&reply, "since");
}

/// Communication 2.1.3: `activity` matches context activities only with
/// `related_activities=true` (and Activities in a SubStatement likewise).
async fn related_activities_widen_the_activity_filter(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let programme = "http://example.com/programmes/induction";
    let module = lrs
        .store(
            &app,
            set(
                base(),
                "/context",
                json!({"contextActivities": {"parent": [{"id": programme}]}}),
            ),
        )
        .await
        .remove(0);
    let planned = lrs
        .store(
            &app,
            set(
                base(),
                "/object",
                json!({
                    "objectType": "SubStatement",
                    "actor": {"mbox": "mailto:ann@example.com"},
                    "verb": {"id": "http://example.com/verbs/will-attend"},
                    "object": {"id": programme},
                }),
            ),
        )
        .await
        .remove(0);

    let activity = encode(programme);
    assert!(
        lrs.query(&app, &format!("activity={activity}"))
            .await
            .is_empty()
    );
    assert_eq!(
        ids(&lrs
            .query(
                &app,
                &format!("activity={activity}&related_activities=true")
            )
            .await),
        vec![planned, module.clone()]
    );
    let course = encode(COURSE);
    assert_eq!(
        ids(&lrs.query(&app, &format!("activity={course}")).await),
        vec![module]
    );
}

/// Communication 2.1.3: `agent` matches the instructor and the authority only with
/// `related_agents=true`.
async fn related_agents_widen_the_agent_filter(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let taught = lrs
        .store(
            &app,
            set(
                base(),
                "/context",
                json!({"instructor": {"mbox": "mailto:carol@example.com"}}),
            ),
        )
        .await
        .remove(0);

    let carol = encode(r#"{"mbox":"mailto:carol@example.com"}"#);
    assert!(lrs.query(&app, &format!("agent={carol}")).await.is_empty());
    assert_eq!(
        ids(&lrs
            .query(&app, &format!("agent={carol}&related_agents=true"))
            .await),
        vec![taught.clone()]
    );
    let authority = lrs.statement(&app, &taught).await.body["authority"].to_string();
    let authority = encode(&authority);
    assert!(
        lrs.query(&app, &format!("agent={authority}"))
            .await
            .is_empty()
    );
    assert_eq!(
        ids(&lrs
            .query(&app, &format!("agent={authority}&related_agents=true"))
            .await),
        vec![taught]
    );
}

/// Communication 2.1.3: a statement that targets another by StatementRef is answered by the
/// filters that match its target; so a voided statement's voiding statement is found by the
/// voided statement's agent.
async fn a_statement_ref_is_found_by_what_finds_its_target(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let dan = encode(r#"{"mbox":"mailto:dan@example.com"}"#);
    let target = lrs
        .store(&app, statement("dan@example.com", "completed", COURSE))
        .await
        .remove(0);
    let liked = lrs
        .store(
            &app,
            json!({
                "actor": {"mbox": "mailto:erin@example.com"},
                "verb": {"id": "http://example.com/verbs/liked"},
                "object": {"objectType": "StatementRef", "id": target},
            }),
        )
        .await
        .remove(0);
    assert_eq!(
        ids(&lrs.query(&app, &format!("agent={dan}")).await),
        vec![liked.clone(), target.clone()]
    );
    let course = encode(COURSE);
    assert_eq!(
        ids(&lrs.query(&app, &format!("activity={course}")).await),
        vec![liked.clone(), target.clone()]
    );

    // The rule applies again to a statement that targets the targeting statement.
    let endorsed = lrs
        .store(
            &app,
            json!({
                "actor": {"mbox": "mailto:gus@example.com"},
                "verb": {"id": "http://example.com/verbs/endorsed"},
                "object": {"objectType": "StatementRef", "id": liked},
            }),
        )
        .await
        .remove(0);
    assert_eq!(
        ids(&lrs.query(&app, &format!("agent={dan}")).await),
        vec![endorsed, liked.clone(), target.clone()]
    );

    let voided_target = lrs
        .store(&app, statement("fay@example.com", "completed", COURSE))
        .await
        .remove(0);
    let voiding = lrs.store(&app, voiding(&voided_target)).await.remove(0);
    let fay = encode(r#"{"mbox":"mailto:fay@example.com"}"#);
    assert_eq!(
        ids(&lrs.query(&app, &format!("agent={fay}")).await),
        vec![voiding]
    );
}

// Order and paging (Communication 2.1.3; Data 2.5) -------------------------------------------

/// Communication 2.1.3: statements come newest first by stored time, oldest first with
/// `ascending=true`.
async fn ascending_reverses_the_order(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let mut stored = Vec::new();
    for _ in 0..3 {
        stored.extend(lrs.store(&app, base()).await);
    }
    assert_eq!(ids(&lrs.query(&app, "ascending=true").await), stored);
    stored.reverse();
    assert_eq!(ids(&lrs.query(&app, "ascending=false").await), stored);
    assert_eq!(ids(&lrs.query(&app, "").await), stored);
}

/// Communication 2.1.3 and Data 2.5: `limit` caps a page; a page that does not hold every
/// match ends with a `more` IRL (relative to the LRS) that continues the query, and the last
/// page's `more` is "". Following it sees every statement exactly once, in order, both ways.
async fn paging_with_limit_and_more_sees_every_statement_once(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let mut stored = Vec::new();
    for _ in 0..7 {
        stored.extend(lrs.store(&app, base()).await);
    }
    let (seen, pages) = follow(&app, &lrs, "/statements?limit=3&ascending=true").await;
    assert_eq!(seen, stored);
    assert_eq!(pages, 3);
    stored.reverse();
    let (seen, pages) = follow(&app, &lrs, "/statements?limit=3").await;
    assert_eq!(seen, stored);
    assert_eq!(pages, 3);
    // Filters carry over to the next pages.
    let other = lrs
        .store(&app, statement("bob@example.com", "attempted", COURSE))
        .await
        .remove(0);
    let ann = encode(r#"{"mbox":"mailto:ann@example.com"}"#);
    let (seen, _) = follow(&app, &lrs, &format!("/statements?limit=2&agent={ann}")).await;
    assert_eq!(seen, stored);
    assert!(!seen.contains(&other));
}

// Headers (Communication 1.1, 2.1.3) ---------------------------------------------------------

/// Communication 2.1.3: every answer to a statements GET carries
/// `X-Experience-API-Consistent-Through`, an ISO 8601 timestamp.
async fn every_statements_get_carries_consistent_through(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let target = lrs.store(&app, base()).await.remove(0);
    let voiding = lrs.store(&app, voiding(&target)).await.remove(0);
    for path in [
        "/statements".to_owned(),
        "/statements?limit=1".to_owned(),
        format!("/statements?statementId={voiding}"),
        format!("/statements?voidedStatementId={target}"),
        format!("/statements?statementId={voiding}&attachments=true"),
    ] {
        let reply = lrs.get(&app, &path).await;
        reply.expect(200);
        let through = reply
            .header("x-experience-api-consistent-through")
            .unwrap_or_else(|| panic!("no X-Experience-API-Consistent-Through on {path}"));
        DateTime::parse_from_rfc3339(through).unwrap();
    }
}

/// Communication 2.1.3: a single statement's answer carries `Last-Modified`, its stored time.
async fn a_single_statement_carries_last_modified(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let id = lrs.store(&app, base()).await.remove(0);
    let reply = lrs.statement(&app, &id).await;
    let last_modified = reply.header("last-modified").expect("Last-Modified");
    let last_modified = DateTime::parse_from_rfc2822(last_modified).unwrap();
    let stored = DateTime::parse_from_rfc3339(reply.body["stored"].as_str().unwrap()).unwrap();
    assert_eq!(last_modified.timestamp(), stored.timestamp());
}

/// Communication 1.1: HEAD is answered wherever GET is, with the same headers and no body.
async fn head_answers_the_headers_without_a_body(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let id = lrs.store(&app, base()).await.remove(0);
    for path in [
        "/statements".to_owned(),
        format!("/statements?statementId={id}"),
    ] {
        let reply = lrs.send(&app, Method::HEAD, &path, &[], None).await;
        reply.expect(200);
        assert_eq!(reply.body, Value::Null);
        assert_eq!(reply.header("x-experience-api-version"), Some("1.0.3"));
        assert!(
            reply
                .header("x-experience-api-consistent-through")
                .is_some()
        );
    }
}

// Formats (Communication 2.1.3) --------------------------------------------------------------

/// Communication 2.1.3: `format=ids` answers Agents as objectType and identifier, Activities
/// as their id alone, and Verbs as their id.
async fn format_ids_keeps_only_identifiers(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let id = lrs.store(&app, described()).await.remove(0);
    let single = lrs
        .get(&app, &format!("/statements?statementId={id}&format=ids"))
        .await;
    single.expect(200);
    let listed = lrs.query(&app, "format=ids").await;
    for s in [&single.body, &listed[0]] {
        assert_eq!(
            s["actor"],
            json!({"objectType": "Agent", "mbox": "mailto:ann@example.com"})
        );
        assert_eq!(
            s["verb"],
            json!({"id": "http://adlnet.gov/expapi/verbs/completed"})
        );
        assert_eq!(s["object"], json!({"id": COURSE}));
        assert_eq!(s["id"], id.as_str());
    }
}

/// Communication 2.1.3: `format=canonical` reduces each language map to the caller's language
/// (`Accept-Language`).
async fn format_canonical_answers_the_callers_language(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let id = lrs.store(&app, described()).await.remove(0);
    let reply = lrs
        .send(
            &app,
            Method::GET,
            &format!("/statements?statementId={id}&format=canonical"),
            &[("Accept-Language", "en-GB")],
            None,
        )
        .await;
    reply.expect(200);
    let s = &reply.body;
    assert_eq!(
        s["object"]["definition"]["name"],
        json!({"en-GB": "Fire safety"})
    );
    assert_eq!(
        s["object"]["definition"]["description"],
        json!({"en-GB": "Fire safety for ward staff"})
    );
    assert_eq!(s["verb"]["display"], json!({"en-GB": "completed"}));
    assert_eq!(s["actor"]["name"], "Ann");

    let reply = lrs
        .send(
            &app,
            Method::GET,
            "/statements?format=canonical",
            &[("Accept-Language", "fr, en;q=0.5")],
            None,
        )
        .await;
    reply.expect(200);
    let listed = statements(&reply);
    assert_eq!(
        listed[0]["object"]["definition"]["name"],
        json!({"fr": "Sécurité incendie"})
    );
}

/// Communication 2.1.3: `format=exact` (the default) answers the statement as stored: all it
/// was sent with, and what the LRS added; any other format is refused (400).
async fn format_exact_answers_the_statement_as_stored(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let sent = described();
    let id = lrs.store(&app, sent.clone()).await.remove(0);
    let exact = lrs
        .get(&app, &format!("/statements?statementId={id}&format=exact"))
        .await;
    exact.expect(200);
    let default = lrs.statement(&app, &id).await;
    assert_eq!(exact.body, default.body);
    for (key, value) in sent.as_object().unwrap() {
        assert_eq!(&exact.body[key], value, "{key}");
    }
    assert_eq!(lrs.query(&app, "format=exact").await[0], exact.body);

    let reply = lrs.get(&app, "/statements?format=full").await;
    assert_refused(&reply, "format");
    let reply = lrs
        .get(&app, &format!("/statements?statementId={id}&format=IDS"))
        .await;
    assert_refused(&reply, "format");
}

/// A page of plain JSON is bounded in bytes too (`PASSPORT_XAPI_MAX_ANSWER_BYTES`): it ends
/// after the last statement that fits, whatever the limit, and `more` goes on from there.
async fn pages_fit_the_answer_budget(mut app: TestApp) {
    const BUDGET: usize = 4 * 1024;
    app.restart_with(|s| s.xapi.max_answer_bytes = BUDGET).await;
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let mut stored = Vec::new();
    for i in 0..9 {
        let notes = json!({"http://example.com/extensions/notes": "n".repeat(900 + i)});
        stored.extend(
            lrs.store(&app, set(base(), "/result", json!({"extensions": notes})))
                .await,
        );
    }
    // One statement larger than the budget still gets a page of its own.
    let huge = json!({"http://example.com/extensions/notes": "h".repeat(BUDGET)});
    stored.extend(
        lrs.store(&app, set(base(), "/result", json!({"extensions": huge})))
            .await,
    );
    stored.extend(lrs.store(&app, base()).await);
    stored.reverse();
    for format in ["exact", "ids"] {
        let mut seen = Vec::new();
        let mut pages = 0;
        let mut next = format!("/statements?format={format}");
        loop {
            let reply = lrs.send_bytes(&app, Method::GET, &next, &[], None).await;
            assert_eq!(reply.status, 200);
            let result: Value = serde_json::from_slice(&reply.bytes).unwrap();
            let page = statements_of(&result);
            assert!(
                reply.bytes.len() <= BUDGET || page.len() == 1,
                "a page of {} bytes and {} statements",
                reply.bytes.len(),
                page.len()
            );
            pages += 1;
            seen.extend(ids(&page));
            let more = result["more"].as_str().unwrap();
            if more.is_empty() {
                break;
            }
            next = more.strip_prefix("/xapi").unwrap().to_owned();
            assert!(pages < 20, "the pages do not end");
        }
        assert_eq!(seen, stored, "every statement once, in order ({format})");
        assert!(pages >= 4, "{pages} pages ({format})");
    }
}

fn statements_of(result: &Value) -> Vec<Value> {
    result["statements"].as_array().cloned().unwrap_or_default()
}

on_both_backends!(
    pages_fit_the_answer_budget,
    statement_id_cannot_be_combined_with_other_filters,
    an_unknown_parameter_is_refused,
    the_agent_filter_matches_the_actor_or_the_object,
    the_verb_activity_and_registration_filters_match_exactly,
    since_is_exclusive_and_until_inclusive_by_stored_time,
    related_activities_widen_the_activity_filter,
    related_agents_widen_the_agent_filter,
    a_statement_ref_is_found_by_what_finds_its_target,
    ascending_reverses_the_order,
    paging_with_limit_and_more_sees_every_statement_once,
    every_statements_get_carries_consistent_through,
    a_single_statement_carries_last_modified,
    head_answers_the_headers_without_a_body,
    format_ids_keeps_only_identifiers,
    format_canonical_answers_the_callers_language,
    format_exact_answers_the_statement_as_stored,
);

// Helpers ------------------------------------------------------------------------------------

/// Follows a query's `more` links from `path` to the end; answers the ids seen and the number
/// of pages.
async fn follow(app: &TestApp, lrs: &Lrs, path: &str) -> (Vec<String>, usize) {
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut next = path.to_owned();
    loop {
        let reply = lrs.get(app, &next).await;
        reply.expect(200);
        pages += 1;
        let page = statements(&reply);
        assert!(!page.is_empty(), "an empty page at {next}");
        seen.extend(ids(&page));
        let more = reply.body["more"].as_str().expect("`more` is a string");
        if more.is_empty() {
            break;
        }
        assert!(more.starts_with("/xapi/statements"), "more: {more}");
        next = more.strip_prefix("/xapi").unwrap().to_owned();
        assert!(pages < 20, "the pages do not end");
    }
    (seen, pages)
}
