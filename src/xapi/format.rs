//! The `format` parameter of GET statements (Communication 2.1.3): `ids` and `canonical`.
//! (`exact` is the stored statement itself.)
//!
//! Both transforms expect a statement that has already passed validation; anything they do
//! not recognise is passed through unchanged rather than refused.

use serde_json::{Map, Value, json};

const IFIS: [&str; 4] = ["mbox", "mbox_sha1sum", "openid", "account"];
const COMPONENT_LISTS: [&str; 5] = ["choices", "scale", "source", "target", "steps"];

/// `format=ids`: only what identifies each Agent, Activity, Verb and Group (Communication 2.1.3,
/// `format`): an Activity is its id alone, a Verb its id; an Agent or identified Group is its
/// IFI with its objectType, and an anonymous Group its objectType and its members reduced the
/// same way. Applies inside object, context (instructor, team, contextActivities), authority and
/// SubStatements.
///
/// An Activity's objectType adds nothing to its id: an object without one is an Activity. An
/// Agent's and a Group's are kept: one IFI can name an Agent or a Group, which are not the
/// same, a Group (and an Agent as a statement's object) must say which it is (Data 2.4.2.2,
/// 2.4.4.2), and LRSs in use answer it.
pub fn ids(statement: &Value) -> Value {
    match statement {
        Value::Object(map) => Value::Object(ids_in_statement(map)),
        other => other.clone(),
    }
}

/// `format=canonical`: every language map reduced to the one entry best matching `languages`
/// (the Accept-Language preferences, best first, e.g. ["en-GB", "en", "*"]); when nothing matches,
/// keep the first entry of the map.
///
/// "Every language map" means those of Activities (name, description, interaction component
/// descriptions) and Verbs (display), wherever they appear: Communication 2.1.3 limits the
/// canonical format to Activity Objects and Verbs, and everything else must be returned exactly
/// as stored (Data 2.2.s2.b5), so Attachment maps and extension values are left alone.
pub fn canonical(statement: &Value, languages: &[String]) -> Value {
    let mut out = statement.clone();
    if let Value::Object(map) = &mut out {
        canonical_in_statement(map, languages);
    }
    out
}

fn ids_in_statement(statement: &Map<String, Value>) -> Map<String, Value> {
    let mut out = statement.clone();
    for (key, value) in out.iter_mut() {
        *value = match key.as_str() {
            "actor" | "authority" => actor_ids(value),
            "verb" => verb_ids(value),
            "object" => object_ids(value),
            "context" => context_ids(value),
            _ => continue,
        };
    }
    out
}

fn object_ids(object: &Value) -> Value {
    match object.get("objectType").and_then(Value::as_str) {
        Some("Agent" | "Group") => actor_ids(object),
        Some("SubStatement") => ids(object),
        Some("StatementRef") => object.clone(),
        _ => activity_ids(object),
    }
}

fn activity_ids(activity: &Value) -> Value {
    match activity.get("id") {
        Some(id) => json!({"id": id}),
        None => activity.clone(),
    }
}

fn verb_ids(verb: &Value) -> Value {
    match verb.get("id") {
        Some(id) => json!({"id": id}),
        None => verb.clone(),
    }
}

pub(crate) fn actor_ids(actor: &Value) -> Value {
    let Some(map) = actor.as_object() else {
        return actor.clone();
    };
    let object_type = map
        .get("objectType")
        .cloned()
        .unwrap_or_else(|| json!("Agent"));
    let mut out = Map::new();
    out.insert("objectType".to_owned(), object_type);
    if let Some(key) = IFIS.iter().find(|key| map.contains_key(**key)) {
        out.insert((*key).to_owned(), map[*key].clone());
    } else if let Some(Value::Array(members)) = map.get("member") {
        // An anonymous Group is identified only by its members.
        out.insert("member".to_owned(), members.iter().map(actor_ids).collect());
    } else {
        return actor.clone();
    }
    Value::Object(out)
}

fn context_ids(context: &Value) -> Value {
    let mut out = context.clone();
    let Some(map) = out.as_object_mut() else {
        return out;
    };
    for key in ["instructor", "team"] {
        if let Some(actor) = map.get_mut(key) {
            *actor = actor_ids(actor);
        }
    }
    if let Some(Value::Object(kinds)) = map.get_mut("contextActivities") {
        for activities in kinds.values_mut() {
            *activities = match &*activities {
                Value::Array(items) => items.iter().map(activity_ids).collect(),
                single => activity_ids(single),
            };
        }
    }
    out
}

fn canonical_in_statement(statement: &mut Map<String, Value>, languages: &[String]) {
    if let Some(display) = statement.get_mut("verb").and_then(|v| v.get_mut("display")) {
        reduce(display, languages);
    }
    if let Some(object) = statement.get_mut("object") {
        match object.get("objectType").and_then(Value::as_str) {
            None | Some("Activity") => canonical_activity(object, languages),
            Some("SubStatement") => {
                if let Value::Object(sub) = object {
                    canonical_in_statement(sub, languages);
                }
            }
            _ => {}
        }
    }
    let context_activities = statement
        .get_mut("context")
        .and_then(|c| c.get_mut("contextActivities"))
        .and_then(Value::as_object_mut);
    for activities in context_activities
        .into_iter()
        .flat_map(|kinds| kinds.values_mut())
    {
        match activities {
            Value::Array(items) => items
                .iter_mut()
                .for_each(|item| canonical_activity(item, languages)),
            single => canonical_activity(single, languages),
        }
    }
}

fn canonical_activity(activity: &mut Value, languages: &[String]) {
    let Some(Value::Object(definition)) = activity.get_mut("definition") else {
        return;
    };
    for key in ["name", "description"] {
        if let Some(map) = definition.get_mut(key) {
            reduce(map, languages);
        }
    }
    for list in COMPONENT_LISTS {
        if let Some(Value::Array(components)) = definition.get_mut(list) {
            for component in components {
                if let Some(description) = component.get_mut("description") {
                    reduce(description, languages);
                }
            }
        }
    }
}

/// Keeps the single entry of a language map chosen by `best_tag`.
fn reduce(language_map: &mut Value, languages: &[String]) {
    let Value::Object(map) = language_map else {
        return;
    };
    if let Some(tag) = best_tag(map, languages) {
        let kept = map.remove(&tag);
        map.clear();
        if let Some(text) = kept {
            map.insert(tag, text);
        }
    }
}

/// RFC 2616 section 14.4 matching, applied to one map (Communication 2.1.3.s4.b5): a range
/// matches a tag equal to it or starting with it followed by "-", case-insensitively, and "*"
/// matches anything. Ranges are tried best first; within one range an exact match wins over a
/// prefix match. With no match the first entry in the map's iteration order is kept.
fn best_tag(map: &Map<String, Value>, languages: &[String]) -> Option<String> {
    let first = map.keys().next()?;
    for range in languages.iter().map(|r| r.trim()) {
        if range == "*" {
            return Some(first.clone());
        }
        if let Some(tag) = map.keys().find(|tag| tag.eq_ignore_ascii_case(range)) {
            return Some(tag.clone());
        }
        let extends_range = |tag: &&String| {
            tag.get(..range.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(range))
                && tag.as_bytes().get(range.len()) == Some(&b'-')
        };
        if let Some(tag) = map.keys().find(extends_range) {
            return Some(tag.clone());
        }
    }
    Some(first.clone())
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::{canonical, ids};

    fn statement() -> Value {
        json!({
            "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee",
            "actor": {"name": "Ann", "mbox": "mailto:ann@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/attended", "display": {"en-GB": "attended", "en-US": "attended"}},
            "object": {"id": "http://example.com/meeting", "definition": {
                "name": {"de": "Treffen", "en-GB": "meeting", "en-US": "meeting (US)"},
                "description": {"en-US": "An example meeting."},
                "interactionType": "choice",
                "choices": [{"id": "a", "description": {"de": "ja", "en": "yes"}}]}},
            "result": {"success": true, "extensions": {"http://example.com/e": {"en": "x", "fr": "y"}}},
            "context": {
                "instructor": {"objectType": "Agent", "name": "Teacher", "account": {"homePage": "http://example.com", "name": "t1"}},
                "team": {"objectType": "Group", "name": "Team", "member": [{"name": "Bo", "openid": "http://openid.example.org/bo"}]},
                "contextActivities": {
                    "parent": [{"id": "http://example.com/series", "objectType": "Activity", "definition": {"name": {"en": "Series", "fr": "Série"}}}],
                    "grouping": {"id": "http://example.com/program", "definition": {"name": {"en": "Program"}}}
                },
                "platform": "web"
            },
            "timestamp": "2013-05-18T05:32:34.804Z",
            "authority": {"objectType": "Group", "member": [
                {"account": {"homePage": "http://example.com/xAPI/OAuth/Token", "name": "oauth_consumer_x75db"}},
                {"name": "Bob", "mbox": "mailto:bob@example.com"}]},
            "attachments": [{"usageType": "http://example.com/u", "display": {"de": "Anhang", "en": "attachment"},
                "contentType": "text/plain", "length": 1, "sha2": "00"}]
        })
    }

    fn languages(ranges: &[&str]) -> Vec<String> {
        ranges.iter().map(|r| (*r).to_owned()).collect()
    }

    #[test]
    fn ids_reduces_agents_activities_and_verbs() {
        let out = ids(&statement());
        assert_eq!(
            out["actor"],
            json!({"objectType": "Agent", "mbox": "mailto:ann@example.com"})
        );
        assert_eq!(
            out["verb"],
            json!({"id": "http://adlnet.gov/expapi/verbs/attended"})
        );
        assert_eq!(out["object"], json!({"id": "http://example.com/meeting"}));
        assert_eq!(
            out["context"]["instructor"],
            json!({"objectType": "Agent", "account": {"homePage": "http://example.com", "name": "t1"}})
        );
        assert_eq!(
            out["context"]["team"],
            json!({"objectType": "Group", "member": [{"objectType": "Agent", "openid": "http://openid.example.org/bo"}]})
        );
        assert_eq!(
            out["context"]["contextActivities"]["parent"],
            json!([{"id": "http://example.com/series"}])
        );
        assert_eq!(
            out["context"]["contextActivities"]["grouping"],
            json!({"id": "http://example.com/program"})
        );
        assert_eq!(
            out["authority"]["member"][1],
            json!({"objectType": "Agent", "mbox": "mailto:bob@example.com"})
        );
    }

    #[test]
    fn ids_leaves_everything_else_alone() {
        let (before, out) = (statement(), ids(&statement()));
        for key in ["id", "result", "timestamp", "attachments"] {
            assert_eq!(out[key], before[key], "{key}");
        }
        assert_eq!(out["context"]["platform"], json!("web"));
        assert_eq!(ids(&json!("not a statement")), json!("not a statement"));
    }

    #[test]
    fn ids_identified_group_drops_members() {
        let group = json!({"objectType": "Group", "name": "T", "mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9", "member": [{"mbox": "mailto:a@example.com"}]});
        let mut doc = statement();
        doc["object"] = group;
        assert_eq!(
            ids(&doc)["object"],
            json!({"objectType": "Group", "mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"})
        );
    }

    #[test]
    fn ids_applies_inside_substatements_and_keeps_statement_refs() {
        let mut doc = statement();
        let reference =
            json!({"objectType": "StatementRef", "id": "8f87ccde-bb56-4c2e-ab83-44982ef22df0"});
        doc["object"] = json!({"objectType": "SubStatement", "actor": {"name": "Sub", "mbox": "mailto:s@example.com"},
            "verb": {"id": "http://example.com/v", "display": {"en": "v"}},
            "object": {"id": "http://example.com/a", "definition": {"name": {"en": "A"}}},
            "context": {"statement": reference.clone(), "team": {"objectType": "Group", "name": "x", "openid": "http://openid.example.org/t"}}});
        let sub = &ids(&doc)["object"];
        assert_eq!(sub["objectType"], json!("SubStatement"));
        assert_eq!(
            sub["actor"],
            json!({"objectType": "Agent", "mbox": "mailto:s@example.com"})
        );
        assert_eq!(sub["verb"], json!({"id": "http://example.com/v"}));
        assert_eq!(sub["object"], json!({"id": "http://example.com/a"}));
        assert_eq!(sub["context"]["statement"], reference);
        assert_eq!(
            sub["context"]["team"],
            json!({"objectType": "Group", "openid": "http://openid.example.org/t"})
        );
        doc["object"] = reference.clone();
        assert_eq!(ids(&doc)["object"], reference);
    }

    #[test]
    fn canonical_picks_the_best_language_per_map() {
        let out = canonical(&statement(), &languages(&["en-GB", "en", "*"]));
        assert_eq!(out["verb"]["display"], json!({"en-GB": "attended"}));
        assert_eq!(
            out["object"]["definition"]["name"],
            json!({"en-GB": "meeting"})
        );
        // No en-GB entry, so the "en" range matches "en-US".
        assert_eq!(
            out["object"]["definition"]["description"],
            json!({"en-US": "An example meeting."})
        );
        assert_eq!(
            out["object"]["definition"]["choices"][0]["description"],
            json!({"en": "yes"})
        );
        assert_eq!(
            out["context"]["contextActivities"]["parent"][0]["definition"]["name"],
            json!({"en": "Series"})
        );
        assert_eq!(
            out["context"]["contextActivities"]["grouping"]["definition"]["name"],
            json!({"en": "Program"})
        );
    }

    #[test]
    fn canonical_follows_preference_order_and_ignores_case() {
        let out = canonical(&statement(), &languages(&["DE", "en"]));
        assert_eq!(
            out["object"]["definition"]["name"],
            json!({"de": "Treffen"})
        );
        assert_eq!(
            out["context"]["contextActivities"]["parent"][0]["definition"]["name"],
            json!({"en": "Series"})
        );
        let out = canonical(&statement(), &languages(&["fr", "en-us"]));
        assert_eq!(
            out["object"]["definition"]["name"],
            json!({"en-US": "meeting (US)"})
        );
        assert_eq!(
            out["context"]["contextActivities"]["parent"][0]["definition"]["name"],
            json!({"fr": "Série"})
        );
    }

    #[test]
    fn canonical_falls_back_to_the_first_entry() {
        // Keys are written in sorted order so that the first entry is the same whether or not
        // serde_json preserves insertion order.
        for ranges in [&["ja"][..], &["*"][..], &[][..]] {
            let out = canonical(&statement(), &languages(ranges));
            assert_eq!(
                out["object"]["definition"]["name"],
                json!({"de": "Treffen"}),
                "{ranges:?}"
            );
        }
        // A range never matches a shorter tag: "en-GB" does not select "en" (RFC 2616 14.4).
        let mut doc = statement();
        doc["verb"]["display"] = json!({"de": "besuchte", "en": "attended"});
        let out = canonical(&doc, &languages(&["en-GB"]));
        assert_eq!(out["verb"]["display"], json!({"de": "besuchte"}));
        let out = canonical(&statement(), &languages(&["e"]));
        assert_eq!(
            out["object"]["definition"]["name"],
            json!({"de": "Treffen"})
        );
    }

    #[test]
    fn canonical_leaves_agents_attachments_and_extensions_alone() {
        let (before, out) = (statement(), canonical(&statement(), &languages(&["en"])));
        for key in ["actor", "result", "authority", "attachments"] {
            assert_eq!(out[key], before[key], "{key}");
        }
        assert_eq!(out["context"]["team"], before["context"]["team"]);
        assert_eq!(canonical(&json!(null), &languages(&["en"])), json!(null));
    }

    #[test]
    fn canonical_applies_inside_substatements() {
        let mut doc = statement();
        doc["object"] = json!({"objectType": "SubStatement", "actor": {"mbox": "mailto:s@example.com"},
            "verb": {"id": "http://example.com/v", "display": {"en": "visited", "fr": "visité"}},
            "object": {"id": "http://example.com/a", "definition": {"name": {"en": "A", "fr": "Un"}}},
            "context": {"contextActivities": {"other": [{"id": "http://example.com/o", "definition": {"description": {"en": "O", "fr": "Ô"}}}]}}});
        let sub = &canonical(&doc, &languages(&["fr"]))["object"];
        assert_eq!(sub["verb"]["display"], json!({"fr": "visité"}));
        assert_eq!(sub["object"]["definition"]["name"], json!({"fr": "Un"}));
        assert_eq!(
            sub["context"]["contextActivities"]["other"][0]["definition"]["description"],
            json!({"fr": "Ô"})
        );
    }
}
