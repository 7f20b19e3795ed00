//! A schema written out in full where a component with the same content exists becomes a
//! reference to that component.
//!
//! utoipa writes a generic type's parameter out in full: `List<Record>` becomes a `List_Record`
//! whose `items` repeat the whole `Record` schema, and a client generated from the document
//! gets a second, different `Record` model for every list. Replacing each such copy by a
//! `$ref` here keeps every list (and any generic added later) pointing at its item's one
//! component.

use serde_json::Value;
use utoipa::Modify;
use utoipa::openapi::schema::{AdditionalProperties, ArrayItems, Schema};
use utoipa::openapi::{OpenApi, Ref, RefOr};

/// Applied to the finished document, once every component is collected.
pub struct SharedSchemas;

impl Modify for SharedSchemas {
    fn modify(&self, openapi: &mut OpenApi) {
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        let named: Vec<(Value, String)> = components
            .schemas
            .iter()
            .filter_map(|(name, schema)| match schema {
                RefOr::T(schema) => Some((serde_json::to_value(schema).ok()?, name.clone())),
                RefOr::Ref(_) => None,
            })
            .collect();
        // A component's own root stays: only what it holds can be a copy of another.
        for schema in components.schemas.values_mut() {
            if let RefOr::T(schema) = schema {
                refer_within(schema, &named);
            }
        }
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                let bodies = operation
                    .request_body
                    .iter_mut()
                    .flat_map(|body| body.content.values_mut());
                let answers = operation
                    .responses
                    .responses
                    .values_mut()
                    .filter_map(|response| match response {
                        RefOr::T(response) => Some(response.content.values_mut()),
                        RefOr::Ref(_) => None,
                    })
                    .flatten();
                for content in bodies.chain(answers) {
                    if let Some(schema) = content.schema.as_mut() {
                        refer(schema, &named);
                    }
                }
            }
        }
    }
}

/// The schema, or a reference to the component it copies.
fn refer(schema: &mut RefOr<Schema>, named: &[(Value, String)]) {
    let RefOr::T(inline) = schema else {
        return;
    };
    let copied = serde_json::to_value(&*inline)
        .ok()
        .and_then(|value| named.iter().find(|(component, _)| *component == value));
    match copied {
        Some((_, name)) => *schema = Ref::from_schema_name(name.as_str()).into(),
        None => refer_within(inline, named),
    }
}

/// Every schema the schema holds, each referred to if it copies a component.
fn refer_within(schema: &mut Schema, named: &[(Value, String)]) {
    match schema {
        Schema::Object(object) => {
            for property in object.properties.values_mut() {
                refer(property, named);
            }
            if let Some(AdditionalProperties::RefOr(values)) =
                object.additional_properties.as_deref_mut()
            {
                refer(values, named);
            }
        }
        Schema::Array(array) => {
            if let ArrayItems::RefOrSchema(items) = &mut array.items {
                refer(items, named);
            }
        }
        Schema::OneOf(one_of) => one_of.items.iter_mut().for_each(|s| refer(s, named)),
        Schema::AllOf(all_of) => all_of.items.iter_mut().for_each(|s| refer(s, named)),
        Schema::AnyOf(any_of) => any_of.items.iter_mut().for_each(|s| refer(s, named)),
        _ => {}
    }
}
