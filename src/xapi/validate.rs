//! Validation of xAPI 1.0.3 Statements as received by an LRS (xAPI-Data.md, section 2).
//!
//! Every check returns the first problem found as a [`FieldError`] naming the dotted path of
//! the offending property. Section references such as "Data 2.2.s4.b1" point at the numbered
//! requirements of the 1.0.3 specification.
//!
//! The per-part rules live in submodules; this file holds the public API and the statement
//! level: the top-level properties, the Object dispatch, SubStatements, StatementRefs, Verbs
//! and Attachments.

mod activity;
mod actors;
mod common;
mod context;
mod formats;
mod result;

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use self::common::{Props, expect_array, expect_object, fail, index, join, props};
use crate::error::FieldError;

const STATEMENT: &[&str] = &[
    "id",
    "actor",
    "verb",
    "object",
    "result",
    "context",
    "timestamp",
    "stored",
    "authority",
    "version",
    "attachments",
];
const SUBSTATEMENT: &[&str] = &[
    "objectType",
    "actor",
    "verb",
    "object",
    "result",
    "context",
    "timestamp",
    "attachments",
];
/// Properties a Statement has but a SubStatement must not (Data 2.4.4.3.s8.b3).
const NOT_IN_SUBSTATEMENT: &[&str] = &["id", "stored", "version", "authority"];
const ATTACHMENT: &[&str] = &[
    "usageType",
    "display",
    "description",
    "contentType",
    "length",
    "sha2",
    "fileUrl",
];
/// The one Verb the spec reserves (Data 2.3.2).
const VOIDED: &str = "http://adlnet.gov/expapi/verbs/voided";
const TIMESTAMP_MESSAGE: &str = "must be an ISO 8601 timestamp with a time zone";

/// Checks one statement as received (a JSON value). `field` is the path prefix used in errors,
/// e.g. "" for a single statement or "[3]" for the fourth of a batch; errors name the dotted
/// path of the offending property, e.g. "actor.mbox", "[3].object.definition.choices[1].id".
pub fn statement(value: &Value, field: &str) -> Result<(), FieldError> {
    let p = props(value, field, STATEMENT)?;
    p.string_as("id", is_uuid, "must be a UUID")?;
    statement_parts(&p, false)?;
    // Data 2.3.2.s2.b1: a voiding Statement names its target by StatementRef. Only a Statement
    // can void; a SubStatement describes something that has not happened.
    let verb_id = p
        .get("verb")
        .and_then(|v| v.get("id"))
        .and_then(Value::as_str);
    let object_type = p.get("object").and_then(|o| o.get("objectType"));
    if verb_id == Some(VOIDED) && object_type.and_then(Value::as_str) != Some("StatementRef") {
        return fail(
            &join(&p.path("object"), "objectType"),
            "must be \"StatementRef\" in a voiding statement",
        );
    }
    // "stored" is overwritten by the LRS, but is still validated first (Data 2.4.8.s3.b2).
    p.string_as("stored", is_timestamp, TIMESTAMP_MESSAGE)?;
    if let Some(authority) = p.get("authority") {
        actors::authority(authority, &p.path("authority"))?;
    }
    p.string_as(
        "version",
        formats::is_version,
        "must be \"1.0\" or \"1.0.x\"",
    )?;
    Ok(())
}

/// An Agent (not a Group) as used in query parameters and document resources (`agent=`).
pub fn agent(value: &Value, field: &str) -> Result<(), FieldError> {
    actors::agent(value, field)
}

/// An Agent or a Group (actor rules).
pub fn actor(value: &Value, field: &str) -> Result<(), FieldError> {
    actors::actor(value, field).map(|_| ())
}

/// An absolute IRI: a scheme, then ':', no whitespace.
pub fn is_iri(s: &str) -> bool {
    formats::is_iri(s)
}

/// RFC 4122 hyphenated form, any case.
pub fn is_uuid(s: &str) -> bool {
    formats::is_uuid(s)
}

/// RFC 5646 well-formedness.
pub fn is_language_tag(s: &str) -> bool {
    formats::is_language_tag(s)
}

/// An xAPI timestamp: ISO 8601 / RFC 3339 with an offset; refuses "-00:00" style negative
/// zero offsets.
pub fn timestamp(s: &str) -> Option<DateTime<FixedOffset>> {
    formats::timestamp(s)
}

/// The inverse functional identifier of an Agent or identified Group as one comparable string:
/// "mbox:mailto:a@b.c", "mbox_sha1sum:<hex lowercased>", "openid:<uri>",
/// "account:<homePage>|<name>". None for an anonymous Group or a value that is not an agent.
///
/// The domain of an mbox is lowercased, since it is case-insensitive (Data 2.3.1.b7).
pub fn ifi(agent: &Value) -> Option<String> {
    actors::ifi(agent)
}

fn is_timestamp(s: &str) -> bool {
    formats::timestamp(s).is_some()
}

/// What a Statement and a SubStatement have in common; a SubStatement "MUST be validated as a
/// Statement" (Data 2.4.4.3.s8.b2).
fn statement_parts(p: &Props, in_substatement: bool) -> Result<(), FieldError> {
    // Data 2.2.s2.b3.
    actors::actor(p.require("actor")?, &p.path("actor"))?;
    verb(p.require("verb")?, &p.path("verb"))?;
    let object_is_activity = object(p.require("object")?, &p.path("object"), in_substatement)?;
    if let Some(result_value) = p.get("result") {
        result::result(result_value, &p.path("result"))?;
    }
    if let Some(context_value) = p.get("context") {
        context::context(context_value, &p.path("context"), object_is_activity)?;
    }
    p.string_as("timestamp", is_timestamp, TIMESTAMP_MESSAGE)?;
    if let Some(attachments_value) = p.get("attachments") {
        attachments(attachments_value, &p.path("attachments"))?;
    }
    Ok(())
}

fn verb(value: &Value, path: &str) -> Result<(), FieldError> {
    let p = props(value, path, &["id", "display"])?;
    p.require("id")?;
    p.string_as("id", is_iri, "must be an IRI")?;
    p.language_map("display")
}

/// Validates the Object by its objectType and says whether it is an Activity, which the
/// context rules need.
fn object(value: &Value, path: &str, in_substatement: bool) -> Result<bool, FieldError> {
    let object_type = common::object_type(expect_object(value, path)?, path)?;
    match object_type {
        // Data 2.4.4.s2: no objectType means Activity. An Agent or Group without one
        // therefore fails as an Activity, as Data 2.4.4.2.s1.b1 requires.
        None | Some("Activity") => activity::activity(value, path).map(|()| true),
        Some("Agent" | "Group") => actors::actor(value, path).map(|_| false),
        Some("StatementRef") => statement_ref(value, path).map(|()| false),
        Some("SubStatement") if in_substatement => fail(
            &join(path, "objectType"),
            "a SubStatement cannot contain another SubStatement",
        ),
        Some("SubStatement") => substatement(value, path).map(|()| false),
        Some(_) => fail(
            &join(path, "objectType"),
            "must be one of Activity, Agent, Group, StatementRef, SubStatement",
        ),
    }
}

fn substatement(value: &Value, path: &str) -> Result<(), FieldError> {
    // A clearer message than "unknown property" for the properties only a Statement may have.
    let map = expect_object(value, path)?;
    if let Some(key) = NOT_IN_SUBSTATEMENT
        .iter()
        .find(|key| map.contains_key(**key))
    {
        return fail(&join(path, key), "is not allowed in a SubStatement");
    }
    let p = props(value, path, SUBSTATEMENT)?;
    statement_parts(&p, true)
}

/// Data 2.4.4.3.s4: objectType "StatementRef" and a Statement id, nothing else. Whether the
/// Statement exists is deliberately not checked (s4.b2).
fn statement_ref(value: &Value, path: &str) -> Result<(), FieldError> {
    let p = props(value, path, &["objectType", "id"])?;
    p.require("objectType")?;
    if p.object_type()? != Some("StatementRef") {
        return fail(&p.path("objectType"), "must be \"StatementRef\"");
    }
    p.require("id")?;
    p.string_as("id", is_uuid, "must be a UUID")?;
    Ok(())
}

fn attachments(value: &Value, path: &str) -> Result<(), FieldError> {
    for (i, item) in expect_array(value, path)?.iter().enumerate() {
        attachment(item, &index(path, i))?;
    }
    Ok(())
}

/// Data 2.4.11.s2: usageType, display, contentType, length and sha2 are required.
fn attachment(value: &Value, path: &str) -> Result<(), FieldError> {
    let p = props(value, path, ATTACHMENT)?;
    p.require("usageType")?;
    p.string_as("usageType", is_iri, "must be an IRI")?;
    p.require("display")?;
    p.language_map("display")?;
    p.language_map("description")?;
    p.require("contentType")?;
    p.string_as(
        "contentType",
        formats::is_media_type,
        "must be an Internet media type",
    )?;
    if p.require("length")?.as_u64().is_none() {
        return fail(&p.path("length"), "must be a non-negative integer");
    }
    p.require("sha2")?;
    p.string_as(
        "sha2",
        formats::is_sha2_hex,
        "must be a hexadecimal SHA-2 hash",
    )?;
    p.string_as("fileUrl", formats::is_irl, "must be an IRL")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::common::test_support::*;
    use super::statement;

    fn agent() -> Value {
        json!({"objectType": "Agent", "mbox": "mailto:b@example.com"})
    }

    fn substatement() -> Value {
        json!({
            "objectType": "SubStatement",
            "actor": {"objectType": "Agent", "mbox": "mailto:test@example.com"},
            "verb": {"id": "http://example.com/visited", "display": {"en-US": "will visit"}},
            "object": {"objectType": "Activity", "id": "http://example.com/website",
                "definition": {"name": {"en-US": "Some Awesome Website"}}}
        })
    }

    fn attachment() -> Value {
        json!({
            "usageType": "http://example.com/attachment-usage/test",
            "display": {"en-US": "A test attachment", "de": "Ein Testanhang"},
            "description": {"en-US": "A test attachment (description)"},
            "contentType": "text/plain; charset=ascii",
            "length": 27,
            "sha2": "495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a",
            "fileUrl": "http://over.there.com/file.txt"
        })
    }

    /// The long example of Data Appendix A, as returned by an LRS.
    #[test]
    fn spec_appendix_example_is_accepted() {
        let doc = json!({
            "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee",
            "actor": {"name": "Team PB", "mbox": "mailto:teampb@example.com", "objectType": "Group", "member": [
                {"name": "Andrew Downes", "account": {"homePage": "http://www.example.com", "name": "13936749"}, "objectType": "Agent"},
                {"name": "Toby Nichols", "openid": "http://toby.openid.example.org/", "objectType": "Agent"},
                {"name": "Ena Hills", "mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9", "objectType": "Agent"}]},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/attended", "display": {"en-GB": "attended", "en-US": "attended"}},
            "result": {"extensions": {"http://example.com/profiles/meetings/resultextensions/minuteslocation": "X:\\meetings\\minutes\\examplemeeting.one"},
                "success": true, "completion": true, "response": "We agreed on some example actions.", "duration": "PT1H0M0S"},
            "context": {"registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
                "contextActivities": {"parent": [{"id": "http://www.example.com/meetings/series/267", "objectType": "Activity"}],
                    "category": [{"id": "http://www.example.com/meetings/categories/teammeeting", "objectType": "Activity",
                        "definition": {"name": {"en": "team meeting"}, "description": {"en": "A category of meeting used for regular team meetings."},
                            "type": "http://example.com/expapi/activities/meetingcategory"}}]},
                "instructor": {"name": "Andrew Downes", "account": {"homePage": "http://www.example.com", "name": "13936749"}, "objectType": "Agent"},
                "team": {"name": "Team PB", "mbox": "mailto:teampb@example.com", "objectType": "Group"},
                "platform": "Example virtual meeting software", "language": "tlh", "statement": {"objectType": "StatementRef", "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"}},
            "timestamp": "2013-05-18T05:32:34.804+00:00",
            "stored": "2013-05-18T05:32:34.804Z",
            "authority": {"account": {"homePage": "http://cloud.scorm.com/", "name": "anonymous"}, "objectType": "Agent"},
            "version": "1.0.0",
            "object": {"id": "http://www.example.com/meetings/occurances/34534",
                "definition": {"extensions": {"http://example.com/profiles/meetings/activitydefinitionextensions/room": {"name": "Kilby", "id": "http://example.com/rooms/342"}},
                    "name": {"en-GB": "example meeting", "en-US": "example meeting"},
                    "description": {"en-GB": "An example meeting that happened on a specific occasion with certain people present.", "en-US": "An example meeting."},
                    "type": "http://adlnet.gov/expapi/activities/meeting", "moreInfo": "http://virtualmeeting.example.com/345256"},
                "objectType": "Activity"}
        });
        accepts(&doc);
        accepts(&base());
    }

    #[test]
    fn errors_carry_the_batch_prefix() {
        let doc = set(base(), "/actor/mbox", json!("ann@example.com"));
        let err = statement(&doc, "[3]").expect_err("refused");
        assert_eq!(err.field, "[3].actor.mbox");
        let err = statement(&json!([]), "[0]").expect_err("refused");
        assert_eq!(
            (err.field.as_str(), err.message.as_str()),
            ("[0]", "must be an object")
        );
    }

    #[test]
    fn statement_properties() {
        rejects(&json!("statement"), "", "must be an object");
        rejects(&set(base(), "/foo", json!(1)), "foo", "unknown property");
        rejects(
            &set(base(), "/iD", json!("fd41c918-b88b-4b20-a0a5-a4c32391aaa0")),
            "iD",
            "unknown property",
        );
        rejects(
            &set(base(), "/timeStamp", json!("2013-05-18T05:32:34.804Z")),
            "timeStamp",
            "unknown property",
        );
        for required in ["actor", "verb", "object"] {
            rejects(
                &remove(base(), &format!("/{required}")),
                required,
                "is required",
            );
        }
        accepts(&remove(base(), "/id"));
    }

    #[test]
    fn id_is_a_uuid() {
        accepts(&set(
            base(),
            "/id",
            json!("AA97B177-9383-4934-8543-0F91A7A02836"),
        ));
        rejects(
            &set(
                base(),
                "/id",
                json!("AA97B177-9383-4934-8543-0F91A7A028368"),
            ),
            "id",
            "must be a UUID",
        );
        rejects(
            &set(base(), "/id", json!("MA97B177-9383-4934-8543-0F91A7A02836")),
            "id",
            "must be a UUID",
        );
        rejects(&set(base(), "/id", json!(12345)), "id", "must be a string");
        rejects(
            &set(base(), "/id", json!({"key": "x"})),
            "id",
            "must be a string",
        );
    }

    #[test]
    fn version_is_1_0_x() {
        for good in ["1.0", "1.0.0", "1.0.3", "1.0.9", "1.0.10"] {
            accepts(&set(base(), "/version", json!(good)));
        }
        for bad in [
            "1.1.0",
            "0.9.9",
            "should fail",
            "1.0.",
            "1.0.x",
            "1.0.3-beta",
            "2.0.0",
            "1.00",
        ] {
            rejects(&set(base(), "/version", json!(bad)), "version", "\"1.0.x\"");
        }
        rejects(
            &set(base(), "/version", json!(1.0)),
            "version",
            "must be a string",
        );
    }

    #[test]
    fn timestamp_and_stored() {
        for key in ["timestamp", "stored"] {
            let pointer = format!("/{key}");
            accepts(&set(base(), &pointer, json!("2015-11-18T12:17:00+00:00")));
            accepts(&set(base(), &pointer, json!("2013-05-18T05:32:34.804Z")));
            for bad in [
                "should fail",
                "01/011/2015",
                "2008-09-15T15:53:00.601-00",
                "2008-09-15T15:53:00.601-0000",
                "2008-09-15T15:53:00.601-00:00",
            ] {
                rejects(
                    &set(base(), &pointer, json!(bad)),
                    key,
                    "ISO 8601 timestamp",
                );
            }
            rejects(
                &set(base(), &pointer, json!(1_447_849_020)),
                key,
                "must be a string",
            );
        }
    }

    #[test]
    fn verb() {
        accepts(&set(
            base(),
            "/verb",
            json!({"id": "http://example.com/verbs/defenestrated"}),
        ));
        rejects(
            &set(base(), "/verb", json!({"display": {"en": "x"}})),
            "verb.id",
            "is required",
        );
        rejects(
            &set(base(), "/verb/id", json!("attempted")),
            "verb.id",
            "must be an IRI",
        );
        rejects(
            &set(base(), "/verb/id", json!("")),
            "verb.id",
            "must be an IRI",
        );
        rejects(
            &set(base(), "/verb/name", json!("x")),
            "verb.name",
            "unknown property",
        );
        rejects(
            &set(base(), "/verb", json!("http://example.com/v")),
            "verb",
            "must be an object",
        );
    }

    #[test]
    fn object_types() {
        accepts(&set(base(), "/object", agent()));
        accepts(&set(
            base(),
            "/object",
            json!({"objectType": "Group", "member": [agent()]}),
        ));
        // Without objectType an Agent is read as an Activity, and fails as one.
        rejects(
            &set(base(), "/object", json!({"mbox": "mailto:b@example.com"})),
            "object.mbox",
            "unknown property",
        );
        rejects(
            &set(base(), "/object/objectType", json!("activity")),
            "object.objectType",
            "must be one of",
        );
        rejects(
            &set(base(), "/object/objectType", json!(["Activity"])),
            "object.objectType",
            "must be a string",
        );
        rejects(
            &set(base(), "/object", json!("http://example.com/a")),
            "object",
            "must be an object",
        );
    }

    #[test]
    fn voiding_statements_target_a_statement_ref() {
        let reference =
            json!({"objectType": "StatementRef", "id": "e05aa883-acaf-40ad-bf54-02c8ce485fb0"});
        let voiding = set(
            base(),
            "/verb",
            json!({"id": "http://adlnet.gov/expapi/verbs/voided", "display": {"en-US": "voided"}}),
        );
        accepts(&set(voiding.clone(), "/object", reference));
        rejects(&voiding, "object.objectType", "voiding statement");
        rejects(
            &set(voiding, "/object", agent()),
            "object.objectType",
            "voiding statement",
        );
        // Only the reserved IRI voids.
        accepts(&set(
            base(),
            "/verb/id",
            json!("http://example.com/verbs/voided"),
        ));
    }

    #[test]
    fn statement_refs() {
        let reference =
            json!({"objectType": "StatementRef", "id": "8f87ccde-bb56-4c2e-ab83-44982ef22df0"});
        accepts(&set(base(), "/object", reference.clone()));
        rejects(
            &set(base(), "/object", remove(reference.clone(), "/id")),
            "object.id",
            "is required",
        );
        rejects(
            &set(base(), "/object", set(reference.clone(), "/id", json!("x"))),
            "object.id",
            "must be a UUID",
        );
        rejects(
            &set(base(), "/object", set(reference, "/definition", json!({}))),
            "object.definition",
            "unknown property",
        );
    }

    #[test]
    fn substatements() {
        accepts(&set(base(), "/object", substatement()));
        let full = set(substatement(), "/result", json!({"success": true}));
        let full = set(
            full,
            "/context",
            json!({"revision": "1", "platform": "web"}),
        );
        let full = set(full, "/timestamp", json!("2099-01-01T00:00:00Z"));
        accepts(&set(
            base(),
            "/object",
            set(full, "/attachments", json!([attachment()])),
        ));
        for key in ["id", "stored", "version", "authority"] {
            let sub = set(substatement(), &format!("/{key}"), json!("x"));
            rejects(
                &set(base(), "/object", sub),
                &format!("object.{key}"),
                "not allowed in a SubStatement",
            );
        }
        let nested = set(substatement(), "/object", substatement());
        rejects(
            &set(base(), "/object", nested),
            "object.object.objectType",
            "cannot contain another SubStatement",
        );
        for required in ["actor", "verb", "object"] {
            let sub = remove(substatement(), &format!("/{required}"));
            rejects(
                &set(base(), "/object", sub),
                &format!("object.{required}"),
                "is required",
            );
        }
        let sub = set(
            substatement(),
            "/timestamp",
            json!("2008-09-15T15:53:00.601-00:00"),
        );
        rejects(
            &set(base(), "/object", sub),
            "object.timestamp",
            "ISO 8601 timestamp",
        );
        let sub = set(
            substatement(),
            "/actor/mbox",
            json!("http://should.fail.com"),
        );
        rejects(&set(base(), "/object", sub), "object.actor.mbox", "mailto:");
        let sub = set(
            substatement(),
            "/verb/display",
            json!({"de-419-DE": "besucht"}),
        );
        rejects(
            &set(base(), "/object", sub),
            "object.verb.display.de-419-DE",
            "language tag",
        );
    }

    #[test]
    fn attachments() {
        accepts(&set(
            base(),
            "/attachments",
            json!([
                attachment(),
                remove(remove(attachment(), "/description"), "/fileUrl")
            ]),
        ));
        accepts(&set(base(), "/attachments", json!([])));
        rejects(
            &set(base(), "/attachments", attachment()),
            "attachments",
            "must be an array",
        );
        for required in ["usageType", "display", "contentType", "length", "sha2"] {
            let doc = set(
                base(),
                "/attachments",
                json!([attachment(), remove(attachment(), &format!("/{required}"))]),
            );
            rejects(&doc, &format!("attachments[1].{required}"), "is required");
        }
        let bad = |key: &str, value: Value| {
            set(
                base(),
                "/attachments",
                json!([set(attachment(), &format!("/{key}"), value)]),
            )
        };
        rejects(
            &bad("usageType", json!("test")),
            "attachments[0].usageType",
            "must be an IRI",
        );
        rejects(
            &bad("display", json!("x")),
            "attachments[0].display",
            "must be an object",
        );
        rejects(
            &bad("display", json!({"de-419-DE": "x"})),
            "attachments[0].display.de-419-DE",
            "language tag",
        );
        rejects(
            &bad("description", json!({"de-419-DE": "x"})),
            "attachments[0].description.de-419-DE",
            "language tag",
        );
        rejects(
            &bad("contentType", json!("plain text")),
            "attachments[0].contentType",
            "media type",
        );
        rejects(
            &bad("contentType", json!(27)),
            "attachments[0].contentType",
            "must be a string",
        );
        for length in [json!(-1), json!(2.5), json!("27")] {
            rejects(
                &bad("length", length),
                "attachments[0].length",
                "non-negative integer",
            );
        }
        accepts(&bad("length", json!(0)));
        rejects(
            &bad("sha2", json!("not a hash")),
            "attachments[0].sha2",
            "SHA-2",
        );
        rejects(
            &bad("fileUrl", json!("file.txt")),
            "attachments[0].fileUrl",
            "must be an IRL",
        );
        rejects(
            &bad("fileURL", json!("http://example.com/f")),
            "attachments[0].fileURL",
            "unknown property",
        );
    }
}
