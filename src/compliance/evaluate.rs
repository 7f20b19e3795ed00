//! The compliance rules, as a pure function of what an organisation may see: the same code
//! judges one arriving member of staff and a whole worklist.

use crate::db::ids::AttainmentId;
use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use super::model::{Requirement, RequirementResult, Status};
use crate::records::RecordRow;
use crate::records::SharedScope;

/// An attainment as compliance needs it.
#[derive(Debug, Clone)]
pub struct AttainmentFact {
    pub id: AttainmentId,
    pub framework_code: String,
    pub framework_version: String,
    pub outcome_code: String,
    pub level: i32,
    /// The level confirmed by the verification in force, if any.
    pub verified_level: Option<i32>,
}

/// What one person shares with the organisation, already limited to the grant's scope.
pub struct Shared<'a> {
    /// Visible records only: covered by the scope, not hidden, not voided.
    pub records: &'a [RecordRow],
    pub attainments: &'a [AttainmentFact],
    pub attainments_shared: bool,
    pub scope: &'a SharedScope,
    /// The catalogue kind of each activity code the profile names.
    pub catalogue_kinds: &'a HashMap<String, String>,
}

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// Met, expiring or expired, by when something lapses.
fn by_expiry(expiry: Option<DateTime<Utc>>, now: DateTime<Utc>, window: Duration) -> Status {
    match expiry {
        None => Status::Met,
        Some(t) if t <= now => Status::Expired,
        Some(t) if t <= now + window => Status::Expiring,
        Some(_) => Status::Met,
    }
}

/// Judges each requirement; answers the overall status (the worst) and the details.
pub fn evaluate(
    requirements: &[super::model::Requirement],
    shared: &Shared<'_>,
    now: DateTime<Utc>,
    window_days: i64,
) -> (Status, Vec<RequirementResult>) {
    let window = Duration::days(window_days);
    let results: Vec<RequirementResult> = requirements
        .iter()
        .enumerate()
        .map(|(index, requirement)| match requirement {
            Requirement::Activity {
                activity_codes,
                max_age_days,
                issued_only,
            } => activity(
                index,
                activity_codes,
                *max_age_days,
                *issued_only,
                shared,
                now,
                window,
            ),
            Requirement::Hours {
                kind,
                hours,
                within_days,
            } => {
                let kind = kind.as_str();
                hours_of(index, kind, *hours, *within_days, shared, now, window)
            }
            Requirement::Outcome {
                framework,
                outcome_code,
                min_level,
                verified_only,
            } => outcome(
                index,
                framework,
                outcome_code,
                *min_level,
                *verified_only,
                shared,
            ),
        })
        .collect();
    let overall = results
        .iter()
        .map(|r| r.status)
        .max()
        .unwrap_or(Status::Met);
    (overall, results)
}

/// A requirement nothing shared meets: `missing`, with what was found and why.
fn missing(
    index: usize,
    record_ids: Vec<uuid::Uuid>,
    outside_scope: bool,
    detail: String,
) -> RequirementResult {
    RequirementResult {
        index,
        status: Status::Missing,
        record_ids,
        attainment_ids: vec![],
        expires_at: None,
        outside_scope,
        detail,
    }
}

/// A passing completion of one of the activities, recent enough and not expired.
fn activity(
    index: usize,
    activity_codes: &[String],
    max_age_days: Option<i64>,
    issued_only: bool,
    shared: &Shared<'_>,
    now: DateTime<Utc>,
    window: Duration,
) -> RequirementResult {
    let outside_scope = activities_outside_scope(activity_codes, shared);
    match best_completion(activity_codes, max_age_days, issued_only, shared) {
        None => no_completion(index, activity_codes, issued_only, outside_scope),
        Some(best) => completion_found(index, best, now, window),
    }
}

/// Whether the grant leaves out any of the activities, by code or by the catalogue's kind.
fn activities_outside_scope(activity_codes: &[String], shared: &Shared<'_>) -> bool {
    !shared.scope.all
        && !activity_codes.iter().all(|code| {
            shared.scope.activity_codes.contains(code)
                || shared
                    .catalogue_kinds
                    .get(code)
                    .is_some_and(|k| shared.scope.kinds.contains(k))
        })
}

/// A passing completion of a required activity.
struct Completion<'a> {
    record: &'a RecordRow,
    completed: DateTime<Utc>,
    /// When it lapses: by the record's expiry or the requirement's maximum age, the sooner.
    expiry: Option<DateTime<Utc>>,
}

/// The passing completion of one of the activities that lasts longest.
fn best_completion<'a>(
    activity_codes: &[String],
    max_age_days: Option<i64>,
    issued_only: bool,
    shared: &Shared<'a>,
) -> Option<Completion<'a>> {
    shared
        .records
        .iter()
        .filter(|r| {
            r.activity_code
                .as_ref()
                .is_some_and(|c| activity_codes.contains(c))
        })
        .filter(|r| matches!(r.result.as_deref(), Some("passed") | Some("attended")))
        .filter(|r| !issued_only || r.provenance == "issued")
        .filter_map(|r| {
            let completed = r.completed_at?.0;
            let by_age = max_age_days.map(|d| completed + Duration::days(d));
            let expiry = match (r.expires_at.map(|t| t.0), by_age) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            Some(Completion {
                record: r,
                completed,
                expiry,
            })
        })
        // The candidate that lasts longest decides; one that never expires beats all.
        .max_by_key(|c| (c.expiry.is_none(), c.expiry, c.completed))
}

/// No passing completion of the activities among the records shared.
fn no_completion(
    index: usize,
    activity_codes: &[String],
    issued_only: bool,
    outside_scope: bool,
) -> RequirementResult {
    let detail = if outside_scope {
        format!(
            "no passing completion of {} among the records shared with you; the grant does not cover all of them",
            activity_codes.join(" or ")
        )
    } else {
        format!(
            "no passing completion of {}{}",
            activity_codes.join(" or "),
            if issued_only {
                " issued by a learning platform"
            } else {
                ""
            }
        )
    };
    missing(index, vec![], outside_scope, detail)
}

/// The completion that decides: met, expiring or expired by when it lapses.
fn completion_found(
    index: usize,
    best: Completion<'_>,
    now: DateTime<Utc>,
    window: Duration,
) -> RequirementResult {
    let Completion {
        record,
        completed,
        expiry,
    } = best;
    let status = by_expiry(expiry, now, window);
    let code = record.activity_code.clone().unwrap_or_default();
    let detail = match (status, expiry) {
        (Status::Expired, Some(t)) => {
            format!("{code} completed {}, expired {}", day(completed), day(t))
        }
        (_, Some(t)) => format!(
            "{code} completed {}, valid until {}",
            day(completed),
            day(t)
        ),
        (_, None) => format!("{code} completed {}, does not expire", day(completed)),
    };
    RequirementResult {
        index,
        status,
        record_ids: vec![record.id.0],
        attainment_ids: vec![],
        expires_at: expiry,
        outside_scope: false,
        detail,
    }
}

/// Enough hours of a kind within the last days.
fn hours_of(
    index: usize,
    kind: &str,
    hours: f64,
    within_days: i64,
    shared: &Shared<'_>,
    now: DateTime<Utc>,
    window: Duration,
) -> RequirementResult {
    let (hours, within_days) = (&hours, &within_days);
    let outside_scope = !shared.scope.all && !shared.scope.kinds.iter().any(|k| k == kind);
    let start = now - Duration::days(*within_days);
    let mut relevant: Vec<(&RecordRow, DateTime<Utc>, f64)> = shared
        .records
        .iter()
        .filter(|r| r.kind == kind)
        .filter_map(|r| Some((r, r.completed_at?.0, r.hours?)))
        .filter(|(_, completed, _)| *completed >= start && *completed <= now)
        .collect();
    relevant.sort_by_key(|(_, completed, _)| *completed);
    let total: f64 = relevant.iter().map(|(_, _, h)| h).sum();
    let record_ids = relevant.iter().map(|(r, _, _)| r.id.0).collect();
    if total + f64::EPSILON < *hours {
        missing(
            index,
            record_ids,
            outside_scope,
            format!("{total} of {hours} hours of {kind} in the last {within_days} days"),
        )
    } else {
        // It lapses when enough of the oldest hours leave the window.
        let mut remaining = total;
        let mut lapses = None;
        for (_, completed, h) in &relevant {
            remaining -= h;
            if remaining + f64::EPSILON < *hours {
                lapses = Some(*completed + Duration::days(*within_days));
                break;
            }
        }
        RequirementResult {
            index,
            status: by_expiry(lapses, now, window),
            record_ids,
            attainment_ids: vec![],
            expires_at: lapses,
            outside_scope: false,
            detail: format!("{total} of {hours} hours of {kind} in the last {within_days} days"),
        }
    }
}

/// An attainment of the outcome at the level, verified if the requirement says so.
fn outcome(
    index: usize,
    framework: &crate::attainments::FrameworkRef,
    outcome_code: &str,
    min_level: i32,
    verified_only: bool,
    shared: &Shared<'_>,
) -> RequirementResult {
    let (min_level, verified_only) = (&min_level, &verified_only);
    let level_of = |a: &AttainmentFact| {
        if *verified_only {
            a.verified_level
        } else {
            Some(a.level.max(a.verified_level.unwrap_or(0)))
        }
    };
    let meeting: Vec<&AttainmentFact> = shared
        .attainments
        .iter()
        .filter(|a| {
            a.framework_code == framework.code
                && a.framework_version == framework.version
                && a.outcome_code == *outcome_code
        })
        .filter(|a| level_of(a).is_some_and(|l| l >= *min_level))
        .collect();
    let outside_scope = !shared.attainments_shared;
    if meeting.is_empty() {
        let detail = if outside_scope {
            "attainments are not shared with you".into()
        } else {
            format!(
                "no {}attainment of {outcome_code} at level {min_level} or above",
                if *verified_only { "verified " } else { "" }
            )
        };
        missing(index, vec![], outside_scope, detail)
    } else {
        RequirementResult {
            index,
            status: Status::Met,
            record_ids: vec![],
            attainment_ids: meeting.iter().map(|a| a.id.0).collect(),
            expires_at: None,
            outside_scope: false,
            detail: format!("{outcome_code} attained at level {} or above", min_level),
        }
    }
}
