//! xAPI 2.0's context agents and groups (`context.contextAgents`, `context.contextGroups`):
//! their rules, and the agents they make a statement findable by.

use serde_json::{Map, Value};

use crate::error::FieldError;
use crate::xapi::statements::{IndexEntry, IndexKind};
use crate::xapi::validate;

/// The properties a 2.0 Context has and a 1.0.3 one has not.
pub const CONTEXT_PROPERTIES: [&str; 2] = ["contextAgents", "contextGroups"];
const CONTEXT_AGENT: &[&str] = &["objectType", "agent", "relevantTypes"];
const CONTEXT_GROUP: &[&str] = &["objectType", "group", "relevantTypes"];

/// Checks and removes the context agents and groups of the context in `holder` (a statement
/// or a SubStatement). A context left empty is removed too, and put back with them.
pub(super) fn take_context(
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

pub(super) fn put_back(holder: &mut Map<String, Value>, taken: Map<String, Value>) {
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
pub(super) fn agents(taken: &Map<String, Value>) -> Vec<String> {
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
pub(super) fn related_agent(index: &mut Vec<IndexEntry>, ifi: String) {
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

/// A field's path: `prefix.key`, or `key` at the top.
pub(super) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}
