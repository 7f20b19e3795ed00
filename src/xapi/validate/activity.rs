//! Activities and Activity Definitions, including interaction Activities (Data 2.4.4.1).

use serde_json::Value;

use super::common::{Props, expect_array, fail, index, props};
use super::formats::{is_iri, is_irl};
use crate::error::FieldError;

const ACTIVITY: &[&str] = &["objectType", "id", "definition"];
const DEFINITION: &[&str] = &[
    "name",
    "description",
    "type",
    "moreInfo",
    "extensions",
    "interactionType",
    "correctResponsesPattern",
    "choices",
    "scale",
    "source",
    "target",
    "steps",
];
const INTERACTION_TYPES: &[&str] = &[
    "true-false",
    "choice",
    "fill-in",
    "long-fill-in",
    "matching",
    "performance",
    "sequencing",
    "likert",
    "numeric",
    "other",
];
/// Which interactionTypes support which interaction component list (Data 2.4.4.1.s15 table 2).
const COMPONENT_LISTS: &[(&str, &[&str])] = &[
    ("choices", &["choice", "sequencing"]),
    ("scale", &["likert"]),
    ("source", &["matching"]),
    ("target", &["matching"]),
    ("steps", &["performance"]),
];

pub(super) fn activity(value: &Value, path: &str) -> Result<(), FieldError> {
    let p = props(value, path, ACTIVITY)?;
    if p.object_type()?.is_some_and(|kind| kind != "Activity") {
        return fail(&p.path("objectType"), "must be \"Activity\"");
    }
    p.require("id")?;
    p.string_as("id", is_iri, "must be an IRI")?;
    if let Some(definition_value) = p.get("definition") {
        definition(definition_value, &p.path("definition"))?;
    }
    Ok(())
}

fn definition(value: &Value, path: &str) -> Result<(), FieldError> {
    let p = props(value, path, DEFINITION)?;
    p.language_map("name")?;
    p.language_map("description")?;
    p.string_as("type", is_iri, "must be an IRI")?;
    p.string_as("moreInfo", is_irl, "must be an IRL")?;
    p.extensions("extensions")?;
    interaction(&p)
}

/// Data 2.4.4.1.s13.b3 lets an LRS that has a valid interactionType validate the rest; the
/// conformance suite goes further and requires an interactionType whenever
/// correctResponsesPattern or a component list is present (XAPI-00064).
fn interaction(p: &Props) -> Result<(), FieldError> {
    let interaction_type = p.string("interactionType")?;
    if let Some(kind) = interaction_type {
        // Enumerated values must match exactly, case included (Data 2.2.s4.b1.b6).
        if !INTERACTION_TYPES.contains(&kind) {
            return fail(
                &p.path("interactionType"),
                format!("must be one of {}", INTERACTION_TYPES.join(", ")),
            );
        }
    }
    if let Some(patterns) = p.get("correctResponsesPattern") {
        let path = p.path("correctResponsesPattern");
        if interaction_type.is_none() {
            return fail(&path, "requires interactionType");
        }
        for (i, pattern) in expect_array(patterns, &path)?.iter().enumerate() {
            match pattern {
                Value::String(_) => {}
                Value::Null => return fail(&index(&path, i), "must not be null"),
                _ => return fail(&index(&path, i), "must be a string"),
            }
        }
    }
    for (list, allowed) in COMPONENT_LISTS {
        let Some(list_value) = p.get(list) else {
            continue;
        };
        let path = p.path(list);
        match interaction_type {
            None => return fail(&path, "requires interactionType"),
            Some(kind) if !allowed.contains(&kind) => {
                return fail(
                    &path,
                    format!("is not allowed with interactionType \"{kind}\""),
                );
            }
            Some(_) => components(list_value, &path)?,
        }
    }
    Ok(())
}

fn components(value: &Value, path: &str) -> Result<(), FieldError> {
    let mut seen: Vec<&str> = Vec::new();
    for (i, component) in expect_array(value, path)?.iter().enumerate() {
        let component_path = index(path, i);
        let p = props(component, &component_path, &["id", "description"])?;
        p.require("id")?;
        if let Some(id) = p.string("id")? {
            // Data 2.4.4.1.s16.b1: ids are how responses refer to components.
            if seen.contains(&id) {
                return fail(&p.path("id"), format!("duplicates an earlier id \"{id}\""));
            }
            seen.push(id);
        }
        p.language_map("description")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::common::test_support::*;

    fn with_object(object: Value) -> Value {
        set(base(), "/object", object)
    }

    fn with_definition(definition: Value) -> Value {
        with_object(
            json!({"objectType": "Activity", "id": "http://example.com/q1", "definition": definition}),
        )
    }

    fn list(ids: &[&str]) -> Value {
        ids.iter()
            .map(|id| json!({"id": id, "description": {"en-US": id}}))
            .collect()
    }

    #[test]
    fn activity_needs_an_iri_id() {
        accepts(&with_object(json!({"id": "http://example.com/a"})));
        accepts(&with_object(
            json!({"objectType": "Activity", "id": "urn:uuid:fd41c918-b88b-4b20-a0a5-a4c32391aaa0"}),
        ));
        rejects(
            &with_object(json!({"objectType": "Activity"})),
            "object.id",
            "is required",
        );
        rejects(
            &with_object(json!({"id": "ab=c://should.fail.com"})),
            "object.id",
            "must be an IRI",
        );
        rejects(
            &with_object(json!({"id": "/relative/path"})),
            "object.id",
            "must be an IRI",
        );
        rejects(
            &with_object(json!({"id": 12345})),
            "object.id",
            "must be a string",
        );
        rejects(
            &with_object(json!({"id": "http://example.com/a", "name": "x"})),
            "object.name",
            "unknown property",
        );
    }

    #[test]
    fn definition_properties() {
        let full = json!({
            "name": {"en-US": "Quiz"}, "description": {"en-US": "A quiz"},
            "type": "http://adlnet.gov/expapi/activities/assessment",
            "moreInfo": "https://example.com/quiz", "extensions": {"http://example.com/e": 1}
        });
        accepts(&with_definition(full));
        accepts(&with_definition(json!({})));
        rejects(
            &with_object(json!({"id": "http://example.com/a", "definition": "x"})),
            "object.definition",
            "must be an object",
        );
        rejects(
            &with_definition(json!({"name": "Quiz"})),
            "object.definition.name",
            "must be an object",
        );
        rejects(
            &with_definition(json!({"description": 12345})),
            "object.definition.description",
            "must be an object",
        );
        rejects(
            &with_definition(json!({"description": {"de-419-DE": "x"}})),
            "object.definition.description.de-419-DE",
            "language tag",
        );
        rejects(
            &with_definition(json!({"type": "should error"})),
            "object.definition.type",
            "must be an IRI",
        );
        rejects(
            &with_definition(json!({"moreInfo": "should error"})),
            "object.definition.moreInfo",
            "must be an IRL",
        );
        rejects(
            &with_definition(json!({"extensions": {"id": "valid"}})),
            "object.definition.extensions.id",
            "must be an IRI",
        );
        rejects(
            &with_definition(json!({"Name": {"en": "x"}})),
            "object.definition.Name",
            "unknown property",
        );
        rejects(
            &with_definition(json!({"moreInfo": null})),
            "object.definition.moreInfo",
            "must not be null",
        );
    }

    #[test]
    fn every_interaction_type_is_accepted_exactly_as_spelled() {
        for kind in [
            "true-false",
            "choice",
            "fill-in",
            "long-fill-in",
            "matching",
            "performance",
            "sequencing",
            "likert",
            "numeric",
            "other",
        ] {
            accepts(&with_definition(
                json!({"interactionType": kind, "correctResponsesPattern": ["x"]}),
            ));
        }
        rejects(
            &with_definition(json!({"interactionType": "true-faLse"})),
            "object.definition.interactionType",
            "must be one of",
        );
        rejects(
            &with_definition(json!({"interactionType": "http://example.com/choice"})),
            "object.definition.interactionType",
            "must be one of",
        );
        rejects(
            &with_definition(json!({"interactionType": 5})),
            "object.definition.interactionType",
            "must be a string",
        );
    }

    #[test]
    fn correct_responses_pattern() {
        accepts(&with_definition(
            json!({"interactionType": "choice", "correctResponsesPattern": []}),
        ));
        accepts(&with_definition(
            json!({"interactionType": "fill-in", "correctResponsesPattern": ["{case_matters=true}Bob", "foo[,]bar"]}),
        ));
        rejects(
            &with_definition(json!({"correctResponsesPattern": ["true"]})),
            "object.definition.correctResponsesPattern",
            "requires interactionType",
        );
        rejects(
            &with_definition(
                json!({"interactionType": "true-false", "correctResponsesPattern": "true"}),
            ),
            "object.definition.correctResponsesPattern",
            "must be an array",
        );
        rejects(
            &with_definition(
                json!({"interactionType": "numeric", "correctResponsesPattern": ["1", 2]}),
            ),
            "object.definition.correctResponsesPattern[1]",
            "must be a string",
        );
    }

    #[test]
    fn component_lists_follow_the_interaction_type() {
        accepts(&with_definition(
            json!({"interactionType": "choice", "choices": list(&["a", "b"])}),
        ));
        accepts(&with_definition(
            json!({"interactionType": "sequencing", "choices": list(&["a", "b"])}),
        ));
        accepts(&with_definition(
            json!({"interactionType": "likert", "scale": list(&["1", "2"])}),
        ));
        accepts(&with_definition(
            json!({"interactionType": "matching", "source": list(&["a"]), "target": list(&["1"])}),
        ));
        accepts(&with_definition(
            json!({"interactionType": "performance", "steps": list(&["s1"])}),
        ));
        accepts(&with_definition(
            json!({"interactionType": "choice", "choices": [{"id": "a"}]}),
        ));
        rejects(
            &with_definition(json!({"choices": list(&["a"])})),
            "object.definition.choices",
            "requires interactionType",
        );
        rejects(
            &with_definition(json!({"scale": list(&["a"])})),
            "object.definition.scale",
            "requires interactionType",
        );
        rejects(
            &with_definition(json!({"interactionType": "likert", "choices": list(&["a"])})),
            "object.definition.choices",
            "not allowed with interactionType \"likert\"",
        );
        rejects(
            &with_definition(json!({"interactionType": "choice", "steps": list(&["a"])})),
            "object.definition.steps",
            "not allowed",
        );
        rejects(
            &with_definition(json!({"interactionType": "fill-in", "source": list(&["a"])})),
            "object.definition.source",
            "not allowed",
        );
        rejects(
            &with_definition(json!({"interactionType": "performance", "target": list(&["a"])})),
            "object.definition.target",
            "not allowed",
        );
    }

    #[test]
    fn interaction_components() {
        let choice = |choices: Value| {
            with_definition(json!({"interactionType": "choice", "choices": choices}))
        };
        rejects(
            &choice(list(&["a", "b", "a"])),
            "object.definition.choices[2].id",
            "duplicates",
        );
        rejects(
            &choice(json!({"id": "a"})),
            "object.definition.choices",
            "must be an array",
        );
        rejects(
            &choice(json!([{"description": {"en": "x"}}])),
            "object.definition.choices[0].id",
            "is required",
        );
        rejects(
            &choice(json!([{"id": 1}])),
            "object.definition.choices[0].id",
            "must be a string",
        );
        rejects(
            &choice(json!([{"id": "a", "description": "x"}])),
            "object.definition.choices[0].description",
            "must be an object",
        );
        rejects(
            &choice(json!([{"id": "a", "description": {"a-DE": "x"}}])),
            "object.definition.choices[0].description.a-DE",
            "language tag",
        );
        rejects(
            &choice(json!([{"id": "a", "name": {"en": "x"}}])),
            "object.definition.choices[0].name",
            "unknown property",
        );
        // Distinct within one list only: the same id may appear in source and target.
        accepts(&with_definition(
            json!({"interactionType": "matching", "source": list(&["a"]), "target": list(&["a"])}),
        ));
    }

    #[test]
    fn activities_inside_substatements_and_context_get_the_same_rules() {
        let sub = json!({"objectType": "SubStatement", "actor": {"mbox": "mailto:a@example.com"},
            "verb": {"id": "http://example.com/v"}, "object": {"id": "ab=c://x"}});
        rejects(&with_object(sub), "object.object.id", "must be an IRI");
        let ctx = json!({"contextActivities": {"parent": {"id": "http://example.com/p", "definition": {"type": "x"}}}});
        rejects(
            &set(base(), "/context", ctx),
            "context.contextActivities.parent.definition.type",
            "must be an IRI",
        );
    }
}
