//! The form statements are answered in (xAPI 1.0.3): contextActivities values as arrays
//! (Data 2.4.6.2), also for statements stored before the LRS normalised them, and what
//! `format=ids` keeps of each object (Communication 2.1.3). Each test names the requirement it
//! checks.

mod support;

use serde_json::{Value, json};
use support::TestApp;
use support::xapi::*;

const PARENT: &str = "http://example.com/programmes/induction";
const GROUPING: &str = "http://example.com/programmes/mandatory";
const CATEGORY: &str = "http://example.com/profiles/nhs-csft";
const OTHER: &str = "http://example.com/courses/fire-wardens";

/// A statement whose contextActivities, and those of its SubStatement, mix single Activity
/// objects and arrays, as clients send them.
fn mixed_context() -> Value {
    let activity = |id: &str| json!({"objectType": "Activity", "id": id});
    let mut statement = base();
    statement["context"] = json!({"contextActivities": {
        "parent": activity(PARENT),
        "grouping": [activity(GROUPING)],
        "category": activity(CATEGORY),
        "other": activity(OTHER),
    }});
    statement
}

fn with_substatement(mut statement: Value) -> Value {
    statement["object"] = json!({
        "objectType": "SubStatement",
        "actor": {"objectType": "Agent", "name": "Bob", "mbox": "mailto:bob@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attended", "display": {"en-GB": "attended"}},
        "object": {"objectType": "Activity", "id": COURSE,
                   "definition": {"name": {"en-GB": "Fire safety"}}},
        "context": {"contextActivities": {
            "parent": {"id": PARENT, "definition": {"name": {"en-GB": "Induction"}}},
        }},
    });
    statement
}

/// The contextActivities of a statement as the LRS must answer them: every value an array.
fn as_arrays() -> Value {
    let activity = |id: &str| json!({"objectType": "Activity", "id": id});
    json!({
        "parent": [activity(PARENT)],
        "grouping": [activity(GROUPING)],
        "category": [activity(CATEGORY)],
        "other": [activity(OTHER)],
    })
}

/// Data 2.4.6.2: the LRS returns every value of contextActivities as an array, even when it
/// arrived as a single Activity object, in a statement and in its SubStatement, in every
/// format and to a query as to a GET by id. The single-object form sent again is the same
/// statement (Data 2.3.1: equivalence), and so is the array form.
async fn context_activities_are_answered_as_arrays(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let sent = with_substatement(mixed_context());
    let id = lrs.store(&app, sent.clone()).await.remove(0);

    let by_id = lrs.statement(&app, &id).await;
    by_id.expect(200);
    let listed = lrs.query(&app, "").await;
    let canonical = lrs
        .get(
            &app,
            &format!("/statements?statementId={id}&format=canonical"),
        )
        .await;
    canonical.expect(200);
    for answered in [&by_id.body, &listed[0], &canonical.body] {
        assert_eq!(answered["context"]["contextActivities"], as_arrays());
        assert_eq!(
            answered["object"]["context"]["contextActivities"]["parent"],
            json!([{"id": PARENT, "definition": {"name": {"en-GB": "Induction"}}}])
        );
    }

    // The statement sent again, as sent and with arrays, is accepted and stored once.
    let again = with_id(sent.clone(), &id);
    lrs.store(&app, again.clone()).await;
    let mut arrays = again;
    arrays["context"]["contextActivities"] = as_arrays();
    lrs.put(&app, &format!("/statements?statementId={id}"), arrays)
        .await
        .expect(204);
    assert_eq!(lrs.query(&app, "").await.len(), 1);
}

/// Data 2.4.6.2, for statements stored before the LRS normalised contextActivities: as the
/// service starts after the upgrade, each is rewritten once into exactly the text the LRS
/// stores today, and is answered with arrays; statements without contextActivities are not
/// touched, and a second start finds nothing left to do.
async fn statements_stored_before_are_rewritten_as_the_service_starts(mut app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let id = lrs
        .store(&app, with_substatement(mixed_context()))
        .await
        .remove(0);
    let plain = lrs.store(&app, base()).await.remove(0);
    let stored = stored_text(&app, &id).await;
    let plain_text = stored_text(&app, &plain).await;

    // What an earlier version stored: single objects as sent.
    let mut old: Value = serde_json::from_str(&stored).unwrap();
    for pointer in [
        "/context/contextActivities/parent",
        "/context/contextActivities/category",
        "/object/context/contextActivities/parent",
    ] {
        let single = old.pointer(pointer).unwrap()[0].clone();
        *old.pointer_mut(pointer).unwrap() = single;
    }
    write_back(&app, &id, &old.to_string(), true).await;
    assert_eq!(
        lrs.statement(&app, &id).await.body["context"]["contextActivities"]["parent"],
        json!({"objectType": "Activity", "id": PARENT}),
        "the statement is stored as an earlier version stored it"
    );

    app.restart_with(|_| {}).await;
    assert_eq!(stored_text(&app, &id).await, stored);
    assert_eq!(stored_text(&app, &plain).await, plain_text);
    let answered = lrs.statement(&app, &id).await;
    answered.expect(200);
    assert_eq!(answered.body["context"]["contextActivities"], as_arrays());
    assert!(pending_jobs(&app).await.is_empty());
    app.restart_with(|_| {}).await;
    assert_eq!(stored_text(&app, &id).await, stored);
}

/// Communication 2.1.3 (`format`): with `ids`, an Activity is its id alone (no objectType, no
/// definition), wherever it appears: the object, contextActivities, and inside a SubStatement;
/// a Verb is its id; Agents and identified Groups keep their objectType and identifier (no
/// name, no members), an anonymous Group its objectType and its members reduced the same way.
async fn format_ids_reduces_every_object_to_what_identifies_it(app: TestApp) {
    let lrs = Lrs::new(&app, "LMS").await;
    let mut statement = with_substatement(mixed_context());
    statement["actor"] = json!({"objectType": "Group", "name": "Ward 7", "member": [
        {"name": "Ann", "mbox": "mailto:ann@example.com"},
        {"objectType": "Agent", "name": "Cy", "account": {"homePage": "http://lms.example.com", "name": "cy"}},
    ]});
    statement["context"]["instructor"] =
        json!({"objectType": "Agent", "name": "Dee", "mbox": "mailto:dee@example.com"});
    statement["context"]["team"] = json!({"objectType": "Group", "name": "Ward 7 team",
        "openid": "http://openid.example.com/ward7", "member": [{"mbox": "mailto:ann@example.com"}]});
    let about_an_agent = set(
        base(),
        "/object",
        json!({"objectType": "Agent", "name": "Bob", "mbox": "mailto:bob@example.com"}),
    );
    let ids = lrs.store(&app, json!([statement, about_an_agent])).await;

    let s = lrs
        .get(
            &app,
            &format!("/statements?statementId={}&format=ids", ids[0]),
        )
        .await;
    s.expect(200);
    let s = &s.body;
    assert_eq!(
        s["actor"],
        json!({"objectType": "Group", "member": [
            {"objectType": "Agent", "mbox": "mailto:ann@example.com"},
            {"objectType": "Agent", "account": {"homePage": "http://lms.example.com", "name": "cy"}},
        ]})
    );
    assert_eq!(
        s["verb"],
        json!({"id": "http://adlnet.gov/expapi/verbs/completed"})
    );
    assert_eq!(
        s["context"]["contextActivities"],
        json!({"parent": [{"id": PARENT}], "grouping": [{"id": GROUPING}],
               "category": [{"id": CATEGORY}], "other": [{"id": OTHER}]})
    );
    assert_eq!(
        s["context"]["instructor"],
        json!({"objectType": "Agent", "mbox": "mailto:dee@example.com"})
    );
    assert_eq!(
        s["context"]["team"],
        json!({"objectType": "Group", "openid": "http://openid.example.com/ward7"})
    );
    assert_eq!(
        s["object"],
        json!({
            "objectType": "SubStatement",
            "actor": {"objectType": "Agent", "mbox": "mailto:bob@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/attended"},
            "object": {"id": COURSE},
            "context": {"contextActivities": {"parent": [{"id": PARENT}]}},
        })
    );

    let listed = lrs.query(&app, "format=ids").await;
    let agent_object = listed.iter().find(|s| s["id"] == ids[1].as_str()).unwrap();
    assert_eq!(
        agent_object["object"],
        json!({"objectType": "Agent", "mbox": "mailto:bob@example.com"})
    );
    let listed_sub = listed.iter().find(|s| s["id"] == ids[0].as_str()).unwrap();
    assert_eq!(listed_sub["object"]["object"], json!({"id": COURSE}));
}

on_both_backends!(
    context_activities_are_answered_as_arrays,
    statements_stored_before_are_rewritten_as_the_service_starts,
    format_ids_reduces_every_object_to_what_identifies_it,
);

// ---------------------------------------------------------------------------------------------
// Helpers: the statement as stored, read and written straight in the database.

async fn stored_text(app: &TestApp, id: &str) -> String {
    use diesel::prelude::*;
    use learning_passport::db::schema::xapi_statements as s;
    let (db, id) = (app.db.clone(), statement_id(id));
    actix_web::rt::task::spawn_blocking(move || {
        s::table
            .filter(s::statement_id.eq(id))
            .select(s::statement)
            .first(&mut *db.get().unwrap())
            .unwrap()
    })
    .await
    .unwrap()
}

/// Stores `text` as the statement's text; with `pending`, as a database an earlier version
/// left behind would be: the rewrite still to do.
async fn write_back(app: &TestApp, id: &str, text: &str, pending: bool) {
    use diesel::prelude::*;
    use learning_passport::db::schema::{data_migrations as m, xapi_statements as s};
    let (db, id, text) = (app.db.clone(), statement_id(id), text.to_owned());
    actix_web::rt::task::spawn_blocking(move || {
        let mut conn = db.get().unwrap();
        diesel::update(s::table.filter(s::statement_id.eq(id)))
            .set(s::statement.eq(text))
            .execute(&mut *conn)
            .unwrap();
        if pending {
            diesel::insert_into(m::table)
                .values(m::name.eq("xapi_context_activities_as_arrays"))
                .execute(&mut *conn)
                .unwrap();
        }
    })
    .await
    .unwrap()
}

async fn pending_jobs(app: &TestApp) -> Vec<String> {
    use diesel::prelude::*;
    use learning_passport::db::schema::data_migrations as m;
    let db = app.db.clone();
    actix_web::rt::task::spawn_blocking(move || {
        m::table
            .select(m::name)
            .load(&mut *db.get().unwrap())
            .unwrap()
    })
    .await
    .unwrap()
}

fn statement_id(id: &str) -> learning_passport::db::ids::StatementId {
    learning_passport::db::ids::StatementId(id.parse().unwrap())
}
