//! One structured log line per request, inside a span that carries the request id.
//!
//! The line holds the method, the matched route pattern (not the raw path or query, which may
//! hold search terms), the status and the latency: no tokens and no personal data.

use std::rc::Rc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{HttpMessage, HttpRequest};
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;

use super::request_id::RequestId;

#[derive(Clone, Copy)]
struct Started(Instant);

/// The pattern of the route a request matched, found once for its log line and its metrics:
/// finding it walks the routes again.
#[derive(Clone)]
struct Route(Rc<str>);

/// The route pattern a request matched (`unmatched` if none), not its path: one log field and
/// one metrics series per route, whatever the ids in the path.
pub(super) fn route(request: &HttpRequest) -> Rc<str> {
    if let Some(Route(route)) = request.extensions().get::<Route>() {
        return route.clone();
    }
    let route: Rc<str> = request
        .match_pattern()
        .map_or_else(|| Rc::from("unmatched"), Rc::from);
    request.extensions_mut().insert(Route(route.clone()));
    route
}

pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        request.extensions_mut().insert(Started(Instant::now()));
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(|id| id.0.clone())
            .unwrap_or_default();
        let route = route(request.request());
        tracing::info_span!(
            "request",
            request_id = %request_id,
            method = %request.method(),
            route = %route,
        )
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        let _entered = span.enter();
        match outcome {
            Ok(response) => {
                let latency_ms = response
                    .request()
                    .extensions()
                    .get::<Started>()
                    .map(|s| s.0.elapsed().as_secs_f64() * 1000.0)
                    .unwrap_or_default();
                let status = response.status().as_u16();
                if status >= 500 {
                    tracing::error!(status, latency_ms, "request failed");
                } else {
                    tracing::info!(status, latency_ms, "request");
                }
            }
            Err(error) => tracing::error!(error = %error, "request failed"),
        }
    }
}
