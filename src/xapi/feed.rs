//! Statements that feed the passport: a person of the passport completed, passed, failed or
//! attended an activity, sent by an organisation the person lets write to their passport.
//! Each becomes an issued record exactly as a `POST /v1/completions` item would (external id
//! `xapi:<statement id>`), and voiding the statement voids the record.

use crate::db::ids::PersonId;
use std::collections::HashMap;

use serde_json::{Value, json};

use super::statements::Prepared;
use crate::completions::{self, Issuer};
use crate::db::DbConnection;
use crate::error::Error;

/// The ADL verbs that mark a completion, and the result each records.
const COMPLETION_VERBS: [(&str, Option<&str>); 4] = [
    ("http://adlnet.gov/expapi/verbs/completed", None),
    ("http://adlnet.gov/expapi/verbs/passed", Some("passed")),
    ("http://adlnet.gov/expapi/verbs/failed", Some("failed")),
    ("http://adlnet.gov/expapi/verbs/attended", Some("attended")),
];

/// The record external id a statement's completion is stored under.
pub fn external_id(statement_id: uuid::Uuid) -> String {
    format!("xapi:{statement_id}")
}

/// How a statement names its actor, when it can name a person of the passport.
enum Named {
    Passport(PersonId),
    Email(String),
}

fn named(actor: &Value, public_url: &str) -> Option<Named> {
    if actor.get("objectType").and_then(Value::as_str) == Some("Group") {
        return None;
    }
    if let Some(account) = actor.get("account") {
        let home = account.get("homePage").and_then(Value::as_str)?;
        if home.trim_end_matches('/') != public_url.trim_end_matches('/') {
            return None;
        }
        let name = account.get("name").and_then(Value::as_str)?;
        return uuid::Uuid::parse_str(name)
            .ok()
            .map(|id| Named::Passport(PersonId(id)));
    }
    let mbox = actor.get("mbox").and_then(Value::as_str)?;
    mbox.get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("mailto:"))
        .map(|_| Named::Email(mbox[7..].trim().to_lowercase()))
}

/// Turns the completion statements among `fresh` into issued records, and voids the records of
/// statements they void. Other statements stay in the LRS only; so does a completion whose
/// person has given the organisation no live write grant.
pub fn feed(
    conn: &mut DbConnection,
    issuer: &Issuer,
    public_url: &str,
    fresh: &[Prepared],
) -> Result<(), Error> {
    let mut candidates = Vec::new();
    for statement in fresh {
        let verb = statement.statement["verb"]["id"].as_str().unwrap_or("");
        let Some((_, result)) = COMPLETION_VERBS.iter().find(|(v, _)| *v == verb) else {
            continue;
        };
        let object = &statement.statement["object"];
        if object
            .get("objectType")
            .is_some_and(|t| t.as_str() != Some("Activity"))
        {
            continue;
        }
        if let Some(person) = named(&statement.statement["actor"], public_url) {
            candidates.push((statement, person, *result));
        }
    }
    let emails: Vec<String> = candidates
        .iter()
        .filter_map(|(_, person, _)| match person {
            Named::Email(address) => Some(address.clone()),
            Named::Passport(_) => None,
        })
        .collect();
    let by_email = verified_emails(conn, &emails)?;

    let items: Vec<serde_json::Map<String, Value>> = candidates
        .into_iter()
        .filter_map(|(statement, person, result)| {
            let person_id = match person {
                Named::Passport(id) => id,
                Named::Email(address) => *by_email.get(&address)?,
            };
            completion(statement, person_id, result)
        })
        .collect();
    if !items.is_empty() {
        // Per-item refusals (no grant, a future timestamp) leave the statement in the LRS only.
        completions::push(conn, issuer, items)?;
    }

    for statement in fresh {
        let Some(target) = statement.voids else {
            continue;
        };
        let reason = format!("voided by xAPI statement {}", statement.id);
        match completions::void(conn, issuer, &external_id(target), &reason) {
            Ok(_) | Err(Error::NotFound(_)) | Err(Error::Forbidden(_)) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(())
}

/// People whose verified email is one of `addresses` (lowercased); an address two passports
/// share names nobody.
fn verified_emails(
    conn: &mut DbConnection,
    addresses: &[String],
) -> Result<HashMap<String, PersonId>, Error> {
    if addresses.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = crate::people::store::with_verified_email(conn, addresses)?;
    let mut found: HashMap<String, Option<PersonId>> = HashMap::new();
    for (id, email) in rows {
        let Some(email) = email else { continue };
        found
            .entry(email.to_lowercase())
            .and_modify(|seen| *seen = None)
            .or_insert(Some(id));
    }
    Ok(found
        .into_iter()
        .filter_map(|(email, id)| id.map(|id| (email, id)))
        .collect())
}

/// The completion a statement stands for, as a `POST /v1/completions` item.
fn completion(
    statement: &Prepared,
    person_id: PersonId,
    verb_result: Option<&str>,
) -> Option<serde_json::Map<String, Value>> {
    let s = &statement.statement;
    let activity = s["object"]["id"].as_str()?;
    let outcome = &s["result"];
    let result = verb_result.or(match outcome["success"].as_bool() {
        Some(true) => Some("passed"),
        Some(false) => Some("failed"),
        None => None,
    });
    let title = best_name(&s["object"]["definition"]["name"])
        .unwrap_or(activity)
        .chars()
        .take(300)
        .collect::<String>();
    let mut item = json!({
        "person_id": person_id.0,
        "external_id": external_id(statement.id),
        "title": title,
        "completed_at": s["timestamp"],
    });
    if activity.chars().count() <= 200 {
        item["activity_code"] = json!(activity);
    }
    if let Some(result) = result {
        item["result"] = json!(result);
    }
    if let Some(scaled) = outcome["score"]["scaled"].as_f64()
        && (0.0..=1.0).contains(&scaled)
    {
        item["score"] = json!((scaled * 10000.0).round() / 100.0);
    }
    if let Some(hours) = outcome["duration"].as_str().and_then(duration_hours)
        && hours <= 10000.0
    {
        item["hours"] = json!(hours);
    }
    match item {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// The name to record from a language map: British or plain English first, else any.
fn best_name(names: &Value) -> Option<&str> {
    let map = names.as_object()?;
    ["en-GB", "en", "en-US"]
        .iter()
        .find_map(|tag| map.get(*tag).and_then(Value::as_str))
        .or_else(|| map.values().find_map(Value::as_str))
        .map(str::trim)
        .filter(|n| !n.is_empty())
}

/// Hours in an ISO 8601 duration of weeks, days, hours, minutes and seconds (`PT1H30M` is 1.5),
/// to two decimals. Years and months have no fixed length: such durations give none.
fn duration_hours(duration: &str) -> Option<f64> {
    let rest = duration.strip_prefix('P')?;
    let (date, time) = rest.split_once('T').unwrap_or((rest, ""));
    let mut hours = 0.0;
    let mut take = |part: &str, units: &[(char, f64)]| -> Option<()> {
        let mut number = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' || c == ',' {
                number.push(if c == ',' { '.' } else { c });
            } else {
                let (_, factor) = units.iter().find(|(u, _)| *u == c)?;
                hours += number.parse::<f64>().ok()? * factor;
                number.clear();
            }
        }
        number.is_empty().then_some(())
    };
    take(date, &[('W', 168.0), ('D', 24.0)])?;
    take(time, &[('H', 1.0), ('M', 1.0 / 60.0), ('S', 1.0 / 3600.0)])?;
    Some((hours * 100.0).round() / 100.0)
}

#[cfg(test)]
mod tests {
    use super::duration_hours;

    #[test]
    fn durations_become_hours() {
        assert_eq!(duration_hours("PT1H30M"), Some(1.5));
        assert_eq!(duration_hours("PT45M"), Some(0.75));
        assert_eq!(duration_hours("P1DT2H"), Some(26.0));
        assert_eq!(duration_hours("PT3600S"), Some(1.0));
        assert_eq!(duration_hours("PT0.5H"), Some(0.5));
        assert_eq!(duration_hours("P1M"), None);
        assert_eq!(duration_hours("P1Y"), None);
        assert_eq!(duration_hours("1H"), None);
    }
}
