//! A statement as the LRS stores it: checked, completed with what the LRS supplies (id, stored,
//! timestamp, authority, version), and indexed for the query parameters.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::validate;
use crate::error::{Error, FieldError};

/// The verb whose statements void others.
pub const VOIDED: &str = "http://adlnet.gov/expapi/verbs/voided";

/// What a query parameter can match in a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexKind {
    Agent,
    Activity,
    Verb,
    Registration,
}

impl IndexKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IndexKind::Agent => "agent",
            IndexKind::Activity => "activity",
            IndexKind::Verb => "verb",
            IndexKind::Registration => "registration",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            IndexKind::Agent,
            IndexKind::Activity,
            IndexKind::Verb,
            IndexKind::Registration,
        ]
        .into_iter()
        .find(|k| k.as_str() == value)
    }
}

/// One value a statement can be found by. `related` values match only the `related_agents` and
/// `related_activities` forms of a query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IndexEntry {
    pub kind: IndexKind,
    pub value: String,
    pub related: bool,
}

/// A received statement, ready to store.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub id: Uuid,
    /// The statement as it will be stored and answered.
    pub statement: Value,
    pub stored: DateTime<Utc>,
    pub index: Vec<IndexEntry>,
    /// The statement it voids, when it is a voiding statement.
    pub voids: Option<Uuid>,
    /// The statement it targets by StatementRef (voiding or not): its index applies here too.
    pub targets: Option<Uuid>,
    /// Activities the statement defines, with their definitions.
    pub definitions: Vec<(String, Value)>,
    /// The SHA-2 of each attachment it declares.
    pub attachments: Vec<String>,
    /// Whether the client gave the timestamp (else the LRS set it to `stored`).
    pub timestamp_sent: bool,
}

/// The Agent an organisation client is known by as an authority.
pub fn authority(public_url: &str, client_id: &str) -> Value {
    serde_json::json!({
        "objectType": "Agent",
        "account": { "homePage": public_url, "name": client_id },
    })
}

/// Checks a received statement and completes it (but for its stored time: see
/// [`Prepared::stamp`]). `field` prefixes error paths (`[3]` in a batch).
pub fn prepare(received: Value, field: &str, authority: &Value) -> Result<Prepared, FieldError> {
    validate::statement(&received, field)?;
    let Value::Object(mut statement) = received else {
        return Err(FieldError::new(
            if field.is_empty() { "statement" } else { field },
            "must be a JSON object",
        ));
    };
    let id = match statement.get("id").and_then(Value::as_str) {
        Some(id) => {
            Uuid::parse_str(id).map_err(|_| FieldError::new(join(field, "id"), "must be a UUID"))?
        }
        None => {
            // Version 4, as the specification recommends: some stock clients accept no other.
            let id = Uuid::new_v4();
            statement.insert("id".into(), Value::String(id.to_string()));
            id
        }
    };
    let timestamp_sent = statement.contains_key("timestamp");
    // The LRS vouches for who sent the statement: the credentials used, whatever was claimed.
    statement.insert("authority".into(), authority.clone());
    statement
        .entry("version")
        .or_insert(Value::String("1.0.0".into()));

    let object = statement.get("object").cloned().unwrap_or(Value::Null);
    let verb = statement
        .get("verb")
        .and_then(|v| v.get("id"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let reference = (object_type(&object) == "StatementRef")
        .then(|| object.get("id").and_then(Value::as_str))
        .flatten()
        .and_then(|id| Uuid::parse_str(id).ok());
    let voids = if verb == VOIDED {
        Some(reference.ok_or_else(|| {
            FieldError::new(
                join(field, "object"),
                "a voiding statement's object must be a StatementRef",
            )
        })?)
    } else {
        None
    };

    let mut index = Index::default();
    index.add(IndexKind::Verb, verb, false);
    if let Some(actor) = statement.get("actor") {
        index.agent(actor, false);
    }
    index.object(&object, false);
    if let Some(context) = statement.get("context") {
        index.context(context, true);
        if let Some(registration) = context.get("registration").and_then(Value::as_str) {
            index.add(
                IndexKind::Registration,
                &registration.to_ascii_lowercase(),
                false,
            );
        }
    }
    if let Some(authority) = statement.get("authority") {
        index.agent(authority, true);
    }

    let mut statement = Value::Object(statement);
    super::normalise::context_activities(&mut statement);
    let mut definitions = Vec::new();
    collect_definitions(&statement, &mut definitions);
    let attachments = attachment_hashes(&statement);
    Ok(Prepared {
        id,
        statement,
        stored: DateTime::<Utc>::UNIX_EPOCH,
        index: index.entries,
        voids,
        targets: reference,
        definitions,
        attachments,
        timestamp_sent,
    })
}

impl Prepared {
    /// Sets the time the LRS stored the statement, and its timestamp when the client gave none.
    /// Done inside the storing transaction, so that stored times follow the order of commits.
    pub fn stamp(&mut self, stored: DateTime<Utc>) {
        self.stored = stored;
        let text = Value::String(stored.to_rfc3339_opts(SecondsFormat::Micros, true));
        if let Value::Object(map) = &mut self.statement {
            if !self.timestamp_sent {
                map.insert("timestamp".into(), text.clone());
            }
            map.insert("stored".into(), text);
        }
    }
}

/// Whether two statements with one id are the same statement (Data 2.3.1.s9): differences the
/// exceptions to immutability explain do not count (verb display, Activity definitions,
/// timestamp serialisation, Group member order, case-insensitive values, attachments: see
/// `equivalence::equivalent`), nor does what the LRS supplied (stored, authority,
/// version, and a timestamp the client left out).
pub fn same_statement(stored: &Value, received: &Prepared) -> bool {
    let strip = |value: &Value| {
        let mut value = value.clone();
        if let Value::Object(map) = &mut value {
            map.remove("version");
            if !received.timestamp_sent {
                map.remove("timestamp");
            }
        }
        value
    };
    super::equivalence::equivalent(&strip(stored), &strip(&received.statement))
}

fn join(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_owned()
    } else {
        format!("{prefix}.{field}")
    }
}

fn object_type(value: &Value) -> &str {
    value
        .get("objectType")
        .and_then(Value::as_str)
        .unwrap_or("Activity")
}

#[derive(Default)]
struct Index {
    entries: Vec<IndexEntry>,
}

impl Index {
    fn add(&mut self, kind: IndexKind, value: &str, related: bool) {
        if value.is_empty() {
            return;
        }
        let entry = IndexEntry {
            kind,
            value: value.to_owned(),
            related,
        };
        // A value found both ways needs only its stronger form.
        if let Some(weaker) = self
            .entries
            .iter_mut()
            .find(|e| e.kind == kind && e.value == value)
        {
            weaker.related &= related;
        } else {
            self.entries.push(entry);
        }
    }

    /// An Agent or Group: the group itself, and its members as related agents.
    fn agent(&mut self, agent: &Value, related: bool) {
        if let Some(ifi) = validate::ifi(agent) {
            self.add(IndexKind::Agent, &ifi, related);
        }
        if let Some(members) = agent.get("member").and_then(Value::as_array) {
            for member in members {
                if let Some(ifi) = validate::ifi(member) {
                    self.add(IndexKind::Agent, &ifi, true);
                }
            }
        }
    }

    fn activity(&mut self, activity: &Value, related: bool) {
        if let Some(id) = activity.get("id").and_then(Value::as_str) {
            self.add(IndexKind::Activity, id, related);
        }
    }

    fn object(&mut self, object: &Value, related: bool) {
        match object_type(object) {
            "Activity" => self.activity(object, related),
            "Agent" | "Group" => self.agent(object, related),
            // Everything inside a SubStatement is found only by the broad (related) filters.
            "SubStatement" => {
                if let Some(actor) = object.get("actor") {
                    self.agent(actor, true);
                }
                if let Some(inner) = object.get("object") {
                    self.object(inner, true);
                }
                if let Some(context) = object.get("context") {
                    self.context(context, true);
                }
            }
            _ => {}
        }
    }

    fn context(&mut self, context: &Value, related: bool) {
        for key in ["instructor", "team"] {
            if let Some(agent) = context.get(key) {
                self.agent(agent, related);
            }
        }
        if let Some(Value::Object(kinds)) = context.get("contextActivities") {
            for activities in kinds.values() {
                match activities {
                    Value::Array(list) => list.iter().for_each(|a| self.activity(a, related)),
                    single => self.activity(single, related),
                }
            }
        }
    }
}

/// Every activity in the statement that carries a definition, wherever it appears.
fn collect_definitions(value: &Value, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) => {
            let is_activity = map
                .get("objectType")
                .is_none_or(|t| t.as_str() == Some("Activity"));
            if let (true, Some(Value::String(id)), Some(definition @ Value::Object(_))) =
                (is_activity, map.get("id"), map.get("definition"))
            {
                out.push((id.clone(), definition.clone()));
            }
            for (key, inner) in map {
                // Extensions are the client's own JSON: never activities.
                if key != "extensions" && key != "definition" {
                    collect_definitions(inner, out);
                }
            }
        }
        Value::Array(list) => list.iter().for_each(|v| collect_definitions(v, out)),
        _ => {}
    }
}

/// The SHA-2 of each attachment a statement (or its SubStatement) declares.
pub fn attachment_hashes(statement: &Value) -> Vec<String> {
    let mut hashes = Vec::new();
    let mut collect = |value: &Value| {
        if let Some(list) = value.get("attachments").and_then(Value::as_array) {
            hashes.extend(
                list.iter()
                    .filter_map(|a| a.get("sha2").and_then(Value::as_str))
                    .map(str::to_owned),
            );
        }
    };
    collect(statement);
    if let Some(object) = statement.get("object")
        && object_type(object) == "SubStatement"
    {
        collect(object);
    }
    hashes
}

/// The SHA-2s (lowercase) of the attachments a stored statement's text declares. Statements
/// may spell a sha2 in upper case, while attachments are kept by their lowercase hash.
pub fn declared_attachments(text: &str) -> Vec<String> {
    serde_json::from_str::<Value>(text)
        .map(|value| {
            attachment_hashes(&value)
                .into_iter()
                .map(|h| h.to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default()
}

/// Reads a statement request's JSON: one statement (an object) or a batch (an array).
pub fn batch(value: Value) -> Result<Vec<Value>, Error> {
    match value {
        Value::Array(list) => Ok(list),
        object @ Value::Object(_) => Ok(vec![object]),
        _ => Err(super::invalid(
            "statements",
            "must be a statement object or an array of statements",
        )),
    }
}
