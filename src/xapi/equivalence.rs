//! When two statements are the same statement (Data 2.3.1): what the specification lets differ
//! between a statement and its stored or signed form — verb displays, activity definitions, the
//! serialisation of timestamps, the order of a group's members, the case of ids and email
//! domains — does not count. Used to tell a statement sent again from a conflicting one, and a
//! signed statement from the statement that carries the signature.

use serde_json::{Map, Value};

/// Whether two statements are logically equivalent by Data 2.3.1's comparison requirements
/// (see the module documentation). Also how the LRS tells a statement sent again
/// from a conflicting one.
pub(crate) fn equivalent(a: &Value, b: &Value) -> bool {
    difference(a, b).is_none()
}

/// Where two statements differ once the Data 2.3.1 exceptions to immutability are set aside;
/// `None` when they are logically equivalent.
pub(crate) fn difference(signed: &Value, received: &Value) -> Option<String> {
    statement_difference("", signed, received)
}

fn statement_difference(path: &str, a: &Value, b: &Value) -> Option<String> {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return plain_difference(path, a, b);
    };
    let ignored = |key: &str, one_sided: bool| match key {
        // 2.3.1.b1 (the LRS sets or overrides these) and b6 (attachments, the signature
        // included, are not part of the statement).
        "authority" | "stored" | "attachments" => true,
        // 2.3.1.b1: the LRS assigns these only when they are missing, so a value on
        // one side only is explainable, but two different values are not.
        "id" | "version" | "timestamp" => one_sided,
        _ => false,
    };
    properties_difference(path, a, b, ignored, |key, here, x, y| match key {
        "id" => uuid_difference(here, x, y),
        "timestamp" => timestamp_difference(here, x, y),
        "actor" => agent_difference(here, x, y),
        "verb" => verb_difference(here, x, y),
        "object" => object_difference(here, x, y),
        "context" => context_difference(here, x, y),
        _ => plain_difference(here, x, y),
    })
}

fn agent_difference(path: &str, a: &Value, b: &Value) -> Option<String> {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return plain_difference(path, a, b);
    };
    // An omitted objectType means Agent, so omitting it is not a difference.
    if object_type(a, "Agent") != object_type(b, "Agent") {
        return Some(join(path, "objectType"));
    }
    let ignored = |key: &str, one_sided: bool| one_sided && key == "objectType";
    properties_difference(path, a, b, ignored, |key, here, x, y| match key {
        "mbox" => match (x.as_str(), y.as_str()) {
            (Some(x), Some(y)) if normal_mbox(x) == normal_mbox(y) => None,
            _ => plain_difference(here, x, y),
        },
        // 2.3.1.b5: Group members are an unordered list.
        "member" => members_difference(here, x, y),
        _ => plain_difference(here, x, y),
    })
}

fn members_difference(path: &str, a: &Value, b: &Value) -> Option<String> {
    let (Some(a), Some(b)) = (a.as_array(), b.as_array()) else {
        return plain_difference(path, a, b);
    };
    if a.len() != b.len() {
        return Some(path.to_owned());
    }
    let mut unused: Vec<&Value> = b.iter().collect();
    for (i, member) in a.iter().enumerate() {
        let here = format!("{path}[{i}]");
        match unused
            .iter()
            .position(|other| agent_difference(&here, member, other).is_none())
        {
            Some(position) => {
                unused.swap_remove(position);
            }
            None => return Some(here),
        }
    }
    None
}

fn verb_difference(path: &str, a: &Value, b: &Value) -> Option<String> {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return plain_difference(path, a, b);
    };
    // 2.3.1.b3: the verb's display is not part of the statement.
    keyed_difference(path, a, b, &["display"])
}

fn activity_difference(path: &str, a: &Value, b: &Value) -> Option<String> {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return plain_difference(path, a, b);
    };
    if object_type(a, "Activity") != object_type(b, "Activity") {
        return Some(join(path, "objectType"));
    }
    // 2.3.1.b2: Activity Definitions are not part of the statement.
    keyed_difference(path, a, b, &["definition", "objectType"])
}

fn statement_ref_difference(path: &str, a: &Value, b: &Value) -> Option<String> {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return plain_difference(path, a, b);
    };
    properties_difference(path, a, b, nothing_ignored, |key, here, x, y| {
        if key == "id" {
            uuid_difference(here, x, y)
        } else {
            plain_difference(here, x, y)
        }
    })
}

fn object_difference(path: &str, a: &Value, b: &Value) -> Option<String> {
    let (Some(ma), Some(mb)) = (a.as_object(), b.as_object()) else {
        return plain_difference(path, a, b);
    };
    let kind = object_type(ma, "Activity");
    if kind != object_type(mb, "Activity") {
        return Some(join(path, "objectType"));
    }
    match kind {
        "Activity" => activity_difference(path, a, b),
        "Agent" | "Group" => agent_difference(path, a, b),
        "StatementRef" => statement_ref_difference(path, a, b),
        "SubStatement" => statement_difference(path, a, b),
        _ => plain_difference(path, a, b),
    }
}

fn context_difference(path: &str, a: &Value, b: &Value) -> Option<String> {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return plain_difference(path, a, b);
    };
    properties_difference(path, a, b, nothing_ignored, |key, here, x, y| match key {
        "registration" => uuid_difference(here, x, y),
        "instructor" | "team" => agent_difference(here, x, y),
        "statement" => statement_ref_difference(here, x, y),
        "contextActivities" => context_activities_difference(here, x, y),
        _ => plain_difference(here, x, y),
    })
}

fn context_activities_difference(path: &str, a: &Value, b: &Value) -> Option<String> {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return plain_difference(path, a, b);
    };
    properties_difference(path, a, b, nothing_ignored, |_, here, x, y| {
        // Data 2.4.6.2: a lone Activity is returned by the LRS as an array of one.
        let (x, y) = (as_list(x), as_list(y));
        if x.len() != y.len() {
            return Some(here.to_owned());
        }
        x.iter()
            .zip(y.iter())
            .enumerate()
            .find_map(|(i, (x, y))| activity_difference(&format!("{here}[{i}]"), x, y))
    })
}

/// Compares every property except `skip` exactly.
fn keyed_difference(
    path: &str,
    a: &Map<String, Value>,
    b: &Map<String, Value>,
    skip: &[&str],
) -> Option<String> {
    let ignored = |key: &str, _| skip.contains(&key);
    properties_difference(path, a, b, ignored, |_, here, x, y| {
        plain_difference(here, x, y)
    })
}

/// The first property, in order, where two objects differ: one that only one side has, or
/// one that `compare` (given its name and path) finds different. `ignored` (given the name
/// and whether only one side has it) sets properties aside.
fn properties_difference(
    path: &str,
    a: &Map<String, Value>,
    b: &Map<String, Value>,
    ignored: impl Fn(&str, bool) -> bool,
    compare: impl Fn(&str, &str, &Value, &Value) -> Option<String>,
) -> Option<String> {
    union_keys(a, b).into_iter().find_map(|key| {
        let (x, y) = (a.get(key), b.get(key));
        if ignored(key, x.is_none() || y.is_none()) {
            return None;
        }
        let here = join(path, key);
        match (x, y) {
            (Some(x), Some(y)) => compare(key, &here, x, y),
            _ => Some(here),
        }
    })
}

fn nothing_ignored(_: &str, _: bool) -> bool {
    false
}

/// Exact comparison (2.3.1.s9.b2: other serialisation differences count), descending only to
/// report where the first difference is.
fn plain_difference(path: &str, a: &Value, b: &Value) -> Option<String> {
    match (a, b) {
        (Value::Object(ma), Value::Object(mb)) => keyed_difference(path, ma, mb, &[]),
        (Value::Array(xa), Value::Array(xb)) if xa.len() == xb.len() => xa
            .iter()
            .zip(xb.iter())
            .enumerate()
            .find_map(|(i, (x, y))| plain_difference(&format!("{path}[{i}]"), x, y)),
        _ if a == b => None,
        _ => Some(display_path(path)),
    }
}

fn uuid_difference(path: &str, a: &Value, b: &Value) -> Option<String> {
    match (a.as_str(), b.as_str()) {
        // 2.3.1.b7: case-insensitive values do not break immutability; UUIDs are hex.
        (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => None,
        _ => plain_difference(path, a, b),
    }
}

fn timestamp_difference(path: &str, a: &Value, b: &Value) -> Option<String> {
    // 2.3.1.b4: the same instant may be written in another time zone or precision.
    if let (Some(x), Some(y)) = (a.as_str(), b.as_str())
        && let (Some(x), Some(y)) = (instant(x), instant(y))
    {
        return (x != y).then(|| display_path(path));
    }
    plain_difference(path, a, b)
}

fn union_keys<'a>(a: &'a Map<String, Value>, b: &'a Map<String, Value>) -> Vec<&'a str> {
    let mut keys: Vec<&str> = a.keys().map(String::as_str).collect();
    keys.extend(b.keys().map(String::as_str).filter(|k| !a.contains_key(*k)));
    keys
}

fn object_type<'a>(map: &'a Map<String, Value>, default: &'a str) -> &'a str {
    map.get("objectType")
        .and_then(Value::as_str)
        .unwrap_or(default)
}

fn as_list(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

/// The scheme and the domain of a mailto IRI are case-insensitive; the local part is not.
fn normal_mbox(mbox: &str) -> String {
    let (scheme, rest) = mbox.split_once(':').unwrap_or(("", mbox));
    match rest.rsplit_once('@') {
        Some((local, domain)) => format!(
            "{}:{local}@{}",
            scheme.to_ascii_lowercase(),
            domain.to_ascii_lowercase()
        ),
        None => format!("{}:{rest}", scheme.to_ascii_lowercase()),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn display_path(path: &str) -> String {
    if path.is_empty() {
        "the top level".to_owned()
    } else {
        path.to_owned()
    }
}

/// An ISO 8601 date-time with an explicit offset as (seconds since 1970, nanoseconds); `None`
/// for anything else, which is then compared as text.
fn instant(text: &str) -> Option<(i64, u32)> {
    let b = text.as_bytes();
    let number = |from: usize, to: usize| -> Option<i64> {
        let digits = b.get(from..to)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(digits.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(i, c)| b.get(i) != Some(&c))
        || !matches!(b.get(10), Some(b'T' | b't'))
    {
        return None;
    }
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }

    let mut at = 19;
    let mut nanos: u32 = 0;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            if at - start < 9 {
                nanos = nanos * 10 + u32::from(b[at] - b'0');
            }
            at += 1;
        }
        if at == start {
            return None;
        }
        let kept = u32::try_from((at - start).min(9)).ok()?;
        nanos *= 10u32.pow(9 - kept);
    }

    let offset = match b.get(at..)? {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), ..] => {
            let rest = &text[at + 1..];
            let (h, m) = match rest.len() {
                2 => (number(at + 1, at + 3)?, 0),
                4 => (number(at + 1, at + 3)?, number(at + 3, at + 5)?),
                5 if rest.as_bytes()[2] == b':' => {
                    (number(at + 1, at + 3)?, number(at + 4, at + 6)?)
                }
                _ => return None,
            };
            let seconds = h * 3600 + m * 60;
            if *sign == b'-' { -seconds } else { seconds }
        }
        _ => return None,
    };

    let days = days_from_civil(year, month, day);
    Some((
        days * 86_400 + hour * 3600 + minute * 60 + second - offset,
        nanos,
    ))
}

/// Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's algorithm), so no
/// date crate is needed for one comparison.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xapi::signature::tests::statement;
    use serde_json::json;

    #[test]
    fn ignores_what_the_lrs_may_add_or_change() {
        let signed = json!({
            "actor": {"mbox": "mailto:learner@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
            "object": {"id": "http://example.com/a"}
        });
        let mut stored = signed.clone();
        stored["id"] = json!("6690E6C9-3EF0-4ED3-8B37-7F3964730BEE");
        stored["version"] = json!("1.0.0");
        stored["timestamp"] = json!("2024-05-01T12:00:00Z");
        stored["stored"] = json!("2024-05-01T12:00:01Z");
        stored["authority"] = json!({"mbox": "mailto:lrs@example.com"});
        stored["attachments"] = json!([]);
        stored["actor"]["objectType"] = json!("Agent");
        stored["verb"]["display"] = json!({"en-US": "completed"});
        stored["object"]["objectType"] = json!("Activity");
        stored["object"]["definition"] = json!({"name": {"en-US": "A"}});
        assert_eq!(difference(&signed, &stored), None);
    }

    #[test]
    fn compares_values_present_on_both_sides() {
        let base = statement();
        let mut other = base.clone();
        other["id"] = json!("00000000-0000-4000-8000-000000000000");
        assert_eq!(difference(&base, &other).as_deref(), Some("id"));

        let mut other = base.clone();
        other["timestamp"] = json!("2024-05-01T14:00:00+02:00");
        assert_eq!(difference(&base, &other), None);
        other["timestamp"] = json!("2024-05-01T12:00:00.000001Z");
        assert_eq!(difference(&base, &other).as_deref(), Some("timestamp"));

        let mut other = base.clone();
        other["actor"]["mbox"] = json!("mailto:learner@EXAMPLE.com");
        assert_eq!(difference(&base, &other), None);
        other["actor"]["mbox"] = json!("mailto:Learner@example.com");
        assert_eq!(difference(&base, &other).as_deref(), Some("actor.mbox"));

        let mut other = base.clone();
        other["result"] = json!({"success": true});
        assert_eq!(difference(&base, &other).as_deref(), Some("result"));

        let mut other = base.clone();
        other["version"] = json!("1.0.3");
        let mut versioned = base.clone();
        versioned["version"] = json!("1.0.0");
        assert_eq!(difference(&versioned, &other).as_deref(), Some("version"));
    }

    #[test]
    fn group_members_are_unordered_but_not_optional() {
        let group = |members: Value| {
            let mut s = statement();
            s["actor"] = json!({"objectType": "Group", "member": members});
            s
        };
        let a = json!({"mbox": "mailto:a@example.com"});
        let b = json!({"mbox": "mailto:b@example.com"});
        let ab = group(json!([a, b]));
        assert_eq!(difference(&ab, &group(json!([b, a]))), None);
        assert!(difference(&ab, &group(json!([a, a]))).is_some());
        assert!(difference(&ab, &group(json!([a]))).is_some());
    }

    #[test]
    fn substatements_and_context_follow_the_same_rules() {
        let with = |object: Value, context: Value| {
            let mut s = statement();
            s["object"] = object;
            s["context"] = context;
            s
        };
        let signed = with(
            json!({"objectType": "SubStatement",
                   "actor": {"mbox": "mailto:a@example.com"},
                   "verb": {"id": "http://example.com/planned"},
                   "object": {"id": "http://example.com/b"},
                   "timestamp": "2024-01-01T00:00:00Z"}),
            json!({"registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
                   "contextActivities": {"parent": {"id": "http://example.com/p"}}}),
        );
        let received = with(
            json!({"objectType": "SubStatement",
                   "actor": {"mbox": "mailto:a@example.com", "objectType": "Agent"},
                   "verb": {"id": "http://example.com/planned", "display": {"en": "planned"}},
                   "object": {"id": "http://example.com/b", "definition": {}},
                   "timestamp": "2024-01-01T01:00:00+01:00"}),
            json!({"registration": "EC531277-B57B-4C15-8D91-D292C5B2B8F7",
                   "contextActivities": {"parent": [{"id": "http://example.com/p"}]}}),
        );
        assert_eq!(difference(&signed, &received), None);

        let mut changed = received.clone();
        changed["object"]["object"]["id"] = json!("http://example.com/c");
        assert_eq!(
            difference(&signed, &changed).as_deref(),
            Some("object.object.id")
        );
    }

    #[test]
    fn parses_timestamps_as_instants() {
        assert_eq!(instant("1970-01-01T00:00:00Z"), Some((0, 0)));
        assert_eq!(instant("1970-01-01T01:00:00+01:00"), Some((0, 0)));
        assert_eq!(instant("1969-12-31T23:00:00-0100"), Some((0, 0)));
        assert_eq!(
            instant("2000-03-01T00:00:00.5Z"),
            Some((951_868_800, 500_000_000))
        );
        assert_eq!(instant("2024-05-01T12:00:00"), None);
        assert_eq!(instant("2024-13-01T12:00:00Z"), None);
        assert_eq!(instant("not a time"), None);
    }
}
