//! The xAPI 2.0 statement data model, as the difference from 1.0.3's.
//!
//! A statement received under 2.0 has its 2.0-only parts checked and set aside (the context
//! agents and groups, a 2.0.x `version`), its RFC 3339 timestamps written with a `T`; the rest
//! must then pass the 1.0.3 rules, which 2.0 keeps; and the parts set aside are put back into
//! the statement as stored, and indexed for `related_agents`.

use serde_json::{Map, Value};

use super::context::{agents, join, put_back, related_agent, take_context};
use crate::error::FieldError;
use crate::xapi::statements::{self, Prepared};
use crate::xapi::version::XapiVersion;

/// Checks a received statement by the rules of `version` and completes it (see
/// [`statements::prepare`]). `field` prefixes error paths (`[3]` in a batch).
pub fn prepare(
    received: Value,
    field: &str,
    authority: &Value,
    version: XapiVersion,
) -> Result<Prepared, FieldError> {
    match version {
        XapiVersion::V1_0 => statements::prepare(received, field, authority),
        XapiVersion::V2_0 => {
            let mut received = received;
            let taken = Taken::from(&mut received, field)?;
            let mut prepared = statements::prepare(received, field, authority)?;
            taken.restore(&mut prepared);
            Ok(prepared)
        }
    }
}

/// What 2.0 adds to a statement, set aside while the 1.0.3 rules check the rest.
#[derive(Default)]
struct Taken {
    /// Whether the client gave a `version` at all.
    version_sent: bool,
    /// A 2.0.x `version`, which the 1.0.3 rules would refuse.
    version: Option<Value>,
    /// The 2.0-only properties of the statement's context.
    context: Map<String, Value>,
    /// The 2.0-only properties of its SubStatement's context.
    substatement_context: Map<String, Value>,
}

impl Taken {
    fn from(statement: &mut Value, field: &str) -> Result<Taken, FieldError> {
        // Anything but an object is for the 1.0.3 rules to refuse.
        let Value::Object(map) = statement else {
            return Ok(Taken::default());
        };
        let version_sent = map.contains_key("version");
        let version = match map.get("version") {
            Some(Value::String(v)) => match XapiVersion::parse(v) {
                Some(XapiVersion::V2_0) => map.remove("version"),
                Some(XapiVersion::V1_0) => None,
                None => {
                    return Err(FieldError::new(
                        join(field, "version"),
                        "must be \"1.0\", \"1.0.x\", \"2.0\" or \"2.0.x\"",
                    ));
                }
            },
            _ => None,
        };
        for key in ["timestamp", "stored"] {
            rfc3339_with_t(map, key);
        }
        let context = take_context(map, &join(field, "context"))?;
        let substatement_context = match map.get_mut("object") {
            Some(Value::Object(object))
                if object.get("objectType").and_then(Value::as_str) == Some("SubStatement") =>
            {
                rfc3339_with_t(object, "timestamp");
                take_context(object, &join(&join(field, "object"), "context"))?
            }
            _ => Map::new(),
        };
        Ok(Taken {
            version_sent,
            version,
            context,
            substatement_context,
        })
    }

    fn restore(self, prepared: &mut Prepared) {
        let Value::Object(statement) = &mut prepared.statement else {
            return;
        };
        match self.version {
            Some(version) => {
                statement.insert("version".into(), version);
            }
            None if !self.version_sent => {
                let default = XapiVersion::V2_0.statement_default();
                statement.insert("version".into(), Value::String(default.into()));
            }
            None => {}
        }
        for taken in [&self.context, &self.substatement_context] {
            for ifi in agents(taken) {
                related_agent(&mut prepared.index, ifi);
            }
        }
        put_back(statement, self.context);
        if let Some(Value::Object(object)) = statement.get_mut("object") {
            put_back(object, self.substatement_context);
        }
    }
}

/// RFC 3339 (which 2.0 names for timestamps) lets a space stand between date and time; the
/// LRS stores the ISO 8601 `T`, which every 1.0.x client reads too (the serialisation of a
/// timestamp is not part of a statement, Data 2.3.1.b4).
fn rfc3339_with_t(holder: &mut Map<String, Value>, key: &str) {
    if let Some(Value::String(text)) = holder.get_mut(key) {
        let date = text.get(..10).unwrap_or_default();
        let is_date = date.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
        if date.len() == 10 && is_date && text.as_bytes().get(10) == Some(&b' ') {
            text.replace_range(10..11, "T");
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::xapi::statements::IndexKind;

    fn statement() -> Value {
        json!({
            "actor": {"mbox": "mailto:ann@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/attended"},
            "object": {"id": "http://example.com/meetings/1"},
            "context": {
                "contextAgents": [{
                    "objectType": "contextAgent",
                    "agent": {"mbox": "mailto:bob@example.com"},
                    "relevantTypes": ["https://example.com/types/coach"]
                }],
                "contextGroups": [{
                    "objectType": "contextGroup",
                    "group": {"objectType": "Group", "mbox": "mailto:team@example.com"}
                }]
            }
        })
    }

    fn authority() -> Value {
        statements::authority("https://passport.example", "lpc_1")
    }

    fn refused(value: Value, version: XapiVersion) -> FieldError {
        prepare(value, "", &authority(), version).expect_err("refused")
    }

    #[test]
    fn context_agents_and_groups_are_kept_indexed_and_versioned() {
        let prepared = prepare(statement(), "", &authority(), XapiVersion::V2_0).unwrap();
        assert_eq!(
            prepared.statement["context"],
            statement()["context"],
            "stored as sent"
        );
        assert_eq!(prepared.statement["version"], "2.0.0");
        for ifi in [
            "mbox:mailto:bob@example.com",
            "mbox:mailto:team@example.com",
        ] {
            assert!(
                prepared
                    .index
                    .iter()
                    .any(|e| e.value == ifi && e.related && e.kind == IndexKind::Agent),
                "{ifi} not indexed"
            );
        }
    }

    #[test]
    fn a_1_0_request_knows_no_context_agents() {
        let error = refused(statement(), XapiVersion::V1_0);
        assert_eq!(error.field, "context.contextAgents");
        let prepared = prepare(
            json!({"actor": statement()["actor"], "verb": statement()["verb"],
                "object": statement()["object"]}),
            "",
            &authority(),
            XapiVersion::V1_0,
        )
        .unwrap();
        assert_eq!(prepared.statement["version"], "1.0.0");
    }

    #[test]
    fn versions_a_2_0_client_may_send() {
        for (sent, kept) in [("2.0.0", "2.0.0"), ("2.0", "2.0"), ("1.0.3", "1.0.3")] {
            let mut value = statement();
            value["version"] = json!(sent);
            let prepared = prepare(value, "", &authority(), XapiVersion::V2_0).unwrap();
            assert_eq!(prepared.statement["version"], kept);
        }
        for bad in ["2.1.0", "1.1.0", "3.0.0", "2.0.x"] {
            let mut value = statement();
            value["version"] = json!(bad);
            assert_eq!(refused(value, XapiVersion::V2_0).field, "version");
        }
    }

    #[test]
    fn malformed_context_agents_and_groups_are_refused() {
        let cases = [
            ("/context/contextAgents", json!({}), "context.contextAgents"),
            (
                "/context/contextAgents/0/objectType",
                json!("Agent"),
                "context.contextAgents[0].objectType",
            ),
            (
                "/context/contextAgents/0/agent",
                json!({"name": "no identifier"}),
                "context.contextAgents[0].agent",
            ),
            (
                "/context/contextAgents/0/agent",
                json!({"objectType": "Group", "mbox": "mailto:team@example.com"}),
                "context.contextAgents[0].agent.objectType",
            ),
            (
                "/context/contextAgents/0/relevantTypes",
                json!([]),
                "context.contextAgents[0].relevantTypes",
            ),
            (
                "/context/contextAgents/0/relevantTypes",
                json!(["abc"]),
                "context.contextAgents[0].relevantTypes[0]",
            ),
            (
                "/context/contextAgents/0/colour",
                json!("red"),
                "context.contextAgents[0].colour",
            ),
            (
                "/context/contextGroups/0/objectType",
                json!("contextAgent"),
                "context.contextGroups[0].objectType",
            ),
            (
                "/context/contextGroups/0/group",
                json!({"mbox": "mailto:team@example.com"}),
                "context.contextGroups[0].group.objectType",
            ),
        ];
        for (pointer, replacement, field) in cases {
            let value = set(statement(), pointer, replacement);
            assert_eq!(refused(value, XapiVersion::V2_0).field, field, "{pointer}");
        }
    }

    /// `value` with the property at `pointer` set (added when missing).
    fn set(mut value: Value, pointer: &str, replacement: Value) -> Value {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let parent = value.pointer_mut(parent).unwrap();
        match parent {
            Value::Array(items) => items[key.parse::<usize>().unwrap()] = replacement,
            other => other[key] = replacement,
        }
        value
    }

    #[test]
    fn rfc_3339_timestamps_are_stored_with_a_t() {
        let mut value = statement();
        value["timestamp"] = json!("2008-09-15 15:53:00.601+00:00");
        let prepared = prepare(value.clone(), "", &authority(), XapiVersion::V2_0).unwrap();
        assert_eq!(
            prepared.statement["timestamp"],
            "2008-09-15T15:53:00.601+00:00"
        );
        value["timestamp"] = json!("2008-09-15 15:53:00.601-00:00");
        assert_eq!(refused(value, XapiVersion::V2_0).field, "timestamp");
    }
}
