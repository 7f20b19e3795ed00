//! The headers every xAPI exchange carries: the client names its version in
//! `X-Experience-API-Version` (any 1.0.x, or 2.0.x: xAPI 2.0 is IEEE 9274.1.1-2023), the LRS
//! answers each request by the rules of the version it names, saying which (1.0.3 or 2.0.0), and
//! the Statements resource says how far it is consistent. Also HEAD, which both versions require
//! wherever GET is allowed, and 1.0.x's alternate request syntax ([`alternate`]), read before
//! anything else.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, ResponseError, web};
use chrono::{SecondsFormat, Utc};

use super::alternate;
use crate::db::BackendKind;
use crate::error::Error;
use crate::http::AppState;

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
        .map(|state| consistent_through(&state.db));
    // Only 1.0.x has the alternate syntax: a request in it whose version was never read (a
    // malformed form) is answered as 1.0.3.
    let fallback = if alternate::asked(req.query_string()) {
        XapiVersion::V1_0
    } else {
        XapiVersion::NEWEST
    };
    let response = next.call(req).await?.map_into_boxed_body();
    let (request, mut response) = response.into_parts();
    // The version the request was served under; for one refused before its version was read
    // (the rate limit), the version its header names; else the fallback: the newest, which a
    // client that names none should learn of.
    let answered = XapiVersion::of(&request)
        .or_else(|| {
            request
                .headers()
                .get(VERSION_HEADER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| XapiVersion::parse(v.trim()))
        })
        .unwrap_or(fallback)
        .answered();
    let headers = response.headers_mut();
    headers.insert(
        header::HeaderName::from_static(VERSION_HEADER),
        header::HeaderValue::from_static(answered),
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

/// The refusal of the alternate syntax to a 2.0 request, and the field at fault.
const NO_ALTERNATE_SYNTAX: (&str, &str) = (
    "xAPI 2.0 has no Alternate Request Syntax: send the request with its own HTTP method and headers (`method` is not a parameter)",
    "method",
);

/// The version a request's `X-Experience-API-Version` names, if the LRS speaks it.
fn version_named(req: &ServiceRequest) -> Option<XapiVersion> {
    req.headers()
        .get(VERSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| XapiVersion::parse(v.trim()))
}

fn refused(detail: &str, field: &str) -> actix_web::HttpResponse {
    Error::BadRequest {
        detail: detail.into(),
        field: Some(field.into()),
    }
    .error_response()
}

/// Why a request cannot be answered under the version it names, if it cannot, and the field at
/// fault. `alternate`: the request came in the alternate request syntax, which 2.0 dropped.
fn refusal(
    req: &ServiceRequest,
    version: Option<XapiVersion>,
    alternate: bool,
) -> Option<(&'static str, &'static str)> {
    match version {
        // The About resource tells a client which versions to send, so it needs none itself.
        None if req.path() == "/xapi/about" => None,
        None if req.headers().contains_key(VERSION_HEADER) => Some((
            "X-Experience-API-Version must be 1.0.x or 2.0.x: this LRS speaks 1.0.3 and 2.0.0",
            "X-Experience-API-Version",
        )),
        None => Some((
            "every xAPI request must name its version in X-Experience-API-Version",
            "X-Experience-API-Version",
        )),
        Some(version) if alternate && !alternate_syntax_allowed(version) => {
            Some(NO_ALTERNATE_SYNTAX)
        }
        Some(_) => None,
    }
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
    let alternate = alternate::asked(req.query_string());
    // A 2.0 client is refused the syntax before its form is read.
    let named = version_named(&req);
    if alternate && named.is_some_and(|v| !alternate_syntax_allowed(v)) {
        let (detail, field) = NO_ALTERNATE_SYNTAX;
        return Ok(req.into_response(refused(detail, field)));
    }
    if let Err(error) = alternate::rewrite(&mut req).await {
        return Ok(req.into_response(error.error_response()));
    }
    let version = version_named(&req);
    if let Some((detail, field)) = refusal(&req, version, alternate)
        && req.method() != Method::OPTIONS
    {
        return Ok(req.into_response(refused(detail, field)));
    }
    if let Some(version) = version {
        req.extensions_mut().insert(version);
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

/// A time up to which every statement stored is visible to queries. On SQLite writes are
/// serial: it is now, or while a group of writes is being committed, the moment that group
/// began (less a millisecond, as the header counts in milliseconds). On PostgreSQL, where many
/// writers run at once, a statement stamped a moment ago may still be committing, so it is a
/// second ago.
pub fn consistent_through(db: &crate::db::Database) -> String {
    let through = match db.kind() {
        BackendKind::Sqlite => {
            db.grouped_writes_visible_before() - chrono::Duration::milliseconds(1)
        }
        BackendKind::Postgres => Utc::now() - chrono::Duration::seconds(1),
    };
    through.to_rfc3339_opts(SecondsFormat::Millis, true)
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
