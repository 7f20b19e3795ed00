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

use std::ffi::{c_char, c_int};
use std::sync::Once;

use libsqlite3_sys as ffi;

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
}
