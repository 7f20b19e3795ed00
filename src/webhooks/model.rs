//! Webhook subscriptions, deliveries and events, as the API shows them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::grants::{GrantScope, Permission};

/// What an organisation can be told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum EventType {
    /// A person granted the organisation access.
    #[serde(rename = "grant.created")]
    GrantCreated,
    /// A person revoked a grant to the organisation; it no longer allows anything.
    #[serde(rename = "grant.revoked")]
    GrantRevoked,
    /// A grant expires within the configured number of days (sent once per grant).
    #[serde(rename = "grant.expiring")]
    GrantExpiring,
    /// A grant reached its expiry.
    #[serde(rename = "grant.expired")]
    GrantExpired,
    /// A record the organisation may read changed.
    #[serde(rename = "record.updated")]
    RecordUpdated,
    /// A record the organisation could read was voided by its issuer.
    #[serde(rename = "record.voided")]
    RecordVoided,
    /// An attainment the organisation may read was verified.
    #[serde(rename = "attainment.verified")]
    AttainmentVerified,
    /// A person approved the organisation's access request: `grant_id` is the grant it became.
    #[serde(rename = "access_request.approved")]
    AccessRequestApproved,
    /// A person declined the organisation's access request.
    #[serde(rename = "access_request.declined")]
    AccessRequestDeclined,
    /// The organisation's access request expired unanswered; sent for a request pinned to a
    /// passport when it was made (by passport id, or an email vouched for to one person) whose
    /// owner has not blocked the organisation. Any other expires without a word.
    #[serde(rename = "access_request.expired")]
    AccessRequestExpired,
    /// A person who had made the organisation a grant erased their passport: delete any copy.
    #[serde(rename = "person.erased")]
    PersonErased,
    /// Sent on demand by `POST /v1/webhooks/{id}/test`, to check a receiver; cannot be
    /// subscribed to.
    #[serde(rename = "webhook.test")]
    WebhookTest,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::GrantCreated => "grant.created",
            EventType::GrantRevoked => "grant.revoked",
            EventType::GrantExpiring => "grant.expiring",
            EventType::GrantExpired => "grant.expired",
            EventType::RecordUpdated => "record.updated",
            EventType::RecordVoided => "record.voided",
            EventType::AttainmentVerified => "attainment.verified",
            EventType::AccessRequestApproved => "access_request.approved",
            EventType::AccessRequestDeclined => "access_request.declined",
            EventType::AccessRequestExpired => "access_request.expired",
            EventType::PersonErased => "person.erased",
            EventType::WebhookTest => "webhook.test",
        }
    }
}

/// Whether a subscription is sent events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WebhookStatus {
    /// Events are sent.
    Active,
    /// Nothing is sent; events that occur meanwhile are not kept for it, and deliveries already
    /// queued wait until it is active again.
    Paused,
}

impl WebhookStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookStatus::Active => "active",
            WebhookStatus::Paused => "paused",
        }
    }

    pub fn parse(text: &str) -> Self {
        if text == "paused" {
            WebhookStatus::Paused
        } else {
            WebhookStatus::Active
        }
    }
}

/// A subscription: where to send which events.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Webhook {
    pub id: uuid::Uuid,
    pub url: String,
    pub description: String,
    pub event_types: Vec<EventType>,
    pub status: WebhookStatus,
    /// Since when deliveries have been given up after exhausting their retries; cleared by the
    /// next successful delivery.
    pub failing_since: Option<DateTime<Utc>>,
    /// Until when the previous secret still signs alongside the current one, after a rotation.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// Events not queued for this subscription because 10,000 deliveries were already waiting
    /// for it, counted since its last successful delivery (which sets it back to 0). Above 0,
    /// the receiver has missed events: it should read again, through the API, the state it
    /// keeps (grants, shared records and attainments) rather than rely on the events.
    pub events_dropped: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip)]
    pub version: i32,
}

/// A new subscription, with its signing secret: shown only this once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// The signing secret (`whsec_…`), for the receiver's Standard Webhooks library.
    pub secret: String,
}

/// A subscription as `POST /v1/webhooks` takes it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// An https URL on a public address.
    #[schema(example = "https://lms.example.org/hooks/passport")]
    pub url: String,
    /// 1 to 8 distinct event types.
    #[schema(min_items = 1, max_items = 8)]
    pub event_types: Vec<EventType>,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub description: String,
    #[serde(default = "active")]
    pub status: WebhookStatus,
}

fn active() -> WebhookStatus {
    WebhookStatus::Active
}

/// A change to a subscription: only the fields given change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    pub url: Option<String>,
    #[schema(min_items = 1, max_items = 8)]
    pub event_types: Option<Vec<EventType>>,
    #[schema(max_length = 200)]
    pub description: Option<String>,
    pub status: Option<WebhookStatus>,
}

/// A rotated signing secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RotatedSecret {
    /// The new signing secret: shown only this once.
    pub secret: String,
    /// Until then the previous secret signs too (a second `v1,` signature in the header).
    pub previous_secret_expires_at: DateTime<Utc>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// The receiver answered with a 2xx status.
    Delivered,
    /// Every retry failed; it can be re-sent by hand.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Self {
        match text {
            "delivered" => DeliveryStatus::Delivered,
            "failed" => DeliveryStatus::Failed,
            _ => DeliveryStatus::Pending,
        }
    }
}

/// One try at sending a delivery.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryAttempt {
    pub attempted_at: DateTime<Utc>,
    pub duration_ms: i32,
    /// The receiver's HTTP status; absent when no answer came (see `error`).
    pub status_code: Option<i32>,
    /// Why the attempt failed without an answer: timeout, refused connection, refused address.
    pub error: Option<String>,
    /// The first few hundred characters of the receiver's answer.
    pub response_excerpt: Option<String>,
}

/// One event sent (or to be sent) to one subscription. Its id is the `webhook-id` header, the
/// same on every attempt, for the receiver's de-duplication.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Delivery {
    pub id: uuid::Uuid,
    pub event_type: EventType,
    pub status: DeliveryStatus,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// The body sent.
    pub payload: WebhookEvent,
    /// Attempts, oldest first.
    pub attempts: Vec<DeliveryAttempt>,
}

/// Filters of a subscription's deliveries.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryFilter {
    /// Only deliveries in this state.
    pub status: Option<DeliveryStatus>,
}

/// The body of every webhook request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookEvent {
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// When the event happened.
    pub timestamp: DateTime<Utc>,
    pub data: EventData,
}

/// What an event says: ids, and nothing the organisation could not already read. Each kind has
/// exactly its own fields, so that a body is one of them and no other.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum EventData {
    Grant(GrantEventData),
    Record(RecordEventData),
    Attainment(AttainmentEventData),
    Person(PersonEventData),
    AccessRequest(AccessRequestEventData),
    Test(TestEventData),
    Redacted(RedactedEventData),
}

impl EventData {
    /// The person the event is about, if any.
    pub fn person_id(&self) -> Option<uuid::Uuid> {
        match self {
            EventData::Grant(data) => Some(data.person_id),
            EventData::Record(data) => Some(data.person_id),
            EventData::Attainment(data) => Some(data.person_id),
            EventData::Person(data) => Some(data.person_id),
            EventData::AccessRequest(data) => data.person_id,
            EventData::Test(_) | EventData::Redacted(_) => None,
        }
    }
}

/// A grant made to the organisation, as `GET /v1/grants` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantEventData {
    pub grant_id: uuid::Uuid,
    pub person_id: uuid::Uuid,
    pub permission: Permission,
    pub scope: GrantScope,
    pub purpose: String,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A record: read it with `GET /v1/people/{person_id}/records/{record_id}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordEventData {
    pub person_id: uuid::Uuid,
    pub record_id: uuid::Uuid,
}

/// An attainment: read it with `GET /v1/people/{person_id}/attainments`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttainmentEventData {
    pub person_id: uuid::Uuid,
    pub attainment_id: uuid::Uuid,
}

/// A person.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonEventData {
    pub person_id: uuid::Uuid,
}

/// An access request the organisation made: read it with `GET /v1/access-requests/{id}`.
/// `person_id` and `grant_id` are given for an approval only.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessRequestEventData {
    pub access_request_id: uuid::Uuid,
    pub status: crate::access_requests::AccessRequestStatus,
    pub person_id: Option<uuid::Uuid>,
    pub grant_id: Option<uuid::Uuid>,
}

/// The subscription a test was sent to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestEventData {
    pub webhook_id: uuid::Uuid,
}

/// What the deliveries log keeps of a `person.erased` event once it has been delivered or
/// given up: the person's id is erased from the log too. Receivers are never sent this.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedactedEventData {
    /// Always true.
    pub redacted: bool,
}
