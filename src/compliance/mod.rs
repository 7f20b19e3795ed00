//! Employer compliance checks: requirement profiles for roles, and a gap analysis of what a
//! person shares against one.

mod check;
pub mod evaluate;
pub mod handlers;
pub mod model;

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;

pub use check::{check, worklist};
pub use model::*;

use crate::db::DbConnection;
use crate::db::schema::{activities, requirement_profiles};
use crate::db::types::{Id, Json, Timestamp};
use crate::error::{Error, FieldError};
use crate::http::etag::{self, Precondition};
use crate::http::pagination::{List, Page};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = requirement_profiles)]
struct ProfileRow {
    id: Id,
    organisation_id: Id,
    name: String,
    requirements: Json,
    version: i32,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl ProfileRow {
    fn view(&self) -> Result<RequirementProfile, Error> {
        Ok(RequirementProfile {
            id: self.id.0,
            name: self.name.clone(),
            requirements: self
                .requirements
                .parse()
                .map_err(|e| Error::Internal(format!("stored profile unreadable: {e}")))?,
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
            version: self.version,
        })
    }
}

pub const MAX_REQUIREMENTS: usize = 50;
pub const DEFAULT_WINDOW_DAYS: i64 = 30;

/// Checks a profile against the catalogue and the frameworks.
fn validate(conn: &mut DbConnection, input: &ProfileInput) -> Result<(), Error> {
    let mut errors = Vec::new();
    if input.name.trim().is_empty() || input.name.chars().count() > 200 {
        errors.push(FieldError::new("name", "must be 1 to 200 characters"));
    }
    if input.requirements.is_empty() || input.requirements.len() > MAX_REQUIREMENTS {
        errors.push(FieldError::new(
            "requirements",
            format!("1 to {MAX_REQUIREMENTS} requirements"),
        ));
    }
    let codes: Vec<String> = input
        .requirements
        .iter()
        .flat_map(|r| match r {
            Requirement::Activity { activity_codes, .. } => activity_codes.clone(),
            _ => vec![],
        })
        .collect();
    let known: HashSet<String> = if codes.is_empty() {
        HashSet::new()
    } else {
        activities::table
            .filter(activities::code.eq_any(&codes))
            .select(activities::code)
            .load::<String>(conn)?
            .into_iter()
            .collect()
    };
    let mut frameworks = HashMap::new();
    for (i, requirement) in input.requirements.iter().enumerate() {
        let at = |field: &str| format!("requirements[{i}].{field}");
        match requirement {
            Requirement::Activity {
                activity_codes,
                max_age_days,
                ..
            } => {
                if activity_codes.is_empty() || activity_codes.len() > 20 {
                    errors.push(FieldError::new(
                        at("activity_codes"),
                        "1 to 20 activity codes",
                    ));
                }
                for (j, code) in activity_codes.iter().enumerate() {
                    if !known.contains(code) {
                        errors.push(FieldError::new(
                            format!("requirements[{i}].activity_codes[{j}]"),
                            "not in the activity catalogue",
                        ));
                    }
                }
                if max_age_days.is_some_and(|d| !(1..=36_500).contains(&d)) {
                    errors.push(FieldError::new(at("max_age_days"), "must be 1 to 36500"));
                }
            }
            Requirement::Hours {
                hours, within_days, ..
            } => {
                if !(*hours > 0.0 && *hours <= 10_000.0) {
                    errors.push(FieldError::new(
                        at("hours"),
                        "must be more than 0 and at most 10000",
                    ));
                }
                if !(1..=3650).contains(within_days) {
                    errors.push(FieldError::new(at("within_days"), "must be 1 to 3650"));
                }
            }
            Requirement::Outcome {
                framework,
                outcome_code,
                min_level,
                ..
            } => {
                let key = (framework.code.clone(), framework.version.clone());
                if !frameworks.contains_key(&key) {
                    let found = crate::frameworks::find(conn, &framework.code, &framework.version)?;
                    frameworks.insert(key.clone(), found);
                }
                match frameworks.get(&key).and_then(|f| f.as_ref()) {
                    None => errors.push(FieldError::new(
                        at("framework"),
                        "no such framework version",
                    )),
                    Some(f) => {
                        if f.domain_of(outcome_code).is_none() {
                            errors.push(FieldError::new(
                                at("outcome_code"),
                                "no such outcome in this framework version",
                            ));
                        }
                        if !f.has_level(*min_level) {
                            errors.push(FieldError::new(
                                at("min_level"),
                                format!(
                                    "must be a level of the framework's scale (1 to {})",
                                    f.levels.len()
                                ),
                            ));
                        }
                    }
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Validation(errors))
    }
}

pub fn create(
    conn: &mut DbConnection,
    organisation_id: Id,
    input: ProfileInput,
) -> Result<RequirementProfile, Error> {
    validate(conn, &input)?;
    let now = Timestamp::now();
    let row = ProfileRow {
        id: Id::new(),
        organisation_id,
        name: input.name.trim().to_owned(),
        requirements: Json::of(&input.requirements),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    diesel::insert_into(requirement_profiles::table)
        .values(&row)
        .execute(conn)?;
    row.view()
}

fn row(conn: &mut DbConnection, organisation_id: Id, id: Id) -> Result<ProfileRow, Error> {
    requirement_profiles::table
        .filter(requirement_profiles::id.eq(id))
        .filter(requirement_profiles::organisation_id.eq(organisation_id))
        .select(ProfileRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::NotFound("no such requirement profile of your organisation".into()))
}

pub fn get(
    conn: &mut DbConnection,
    organisation_id: Id,
    id: Id,
) -> Result<RequirementProfile, Error> {
    row(conn, organisation_id, id)?.view()
}

pub fn list(
    conn: &mut DbConnection,
    organisation_id: Id,
    page: Page,
) -> Result<List<RequirementProfile>, Error> {
    let mut query = requirement_profiles::table
        .filter(requirement_profiles::organisation_id.eq(organisation_id))
        .select(ProfileRow::as_select())
        .order(requirement_profiles::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(requirement_profiles::id.lt(after));
    }
    let rows: Vec<ProfileRow> = query.load(conn)?;
    let list = List::from_rows(rows, page, |r| r.id);
    Ok(List {
        items: list
            .items
            .iter()
            .map(ProfileRow::view)
            .collect::<Result<_, _>>()?,
        next_cursor: list.next_cursor,
    })
}

pub fn replace(
    conn: &mut DbConnection,
    organisation_id: Id,
    id: Id,
    input: ProfileInput,
    precondition: &Precondition,
) -> Result<RequirementProfile, Error> {
    crate::db::transaction(conn, |conn| {
        let mut row = row(conn, organisation_id, id)?;
        // The body is checked first: a malformed change is refused as such, whatever its ETag.
        let unchanged_since_read = precondition.allows(row.id, row.version);
        validate(conn, &input)?;
        row.name = input.name.trim().to_owned();
        row.requirements = Json::of(&input.requirements);
        if !unchanged_since_read {
            return Err(Error::PreconditionFailed);
        }
        let read_version = row.version;
        row.version += 1;
        row.updated_at = Timestamp::now();
        let rows = diesel::update(
            requirement_profiles::table
                .find(row.id)
                .filter(requirement_profiles::version.eq(read_version)),
        )
        .set((
            requirement_profiles::name.eq(&row.name),
            requirement_profiles::requirements.eq(&row.requirements),
            requirement_profiles::version.eq(row.version),
            requirement_profiles::updated_at.eq(row.updated_at),
        ))
        .execute(conn)?;
        etag::written(rows)?;
        row.view()
    })
}

pub fn delete(
    conn: &mut DbConnection,
    organisation_id: Id,
    id: Id,
    precondition: &Precondition,
) -> Result<(), Error> {
    crate::db::transaction(conn, |conn| {
        let row = row(conn, organisation_id, id)?;
        if !precondition.allows(row.id, row.version) {
            return Err(Error::PreconditionFailed);
        }
        let rows = diesel::delete(
            requirement_profiles::table
                .find(row.id)
                .filter(requirement_profiles::version.eq(row.version)),
        )
        .execute(conn)?;
        etag::written(rows)
    })
}
