//! The Context object and its contextActivities (Data 2.4.6).

use serde_json::Value;

use super::activity::activity;
use super::actors::{ActorKind, actor};
use super::common::{fail, index, props};
use super::formats::{is_language_tag, is_uuid};
use crate::error::FieldError;

const CONTEXT: &[&str] = &[
    "registration",
    "instructor",
    "team",
    "contextActivities",
    "revision",
    "platform",
    "language",
    "statement",
    "extensions",
];
const CONTEXT_ACTIVITY_KINDS: &[&str] = &["parent", "grouping", "category", "other"];

/// `object_is_activity` describes the Object of the statement this context belongs to, which
/// decides whether "revision" and "platform" may be used (Data 2.4.6.s4.b1, b2).
pub(super) fn context(
    value: &Value,
    path: &str,
    object_is_activity: bool,
) -> Result<(), FieldError> {
    let p = props(value, path, CONTEXT)?;
    p.string_as("registration", is_uuid, "must be a UUID")?;
    if let Some(instructor) = p.get("instructor") {
        actor(instructor, &p.path("instructor"))?;
    }
    if let Some(team) = p.get("team")
        && actor(team, &p.path("team"))? == ActorKind::Agent
    {
        return fail(&p.path("team"), "must be a Group");
    }
    if let Some(activities) = p.get("contextActivities") {
        context_activities(activities, &p.path("contextActivities"))?;
    }
    for key in ["revision", "platform"] {
        if p.string(key)?.is_some() && !object_is_activity {
            return fail(
                &p.path(key),
                "is only allowed when the statement's object is an Activity",
            );
        }
    }
    p.string_as("language", is_language_tag, "must be a language tag")?;
    if let Some(statement) = p.get("statement") {
        super::statement_ref(statement, &p.path("statement"))?;
    }
    p.extensions("extensions")
}

/// Each value is one Activity or an array of them (Data 2.4.6.2.s4.b2); the single form is
/// kept for 0.95 compatibility.
fn context_activities(value: &Value, path: &str) -> Result<(), FieldError> {
    let p = props(value, path, CONTEXT_ACTIVITY_KINDS)?;
    for kind in CONTEXT_ACTIVITY_KINDS {
        let kind_path = p.path(kind);
        match p.get(kind) {
            None => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    activity(item, &index(&kind_path, i))?;
                }
            }
            Some(single) => activity(single, &kind_path)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::common::test_support::*;

    fn with_context(context: Value) -> Value {
        set(base(), "/context", context)
    }

    fn group() -> Value {
        json!({"objectType": "Group", "member": [{"mbox": "mailto:a@example.com"}]})
    }

    fn agent_object() -> Value {
        json!({"objectType": "Agent", "mbox": "mailto:b@example.com"})
    }

    #[test]
    fn full_context_is_accepted() {
        accepts(&with_context(json!({
            "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
            "instructor": {"mbox": "mailto:teacher@example.com"},
            "team": group(),
            "contextActivities": {
                "parent": [{"id": "http://example.com/test1", "objectType": "Activity"}],
                "grouping": {"id": "http://example.com/Algebra1"},
                "category": [], "other": [{"id": "http://example.com/a"}, {"id": "http://example.com/b"}]
            },
            "revision": "1.1", "platform": "Example LMS", "language": "en-US",
            "statement": {"objectType": "StatementRef", "id": "8f87ccde-bb56-4c2e-ab83-44982ef22df0"},
            "extensions": {"http://example.com/altitude": 1200}
        })));
        accepts(&with_context(json!({})));
        accepts(&with_context(json!({"contextActivities": {}})));
    }

    #[test]
    fn registration_is_a_uuid() {
        rejects(
            &with_context(json!({"registration": "should fail"})),
            "context.registration",
            "must be a UUID",
        );
        rejects(
            &with_context(json!({"registration": {"key": "x"}})),
            "context.registration",
            "must be a string",
        );
        rejects(
            &with_context(json!({"registration": null})),
            "context.registration",
            "must not be null",
        );
    }

    #[test]
    fn instructor_is_an_agent_or_group_and_team_a_group() {
        accepts(&with_context(json!({"instructor": group()})));
        rejects(
            &with_context(json!({"instructor": "x"})),
            "context.instructor",
            "must be an object",
        );
        rejects(
            &with_context(json!({"instructor": {"key": "x"}})),
            "context.instructor.key",
            "unknown property",
        );
        rejects(
            &with_context(json!({"instructor": {"account": {"homePage": "http://example.com"}}})),
            "context.instructor.account.name",
            "is required",
        );
        rejects(
            &with_context(json!({"team": {"mbox": "mailto:a@example.com"}})),
            "context.team",
            "must be a Group",
        );
        rejects(
            &with_context(json!({"team": "x"})),
            "context.team",
            "must be an object",
        );
    }

    #[test]
    fn context_activities_keys_and_values() {
        rejects(
            &with_context(json!({"contextActivities": "x"})),
            "context.contextActivities",
            "must be an object",
        );
        rejects(
            &with_context(json!({"contextActivities": {"Parent": []}})),
            "context.contextActivities.Parent",
            "unknown property",
        );
        rejects(
            &with_context(json!({"contextActivities": {"parent": "http://example.com/a"}})),
            "context.contextActivities.parent",
            "must be an object",
        );
        let bad = json!({"other": [{"id": "http://example.com/a"}, {"id": "nope"}]});
        rejects(
            &with_context(json!({"contextActivities": bad})),
            "context.contextActivities.other[1].id",
            "must be an IRI",
        );
        let agent = json!({"category": [{"objectType": "Agent", "id": "http://example.com/a"}]});
        rejects(
            &with_context(json!({"contextActivities": agent})),
            "context.contextActivities.category[0].objectType",
            "must be \"Activity\"",
        );
    }

    #[test]
    fn revision_and_platform_are_strings_for_activities_only() {
        rejects(
            &with_context(json!({"revision": 12345})),
            "context.revision",
            "must be a string",
        );
        rejects(
            &with_context(json!({"platform": {"key": "x"}})),
            "context.platform",
            "must be a string",
        );
        let not_activity = [
            agent_object(),
            group(),
            json!({"objectType": "StatementRef", "id": "8f87ccde-bb56-4c2e-ab83-44982ef22df0"}),
            json!({"objectType": "SubStatement", "actor": agent_object(), "verb": {"id": "http://example.com/v"}, "object": {"id": "http://example.com/a"}}),
        ];
        for object in not_activity {
            let doc = set(base(), "/object", object);
            rejects(
                &set(doc.clone(), "/context", json!({"revision": "2"})),
                "context.revision",
                "only allowed",
            );
            rejects(
                &set(doc, "/context", json!({"platform": "web"})),
                "context.platform",
                "only allowed",
            );
        }
    }

    #[test]
    fn substatement_context_follows_its_own_object() {
        let sub = json!({"objectType": "SubStatement", "actor": agent_object(), "verb": {"id": "http://example.com/v"},
            "object": agent_object(), "context": {"platform": "web"}});
        rejects(
            &set(base(), "/object", sub.clone()),
            "object.context.platform",
            "only allowed",
        );
        let sub = set(sub, "/object", json!({"id": "http://example.com/a"}));
        accepts(&set(base(), "/object", sub));
    }

    #[test]
    fn language_is_a_language_tag() {
        for tag in [
            "de",
            "ine",
            "zh-Hant",
            "sr-Latn-RS",
            "i-enochian",
            "x-whatever",
        ] {
            accepts(&with_context(json!({"language": tag})));
        }
        rejects(
            &with_context(json!({"language": "de-419-DE"})),
            "context.language",
            "language tag",
        );
        rejects(
            &with_context(json!({"language": 12345})),
            "context.language",
            "must be a string",
        );
        rejects(
            &with_context(json!({"language": {"a12345": "x"}})),
            "context.language",
            "must be a string",
        );
    }

    #[test]
    fn statement_is_a_statement_ref() {
        rejects(
            &with_context(
                json!({"statement": {"objectType": "statementref", "id": "8f87ccde-bb56-4c2e-ab83-44982ef22df0"}}),
            ),
            "context.statement.objectType",
            "must be \"StatementRef\"",
        );
        rejects(
            &with_context(json!({"statement": {"id": "8f87ccde-bb56-4c2e-ab83-44982ef22df0"}})),
            "context.statement.objectType",
            "is required",
        );
        rejects(
            &with_context(
                json!({"statement": {"objectType": "StatementRef", "id": "should fail"}}),
            ),
            "context.statement.id",
            "must be a UUID",
        );
    }

    #[test]
    fn context_unknown_property_and_extensions() {
        rejects(
            &with_context(json!({"conText": {}})),
            "context.conText",
            "unknown property",
        );
        rejects(
            &with_context(json!({"extensions": {"not an iri": 1}})),
            "context.extensions.not an iri",
            "must be an IRI",
        );
    }
}
