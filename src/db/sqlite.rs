//! How the service uses the SQLite library, set once per process before its first connection
//! opens, and on each connection as it opens.
//!
//! - **Plans that do not depend on the values bound to them** (the query planner's stability
//!   guarantee, QPSG). Since SQLite 3.47 a `LIMIT ?` marks its statement as depending on the
//!   limit bound to it, as does a value the planner could read statistics for: binding such a
//!   parameter again throws the statement's plan away, and the next step parses and plans it
//!   anew. diesel binds every limit (each list, each `first()`), so each of those statements
//!   was parsed again on every call: a cached statement that was never reused. The service's
//!   queries are index lookups whose plan never depends on a value.
//! - **No global memory statistics.** With them on (the library's default), every allocation
//!   SQLite makes takes one process-wide mutex, which the pool's connections then contend for;
//!   nothing in the service reads those statistics.
//! - **No per-connection mutex** ("multi-thread" mode): the pool lends a connection to one
//!   thread at a time, which diesel's types enforce (a connection is `Send`, never `Sync`), so
//!   the lock SQLite takes around each call on a connection guards nothing.
//! - **Checkpoints off the requests' path.** By default the commit that takes the write-ahead
//!   log past 1,000 pages copies the log back into the database file before it returns: under
//!   xAPI ingestion a tenth of the service's time, all of it inside one unlucky request (and,
//!   for a group commit, every read of its group). The pool's connections never checkpoint
//!   (`wal_autocheckpoint = 0`); a thread of the database's own does, every
//!   [`CHECKPOINT_EVERY`], on a connection of its own, in passive mode: it never waits for a
//!   reader or a writer, nor they for it.

use std::ffi::{c_char, c_int};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Once};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::ManageConnection;
use libsqlite3_sys as ffi;

use super::ConnectionManager;

/// How often the write-ahead log is checkpointed in the background.
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// The background checkpoints of one database; they stop when the last copy is dropped, and
/// the drop waits for the thread to have closed its connection (a test may then remove the
/// database's folder).
pub(super) struct Checkpoints {
    running: Option<SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Checkpoints {
    fn drop(&mut self) {
        // Closing the channel wakes the thread at once.
        self.running.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Starts checkpointing the database at `url` in the background (see the module's notes).
pub(super) fn checkpoint_in_background(url: &str) -> Option<Arc<Checkpoints>> {
    let (running, stopped) = std::sync::mpsc::sync_channel(0);
    let manager = ConnectionManager::new(url);
    let spawned = std::thread::Builder::new()
        .name("wal-checkpoint".into())
        .spawn(move || checkpoint_until_stopped(&manager, &stopped));
    match spawned {
        Ok(thread) => Some(Arc::new(Checkpoints {
            running: Some(running),
            thread: Some(thread),
        })),
        Err(error) => {
            // The log then grows until the last connection closes, which checkpoints it.
            tracing::error!(%error, "no thread to checkpoint SQLite's write-ahead log");
            None
        }
    }
}

fn checkpoint_until_stopped(manager: &ConnectionManager, stopped: &Receiver<()>) {
    let mut conn = None;
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY) {
        if conn.is_none() {
            conn = manager.connect().ok();
        }
        let Some(open) = conn.as_mut() else { continue };
        if let Err(error) = open.batch_execute("PRAGMA wal_checkpoint(PASSIVE)") {
            tracing::warn!(%error, "checkpointing SQLite's write-ahead log failed");
            conn = None;
        }
    }
}

/// Sets the library up as above. Called before the first SQLite connection opens (in tests and
/// commands too); later calls do nothing. If another part of the process started SQLite first,
/// the global settings cannot be changed any more and the library keeps its defaults, which
/// are slower but correct.
pub(super) fn configure() {
    static CONFIGURED: Once = Once::new();
    CONFIGURED.call_once(|| {
        // SAFETY: both options are set before the library is initialised (the registration
        // below initialises it), and neither takes a pointer.
        let global = unsafe {
            [
                ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int),
                ffi::sqlite3_config(ffi::SQLITE_CONFIG_MULTITHREAD),
            ]
        };
        if global.iter().any(|&rc| rc != ffi::SQLITE_OK) {
            tracing::debug!(?global, "SQLite was started before it could be configured");
        }
        // SAFETY: `stable_plans` has the entry point's signature and stays valid for the
        // life of the process; SQLite calls it on each new connection, from the thread that
        // opens it.
        let rc = unsafe { ffi::sqlite3_auto_extension(Some(stable_plans)) };
        if rc != ffi::SQLITE_OK {
            tracing::warn!(
                rc,
                "SQLite connections will re-plan statements on each call"
            );
        }
    });
}

/// Runs as each connection opens (an "automatic extension"): turns on QPSG for it.
unsafe extern "C" fn stable_plans(
    db: *mut ffi::sqlite3,
    _error: *mut *mut c_char,
    _api: *const ffi::sqlite3_api_routines,
) -> c_int {
    // SAFETY: `db` is the connection being opened; the option takes an int to set and an
    // optional pointer for the value it then holds.
    unsafe {
        ffi::sqlite3_db_config(
            db,
            ffi::SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as c_int,
            std::ptr::null_mut::<c_int>(),
        );
    }
    ffi::SQLITE_OK
}

/// `column IN (values)` for SQLite, with the values bound as one JSON array. diesel's `eq_any`
/// binds one parameter per value, and a statement whose shape changes with a list's length is
/// never kept: SQLite prepared it anew on every call (a tenth of a compliance check's time).
/// With one parameter the statement keeps one shape, and the connection its prepared form.
/// Compares the column's stored text, so it is for text columns and ids (stored hyphenated).
#[derive(Debug, Clone)]
pub struct OneOf<C> {
    column: C,
    values: String,
}

/// See [`OneOf`].
pub fn one_of<C>(column: C, values: impl IntoIterator<Item = String>) -> OneOf<C> {
    let values: Vec<String> = values.into_iter().collect();
    OneOf {
        column,
        // A list of strings always serialises.
        values: serde_json::to_string(&values).unwrap_or_else(|_| "[]".into()),
    }
}

impl<C> diesel::Expression for OneOf<C> {
    type SqlType = diesel::sql_types::Bool;
}

impl<C: diesel::AppearsOnTable<QS>, QS> diesel::AppearsOnTable<QS> for OneOf<C> {}

impl<C, GB> diesel::expression::ValidGrouping<GB> for OneOf<C> {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

/// The statement's identity is its column's: the values are a parameter.
#[doc(hidden)]
pub struct OneOfId<C>(std::marker::PhantomData<C>);

impl<C: diesel::query_builder::QueryId> diesel::query_builder::QueryId for OneOf<C> {
    type QueryId = OneOfId<C::QueryId>;
    const HAS_STATIC_QUERY_ID: bool = C::HAS_STATIC_QUERY_ID;
}

impl<C> diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite> for OneOf<C>
where
    C: diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::sqlite::Sqlite>,
    ) -> diesel::QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (SELECT value FROM json_each(");
        out.push_bind_param::<diesel::sql_types::Text, _>(&self.values)?;
        out.push_sql("))");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;

    /// How often a statement with a bound `LIMIT` is prepared again when it runs with a new
    /// limit each time, on a connection opened after `configure`.
    fn reprepared_over_runs(runs: i64) -> c_int {
        configure();
        unsafe {
            let mut db = std::ptr::null_mut();
            let name = CString::new(":memory:").unwrap();
            assert_eq!(ffi::sqlite3_open(name.as_ptr(), &mut db), ffi::SQLITE_OK);
            let sql = CString::new(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50) \
                 SELECT i FROM n LIMIT ?",
            )
            .unwrap();
            let mut statement = std::ptr::null_mut();
            let prepared =
                ffi::sqlite3_prepare_v2(db, sql.as_ptr(), -1, &mut statement, std::ptr::null_mut());
            assert_eq!(prepared, ffi::SQLITE_OK);
            for limit in 1..=runs {
                ffi::sqlite3_reset(statement);
                ffi::sqlite3_bind_int64(statement, 1, limit);
                let mut rows = 0;
                while ffi::sqlite3_step(statement) == ffi::SQLITE_ROW {
                    rows += 1;
                }
                assert_eq!(rows, limit, "the limit still applies");
            }
            let reprepared =
                ffi::sqlite3_stmt_status(statement, ffi::SQLITE_STMTSTATUS_REPREPARE, 0);
            ffi::sqlite3_finalize(statement);
            ffi::sqlite3_close(db);
            reprepared
        }
    }

    #[test]
    fn a_bound_limit_does_not_make_a_statement_prepare_again() {
        assert_eq!(reprepared_over_runs(20), 0);
    }

    #[test]
    fn sqlite_keeps_no_global_memory_statistics() {
        assert_eq!(reprepared_over_runs(3), 0);
        // With statistics on, the connection and statement just made would show here.
        assert_eq!(unsafe { ffi::sqlite3_memory_used() }, 0);
    }

    #[test]
    fn commits_leave_checkpoints_to_the_background() {
        use crate::db::Database;
        use diesel::RunQueryDsl;
        let dir = tempfile::tempdir().unwrap();
        let url = Database::default_sqlite_url(dir.path());
        let db = Database::connect(&url, 2, false).unwrap();
        db.migrate().unwrap();
        let mut conn = db.get().unwrap();
        #[derive(diesel::QueryableByName)]
        struct Setting {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            wal_autocheckpoint: i32,
        }
        let setting: Setting = diesel::sql_query("PRAGMA wal_autocheckpoint")
            .get_result(&mut *conn)
            .unwrap();
        assert_eq!(setting.wal_autocheckpoint, 0, "a commit never checkpoints");
        let file = std::path::Path::new(&url);
        let before = std::fs::metadata(file).unwrap().len();
        // About 8 MiB over many commits: 2,000 pages in the log, twice the size at which a
        // commit would have checkpointed by itself.
        conn.batch_execute("CREATE TABLE filler (blob BLOB)")
            .unwrap();
        for _ in 0..64 {
            conn.batch_execute(
                "INSERT INTO filler SELECT randomblob(4096) FROM \
                 (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 32) \
                 SELECT i FROM n)",
            )
            .unwrap();
        }
        // The pages reach the database file, copied there by the background checkpoint (no
        // connection closed, and none of the pool's checkpoints).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::fs::metadata(file).unwrap().len() < before + 8 * 1024 * 1024 {
            assert!(
                std::time::Instant::now() < deadline,
                "the write-ahead log was not checkpointed"
            );
            std::thread::sleep(CHECKPOINT_EVERY);
        }
    }

    #[test]
    fn one_of_matches_what_eq_any_matches_with_one_statement_shape() {
        use diesel::prelude::*;
        use diesel::query_builder::{QueryFragment, QueryId};
        diesel::table! { words (word) { word -> Text, } }
        configure();
        let mut conn = diesel::SqliteConnection::establish(":memory:").unwrap();
        conn.batch_execute("CREATE TABLE words (word TEXT PRIMARY KEY)")
            .unwrap();
        let stored = ["plain", "it's", "\"quoted\"", "ünïcode", "a,b", "[x]"];
        for word in stored {
            diesel::insert_into(words::table)
                .values(words::word.eq(word))
                .execute(&mut conn)
                .unwrap();
        }
        for asked in [
            vec![],
            vec!["plain"],
            vec!["it's", "\"quoted\"", "missing"],
            vec!["ünïcode", "a,b", "[x]", "plain", "plain"],
        ] {
            let owned: Vec<String> = asked.iter().map(|w| w.to_string()).collect();
            let mut found: Vec<String> = words::table
                .filter(one_of(words::word, owned.clone()))
                .select(words::word)
                .load(&mut conn)
                .unwrap();
            let mut expected: Vec<String> = words::table
                .filter(words::word.eq_any(&owned))
                .select(words::word)
                .load(&mut conn)
                .unwrap();
            found.sort();
            expected.sort();
            assert_eq!(found, expected, "{asked:?}");
        }
        // The same statement, whatever the list: identified by its type, safe to keep.
        let query = words::table
            .filter(one_of(words::word, ["a".to_owned(), "b".to_owned()]))
            .select(words::word);
        fn identified_by_type<Q: QueryId>(_: &Q) -> bool {
            Q::query_id().is_some()
        }
        assert!(identified_by_type(&query));
        assert!(
            QueryFragment::<diesel::sqlite::Sqlite>::is_safe_to_cache_prepared(
                &query,
                &diesel::sqlite::Sqlite
            )
            .unwrap()
        );
    }
}
