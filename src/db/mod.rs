//! The database: one connection type over SQLite and PostgreSQL, its pool and its migrations.
//!
//! Domain modules write their queries once against [`DbConnection`]; the few statements whose
//! SQL differs between the backends match on the variant, and say why where they do.

mod background;
pub mod deferred;
pub mod files;
pub mod group_commit;
pub mod ids;
mod leader;
pub mod postgres_url;
pub mod schema;
mod sqlite;
pub mod types;
pub mod write_group;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::Error;

pub use sqlite::{OneOf, one_of};

const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Runs the same diesel statement on the concrete connection of either backend, for the few
/// statements the multi-backend connection cannot express (multi-row inserts and
/// `ON CONFLICT`), and for the reads on every request's path. The multi-backend connection
/// writes out a statement's SQL again on every call, even when it runs the statement it
/// prepared before, and reads each column through a wrapper of its own: a twentieth of an
/// employer's read on SQLite went to that. Every use is one statement written once; the macro
/// only dispatches it.
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgres($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}

/// Makes `$query`, a hand-written PostgreSQL statement (its `QueryFragment<Pg>`), a query that
/// runs (`execute`) or loads rows by name (`QueryableByName`), and that diesel prepares once
/// per connection and keeps, by its type: a statement written with `diesel::sql_query` is
/// parsed and planned anew on every call. For the statements diesel's builder cannot write, on
/// the hottest paths.
///
/// Since the statement is kept by its type alone, its `walk_ast` must write the same SQL text
/// whatever the values: a fixed number of binds (lists go in as arrays), no text that depends
/// on them.
#[macro_export]
macro_rules! prepared_pg_query {
    ($query:ty) => {
        impl diesel::query_builder::QueryId for $query {
            type QueryId = Self;
            const HAS_STATIC_QUERY_ID: bool = true;
        }

        impl diesel::query_builder::Query for $query {
            type SqlType = diesel::sql_types::Untyped;
        }

        impl diesel::RunQueryDsl<diesel::PgConnection> for $query {}
    };
}

/// Inserts `rows` (a slice) into `table`, skipping any whose unique key is held already, stored
/// earlier or by a concurrent request, and answers `key` of each row this insert stored: what
/// the caller really added, which may be fewer rows than it sent. Sort the rows by key: two
/// transactions inserting the same keys then wait for each other in one order, never in a
/// cycle.
///
/// On PostgreSQL several rows go in one statement, `ON CONFLICT DO NOTHING RETURNING key`,
/// which answers just the rows inserted, after waiting for a concurrent insert of the same key
/// to end. Otherwise rows go one statement each: diesel runs an SQLite batch whose rows may say
/// DEFAULT row by row, and fails the whole batch with `NotFound` at the first row that returns
/// nothing (the conflict), while a single-row insert that returns nothing is simply a row not
/// inserted. With `treat_none_as_default_value = false` on the row type, a single-row insert is
/// one prepared statement that diesel keeps per connection.
#[macro_export]
macro_rules! insert_new {
    (@each $c:ident, $table:expr, $rows:expr, $key:expr) => {
        $rows
            .iter()
            .filter_map(|row| {
                diesel::insert_into($table)
                    .values(row)
                    .on_conflict_do_nothing()
                    .returning($key)
                    .get_result($c)
                    .optional()
                    .transpose()
            })
            .collect::<diesel::QueryResult<Vec<_>>>()
    };
    ($conn:expr, $table:expr, $rows:expr, $key:expr) => {{
        use diesel::{OptionalExtension as _, RunQueryDsl as _};
        let rows = $rows;
        match $conn {
            $crate::db::DbConnection::Postgres(c) if rows.len() > 1 => {
                diesel::insert_into($table)
                    .values(rows)
                    .on_conflict_do_nothing()
                    .returning($key)
                    .get_results(c)
            }
            $crate::db::DbConnection::Postgres(c) => $crate::insert_new!(@each c, $table, rows, $key),
            $crate::db::DbConnection::Sqlite(c) => $crate::insert_new!(@each c, $table, rows, $key),
        }
    }};
}

/// A connection to either backend.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Which database the service runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Postgres,
    Sqlite,
}

impl BackendKind {
    /// The backend a `DATABASE_URL` selects: PostgreSQL for `postgres://` and
    /// `postgresql://`, otherwise an SQLite file path (`sqlite://` prefix optional).
    pub fn of_url(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            BackendKind::Postgres
        } else {
            BackendKind::Sqlite
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Postgres => "postgresql",
            BackendKind::Sqlite => "sqlite",
        }
    }
}

/// Opens connections of the variant the URL names. `DbConnection::establish` would try each
/// variant in turn, and SQLite accepts any string as a file name, so a PostgreSQL outage would
/// silently create a stray SQLite file: the variant is chosen here, from the URL, instead.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: String,
    kind: BackendKind,
}

impl ConnectionManager {
    pub fn new(url: &str) -> Self {
        let kind = BackendKind::of_url(url);
        let url = match kind {
            BackendKind::Postgres => {
                let choice = postgres_url::choose(url, |name| std::env::var(name).ok());
                if let Some(warning) = choice.warning {
                    tracing::warn!("{warning}");
                }
                choice.url
            }
            BackendKind::Sqlite => url.strip_prefix("sqlite://").unwrap_or(url).to_owned(),
        };
        ConnectionManager { url, kind }
    }
}

/// A connection in the pool, with the moment it was last handed back.
pub struct Pooled {
    conn: DbConnection,
    returned: Instant,
}

impl std::ops::Deref for Pooled {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

/// A connection lent by the pool ([`Database::get`]); handed back when dropped.
pub struct Lent(r2d2::PooledConnection<ConnectionManager>);

impl std::ops::Deref for Lent {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.0.conn
    }
}

impl std::ops::DerefMut for Lent {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.0.conn
    }
}

/// A PostgreSQL connection idle for longer than this is checked (`SELECT 1`) before it is lent
/// out: one that worked a moment ago is lent at once, saving a round trip per request on the
/// hot paths, while one that sat idle through a database restart is found dead and replaced
/// before a request sees it.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(1);

impl ManageConnection for ConnectionManager {
    type Connection = Pooled;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<Pooled, r2d2::Error> {
        let conn = match self.kind {
            BackendKind::Postgres => diesel::PgConnection::establish(&self.url)
                .map(DbConnection::Postgres)
                .map_err(r2d2::Error::ConnectionError)?,
            BackendKind::Sqlite => {
                sqlite::configure();
                let mut conn = diesel::SqliteConnection::establish(&self.url)
                    .map_err(r2d2::Error::ConnectionError)?;
                // busy_timeout first: switching to WAL itself needs the lock, and pool
                // start-up opens several connections at once.
                // No mmap: each connection maps the file on its own, and every page it touched
                // counted in the service's resident memory once per connection (the file's size
                // times the pool's, up to 256 MiB each). Reads copy pages from the OS page
                // cache instead, which every connection shares and which is not the
                // service's; each connection keeps SQLite's own page cache (2 MiB).
                // No checkpoint inside a commit: see `sqlite.rs`.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                     PRAGMA mmap_size = 0; PRAGMA wal_autocheckpoint = 0;",
                )
                .map_err(r2d2::Error::QueryError)?;
                DbConnection::Sqlite(conn)
            }
        };
        Ok(Pooled {
            conn,
            returned: Instant::now(),
        })
    }

    fn is_valid(&self, pooled: &mut Pooled) -> Result<(), r2d2::Error> {
        // A SQLite connection is a file: nothing to lose between requests.
        if self.kind == BackendKind::Sqlite || pooled.returned.elapsed() < CHECK_AFTER_IDLE {
            return Ok(());
        }
        pooled
            .conn
            .batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, pooled: &mut Pooled) -> bool {
        pooled.returned = Instant::now();
        // Taken, so that the next work on this thread starts without it.
        let lost = crate::error::take_connection_lost();
        lost || unusable(&mut pooled.conn)
    }
}

/// Whether a connection can serve another statement: none of its queries found it closed,
/// and no transaction of it was left open or in error (its ROLLBACK failed).
fn unusable(conn: &mut DbConnection) -> bool {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    crate::error::connection_lost()
        || match conn {
            DbConnection::Postgres(c) => AnsiTransactionManager::is_broken_transaction_manager(c),
            DbConnection::Sqlite(c) => AnsiTransactionManager::is_broken_transaction_manager(c),
        }
}

/// The pool every request borrows a connection from.
#[derive(Clone)]
pub struct Database {
    pool: r2d2::Pool<ConnectionManager>,
    kind: BackendKind,
    outbox: Arc<tokio::sync::Notify>,
    drain: Arc<std::sync::OnceLock<Drain>>,
    deferred: deferred::Queue,
    group_commit: group_commit::Writer,
    write_group: write_group::WriteGroup,
    /// SQLite's background checkpoints, as long as a copy of the database is in use.
    _checkpoints: Option<Arc<sqlite::Checkpoints>>,
}

/// What turns the outbox's events into deliveries (see [`Database::on_outbox`]).
pub type Drain = fn(&mut DbConnection) -> Result<usize, Error>;

thread_local! {
    /// Set when work on this thread wrote to the webhook outbox.
    static OUTBOX_WRITTEN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the current work wrote to the webhook outbox since it was last asked; the note is
/// cleared.
fn take_outbox_written() -> bool {
    OUTBOX_WRITTEN.with(|written| written.replace(false))
}

/// Notes that the current work wrote to the webhook outbox, so that the delivery worker is woken
/// as soon as the work's transaction has committed instead of at its next poll.
pub fn outbox_written() {
    OUTBOX_WRITTEN.with(|written| written.set(true));
}

impl Database {
    /// Builds the pool. Connections are opened lazily so that the service starts (and says it
    /// is not ready) while PostgreSQL is still coming up.
    ///
    /// `keep_idle` keeps one spare connection open in the background for the service. One-shot
    /// commands pass `false`: a process that exits while another thread is still opening a
    /// PostgreSQL connection can crash in libpq's TLS clean-up at exit.
    pub fn connect(url: &str, pool_size: u32, keep_idle: bool) -> Result<Self, Error> {
        let manager = ConnectionManager::new(url);
        let kind = manager.kind;
        let pool = r2d2::Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(u32::from(keep_idle)))
            .connection_timeout(Duration::from_secs(5))
            .test_on_check_out(true)
            .build_unchecked(manager);
        let checkpoints = match kind {
            BackendKind::Sqlite => sqlite::checkpoint_in_background(url),
            BackendKind::Postgres => None,
        };
        Ok(Database {
            _checkpoints: checkpoints,
            deferred: deferred::Queue::start(pool.clone()),
            group_commit: group_commit::Writer::default(),
            write_group: write_group::WriteGroup::default(),
            pool,
            kind,
            outbox: Arc::new(tokio::sync::Notify::new()),
            drain: Arc::new(std::sync::OnceLock::new()),
        })
    }

    /// The SQLite database file for a data directory.
    pub fn default_sqlite_url(data_dir: &Path) -> String {
        data_dir.join("passport.db").to_string_lossy().into_owned()
    }

    pub fn kind(&self) -> BackendKind {
        self.kind
    }

    /// Sets what drains the outbox after work that wrote to it has committed: run on the same
    /// connection before the work's result is answered, so that a client that changed something
    /// finds its deliveries already queued. Set once, at start-up, by the service.
    pub fn on_outbox(&self, drain: Drain) {
        let _ = self.drain.set(drain);
    }

    /// A time before which everything written through [`write_group::transaction_in_group`]
    /// is committed and visible: now, or on SQLite, while a group is being committed, the time
    /// it began (what it writes, it stamps later, and nobody sees it before its commit).
    /// Take it before reading: what the read sees includes all that was stored before it.
    pub fn grouped_writes_visible_before(&self) -> chrono::DateTime<chrono::Utc> {
        let now = chrono::Utc::now();
        self.write_group
            .running_since()
            .map_or(now, |since| since.min(now))
    }

    /// Signalled after work that wrote to the outbox has committed and it was drained.
    pub async fn outbox_written(&self) {
        self.outbox.notified().await
    }

    /// Runs blocking database work on the blocking thread pool. What the work handed to the
    /// group commit (see [`group_commit::before_answer`]) is committed before the work's result
    /// is answered; if it cannot be, the answer is 503 instead of the result.
    pub async fn run<T, F>(&self, work: F) -> Result<T, Error>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        let (pool, outbox, drain) = (self.pool.clone(), self.outbox.clone(), self.drain.clone());
        let (deferred, group_commit) = (self.deferred.clone(), self.group_commit.clone());
        let write_group = self.write_group.clone();
        let (answer, answered) = tokio::sync::oneshot::channel::<Result<T, Error>>();
        // The answer comes back by `answered`, not by the blocking task's handle: a read whose
        // event must be committed first is answered by the thread leading its group commit.
        tokio::task::spawn_blocking(move || {
            let mut conn = match pool.get() {
                Ok(conn) => conn,
                Err(error) => {
                    let _ = answer.send(Err(Error::Unavailable(error.to_string())));
                    return;
                }
            };
            OUTBOX_WRITTEN.with(|written| written.set(false));
            crate::error::take_connection_lost();
            deferred::forget_handed();
            group_commit::collect();
            let entered = write_group.enter();
            let outcome = work(&mut conn);
            drop(entered);
            let to_commit = group_commit::collected();
            // The work's transactions have ended: what they wrote to the outbox is visible.
            if OUTBOX_WRITTEN.with(|written| written.replace(false)) {
                if let Some(drain) = drain.get()
                    && let Err(error) = drain(&mut conn)
                {
                    // The change stands: the worker's next drain tells of it.
                    tracing::warn!(%error, "draining the outbox failed");
                }
                OUTBOX_WRITTEN.with(|written| written.set(false));
                outbox.notify_one();
            }
            deferred.take_handed();
            if to_commit.is_empty() {
                let _ = answer.send(outcome);
            } else {
                // Either this thread commits the group now, or it leaves its writes to the
                // thread that is committing and returns its connection at once.
                group_commit.commit(
                    &mut conn,
                    to_commit,
                    Box::new(move |committed| {
                        let _ = answer.send(committed.and(outcome));
                    }),
                );
            }
        });
        answered
            .await
            .map_err(|_| Error::Internal("the database work stopped before answering".into()))?
    }

    /// Runs work in one transaction (see [`transaction`]).
    pub async fn transaction<T, F>(&self, work: F) -> Result<T, Error>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        self.run(move |conn| transaction(conn, work)).await
    }

    /// Synchronous access for the command line and start-up.
    pub fn get(&self) -> Result<Lent, Error> {
        self.pool
            .get()
            .map(Lent)
            .map_err(|e| Error::Unavailable(e.to_string()))
    }

    /// Applies pending migrations; answers how many were applied.
    pub fn migrate(&self) -> Result<usize, Error> {
        let mut conn = self.get()?;
        let applied = match &mut *conn {
            DbConnection::Postgres(c) => c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|v| v.len()),
            DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        };
        applied.map_err(|e| Error::Internal(format!("migration failed: {e}")))
    }

    /// Whether the database answers (for `/health/ready`).
    pub async fn ping(&self) -> bool {
        self.run(|conn| conn.batch_execute("SELECT 1").map_err(Error::from))
            .await
            .is_ok()
    }
}

/// The service's SQLite writers, one at a time (see [`transaction`]).
static SQLITE_WRITER: parking_lot::Mutex<()> = parking_lot::Mutex::new(());

/// A turn at SQLite's write lock, given on to the writer that has waited longest when it ends:
/// a plain mutex lets a thread that has just released it take it again ahead of threads
/// already asleep on it (a group commit's leader, which commits group after group, most of
/// all), and the last in line waited many turns.
struct WriterTurn(Option<parking_lot::MutexGuard<'static, ()>>);

impl WriterTurn {
    fn take() -> Self {
        WriterTurn(Some(SQLITE_WRITER.lock()))
    }
}

impl Drop for WriterTurn {
    fn drop(&mut self) {
        if let Some(guard) = self.0.take() {
            parking_lot::MutexGuard::unlock_fair(guard);
        }
    }
}

fn sqlite(conn: &mut DbConnection) -> Option<&mut diesel::SqliteConnection> {
    match conn {
        DbConnection::Sqlite(inner) => Some(inner),
        DbConnection::Postgres(_) => None,
    }
}

/// Runs work in a transaction; nested calls become savepoints.
///
/// On SQLite the outermost transaction takes the write lock as it begins (`BEGIN IMMEDIATE`),
/// waiting up to the busy timeout. A deferred transaction that reads and then writes fails at
/// once with "database is locked" when another writer committed in between, whatever the busy
/// timeout, so every read-then-write transaction must start this way.
///
/// On PostgreSQL it runs at `READ COMMITTED`, named rather than left to the server's default
/// (which a database or role may set otherwise): the LRS's usage counting relies on each
/// statement seeing what was committed before it began (see `xapi::usage`), and under
/// `REPEATABLE READ` its concurrent writers would fail with serialisation errors.
pub fn transaction<T>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, Error>,
) -> Result<T, Error> {
    if in_transaction(conn)? {
        return conn.transaction(work);
    }
    // SQLite has one writer. Waiting for its lock through the busy handler means sleeping in
    // steps of up to 100 ms; the service's own writers queue on a mutex instead and are handed
    // the lock as soon as it is free, in the order they asked. (Other processes, such as the
    // command line, still wait through the busy timeout.)
    let _writer = sqlite(conn).is_some().then(WriterTurn::take);
    let begin = match conn {
        DbConnection::Postgres(_) => "BEGIN ISOLATION LEVEL READ COMMITTED",
        DbConnection::Sqlite(_) => "BEGIN IMMEDIATE",
    };
    outermost(conn, begin, work)
}

/// Begins the outermost transaction with `begin`, runs `work` and commits, or rolls back if
/// it failed.
fn outermost<T>(
    conn: &mut DbConnection,
    begin: &str,
    work: impl FnOnce(&mut DbConnection) -> Result<T, Error>,
) -> Result<T, Error> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    match conn {
        DbConnection::Postgres(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, begin)?
        }
        DbConnection::Sqlite(inner) => AnsiTransactionManager::begin_transaction_sql(inner, begin)?,
    }
    let outcome = work(conn);
    let end = match (conn, outcome.is_ok()) {
        (DbConnection::Postgres(inner), true) => AnsiTransactionManager::commit_transaction(inner),
        (DbConnection::Postgres(inner), false) => {
            AnsiTransactionManager::rollback_transaction(inner)
        }
        (DbConnection::Sqlite(inner), true) => AnsiTransactionManager::commit_transaction(inner),
        (DbConnection::Sqlite(inner), false) => AnsiTransactionManager::rollback_transaction(inner),
    };
    match end {
        Ok(()) => outcome,
        // The connection broke (lost, say) and the work failed with it: its error says what
        // happened, as diesel's own `transaction` answers it.
        Err(diesel::result::Error::BrokenTransactionManager) if outcome.is_err() => outcome,
        Err(e) => Err(e.into()),
    }
}

/// Runs one writing statement on its own, outside any transaction: a statement is atomic by
/// itself, and on PostgreSQL the BEGIN and COMMIT around it would be two more round trips. On
/// SQLite it still waits its turn in the writers' queue, as [`transaction`] does.
pub fn single_statement<T>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, Error>,
) -> Result<T, Error> {
    let _writer = sqlite(conn).is_some().then(WriterTurn::take);
    work(conn)
}

/// Whether the connection is inside a transaction.
pub fn in_transaction(conn: &mut DbConnection) -> Result<bool, Error> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let depth = match conn {
        DbConnection::Postgres(inner) => {
            AnsiTransactionManager::transaction_manager_status_mut(inner).transaction_depth()?
        }
        DbConnection::Sqlite(inner) => {
            AnsiTransactionManager::transaction_manager_status_mut(inner).transaction_depth()?
        }
    };
    Ok(depth.is_some())
}

/// Runs reads in one read-only transaction: a consistent snapshot of the database that never
/// takes SQLite's write lock (under WAL, readers run beside the writer) and, on PostgreSQL, sees
/// one moment of every table it reads (`REPEATABLE READ READ ONLY`). Inside another transaction
/// the work simply joins it.
pub fn read_transaction<T>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, Error>,
) -> Result<T, Error> {
    if in_transaction(conn)? {
        return work(conn);
    }
    let begin = match conn {
        DbConnection::Postgres(_) => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        DbConnection::Sqlite(_) => "BEGIN DEFERRED",
    };
    outermost(conn, begin, work)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::schema::organisations;
    use crate::db::types::Timestamp;

    fn count(conn: &mut DbConnection) -> i64 {
        organisations::table.count().get_result(conn).unwrap()
    }

    fn add(conn: &mut DbConnection) {
        diesel::insert_into(organisations::table)
            .values((
                organisations::id.eq(crate::db::ids::OrganisationId::new()),
                organisations::name.eq("Writer"),
                organisations::created_at.eq(Timestamp::now()),
            ))
            .execute(conn)
            .unwrap();
    }

    #[test]
    fn a_read_transaction_on_sqlite_sees_one_moment_and_never_blocks_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let url = dir
            .path()
            .join("passport.db")
            .to_string_lossy()
            .into_owned();
        let db = Database::connect(&url, 2, false).unwrap();
        db.migrate().unwrap();
        let (mut reader, mut writer) = (db.get().unwrap(), db.get().unwrap());
        read_transaction(&mut reader, |conn| {
            let before = count(conn);
            // A write commits while the read is open: at once, not after the busy timeout, and
            // on this very thread, which would deadlock if the read held the writer's lock.
            let started = std::time::Instant::now();
            transaction(&mut writer, |w| {
                add(w);
                Ok(())
            })?;
            assert!(started.elapsed() < std::time::Duration::from_secs(2));
            // The read still sees the moment it began.
            assert_eq!(count(conn), before);
            Ok(())
        })
        .unwrap();
        assert_eq!(count(&mut reader), 1);
    }
}
