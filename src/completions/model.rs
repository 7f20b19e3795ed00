//! What a learning platform pushes, and what it is answered.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::FieldError;
use crate::records::RecordKind;
use crate::records::RecordRow;
use crate::records::model::{Evidence, Learning, RecordResult};

/// The most completions one push may carry.
pub const MAX_BATCH: usize = 1000;

/// One completion, as a learning platform pushes it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompletionInput {
    /// The person's passport id (from `GET /v1/grants`).
    pub person_id: uuid::Uuid,
    /// The platform's own id for this completion: pushing it again updates the same record.
    #[schema(min_length = 1, max_length = 200, example = "enrolment-8812-attempt-2")]
    pub external_id: String,
    /// A catalogue code (title, kind and expiry follow from it when not given) or a URI.
    #[schema(max_length = 200, example = "CSTF-FIRE-SAFETY")]
    pub activity_code: Option<String>,
    /// Required unless the activity code is in the catalogue.
    #[schema(max_length = 300)]
    pub title: Option<String>,
    /// Default: the catalogue's kind, else `course`.
    pub kind: Option<RecordKind>,
    /// Default: the pushing organisation's name.
    #[schema(max_length = 200)]
    pub provider_name: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    /// When the person completed it; not in the future.
    pub completed_at: DateTime<Utc>,
    /// Default: completion plus the catalogue's refresher period, when it has one.
    pub expires_at: Option<DateTime<Utc>>,
    pub result: Option<RecordResult>,
    #[schema(minimum = 0, maximum = 100)]
    pub score: Option<f64>,
    #[schema(minimum = 0, maximum = 10000)]
    pub hours: Option<f64>,
    #[serde(default)]
    pub evidence: Vec<Evidence>,
}

/// A batch of completions.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompletionBatch {
    /// Up to 1,000 completions, each a `CompletionInput`. Each is checked and answered on its
    /// own: an item that breaks the `CompletionInput` schema is `rejected` as `invalid` in the
    /// results, and the others are still stored.
    #[schema(schema_with = completion_items)]
    pub completions: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// Each item is meant to be a `CompletionInput`, and any object is taken: one that is not a
/// valid completion is answered in its result, not by refusing the batch.
fn completion_items() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{AnyOfBuilder, ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            AnyOfBuilder::new()
                .item(utoipa::openapi::Ref::from_schema_name("CompletionInput"))
                .item(
                    // The title names the model a generated client makes of it.
                    ObjectBuilder::new()
                        .schema_type(Type::Object)
                        .title(Some("InvalidCompletion"))
                        .description(Some(
                            "An item that is not a valid `CompletionInput`: answered `rejected`, \
                             `invalid`, with its errors",
                        )),
                ),
        )
        .max_items(Some(MAX_BATCH))
        .description(Some(
            "Up to 1,000 completions, each a `CompletionInput`. Each is checked and answered on \
             its own: an item that breaks the `CompletionInput` schema is `rejected` as `invalid` \
             in the results, and the others are still stored.",
        ))
        .build()
}

/// What became of one completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    /// A new issued record.
    Created,
    /// The same external id with changed content: the previous version is in the record's history.
    Updated,
    /// An identical retry: nothing changed.
    Unchanged,
    /// Not stored; see `reason`.
    Rejected,
}

/// Why a completion was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// Some fields break the rules: see `errors`.
    Invalid,
    /// No live write grant from this person to your organisation (also the answer for an id that
    /// is nobody's passport).
    NoWriteGrant,
    /// The external id appears earlier in the same batch.
    DuplicateInBatch,
    /// Your organisation already used this external id for another person.
    ExternalIdTaken,
    /// The record with this external id was voided.
    Voided,
    /// The person's passport holds the most records it may (10,000).
    PassportFull,
    /// The record has been changed the most times it may be (500 versions): push it under a
    /// new external id, or void it.
    TooManyVersions,
}

/// The answer for one completion, at its index in the batch.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ItemResult {
    pub index: usize,
    pub external_id: Option<String>,
    pub status: ItemStatus,
    pub record_id: Option<uuid::Uuid>,
    pub reason: Option<RejectReason>,
    pub detail: Option<String>,
    /// For `invalid`: each field at fault, by its path in the request.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl ItemResult {
    pub fn done(
        index: usize,
        external_id: &str,
        status: ItemStatus,
        record_id: uuid::Uuid,
    ) -> Self {
        ItemResult {
            index,
            external_id: Some(external_id.to_owned()),
            status,
            record_id: Some(record_id),
            reason: None,
            detail: None,
            errors: vec![],
        }
    }

    pub fn rejected(
        index: usize,
        external_id: Option<&str>,
        reason: RejectReason,
        detail: impl Into<String>,
    ) -> Self {
        ItemResult {
            index,
            external_id: external_id.map(str::to_owned),
            status: ItemStatus::Rejected,
            record_id: None,
            reason: Some(reason),
            detail: Some(detail.into()),
            errors: vec![],
        }
    }
}

/// The answer to a push: one result per completion, in order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchResult {
    pub results: Vec<ItemResult>,
}

/// Why a record is voided.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidInput {
    #[schema(
        min_length = 1,
        max_length = 500,
        example = "Issued to the wrong learner"
    )]
    pub reason: String,
}

/// An issued record as its issuer is answered after correcting or voiding it: what the issuer
/// wrote, and nothing the owner keeps to themselves (whether they hid it, their notes). A write
/// grant lets an organisation write to a passport, not read it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssuedRecord {
    pub id: uuid::Uuid,
    pub person_id: uuid::Uuid,
    /// The organisation's own id for the record.
    pub external_id: Option<String>,
    #[serde(flatten)]
    pub learning: Learning,
    /// Set once the issuer voided it.
    pub voided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&RecordRow> for IssuedRecord {
    fn from(row: &RecordRow) -> Self {
        let content = row.content();
        IssuedRecord {
            id: row.id.0,
            person_id: row.person_id.0,
            external_id: row.external_id.clone(),
            learning: content.learning,
            voided_at: row.voided_at.map(|t| t.0),
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
        }
    }
}
