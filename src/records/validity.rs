//! What makes a record's content valid: every rule, each broken one named by its field.

use chrono::{DateTime, Utc};

use super::model::{CLOCK_SKEW, MAX_EVIDENCE, RecordContent, check_length, is_https_url};
use crate::error::FieldError;

impl RecordContent {
    /// Every rule a record's content must keep; answers all the broken ones at once.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        self.check_text(&mut errors);
        self.check_times(now, &mut errors);
        self.check_numbers(&mut errors);
        self.check_evidence(&mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn check_text(&self, errors: &mut Vec<FieldError>) {
        if self.learning.title.is_empty() {
            errors.push(FieldError::new("title", "is required"));
        }
        check_length(errors, "title", Some(&self.learning.title), 300);
        check_length(
            errors,
            "activity_code",
            self.learning.activity_code.as_deref(),
            200,
        );
        if self
            .learning
            .activity_code
            .as_deref()
            .is_some_and(|c| c.chars().any(|ch| ch.is_whitespace() || ch.is_control()))
        {
            errors.push(FieldError::new(
                "activity_code",
                "must not contain spaces or control characters",
            ));
        }
        check_length(
            errors,
            "provider_name",
            self.learning.provider_name.as_deref(),
            200,
        );
        check_length(errors, "notes", self.notes.as_deref(), 5000);
    }

    fn check_times(&self, now: DateTime<Utc>, errors: &mut Vec<FieldError>) {
        let latest = now + CLOCK_SKEW;
        if self.learning.started_at.is_some_and(|t| t > latest) {
            errors.push(FieldError::new("started_at", "must not be in the future"));
        }
        if self.learning.completed_at.is_some_and(|t| t > latest) {
            errors.push(FieldError::new("completed_at", "must not be in the future"));
        }
        if let (Some(started), Some(completed)) =
            (self.learning.started_at, self.learning.completed_at)
            && started > completed
        {
            errors.push(FieldError::new(
                "started_at",
                "must not be after completed_at",
            ));
        }
        if let Some(expires) = self.learning.expires_at {
            match self.learning.completed_at {
                Some(completed) if expires <= completed => {
                    errors.push(FieldError::new("expires_at", "must be after completed_at"));
                }
                None => errors.push(FieldError::new(
                    "expires_at",
                    "needs completed_at: only a completed training expires",
                )),
                _ => {}
            }
        }
    }

    fn check_numbers(&self, errors: &mut Vec<FieldError>) {
        if let Some(score) = self.learning.score
            && (!(0.0..=100.0).contains(&score) || !score.is_finite())
        {
            errors.push(FieldError::new(
                "score",
                "must be a percentage between 0 and 100",
            ));
        }
        if let Some(hours) = self.learning.hours
            && (!(0.0..=10_000.0).contains(&hours) || !hours.is_finite())
        {
            errors.push(FieldError::new("hours", "must be between 0 and 10000"));
        }
    }

    fn check_evidence(&self, errors: &mut Vec<FieldError>) {
        if self.learning.evidence.len() > MAX_EVIDENCE {
            errors.push(FieldError::new(
                "evidence",
                format!("at most {MAX_EVIDENCE} links"),
            ));
        }
        for (i, evidence) in self.learning.evidence.iter().enumerate() {
            if evidence.url.chars().count() > 2000 {
                errors.push(FieldError::new(
                    format!("evidence[{i}].url"),
                    "must be at most 2000 characters",
                ));
            } else if !is_https_url(&evidence.url) {
                errors.push(FieldError::new(
                    format!("evidence[{i}].url"),
                    "must be an absolute https URL",
                ));
            }
            check_length(
                errors,
                &format!("evidence[{i}].description"),
                evidence.description.as_deref(),
                500,
            );
        }
    }
}
