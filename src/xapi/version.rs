//! The headers every xAPI exchange carries: the client names its version in
//! `X-Experience-API-Version` (any 1.0.x, or 2.0.x: xAPI 2.0 is IEEE 9274.1.1-2023), and the LRS
//! answers each request by the rules of the version it names, saying which (1.0.3 or 2.0.0).
//! Also HEAD, which both versions require wherever GET is allowed.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError};

use crate::error::Error;

pub const VERSION_HEADER: &str = "x-experience-api-version";

/// The xAPI version a request speaks. Every 1.0.x is one version to the LRS (patches only
/// clarified the text), and so is every 2.0.x.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum XapiVersion {
    /// xAPI 1.0.0 to 1.0.3.
    V1_0,
    /// xAPI 2.0 (IEEE 9274.1.1-2023).
    V2_0,
}

impl XapiVersion {
    /// The newest version the LRS speaks: what it names when a request names none it knows.
    pub const NEWEST: XapiVersion = XapiVersion::V2_0;

    /// Reads `X-Experience-API-Version`: "1.0", "1.0.x", "2.0" or "2.0.x" (x digits).
    /// Anything else, 2.1.0 or 1.1.0 included, is no version the LRS speaks.
    pub fn parse(value: &str) -> Option<XapiVersion> {
        let (minor, version) = if let Some(rest) = value.strip_prefix("1.0") {
            (rest, XapiVersion::V1_0)
        } else if let Some(rest) = value.strip_prefix("2.0") {
            (rest, XapiVersion::V2_0)
        } else {
            return None;
        };
        let patch_ok = match minor {
            "" => true,
            rest => rest.strip_prefix('.').is_some_and(|patch| {
                !patch.is_empty() && patch.bytes().all(|b| b.is_ascii_digit())
            }),
        };
        patch_ok.then_some(version)
    }

    /// What the LRS names in its answers: the latest patch of the version it implements.
    pub fn answered(self) -> &'static str {
        match self {
            XapiVersion::V1_0 => "1.0.3",
            XapiVersion::V2_0 => "2.0.0",
        }
    }

    /// The `version` the LRS gives a statement stored without one (Data 2.4.10 of 1.0.3; the
    /// Version property of 2.0).
    pub fn statement_default(self) -> &'static str {
        match self {
            XapiVersion::V1_0 => "1.0.0",
            XapiVersion::V2_0 => "2.0.0",
        }
    }

    /// The versions the About resource lists to a client of this version. A 1.0.x client is
    /// told the 1.0.x versions only: 1.0.3 allows no other value there (Communication 2.8,
    /// XAPI-00316), and stock 1.0.3 clients (TinCanPython) refuse an About naming 2.0.0.
    pub fn listed(version: Option<XapiVersion>) -> &'static [&'static str] {
        const ALL: [&str; 5] = ["2.0.0", "1.0.3", "1.0.2", "1.0.1", "1.0.0"];
        match version {
            Some(XapiVersion::V1_0) => &ALL[1..],
            Some(XapiVersion::V2_0) | None => &ALL,
        }
    }

    /// The version the middleware read from this request; `None` only for the About resource
    /// asked without one (every other request without a version is refused before handlers).
    pub fn of(req: &HttpRequest) -> Option<XapiVersion> {
        req.extensions().get::<XapiVersion>().copied()
    }
}

/// Whether a request of this version may use the Alternate Request Syntax (Communication 1.3
/// of 1.0.3: a POST with `method=` in the query and the headers and content in a form body).
/// xAPI 2.0 removed it, so a 2.0 request using it is refused with 400; a rewrite of such
/// requests must ask this of the version named in the form before acting on it.
pub fn alternate_syntax_allowed(version: XapiVersion) -> bool {
    version == XapiVersion::V1_0
}

/// Whether a client's `X-Experience-API-Version` is one the LRS speaks: any 1.0.x or 2.0.x.
pub fn accepted(version: &str) -> bool {
    XapiVersion::parse(version).is_some()
}

fn is_lrs(path: &str) -> bool {
    path == "/xapi" || path.starts_with("/xapi/")
}

/// Why a request cannot be answered under the version it names, if it cannot.
fn refusal(req: &ServiceRequest, version: Option<XapiVersion>) -> Option<&'static str> {
    match version {
        None if req.path() == "/xapi/about" => None,
        None if req.headers().contains_key(VERSION_HEADER) => {
            Some("X-Experience-API-Version must be 1.0.x or 2.0.x: this LRS speaks 1.0.3 and 2.0.0")
        }
        None => Some("every xAPI request must name its version in X-Experience-API-Version"),
        Some(version)
            if !alternate_syntax_allowed(version)
                && form_urlencoded::parse(req.query_string().as_bytes())
                    .any(|(name, _)| name == "method") =>
        {
            Some(
                "xAPI 2.0 has no Alternate Request Syntax: send the request with its own HTTP method and headers (`method` is not a parameter)",
            )
        }
        Some(_) => None,
    }
}

pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if !is_lrs(req.path()) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let version = req
        .headers()
        .get(VERSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| XapiVersion::parse(v.trim()));
    // Refusals name the newest version: the one a client that names none should learn of.
    let answered = version.unwrap_or(XapiVersion::NEWEST).answered();
    if let Some(detail) = refusal(&req, version)
        && req.method() != Method::OPTIONS
    {
        let field = if version.is_some() {
            "method"
        } else {
            "X-Experience-API-Version"
        };
        let response = Error::BadRequest {
            detail: detail.into(),
            field: Some(field.into()),
        }
        .error_response();
        return Ok(req.into_response(finish(response, false, answered)));
    }
    if let Some(version) = version {
        req.extensions_mut().insert(version);
    }
    let head = req.method() == Method::HEAD;
    if head {
        req.head_mut().method = Method::GET;
    }
    let response = next.call(req).await?;
    let (request, response) = response.into_parts();
    let response = finish(response.map_into_boxed_body(), head, answered);
    Ok(ServiceResponse::new(request, response))
}

/// Adds the version header (and the Basic challenge LRS clients look for); a HEAD answer keeps
/// its headers and drops its body.
fn finish(
    mut response: HttpResponse<BoxBody>,
    head: bool,
    answered: &'static str,
) -> HttpResponse<BoxBody> {
    let headers = response.headers_mut();
    headers.insert(
        header::HeaderName::from_static(VERSION_HEADER),
        header::HeaderValue::from_static(answered),
    );
    if response.status() == actix_web::http::StatusCode::UNAUTHORIZED {
        response.headers_mut().append(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"xAPI\""),
        );
    }
    if head {
        let (response, _) = response.into_parts();
        return response.set_body(BoxBody::new(()));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::{XapiVersion, accepted, alternate_syntax_allowed};

    #[test]
    fn every_1_0_x_and_2_0_x_is_accepted_and_nothing_else() {
        for v in ["1.0", "1.0.0", "1.0.1", "1.0.2", "1.0.3", "1.0.9", "1.0.10"] {
            assert_eq!(XapiVersion::parse(v), Some(XapiVersion::V1_0), "{v}");
        }
        for v in ["2.0", "2.0.0", "2.0.1", "2.0.12"] {
            assert_eq!(XapiVersion::parse(v), Some(XapiVersion::V2_0), "{v}");
        }
        for v in [
            "",
            "1",
            "1.1",
            "1.1.0",
            "0.95",
            "2",
            "2.1.0",
            "2.0.",
            "2.0.x",
            "3.0.0",
            "1.0.",
            "1.0.x",
            "1.0.3a",
            "1.00",
            "2.00",
            "2.0.0-rc1",
        ] {
            assert!(!accepted(v), "{v}");
        }
    }

    #[test]
    fn each_version_is_answered_as_its_latest_patch() {
        assert_eq!(XapiVersion::V1_0.answered(), "1.0.3");
        assert_eq!(XapiVersion::V2_0.answered(), "2.0.0");
        assert_eq!(XapiVersion::NEWEST, XapiVersion::V2_0);
    }

    #[test]
    fn about_lists_both_versions_but_to_a_1_0_client() {
        assert_eq!(
            XapiVersion::listed(None),
            ["2.0.0", "1.0.3", "1.0.2", "1.0.1", "1.0.0"]
        );
        assert_eq!(
            XapiVersion::listed(Some(XapiVersion::V2_0)),
            XapiVersion::listed(None)
        );
        assert!(
            XapiVersion::listed(Some(XapiVersion::V1_0))
                .iter()
                .all(|v| v.starts_with("1.0."))
        );
    }

    /// Communication 1.3 of 1.0.3 defines the Alternate Request Syntax; xAPI 2.0 dropped it.
    #[test]
    fn the_alternate_request_syntax_is_for_1_0_only() {
        assert!(alternate_syntax_allowed(XapiVersion::V1_0));
        assert!(!alternate_syntax_allowed(XapiVersion::V2_0));
    }
}
