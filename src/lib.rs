//! Learning Passport: a lifelong training record owned by each member of health and care staff.
//!
//! The crate builds one service: [`AppState::start`] opens the database and keys, [`server`]
//! binds the routes of [`api`] to a listener. `main.rs` is the command line around it.

pub mod access;
pub mod activities;
pub mod attainments;
pub mod auth;
pub mod cli;
pub mod completions;
pub mod compliance;
pub mod config;
pub mod credentials;
pub mod db;
pub mod error;
pub mod frameworks;
pub mod grants;
pub mod http;
pub mod openapi;
pub mod organisations;
pub mod outbox;
pub mod people;
pub mod records;
pub mod sharing;
pub mod webhooks;
pub mod xapi;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use tracing_actix_web::TracingLogger;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

use crate::auth::keys::Keys;
use crate::auth::oidc::{JwksSource, OidcProvider};
use crate::auth::tokens::TokenService;
use crate::config::Settings;
use crate::db::Database;
use crate::error::Error;
use crate::http::body::{BatchLimit, BodyLimit};
use crate::http::fallback::RouteTable;
use crate::http::metrics::Metrics;

/// What every request handler can reach.
pub struct AppState {
    pub db: Database,
    pub tokens: TokenService,
    pub settings: Settings,
    /// Seals webhook signing secrets at rest.
    pub webhook_secrets: Arc<webhooks::sealing::SecretSeal>,
    /// The reverse proxies whose forwarding headers say who the caller is.
    pub proxies: http::client_address::TrustedProxies,
    /// Request rate limits.
    pub limiter: Arc<http::limits::RateLimiter>,
    /// Failed-authentication budgets, the hashing pool and recently verified secrets.
    pub attempts: Arc<auth::attempts::AuthAttempts>,
    /// Tests and re-sends of webhooks, per subscription, from this instance.
    pub webhook_sends: Arc<webhooks::limits::ManualSends>,
}

impl AppState {
    /// Opens the database (applying pending migrations) and loads the signing keys, creating the
    /// data folder and a first key when they do not exist.
    pub fn start(settings: Settings) -> Result<Self, Error> {
        Self::open(settings, true)
    }

    /// The same for a one-shot command: one connection, nothing left opening in the
    /// background when the command ends.
    pub fn for_command(mut settings: Settings) -> Result<Self, Error> {
        settings.db_pool_size = 1;
        Self::open(settings, false)
    }

    fn open(settings: Settings, keep_idle: bool) -> Result<Self, Error> {
        db::files::private_folder(&settings.data_dir)?;
        let database_url = settings.database_url();
        db::files::private_database(&database_url)?;
        let db = Database::connect(&database_url, settings.db_pool_size, keep_idle)?;
        db.migrate()?;
        // The webhook side hears of what the domains record.
        db.on_outbox(webhooks::fanout::drain);
        let keys = Arc::new(Keys::open(&settings.keys_dir())?);
        let webhook_secrets = Arc::new(webhooks::sealing::SecretSeal::open(&settings.keys_dir())?);
        webhooks::subscriptions::bind_secrets(&mut *db.get()?, &webhook_secrets)?;
        let oidc = match (
            &settings.oidc_issuer,
            &settings.oidc_audience,
            &settings.oidc_jwks,
        ) {
            (Some(issuer), Some(audience), Some(jwks)) => Some(Arc::new(OidcProvider::new(
                issuer.clone(),
                audience.clone(),
                JwksSource::parse(jwks)?,
            )?)),
            (None, None, None) => None,
            _ => {
                return Err(Error::Internal(
                    "set all of PASSPORT_OIDC_ISSUER, PASSPORT_OIDC_AUDIENCE and PASSPORT_OIDC_JWKS, or none".into(),
                ));
            }
        };
        let tokens = TokenService {
            keys,
            issuer: settings.issuer(),
            audience: settings.token_audience.clone(),
            oidc,
        };
        let proxies =
            http::client_address::TrustedProxies::parse(&settings.protection.trusted_proxies)?;
        let limiter = Arc::new(http::limits::RateLimiter::new(
            settings.rate_limit_per_minute,
        ));
        let hash_workers = settings.protection.hash_workers.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        });
        let attempts = Arc::new(auth::attempts::AuthAttempts::new(
            settings.protection.auth_failures_per_minute,
            hash_workers,
        ));
        Ok(AppState {
            db,
            tokens,
            settings,
            webhook_secrets,
            proxies,
            limiter,
            attempts,
            webhook_sends: Arc::default(),
        })
    }
}

/// Every API route. Registered with `service(...)` so that each lands in the OpenAPI document.
pub fn api(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(auth::handlers::token)
        .service(auth::handlers::jwks)
        .service(people::handlers::get_me)
        .service(people::handlers::patch_me)
        .service(records::handlers::list)
        .service(records::handlers::create)
        .service(records::handlers::get_one)
        .service(records::handlers::update)
        .service(records::handlers::remove)
        .service(grants::handlers::list)
        .service(grants::handlers::create)
        .service(grants::handlers::get_one)
        .service(grants::handlers::revoke)
        .service(access::handlers::list)
        .service(organisations::handlers::directory)
        .service(organisations::handlers::create)
        .service(organisations::handlers::get_one)
        .service(organisations::handlers::clients)
        .service(organisations::handlers::add_client)
        .service(organisations::handlers::revoke_client)
        .service(grants::handlers::received)
        .service(sharing::handlers::records)
        .service(sharing::handlers::record)
        .service(sharing::handlers::attainments)
        .service(completions::handlers::push)
        .service(completions::handlers::correct)
        .service(completions::handlers::void)
        .service(completions::handlers::history)
        .service(activities::handlers::list)
        .service(activities::handlers::put)
        .service(frameworks::handlers::list)
        .service(frameworks::handlers::get_one)
        .service(frameworks::handlers::publish)
        .service(attainments::handlers::list)
        .service(attainments::handlers::create)
        .service(attainments::handlers::get_one)
        .service(attainments::handlers::update)
        .service(attainments::handlers::remove)
        .service(attainments::handlers::verify)
        .service(attainments::handlers::progress)
        .service(compliance::handlers::list)
        .service(compliance::handlers::create)
        .service(compliance::handlers::get_one)
        .service(compliance::handlers::replace)
        .service(compliance::handlers::remove)
        .service(compliance::handlers::check)
        .service(compliance::handlers::worklist)
        .service(credentials::handlers::issue)
        .service(credentials::handlers::list)
        .service(credentials::handlers::revoke)
        .service(credentials::handlers::verify)
        .service(credentials::handlers::status_list)
        .service(credentials::handlers::did_document)
        .service(people::handlers::export)
        .service(people::handlers::erase)
        .service(webhooks::handlers::list)
        .service(webhooks::handlers::create)
        .service(webhooks::handlers::get_one)
        .service(webhooks::handlers::update)
        .service(webhooks::handlers::remove)
        .service(webhooks::handlers::rotate)
        .service(webhooks::handlers::test)
        .service(webhooks::handlers::deliveries)
        .service(webhooks::handlers::resend)
        .service(xapi::handlers::resources::about)
        .service(xapi::handlers::statements::put)
        .service(xapi::handlers::statements::post)
        .service(xapi::handlers::statements::get)
        .service(xapi::handlers::documents::put_state)
        .service(xapi::handlers::documents::post_state)
        .service(xapi::handlers::documents::get_state)
        .service(xapi::handlers::documents::delete_state)
        .service(xapi::handlers::documents::put_activity_profile)
        .service(xapi::handlers::documents::post_activity_profile)
        .service(xapi::handlers::documents::get_activity_profile)
        .service(xapi::handlers::documents::delete_activity_profile)
        .service(xapi::handlers::documents::put_agent_profile)
        .service(xapi::handlers::documents::post_agent_profile)
        .service(xapi::handlers::documents::get_agent_profile)
        .service(xapi::handlers::documents::delete_agent_profile)
        .service(xapi::handlers::resources::activity)
        .service(xapi::handlers::resources::agent)
        .service(http::health::live)
        .service(http::health::ready)
        .service(http::metrics::export);
}

/// The OpenAPI document the code describes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut doc) = App::new()
        .into_utoipa_app()
        .openapi(openapi::ApiDoc::openapi())
        .configure(api)
        .split_for_parts();
    // Applied to the finished document: the routes' operations exist only now.
    utoipa::Modify::modify(&openapi::StandardResponses, &mut doc);
    doc
}

/// The HTTP server over a bound listener.
pub fn server(state: AppState, listener: TcpListener) -> std::io::Result<Server> {
    let workers = state.settings.workers;
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
            .default_service(web::to(http::fallback::not_found))
            .wrap(from_fn(xapi::version::middleware))
            .wrap(from_fn(http::limits::middleware))
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
    .listen(listener)?;
    if let Some(workers) = workers {
        server = server.workers(workers);
    }
    Ok(server.run())
}
