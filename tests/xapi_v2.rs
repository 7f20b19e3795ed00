//! xAPI 2.0 (IEEE 9274.1.1-2023) beside 1.0.x: versions, the About resource, the Alternate
//! Request Syntax, and statements as 2.0 defines them (context agents and groups, the version
//! property, timestamps), read by clients of either version. Section numbers are those of the
//! 1.0.3 text that the 2.0 LRS requirements keep (the 2.0 conformance suite's numbering);
//! "2.0" marks what 2.0 changed. Documents under 2.0 are in `xapi_v2_documents.rs`.

mod support;

use chrono::DateTime;
use serde_json::{Value, json};
use support::xapi::*;
use support::{Method, Reply, TestApp};
use uuid::Uuid;

/// The same LRS credentials, speaking another version.
fn speaking(lrs: &Lrs, version: &str) -> Lrs {
    Lrs {
        version: Some(version.to_owned()),
        ..lrs.clone()
    }
}

async fn about(app: &TestApp, version: Option<&str>) -> Reply {
    let mut request = app.http.get(app.url("/xapi/about"));
    if let Some(version) = version {
        request = request.header("X-Experience-API-Version", version);
    }
    Reply::from(request.send().await.unwrap()).await
}

// Versions (Communication 3.3, 2.8) -----------------------------------------------------------

/// 2.0, Communication 3.3: a request naming 2.0 or 2.0.x is accepted and answered with
/// `X-Experience-API-Version: 2.0.0`; a 1.0.x request is still answered as 1.0.3, also about a
/// statement a 2.0 client stored.
async fn a_2_0_request_is_answered_as_2_0_0_and_a_1_0_x_one_as_1_0_3(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    for version in ["2.0.0", "2.0", "2.0.1"] {
        let client = speaking(&lrs, version);
        let stored = client.post(&app, "/statements", base()).await;
        stored.expect(200);
        assert_eq!(stored.header("x-experience-api-version"), Some("2.0.0"));
        let id = stored.body[0].as_str().unwrap();
        let fetched = client.statement(&app, id).await;
        fetched.expect(200);
        assert_eq!(fetched.header("x-experience-api-version"), Some("2.0.0"));
        let by_1_0 = lrs.statement(&app, id).await;
        by_1_0.expect(200);
        assert_eq!(by_1_0.header("x-experience-api-version"), Some("1.0.3"));
    }
    let head = speaking(&lrs, "2.0.0")
        .send(&app, Method::HEAD, "/statements", &[], None)
        .await;
    head.expect(200);
    assert_eq!(head.header("x-experience-api-version"), Some("2.0.0"));
}

/// 2.0, Communication 3.3 (XAPI-00331): a request naming no version, or one the LRS does not
/// speak (2.1.0, 1.1.0, 3.0.0, a malformed one), is refused with 400 naming the header; the
/// refusal names the LRS's newest version, 2.0.0; nothing is stored.
async fn an_unknown_or_missing_version_is_refused_naming_2_0_0(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    for version in [
        None,
        Some("2.1.0"),
        Some("1.1.0"),
        Some("3.0.0"),
        Some("2.0.x"),
    ] {
        let client = Lrs {
            version: version.map(str::to_owned),
            ..lrs.clone()
        };
        let id = Uuid::new_v4().to_string();
        let replies = [
            client.post(&app, "/statements", with_id(base(), &id)).await,
            client
                .put(&app, &format!("/statements?statementId={id}"), base())
                .await,
            client.get(&app, "/statements").await,
            client
                .put(&app, &state(COURSE, &ann(), None, Some("s")), json!({}))
                .await,
        ];
        for reply in replies {
            assert_refused(&reply, "X-Experience-API-Version");
            assert_eq!(reply.header("x-experience-api-version"), Some("2.0.0"));
        }
        lrs.statement(&app, &id).await.expect_problem(404);
    }
    assert!(lrs.query(&app, "").await.is_empty());
}

/// Communication 2.8 (XAPI-00317, 00318, 00316): the About resource's `version` is an array
/// holding "2.0.0" and the 1.0.x versions; asked without a version or as 2.0 it names 2.0.0
/// in its header, asked as 1.0.x it is a 1.0.3 answer listing 1.0.x versions only.
async fn about_lists_2_0_0_beside_the_1_0_x_versions(app: TestApp) {
    let all = json!(["2.0.0", "1.0.3", "1.0.2", "1.0.1", "1.0.0"]);
    for (version, listed, answered) in [
        (None, all.clone(), "2.0.0"),
        (Some("2.0.0"), all.clone(), "2.0.0"),
        (
            Some("1.0.3"),
            json!(["1.0.3", "1.0.2", "1.0.1", "1.0.0"]),
            "1.0.3",
        ),
    ] {
        let reply = about(&app, version).await;
        reply.expect(200);
        assert_eq!(reply.body["version"], listed, "{version:?}");
        assert_eq!(reply.header("x-experience-api-version"), Some(answered));
    }
}

/// 2.0 (the 2.0 suite's Communication 1.3): xAPI 2.0 has no Alternate Request Syntax, so a
/// 2.0 request with a `method` parameter is refused with 400 whatever it carries, and
/// nothing is stored.
async fn the_alternate_request_syntax_is_refused_under_2_0(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    let client = speaking(&lrs, "2.0.0");
    let id = Uuid::new_v4().to_string();
    let content = with_id(base(), &id).to_string();
    let form = format!(
        "statementId={id}&content={}&X-Experience-API-Version=2.0.0",
        encode(&content)
    );
    let form = || Body::Raw {
        content_type: "application/x-www-form-urlencoded".into(),
        bytes: form.clone().into_bytes(),
    };
    let state_path = state(COURSE, &ann(), None, Some("s"));
    for (method, path, body) in [
        (Method::POST, "/statements?method=GET".to_owned(), None),
        (
            Method::POST,
            "/statements?method=PUT".to_owned(),
            Some(form()),
        ),
        (
            Method::PUT,
            "/statements?method=POST".to_owned(),
            Some(form()),
        ),
        (
            Method::POST,
            format!("{state_path}&method=PUT"),
            Some(form()),
        ),
    ] {
        let reply = client.send(&app, method.clone(), &path, &[], body).await;
        assert_refused(&reply, "method");
        assert_eq!(reply.header("x-experience-api-version"), Some("2.0.0"));
    }
    lrs.statement(&app, &id).await.expect_problem(404);
    lrs.get(&app, &state_path).await.expect(404);
}

// Statements of either version, read by clients of the other -----------------------------

/// A statement with 2.0's context agents and groups, in its context and its SubStatement's.
fn with_context_agents() -> Value {
    json!({
        "actor": {"objectType": "Agent", "name": "Ann", "mbox": "mailto:ann@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attended", "display": {"en-GB": "attended"}},
        "object": {
            "objectType": "SubStatement",
            "actor": {"objectType": "Agent", "mbox": "mailto:ann@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/reported"},
            "object": {"objectType": "Activity", "id": COURSE},
            "context": {"contextAgents": [{
                "objectType": "contextAgent",
                "agent": {"objectType": "Agent", "mbox": "mailto:player@example.com"},
                "relevantTypes": ["https://example.com/types/player"]
            }]}
        },
        "context": {
            "language": "en-GB",
            "contextAgents": [{
                "objectType": "contextAgent",
                "agent": {"objectType": "Agent", "name": "Dr Bob", "mbox": "mailto:bob@example.com"},
                "relevantTypes": ["https://example.com/types/assessor", "https://example.com/types/consultant"]
            }],
            "contextGroups": [{
                "objectType": "contextGroup",
                "group": {"objectType": "Group", "name": "Ward 7", "mbox": "mailto:ward7@example.com",
                    "member": [{"mbox": "mailto:carol@example.com"}]},
                "relevantTypes": ["https://example.com/types/team"]
            }]
        }
    })
}

/// 2.0 (Data 2.4.6, Context Agents and Context Groups; Data 2.4.10): a 2.0 statement with
/// context agents and groups is stored and returned to 2.0 clients as sent, given version
/// "2.0.0"; `related_agents` finds it by a context agent, a context group or its member, and
/// `agent` alone does not (they are not its actor).
async fn context_agents_and_groups_are_stored_and_found(app: TestApp) {
    let lrs = speaking(&Lrs::new(&app, "Acme Learning").await, "2.0.0");
    let id = lrs.store(&app, with_context_agents()).await.remove(0);
    let got = lrs.statement(&app, &id).await;
    got.expect(200);
    assert_eq!(got.body["context"], with_context_agents()["context"]);
    assert_eq!(got.body["object"], with_context_agents()["object"]);
    assert_eq!(got.body["version"], "2.0.0");
    for mbox in [
        "bob@example.com",
        "ward7@example.com",
        "carol@example.com",
        "player@example.com",
    ] {
        let agent = json!({"mbox": format!("mailto:{mbox}")}).to_string();
        let related = format!("agent={}&related_agents=true", encode(&agent));
        assert_eq!(
            ids(&lrs.query(&app, &related).await),
            vec![id.clone()],
            "{mbox}"
        );
        let direct = format!("agent={}", encode(&agent));
        assert!(lrs.query(&app, &direct).await.is_empty(), "{mbox}");
    }
}

/// Statements stored under either version are queryable by clients of the other. A 1.0.x
/// client reads a 2.0 statement without the context agents and groups, which 1.0.3's data
/// model has not (a context left empty is left out), and otherwise as stored, keeping its
/// version "2.0.0" (Data 2.4.10: a statement keeps the version it was accepted with); a 2.0
/// client reads a 1.0.x statement as stored, version "1.0.0" included.
async fn statements_of_each_version_are_read_by_clients_of_the_other(app: TestApp) {
    let v1 = Lrs::new(&app, "Acme Learning").await;
    let v2 = speaking(&v1, "2.0.0");
    let by_v2 = v2.store(&app, with_context_agents()).await.remove(0);
    let only_agents = set(
        base(),
        "/context",
        json!({"contextAgents": with_context_agents()["context"]["contextAgents"]}),
    );
    let bare = v2.store(&app, only_agents).await.remove(0);
    let by_v1 = v1.store(&app, described()).await.remove(0);

    let seen = v1.statement(&app, &by_v2).await;
    seen.expect(200);
    assert_eq!(seen.body["context"], json!({"language": "en-GB"}));
    assert!(seen.body["object"].get("context").is_none());
    assert_eq!(seen.body["version"], "2.0.0");
    assert_eq!(seen.body["actor"], with_context_agents()["actor"]);
    assert!(
        v1.statement(&app, &bare)
            .await
            .body
            .get("context")
            .is_none()
    );
    for statement in v1.query(&app, "").await {
        assert!(
            !statement.to_string().contains("contextAgents"),
            "{statement:#}"
        );
    }

    let seen = v2.statement(&app, &by_v1).await;
    assert_eq!(seen.body["object"], described()["object"]);
    assert_eq!(seen.body["version"], "1.0.0");
    let mut everyone = ids(&v2.query(&app, "").await);
    everyone.sort();
    let mut expected = vec![by_v2.clone(), bare, by_v1];
    expected.sort();
    assert_eq!(everyone, expected);

    // format=ids reduces a context agent's agent and a context group's group as any Agent.
    let reduced = v2
        .get(&app, &format!("/statements?statementId={by_v2}&format=ids"))
        .await;
    assert_eq!(
        reduced.body["context"]["contextAgents"][0]["agent"],
        json!({"objectType": "Agent", "mbox": "mailto:bob@example.com"})
    );
    assert_eq!(
        reduced.body["context"]["contextGroups"][0]["group"],
        json!({"objectType": "Group", "mbox": "mailto:ward7@example.com"})
    );
}

/// 2.0 (Communication 2.1.3, the 2.0 suite's "Last-Modified header which matches the stored
/// Timestamp"): a statement GET carries `Last-Modified`, the statement's `stored` to the
/// second; a page of a query carries the newest `stored` of the page.
async fn statement_answers_carry_last_modified(app: TestApp) {
    let lrs = speaking(&Lrs::new(&app, "Acme Learning").await, "2.0.0");
    let first = lrs.store(&app, base()).await.remove(0);
    let second = lrs.store(&app, described()).await.remove(0);
    let seconds = |reply: &Reply| {
        let modified = reply.header("last-modified").expect("Last-Modified");
        DateTime::parse_from_rfc2822(modified).unwrap().timestamp()
    };
    let stored = |statement: &Value| {
        DateTime::parse_from_rfc3339(statement["stored"].as_str().unwrap())
            .unwrap()
            .timestamp()
    };
    for id in [&first, &second] {
        let one = lrs.statement(&app, id).await;
        assert_eq!(seconds(&one), stored(&one.body));
    }
    let page = lrs.get(&app, "/statements?ascending=true").await;
    page.expect(200);
    let newest = statements(&page).iter().map(stored).max().unwrap();
    assert_eq!(seconds(&page), newest);
}

on_both_backends!(
    a_2_0_request_is_answered_as_2_0_0_and_a_1_0_x_one_as_1_0_3,
    an_unknown_or_missing_version_is_refused_naming_2_0_0,
    about_lists_2_0_0_beside_the_1_0_x_versions,
    the_alternate_request_syntax_is_refused_under_2_0,
    context_agents_and_groups_are_stored_and_found,
    statements_of_each_version_are_read_by_clients_of_the_other,
    statement_answers_carry_last_modified,
);
