//! The service's one error type, and its mapping to RFC 9457 problem details.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::request_id;

/// One problem with one field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// Where the problem is: a dotted path into the request body (`evidence[0].url`), or the
    /// name of a query parameter or header.
    pub field: String,
    /// What is wrong, in plain words.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Everything that can go wrong while answering a request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request was understood but some fields break the rules.
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    /// The request could not be read (malformed JSON, a bad header).
    #[error("{detail}")]
    BadRequest {
        detail: String,
        field: Option<String>,
    },
    #[error("{0}")]
    Unauthorized(String),
    /// An OAuth 2.0 token endpoint error (RFC 6749 section 5.2).
    #[error("{description}")]
    OAuth {
        status: StatusCode,
        code: &'static str,
        description: String,
    },
    #[error("{0}")]
    Forbidden(String),
    /// A write that would take an organisation past one of its storage quotas. Refused whole,
    /// with 403 like other refusals of what the caller may not do: retrying does not help (not
    /// 429), the request itself may be small (not 413), and the service is not at fault (never
    /// 5xx, which clients retry).
    #[error("{0}")]
    QuotaExceeded(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed(Vec<String>),
    #[error("{0}")]
    Conflict(String),
    #[error(
        "the resource has changed since it was read: fetch it again and retry with its new ETag"
    )]
    PreconditionFailed,
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Too many requests from this client; retry after this many seconds.
    #[error("too many requests: retry in {0} seconds")]
    TooManyRequests(u64),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the database is not available: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Validation(vec![FieldError::new(field, message)])
    }

    fn kind(&self) -> (&'static str, &'static str) {
        match self {
            Error::Validation(_) => ("validation", "Invalid request fields"),
            Error::BadRequest { .. } => ("bad-request", "Malformed request"),
            Error::Unauthorized(_) => ("unauthorized", "Authentication required"),
            Error::OAuth { .. } => ("oauth", "Token request refused"),
            Error::Forbidden(_) => ("forbidden", "Not allowed"),
            Error::QuotaExceeded(_) => ("quota-exceeded", "Quota exceeded"),
            Error::NotFound(_) => ("not-found", "Not found"),
            Error::MethodNotAllowed(_) => ("method-not-allowed", "Method not allowed"),
            Error::Conflict(_) => ("conflict", "Conflict"),
            Error::PreconditionFailed => ("precondition-failed", "Precondition failed"),
            Error::PayloadTooLarge(_) => ("payload-too-large", "Request body too large"),
            Error::TooManyRequests(_) => ("too-many-requests", "Too many requests"),
            Error::UnsupportedMediaType(_) => ("unsupported-media-type", "Unsupported media type"),
            Error::Unavailable(_) => ("unavailable", "Service unavailable"),
            Error::Internal(_) => ("internal", "Internal error"),
        }
    }
}

impl From<diesel::result::Error> for Error {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error as D};
        match error {
            D::NotFound => Error::NotFound("not found".into()),
            D::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                tracing::debug!(constraint = ?info.constraint_name(), message = info.message(), "unique violation");
                Error::Conflict(duplicate(info.constraint_name(), info.message()).into())
            }
            D::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                CONNECTION_LOST.with(|lost| lost.set(true));
                Error::Unavailable(info.message().to_owned())
            }
            other => Error::Internal(other.to_string()),
        }
    }
}

/// What a unique constraint protects, in the API's words: PostgreSQL names the constraint,
/// SQLite the table and columns ("UNIQUE constraint failed: organisations.ods_code"). Neither
/// name is part of the API, so neither is answered.
fn duplicate(constraint: Option<&str>, message: &str) -> &'static str {
    const KNOWN: [(&str, &str, &str); 10] = [
        (
            "people_identity",
            "people.issuer",
            "a passport already exists for this identity",
        ),
        (
            "organisations_ods_code",
            "organisations.ods_code",
            "an organisation with this ODS code already exists",
        ),
        (
            "clients_client_id",
            "clients.client_id",
            "this client id is taken",
        ),
        (
            "records_issuer_external_id",
            "records.issuer_organisation_id",
            "your organisation already used this external id",
        ),
        (
            "credentials_status_slot",
            "credentials.status_list",
            "this status list slot was taken at the same moment",
        ),
        (
            "frameworks_pkey",
            "frameworks.code",
            "this framework version is already published",
        ),
        (
            "activities_pkey",
            "activities.code",
            "an activity with this code already exists",
        ),
        (
            "xapi_statements_pkey",
            "xapi_statements.organisation_id",
            "a statement with this id is already stored",
        ),
        (
            "xapi_documents_pkey",
            "xapi_documents.organisation_id",
            "this document already exists",
        ),
        (
            "xapi_attachments_pkey",
            "xapi_attachments.organisation_id",
            "this attachment is already stored",
        ),
    ];
    KNOWN
        .iter()
        .find(|(name, columns, _)| {
            constraint == Some(*name) || (constraint.is_none() && message.contains(columns))
        })
        .map(|(_, _, words)| *words)
        .unwrap_or("this already exists")
}

/// An RFC 9457 problem details document, as every error is answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A stable URI naming the kind of problem, e.g. `urn:learning-passport:problem:validation`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong on this occasion.
    pub detail: String,
    /// This occurrence: the request id as a URN, also sent as `X-Request-Id` and logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// One entry per invalid field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The OAuth 2.0 error code, on token endpoint errors only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The OAuth 2.0 error description, on token endpoint errors only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        match self {
            Error::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Error::OAuth { status, .. } => *status,
            Error::Forbidden(_) | Error::QuotaExceeded(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let (slug, title) = self.kind();
        let detail = match self {
            // Internal details stay in the log, never in the answer.
            Error::Internal(message) => {
                tracing::error!(error = %message, "internal error");
                "something went wrong on our side; the request id identifies it in our logs"
                    .to_owned()
            }
            Error::Unavailable(message) => {
                tracing::warn!(error = %message, "database unavailable");
                "the database is not available at the moment; retry shortly".to_owned()
            }
            Error::MethodNotAllowed(allowed) => {
                format!("this resource allows {}", allowed.join(", "))
            }
            other => other.to_string(),
        };
        let errors = match self {
            Error::Validation(errors) => errors.clone(),
            Error::BadRequest {
                field: Some(field),
                detail,
            } => vec![FieldError::new(field, detail)],
            _ => Vec::new(),
        };
        let (error, error_description) = match self {
            Error::OAuth {
                code, description, ..
            } => (Some((*code).to_owned()), Some(description.clone())),
            _ => (None, None),
        };
        let problem = Problem {
            problem_type: format!("urn:learning-passport:problem:{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            instance: request_id::current().map(|id| format!("urn:request:{id}")),
            errors,
            error,
            error_description,
        };
        let mut response = HttpResponse::build(status);
        response.content_type("application/problem+json");
        match self {
            Error::Unauthorized(message) => {
                let description = message.replace('"', "'");
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    format!("Bearer realm=\"learning-passport\", error=\"invalid_token\", error_description=\"{description}\""),
                ));
            }
            Error::OAuth { status, .. } if *status == StatusCode::UNAUTHORIZED => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    "Basic realm=\"learning-passport\"",
                ));
            }
            Error::MethodNotAllowed(allowed) => {
                response.insert_header((header::ALLOW, allowed.join(", ")));
            }
            Error::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            Error::TooManyRequests(wait) => {
                response.insert_header((header::RETRY_AFTER, wait.to_string()));
            }
            _ => {}
        }
        if matches!(self, Error::OAuth { .. }) {
            response.insert_header((header::CACHE_CONTROL, "no-store"));
        }
        response.body(serde_json::to_vec(&problem).unwrap_or_default())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

thread_local! {
    /// Set when a query on this thread found its connection closed, so that the pool drops
    /// that connection when it is handed back instead of lending it again.
    static CONNECTION_LOST: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether a query on this thread has found its connection closed since the flag was last
/// taken, leaving it for [`take_connection_lost`].
pub(crate) fn connection_lost() -> bool {
    CONNECTION_LOST.with(|lost| lost.get())
}

/// Whether a query on this thread has found its connection closed since the last call.
pub(crate) fn take_connection_lost() -> bool {
    CONNECTION_LOST.with(|lost| lost.replace(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duplicate_is_named_in_the_api_s_words_never_by_its_constraint() {
        assert_eq!(
            duplicate(Some("organisations_ods_code"), "duplicate key value"),
            "an organisation with this ODS code already exists"
        );
        assert_eq!(
            duplicate(None, "UNIQUE constraint failed: organisations.ods_code"),
            "an organisation with this ODS code already exists"
        );
        let unknown = duplicate(Some("some_internal_index"), "duplicate key value");
        assert_eq!(unknown, "this already exists");
    }
}
