//! What a record is, as the API shows it and as it is checked.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::FieldError;

/// What kind of training a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Course,
    StatutoryMandatory,
    Qualification,
    Cpd,
    Placement,
    Other,
}

impl RecordKind {
    pub const ALL: [RecordKind; 6] = [
        RecordKind::Course,
        RecordKind::StatutoryMandatory,
        RecordKind::Qualification,
        RecordKind::Cpd,
        RecordKind::Placement,
        RecordKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Course => "course",
            RecordKind::StatutoryMandatory => "statutory_mandatory",
            RecordKind::Qualification => "qualification",
            RecordKind::Cpd => "cpd",
            RecordKind::Placement => "placement",
            RecordKind::Other => "other",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }
}

/// The outcome of the training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordResult {
    Passed,
    Failed,
    Attended,
}

impl RecordResult {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordResult::Passed => "passed",
            RecordResult::Failed => "failed",
            RecordResult::Attended => "attended",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            RecordResult::Passed,
            RecordResult::Failed,
            RecordResult::Attended,
        ]
        .into_iter()
        .find(|r| r.as_str() == value)
    }
}

/// Who vouches for a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Provenance {
    /// Written by the person; they may edit and delete it.
    SelfDeclared,
    /// Pushed by a learning platform; the person may hide it but never alter it.
    Issued,
}

impl Provenance {
    pub fn as_str(self) -> &'static str {
        match self {
            Provenance::SelfDeclared => "self_declared",
            Provenance::Issued => "issued",
        }
    }
}

/// A link to evidence of the training (a certificate, a transcript).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// An https URL.
    #[schema(
        example = "https://certificates.example.org/abc123.pdf",
        max_length = 2000
    )]
    pub url: String,
    /// What the link shows.
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

/// The organisation that issued a record.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Issuer {
    pub organisation_id: uuid::Uuid,
    pub name: String,
}

/// What a record says was learned, as its issuer states it (the person, for a self-declared
/// record): the part of a record that every view of it shows.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Learning {
    pub kind: RecordKind,
    pub title: String,
    /// A code from the activity catalogue, or a URI.
    pub activity_code: Option<String>,
    pub provider_name: Option<String>,
    #[serde(serialize_with = "crate::http::json_time::serialize_option")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::http::json_time::serialize_option")]
    pub completed_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::http::json_time::serialize_option")]
    pub expires_at: Option<DateTime<Utc>>,
    pub result: Option<RecordResult>,
    /// A percentage, 0 to 100.
    pub score: Option<f64>,
    pub hours: Option<f64>,
    pub evidence: Vec<Evidence>,
}

/// One entry of a person's training history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Record {
    pub id: uuid::Uuid,
    #[serde(flatten)]
    pub learning: Learning,
    pub notes: Option<String>,
    /// Hidden records never appear in any organisation's view.
    pub hidden: bool,
    pub provenance: Provenance,
    /// The issuing organisation, for issued records.
    pub issuer: Option<Issuer>,
    /// The issuer's own id for the record.
    pub external_id: Option<String>,
    /// Set when the issuer withdrew the record.
    #[serde(serialize_with = "crate::http::json_time::serialize_option")]
    pub voided_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::http::json_time::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::http::json_time::serialize")]
    pub updated_at: DateTime<Utc>,
}

/// A new self-declared record.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordInput {
    pub kind: RecordKind,
    #[schema(min_length = 1, max_length = 300, example = "Basic Life Support")]
    pub title: String,
    #[schema(max_length = 200, example = "CSTF-RESUS-L2")]
    pub activity_code: Option<String>,
    #[schema(max_length = 200)]
    pub provider_name: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    /// Not in the future.
    pub completed_at: Option<DateTime<Utc>>,
    /// After the completion.
    pub expires_at: Option<DateTime<Utc>>,
    pub result: Option<RecordResult>,
    #[schema(minimum = 0, maximum = 100)]
    pub score: Option<f64>,
    #[schema(minimum = 0, maximum = 10000)]
    pub hours: Option<f64>,
    /// Up to 20 links, https only.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    #[schema(max_length = 5000)]
    pub notes: Option<String>,
}

/// The checked content of a record, whoever wrote it: what was learned, and the person's own
/// notes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordContent {
    #[serde(flatten)]
    pub learning: Learning,
    pub notes: Option<String>,
}

pub const MAX_EVIDENCE: usize = 20;

/// Clocks differ: a completion a little ahead of ours is not "in the future".
pub(super) const CLOCK_SKEW: Duration = Duration::minutes(5);

fn trimmed(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

impl From<RecordInput> for RecordContent {
    fn from(input: RecordInput) -> Self {
        RecordContent {
            learning: Learning {
                kind: input.kind,
                title: input.title.trim().to_owned(),
                activity_code: trimmed(input.activity_code),
                provider_name: trimmed(input.provider_name),
                started_at: input.started_at,
                completed_at: input.completed_at,
                expires_at: input.expires_at,
                result: input.result,
                score: input.score,
                hours: input.hours,
                evidence: input
                    .evidence
                    .into_iter()
                    .map(|e| Evidence {
                        url: e.url.trim().to_owned(),
                        description: trimmed(e.description),
                    })
                    .collect(),
            },
            notes: trimmed(input.notes),
        }
    }
}

/// The documented `maxLength` of the text fields, checked on the text as sent: trimming must not
/// turn an over-long value into an accepted one.
pub(crate) fn check_sent_lengths(
    errors: &mut Vec<FieldError>,
    title: Option<&str>,
    activity_code: Option<&str>,
    provider_name: Option<&str>,
    notes: Option<&str>,
    evidence: Option<&[Evidence]>,
) {
    check_length(errors, "title", title, 300);
    check_length(errors, "activity_code", activity_code, 200);
    check_length(errors, "provider_name", provider_name, 200);
    check_length(errors, "notes", notes, 5000);
    for (i, item) in evidence.unwrap_or_default().iter().enumerate() {
        check_length(errors, &format!("evidence[{i}].url"), Some(&item.url), 2000);
        check_length(
            errors,
            &format!("evidence[{i}].description"),
            item.description.as_deref(),
            500,
        );
    }
}

impl RecordInput {
    /// The content this input describes, trimmed; refuses text longer than documented.
    pub fn into_content(self) -> Result<RecordContent, crate::error::Error> {
        let mut errors = Vec::new();
        check_sent_lengths(
            &mut errors,
            Some(&self.title),
            self.activity_code.as_deref(),
            self.provider_name.as_deref(),
            self.notes.as_deref(),
            Some(&self.evidence),
        );
        if !errors.is_empty() {
            return Err(crate::error::Error::Validation(errors));
        }
        Ok(self.into())
    }
}

pub(super) fn check_length(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: Option<&str>,
    max: usize,
) {
    if value.is_some_and(|v| v.chars().count() > max) {
        errors.push(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
}

/// Whether a URL is an absolute https URL with a host.
pub fn is_https_url(value: &str) -> bool {
    url::Url::parse(value)
        .is_ok_and(|u| u.scheme() == "https" && u.host_str().is_some_and(|h| !h.is_empty()))
}

impl RecordContent {
    /// Times at the precision the databases keep, so that content read back compares equal to
    /// the content written.
    pub fn normalised(mut self) -> Self {
        let micros = |t: Option<DateTime<Utc>>| t.map(|t| crate::db::types::Timestamp::from(t).0);
        self.learning.started_at = micros(self.learning.started_at);
        self.learning.completed_at = micros(self.learning.completed_at);
        self.learning.expires_at = micros(self.learning.expires_at);
        self
    }
}

/// One earlier version of a record.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordVersion {
    /// The version this was, before the change.
    pub version: i32,
    /// `updated` (pushed again with new content), `corrected` or `voided`.
    pub change: String,
    /// The organisation that made the change.
    pub changed_by: Option<uuid::Uuid>,
    pub changed_at: DateTime<Utc>,
    /// The record's content before the change.
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
}
