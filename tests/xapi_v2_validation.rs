//! What xAPI 2.0 (IEEE 9274.1.1-2023) accepts and refuses in a statement, beside 1.0.3: context
//! agents and groups, the version property, timestamps. Each table lists malformed statements:
//! every one is refused with a 400 naming the property, by POST and by PUT, in a statement and
//! in a SubStatement, and none is stored. (Numbering: the 2.0 conformance suite's.)

mod support;

use serde_json::{Value, json};
use support::TestApp;
use support::xapi::*;
use uuid::Uuid;

fn v2(lrs: &Lrs) -> Lrs {
    Lrs {
        version: Some("2.0.0".into()),
        ..lrs.clone()
    }
}

/// A statement whose context holds one valid context agent and one valid context group.
fn in_context() -> Value {
    set(
        base(),
        "/context",
        json!({
            "contextAgents": [{
                "objectType": "contextAgent",
                "agent": {"objectType": "Agent", "mbox": "mailto:player@example.com"},
                "relevantTypes": ["https://example.com/types/quarterback"]
            }],
            "contextGroups": [{
                "objectType": "contextGroup",
                "group": {"objectType": "Group", "name": "Team", "member": [
                    {"mbox": "mailto:one@example.com"}, {"mbox": "mailto:two@example.com"}]}
            }]
        }),
    )
}

/// The same context inside a SubStatement (the statement's object).
fn in_substatement() -> Value {
    let mut sub = in_context();
    sub["objectType"] = json!("SubStatement");
    set(base(), "/object", sub)
}

/// Sends each statement as a 2.0 client by POST and by PUT: each must be refused with a 400
/// naming `field`, and none stored.
async fn refuse_each(app: &TestApp, lrs: &Lrs, cases: Vec<(&str, Value, String)>) {
    for (what, statement, field) in cases {
        let id = Uuid::new_v4().to_string();
        let posted = lrs
            .post(app, "/statements", with_id(statement.clone(), &id))
            .await;
        assert_refused(&posted, &field);
        let put = lrs
            .put(app, &format!("/statements?statementId={id}"), statement)
            .await;
        assert_refused(&put, &field);
        assert_eq!(
            lrs.statement(app, &id).await.status.as_u16(),
            404,
            "{what} was stored"
        );
    }
}

/// 2.0 (Data 2.4.6, Context Agents and Context Groups; the suite's contextagents.js and
/// contextgroups.js): `contextAgents` is an array of objects with objectType "contextAgent"
/// and a valid Agent; `contextGroups` of objects with objectType "contextGroup" and a valid
/// Group; `relevantTypes`, when given, holds one IRI or more. The same in a SubStatement.
async fn malformed_context_agents_and_groups_are_refused(app: TestApp) {
    let lrs = v2(&Lrs::new(&app, "Acme Learning").await);
    lrs.store(&app, json!([in_context(), in_substatement()]))
        .await;
    let agent = "/contextAgents/0";
    let group = "/contextGroups/0";
    // (what, where in the context, the value put there (None: left out), the field refused)
    let broken: Vec<(&str, String, Option<Value>, &str)> = vec![
        (
            "not an array",
            "/contextAgents".into(),
            Some(json!({})),
            "contextAgents",
        ),
        (
            "null",
            "/contextGroups".into(),
            Some(Value::Null),
            "contextGroups",
        ),
        (
            "objectType other than contextAgent",
            format!("{agent}/objectType"),
            Some(json!("Should fail")),
            "contextAgents[0].objectType",
        ),
        (
            "no objectType",
            format!("{agent}/objectType"),
            None,
            "contextAgents[0].objectType",
        ),
        (
            "no agent",
            format!("{agent}/agent"),
            None,
            "contextAgents[0].agent",
        ),
        (
            "an invalid agent",
            format!("{agent}/agent"),
            Some(json!({"key": "Should fail"})),
            "contextAgents[0].agent.key",
        ),
        (
            "an agent that is a Group",
            format!("{agent}/agent"),
            Some(json!({"objectType": "Group", "mbox": "mailto:team@example.com"})),
            "contextAgents[0].agent.objectType",
        ),
        (
            "empty relevantTypes",
            format!("{agent}/relevantTypes"),
            Some(json!([])),
            "contextAgents[0].relevantTypes",
        ),
        (
            "a relevantType that is not an IRI",
            format!("{agent}/relevantTypes"),
            Some(json!(["abc"])),
            "contextAgents[0].relevantTypes[0]",
        ),
        (
            "an unknown property",
            format!("{agent}/member"),
            Some(json!([])),
            "contextAgents[0].member",
        ),
        (
            "objectType other than contextGroup",
            format!("{group}/objectType"),
            Some(json!("contextAgent")),
            "contextGroups[0].objectType",
        ),
        (
            "a group that is an Agent",
            format!("{group}/group"),
            Some(json!({"objectType": "Agent", "mbox": "mailto:one@example.com"})),
            "contextGroups[0].group.objectType",
        ),
        (
            "an anonymous group without members",
            format!("{group}/group"),
            Some(json!({"objectType": "Group", "name": "Nobody"})),
            "contextGroups[0].group.member",
        ),
    ];
    let mut cases = Vec::new();
    for (what, pointer, value, field) in broken {
        let statement = put_at(in_context(), &format!("/context{pointer}"), value.clone());
        cases.push((what, statement, format!("context.{field}")));
        let nested = put_at(
            in_substatement(),
            &format!("/object/context{pointer}"),
            value,
        );
        cases.push((what, nested, format!("object.context.{field}")));
    }
    refuse_each(&app, &lrs, cases).await;
}

/// 2.0 is not 1.0.3: a 1.0.x request using context agents or groups is refused (1.0.3 Data
/// 2.2.s4.b1.b7, a property the specification does not allow), in a SubStatement too.
async fn a_1_0_x_request_cannot_use_context_agents_or_groups(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    assert_refused(
        &lrs.post(&app, "/statements", in_context()).await,
        "context.contextAgents",
    );
    let only_groups = unset(in_substatement(), "/object/context/contextAgents");
    assert_refused(
        &lrs.post(&app, "/statements", only_groups).await,
        "object.context.contextGroups",
    );
    assert!(lrs.query(&app, "").await.is_empty());
}

/// Data 2.4.10 (2.0; the suite's version.js and XAPI-00332): a 2.0 statement without a
/// version is given "2.0.0"; a version sent, 1.0.x or 2.0.x, is kept as it was accepted;
/// anything else is refused. A 1.0.x request still may not send a 2.0 version (1.0.3: "1.0" or
/// "1.0.x"), and its statements are given "1.0.0".
async fn the_version_property_follows_the_request_s_version(app: TestApp) {
    let v1 = Lrs::new(&app, "Acme Learning").await;
    let lrs = v2(&v1);
    let given = lrs.store(&app, base()).await.remove(0);
    assert_eq!(lrs.statement(&app, &given).await.body["version"], "2.0.0");
    for version in ["2.0.0", "2.0", "1.0", "1.0.9", "1.0.3"] {
        let id = lrs
            .store(&app, set(base(), "/version", json!(version)))
            .await
            .remove(0);
        assert_eq!(lrs.statement(&app, &id).await.body["version"], version);
    }
    let cases = ["should fail", "0.9.9", "1.1.0", "2.1.0", "2.0.0-beta"]
        .into_iter()
        .map(|bad| {
            (
                bad,
                set(base(), "/version", json!(bad)),
                "version".to_owned(),
            )
        })
        .collect();
    refuse_each(&app, &lrs, cases).await;
    assert_refused(
        &v1.post(&app, "/statements", set(base(), "/version", json!("2.0.0")))
            .await,
        "version",
    );
    let old = v1.store(&app, base()).await.remove(0);
    assert_eq!(lrs.statement(&app, &old).await.body["version"], "1.0.0");
}

/// 2.0 (Data 4.5, the suite's timestamps.js): a timestamp is ISO 8601 with a time zone, or
/// RFC 3339, whose space between date and time is accepted (and stored as `T`); an offset of
/// -00, -0000 or -00:00 is refused, as are a timestamp without a time zone and malformed ones.
/// The same for a SubStatement's timestamp.
async fn timestamps_follow_2_0_s_rules(app: TestApp) {
    let lrs = v2(&Lrs::new(&app, "Acme Learning").await);
    for (sent, kept) in [
        (
            "2008-09-15 15:53:00.601+00:00",
            "2008-09-15T15:53:00.601+00:00",
        ),
        ("2008-09-15T15:53:00.601Z", "2008-09-15T15:53:00.601Z"),
        ("2008-09-15T15:53:00+01:00", "2008-09-15T15:53:00+01:00"),
    ] {
        let id = lrs
            .store(&app, set(base(), "/timestamp", json!(sent)))
            .await
            .remove(0);
        assert_eq!(lrs.statement(&app, &id).await.body["timestamp"], kept);
        let mut sub = base();
        sub["objectType"] = json!("SubStatement");
        sub["timestamp"] = json!(sent);
        let id = lrs.store(&app, set(base(), "/object", sub)).await.remove(0);
        assert_eq!(
            lrs.statement(&app, &id).await.body["object"]["timestamp"],
            kept
        );
    }
    let mut cases = Vec::new();
    for bad in [
        "should fail",
        "01/011/2015",
        "2008-09-15T15:53:00.601-00",
        "2008-09-15T15:53:00.601-0000",
        "2008-09-15T15:53:00.601-00:00",
        "2008-09-15 15:53:00.601-00:00",
        "2008-09-15T15:53:00.601",
        "2008-09-15 15:53:00",
    ] {
        cases.push((
            bad,
            set(base(), "/timestamp", json!(bad)),
            "timestamp".into(),
        ));
        let mut sub = base();
        sub["objectType"] = json!("SubStatement");
        sub["timestamp"] = json!(bad);
        cases.push((bad, set(base(), "/object", sub), "object.timestamp".into()));
    }
    refuse_each(&app, &lrs, cases).await;
}

on_both_backends!(
    malformed_context_agents_and_groups_are_refused,
    a_1_0_x_request_cannot_use_context_agents_or_groups,
    the_version_property_follows_the_request_s_version,
    timestamps_follow_2_0_s_rules,
);

/// `value` with the value at `pointer` replaced (array items included), or left out.
fn put_at(mut value: Value, pointer: &str, new: Option<Value>) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    match (value.pointer_mut(parent), new) {
        (Some(Value::Array(items)), Some(new)) => items[key.parse::<usize>().unwrap()] = new,
        (Some(Value::Object(map)), Some(new)) => {
            map.insert(key.to_owned(), new);
        }
        (Some(Value::Object(map)), None) => {
            map.remove(key);
        }
        _ => panic!("nothing to change at {pointer}"),
    }
    value
}
