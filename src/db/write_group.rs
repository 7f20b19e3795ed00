//! Write transactions that share one commit on SQLite.
//!
//! SQLite has one writer: requests that write queue for it anyway, and each of their
//! transactions pays a commit of its own (its pages to the log, the writer's lock handed on).
//! A request that writes through [`transaction_in_group`] queues its transaction's work
//! instead; the request that finds no group under way leads: it begins one transaction and
//! runs, one after the other, its own work and that of every request queued meanwhile, each
//! in a savepoint of its own, then commits them all at once. The first request that queued
//! meanwhile leads the next group, on its own thread and connection, so that no leader's answer
//! waits for groups after its own. Each request is answered after its group's commit.
//!
//! One request's work that is refused (a conflict, a quota, a bad request: any answer of the
//! 4xx kind) or that panics is rolled back to its savepoint, alone: the others are kept, and
//! it gets its own answer, as if it had run alone. A failure of the database itself (an I/O
//! error, a full disk), after which SQLite may have rolled back the whole transaction, ends the
//! group: nothing of it is kept, the request gets its error and the others 503. So does a
//! failed commit.
//!
//! On PostgreSQL, which runs many writers at once, the work runs in a transaction of its own.

use std::cell::RefCell;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use diesel::Connection;

use super::leader::Line;
use super::{DbConnection, in_transaction, transaction};
use crate::error::Error;

/// Requests' transactions committed together, at most.
const GROUP: usize = 64;
/// Rows (statements, say) written by one group, at most, unless a single request writes more:
/// every other writer of the database, the access log's group commit among them, waits for a
/// group's commit, and so does the answer of each request in it.
const GROUP_ROWS: usize = 500;

thread_local! {
    /// The write group of the database whose work runs on this thread.
    static CURRENT: RefCell<Option<WriteGroup>> = const { RefCell::new(None) };
}

/// Runs `work`, which writes about `rows` rows, in a write transaction whose commit it shares,
/// on SQLite, with the other requests writing at that moment (see the module's
/// documentation). Outside the work of a database (the command line, start-up), inside a
/// transaction already open, and on PostgreSQL, it is [`transaction`].
pub fn transaction_in_group<T, F>(conn: &mut DbConnection, rows: usize, work: F) -> Result<T, Error>
where
    F: FnOnce(&mut DbConnection) -> Result<T, Error> + Send + 'static,
    T: Send + 'static,
{
    let group = match conn {
        DbConnection::Sqlite(_) => CURRENT.with(|current| current.borrow().clone()),
        DbConnection::Postgres(_) => None,
    };
    match group {
        Some(group) if !in_transaction(conn)? => group.run(conn, rows, work),
        _ => transaction(conn, work),
    }
}

/// The work of a database runs on this thread while it is held.
pub(super) struct Entered;

impl Drop for Entered {
    fn drop(&mut self) {
        CURRENT.with(|current| *current.borrow_mut() = None);
    }
}

/// Where one database's requests meet to share a commit.
#[derive(Clone, Default)]
pub(super) struct WriteGroup {
    /// The requests waiting for a group, and whether a leader is running one.
    line: Line<Box<dyn Pending>>,
    /// When the group being run now began: nothing it writes is visible before its commit.
    running_since: Arc<Mutex<Option<DateTime<Utc>>>>,
    /// Groups committed so far, for the tests to see how requests were grouped.
    #[cfg(test)]
    groups: Arc<std::sync::atomic::AtomicUsize>,
}

impl WriteGroup {
    /// Makes this the group of the work about to run on this thread, until the guard is
    /// dropped (however the work ends).
    pub(super) fn enter(&self) -> Entered {
        CURRENT.with(|current| *current.borrow_mut() = Some(self.clone()));
        Entered
    }

    fn run<T, F>(&self, conn: &mut DbConnection, rows: usize, work: F) -> Result<T, Error>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        // Room for one message: the lead, then (once that is taken) the answer.
        let (tell, told) = sync_channel(1);
        let request = Box::new(Request {
            work: Some(work),
            rows,
            outcome: None,
            wrote_outbox: false,
            tell,
        });
        // Nobody is turned away: each request waiting holds a connection of the pool.
        if let Ok(true) = self.line.join(request, usize::MAX) {
            self.lead(conn);
        }
        loop {
            match told.recv() {
                Ok(Told::Lead) => self.lead(conn),
                Ok(Told::Answer(outcome, wrote_outbox)) => {
                    // The work may have run on the leader's thread: the outbox it wrote to is
                    // drained here, before this request's answer, as after any work.
                    if wrote_outbox && outcome.is_ok() {
                        super::outbox_written();
                    }
                    return outcome;
                }
                Err(_) => return Err(unavailable()),
            }
        }
    }

    /// Runs one group: what waits, up to [`GROUP`] requests and [`GROUP_ROWS`] rows (one
    /// request at least). Then, if more wait, the first of them leads the next group on its
    /// own thread and connection, while this request is answered at once rather than after
    /// every group that queues up behind it.
    fn lead(&self, conn: &mut DbConnection) {
        // If leading stops early (a panic outside any request's work), the requests still
        // waiting are refused (503) and the next request leads. (The requests of the group
        // being run are then answered with an error as the panic drops them; nothing of theirs
        // was committed.)
        let leading = self.line.leading(|waiting| {
            self.set_running_since(None);
            for request in waiting {
                request.answer(Err(unavailable()));
            }
        });
        let group = self.line.next_group(|waiting| {
            let mut rows = 0;
            waiting
                .iter()
                .take(GROUP)
                .take_while(|request| {
                    rows += request.rows();
                    rows <= GROUP_ROWS
                })
                .count()
                .max(1)
        });
        self.set_running_since(Some(Utc::now()));
        commit_group(conn, group);
        self.set_running_since(None);
        #[cfg(test)]
        self.groups
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Leadership passes (even if this connection is now unusable: the next leader works on
        // its own), or ends, under the lock: a request queued at that moment either finds a
        // leader or leads.
        let mut line = self.line.lock();
        while !line.requests.is_empty() {
            if line.requests[0].lead() {
                drop(line);
                return leading.done();
            }
            // Its thread is gone: nobody to run it or to answer.
            line.requests.remove(0);
        }
        line.leading = false;
        drop(line);
        leading.done();
    }

    /// When the group being committed now began, if one is: what it stamps, it stamps after
    /// that time, and no one sees it before its commit.
    pub(super) fn running_since(&self) -> Option<DateTime<Utc>> {
        *self
            .running_since
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn set_running_since(&self, since: Option<DateTime<Utc>>) {
        *self
            .running_since
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = since;
    }
}

/// Runs a group's work in one transaction, each request's in a savepoint, and answers each.
fn commit_group(conn: &mut DbConnection, mut group: Vec<Box<dyn Pending>>) {
    let committed = transaction(conn, |conn| {
        for request in &mut group {
            if !request.run(conn) {
                return Err(unavailable());
            }
        }
        Ok(())
    });
    if let Err(error) = &committed {
        tracing::error!(%error, requests = group.len(), "a group of writes could not be committed");
    }
    for request in group {
        request.answer(committed.as_ref().map(|_| ()).map_err(|_| unavailable()));
    }
}

/// A request's work in a group, and its answer.
trait Pending: Send {
    /// About how many rows the request writes.
    fn rows(&self) -> usize;
    /// Tells the request to lead the next group; false if its thread is gone.
    fn lead(&self) -> bool;
    /// Runs the work in a savepoint, rolled back if it fails; keeps its outcome. False if it
    /// failed in the database itself, which ends the group.
    fn run(&mut self, conn: &mut DbConnection) -> bool;
    /// Answers the request once its group's commit succeeded or failed.
    fn answer(self: Box<Self>, committed: Result<(), Error>);
}

/// What a waiting request is told.
enum Told<T> {
    /// Lead the next group.
    Lead,
    /// The group holding the request is done: its outcome, and whether its work wrote to the
    /// webhook outbox.
    Answer(Result<T, Error>, bool),
}

struct Request<T, F> {
    work: Option<F>,
    rows: usize,
    outcome: Option<Result<T, Error>>,
    wrote_outbox: bool,
    tell: SyncSender<Told<T>>,
}

impl<T, F> Pending for Request<T, F>
where
    F: FnOnce(&mut DbConnection) -> Result<T, Error> + Send,
    T: Send,
{
    fn rows(&self) -> usize {
        self.rows
    }

    fn lead(&self) -> bool {
        self.tell.try_send(Told::Lead).is_ok()
    }

    fn run(&mut self, conn: &mut DbConnection) -> bool {
        let Some(work) = self.work.take() else {
            return true;
        };
        // The outbox flag is the thread's: kept apart for this request, and given back.
        let leaders = super::take_outbox_written();
        let mut panicked = false;
        // Nested in the group's transaction: a savepoint, rolled back if the work fails.
        let outcome = conn.transaction::<T, Error, _>(|conn| {
            std::panic::catch_unwind(AssertUnwindSafe(|| work(conn))).unwrap_or_else(|_| {
                panicked = true;
                Err(Error::Internal("the write stopped unexpectedly".into()))
            })
        });
        self.wrote_outbox = super::take_outbox_written();
        if leaders {
            super::outbox_written();
        }
        let goes_on = match &outcome {
            Ok(_) => true,
            Err(error) => panicked || !matches!(error, Error::Internal(_) | Error::Unavailable(_)),
        };
        self.outcome = Some(outcome);
        goes_on
    }

    fn answer(self: Box<Self>, committed: Result<(), Error>) {
        let outcome = match (self.outcome, committed) {
            // A failed request wrote nothing either way: its own error says why.
            (Some(Err(error)), _) => Err(error),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (Some(Ok(_)), Err(error)) | (None, Err(error)) => Err(error),
            (None, Ok(())) => Err(Error::Internal("the write was not run".into())),
        };
        // The request may have gone (its thread panicked): nobody to tell.
        let _ = self.tell.try_send(Told::Answer(outcome, self.wrote_outbox));
    }
}

fn unavailable() -> Error {
    Error::Unavailable("the write could not be committed: nothing was stored; retry".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Database;
    use crate::db::schema::organisations;
    use crate::db::types::Timestamp;
    use diesel::prelude::*;
    use std::sync::atomic::Ordering;
    use std::thread::ThreadId;

    fn sqlite_database(dir: &tempfile::TempDir, pool: u32) -> Database {
        let url = Database::default_sqlite_url(dir.path());
        let db = Database::connect(&url, pool, false).unwrap();
        db.migrate().unwrap();
        db
    }

    fn add(conn: &mut DbConnection, name: &str) -> Result<(), Error> {
        diesel::insert_into(organisations::table)
            .values((
                organisations::id.eq(crate::db::ids::OrganisationId::new()),
                organisations::name.eq(name),
                organisations::created_at.eq(Timestamp::now()),
            ))
            .execute(conn)?;
        Ok(())
    }

    fn organisations_named(db: &Database) -> Vec<String> {
        let mut names: Vec<String> = organisations::table
            .select(organisations::name)
            .load(&mut *db.get().unwrap())
            .unwrap();
        names.sort();
        names
    }

    /// Waits until `count` requests are queued behind the group being run.
    fn until_queued(group: &WriteGroup, count: usize) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while group.line.lock().requests.len() < count {
            assert!(
                std::time::Instant::now() < deadline,
                "the others never queued"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    #[test]
    fn requests_queued_behind_a_leader_share_one_commit_and_a_failure_stays_alone() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite_database(&dir, 12);
        let group = WriteGroup::default();
        let (started, leader_running) = std::sync::mpsc::channel();
        // The first request leads; its work holds its group open until 8 others are queued.
        let leader = {
            let (db, group) = (db.clone(), group.clone());
            std::thread::spawn(move || {
                let held = group.clone();
                let outcome = group.run(&mut db.get().unwrap(), 1, move |conn| {
                    // What the group stamps, it stamps after the time readers are told.
                    let since = held.running_since().expect("a group is running");
                    assert!(since <= chrono::Utc::now());
                    started.send(()).unwrap();
                    until_queued(&held, 8);
                    add(conn, "Leader")
                });
                let wrote_outbox = crate::db::take_outbox_written();
                (
                    outcome.is_ok() && !wrote_outbox,
                    std::thread::current().id(),
                )
            })
        };
        leader_running.recv().unwrap();
        let followers: Vec<_> = (0..8)
            .map(|i| {
                let (db, group) = (db.clone(), group.clone());
                std::thread::spawn(move || {
                    let outcome = group.run(&mut db.get().unwrap(), 1, move |conn| {
                        add(conn, &format!("Follower {i}"))?;
                        if i == 3 {
                            // Fails after writing: its row must go, and only its row.
                            return Err(Error::Conflict("refused".into()));
                        }
                        if i == 5 {
                            crate::db::outbox_written();
                        }
                        Ok(std::thread::current().id())
                    });
                    // The outbox is drained by the thread of the request that wrote to it,
                    // whichever thread ran its work.
                    assert_eq!(crate::db::take_outbox_written(), i == 5, "follower {i}");
                    outcome
                })
            })
            .collect();
        let ran_on: Vec<Result<ThreadId, Error>> = followers
            .into_iter()
            .map(|follower| follower.join().unwrap())
            .collect();
        let (leader_ok, leader_thread) = leader.join().unwrap();
        assert!(leader_ok);
        for (i, outcome) in ran_on.iter().enumerate() {
            match outcome {
                Err(Error::Conflict(_)) => assert_eq!(i, 3, "its own error, and only its own"),
                Ok(thread) => assert_ne!(
                    *thread, leader_thread,
                    "the next group is led by a request of its own, not by the first leader"
                ),
                Err(error) => panic!("follower {i}: {error}"),
            }
        }
        // Two commits: the leader's group, then the eight queued behind it.
        assert_eq!(group.groups.load(Ordering::SeqCst), 2);
        let mut expected: Vec<String> = (0..8)
            .filter(|i| *i != 3)
            .map(|i| format!("Follower {i}"))
            .collect();
        expected.push("Leader".into());
        expected.sort();
        assert_eq!(organisations_named(&db), expected);
        assert!(!group.line.lock().leading, "leadership ends with the queue");
        assert_eq!(group.running_since(), None, "nothing is being committed");
    }

    #[test]
    fn outside_a_database_work_it_is_a_transaction_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite_database(&dir, 2);
        let mut conn = db.get().unwrap();
        let refused = transaction_in_group(&mut conn, 1, |conn| {
            add(conn, "Rolled back")?;
            Err::<(), _>(Error::Conflict("refused".into()))
        });
        assert!(matches!(refused, Err(Error::Conflict(_))));
        transaction_in_group(&mut conn, 1, |conn| add(conn, "Kept")).unwrap();
        drop(conn);
        assert_eq!(organisations_named(&db), ["Kept"]);
    }

    /// A request's work, as the tests queue it.
    type Work = Box<dyn FnOnce(&mut DbConnection) -> Result<(), Error> + Send>;

    /// Runs a group: the first request leads and holds its group open until the others are
    /// queued, so that they form the next group, in order. Answers each request's outcome.
    fn two_groups(db: &Database, group: &WriteGroup, works: Vec<Work>) -> Vec<Result<(), Error>> {
        let (started, leader_running) = std::sync::mpsc::channel();
        let count = works.len();
        let leader = {
            let (db, group) = (db.clone(), group.clone());
            std::thread::spawn(move || {
                let held = group.clone();
                group.run(&mut db.get().unwrap(), 1, move |conn| {
                    started.send(()).unwrap();
                    until_queued(&held, count);
                    add(conn, "Leader")
                })
            })
        };
        leader_running.recv().unwrap();
        let mut queued = Vec::new();
        for (i, work) in works.into_iter().enumerate() {
            let (db, joining) = (db.clone(), group.clone());
            queued.push(std::thread::spawn(move || {
                joining.run(&mut db.get().unwrap(), 1, work)
            }));
            // In order; once the last is queued the leader goes on, and the queue empties.
            if i + 1 < count {
                until_queued(group, i + 1);
            }
        }
        assert!(leader.join().unwrap().is_ok());
        queued.into_iter().map(|q| q.join().unwrap()).collect()
    }

    #[test]
    fn a_request_whose_work_panics_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite_database(&dir, 6);
        let group = WriteGroup::default();
        let outcomes = two_groups(
            &db,
            &group,
            vec![
                Box::new(|conn| add(conn, "Before")),
                Box::new(|conn| {
                    add(conn, "Panicked")?;
                    panic!("a write that panics")
                }),
                Box::new(|conn| add(conn, "After")),
            ],
        );
        assert!(outcomes[0].is_ok());
        assert!(matches!(outcomes[1], Err(Error::Internal(_))));
        assert!(outcomes[2].is_ok());
        assert_eq!(organisations_named(&db), ["After", "Before", "Leader"]);
        assert!(!group.line.lock().leading, "leadership ends with the queue");
        assert_eq!(group.running_since(), None);
    }

    #[test]
    fn a_failure_of_the_database_ends_its_group_and_keeps_nothing_of_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite_database(&dir, 6);
        let group = WriteGroup::default();
        let outcomes = two_groups(
            &db,
            &group,
            vec![
                Box::new(|conn| add(conn, "Before")),
                Box::new(|conn| {
                    add(conn, "Failed")?;
                    Err(Error::Internal("disk I/O error".into()))
                }),
                Box::new(|conn| add(conn, "Never run")),
            ],
        );
        assert!(matches!(outcomes[0], Err(Error::Unavailable(_))));
        assert!(matches!(outcomes[1], Err(Error::Internal(_))));
        assert!(matches!(outcomes[2], Err(Error::Unavailable(_))));
        // The leader's own group was committed before; nothing of the failed one.
        assert_eq!(organisations_named(&db), ["Leader"]);
        // The next request leads, and is committed.
        group
            .run(&mut db.get().unwrap(), 1, |conn| add(conn, "Later"))
            .unwrap();
        assert_eq!(organisations_named(&db), ["Later", "Leader"]);
    }

    #[test]
    fn a_group_holds_at_most_its_rows_and_at_least_one_request() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite_database(&dir, 6);
        let group = WriteGroup::default();
        let (started, leader_running) = std::sync::mpsc::channel();
        let leader = {
            let (db, group) = (db.clone(), group.clone());
            std::thread::spawn(move || {
                let held = group.clone();
                group.run(&mut db.get().unwrap(), 1, move |conn| {
                    started.send(()).unwrap();
                    until_queued(&held, 3);
                    add(conn, "Leader")
                })
            })
        };
        leader_running.recv().unwrap();
        // Queued in this order: more rows than a group holds, then two that fit together.
        let mut queued = Vec::new();
        for (i, rows) in [GROUP_ROWS + 1, GROUP_ROWS / 2, GROUP_ROWS / 2]
            .into_iter()
            .enumerate()
        {
            let (db, group2) = (db.clone(), group.clone());
            queued.push(std::thread::spawn(move || {
                group2.run(&mut db.get().unwrap(), rows, move |conn| {
                    add(conn, &format!("{i}"))
                })
            }));
            if i < 2 {
                until_queued(&group, i + 1);
            }
        }
        assert!(leader.join().unwrap().is_ok());
        for q in queued {
            assert!(q.join().unwrap().is_ok());
        }
        // The leader's, the big request's alone, then the two together.
        assert_eq!(group.groups.load(Ordering::SeqCst), 3);
        assert_eq!(organisations_named(&db), ["0", "1", "2", "Leader"]);
    }
}
