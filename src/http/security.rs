//! Security headers on every response, and CORS for browser apps.

use actix_cors::Cors;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::DefaultHeaders;

/// Headers every answer carries. API answers are data, never pages: nothing may frame, sniff or
/// cache them unless a handler says otherwise (the JWKS and DID document do).
pub fn headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .add((header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .add((
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .add((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .add((
            "Cross-Origin-Resource-Policy",
            HeaderValue::from_static("same-site"),
        ))
}

/// CORS for the configured origins only; with none configured, no cross-origin access at all.
pub fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            header::HeaderName::from_static("x-request-id"),
            header::HeaderName::from_static("x-experience-api-version"),
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::RETRY_AFTER,
            header::LAST_MODIFIED,
            header::HeaderName::from_static("x-request-id"),
            header::HeaderName::from_static("x-experience-api-version"),
            header::HeaderName::from_static("x-experience-api-consistent-through"),
        ])
        .max_age(600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}
