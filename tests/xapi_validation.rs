//! Statement validation, requirement by requirement, as xAPI 1.0.3 states it (Data 2.2 - 2.4
//! and 4; Communication 2.1.2; section numbers are the specification's). Each table lists
//! malformed statements: every one is refused with a 400 whose first error names the property,
//! by POST and by PUT, and none is stored.

mod support;

use serde_json::{Value, json};
use support::TestApp;
use support::xapi::*;
use uuid::Uuid;

/// Data 2.2.s4.b1: properties are the specification's only (case-sensitive), never null; and
/// Data 2.2.s2.b3: a statement has an actor, a verb and an object.
async fn statements_with_unknown_null_or_missing_properties_are_refused(app: TestApp) {
    refuse_each(
        &app,
        vec![
            (
                "an unknown property",
                set(base(), "/colour", json!("red")),
                "colour",
            ),
            (
                "a property in the wrong case",
                set(base(), "/Timestamp", json!("2024-05-01T12:00:00Z")),
                "Timestamp",
            ),
            (
                "a null value",
                set(base(), "/timestamp", Value::Null),
                "timestamp",
            ),
            (
                "a null value deeper down",
                set(base(), "/actor/name", Value::Null),
                "actor.name",
            ),
            ("no actor", unset(base(), "/actor"), "actor"),
            ("no verb", unset(base(), "/verb"), "verb"),
            ("no object", unset(base(), "/object"), "object"),
            (
                "an id that is not a UUID",
                set(base(), "/id", json!("42")),
                "id",
            ),
        ],
    )
    .await;
}

/// Data 2.4.2: an Agent has exactly one inverse functional identifier, each in its own form;
/// a Group has an objectType, an anonymous Group has members, and members are Agents only.
async fn agents_and_groups_are_identified_as_the_specification_says(app: TestApp) {
    let ann = json!({"objectType": "Agent", "mbox": "mailto:ann@example.com"});
    refuse_each(
        &app,
        vec![
            (
                "an actor with two identifiers",
                set(base(), "/actor/openid", json!("http://ann.example.com/")),
                "actor",
            ),
            (
                "an actor with no identifier",
                set(
                    base(),
                    "/actor",
                    json!({"objectType": "Agent", "name": "Ann"}),
                ),
                "actor",
            ),
            (
                "an mbox without mailto:",
                set(base(), "/actor/mbox", json!("ann@example.com")),
                "actor.mbox",
            ),
            (
                "an mbox_sha1sum that is not a SHA-1",
                set(
                    base(),
                    "/actor",
                    json!({"objectType": "Agent", "mbox_sha1sum": "not-a-hash"}),
                ),
                "actor.mbox_sha1sum",
            ),
            (
                "an account without homePage",
                set(base(), "/actor", json!({"account": {"name": "ann"}})),
                "actor.account.homePage",
            ),
            (
                "a Group without objectType",
                set(base(), "/actor", json!({"name": "Team", "member": [ann]})),
                "actor.member",
            ),
            (
                "an anonymous Group without members",
                set(
                    base(),
                    "/actor",
                    json!({"objectType": "Group", "name": "Team"}),
                ),
                "actor.member",
            ),
            (
                "a Group as a member",
                set(
                    base(),
                    "/actor",
                    json!({"objectType": "Group", "member": [
                        {"objectType": "Group", "member": [ann]}
                    ]}),
                ),
                "actor.member[0].objectType",
            ),
        ],
    )
    .await;
}

/// Data 2.4.3: a Verb has an IRI id; Data 4.2: language maps are keyed by RFC 5646 tags.
async fn verbs_need_an_iri_and_language_maps_need_language_tags(app: TestApp) {
    refuse_each(
        &app,
        vec![
            (
                "a verb without id",
                set(base(), "/verb", json!({"display": {"en-US": "completed"}})),
                "verb.id",
            ),
            (
                "a verb id that is not an IRI",
                set(base(), "/verb/id", json!("completed")),
                "verb.id",
            ),
            (
                "a display with a malformed language tag",
                set(base(), "/verb/display", json!({"en_US!": "completed"})),
                "verb.display.en_US!",
            ),
        ],
    )
    .await;
}

/// Data 2.4.4.1: an Activity id is an IRI; an interaction has one of the listed
/// interactionTypes, component lists need one, and component ids are unique.
async fn activities_and_interactions_are_checked(app: TestApp) {
    let definition = |d: Value| set(base(), "/object/definition", d);
    refuse_each(
        &app,
        vec![
            (
                "an activity id that is not an IRI",
                set(base(), "/object/id", json!("fire-safety")),
                "object.id",
            ),
            (
                "an unknown interactionType",
                definition(json!({"interactionType": "essay"})),
                "object.definition.interactionType",
            ),
            (
                "choices without interactionType",
                definition(json!({"choices": [{"id": "a"}, {"id": "b"}]})),
                "object.definition.choices",
            ),
            (
                "duplicate interaction component ids",
                definition(json!({
                    "interactionType": "choice",
                    "choices": [
                        {"id": "a", "description": {"en-GB": "A"}},
                        {"id": "a", "description": {"en-GB": "Also A"}}
                    ]
                })),
                "object.definition.choices[1].id",
            ),
        ],
    )
    .await;
}

/// Data 2.4.4.3: a StatementRef holds a statement's UUID; a SubStatement holds no
/// SubStatement and no id (nor stored, version or authority).
async fn statement_refs_and_substatements_are_checked(app: TestApp) {
    let sub = json!({
        "objectType": "SubStatement",
        "actor": {"mbox": "mailto:ann@example.com"},
        "verb": {"id": "http://example.com/verbs/will-attend"},
        "object": {"id": COURSE},
    });
    refuse_each(
        &app,
        vec![
            (
                "a StatementRef whose id is not a UUID",
                set(
                    base(),
                    "/object",
                    json!({"objectType": "StatementRef", "id": "42"}),
                ),
                "object.id",
            ),
            (
                "a SubStatement in a SubStatement",
                set(base(), "/object", set(sub.clone(), "/object", sub.clone())),
                "object.object.objectType",
            ),
            (
                "a SubStatement with an id",
                set(
                    base(),
                    "/object",
                    set(sub, "/id", json!(Uuid::new_v4().to_string())),
                ),
                "object.id",
            ),
        ],
    )
    .await;
}

/// Data 2.4.5: score.scaled lies in [-1, 1], raw between min and max; duration is ISO 8601;
/// Data 4.1: extension keys are IRIs.
async fn results_are_checked(app: TestApp) {
    let result = |r: Value| set(base(), "/result", r);
    refuse_each(
        &app,
        vec![
            (
                "a scaled score above 1",
                result(json!({"score": {"scaled": 1.5}})),
                "result.score.scaled",
            ),
            (
                "a raw score above max",
                result(json!({"score": {"raw": 11, "min": 0, "max": 10}})),
                "result.score.raw",
            ),
            (
                "a raw score below min",
                result(json!({"score": {"raw": -1, "min": 0, "max": 10}})),
                "result.score.raw",
            ),
            (
                "a duration that is not ISO 8601",
                result(json!({"duration": "1 hour"})),
                "result.duration",
            ),
            (
                "an extension key that is not an IRI",
                result(json!({"extensions": {"attempts": 2}})),
                "result.extensions.attempts",
            ),
        ],
    )
    .await;
}

/// Data 2.4.6: revision is for statements about Activities only; registration is a UUID;
/// contextActivities are keyed parent, grouping, category and other only.
async fn contexts_are_checked(app: TestApp) {
    let about_an_agent = set(
        base(),
        "/object",
        json!({"objectType": "Agent", "mbox": "mailto:bob@example.com"}),
    );
    refuse_each(
        &app,
        vec![
            (
                "revision on a statement about an Agent",
                set(about_an_agent, "/context", json!({"revision": "2"})),
                "context.revision",
            ),
            (
                "a registration that is not a UUID",
                set(base(), "/context", json!({"registration": "course-2024"})),
                "context.registration",
            ),
            (
                "an unknown contextActivities key",
                set(
                    base(),
                    "/context",
                    json!({"contextActivities": {"parents": [{"id": COURSE}]}}),
                ),
                "context.contextActivities.parents",
            ),
        ],
    )
    .await;
}

/// Data 2.4.7 and 4.5: a timestamp has a time zone, and never the offset -00:00; Data 2.4.10:
/// the version is 1.0.x.
async fn timestamps_and_versions_are_checked(app: TestApp) {
    refuse_each(
        &app,
        vec![
            (
                "a timestamp without time zone",
                set(base(), "/timestamp", json!("2024-05-01T12:00:00")),
                "timestamp",
            ),
            (
                "a timestamp with the offset -00:00",
                set(base(), "/timestamp", json!("2024-05-01T12:00:00-00:00")),
                "timestamp",
            ),
            (
                "version 2.0.0",
                set(base(), "/version", json!("2.0.0")),
                "version",
            ),
        ],
    )
    .await;
}

/// Data 2.4.11: an attachment declares usageType, display, contentType, length and sha2.
async fn attachment_declarations_are_checked(app: TestApp) {
    let declaration = json!({
        "usageType": "http://example.com/attachments/certificate",
        "display": {"en-GB": "Certificate"},
        "contentType": "text/plain",
        "length": 5,
        "fileUrl": "http://example.com/certificate.txt",
    });
    refuse_each(
        &app,
        vec![(
            "an attachment without sha2",
            set(base(), "/attachments", json!([declaration])),
            "attachments[0].sha2",
        )],
    )
    .await;
}

/// Communication 2.1.2: a POST body is a statement or an array of statements; any other JSON
/// is refused (400).
async fn a_post_body_must_be_a_statement_or_an_array_of_them(app: TestApp) {
    let lrs = Lrs::new(&app, "Acme Learning").await;
    for body in [json!("a statement"), json!(42), json!(null)] {
        let reply = lrs.post(&app, "/statements", body).await;
        assert_refused(&reply, "statements");
    }
    let reply = lrs
        .post(&app, "/statements", json!([base(), "a statement"]))
        .await;
    assert_refused(&reply, "[1]");
    assert!(lrs.query(&app, "").await.is_empty());
}

on_both_backends!(
    statements_with_unknown_null_or_missing_properties_are_refused,
    agents_and_groups_are_identified_as_the_specification_says,
    verbs_need_an_iri_and_language_maps_need_language_tags,
    activities_and_interactions_are_checked,
    statement_refs_and_substatements_are_checked,
    results_are_checked,
    contexts_are_checked,
    timestamps_and_versions_are_checked,
    attachment_declarations_are_checked,
    a_post_body_must_be_a_statement_or_an_array_of_them,
);

// Helpers ------------------------------------------------------------------------------------

/// Sends each malformed statement (by POST and by PUT), asserting that it is refused naming
/// `field`, and that nothing was stored.
async fn refuse_each(app: &TestApp, cases: Vec<(&str, Value, &str)>) {
    let lrs = Lrs::new(app, "Acme Learning").await;
    for (case, statement, field) in cases {
        let id = Uuid::new_v4().to_string();
        let statement = match statement.get("id") {
            Some(_) => statement,
            None => with_id(statement, &id),
        };
        let posted = lrs.post(app, "/statements", statement.clone()).await;
        assert_eq!(posted.status, 400, "{case}: {:#}", posted.body);
        assert_eq!(
            posted.body["errors"][0]["field"], field,
            "{case}: {:#}",
            posted.body
        );
        let put = lrs
            .put(app, &format!("/statements?statementId={id}"), statement)
            .await;
        assert_eq!(put.status, 400, "{case} (PUT): {:#}", put.body);
        assert_eq!(
            put.body["errors"][0]["field"], field,
            "{case} (PUT): {:#}",
            put.body
        );
        assert_eq!(lrs.statement(app, &id).await.status, 404, "{case}");
    }
    assert!(lrs.query(app, "").await.is_empty());
}
