//! What a share code is: a person's offer of a grant, on terms they set, to whichever
//! organisation they hand the code to.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::FieldError;
use crate::grants::{GrantScope, Permission, check_terms};

/// How long a code lives when the request does not say: 15 minutes.
pub const DEFAULT_LIFETIME_MINUTES: i64 = 15;
/// The longest a code may live: 24 hours.
pub const MAX_LIFETIME_MINUTES: i64 = 24 * 60;

/// Where a share code is in its life. Only an `active` code can be redeemed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShareCodeStatus {
    Active,
    Redeemed,
    Expired,
    Revoked,
}

/// Who redeemed a code, when, and the grant it became.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Redemption {
    pub organisation_id: uuid::Uuid,
    pub organisation_name: String,
    /// The organisation's API client that redeemed it.
    pub client_id: String,
    pub redeemed_at: DateTime<Utc>,
    /// The grant the code became (see `GET /v1/me/grants/{id}`).
    pub grant_id: uuid::Uuid,
}

/// A share code, as its owner sees it. The code itself is never shown again after it is made.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShareCode {
    pub id: uuid::Uuid,
    pub status: ShareCodeStatus,
    /// The permission of the grant the code becomes.
    pub permission: Permission,
    /// The scope of the grant the code becomes.
    pub scope: GrantScope,
    pub purpose: String,
    /// When the grant the code becomes ends.
    pub grant_expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// When the code can no longer be redeemed.
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Present once the code has been redeemed.
    pub redemption: Option<Redemption>,
}

/// A share code just made: the only answer that shows the code.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NewShareCode {
    /// The code to give to the organisation, grouped for reading aloud. Shown only here: the
    /// service keeps nothing it could be read back from.
    #[schema(example = "K7Q2M-9XH4D")]
    pub code: String,
    /// The code as a link, to show as a QR code: `{public URL}/share/{code}`. The organisation's
    /// app scans it and redeems the code, its last path segment; the service does not answer
    /// the link itself.
    #[schema(example = "https://passport.example.org/share/K7Q2M-9XH4D")]
    pub url: String,
    #[serde(flatten)]
    pub share_code: ShareCode,
}

/// A new share code: the terms of the grant it becomes (as a grant's), and how long it lives.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareCodeInput {
    pub permission: Permission,
    pub scope: GrantScope,
    #[schema(
        min_length = 1,
        max_length = 500,
        example = "Pre-employment checks at my interview"
    )]
    pub purpose: String,
    /// When the grant ends; after the code expires, and at most the configured maximum ahead
    /// (default one year).
    pub grant_expires_at: DateTime<Utc>,
    /// How long the code can be redeemed, in minutes: 1 to 1440 (24 hours), default 15.
    #[schema(minimum = 1, maximum = 1440, example = 15)]
    pub expires_in_minutes: Option<i64>,
}

impl ShareCodeInput {
    pub fn lifetime_minutes(&self) -> i64 {
        self.expires_in_minutes.unwrap_or(DEFAULT_LIFETIME_MINUTES)
    }

    /// The rules that need no database: the grant's terms by the grants' own rules, and the
    /// code's lifetime.
    pub fn check(&self, now: DateTime<Utc>, max_days: i64) -> Vec<FieldError> {
        let mut errors = check_terms(
            &self.scope,
            &self.purpose,
            (self.grant_expires_at, "grant_expires_at"),
            now,
            max_days,
        );
        let minutes = self.lifetime_minutes();
        if !(1..=MAX_LIFETIME_MINUTES).contains(&minutes) {
            errors.push(FieldError::new(
                "expires_in_minutes",
                format!("must be 1 to {MAX_LIFETIME_MINUTES} (24 hours)"),
            ));
        } else if errors.iter().all(|e| e.field != "grant_expires_at")
            && self.grant_expires_at <= now + chrono::Duration::minutes(minutes)
        {
            errors.push(FieldError::new(
                "grant_expires_at",
                "must be after the code expires",
            ));
        }
        errors
    }
}

/// A code to redeem.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemInput {
    /// The code as the person gave it: case, dashes and spaces do not matter, and O, I and L
    /// are read as 0, 1 and 1.
    #[schema(example = "K7Q2M-9XH4D", max_length = 64)]
    pub code: String,
}
