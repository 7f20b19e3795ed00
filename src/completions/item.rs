//! One completion as a platform sends it: parsed, checked, and turned into record content.

use crate::db::ids::PersonId;
use std::collections::HashMap;

use chrono::Utc;

use super::*;
use crate::activities;
use crate::error::FieldError;
use crate::records::model::{Learning, RecordContent, RecordKind};

/// A completion that parsed, before the database has its say.
pub(super) struct Candidate {
    pub(super) index: usize,
    pub(super) person_id: PersonId,
    pub(super) external_id: String,
    pub(super) input: CompletionInput,
}

pub(super) fn parse_item(index: usize, value: serde_json::Value) -> Result<Candidate, ItemResult> {
    let external_id = value
        .get("external_id")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    let invalid = |errors: Vec<FieldError>| ItemResult {
        errors,
        ..ItemResult::rejected(
            index,
            external_id.as_deref(),
            RejectReason::Invalid,
            "the completion has invalid fields",
        )
    };
    let input: CompletionInput = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let field = match message
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
        {
            Some(name) => name.to_owned(),
            None if path == "." => "item".to_owned(),
            None => path,
        };
        invalid(vec![FieldError::new(
            format!("completions[{index}].{field}"),
            message,
        )])
    })?;
    let external_id = input.external_id.trim().to_owned();
    if external_id.is_empty() || external_id.chars().count() > 200 {
        return Err(invalid(vec![FieldError::new(
            format!("completions[{index}].external_id"),
            "must be 1 to 200 characters",
        )]));
    }
    Ok(Candidate {
        index,
        person_id: PersonId(input.person_id),
        external_id,
        input,
    })
}

/// The record content a completion stands for, with what the catalogue and the issuer supply.
pub(super) fn content_of(
    input: &CompletionInput,
    catalogue: &HashMap<String, activities::ActivityRow>,
    issuer_name: &str,
) -> RecordContent {
    let code = input
        .activity_code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let known = code.and_then(|c| catalogue.get(c));
    let completed_at = crate::db::types::Timestamp::from(input.completed_at).0;
    let text = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    RecordContent {
        learning: Learning {
            kind: input
                .kind
                .or_else(|| known.and_then(|a| RecordKind::parse(&a.kind)))
                .unwrap_or(RecordKind::Course),
            title: text(&input.title)
                .or_else(|| known.map(|a| a.title.clone()))
                .unwrap_or_default(),
            activity_code: code.map(str::to_owned),
            provider_name: text(&input.provider_name).or_else(|| Some(issuer_name.to_owned())),
            started_at: input.started_at,
            completed_at: Some(completed_at),
            expires_at: input.expires_at.or_else(|| {
                activities::expiry(completed_at, known.and_then(|a| a.refresher_months))
            }),
            result: input.result,
            score: input.score,
            hours: input.hours,
            evidence: input
                .evidence
                .iter()
                .map(|e| crate::records::model::Evidence {
                    url: e.url.trim().to_owned(),
                    description: text(&e.description),
                })
                .collect(),
        },
        notes: None,
    }
    .normalised()
}

/// The content's own checks, named by the item's place in the batch.
pub(super) fn checked(
    index: usize,
    external_id: &str,
    content: &RecordContent,
    now: chrono::DateTime<Utc>,
) -> Result<(), ItemResult> {
    let mut errors = content.validate(now).err().unwrap_or_default();
    if content.learning.title.is_empty() {
        errors.retain(|e| e.field != "title");
        errors.push(FieldError::new(
            "title",
            "is required when the activity code is not in the catalogue",
        ));
    }
    if errors.is_empty() {
        return Ok(());
    }
    let errors = errors
        .into_iter()
        .map(|e| FieldError::new(format!("completions[{index}].{}", e.field), e.message))
        .collect();
    Err(ItemResult {
        errors,
        ..ItemResult::rejected(
            index,
            Some(external_id),
            RejectReason::Invalid,
            "the completion has invalid fields",
        )
    })
}
