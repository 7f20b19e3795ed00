//! The command line: `serve` (the default) and the administrator's commands.

use std::net::TcpListener;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::auth::{Scopes, issuer};
use crate::config::{LogFormat, Settings};
use crate::error::Error;
use crate::http::pagination::every_page;
use crate::{AppState, organisations};

#[derive(Debug, Parser)]
#[command(
    name = "learning-passport",
    version,
    about = "A lifelong training record owned by health and care staff"
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Which settings naming the service in its tokens were given rather than defaulted.
    #[arg(skip)]
    pub given: Given,
}

/// Whether the settings that make a token's issuer and audience were given, as flags or in
/// the environment: a token command follows what it is told, and otherwise what the service
/// recorded.
#[derive(Debug, Clone, Copy, Default)]
pub struct Given {
    /// `--public-url` or `--addr`.
    pub issuer: bool,
    /// `--token-audience`.
    pub audience: bool,
}

impl Given {
    fn of(matches: &ArgMatches) -> Self {
        let given = |id: &str| {
            matches!(
                matches.value_source(id),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            )
        };
        Given {
            issuer: given("public_url") || given("addr"),
            audience: given("token_audience"),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service (the default command).
    Serve,
    /// Apply pending database migrations.
    Migrate,
    /// Organisations and their API clients.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Mint tokens for local use.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// The service's signing keys (in DATA_DIR/keys).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Learning-outcomes frameworks.
    Framework {
        #[command(subcommand)]
        command: FrameworkCommand,
    },
    /// The activity catalogue.
    Activities {
        #[command(subcommand)]
        command: ActivitiesCommand,
    },
    /// Print the OpenAPI document.
    Openapi,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new key: it is published at once (running instances pick it up within 30
    /// seconds) and signs five minutes later, once verifiers' cached key sets hold it; older
    /// keys keep verifying what they signed.
    Rotate {
        /// Sign with the new key at once (after a compromise of the signing key).
        #[arg(long)]
        now: bool,
    },
    /// Remove a key that no longer signs: what it signed stops verifying. Refused while
    /// credentials it signed have neither expired nor been revoked, unless forced.
    Retire {
        kid: String,
        /// Retire it even though credentials it signed would stop verifying.
        #[arg(long)]
        force: bool,
    },
    /// List the keys, oldest first, and which signs.
    List,
}

#[derive(Debug, Subcommand)]
pub enum FrameworkCommand {
    /// Publish a framework from a file in the framework format, or a 1EdTech CASE 1.0 package.
    Import { file: std::path::PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum ActivitiesCommand {
    /// Import a catalogue file (`{"activities": [...]}`, e.g. reference/activities/cstf.json); all or nothing.
    Import { file: std::path::PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organisation with one API client; prints its credentials (the secret only once).
    Create {
        #[arg(long)]
        name: String,
        /// The organisation's ODS code.
        #[arg(long)]
        ods: Option<String>,
        /// Space-separated scopes: records:write, shared:read, clients:manage, admin.
        #[arg(long)]
        scopes: String,
    },
    /// Add an API client to an organisation; prints its credentials (the secret only once).
    AddClient {
        #[arg(long)]
        organisation: uuid::Uuid,
        /// Space-separated scopes: records:write, shared:read, clients:manage, admin.
        #[arg(long)]
        scopes: String,
    },
    /// List an organisation's clients (without secrets).
    Clients {
        #[arg(long)]
        organisation: uuid::Uuid,
    },
    /// Revoke a client: its tokens are refused from the next request on.
    RevokeClient { client_id: String },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// A person token signed by the service key, naming the issuer and audience the service
    /// recorded in this database as it started (unless --public-url, --addr or
    /// --token-audience say otherwise).
    Person {
        #[arg(long)]
        subject: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: i64,
    },
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_env("PASSPORT_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        // tracing-actix-web would log every error response a second time.
        .unwrap_or_else(|_| EnvFilter::new("info,tracing_actix_web=off"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
        LogFormat::Text => builder.init(),
    }
}

pub fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let mut cli =
        Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut Cli::command()).exit());
    cli.given = Given::of(&matches);
    init_logging(cli.settings.log_format);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    crate::allocator::check_setting().map_err(anyhow::Error::msg)?;
    let settings = cli.settings;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings),
        Command::Migrate => {
            let state = AppState::for_command(settings)?;
            tracing::info!(database = state.db.kind().name(), "migrations applied");
            Ok(())
        }
        Command::Org { command } => org(settings, command),
        Command::Token {
            command:
                TokenCommand::Person {
                    subject,
                    email,
                    name,
                    ttl,
                },
        } => {
            let mut state = AppState::for_command(settings)?;
            sign_as_the_service(&mut state, cli.given)?;
            let token = state.tokens.issue_person_token(
                &subject,
                email.as_deref(),
                name.as_deref(),
                ttl,
            )?;
            println!("{token}");
            Ok(())
        }
        Command::Activities {
            command: ActivitiesCommand::Import { file },
        } => import_activities(settings, &file),
        Command::Keys { command } => keys(settings, command),
        Command::Framework {
            command: FrameworkCommand::Import { file },
        } => {
            let json = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let state = AppState::for_command(settings)?;
            let imported = crate::frameworks::import(&mut *state.db.get()?, &json)
                .map_err(|e| invalid_file(&file, "valid", e))?;
            print_json(&imported)
        }
        Command::Openapi => {
            println!("{}", crate::openapi().to_pretty_json()?);
            Ok(())
        }
    }
}

/// `org …`: organisations and their clients.
fn org(settings: Settings, command: OrgCommand) -> anyhow::Result<()> {
    // Scopes are checked before the database is opened.
    let scopes = match &command {
        OrgCommand::Create { scopes, .. } | OrgCommand::AddClient { scopes, .. } => {
            Some(Scopes::parse(scopes)?)
        }
        _ => None,
    }
    .unwrap_or_default();
    let state = AppState::for_command(settings)?;
    let mut conn = state.db.get()?;
    match command {
        OrgCommand::Create { name, ods, .. } => {
            let credentials = crate::db::transaction(&mut conn, |conn| {
                let organisation = organisations::create(conn, &name, ods.as_deref())?;
                organisations::create_client(conn, organisation.id, &scopes)
            })?;
            print_json(&credentials)
        }
        OrgCommand::AddClient { organisation, .. } => {
            let credentials = crate::db::transaction(&mut conn, |conn| {
                organisations::get(conn, organisation.into())?;
                organisations::create_client(conn, organisation.into(), &scopes)
            })?;
            print_json(&credentials)
        }
        OrgCommand::Clients { organisation } => print_json(&every_page(|page| {
            organisations::clients_of(&mut conn, organisation.into(), page)
        })?),
        OrgCommand::RevokeClient { client_id } => {
            print_json(&organisations::revoke_client(&mut conn, None, &client_id)?)
        }
    }
}

/// Signs with the issuer and audience the service recorded on this database, unless the
/// command was given them; says on standard error when the token may be refused.
fn sign_as_the_service(state: &mut AppState, given: Given) -> anyhow::Result<()> {
    let recorded = issuer::recorded(&mut *state.db.get()?)?;
    let chosen = issuer::choose(
        issuer::Setting {
            value: state.settings.issuer(),
            given: given.issuer,
        },
        issuer::Setting {
            value: state.settings.token_audience.clone(),
            given: given.audience,
        },
        recorded.as_ref(),
    );
    if let Some(note) = &chosen.note {
        eprintln!("{note}");
    }
    state.tokens.issuer = chosen.issuer;
    state.tokens.audience = chosen.audience;
    Ok(())
}

/// `activities import FILE`: all or nothing, each problem named by its place in the file.
fn import_activities(settings: Settings, file: &std::path::Path) -> anyhow::Result<()> {
    let json = std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let state = AppState::for_command(settings)?;
    let count = crate::activities::import(&mut *state.db.get()?, &json)
        .map_err(|e| invalid_file(file, "a valid catalogue", e))?;
    println!("imported {count} activities from {}", file.display());
    Ok(())
}

/// `keys …`: the signing keys in their folder.
fn keys(settings: Settings, command: KeysCommand) -> anyhow::Result<()> {
    use crate::auth::keys::{KeyRing, KeyState};
    let dir = settings.keys_dir();
    match command {
        KeysCommand::Rotate { now: false } => {
            let kid = KeyRing::generate(&dir)?;
            println!("{kid}");
            eprintln!(
                "note: published now; it signs in {} seconds, once verifiers' cached key sets hold it",
                crate::auth::keys::JWKS_MAX_AGE_SECONDS
            );
        }
        KeysCommand::Rotate { now: true } => println!("{}", KeyRing::generate_signing_now(&dir)?),
        KeysCommand::Retire { kid, force } => {
            let state = AppState::for_command(settings)?;
            let signed = crate::credentials::store::signed_by(&mut *state.db.get()?, &kid)?;
            let valid = signed.count + signed.unrecorded;
            if valid > 0 && !force {
                let until = signed
                    .last_expiry
                    .map(|t| t.0.to_rfc3339())
                    .unwrap_or_default();
                anyhow::bail!(
                    "{} credentials this key signed, and {} issued before signing keys were recorded, still verify (the last expires {until}): retiring it would make them fail. Wait until then, or pass --force",
                    signed.count,
                    signed.unrecorded
                );
            }
            KeyRing::retire(&dir, &kid)?;
            if valid > 0 {
                eprintln!("warning: {valid} credentials that still verified no longer do");
            }
            println!("retired {kid}");
        }
        KeysCommand::List => {
            let ring = KeyRing::load(&dir)?;
            for ((key, state), (_, path)) in ring.states().into_iter().zip(KeyRing::list(&dir)?) {
                let state = match state {
                    KeyState::Signs => "signs".to_owned(),
                    KeyState::Published { signs_from } => {
                        format!("published, signs from {}", signs_from.to_rfc3339())
                    }
                    KeyState::Verifies => "verifies".to_owned(),
                };
                println!("{}  {state}  {}", key.kid, path.display());
            }
        }
    }
    Ok(())
}

/// An import error: "FILE is not WHAT:", then the place of each problem in the file, one a
/// line.
fn invalid_file(file: &std::path::Path, what: &str, error: Error) -> anyhow::Error {
    match error {
        Error::Validation(errors) => anyhow::anyhow!(
            "{} is not {what}:\n{}",
            file.display(),
            errors
                .iter()
                .map(|e| format!("  {}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("\n")
        ),
        other => other.into(),
    }
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let addr = settings.addr.clone();
        let state = AppState::start(settings)?;
        let database = state.db.kind().name();
        let listener = TcpListener::bind(&addr).map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
        let allocator = crate::allocator::in_use().name();
        tracing::info!(addr = %addr, database, allocator, "Learning Passport listening on http://{addr} ({database})");
        crate::server(state, listener)?.await?;
        tracing::info!("stopped");
        Ok(())
    })
}
