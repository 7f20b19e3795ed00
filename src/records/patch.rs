//! Changes to a record as a JSON merge patch, and how they apply to its content.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use super::model::*;
use crate::error::FieldError;
use crate::http::patch::{Patch, double_option};

/// Changes to a record (JSON merge patch). On an issued record only `hidden` may change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordPatch {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<RecordKind>)]
    pub kind: Patch<RecordKind>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 300)]
    pub title: Patch<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub activity_code: Patch<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub provider_name: Patch<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub started_at: Patch<DateTime<Utc>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub completed_at: Patch<DateTime<Utc>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub expires_at: Patch<DateTime<Utc>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<RecordResult>)]
    pub result: Patch<RecordResult>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<f64>, minimum = 0, maximum = 100)]
    pub score: Patch<f64>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<f64>, minimum = 0, maximum = 10000)]
    pub hours: Patch<f64>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Vec<Evidence>>)]
    pub evidence: Patch<Vec<Evidence>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 5000)]
    pub notes: Patch<String>,
    /// Hide the record from every organisation's view (or show it again).
    pub hidden: Option<bool>,
}

impl RecordPatch {
    /// The content fields this patch touches, by name.
    pub(crate) fn touched(&self) -> Vec<&'static str> {
        let fields = [
            ("kind", self.kind.is_keep()),
            ("title", self.title.is_keep()),
            ("activity_code", self.activity_code.is_keep()),
            ("provider_name", self.provider_name.is_keep()),
            ("started_at", self.started_at.is_keep()),
            ("completed_at", self.completed_at.is_keep()),
            ("expires_at", self.expires_at.is_keep()),
            ("result", self.result.is_keep()),
            ("score", self.score.is_keep()),
            ("hours", self.hours.is_keep()),
            ("evidence", self.evidence.is_keep()),
            ("notes", self.notes.is_keep()),
        ];
        fields
            .into_iter()
            .filter(|(_, keep)| !keep)
            .map(|(name, _)| name)
            .collect()
    }

    pub(crate) fn apply(self, content: &mut RecordContent) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        fn sent(patch: &Patch<String>) -> Option<&str> {
            match patch {
                Patch::Set(value) => Some(value),
                _ => None,
            }
        }
        let evidence = match &self.evidence {
            Patch::Set(items) => Some(items.as_slice()),
            _ => None,
        };
        crate::records::model::check_sent_lengths(
            &mut errors,
            sent(&self.title),
            sent(&self.activity_code),
            sent(&self.provider_name),
            sent(&self.notes),
            evidence,
        );
        match self.kind {
            Patch::Set(kind) => content.learning.kind = kind,
            Patch::Clear => errors.push(FieldError::new("kind", "is required and cannot be null")),
            Patch::Keep => {}
        }
        match self.title {
            Patch::Set(title) => content.learning.title = title.trim().to_owned(),
            Patch::Clear => errors.push(FieldError::new("title", "is required and cannot be null")),
            Patch::Keep => {}
        }
        let text = |patch: Patch<String>, target: &mut Option<String>| {
            patch.apply(target);
            *target = target
                .take()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty());
        };
        text(self.activity_code, &mut content.learning.activity_code);
        text(self.provider_name, &mut content.learning.provider_name);
        text(self.notes, &mut content.notes);
        self.started_at.apply(&mut content.learning.started_at);
        self.completed_at.apply(&mut content.learning.completed_at);
        self.expires_at.apply(&mut content.learning.expires_at);
        self.result.apply(&mut content.learning.result);
        self.score.apply(&mut content.learning.score);
        self.hours.apply(&mut content.learning.hours);
        let mut evidence = Some(std::mem::take(&mut content.learning.evidence));
        self.evidence.apply(&mut evidence);
        content.learning.evidence = evidence.unwrap_or_default();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}
