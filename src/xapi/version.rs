//! The headers every xAPI exchange carries: the client names its version, the LRS answers as
//! 1.0.3, and the Statements resource says how far it is consistent. Also HEAD, which the
//! specification requires wherever GET is allowed, and the alternate request syntax
//! ([`alternate`]), read before anything else.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};

use super::{alternate, answer};
use crate::error::Error;
use crate::http::AppState;

/// The version the LRS speaks.
pub const VERSION: &str = "1.0.3";
/// The versions it accepts from clients, newest first (every 1.0.x is accepted).
pub const ACCEPTED: [&str; 4] = ["1.0.3", "1.0.2", "1.0.1", "1.0.0"];

pub const VERSION_HEADER: &str = "x-experience-api-version";

/// Whether a client's `X-Experience-API-Version` is one the LRS speaks: any 1.0.x.
pub fn accepted(version: &str) -> bool {
    match version.strip_prefix("1.0") {
        Some("") => true,
        Some(rest) => rest
            .strip_prefix('.')
            .is_some_and(|patch| !patch.is_empty() && patch.bytes().all(|b| b.is_ascii_digit())),
        None => false,
    }
}

fn is_lrs(path: &str) -> bool {
    path == "/xapi" || path.starts_with("/xapi/")
}

/// The Statements resource, whose every answer says how far it is consistent.
const STATEMENTS: &str = "/xapi/statements";

/// The header of that time (Communication 2.1.3.s2.b5).
pub const CONSISTENT_THROUGH: &str = "x-experience-api-consistent-through";

/// The headers of every answer of the LRS, whatever gave it (the rate limit, a refused version
/// or credentials, a handler): the version the LRS speaks, the Basic challenge LRS clients
/// look for on a 401, and on the Statements resource `X-Experience-API-Consistent-Through`.
/// Wraps the rate limit, so that a 429 carries them too.
pub async fn answers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if !is_lrs(req.path()) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    // Taken before the request is served: every statement stored before it is visible to
    // the query that follows.
    let through = (req.path() == STATEMENTS)
        .then(|| req.app_data::<web::Data<AppState>>())
        .flatten()
        .map(|state| answer::consistent_through(state.db.kind()));
    let response = next.call(req).await?.map_into_boxed_body();
    let (request, mut response) = response.into_parts();
    let headers = response.headers_mut();
    headers.insert(
        header::HeaderName::from_static(VERSION_HEADER),
        header::HeaderValue::from_static(VERSION),
    );
    if let Some(value) = through.and_then(|t| header::HeaderValue::from_str(&t).ok()) {
        headers.insert(header::HeaderName::from_static(CONSISTENT_THROUGH), value);
    }
    if response.status() == StatusCode::UNAUTHORIZED {
        response.headers_mut().append(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"xAPI\""),
        );
    }
    Ok(ServiceResponse::new(request, response))
}

/// Reads an LRS request as the request it stands for (the alternate request syntax), checks
/// its version, and answers HEAD as GET without the body.
pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if !is_lrs(req.path()) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    if let Err(error) = alternate::rewrite(&mut req).await {
        return Ok(req.into_response(error.error_response()));
    }
    // The About resource tells a client which versions to send, so it needs none itself.
    if req.path() != "/xapi/about" {
        let sent = req
            .headers()
            .get(VERSION_HEADER)
            .map(|v| v.to_str().unwrap_or("").trim().to_owned());
        let refusal = match sent {
            None => Some("every xAPI request must name its version in X-Experience-API-Version"),
            Some(v) if !accepted(&v) => {
                Some("X-Experience-API-Version must be a 1.0.x version; this LRS speaks 1.0.3")
            }
            Some(_) => None,
        };
        if let Some(detail) = refusal
            && req.method() != Method::OPTIONS
        {
            let response = Error::BadRequest {
                detail: detail.into(),
                field: Some("X-Experience-API-Version".into()),
            }
            .error_response();
            return Ok(req.into_response(response));
        }
    }
    let head = req.method() == Method::HEAD;
    if head {
        req.head_mut().method = Method::GET;
    }
    let response = next.call(req).await?.map_into_boxed_body();
    if !head {
        return Ok(response);
    }
    // A HEAD answer keeps its headers and drops its body.
    let (request, response) = response.into_parts();
    let (response, _) = response.into_parts();
    Ok(ServiceResponse::new(
        request,
        response.set_body(BoxBody::new(())),
    ))
}

#[cfg(test)]
mod tests {
    use super::accepted;

    #[test]
    fn every_1_0_x_is_accepted_and_nothing_else() {
        for v in ["1.0", "1.0.0", "1.0.1", "1.0.2", "1.0.3", "1.0.9", "1.0.10"] {
            assert!(accepted(v), "{v}");
        }
        for v in [
            "", "1", "1.1", "1.1.0", "0.95", "2.0.0", "1.0.", "1.0.x", "1.0.3a", "1.00",
        ] {
            assert!(!accepted(v), "{v}");
        }
    }
}
