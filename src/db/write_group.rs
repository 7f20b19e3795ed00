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
//! One request's work that fails is rolled back to its savepoint, alone: the others are kept,
//! and it gets its own error, as if it had run alone. If the commit itself fails, nothing of
//! the group was written and every request in it gets 503.
//!
//! On PostgreSQL, which runs many writers at once, the work runs in a transaction of its own.

use std::cell::RefCell;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use diesel::Connection;

use super::{DbConnection, in_transaction, transaction};
use crate::error::Error;

/// Requests' transactions committed together, at most.
const GROUP: usize = 64;

thread_local! {
    /// The write group of the database whose work runs on this thread.
    static CURRENT: RefCell<Option<WriteGroup>> = const { RefCell::new(None) };
}

/// Runs `work` in a write transaction whose commit it shares, on SQLite, with the other
/// requests writing at that moment (see the module's documentation). Outside the work of a
/// database (the command line, start-up), inside a transaction already open, and on
/// PostgreSQL, it is [`transaction`].
pub fn transaction_in_group<T, F>(conn: &mut DbConnection, work: F) -> Result<T, Error>
where
    F: FnOnce(&mut DbConnection) -> Result<T, Error> + Send + 'static,
    T: Send + 'static,
{
    let group = match conn {
        DbConnection::Sqlite(_) => CURRENT.with(|current| current.borrow().clone()),
        DbConnection::Postgres(_) => None,
    };
    match group {
        Some(group) if !in_transaction(conn)? => group.run(conn, work),
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
    queue: Arc<Mutex<Queue>>,
    /// When the group being run now began: nothing it writes is visible before its commit.
    running_since: Arc<Mutex<Option<DateTime<Utc>>>>,
    /// Groups committed so far, for the tests to see how requests were grouped.
    #[cfg(test)]
    groups: Arc<std::sync::atomic::AtomicUsize>,
}

/// The requests waiting for a group, and whether a leader is running one.
#[derive(Default)]
struct Queue {
    waiting: Vec<Box<dyn Pending>>,
    leading: bool,
}

impl WriteGroup {
    /// Makes this the group of the work about to run on this thread, until the guard is
    /// dropped (however the work ends).
    pub(super) fn enter(&self) -> Entered {
        CURRENT.with(|current| *current.borrow_mut() = Some(self.clone()));
        Entered
    }

    fn run<T, F>(&self, conn: &mut DbConnection, work: F) -> Result<T, Error>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        // Room for one message: the lead, then (once that is taken) the answer.
        let (tell, told) = sync_channel(1);
        let request = Box::new(Request {
            work: Some(work),
            outcome: None,
            tell,
        });
        let leads = {
            let mut queue = self.queue();
            queue.waiting.push(request);
            !std::mem::replace(&mut queue.leading, true)
        };
        if leads {
            self.lead(conn);
        }
        loop {
            match told.recv() {
                Ok(Told::Lead) => self.lead(conn),
                Ok(Told::Answer(outcome)) => return outcome,
                Err(_) => return Err(unavailable()),
            }
        }
    }

    /// Runs one group: what waits, up to [`GROUP`] requests. Then, if more wait, the first
    /// of them leads the next group on its own thread and connection, while this request is
    /// answered at once rather than after every group that queues up behind it.
    fn lead(&self, conn: &mut DbConnection) {
        let leading = Leading(self);
        let group: Vec<Box<dyn Pending>> = {
            let mut queue = self.queue();
            let take = queue.waiting.len().min(GROUP);
            queue.waiting.drain(..take).collect()
        };
        self.set_running_since(Some(Utc::now()));
        commit_group(conn, group);
        self.set_running_since(None);
        #[cfg(test)]
        self.groups
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if super::unusable(conn) {
            // The connection is gone: `leading` steps down, refusing what waits (503), and
            // the next request leads on a connection of its own.
            return;
        }
        // Leadership passes, or ends, under the lock: a request queued at that moment either
        // finds a leader or leads.
        let mut queue = self.queue();
        while !queue.waiting.is_empty() {
            if queue.waiting[0].lead() {
                std::mem::forget(leading);
                return;
            }
            // Its thread is gone: nobody to run it or to answer.
            queue.waiting.remove(0);
        }
        queue.leading = false;
        std::mem::forget(leading);
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

    /// Every change to the queue is complete under its lock, so a lock poisoned by a panic
    /// elsewhere still guards a consistent queue.
    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Held while a thread leads; dropped only if leading stops early (its connection lost, or a
/// panic), when the requests still waiting are refused (503) and the next request leads. (After
/// a panic, the requests of the group being run are answered with an error as the panic drops
/// them; nothing of theirs was committed.)
struct Leading<'a>(&'a WriteGroup);

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        let waiting = {
            let mut queue = self.0.queue();
            queue.leading = false;
            std::mem::take(&mut queue.waiting)
        };
        for request in waiting {
            request.answer(Err(unavailable()));
        }
    }
}

/// Runs a group's work in one transaction, each request's in a savepoint, and answers each.
fn commit_group(conn: &mut DbConnection, mut group: Vec<Box<dyn Pending>>) {
    let committed = transaction(conn, |conn| {
        for request in &mut group {
            request.run(conn);
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
    /// Tells the request to lead the next group; false if its thread is gone.
    fn lead(&self) -> bool;
    /// Runs the work in a savepoint, rolled back if it fails; keeps its outcome.
    fn run(&mut self, conn: &mut DbConnection);
    /// Answers the request once its group's commit succeeded or failed.
    fn answer(self: Box<Self>, committed: Result<(), Error>);
}

/// What a waiting request is told.
enum Told<T> {
    /// Lead the next group.
    Lead,
    /// The group holding the request is done: its outcome.
    Answer(Result<T, Error>),
}

struct Request<T, F> {
    work: Option<F>,
    outcome: Option<Result<T, Error>>,
    tell: SyncSender<Told<T>>,
}

impl<T, F> Pending for Request<T, F>
where
    F: FnOnce(&mut DbConnection) -> Result<T, Error> + Send,
    T: Send,
{
    fn lead(&self) -> bool {
        self.tell.try_send(Told::Lead).is_ok()
    }

    fn run(&mut self, conn: &mut DbConnection) {
        let Some(work) = self.work.take() else {
            return;
        };
        // Nested in the group's transaction: a savepoint.
        self.outcome = Some(conn.transaction::<T, Error, _>(work));
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
        let _ = self.tell.try_send(Told::Answer(outcome));
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
        while group.queue().waiting.len() < count {
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
                let outcome = group.run(&mut db.get().unwrap(), move |conn| {
                    // What the group stamps, it stamps after the time readers are told.
                    let since = held.running_since().expect("a group is running");
                    assert!(since <= chrono::Utc::now());
                    started.send(()).unwrap();
                    until_queued(&held, 8);
                    add(conn, "Leader")
                });
                (outcome.is_ok(), std::thread::current().id())
            })
        };
        leader_running.recv().unwrap();
        let followers: Vec<_> = (0..8)
            .map(|i| {
                let (db, group) = (db.clone(), group.clone());
                std::thread::spawn(move || {
                    group.run(&mut db.get().unwrap(), move |conn| {
                        add(conn, &format!("Follower {i}"))?;
                        if i == 3 {
                            // Fails after writing: its row must go, and only its row.
                            return Err(Error::Conflict("refused".into()));
                        }
                        Ok(std::thread::current().id())
                    })
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
        assert!(!group.queue().leading, "leadership ends with the queue");
        assert_eq!(group.running_since(), None, "nothing is being committed");
    }

    #[test]
    fn outside_a_database_work_it_is_a_transaction_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite_database(&dir, 2);
        let mut conn = db.get().unwrap();
        let refused = transaction_in_group(&mut conn, |conn| {
            add(conn, "Rolled back")?;
            Err::<(), _>(Error::Conflict("refused".into()))
        });
        assert!(matches!(refused, Err(Error::Conflict(_))));
        transaction_in_group(&mut conn, |conn| add(conn, "Kept")).unwrap();
        drop(conn);
        assert_eq!(organisations_named(&db), ["Kept"]);
    }

    #[test]
    fn a_leader_that_panics_leaves_no_request_unanswered() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite_database(&dir, 2);
        let group = WriteGroup::default();
        let (started, leader_running) = std::sync::mpsc::channel();
        let panicking = {
            let (db, group) = (db.clone(), group.clone());
            std::thread::spawn(move || {
                let held = group.clone();
                let _: Result<(), Error> = group.run(&mut db.get().unwrap(), move |_| {
                    started.send(()).unwrap();
                    until_queued(&held, 1);
                    panic!("a write that panics")
                });
            })
        };
        leader_running.recv().unwrap();
        let queued = group.run(&mut db.get().unwrap(), |conn| add(conn, "Queued"));
        assert!(panicking.join().is_err());
        // Refused, not left waiting; and nothing of the group was committed.
        assert!(matches!(queued, Err(Error::Unavailable(_))));
        assert!(!group.queue().leading, "the leader stepped down");
        // No connection is lent out still inside the transaction the panic left.
        let mut both = [db.get().unwrap(), db.get().unwrap()];
        for conn in &mut both {
            assert!(!in_transaction(conn).unwrap());
        }
        drop(both);
        group
            .run(&mut db.get().unwrap(), |conn| add(conn, "After"))
            .unwrap();
        assert_eq!(organisations_named(&db), ["After"]);
    }
}
