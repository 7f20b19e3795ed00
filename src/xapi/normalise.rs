//! The form a statement is stored and answered in, where the specification lets a client send
//! two: each value of `contextActivities` is an array (Data 2.4.6.2: "the LRS MUST return
//! every value in the contextActivities Object as an array, even if it arrived as a single
//! Activity Object"), in a statement and in its SubStatement.
//!
//! Statements are normalised as they are stored, so that every reader (the answers in every
//! format, erasure, the passport feed) sees one form. Statement equivalence already treats
//! both forms alike, so a statement sent again in the single-object form is the same statement.

use serde_json::Value;

/// Makes each `contextActivities` value of the statement and of its SubStatement an array of
/// the Activities it holds; answers whether anything changed.
pub fn context_activities(statement: &mut Value) -> bool {
    let mut changed = in_context(statement);
    if let Some(object) = statement.get_mut("object")
        && object.get("objectType").and_then(Value::as_str) == Some("SubStatement")
    {
        changed |= in_context(object);
    }
    changed
}

fn in_context(statement: &mut Value) -> bool {
    let Some(Value::Object(kinds)) = statement
        .get_mut("context")
        .and_then(|context| context.get_mut("contextActivities"))
    else {
        return false;
    };
    let mut changed = false;
    for activities in kinds.values_mut() {
        if activities.is_object() {
            *activities = Value::Array(vec![activities.take()]);
            changed = true;
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::context_activities;

    #[test]
    fn single_activities_become_arrays_of_one_in_statements_and_substatements() {
        let activity = |id: &str| json!({"id": id, "objectType": "Activity"});
        let mut statement = json!({
            "context": {"contextActivities": {
                "parent": activity("http://example.com/p"),
                "grouping": [activity("http://example.com/g")],
                "category": activity("http://example.com/c"),
                "other": activity("http://example.com/o"),
            }},
            "object": {"objectType": "SubStatement", "context": {"contextActivities": {
                "parent": activity("http://example.com/sp"),
            }}},
        });
        assert!(context_activities(&mut statement));
        assert_eq!(
            statement["context"]["contextActivities"],
            json!({
                "parent": [activity("http://example.com/p")],
                "grouping": [activity("http://example.com/g")],
                "category": [activity("http://example.com/c")],
                "other": [activity("http://example.com/o")],
            })
        );
        assert_eq!(
            statement["object"]["context"]["contextActivities"]["parent"],
            json!([activity("http://example.com/sp")])
        );
        // Already normal: nothing changes.
        let before = statement.clone();
        assert!(!context_activities(&mut statement));
        assert_eq!(statement, before);
    }

    #[test]
    fn statements_without_context_activities_are_left_alone() {
        for mut statement in [
            json!({"object": {"id": "http://example.com/a"}}),
            json!({"context": {"registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7"}}),
            json!({"object": {"objectType": "StatementRef", "id": "ec531277-b57b-4c15-8d91-d292c5b2b8f7"}}),
            json!("not a statement"),
        ] {
            let before = statement.clone();
            assert!(!context_activities(&mut statement));
            assert_eq!(statement, before);
        }
    }
}
