//! insta snapshots of response bodies, with ids and times redacted.

use serde_json::Value;

/// insta redactions for the ids and times of a resource.
pub fn redact(value: &Value) -> Value {
    fn walk(key: Option<&str>, value: &Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), walk(Some(k), v)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|v| walk(key, v)).collect()),
            Value::String(_)
                if key.is_some_and(|k| {
                    k == "id" || k.ends_with("_id") || k.ends_with("_ids") || k == "instance"
                }) =>
            {
                Value::String("[id]".into())
            }
            Value::String(_)
                if key.is_some_and(|k| {
                    k.ends_with("_at") || k == "timestamp" || k == "next_cursor"
                }) =>
            {
                Value::String("[redacted]".into())
            }
            other => other.clone(),
        }
    }
    walk(None, value)
}

/// Compares a response body with its snapshot, the same file for both backends.
#[macro_export]
macro_rules! snapshot {
    ($name:expr, $value:expr) => {{
        let mut settings = insta::Settings::clone_current();
        settings.set_prepend_module_to_snapshot(false);
        settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots"));
        settings.bind(|| insta::assert_json_snapshot!($name, $crate::support::redact(&$value)));
    }};
}
