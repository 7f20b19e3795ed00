//! The activity catalogue: known training activities and their refresher periods, so that a
//! record's expiry follows from its completion date.

pub mod handlers;

use std::collections::HashMap;

use chrono::{DateTime, Months, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::DbConnection;
use crate::db::schema::activities;
use crate::db::types::Timestamp;
use crate::error::{Error, FieldError};
use crate::http::pagination::{KeyPage, List};
use crate::records::RecordKind;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = activities)]
pub struct ActivityRow {
    pub code: String,
    pub title: String,
    pub kind: String,
    pub level: Option<String>,
    pub refresher_months: Option<i32>,
    pub publisher: String,
    pub source: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A known training activity.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Activity {
    #[schema(example = "CSTF-FIRE-SAFETY")]
    pub code: String,
    pub title: String,
    pub kind: RecordKind,
    pub level: Option<String>,
    /// How long a completion stays valid; `null` when no refresher period is known.
    pub refresher_months: Option<i32>,
    pub publisher: String,
    /// Where the refresher period comes from.
    pub source: Option<String>,
}

impl From<ActivityRow> for Activity {
    fn from(row: ActivityRow) -> Self {
        Activity {
            kind: RecordKind::parse(&row.kind).unwrap_or(RecordKind::Other),
            code: row.code,
            title: row.title,
            level: row.level,
            refresher_months: row.refresher_months,
            publisher: row.publisher,
            source: row.source,
        }
    }
}

/// An activity, as `PUT /v1/activities/{code}` takes it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityInput {
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    pub kind: RecordKind,
    #[schema(max_length = 50)]
    pub level: Option<String>,
    /// 1 to 600 months, or `null` when unknown.
    #[schema(minimum = 1, maximum = 600)]
    pub refresher_months: Option<i32>,
    #[schema(min_length = 1, max_length = 200)]
    pub publisher: String,
    #[schema(max_length = 1000)]
    pub source: Option<String>,
}

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

/// Catalogue search.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityFilter {
    /// Part of the code or title, any case.
    pub q: Option<String>,
    /// Only activities of this kind.
    pub kind: Option<RecordKind>,
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
    crate::db::transaction(conn, |conn| {
        let now = Timestamp::now();
        let existing: Option<Timestamp> = activities::table
            .find(code)
            .select(activities::created_at)
            .first(conn)
            .optional()?;
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
            created_at: existing.unwrap_or(now),
            updated_at: now,
        };
        if existing.is_some() {
            diesel::update(activities::table.find(code))
                .set((
                    activities::title.eq(&row.title),
                    activities::kind.eq(&row.kind),
                    activities::level.eq(&row.level),
                    activities::refresher_months.eq(row.refresher_months),
                    activities::publisher.eq(&row.publisher),
                    activities::source.eq(&row.source),
                    activities::updated_at.eq(now),
                ))
                .execute(conn)?;
        } else {
            diesel::insert_into(activities::table)
                .values(&row)
                .execute(conn)?;
        }
        Ok((Activity::from(row), existing.is_none()))
    })
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

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// The catalogue, by code.
pub fn search(
    conn: &mut DbConnection,
    filter: &ActivityFilter,
    page: &KeyPage,
) -> Result<List<Activity>, Error> {
    let mut query = activities::table
        .select(ActivityRow::as_select())
        .order(activities::code.asc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        if q.chars().count() > 200 {
            return Err(Error::invalid("q", "must be at most 200 characters"));
        }
        let escaped = q
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let pattern = format!("%{escaped}%");
        query = query.filter(
            lower(activities::code)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(activities::title).like(pattern).escape('\\')),
        );
    }
    if let Some(kind) = filter.kind {
        query = query.filter(activities::kind.eq(kind.as_str()));
    }
    if let Some(after) = &page.after {
        query = query.filter(activities::code.gt(after.clone()));
    }
    let rows: Vec<ActivityRow> = query.load(conn)?;
    Ok(List::from_keyed_rows(rows, page, |r| r.code.clone()).map(Activity::from))
}

pub fn get(conn: &mut DbConnection, code: &str) -> Result<Activity, Error> {
    activities::table
        .find(code)
        .select(ActivityRow::as_select())
        .first(conn)
        .optional()?
        .map(Activity::from)
        .ok_or_else(|| Error::NotFound("no such activity".into()))
}

/// The catalogue entries for a set of codes, in one query.
pub fn lookup(
    conn: &mut DbConnection,
    codes: &[String],
) -> Result<HashMap<String, ActivityRow>, Error> {
    if codes.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<ActivityRow> = activities::table
        .filter(activities::code.eq_any(codes))
        .select(ActivityRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.code.clone(), r)).collect())
}

/// When a completion of an activity with this refresher period expires.
pub fn expiry(completed_at: DateTime<Utc>, refresher_months: Option<i32>) -> Option<DateTime<Utc>> {
    let months = u32::try_from(refresher_months?).ok()?;
    completed_at.checked_add_months(Months::new(months))
}
