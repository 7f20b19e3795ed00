//! Writes an answer must not leave without: the access events of reads. A read runs in a read
//! transaction, which never waits for a writer; the event it must leave behind is committed
//! with the events of every other request waiting at that moment, in one transaction (a group
//! commit), and each answer leaves only after its group's commit. If the commit fails, the
//! answer is 503 and none of the data read leaves.
//!
//! There is no writer thread to wake: the request that finds no commit under way commits, on
//! the thread and connection it read with, its own events and those queued meanwhile, and goes
//! on committing what queues up behind it until nothing waits (it leads the group). The others
//! queue their events and return their connection and thread at once; the leader sends their
//! answers. A thread that is already running commits at once, where a writer thread had first
//! to be scheduled, on a busy machine a wait of milliseconds that every read in its group shared.
//!
//! On SQLite this keeps readers off the single writer's lock: many reads share one short write.
//! On PostgreSQL one commit (one WAL flush) serves a whole group of reads.

use std::cell::RefCell;
use std::sync::{Arc, Mutex};

use super::{DbConnection, transaction};
use crate::error::Error;

/// One write: a closure so that any table's owner can write its own rows. It may run twice,
/// alone after its group failed, so that one bad write does not fail the others.
pub type Job = Box<dyn Fn(&mut DbConnection) -> Result<(), Error> + Send>;

/// Requests' writes waiting for their group, at most: beyond this the service is answering
/// reads faster than it can record them, and new reads are refused (503) until it catches up.
const QUEUE: usize = 4096;
/// Requests' writes committed in one transaction, at most.
const GROUP: usize = 256;

thread_local! {
    /// The writes handed over by the work running on this thread, while a database's work runs.
    static HANDED: RefCell<Option<Vec<Job>>> = const { RefCell::new(None) };
}

/// Makes sure a write is committed before the answer of the current work leaves.
///
/// Inside a transaction the write simply joins it. Otherwise, within [`super::Database::run`],
/// it joins a group commit once the work ends, and `run` answers only after it
/// has been committed; outside any work of the service (the command line, start-up) it is
/// committed at once in a transaction of its own.
pub fn before_answer(conn: &mut DbConnection, job: Job) -> Result<(), Error> {
    if super::in_transaction(conn)? {
        return job(conn);
    }
    let job = HANDED.with(|handed| match handed.borrow_mut().as_mut() {
        Some(jobs) => {
            jobs.push(job);
            None
        }
        None => Some(job),
    });
    match job {
        Some(job) => transaction(conn, |conn| job(conn)),
        None => Ok(()),
    }
}

/// Starts collecting the writes of the work about to run on this thread.
pub(super) fn collect() {
    HANDED.with(|handed| *handed.borrow_mut() = Some(Vec::new()));
}

/// The writes the work on this thread handed over; collecting stops.
pub(super) fn collected() -> Vec<Job> {
    HANDED.with(|handed| handed.borrow_mut().take().unwrap_or_default())
}

/// What is told whether a request's writes were committed: it sends the request's answer.
pub(super) type Answer = Box<dyn FnOnce(Result<(), Error>) + Send>;

/// What one request waits for: its writes, and what to tell once they are committed or not.
struct Waiting {
    jobs: Vec<Job>,
    answer: Answer,
}

/// The requests whose writes wait for a group, and whether a leader is committing.
#[derive(Default)]
struct Queue {
    waiting: Vec<Waiting>,
    leading: bool,
}

/// Where requests' writes meet to be committed in groups: one per database.
#[derive(Clone, Default)]
pub(super) struct Writer {
    queue: Arc<Mutex<Queue>>,
    /// Groups committed so far, for the tests to see how requests were grouped.
    #[cfg(test)]
    groups: Arc<std::sync::atomic::AtomicUsize>,
}

impl Writer {
    /// Commits a request's writes with those of the other requests waiting, and has `answer`
    /// told whether they were committed: by this thread, if no commit is under way (it then
    /// leads until nothing waits), or else by the thread leading now. `conn` is the
    /// connection the request read with, out of any transaction.
    pub(super) fn commit(&self, conn: &mut DbConnection, jobs: Vec<Job>, answer: Answer) {
        {
            let mut queue = self.queue();
            if queue.waiting.len() >= QUEUE {
                drop(queue);
                return answer(Err(Error::Unavailable(
                    "the access log is not keeping up: nothing was read; retry shortly".into(),
                )));
            }
            queue.waiting.push(Waiting { jobs, answer });
            if queue.leading {
                return;
            }
            queue.leading = true;
        }
        // Leading: whatever is queued, a group at a time, until the queue is empty. Leadership
        // ends under the lock, so that a request queued at that moment finds none and leads.
        let leading = Leading(self);
        loop {
            let group: Vec<Waiting> = {
                let mut queue = self.queue();
                if queue.waiting.is_empty() {
                    queue.leading = false;
                    std::mem::forget(leading);
                    return;
                }
                let take = queue.waiting.len().min(GROUP);
                queue.waiting.drain(..take).collect()
            };
            commit_group(conn, group);
            #[cfg(test)]
            self.groups
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// The queue. Every change to it is complete under its lock, so a lock poisoned by a
    /// panic elsewhere still guards a consistent queue.
    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Held while a thread leads; dropped only if leading stops by a panic, when it hands the
/// queue on: its requests are refused and the next request leads.
struct Leading<'a>(&'a Writer);

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        let waiting = {
            let mut queue = self.0.queue();
            queue.leading = false;
            std::mem::take(&mut queue.waiting)
        };
        for waiting in waiting {
            (waiting.answer)(Err(unavailable()));
        }
    }
}

/// Commits a group in one transaction; if that fails, each request's writes alone, so that one
/// bad write fails only its own request. Every waiter is told.
fn commit_group(conn: &mut DbConnection, group: Vec<Waiting>) {
    let together = transaction(conn, |conn| {
        group
            .iter()
            .flat_map(|waiting| &waiting.jobs)
            .try_for_each(|job| job(conn))
    });
    if together.is_ok() || group.len() == 1 {
        if let Err(error) = &together {
            tracing::error!(%error, "the access log could not be written");
        }
        let ok = together.is_ok();
        for waiting in group {
            (waiting.answer)(if ok { Ok(()) } else { Err(unavailable()) });
        }
        return;
    }
    for waiting in group {
        let alone = transaction(conn, |conn| {
            waiting.jobs.iter().try_for_each(|job| job(conn))
        });
        if let Err(error) = &alone {
            tracing::error!(%error, "the access log could not be written");
        }
        (waiting.answer)(alone.map_err(|_| unavailable()));
    }
}

fn unavailable() -> Error {
    Error::Unavailable("the access log could not be written: nothing was read; retry".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Database;
    use crate::db::schema::organisations;
    use crate::db::types::Timestamp;
    use diesel::prelude::*;

    fn add(name: &'static str) -> Job {
        Box::new(move |conn| {
            diesel::insert_into(organisations::table)
                .values((
                    organisations::id.eq(crate::db::ids::OrganisationId::new()),
                    organisations::name.eq(name),
                    organisations::created_at.eq(Timestamp::now()),
                ))
                .execute(conn)?;
            Ok(())
        })
    }

    #[test]
    fn a_failing_write_fails_only_its_own_request() {
        let dir = tempfile::tempdir().unwrap();
        let url = Database::default_sqlite_url(dir.path());
        let db = Database::connect(&url, 2, false).unwrap();
        db.migrate().unwrap();
        let mut answers = Vec::new();
        let group = [
            vec![add("First"), add("Second")],
            vec![
                add("Third"),
                Box::new(|_: &mut DbConnection| Err(Error::Internal("refused".into()))) as Job,
            ],
            vec![add("Fourth")],
        ]
        .into_iter()
        .map(|jobs| {
            let (committed, answer) = tokio::sync::oneshot::channel();
            answers.push(answer);
            Waiting {
                jobs,
                answer: Box::new(move |outcome| {
                    let _ = committed.send(outcome);
                }),
            }
        })
        .collect();
        commit_group(&mut db.get().unwrap(), group);
        let outcomes: Vec<bool> = answers
            .into_iter()
            .map(|mut answer| answer.try_recv().unwrap().is_ok())
            .collect();
        assert_eq!(outcomes, [true, false, true]);
        let mut names: Vec<String> = organisations::table
            .select(organisations::name)
            .load(&mut *db.get().unwrap())
            .unwrap();
        names.sort();
        // The failed request's other write was rolled back with it.
        assert_eq!(names, ["First", "Fourth", "Second"]);
    }

    fn organisations_named(db: &Database) -> Vec<String> {
        let mut names: Vec<String> = organisations::table
            .select(organisations::name)
            .load(&mut *db.get().unwrap())
            .unwrap();
        names.sort();
        names
    }

    fn sqlite_database(dir: &tempfile::TempDir, pool: u32) -> Database {
        let url = Database::default_sqlite_url(dir.path());
        let db = Database::connect(&url, pool, false).unwrap();
        db.migrate().unwrap();
        db
    }

    #[test]
    fn requests_queued_behind_a_leader_are_committed_together_and_answered_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite_database(&dir, 8);
        let writer = Writer::default();
        // The first request leads; its write holds the group open until 31 others are queued.
        let (answer, first_answered) = std::sync::mpsc::channel();
        let leader = {
            let (db, writer) = (db.clone(), writer.clone());
            let queued = writer.clone();
            std::thread::spawn(move || {
                let wait: Job = Box::new(move |conn| {
                    while queued.queue().waiting.len() < 31 {
                        std::thread::sleep(std::time::Duration::from_millis(5));
                    }
                    add("Leader")(conn)
                });
                writer.commit(
                    &mut db.get().unwrap(),
                    vec![wait],
                    Box::new(move |outcome| answer.send(outcome.is_ok()).unwrap()),
                );
                writer.groups.load(std::sync::atomic::Ordering::SeqCst)
            })
        };
        while !writer.queue().leading {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let followers: Vec<_> = (0..31)
            .map(|i| {
                let (db, writer) = (db.clone(), writer.clone());
                std::thread::spawn(move || {
                    let (answer, answered) = std::sync::mpsc::channel();
                    let name: &'static str = Box::leak(format!("Follower {i:02}").into());
                    let mut conn = db.get().unwrap();
                    writer.commit(
                        &mut conn,
                        vec![add(name)],
                        Box::new(move |outcome| answer.send(outcome.is_ok()).unwrap()),
                    );
                    // A follower returns its connection before its answer comes.
                    drop(conn);
                    let first = answered.recv().unwrap();
                    assert!(answered.recv().is_err(), "answered once");
                    first
                })
            })
            .collect();
        for follower in followers {
            assert!(follower.join().unwrap());
        }
        assert_eq!(first_answered.recv(), Ok(true));
        // Two transactions: the leader's own, then the 31 queued behind it.
        assert_eq!(leader.join().unwrap(), 2);
        assert_eq!(organisations_named(&db).len(), 32);
        assert!(!writer.queue().leading, "leadership ends with the queue");
    }

    #[test]
    fn a_leader_that_panics_leaves_no_request_unanswered() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite_database(&dir, 4);
        let writer = Writer::default();
        let (answer, answered) = std::sync::mpsc::channel();
        let panicking = {
            let (db, writer) = (db.clone(), writer.clone());
            std::thread::spawn(move || {
                let mut conn = db.get().unwrap();
                writer.commit(
                    &mut conn,
                    vec![Box::new(|_: &mut DbConnection| {
                        panic!("a write that panics")
                    })],
                    Box::new(move |outcome| answer.send(outcome.is_ok()).unwrap()),
                );
            })
        };
        assert!(panicking.join().is_err());
        // Its own answer was dropped with it: the request learns it failed, it is not left
        // waiting.
        assert!(answered.recv().is_err());
        // The next request leads and is committed.
        let (answer, answered) = std::sync::mpsc::channel();
        writer.commit(
            &mut db.get().unwrap(),
            vec![add("After")],
            Box::new(move |outcome| answer.send(outcome.is_ok()).unwrap()),
        );
        assert_eq!(answered.recv(), Ok(true));
        assert_eq!(organisations_named(&db), ["After"]);
    }
}
