//! The activity catalogue: known training activities and their refresher periods, so that a
//! record's expiry follows from its completion date.

pub mod handlers;
pub mod model;
pub mod store;

pub use model::{Activity, ActivityFilter, ActivityInput};
pub use store::{ActivityRow, get, kinds, lookup, search};

use chrono::{DateTime, Months, Utc};
use serde::Deserialize;

use crate::db::DbConnection;
use crate::db::types::Timestamp;
use crate::error::{Error, FieldError};

/// An activity in an import file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportedActivity {
    code: String,
    #[serde(flatten)]
    input: ActivityInput,
}

#[derive(Debug, Clone, Deserialize)]
struct ImportFile {
    activities: Vec<serde_json::Value>,
}

/// Whether a catalogue code is well formed: letters, digits, `.`, `_` and `-`, up to 100.
pub fn valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 100
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

fn check(code: &str, input: &ActivityInput, prefix: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let field = |name: &str| format!("{prefix}{name}");
    if !valid_code(code) {
        errors.push(FieldError::new(
            field("code"),
            "must be 1 to 100 letters, digits, `.`, `_` or `-`",
        ));
    }
    if input.title.trim().is_empty() || input.title.chars().count() > 200 {
        errors.push(FieldError::new(
            field("title"),
            "must be 1 to 200 characters",
        ));
    }
    if input.publisher.trim().is_empty() || input.publisher.chars().count() > 200 {
        errors.push(FieldError::new(
            field("publisher"),
            "must be 1 to 200 characters",
        ));
    }
    if input.level.as_ref().is_some_and(|l| l.chars().count() > 50) {
        errors.push(FieldError::new(
            field("level"),
            "must be at most 50 characters",
        ));
    }
    if input
        .source
        .as_ref()
        .is_some_and(|s| s.chars().count() > 1000)
    {
        errors.push(FieldError::new(
            field("source"),
            "must be at most 1000 characters",
        ));
    }
    if input
        .refresher_months
        .is_some_and(|m| !(1..=600).contains(&m))
    {
        errors.push(FieldError::new(
            field("refresher_months"),
            "must be between 1 and 600",
        ));
    }
    errors
}

/// Adds or replaces an activity; answers it and whether it is new. Records already written keep
/// the expiry they were given.
pub fn put(
    conn: &mut DbConnection,
    code: &str,
    input: ActivityInput,
) -> Result<(Activity, bool), Error> {
    let errors = check(code, &input, "");
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let now = Timestamp::now();
    let row = ActivityRow {
        code: code.to_owned(),
        title: input.title.trim().to_owned(),
        kind: input.kind.as_str().to_owned(),
        level: input
            .level
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty()),
        refresher_months: input.refresher_months,
        publisher: input.publisher.trim().to_owned(),
        source: input
            .source
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty()),
        created_at: now,
        updated_at: now,
    };
    let (row, new) = store::upsert(conn, row)?;
    Ok((Activity::from(row), new))
}

/// Imports a catalogue file (`{"activities": [{"code", "title", "kind", …}]}`), all or nothing;
/// answers how many activities it holds.
pub fn import(conn: &mut DbConnection, json: &str) -> Result<usize, Error> {
    let file: ImportFile = crate::http::body::parse_json(json.as_bytes())?;
    let mut parsed = Vec::new();
    let mut errors = Vec::new();
    for (i, value) in file.activities.into_iter().enumerate() {
        match serde_json::from_value::<ImportedActivity>(value) {
            Ok(activity) => {
                errors.extend(check(
                    &activity.code,
                    &activity.input,
                    &format!("activities[{i}]."),
                ));
                parsed.push(activity);
            }
            Err(e) => errors.push(FieldError::new(format!("activities[{i}]"), e.to_string())),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let count = parsed.len();
    crate::db::transaction(conn, |conn| {
        for activity in parsed {
            put(conn, &activity.code, activity.input)?;
        }
        Ok(count)
    })
}

/// When a completion of an activity with this refresher period expires.
pub fn expiry(completed_at: DateTime<Utc>, refresher_months: Option<i32>) -> Option<DateTime<Utc>> {
    let months = u32::try_from(refresher_months?).ok()?;
    completed_at.checked_add_months(Months::new(months))
}
