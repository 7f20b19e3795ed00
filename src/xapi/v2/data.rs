//! The xAPI 2.0 statement data model, as the difference from 1.0.3's.
//!
//! A statement received under 2.0 has its 2.0-only parts checked and set aside (the context
//! agents and groups, a 2.0.x `version`), its RFC 3339 timestamps written with a `T`; the rest
//! must then pass the 1.0.3 rules, which 2.0 keeps; and the parts set aside are put back into
//! the statement as stored, and indexed for `related_agents`.

use serde_json::{Map, Value};

use crate::error::FieldError;
use crate::xapi::statements::{self, IndexEntry, IndexKind, Prepared};
use crate::xapi::validate;
use crate::xapi::version::XapiVersion;

/// The properties a 2.0 Context has and a 1.0.3 one has not.
pub const CONTEXT_PROPERTIES: [&str; 2] = ["contextAgents", "contextGroups"];
const CONTEXT_AGENT: &[&str] = &["objectType", "agent", "relevantTypes"];
const CONTEXT_GROUP: &[&str] = &["objectType", "group", "relevantTypes"];

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

/// Checks and removes the context agents and groups of the context in `holder` (a statement
/// or a SubStatement). A context left empty is removed too, and put back with them.
fn take_context(
    holder: &mut Map<String, Value>,
    path: &str,
) -> Result<Map<String, Value>, FieldError> {
    let Some(Value::Object(context)) = holder.get_mut("context") else {
        return Ok(Map::new());
    };
    let mut taken = Map::new();
    for key in CONTEXT_PROPERTIES {
        let Some(value) = context.remove(key) else {
            continue;
        };
        let list_path = join(path, key);
        let items = match &value {
            Value::Array(items) => items,
            Value::Null => return Err(FieldError::new(list_path, "must not be null")),
            _ => return Err(FieldError::new(list_path, "must be an array")),
        };
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{list_path}[{i}]");
            if key == "contextAgents" {
                context_agent(item, &item_path)?;
            } else {
                context_group(item, &item_path)?;
            }
        }
        taken.insert(key.to_owned(), value);
    }
    if context.is_empty() && !taken.is_empty() {
        holder.remove("context");
    }
    Ok(taken)
}

fn put_back(holder: &mut Map<String, Value>, taken: Map<String, Value>) {
    if taken.is_empty() {
        return;
    }
    let context = holder
        .entry("context")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(context) = context {
        context.extend(taken);
    }
}

/// A Context Agent: `objectType` "contextAgent", an `agent` (an Agent, never a Group) and
/// optionally `relevantTypes`.
fn context_agent(value: &Value, path: &str) -> Result<(), FieldError> {
    let map = properties(value, path, CONTEXT_AGENT)?;
    object_type(map, path, "contextAgent")?;
    let agent = map
        .get("agent")
        .ok_or_else(|| FieldError::new(join(path, "agent"), "is required"))?;
    validate::agent(agent, &join(path, "agent"))?;
    relevant_types(map, path)
}

/// A Context Group: `objectType` "contextGroup", a `group` (a Group, identified or anonymous)
/// and optionally `relevantTypes`.
fn context_group(value: &Value, path: &str) -> Result<(), FieldError> {
    let map = properties(value, path, CONTEXT_GROUP)?;
    object_type(map, path, "contextGroup")?;
    let group_path = join(path, "group");
    let group = map
        .get("group")
        .ok_or_else(|| FieldError::new(&group_path, "is required"))?;
    if group.get("objectType").and_then(Value::as_str) != Some("Group") {
        return Err(FieldError::new(
            join(&group_path, "objectType"),
            "must be \"Group\": a context group's group is a Group",
        ));
    }
    validate::actor(group, &group_path)
}

/// An object with only the properties listed, none of them null.
fn properties<'a>(
    value: &'a Value,
    path: &str,
    allowed: &[&str],
) -> Result<&'a Map<String, Value>, FieldError> {
    let map = match value {
        Value::Object(map) => map,
        Value::Null => return Err(FieldError::new(path, "must not be null")),
        _ => return Err(FieldError::new(path, "must be an object")),
    };
    for (key, item) in map {
        if !allowed.contains(&key.as_str()) {
            return Err(FieldError::new(join(path, key), "unknown property"));
        }
        if item.is_null() {
            return Err(FieldError::new(join(path, key), "must not be null"));
        }
    }
    Ok(map)
}

fn object_type(map: &Map<String, Value>, path: &str, expected: &str) -> Result<(), FieldError> {
    match map.get("objectType") {
        None => Err(FieldError::new(join(path, "objectType"), "is required")),
        Some(Value::String(found)) if found == expected => Ok(()),
        Some(_) => Err(FieldError::new(
            join(path, "objectType"),
            format!("must be \"{expected}\""),
        )),
    }
}

/// `relevantTypes`, when given, is one IRI or more.
fn relevant_types(map: &Map<String, Value>, path: &str) -> Result<(), FieldError> {
    let Some(value) = map.get("relevantTypes") else {
        return Ok(());
    };
    let list_path = join(path, "relevantTypes");
    let items = value
        .as_array()
        .ok_or_else(|| FieldError::new(&list_path, "must be an array of IRIs"))?;
    if items.is_empty() {
        return Err(FieldError::new(
            list_path,
            "must hold one IRI or more (leave it out for a generic relation)",
        ));
    }
    for (i, item) in items.iter().enumerate() {
        if !item.as_str().is_some_and(validate::is_iri) {
            return Err(FieldError::new(
                format!("{list_path}[{i}]"),
                "must be an IRI",
            ));
        }
    }
    Ok(())
}

/// The identifiers of the agents and groups (and their members) of taken context properties.
fn agents(taken: &Map<String, Value>) -> Vec<String> {
    let listed = |key: &str| {
        taken
            .get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let mut found = Vec::new();
    for item in listed("contextAgents") {
        found.extend(item.get("agent").and_then(validate::ifi));
    }
    for item in listed("contextGroups") {
        if let Some(group) = item.get("group") {
            found.extend(validate::ifi(group));
            let members = group.get("member").and_then(Value::as_array);
            found.extend(members.into_iter().flatten().filter_map(validate::ifi));
        }
    }
    found
}

/// Context agents and groups are found by `related_agents` (as instructor and team are).
fn related_agent(index: &mut Vec<IndexEntry>, ifi: String) {
    let known = index
        .iter()
        .any(|e| e.kind == IndexKind::Agent && e.value == ifi);
    if !known {
        index.push(IndexEntry {
            kind: IndexKind::Agent,
            value: ifi,
            related: true,
        });
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

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
