//! The LRS's Activities and Agents resources (xAPI 1.0.3, Communication 2.5 and 2.4): an
//! activity with every definition the organisation's statements gave it, merged, and an agent
//! as a Person. Each test names the requirement it checks.

mod support;

use serde_json::{Value, json};
use support::TestApp;
use support::xapi::*;

// ---------------------------------------------------------------------------------------------
// Activities resource (Communication 2.5)

/// 2.5.s1: the Activities resource answers the complete Activity object: the definitions the
/// organisation's statements gave the activity, merged (Data 2.4.4.1.s4: the LRS accepts
/// corrections from a provider with authority, but should not change the correct responses).
/// Names and descriptions gather every language, newer text for a language replacing older;
/// extensions merge by key; type is the latest given; another organisation's statements do not
/// describe it.
async fn the_activities_resource_answers_every_definition_merged(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let first = json!({
        "name": {"en-GB": "Fire safty", "fr": "Sécurité incendie"},
        "description": {"en-GB": "The basics"},
        "type": "http://adlnet.gov/expapi/activities/course",
        "extensions": {"http://example.org/ext/level": "1"},
    });
    lrs.store(&app, json!([describing("ann@example.org", &first)]))
        .await;
    assert_eq!(activity(&lrs, &app, COURSE).await["definition"], first);

    let second = json!({
        "name": {"en-GB": "Fire safety", "de": "Brandschutz"},
        "type": "http://adlnet.gov/expapi/activities/module",
        "extensions": {"http://example.org/ext/hours": 2},
    });
    lrs.store(&app, json!([describing("bob@example.org", &second)]))
        .await;
    assert_eq!(
        activity(&lrs, &app, COURSE).await,
        json!({"objectType": "Activity", "id": COURSE, "definition": {
            "name": {"en-GB": "Fire safety", "fr": "Sécurité incendie", "de": "Brandschutz"},
            "description": {"en-GB": "The basics"},
            "type": "http://adlnet.gov/expapi/activities/module",
            "extensions": {"http://example.org/ext/level": "1", "http://example.org/ext/hours": 2},
        }})
    );

    let other = Lrs::new(&app, "Elsewhere").await;
    assert_eq!(
        activity(&other, &app, COURSE).await,
        json!({"objectType": "Activity", "id": COURSE})
    );
}

/// 2.5.s1 with Data 2.4.4.1.s4: definitions given in one batch, in a SubStatement and in
/// contextActivities are merged too; an interaction's components gather their descriptions by
/// id and new components are added, while its interaction type and correct responses stay as
/// first given.
async fn interaction_definitions_are_completed_but_their_answers_never_change(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let quiz = "http://example.org/quizzes/fire";
    let first = json!({
        "interactionType": "choice",
        "correctResponsesPattern": ["call"],
        "choices": [{"id": "call", "description": {"en-GB": "Call 999"}},
                    {"id": "run", "description": {"en-GB": "Run"}}],
    });
    let second = json!({
        "name": {"en-GB": "Fire quiz"},
        "interactionType": "choice",
        "correctResponsesPattern": ["run"],
        "choices": [{"id": "run", "description": {"en-GB": "Run away", "fr": "Fuir"}},
                    {"id": "hide", "description": {"en-GB": "Hide"}}],
    });
    let mut in_context = statement("ann@example.org", "attempted", COURSE);
    in_context["context"] =
        json!({"contextActivities": {"parent": {"id": quiz, "definition": first}}});
    let mut in_substatement = statement("bob@example.org", "attempted", COURSE);
    in_substatement["object"] = json!({"objectType": "SubStatement",
        "actor": {"mbox": "mailto:bob@example.org"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
        "object": {"id": quiz, "definition": second}});
    lrs.store(&app, json!([in_context, in_substatement])).await;
    assert_eq!(
        activity(&lrs, &app, quiz).await["definition"],
        json!({
            "name": {"en-GB": "Fire quiz"},
            "interactionType": "choice",
            "correctResponsesPattern": ["call"],
            "choices": [{"id": "call", "description": {"en-GB": "Call 999"}},
                        {"id": "run", "description": {"en-GB": "Run away", "fr": "Fuir"}},
                        {"id": "hide", "description": {"en-GB": "Hide"}}],
        })
    );
}

/// 2.5.s1: an activity no statement described is answered as just its objectType and id; the
/// activityId is required (400 without it) and must be an IRI, and no other parameter is taken.
async fn the_activities_resource_needs_only_an_activity_id(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let unknown = "http://example.org/courses/never-seen";
    let reply = lrs
        .get(&app, &query("/activities", &[("activityId", unknown)]))
        .await;
    reply.expect(200);
    assert_eq!(reply.body, json!({"objectType": "Activity", "id": unknown}));

    lrs.get(&app, "/activities").await.expect(400);
    lrs.get(&app, &query("/activities", &[("activityId", "never seen")]))
        .await
        .expect(400);
    lrs.get(
        &app,
        &query("/activities", &[("activityId", unknown), ("agent", "{}")]),
    )
    .await
    .expect(400);
}

// ---------------------------------------------------------------------------------------------
// Agents resource (Communication 2.4)

/// 2.4.s2: the Agents resource answers a Person object (objectType "Person") whose properties
/// are arrays: name and mbox for an agent with both; account as an array of Account objects;
/// openid as an array of strings.
async fn the_agents_resource_answers_a_person(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let cases = [
        (
            json!({"objectType": "Agent", "name": "Ann Smith", "mbox": "mailto:ann@example.org"}),
            json!({"objectType": "Person", "name": ["Ann Smith"], "mbox": ["mailto:ann@example.org"]}),
        ),
        (
            json!({"account": {"homePage": "http://lms.example.org", "name": "u123"}}),
            json!({"objectType": "Person", "account": [{"homePage": "http://lms.example.org", "name": "u123"}]}),
        ),
        (
            json!({"openid": "http://openid.example.org/ann"}),
            json!({"objectType": "Person", "openid": ["http://openid.example.org/ann"]}),
        ),
    ];
    for (agent, person) in cases {
        let reply = lrs
            .get(&app, &query("/agents", &[("agent", &agent.to_string())]))
            .await;
        reply.expect(200);
        assert_eq!(reply.body, person, "{agent}");
    }
}

/// 2.4.s2.table1.row1: the Agents resource requires an agent (400 without one) and refuses
/// with 400 one that is not a valid Agent: not JSON, a Group, two identifiers, none.
async fn the_agents_resource_refuses_what_is_not_an_agent(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    lrs.get(&app, "/agents").await.expect(400);
    for agent in [
        "not JSON".to_owned(),
        json!({"objectType": "Group", "member": [{"mbox": "mailto:ann@example.org"}]}).to_string(),
        json!({"mbox": "mailto:ann@example.org", "mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"})
            .to_string(),
        json!({"name": "Ann"}).to_string(),
        json!({"mbox": "ann@example.org"}).to_string(),
    ] {
        let reply = lrs.get(&app, &query("/agents", &[("agent", &agent)])).await;
        assert_eq!(reply.status.as_u16(), 400, "{agent}: {:#}", reply.body);
    }
}

on_both_backends!(
    the_activities_resource_answers_every_definition_merged,
    interaction_definitions_are_completed_but_their_answers_never_change,
    the_activities_resource_needs_only_an_activity_id,
    the_agents_resource_answers_a_person,
    the_agents_resource_refuses_what_is_not_an_agent,
);

// ---------------------------------------------------------------------------------------------
// Helpers

/// A statement by `mbox` that completed the course, defining it as `definition`.
fn describing(mbox: &str, definition: &Value) -> Value {
    let mut statement = statement(mbox, "completed", COURSE);
    statement["object"]["definition"] = definition.clone();
    statement
}

/// The Activities resource's answer for `id`, asserting success.
async fn activity(lrs: &Lrs, app: &TestApp, id: &str) -> Value {
    let reply = lrs
        .get(app, &query("/activities", &[("activityId", id)]))
        .await;
    reply.expect(200);
    reply.body
}
