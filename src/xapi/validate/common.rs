//! Building blocks shared by the per-part checks: error paths, property lists, typed getters,
//! language maps and extensions.

use serde_json::{Map, Value};

use super::formats::{is_iri, is_language_tag};
use crate::error::FieldError;

/// "actor" + "mbox" -> "actor.mbox"; an empty prefix means the value is the root.
pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

pub(super) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

pub(super) fn fail<T>(path: &str, message: impl Into<String>) -> Result<T, FieldError> {
    Err(FieldError::new(path, message))
}

pub(super) fn expect_object<'a>(
    value: &'a Value,
    path: &str,
) -> Result<&'a Map<String, Value>, FieldError> {
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => fail(path, "must not be null"),
        _ => fail(path, "must be an object"),
    }
}

pub(super) fn expect_array<'a>(value: &'a Value, path: &str) -> Result<&'a [Value], FieldError> {
    match value {
        Value::Array(items) => Ok(items),
        Value::Null => fail(path, "must not be null"),
        _ => fail(path, "must be an array"),
    }
}

/// The "objectType" of an object, which decides which rules apply to the rest of it.
pub(super) fn object_type<'a>(
    map: &'a Map<String, Value>,
    path: &str,
) -> Result<Option<&'a str>, FieldError> {
    match map.get("objectType") {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Null) => fail(&join(path, "objectType"), "must not be null"),
        Some(_) => fail(&join(path, "objectType"), "must be a string"),
    }
}

/// An object whose property names have been checked against the spec's list.
///
/// Unknown properties (Data 2.2.s4.b1.b7; names are case-sensitive, 2.2.s4.b1.b5) and null
/// values (2.2.s4.b1.b1) are refused up front, so the getters below only ever see present,
/// non-null values and can report any other JSON type as the wrong type.
pub(super) struct Props<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

pub(super) fn props<'a>(
    value: &'a Value,
    path: &str,
    allowed: &[&str],
) -> Result<Props<'a>, FieldError> {
    let map = expect_object(value, path)?;
    for (key, v) in map {
        if !allowed.contains(&key.as_str()) {
            return fail(&join(path, key), "unknown property");
        }
        if v.is_null() {
            return fail(&join(path, key), "must not be null");
        }
    }
    Ok(Props {
        map,
        path: path.to_owned(),
    })
}

impl<'a> Props<'a> {
    pub(super) fn path(&self, key: &str) -> String {
        join(&self.path, key)
    }

    pub(super) fn object_type(&self) -> Result<Option<&'a str>, FieldError> {
        object_type(self.map, &self.path)
    }

    pub(super) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    pub(super) fn require(&self, key: &str) -> Result<&'a Value, FieldError> {
        match self.map.get(key) {
            Some(value) => Ok(value),
            None => fail(&self.path(key), "is required"),
        }
    }

    pub(super) fn string(&self, key: &str) -> Result<Option<&'a str>, FieldError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => fail(&self.path(key), "must be a string"),
        }
    }

    /// A string that must also follow a format, e.g. `string_as("id", is_uuid, "must be a UUID")`.
    pub(super) fn string_as(
        &self,
        key: &str,
        valid: fn(&str) -> bool,
        message: &str,
    ) -> Result<Option<&'a str>, FieldError> {
        match self.string(key)? {
            Some(s) if !valid(s) => fail(&self.path(key), message),
            other => Ok(other),
        }
    }

    /// Numbers must be JSON numbers: "100" is refused even though it holds one (2.2.s4.b1.b2).
    pub(super) fn number(&self, key: &str) -> Result<Option<f64>, FieldError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(_) => fail(&self.path(key), "must be a number"),
        }
    }

    /// Booleans must be JSON booleans: "true" is refused (2.2.s4.b1.b3).
    pub(super) fn boolean(&self, key: &str) -> Result<(), FieldError> {
        match self.map.get(key) {
            None | Some(Value::Bool(_)) => Ok(()),
            Some(_) => fail(&self.path(key), "must be a boolean"),
        }
    }

    pub(super) fn language_map(&self, key: &str) -> Result<(), FieldError> {
        match self.map.get(key) {
            Some(value) => language_map(value, &self.path(key)),
            None => Ok(()),
        }
    }

    pub(super) fn extensions(&self, key: &str) -> Result<(), FieldError> {
        match self.map.get(key) {
            Some(value) => extensions(value, &self.path(key)),
            None => Ok(()),
        }
    }
}

/// Keys are RFC 5646 language tags and values strings (Data 4.2). An empty map is accepted:
/// the spec only says empty objects SHOULD NOT be sent (2.2.s2.b1), and the conformance suite
/// dropped its "at least one entry" test for that reason (lrs-conformance-test-suite#129).
pub(super) fn language_map(value: &Value, path: &str) -> Result<(), FieldError> {
    for (tag, text) in expect_object(value, path)? {
        let entry = join(path, tag);
        if !is_language_tag(tag) {
            return fail(&entry, "must be a language tag");
        }
        match text {
            Value::String(_) => {}
            Value::Null => return fail(&entry, "must not be null"),
            _ => return fail(&entry, "must be a string"),
        }
    }
    Ok(())
}

/// Keys must be IRIs; values are never examined, and may even be null (Data 4.1.s3.b2,
/// 2.2.s4.b1.b1).
pub(super) fn extensions(value: &Value, path: &str) -> Result<(), FieldError> {
    for key in expect_object(value, path)?.keys() {
        if !is_iri(key) {
            return fail(&join(path, key), "must be an IRI");
        }
    }
    Ok(())
}

#[cfg(test)]
pub(super) mod test_support {
    use serde_json::{Value, json};

    use crate::error::FieldError;

    /// A small valid statement that tests change one property of.
    pub fn base() -> Value {
        json!({
            "id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
            "actor": {"objectType": "Agent", "name": "Ann", "mbox": "mailto:ann@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted", "display": {"en-US": "attempted"}},
            "object": {"id": "http://example.com/activities/quiz"}
        })
    }

    fn unescape(segment: &str) -> String {
        segment.replace("~1", "/").replace("~0", "~")
    }

    /// Sets the value at a JSON pointer, creating the last property or appending with "-".
    pub fn set(mut doc: Value, pointer: &str, value: Value) -> Value {
        let (parent, last) = pointer.rsplit_once('/').expect("pointer");
        match doc.pointer_mut(parent).expect("parent exists") {
            Value::Object(map) => {
                map.insert(unescape(last), value);
            }
            Value::Array(items) if last == "-" => items.push(value),
            Value::Array(items) => items[last.parse::<usize>().expect("index")] = value,
            other => panic!("cannot set {pointer} inside {other}"),
        }
        doc
    }

    pub fn remove(mut doc: Value, pointer: &str) -> Value {
        let (parent, last) = pointer.rsplit_once('/').expect("pointer");
        let map = doc.pointer_mut(parent).and_then(Value::as_object_mut);
        map.expect("parent object")
            .remove(&unescape(last))
            .expect("present");
        doc
    }

    pub fn check(doc: &Value) -> Result<(), FieldError> {
        super::super::statement(doc, "")
    }

    #[track_caller]
    pub fn accepts(doc: &Value) {
        if let Err(e) = check(doc) {
            panic!("expected {doc} to be accepted, got {e:?}");
        }
    }

    #[track_caller]
    pub fn rejects(doc: &Value, field: &str, message: &str) {
        match check(doc) {
            Ok(()) => panic!("expected {doc} to be refused at {field}"),
            Err(e) => {
                assert_eq!(e.field, field, "wrong field in {e:?}");
                assert!(e.message.contains(message), "wrong message in {e:?}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::test_support::*;

    #[test]
    fn paths_join_with_dots_and_brackets() {
        assert_eq!(super::join("", "actor"), "actor");
        assert_eq!(super::join("[3]", "actor"), "[3].actor");
        assert_eq!(
            super::index("object.definition.choices", 1),
            "object.definition.choices[1]"
        );
    }

    #[test]
    fn null_values_are_refused_everywhere_but_extension_values() {
        rejects(
            &set(base(), "/actor/name", json!(null)),
            "actor.name",
            "must not be null",
        );
        rejects(
            &set(base(), "/verb/display/en-US", json!(null)),
            "verb.display.en-US",
            "must not be null",
        );
        rejects(
            &set(base(), "/result", json!(null)),
            "result",
            "must not be null",
        );
        let ext = json!({"extensions": {"http://example.com/null": null}});
        accepts(&set(base(), "/result", ext.clone()));
        accepts(&set(base(), "/context", ext.clone()));
        accepts(&set(base(), "/object/definition", ext));
    }

    #[test]
    fn property_names_are_case_sensitive() {
        let doc = remove(base(), "/actor");
        let doc = set(doc, "/Actor", json!({"mbox": "mailto:ann@example.com"}));
        rejects(&doc, "Actor", "unknown property");
        rejects(
            &set(base(), "/verb/ID", json!("http://example.com/v")),
            "verb.ID",
            "unknown property",
        );
    }

    #[test]
    fn language_maps() {
        accepts(&set(
            base(),
            "/verb/display",
            json!({"en-US": "tried", "de": "versucht", "zh-Hant": "x"}),
        ));
        accepts(&set(base(), "/verb/display", json!({})));
        rejects(
            &set(base(), "/verb/display", json!("attempted")),
            "verb.display",
            "must be an object",
        );
        rejects(
            &set(base(), "/verb/display", json!({"de-419-DE": "x"})),
            "verb.display.de-419-DE",
            "language tag",
        );
        rejects(
            &set(base(), "/verb/display", json!({"a12345": "x"})),
            "verb.display.a12345",
            "language tag",
        );
        rejects(
            &set(base(), "/verb/display", json!({"en": 5})),
            "verb.display.en",
            "must be a string",
        );
    }

    #[test]
    fn extensions_need_iri_keys_but_any_values() {
        let ext = json!({"http://example.com/ext": {"nested": [1, null, "x"]}, "urn:x:y": 3});
        accepts(&set(base(), "/result", json!({"extensions": ext})));
        rejects(
            &set(base(), "/result", json!({"extensions": {"id": "x"}})),
            "result.extensions.id",
            "must be an IRI",
        );
        rejects(
            &set(base(), "/result", json!({"extensions": "x"})),
            "result.extensions",
            "must be an object",
        );
    }
}
