//! Writes an answer must not leave without: the access events of reads. A read runs in a read
//! transaction, which never waits for a writer; the event it must leave behind is handed to one
//! writer per database, which commits the events of every request waiting at that moment in one
//! transaction (a group commit), and each answer waits for its group's commit. If the commit
//! fails, the answer is 503 and none of the data read leaves.
//!
//! On SQLite this keeps readers off the single writer's lock: many reads share one short write.
//! On PostgreSQL one commit (one WAL flush) serves a whole group of reads.

use std::cell::RefCell;
use std::sync::mpsc::{Receiver, TrySendError};

use diesel::r2d2;

use super::background::Background;

use super::{ConnectionManager, DbConnection, transaction};
use crate::error::Error;

/// One write: a closure so that any table's owner can write its own rows. It may run twice,
/// alone after its group failed, so that one bad write does not fail the others.
pub type Job = Box<dyn Fn(&mut DbConnection) -> Result<(), Error> + Send>;

/// Requests' writes waiting for the writer, at most: beyond this the service is answering
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
/// it is handed to the group-commit writer once the work ends, and `run` answers only after it
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

/// What one request waits for: its writes, and where to say whether they were committed.
struct Waiting {
    jobs: Vec<Job>,
    committed: tokio::sync::oneshot::Sender<Result<(), Error>>,
}

/// The writer's queue (see [`Background`] for when its thread starts and stops). If its thread
/// cannot start, every read is refused: nothing leaves unrecorded.
#[derive(Clone)]
pub(super) struct Writer(Background<Waiting>);

impl Writer {
    pub(super) fn start(pool: r2d2::Pool<ConnectionManager>) -> Self {
        Writer(Background::new(
            "group-commit",
            QUEUE,
            pool,
            write,
            "no group-commit writer: reads will be refused",
        ))
    }

    /// Commits a request's writes with those of the other requests waiting, and answers once
    /// they are committed.
    pub(super) async fn commit(&self, jobs: Vec<Job>) -> Result<(), Error> {
        let (committed, outcome) = tokio::sync::oneshot::channel();
        self.0
            .sender()
            .try_send(Waiting { jobs, committed })
            .map_err(|error| {
                let why = match error {
                    TrySendError::Full(_) => "the access log is not keeping up",
                    TrySendError::Disconnected(_) => "the access log's writer has stopped",
                };
                Error::Unavailable(format!("{why}: nothing was read; retry shortly"))
            })?;
        outcome.await.map_err(|_| {
            Error::Unavailable("the access log's writer has stopped: nothing was read".into())
        })?
    }
}

fn write(pool: r2d2::Pool<ConnectionManager>, receiver: Receiver<Waiting>) {
    while let Ok(first) = receiver.recv() {
        let mut group = vec![first];
        while group.len() < GROUP {
            match receiver.try_recv() {
                Ok(more) => group.push(more),
                Err(_) => break,
            }
        }
        commit_group(&pool, group);
    }
}

/// Commits a group in one transaction; if that fails, each request's writes alone, so that one
/// bad write fails only its own request. Every waiter is told.
fn commit_group(pool: &r2d2::Pool<ConnectionManager>, group: Vec<Waiting>) {
    let mut conn = match pool.get() {
        Ok(conn) => conn,
        Err(error) => {
            tracing::error!(%error, "the access log could not be written: no connection");
            for waiting in group {
                let _ = waiting.committed.send(Err(unavailable()));
            }
            return;
        }
    };
    let together = transaction(&mut conn, |conn| {
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
            let _ = waiting
                .committed
                .send(if ok { Ok(()) } else { Err(unavailable()) });
        }
        return;
    }
    for waiting in group {
        let alone = transaction(&mut conn, |conn| {
            waiting.jobs.iter().try_for_each(|job| job(conn))
        });
        if let Err(error) = &alone {
            tracing::error!(%error, "the access log could not be written");
        }
        let _ = waiting.committed.send(alone.map_err(|_| unavailable()));
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
            Waiting { jobs, committed }
        })
        .collect();
        commit_group(&db.pool, group);
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
}
