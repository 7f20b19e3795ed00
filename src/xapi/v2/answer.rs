//! Statements as a client of each version gets them.
//!
//! Statements are stored once, as accepted, whichever version their client spoke. A 2.0
//! client reads 1.0.x statements as they are (2.0 keeps the 1.0.3 data model but adds to
//! it). A 1.0.x client reads 2.0 statements without the context agents and groups, which its
//! data model has not (a 1.0.3 client that checks or forwards what it reads would refuse
//! them), and with everything else as stored, `version` included: a statement keeps the
//! version it was accepted with (Data 2.4.10).

use serde_json::{Map, Value};

use super::context::CONTEXT_PROPERTIES;
use crate::xapi::format;
use crate::xapi::query::Format;
use crate::xapi::version::XapiVersion;

/// Whether a stored statement's text must be changed for a client of `version` even in the
/// exact format. Cheap: most statements are sent on as stored, unparsed.
pub fn needs_changing(text: &str, version: XapiVersion) -> bool {
    version == XapiVersion::V1_0
        && CONTEXT_PROPERTIES
            .iter()
            .any(|key| text.contains(&format!("\"{key}\"")))
}

/// Applies the version's view to a statement already in the format asked for.
pub fn for_version(statement: &mut Value, format: Format, version: XapiVersion) {
    let Value::Object(map) = statement else {
        return;
    };
    match version {
        XapiVersion::V1_0 => each_context(map, without_2_0_properties),
        XapiVersion::V2_0 if format == Format::Ids => each_context(map, context_ids),
        XapiVersion::V2_0 => {}
    }
}

/// Calls `change` on the context of the statement and of its SubStatement, if any.
fn each_context(statement: &mut Map<String, Value>, change: fn(&mut Map<String, Value>)) {
    change(statement);
    if let Some(Value::Object(object)) = statement.get_mut("object")
        && object.get("objectType").and_then(Value::as_str) == Some("SubStatement")
    {
        change(object);
    }
}

/// Removes the context agents and groups of the context in `holder`, and the context itself
/// when nothing else was in it (1.0.3 wants no empty objects).
fn without_2_0_properties(holder: &mut Map<String, Value>) {
    let Some(Value::Object(context)) = holder.get_mut("context") else {
        return;
    };
    let before = context.len();
    context.retain(|key, _| !CONTEXT_PROPERTIES.contains(&key.as_str()));
    if context.is_empty() && before > 0 {
        holder.remove("context");
    }
}

/// `format=ids`: a context agent's agent and a context group's group reduced to what
/// identifies them, as every other Agent and Group is.
fn context_ids(holder: &mut Map<String, Value>) {
    let Some(Value::Object(context)) = holder.get_mut("context") else {
        return;
    };
    for (list, key) in [("contextAgents", "agent"), ("contextGroups", "group")] {
        if let Some(Value::Array(items)) = context.get_mut(list) {
            for item in items {
                if let Some(actor) = item.get_mut(key) {
                    *actor = format::actor_ids(actor);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn stored() -> Value {
        json!({
            "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee",
            "actor": {"mbox": "mailto:ann@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/attended"},
            "object": {
                "objectType": "SubStatement",
                "actor": {"mbox": "mailto:ann@example.com"},
                "verb": {"id": "http://adlnet.gov/expapi/verbs/attended"},
                "object": {"id": "http://example.com/meetings/1"},
                "context": {"contextAgents": [{"objectType": "contextAgent",
                    "agent": {"name": "Bob", "mbox": "mailto:bob@example.com"}}]}
            },
            "context": {
                "platform": "web",
                "contextGroups": [{"objectType": "contextGroup",
                    "group": {"objectType": "Group", "name": "Team", "mbox": "mailto:t@example.com"}}]
            },
            "version": "2.0.0"
        })
    }

    #[test]
    fn a_1_0_client_reads_2_0_statements_without_the_2_0_properties() {
        let text = stored().to_string();
        assert!(needs_changing(&text, XapiVersion::V1_0));
        assert!(!needs_changing(&text, XapiVersion::V2_0));
        let mut statement = stored();
        for_version(&mut statement, Format::Exact, XapiVersion::V1_0);
        assert_eq!(statement["context"], json!({"platform": "web"}));
        assert!(statement["object"].get("context").is_none());
        assert_eq!(statement["version"], "2.0.0");
    }

    #[test]
    fn ids_reduce_context_agents_and_groups() {
        let mut statement = stored();
        for_version(&mut statement, Format::Ids, XapiVersion::V2_0);
        assert_eq!(
            statement["context"]["contextGroups"][0]["group"],
            json!({"objectType": "Group", "mbox": "mailto:t@example.com"})
        );
        assert_eq!(
            statement["object"]["context"]["contextAgents"][0]["agent"],
            json!({"objectType": "Agent", "mbox": "mailto:bob@example.com"})
        );
        let mut exact = stored();
        for_version(&mut exact, Format::Exact, XapiVersion::V2_0);
        assert_eq!(exact, stored());
    }
}
