//! Settings, from command-line flags or the environment (flags win).

use std::path::PathBuf;

use clap::{Args, FromArgMatches, ValueEnum};

use crate::db::Database;

/// Settings shared by every command.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Address to listen on.
    #[arg(
        long,
        env = "PASSPORT_ADDR",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub addr: String,

    /// HTTP worker threads (default: one per CPU core).
    #[arg(long, env = "PASSPORT_WORKERS", global = true)]
    pub workers: Option<usize>,

    /// Folder for the SQLite database and the signing keys.
    #[arg(
        long,
        env = "PASSPORT_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// `postgres://…` for PostgreSQL; otherwise an SQLite file (default: DATA_DIR/passport.db).
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Database connections in the pool.
    #[arg(
        long,
        env = "PASSPORT_DB_POOL_SIZE",
        default_value_t = 10,
        global = true
    )]
    pub db_pool_size: u32,

    /// The public base URL of the service: the `iss` of the tokens it signs.
    /// Default: `http://` followed by the listening address.
    #[arg(long, env = "PASSPORT_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// The `aud` of the tokens the service signs and accepts.
    #[arg(
        long,
        env = "PASSPORT_TOKEN_AUDIENCE",
        default_value = "learning-passport",
        global = true
    )]
    pub token_audience: String,

    /// Lifetime of organisation access tokens, in seconds.
    #[arg(
        long,
        env = "PASSPORT_CLIENT_TOKEN_TTL",
        default_value_t = 900,
        global = true
    )]
    pub client_token_ttl: i64,

    /// The longest a person may grant access for, in days (1 to 3650).
    #[arg(
        long,
        env = "PASSPORT_GRANT_MAX_DAYS",
        default_value_t = 365,
        value_parser = clap::value_parser!(i64).range(1..=3650),
        global = true
    )]
    pub grant_max_days: i64,

    /// How long an access request waits for the person's answer, in days.
    #[arg(
        long,
        env = "PASSPORT_ACCESS_REQUEST_DAYS",
        default_value_t = 30,
        value_parser = clap::value_parser!(i64).range(1..=365),
        global = true
    )]
    pub access_request_days: i64,

    /// The most access requests one organisation may make in 24 hours.
    #[arg(
        long,
        env = "PASSPORT_ACCESS_REQUESTS_PER_DAY",
        default_value_t = 1000,
        value_parser = clap::value_parser!(i64).range(1..),
        global = true
    )]
    pub access_requests_per_day: i64,

    /// Issuer of person tokens from an external OpenID Connect provider.
    #[arg(long, env = "PASSPORT_OIDC_ISSUER", global = true)]
    pub oidc_issuer: Option<String>,

    /// Audience the external provider's tokens must carry.
    #[arg(long, env = "PASSPORT_OIDC_AUDIENCE", global = true)]
    pub oidc_audience: Option<String>,

    /// The external provider's JWKS: an https URL (fetched, cached, refetched on an unknown
    /// key id) or a file path.
    #[arg(long, env = "PASSPORT_OIDC_JWKS", global = true)]
    pub oidc_jwks: Option<String>,

    /// Largest request body accepted, in bytes.
    #[arg(long, env = "PASSPORT_MAX_BODY_BYTES", default_value_t = 1 << 20, global = true)]
    pub max_body_bytes: usize,

    /// Largest batch push body accepted (up to 1,000 completions), in bytes; also the largest
    /// xAPI request body (statements with attachments, a document, an alternate-syntax form).
    #[arg(long, env = "PASSPORT_MAX_BATCH_BYTES", default_value_t = 8 << 20, global = true)]
    pub max_batch_bytes: usize,

    /// Requests per minute per client (per bearer token, or per address without one); 0: no limit.
    #[arg(
        long,
        env = "PASSPORT_RATE_LIMIT_PER_MINUTE",
        default_value_t = 6000,
        global = true
    )]
    pub rate_limit_per_minute: u32,

    /// Seconds a client has to send its request head before the connection is closed (408).
    #[arg(
        long,
        env = "PASSPORT_CLIENT_TIMEOUT_SECONDS",
        default_value_t = 10,
        global = true
    )]
    pub client_timeout_seconds: u64,

    /// Origins allowed to call the API from a browser, comma-separated (none by default).
    #[arg(
        long,
        env = "PASSPORT_CORS_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub cors_origins: Vec<String>,

    /// Log format.
    #[arg(long, env = "PASSPORT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    #[command(flatten)]
    pub webhooks: WebhookSettings,

    #[command(flatten)]
    pub protection: ProtectionSettings,

    #[command(flatten)]
    pub xapi: XapiSettings,
}

/// How the service protects itself and its callers from hostile or runaway clients.
#[derive(Debug, Clone, Args)]
pub struct ProtectionSettings {
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` headers are believed, as IP
    /// addresses or CIDR ranges, comma-separated. None by default: the caller's address is the
    /// connection's peer.
    #[arg(
        long = "trusted-proxies",
        env = "PASSPORT_TRUSTED_PROXIES",
        value_delimiter = ',',
        global = true
    )]
    pub trusted_proxies: Vec<String>,

    /// Failed authentications allowed per caller address per minute (with bursts of as many);
    /// beyond it, credentials from that address are answered 429 without being checked.
    #[arg(
        long = "auth-failures-per-minute",
        env = "PASSPORT_AUTH_FAILURES_PER_MINUTE",
        default_value_t = 30,
        global = true
    )]
    pub auth_failures_per_minute: u32,

    /// Client secrets checked at once (each an argon2id hash); default one per CPU core.
    #[arg(long = "hash-workers", env = "PASSPORT_HASH_WORKERS", global = true)]
    pub hash_workers: Option<usize>,

    /// Serve `/metrics` on this separate address instead of the API's (e.g. `127.0.0.1:9090`).
    #[arg(long = "metrics-addr", env = "PASSPORT_METRICS_ADDR", global = true)]
    pub metrics_addr: Option<String>,

    /// Require `Authorization: Bearer <this token>` on `/metrics`.
    #[arg(
        long = "metrics-token",
        env = "PASSPORT_METRICS_TOKEN",
        global = true,
        hide_env_values = true
    )]
    pub metrics_token: Option<String>,
}

impl Default for ProtectionSettings {
    /// The command line's defaults.
    fn default() -> Self {
        command_line_defaults()
    }
}

/// What one organisation may keep in the LRS, and how much one answer may carry.
#[derive(Debug, Clone, Args)]
pub struct XapiSettings {
    /// Largest answer to a statement query, in bytes: the statements and, with
    /// `attachments=true`, their attachments. A page is cut short to fit (its `more` link goes
    /// on from there); it always holds at least one statement.
    #[arg(
        long = "xapi-max-answer-bytes",
        env = "PASSPORT_XAPI_MAX_ANSWER_BYTES",
        default_value_t = 16 << 20,
        global = true
    )]
    pub max_answer_bytes: usize,

    /// Most statements one organisation's LRS holds (voiding statements count).
    #[arg(
        long = "xapi-max-statements",
        env = "PASSPORT_XAPI_MAX_STATEMENTS",
        default_value_t = 10_000_000,
        global = true
    )]
    pub max_statements: u64,

    /// Most State, Activity Profile and Agent Profile documents one organisation's LRS holds.
    #[arg(
        long = "xapi-max-documents",
        env = "PASSPORT_XAPI_MAX_DOCUMENTS",
        default_value_t = 100_000,
        global = true
    )]
    pub max_documents: u64,

    /// Most bytes of attachment content one organisation's LRS holds (each distinct attachment
    /// counts once).
    #[arg(
        long = "xapi-max-attachment-bytes",
        env = "PASSPORT_XAPI_MAX_ATTACHMENT_BYTES",
        default_value_t = 10 << 30,
        global = true
    )]
    pub max_attachment_bytes: u64,
}

impl Default for XapiSettings {
    /// The command line's defaults.
    fn default() -> Self {
        command_line_defaults()
    }
}

/// How webhooks are delivered.
#[derive(Debug, Clone, Args)]
pub struct WebhookSettings {
    /// Deliver webhooks from this instance (several instances share the work safely).
    #[arg(long = "webhook-worker", env = "PASSPORT_WEBHOOK_WORKER", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub worker: bool,

    /// Allow webhook URLs on loopback, private and link-local addresses, and plain http to
    /// loopback: for local development and tests only.
    #[arg(long = "webhook-allow-private", env = "PASSPORT_WEBHOOK_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub allow_private: bool,

    /// For how long a failing delivery is retried before it is given up, in hours.
    #[arg(
        long = "webhook-retry-hours",
        env = "PASSPORT_WEBHOOK_RETRY_HOURS",
        default_value_t = 72,
        global = true
    )]
    pub retry_hours: u64,

    /// The first retry's delay in milliseconds; each further retry waits twice as long (at most
    /// an hour), with random jitter.
    #[arg(
        long = "webhook-retry-base-ms",
        env = "PASSPORT_WEBHOOK_RETRY_BASE_MS",
        default_value_t = 5000,
        global = true
    )]
    pub retry_base_ms: u64,

    /// Time allowed for one delivery attempt (the connection itself gets at most 3 s), in seconds.
    #[arg(
        long = "webhook-timeout-seconds",
        env = "PASSPORT_WEBHOOK_TIMEOUT_SECONDS",
        default_value_t = 10,
        global = true
    )]
    pub timeout_seconds: u64,

    /// How often the worker looks for due deliveries, in milliseconds (a change made through
    /// this instance wakes it at once).
    #[arg(
        long = "webhook-poll-ms",
        env = "PASSPORT_WEBHOOK_POLL_MS",
        default_value_t = 500,
        global = true
    )]
    pub poll_ms: u64,

    /// How often grants are checked for `grant.expiring` and `grant.expired`, and the outbox for
    /// events a crash left, in seconds.
    #[arg(
        long = "webhook-sweep-seconds",
        env = "PASSPORT_WEBHOOK_SWEEP_SECONDS",
        default_value_t = 60,
        global = true
    )]
    pub sweep_seconds: u64,

    /// Days before a grant's expiry at which `grant.expiring` is sent.
    #[arg(
        long = "grant-expiring-days",
        env = "PASSPORT_GRANT_EXPIRING_DAYS",
        default_value_t = 14,
        global = true
    )]
    pub expiring_days: i64,

    /// For how long a rotated-out signing secret keeps signing alongside the new one, in hours.
    #[arg(
        long = "webhook-secret-grace-hours",
        env = "PASSPORT_WEBHOOK_SECRET_GRACE_HOURS",
        default_value_t = 24,
        global = true
    )]
    pub secret_grace_hours: u64,
}

impl Default for WebhookSettings {
    /// The command line's defaults.
    fn default() -> Self {
        command_line_defaults()
    }
}

/// A group of settings as the command line makes it from no flags, whatever the environment
/// says: the defaults are written once, in the flags' `default_value`s.
fn command_line_defaults<T: Args + FromArgMatches>() -> T {
    T::augment_args(clap::Command::new("defaults"))
        .mut_args(|arg| arg.env(None))
        .try_get_matches_from(["defaults"])
        .and_then(|matches| T::from_arg_matches(&matches))
        .expect("every setting of the group has a default")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl Settings {
    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.is_empty() => url.clone(),
            _ => Database::default_sqlite_url(&self.data_dir),
        }
    }

    pub fn keys_dir(&self) -> PathBuf {
        self.data_dir.join("keys")
    }

    /// The settings an access request is made under.
    pub fn access_request_limits(&self) -> crate::access_requests::Limits {
        crate::access_requests::Limits {
            grant_max_days: self.grant_max_days,
            expiry_days: self.access_request_days,
            per_day: self.access_requests_per_day,
        }
    }

    /// The service's own token issuer.
    pub fn issuer(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.addr))
            .trim_end_matches('/')
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_command_lines() {
        let webhooks = WebhookSettings::default();
        assert!(webhooks.worker);
        assert!(!webhooks.allow_private);
        assert_eq!(
            (
                webhooks.retry_hours,
                webhooks.retry_base_ms,
                webhooks.timeout_seconds,
                webhooks.poll_ms,
                webhooks.sweep_seconds,
                webhooks.expiring_days,
                webhooks.secret_grace_hours,
            ),
            (72, 5000, 10, 500, 60, 14, 24)
        );

        let xapi = XapiSettings::default();
        assert_eq!(xapi.max_answer_bytes, 16 << 20);
        assert_eq!(
            (
                xapi.max_statements,
                xapi.max_documents,
                xapi.max_attachment_bytes
            ),
            (10_000_000, 100_000, 10 << 30)
        );

        let protection = ProtectionSettings::default();
        assert!(protection.trusted_proxies.is_empty());
        assert_eq!(protection.auth_failures_per_minute, 30);
        assert_eq!(protection.hash_workers, None);
        assert_eq!(protection.metrics_addr, None);
        assert_eq!(protection.metrics_token, None);
    }
}
