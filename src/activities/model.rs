//! The activity catalogue as the API shows it.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::records::RecordKind;

/// A known training activity.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Activity {
    #[schema(example = "CSTF-FIRE-SAFETY")]
    pub code: String,
    pub title: String,
    pub kind: RecordKind,
    pub level: Option<String>,
    /// How long a completion stays valid; `null` when no refresher period is known.
    pub refresher_months: Option<i32>,
    pub publisher: String,
    /// Where the refresher period comes from.
    pub source: Option<String>,
}

/// An activity, as `PUT /v1/activities/{code}` takes it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityInput {
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    pub kind: RecordKind,
    #[schema(max_length = 50)]
    pub level: Option<String>,
    /// 1 to 600 months, or `null` when unknown.
    #[schema(minimum = 1, maximum = 600)]
    pub refresher_months: Option<i32>,
    #[schema(min_length = 1, max_length = 200)]
    pub publisher: String,
    #[schema(max_length = 1000)]
    pub source: Option<String>,
}

/// Catalogue search.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityFilter {
    /// Part of the code or title, any case.
    pub q: Option<String>,
    /// Only activities of this kind.
    pub kind: Option<RecordKind>,
}
