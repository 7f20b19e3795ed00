//! Employer compliance checks: requirement profiles for roles, and a gap analysis of what a
//! person shares against one.

mod check;
pub mod evaluate;
pub mod handlers;
pub mod model;
pub mod store;

use std::collections::{HashMap, HashSet};

pub use check::{check, worklist};
pub use model::*;
pub use store::{create, delete, get, list, replace};

use crate::db::DbConnection;
use crate::error::{Error, FieldError};

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
        crate::activities::lookup(conn, &codes)?
            .into_keys()
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
            } => errors.extend(activity_errors(i, activity_codes, *max_age_days, &known)),
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
                let found = frameworks.get(&key).and_then(|f| f.as_ref());
                errors.extend(outcome_errors(found, outcome_code, *min_level, at));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Validation(errors))
    }
}

/// What is wrong with an outcome requirement, given its framework version if it exists.
fn outcome_errors(
    framework: Option<&crate::frameworks::Framework>,
    outcome_code: &str,
    min_level: i32,
    at: impl Fn(&str) -> String,
) -> Vec<FieldError> {
    let Some(framework) = framework else {
        return vec![FieldError::new(
            at("framework"),
            "no such framework version",
        )];
    };
    let mut errors = Vec::new();
    if framework.domain_of(outcome_code).is_none() {
        errors.push(FieldError::new(
            at("outcome_code"),
            "no such outcome in this framework version",
        ));
    }
    if !framework.has_level(min_level) {
        errors.push(FieldError::new(
            at("min_level"),
            format!(
                "must be a level of the framework's scale (1 to {})",
                framework.levels.len()
            ),
        ));
    }
    errors
}

/// What is wrong with an activity requirement, given the codes the catalogue knows.
fn activity_errors(
    i: usize,
    activity_codes: &[String],
    max_age_days: Option<i64>,
    known: &HashSet<String>,
) -> Vec<FieldError> {
    let at = |field: &str| format!("requirements[{i}].{field}");
    let mut errors = Vec::new();
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
    errors
}
