//! An activity's definition as the LRS keeps it: every definition the organisation's
//! statements gave the activity, merged, so that the Activities resource answers the complete
//! Activity object (Communication 2.5) rather than whichever statement came last.
//!
//! Data 2.4.4.1.s4: the LRS updates its definition when it considers the provider to have the
//! authority to change it, may accept small corrections (a spelling), and should not make
//! significant changes, such as to the correct responses. Every definition an organisation's
//! LRS holds comes from that organisation's own clients, so their changes are accepted, except
//! what would change how the interaction is answered:
//!
//! - `name`, `description` and each interaction component's `description` are language maps,
//!   merged by language: a language seen once is kept, and newer text for a language (a
//!   corrected spelling) replaces older;
//! - `extensions` are merged by key, newer values replacing older;
//! - `type` and `moreInfo`: the newer one, when it gives one;
//! - `interactionType` and `correctResponsesPattern` are kept once known. Interaction
//!   components (`choices`, `scale`, `source`, `target`, `steps`) are merged by id: a known
//!   component's description as a language map, a new component added after the others. A
//!   definition of another interaction type adds nothing to the interaction.

use serde_json::{Map, Value};

const COMPONENT_LISTS: [&str; 5] = ["choices", "scale", "source", "target", "steps"];

/// The definition kept after `newer` is received for an activity whose definition is `kept`.
pub fn merge(kept: &Value, newer: &Value) -> Value {
    let (Value::Object(kept), Value::Object(newer)) = (kept, newer) else {
        return newer.clone();
    };
    let mut merged = kept.clone();
    let kept_type = kept.get("interactionType");
    let same_interaction = match (kept_type, newer.get("interactionType")) {
        (Some(kept), Some(newer)) => kept == newer,
        _ => true,
    };
    for (key, value) in newer {
        match key.as_str() {
            "name" | "description" | "extensions" => merge_maps(&mut merged, key, value),
            "interactionType" | "correctResponsesPattern" => {
                if same_interaction && !merged.contains_key(key) {
                    merged.insert(key.clone(), value.clone());
                }
            }
            list if COMPONENT_LISTS.contains(&list) => {
                if same_interaction {
                    merge_components(&mut merged, key, value);
                }
            }
            _ => {
                merged.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(merged)
}

/// A map (language map, extensions) merged key by key, the newer value winning.
fn merge_maps(merged: &mut Map<String, Value>, key: &str, newer: &Value) {
    match (merged.get_mut(key), newer) {
        (Some(Value::Object(kept)), Value::Object(newer)) => {
            kept.extend(newer.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        _ => {
            merged.insert(key.to_owned(), newer.clone());
        }
    }
}

/// Interaction components merged by id: known ones get the newer descriptions, new ones are
/// added after them.
fn merge_components(merged: &mut Map<String, Value>, key: &str, newer: &Value) {
    let (Some(Value::Array(kept)), Value::Array(newer)) = (merged.get_mut(key), newer) else {
        merged.insert(key.to_owned(), newer.clone());
        return;
    };
    for component in newer {
        let Some(id) = component.get("id") else {
            continue;
        };
        match kept.iter_mut().find(|known| known.get("id") == Some(id)) {
            Some(Value::Object(known)) => {
                if let Some(description) = component.get("description") {
                    merge_maps(known, "description", description);
                }
            }
            Some(_) => {}
            None => kept.push(component.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::merge;

    #[test]
    fn language_maps_and_extensions_are_merged_newer_text_winning() {
        let kept = json!({
            "name": {"en-GB": "Fire safty", "fr": "Sécurité incendie"},
            "description": {"en-GB": "Basics"},
            "type": "http://adlnet.gov/expapi/activities/course",
            "extensions": {"http://example.com/hours": 1, "http://example.com/level": "1"},
        });
        let newer = json!({
            "name": {"en-GB": "Fire safety", "de": "Brandschutz"},
            "moreInfo": "http://example.com/fire",
            "extensions": {"http://example.com/hours": 2},
        });
        assert_eq!(
            merge(&kept, &newer),
            json!({
                "name": {"en-GB": "Fire safety", "fr": "Sécurité incendie", "de": "Brandschutz"},
                "description": {"en-GB": "Basics"},
                "type": "http://adlnet.gov/expapi/activities/course",
                "moreInfo": "http://example.com/fire",
                "extensions": {"http://example.com/hours": 2, "http://example.com/level": "1"},
            })
        );
        // The same definition again changes nothing.
        assert_eq!(merge(&kept, &kept), kept);
    }

    #[test]
    fn type_and_more_info_follow_the_newer_definition() {
        let kept = json!({"type": "http://example.com/a", "moreInfo": "http://example.com/1"});
        let newer = json!({"type": "http://example.com/b"});
        assert_eq!(
            merge(&kept, &newer),
            json!({"type": "http://example.com/b", "moreInfo": "http://example.com/1"})
        );
    }

    #[test]
    fn the_interaction_is_completed_but_its_correct_responses_never_change() {
        let kept = json!({
            "interactionType": "choice",
            "correctResponsesPattern": ["a"],
            "choices": [{"id": "a", "description": {"en-GB": "Call 999"}},
                        {"id": "b", "description": {"en-GB": "Run"}}],
        });
        let newer = json!({
            "interactionType": "choice",
            "correctResponsesPattern": ["b"],
            "choices": [{"id": "b", "description": {"en-GB": "Run away", "fr": "Fuir"}},
                        {"id": "c", "description": {"en-GB": "Hide"}}],
        });
        assert_eq!(
            merge(&kept, &newer),
            json!({
                "interactionType": "choice",
                "correctResponsesPattern": ["a"],
                "choices": [{"id": "a", "description": {"en-GB": "Call 999"}},
                            {"id": "b", "description": {"en-GB": "Run away", "fr": "Fuir"}},
                            {"id": "c", "description": {"en-GB": "Hide"}}],
            })
        );
    }

    #[test]
    fn another_interaction_type_adds_nothing_to_the_interaction() {
        let kept = json!({"name": {"en-GB": "Quiz"}, "interactionType": "true-false",
                          "correctResponsesPattern": ["true"]});
        let newer = json!({"name": {"fr": "Quiz"}, "interactionType": "choice",
                           "correctResponsesPattern": ["a"], "choices": [{"id": "a"}]});
        assert_eq!(
            merge(&kept, &newer),
            json!({"name": {"en-GB": "Quiz", "fr": "Quiz"}, "interactionType": "true-false",
                   "correctResponsesPattern": ["true"]})
        );
        // A definition that had no interaction takes the first one given.
        let plain = json!({"name": {"en-GB": "Quiz"}});
        assert_eq!(
            merge(&plain, &newer),
            json!({"name": {"en-GB": "Quiz", "fr": "Quiz"}, "interactionType": "choice",
                   "correctResponsesPattern": ["a"], "choices": [{"id": "a"}]})
        );
    }
}
