//! What every request handler can reach, opened once at start-up.

use std::sync::Arc;

use crate::auth;
use crate::auth::keys::Keys;
use crate::auth::oidc::{JwksSource, OidcProvider};
use crate::auth::tokens::TokenService;
use crate::config::Settings;
use crate::db::{self, Database};
use crate::error::Error;
use crate::http;
use crate::webhooks;

/// What every request handler can reach.
pub struct AppState {
    pub db: Database,
    pub tokens: TokenService,
    pub settings: Settings,
    /// Seals webhook signing secrets at rest.
    pub webhook_secrets: Arc<webhooks::sealing::SecretSeal>,
    /// The key share codes' stored digests are made with.
    pub share_code_key: Arc<crate::share_codes::code::CodeKey>,
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
    /// data folder and a first key when they do not exist. Records in the database the issuer
    /// and audience of the service's tokens, which `token person` signs with.
    pub fn start(settings: Settings) -> Result<Self, Error> {
        let state = Self::open(settings, true)?;
        auth::issuer::record(
            &mut *state.db.get()?,
            &state.tokens.issuer,
            &state.tokens.audience,
        )?;
        Ok(state)
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
        crate::xapi::store::finish_migrations(&mut *db.get()?)?;
        // The webhook side hears of what the domains record.
        db.on_outbox(webhooks::fanout::drain);
        let keys = Arc::new(Keys::open(&settings.keys_dir())?);
        let webhook_secrets = Arc::new(webhooks::sealing::SecretSeal::open(&settings.keys_dir())?);
        let share_code_key = Arc::new(crate::share_codes::code::CodeKey::open(
            &settings.keys_dir(),
        )?);
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
        let tokens = TokenService::new(
            keys,
            settings.issuer(),
            settings.token_audience.clone(),
            oidc,
        );
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
            share_code_key,
            proxies,
            limiter,
            attempts,
            webhook_sends: Arc::default(),
        })
    }
}
