//! Writes an answer must not leave without: the access events of reads. A read runs in a read
//! transaction, which never waits for a writer; the event it must leave behind is committed
//! with the events of every other request waiting at that moment, all at once (a group commit:
//! one statement, or one transaction when they do not fit in one), and each answer leaves only
//! after its group's commit. If the commit fails, the
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

use std::any::{Any, TypeId};
use std::cell::RefCell;

use super::leader::Line;
use super::{DbConnection, transaction};
use crate::error::Error;

/// One write handed to the group commit: rows, and how their table's owner writes many at
/// once. The rows of every job of the same type in a group are written by one call, so that
/// the owner can write a whole group in one statement (on PostgreSQL one round trip, where a
/// statement per row was one each). A job may be written twice, alone after its group failed,
/// so that one bad write does not fail the others.
pub struct Job(Box<dyn Rows>);

/// How a table's owner writes rows of type `R`.
pub struct Writes<R> {
    /// Writes all the rows of a group, in their order.
    pub write: fn(&mut DbConnection, &[&R]) -> Result<(), Error>,
    /// The most rows `write` puts in one statement on the connection's backend. A group whose
    /// rows all fit in one statement is written without a transaction around it: the statement
    /// is atomic by itself, and on PostgreSQL the BEGIN and COMMIT were two of the group's
    /// three round trips.
    pub per_statement: fn(&DbConnection) -> usize,
}

impl Job {
    /// Rows to write as `writes` says. A row type has one way to be written: the rows of type
    /// `R` in a group all go to the `writes` of the first job that holds some.
    pub fn rows<R: Send + 'static>(rows: Vec<R>, writes: &'static Writes<R>) -> Self {
        Job(Box::new(Typed { rows, writes }))
    }
}

/// Rows of one type, as the group commit sees them.
trait Rows: Send {
    fn as_any(&self) -> &dyn Any;
    fn len(&self) -> usize;
    /// The most rows of this type written in one statement on `conn`.
    fn per_statement(&self, conn: &DbConnection) -> usize;
    /// Writes these rows and those of `jobs`, all of this same type, in one call.
    fn write_with(&self, conn: &mut DbConnection, jobs: &[&Job]) -> Result<(), Error>;
}

struct Typed<R: 'static> {
    rows: Vec<R>,
    writes: &'static Writes<R>,
}

impl<R: Send + 'static> Rows for Typed<R> {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    fn per_statement(&self, conn: &DbConnection) -> usize {
        (self.writes.per_statement)(conn)
    }

    fn write_with(&self, conn: &mut DbConnection, jobs: &[&Job]) -> Result<(), Error> {
        let rows: Vec<&R> = jobs
            .iter()
            .filter_map(|job| job.0.as_any().downcast_ref::<Typed<R>>())
            .flat_map(|typed| &typed.rows)
            .collect();
        (self.writes.write)(conn, &rows)
    }
}

/// Writes jobs all or nothing, those of one type together, types in the order they first
/// appear: in one statement with no transaction around it when they fit in one, else in a
/// transaction (which joins one already open).
fn write_atomically<'a>(
    conn: &mut DbConnection,
    jobs: impl Iterator<Item = &'a Job>,
) -> Result<(), Error> {
    let mut by_type: Vec<(TypeId, Vec<&Job>)> = Vec::new();
    for job in jobs {
        let kind = job.0.as_any().type_id();
        match by_type.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, same)) => same.push(job),
            None => by_type.push((kind, vec![job])),
        }
    }
    if let [(_, same)] = by_type.as_slice() {
        let rows: usize = same.iter().map(|job| job.0.len()).sum();
        if rows <= same[0].0.per_statement(conn) && !super::in_transaction(conn)? {
            return super::single_statement(conn, |conn| same[0].0.write_with(conn, same));
        }
    }
    transaction(conn, |conn| {
        by_type
            .iter()
            .try_for_each(|(_, same)| same[0].0.write_with(conn, same))
    })
}

/// Requests' writes waiting for their group, at most: beyond this the service is answering
/// reads faster than it can record them, and new reads are refused (503) until it catches up.
const QUEUE: usize = 4096;
/// Requests' writes committed together, at most.
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
/// committed at once on its own.
pub fn before_answer(conn: &mut DbConnection, job: Job) -> Result<(), Error> {
    if super::in_transaction(conn)? {
        return job.0.write_with(conn, &[&job]);
    }
    let job = HANDED.with(|handed| match handed.borrow_mut().as_mut() {
        Some(jobs) => {
            jobs.push(job);
            None
        }
        None => Some(job),
    });
    match job {
        Some(job) => write_atomically(conn, std::iter::once(&job)),
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

/// Where requests' writes meet to be committed in groups: one per database.
#[derive(Clone, Default)]
pub(super) struct Writer {
    /// The requests whose writes wait for a group, and whether a leader is committing.
    line: Line<Waiting>,
    /// Groups committed so far, for the tests to see how requests were grouped.
    #[cfg(test)]
    groups: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Writer {
    /// Commits a request's writes with those of the other requests waiting, and has `answer`
    /// told whether they were committed: by this thread, if no commit is under way (it then
    /// leads until nothing waits), or else by the thread leading now. `conn` is the
    /// connection the request read with, out of any transaction.
    pub(super) fn commit(&self, conn: &mut DbConnection, jobs: Vec<Job>, answer: Answer) {
        // A transaction left open would turn the group's commit into a savepoint of it.
        if super::in_transaction(conn).unwrap_or(true) {
            tracing::error!("a request's work left its transaction open: its read is refused");
            return answer(Err(unavailable()));
        }
        match self.line.join(Waiting { jobs, answer }, QUEUE) {
            Ok(true) => {}
            Ok(false) => return,
            Err(refused) => {
                return (refused.answer)(Err(Error::Unavailable(
                    "the access log is not keeping up: nothing was read; retry shortly".into(),
                )));
            }
        }
        // Leading: whatever is queued, a group at a time, until the queue is empty. If leading
        // stops early (its connection lost, or a panic), the requests waiting are refused (503)
        // and the next request leads. (After a panic, the group being committed is answered
        // with an error as the panic drops it; no data leaves either way.)
        let leading = self.line.leading(|waiting| {
            for waiting in waiting {
                (waiting.answer)(Err(unavailable()));
            }
        });
        loop {
            let group = {
                // Leadership ends under the lock, so that a request queued at that moment
                // finds none and leads.
                let mut line = self.line.lock();
                if line.requests.is_empty() {
                    line.leading = false;
                    drop(line);
                    return leading.done();
                }
                let take = line.requests.len().min(GROUP);
                line.requests.drain(..take).collect()
            };
            commit_group(conn, group);
            #[cfg(test)]
            self.groups
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if super::unusable(conn) {
                // The connection is gone (the database restarted, say): every group after
                // would fail on it. `leading` steps down, refusing what waits (503), and the
                // next request leads on a connection of its own.
                return;
            }
        }
    }
}

/// Commits a group at once (in one statement or one transaction); if that fails, each
/// request's writes alone, so that one bad write fails only its own request. Every waiter is
/// told.
fn commit_group(conn: &mut DbConnection, group: Vec<Waiting>) {
    let together = write_atomically(conn, group.iter().flat_map(|waiting| &waiting.jobs));
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
        let alone = write_atomically(conn, waiting.jobs.iter());
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
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    /// An organisation to add, and where to count the calls that wrote it.
    struct Named {
        name: String,
        calls: Arc<AtomicUsize>,
    }

    fn write_named(conn: &mut DbConnection, rows: &[&Named]) -> Result<(), Error> {
        rows[0].calls.fetch_add(1, Ordering::SeqCst);
        for row in rows {
            diesel::insert_into(organisations::table)
                .values((
                    organisations::id.eq(crate::db::ids::OrganisationId::new()),
                    organisations::name.eq(&row.name),
                    organisations::created_at.eq(Timestamp::now()),
                ))
                .execute(conn)?;
        }
        Ok(())
    }

    /// Writes by `write`, always in a transaction (it may take many statements).
    fn in_transaction<R>(
        write: fn(&mut DbConnection, &[&R]) -> Result<(), Error>,
    ) -> &'static Writes<R> {
        Box::leak(Box::new(Writes {
            write,
            per_statement: |_| 0,
        }))
    }

    fn add_counted(name: &str, calls: &Arc<AtomicUsize>) -> Job {
        let calls = calls.clone();
        Job::rows(
            vec![Named {
                name: name.into(),
                calls,
            }],
            in_transaction(write_named),
        )
    }

    fn add(name: &str) -> Job {
        add_counted(name, &Arc::default())
    }

    fn refused() -> Job {
        Job::rows(
            vec![()],
            in_transaction(|_, _| Err(Error::Internal("refused".into()))),
        )
    }

    fn waiting(jobs: Vec<Job>) -> (Waiting, tokio::sync::oneshot::Receiver<Result<(), Error>>) {
        let (committed, answer) = tokio::sync::oneshot::channel();
        let answer_to = Box::new(move |outcome| {
            let _ = committed.send(outcome);
        });
        (
            Waiting {
                jobs,
                answer: answer_to,
            },
            answer,
        )
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
    fn a_failing_write_fails_only_its_own_request() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite_database(&dir, 2);
        let (group, answers): (Vec<_>, Vec<_>) = [
            vec![add("First"), add("Second")],
            vec![add("Third"), refused()],
            vec![add("Fourth")],
        ]
        .into_iter()
        .map(waiting)
        .unzip();
        commit_group(&mut db.get().unwrap(), group);
        let outcomes: Vec<bool> = answers
            .into_iter()
            .map(|mut answer| answer.try_recv().unwrap().is_ok())
            .collect();
        assert_eq!(outcomes, [true, false, true]);
        // The failed request's other write was rolled back with it.
        assert_eq!(organisations_named(&db), ["First", "Fourth", "Second"]);
    }

    #[test]
    fn rows_of_one_type_in_a_group_are_written_by_one_call_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite_database(&dir, 2);
        let calls = Arc::new(AtomicUsize::new(0));
        let order = Arc::new(Mutex::new(Vec::new()));
        struct Noted(&'static str, Arc<Mutex<Vec<&'static str>>>);
        fn note(_: &mut DbConnection, rows: &[&Noted]) -> Result<(), Error> {
            let mut order = rows[0].1.lock().unwrap();
            order.extend(rows.iter().map(|row| row.0));
            Ok(())
        }
        let noted = |name| Job::rows(vec![Noted(name, order.clone())], in_transaction(note));
        let (group, answers): (Vec<_>, Vec<_>) = [
            vec![add_counted("A", &calls), noted("x")],
            vec![noted("y"), add_counted("B", &calls)],
            vec![add_counted("C", &calls), noted("z")],
        ]
        .into_iter()
        .map(waiting)
        .unzip();
        commit_group(&mut db.get().unwrap(), group);
        for mut answer in answers {
            assert!(answer.try_recv().unwrap().is_ok());
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1, "three jobs, one call");
        assert_eq!(*order.lock().unwrap(), ["x", "y", "z"]);
        assert_eq!(organisations_named(&db), ["A", "B", "C"]);
    }

    /// An organisation added in one statement with the others of its group, noting whether the
    /// statement ran inside a transaction.
    struct OneStatement {
        name: String,
        in_transaction: Arc<Mutex<Vec<bool>>>,
    }

    fn write_in_one_statement(
        conn: &mut DbConnection,
        rows: &[&OneStatement],
    ) -> Result<(), Error> {
        let inside = crate::db::in_transaction(conn)?;
        rows[0].in_transaction.lock().unwrap().push(inside);
        use diesel::connection::SimpleConnection;
        // One statement of every row (the names are the tests' own, safe to quote as text).
        let values: Vec<String> = rows
            .iter()
            .map(|row| {
                let id = crate::db::ids::OrganisationId::new().0;
                format!("('{id}', '{0}', '{0}', '2026-01-01T00:00:00Z')", row.name)
            })
            .collect();
        conn.batch_execute(&format!(
            "INSERT INTO organisations (id, name, ods_code, created_at) VALUES {}",
            values.join(", ")
        ))?;
        Ok(())
    }

    /// At most three rows to a statement.
    static THREE_TO_A_STATEMENT: Writes<OneStatement> = Writes {
        write: write_in_one_statement,
        per_statement: |_| 3,
    };

    #[test]
    fn a_group_that_fits_in_one_statement_is_written_without_a_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite_database(&dir, 2);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let one = |name: &str| {
            Job::rows(
                vec![OneStatement {
                    name: name.into(),
                    in_transaction: seen.clone(),
                }],
                &THREE_TO_A_STATEMENT,
            )
        };
        let commit = |jobs: Vec<Vec<Job>>| {
            let (group, answers): (Vec<_>, Vec<_>) = jobs.into_iter().map(waiting).unzip();
            commit_group(&mut db.get().unwrap(), group);
            answers
                .into_iter()
                .map(|mut answer| answer.try_recv().unwrap().is_ok())
                .collect::<Vec<bool>>()
        };
        // Three rows: one statement on its own.
        assert_eq!(
            commit(vec![vec![one("A")], vec![one("B"), one("C")]]),
            [true, true]
        );
        // Four rows, or rows of two types: a transaction around them.
        assert_eq!(
            commit(vec![vec![one("D"), one("E")], vec![one("F"), one("G")]]),
            [true, true]
        );
        assert_eq!(commit(vec![vec![one("H")], vec![add("I")]]), [true, true]);
        assert_eq!(*seen.lock().unwrap(), [false, true, true]);
        // A failed statement wrote nothing; the group's other requests are written alone.
        assert_eq!(
            commit(vec![vec![one("J")], vec![one("A")], vec![one("K")]]),
            [true, false, true],
            "A is taken"
        );
        assert_eq!(
            organisations_named(&db),
            ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K"]
        );
    }

    /// An answer that tells `answer` whether the request's writes were committed.
    fn telling(answer: std::sync::mpsc::Sender<bool>) -> Answer {
        Box::new(move |outcome| answer.send(outcome.is_ok()).unwrap())
    }

    /// After a leader stopped early: the next request leads, on a connection of its own, and
    /// is committed.
    fn the_next_request_leads(writer: &Writer, db: &Database) {
        let (answer, answered) = std::sync::mpsc::channel();
        writer.commit(&mut db.get().unwrap(), vec![add("After")], telling(answer));
        assert_eq!(answered.recv(), Ok(true));
        assert_eq!(organisations_named(db), ["After"]);
    }

    /// A write that says when its group is being written, then holds the group open until
    /// `until` requests are queued behind it.
    struct HoldOpen {
        writer: Writer,
        until: usize,
        started: std::sync::mpsc::Sender<()>,
    }

    fn hold_open(_: &mut DbConnection, rows: &[&HoldOpen]) -> Result<(), Error> {
        let hold = rows[0];
        hold.started.send(()).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while hold.writer.line.lock().requests.len() < hold.until {
            assert!(
                std::time::Instant::now() < deadline,
                "the others never queued"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        Ok(())
    }

    #[test]
    fn requests_queued_behind_a_leader_are_committed_together_and_answered_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite_database(&dir, 8);
        let writer = Writer::default();
        let calls = Arc::new(AtomicUsize::new(0));
        // The first request leads; its write holds the group open until 31 others are queued.
        let (answer, first_answered) = std::sync::mpsc::channel();
        let (started, leader_writing) = std::sync::mpsc::channel();
        let leader = {
            let (db, writer, calls) = (db.clone(), writer.clone(), calls.clone());
            std::thread::spawn(move || {
                let hold = HoldOpen {
                    writer: writer.clone(),
                    until: 31,
                    started,
                };
                writer.commit(
                    &mut db.get().unwrap(),
                    vec![
                        Job::rows(vec![hold], in_transaction(hold_open)),
                        add_counted("Leader", &calls),
                    ],
                    telling(answer),
                );
                writer.groups.load(Ordering::SeqCst)
            })
        };
        // The others queue once the leader's group is being written, so none can join it.
        leader_writing.recv().unwrap();
        let followers: Vec<_> = (0..31)
            .map(|i| {
                let (db, writer, calls) = (db.clone(), writer.clone(), calls.clone());
                std::thread::spawn(move || {
                    let (answer, answered) = std::sync::mpsc::channel();
                    let mut conn = db.get().unwrap();
                    writer.commit(
                        &mut conn,
                        vec![add_counted(&format!("Follower {i:02}"), &calls)],
                        telling(answer),
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
        // Two transactions, the leader's own and the 31 queued behind it, and the 31 rows
        // written by one call.
        assert_eq!(leader.join().unwrap(), 2);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(organisations_named(&db).len(), 32);
        assert!(
            !writer.line.lock().leading,
            "leadership ends with the queue"
        );
    }

    #[test]
    fn a_leader_whose_connection_is_lost_refuses_the_waiting_and_steps_down() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite_database(&dir, 4);
        let writer = Writer::default();
        let (started, leader_writing) = std::sync::mpsc::channel();
        let (answer, leader_answered) = std::sync::mpsc::channel();
        let leader = {
            let (db, writer) = (db.clone(), writer.clone());
            std::thread::spawn(move || {
                let hold = HoldOpen {
                    writer: writer.clone(),
                    until: 1,
                    started,
                };
                let lost = Job::rows(
                    vec![()],
                    in_transaction(|_, _| {
                        use diesel::result::{DatabaseErrorKind, Error as Diesel};
                        let gone = Box::new("server closed the connection".to_owned());
                        Err(Diesel::DatabaseError(DatabaseErrorKind::ClosedConnection, gone).into())
                    }),
                );
                writer.commit(
                    &mut db.get().unwrap(),
                    vec![Job::rows(vec![hold], in_transaction(hold_open)), lost],
                    telling(answer),
                );
            })
        };
        leader_writing.recv().unwrap();
        let (answer, follower_answered) = std::sync::mpsc::channel();
        writer.commit(
            &mut db.get().unwrap(),
            vec![add("Queued behind the lost connection")],
            telling(answer),
        );
        leader.join().unwrap();
        assert_eq!(leader_answered.recv(), Ok(false));
        // Its own write would have been committed: it is refused because the leader stepped
        // down, not left waiting.
        assert_eq!(follower_answered.recv(), Ok(false));
        assert!(!writer.line.lock().leading, "the leader stepped down");
        the_next_request_leads(&writer, &db);
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
                    vec![Job::rows(
                        vec![()],
                        in_transaction(|_, _| panic!("a write that panics")),
                    )],
                    telling(answer),
                );
            })
        };
        assert!(panicking.join().is_err());
        // Its own answer was dropped with it: the request learns it failed, it is not left
        // waiting.
        assert!(answered.recv().is_err());
        the_next_request_leads(&writer, &db);
    }
}
