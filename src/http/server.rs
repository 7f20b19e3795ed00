//! The HTTP server: the routes, their middleware, and the background work of each instance.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use tracing_actix_web::TracingLogger;
use utoipa_actix_web::AppExt;

use super::AppState;
use super::body::{BatchLimit, BodyLimit};
use super::fallback::RouteTable;
use super::metrics::Metrics;
use super::routes::{api, openapi};
use crate::{http, webhooks, xapi};

/// The HTTP server over a bound listener.
pub fn server(state: AppState, listener: TcpListener) -> std::io::Result<Server> {
    let workers = state.settings.workers;
    let blocking_threads = usize::try_from(state.settings.db_pool_size)
        .unwrap_or(usize::MAX)
        .max(1);
    let client_timeout = std::time::Duration::from_secs(state.settings.client_timeout_seconds);
    let limit = web::Data::new(BodyLimit(state.settings.max_body_bytes));
    let batch_limit = web::Data::new(BatchLimit(state.settings.max_batch_bytes));
    let state = web::Data::new(state);
    let doc = openapi();
    let routes = web::Data::new(RouteTable::from_openapi(&doc));
    let metrics = web::Data::new(Metrics::new());
    webhooks::worker::spawn(state.clone(), metrics.get_ref().clone());
    if let Some(addr) = &state.settings.protection.metrics_addr {
        let scraped = http::metrics::separate_server(
            metrics.get_ref().clone(),
            addr,
            state.settings.protection.metrics_token.clone(),
        )?;
        actix_web::rt::spawn(scraped);
    }
    let origins = state.settings.cors_origins.clone();
    let did_at = did_path(&state.settings.issuer());
    let organisation_did_at = did_at.replace("/did.json", "/organisations/{id}/did.json");
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(limit.clone())
            .app_data(batch_limit.clone())
            .app_data(routes.clone())
            .app_data(metrics.clone())
            .app_data(http::path_config())
            .into_utoipa_app()
            .configure(api)
            .into_app()
            .service(http::docs::docs_redirect)
            .service(http::docs::swagger_ui(doc.clone()))
            .route(
                &did_at,
                web::get().to(crate::credentials::handlers::did_json),
            )
            .route(
                &organisation_did_at,
                web::get().to(crate::credentials::handlers::organisation_did_json),
            )
            .default_service(web::to(http::fallback::not_found))
            .wrap(from_fn(xapi::version::middleware))
            .wrap(from_fn(http::limits::middleware))
            .wrap(from_fn(xapi::version::answers))
            .wrap(http::security::cors(&origins))
            .wrap(http::security::headers())
            .wrap(TracingLogger::<http::logging::RequestSpan>::new())
            .wrap(from_fn(http::metrics::middleware))
            .wrap(from_fn(http::request_id::middleware))
    })
    .shutdown_timeout(20)
    // A slow client must send its request head in time; idle connections close after 30 s.
    .client_request_timeout(client_timeout)
    .client_disconnect_timeout(std::time::Duration::from_secs(5))
    .keep_alive(std::time::Duration::from_secs(30))
    // Nearly every blocking task holds a database connection, so no worker needs more blocking
    // threads than the pool has connections: a burst would otherwise start a thread per waiting
    // request (up to 512 shared among the workers), each with its stack and, under glibc, its
    // own malloc arena, kept after the burst.
    .worker_max_blocking_threads(blocking_threads)
    .listen(listener)?;
    if let Some(workers) = workers {
        server = server.workers(workers);
    }
    Ok(server.run())
}

/// Where `did:web` resolution looks for the service's DID document when its public URL has a
/// path (`https://host/passport` → `/passport/did.json`); `/did.json` when it has none, where
/// the route of that name answers too.
fn did_path(public_url: &str) -> String {
    let path = url::Url::parse(public_url)
        .map(|u| u.path().trim_end_matches('/').to_owned())
        .unwrap_or_default();
    format!("{path}/did.json")
}
