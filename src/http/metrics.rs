//! Prometheus metrics: request counts and latencies by route pattern and status.

use std::sync::Arc;
use std::time::Instant;

use crate::error::Error;
use crate::http::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, get, web};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

/// The service's metrics registry.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    webhook_attempts: IntCounterVec,
    webhook_latency: HistogramVec,
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        let registry =
            Registry::new_custom(Some("passport".into()), None).expect("metrics registry");
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests answered"),
            &["method", "route", "status"],
        )
        .expect("metric");
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency"),
            &["method", "route"],
        )
        .expect("metric");
        let webhook_attempts = IntCounterVec::new(
            Opts::new(
                "webhook_attempts_total",
                "Webhook delivery attempts, by what followed: delivered, retrying or failed",
            ),
            &["outcome"],
        )
        .expect("metric");
        let webhook_latency = HistogramVec::new(
            HistogramOpts::new(
                "webhook_attempt_duration_seconds",
                "Time receivers took to answer",
            ),
            &["outcome"],
        )
        .expect("metric");
        for metric in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(webhook_attempts.clone()),
            Box::new(webhook_latency.clone()),
        ] {
            registry.register(metric).expect("register metric");
        }
        Arc::new(Metrics {
            registry,
            requests,
            latency,
            webhook_attempts,
            webhook_latency,
        })
    }

    /// Counts a webhook delivery attempt.
    pub fn webhook_attempt(&self, outcome: &str, seconds: f64) {
        self.webhook_attempts.with_label_values(&[outcome]).inc();
        self.webhook_latency
            .with_label_values(&[outcome])
            .observe(seconds);
    }
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req.app_data::<web::Data<Arc<Metrics>>>().cloned();
    let method = req.method().to_string();
    let response = next.call(req).await?;
    if let Some(metrics) = metrics {
        // The pattern, not the path: one series per route, whatever the ids.
        let route = super::logging::route(response.request());
        let status = response.status().as_u16().to_string();
        metrics
            .requests
            .with_label_values(&[method.as_str(), &route, status.as_str()])
            .inc();
        metrics
            .latency
            .with_label_values(&[method.as_str(), &route])
            .observe(started.elapsed().as_secs_f64());
    }
    Ok(response)
}

/// Prometheus metrics in the text exposition format. With `PASSPORT_METRICS_TOKEN` set, only
/// for `Authorization: Bearer <that token>`; with `PASSPORT_METRICS_ADDR` set, served on that
/// address instead, and not found here.
#[utoipa::path(
    operation_id = "getMetrics",
    tag = "operations",
    // Open unless a metrics token is configured, which is the operator's business, not an API
    // caller's.
    security(),
    responses(
        (status = 200, description = "Metrics in the Prometheus text format", content_type = "text/plain", body = String),
        (status = 401, description = "The metrics token is required and was not sent", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Metrics are served on a separate address", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/metrics")]
pub async fn export(
    req: HttpRequest,
    metrics: web::Data<Arc<Metrics>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    if state.settings.protection.metrics_addr.is_some() {
        return Err(Error::NotFound("no resource at /metrics".into()));
    }
    scrape(
        &req,
        &metrics,
        state.settings.protection.metrics_token.as_deref(),
    )
}

/// The metrics, for a scraper that shows the token when one is set.
fn scrape(
    req: &HttpRequest,
    metrics: &Metrics,
    token: Option<&str>,
) -> Result<HttpResponse, Error> {
    if let Some(expected) = token {
        let sent = crate::http::limits::bearer_token(req.headers()).unwrap_or_default();
        // Compared in constant time: the token is a secret.
        let same = sent.len() == expected.len()
            && sent
                .bytes()
                .zip(expected.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if !same {
            return Err(Error::Unauthorized(
                "the metrics need the metrics token as a bearer token".into(),
            ));
        }
    }
    Ok(encode(metrics))
}

/// A server of the metrics alone, on their own address (`PASSPORT_METRICS_ADDR`), so that the
/// API's address need not expose them.
pub fn separate_server(
    metrics: Arc<Metrics>,
    addr: &str,
    token: Option<String>,
) -> std::io::Result<actix_web::dev::Server> {
    let metrics = web::Data::new(metrics);
    Ok(actix_web::HttpServer::new(move || {
        let token = token.clone();
        actix_web::App::new().app_data(metrics.clone()).route(
            "/metrics",
            web::get().to(move |req: HttpRequest, metrics: web::Data<Arc<Metrics>>| {
                let token = token.clone();
                async move { scrape(&req, &metrics, token.as_deref()) }
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .bind(addr)?
    .run())
}

fn encode(metrics: &Metrics) -> HttpResponse {
    let mut buffer = Vec::new();
    let encoder = TextEncoder::new();
    if encoder
        .encode(&metrics.registry.gather(), &mut buffer)
        .is_err()
    {
        return HttpResponse::InternalServerError().finish();
    }
    HttpResponse::Ok()
        .content_type(encoder.format_type())
        .body(buffer)
}
