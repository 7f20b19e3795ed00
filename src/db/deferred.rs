//! Writes that must happen but need not delay the answer: a request's work hands them over,
//! and a background writer of its database runs them a moment later, many in one transaction.
//!
//! The refused accesses of the access log are written this way, so that a refusal costs the
//! request the same whether or not the person it named exists (see `access::refused`). Each
//! job runs in its own savepoint: one that fails is logged and the others are kept. A job is
//! lost only if the process stops in the moment between the answer and the write.

use std::cell::RefCell;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use diesel::r2d2;

use super::{ConnectionManager, DbConnection, transaction};
use crate::error::Error;

/// One deferred write.
pub type Job = Box<dyn FnOnce(&mut DbConnection) -> Result<(), Error> + Send>;

/// Batches waiting for the writer, at most.
const QUEUE: usize = 4096;
/// Jobs written in one transaction, at most.
const BATCH: usize = 512;

thread_local! {
    /// Jobs handed over by the work running on this thread, not yet queued.
    static HANDED: RefCell<Vec<Job>> = const { RefCell::new(Vec::new()) };
}

/// Hands a write to the background writer of the database the current work runs on. It is
/// queued when the work ends, whether or not the work's own transaction committed.
pub fn defer(job: Job) {
    HANDED.with(|handed| handed.borrow_mut().push(job));
}

/// Jobs handed over outside any work of a database are forgotten when the next work starts.
pub(super) fn forget_handed() {
    HANDED.with(|handed| {
        let stray = handed.borrow_mut().len();
        if stray > 0 {
            tracing::warn!(
                stray,
                "dropping deferred writes made outside a database's work"
            );
            handed.borrow_mut().clear();
        }
    });
}

/// The writer's queue. The writer starts with the first deferred write, so that a one-shot
/// command, which defers none, has no thread of it holding the pool when it exits.
#[derive(Clone)]
pub(super) struct Queue {
    pool: r2d2::Pool<ConnectionManager>,
    sender: Arc<OnceLock<SyncSender<Vec<Job>>>>,
}

impl Queue {
    /// A writer over a pool; its thread stops when every copy of the queue has been dropped.
    pub(super) fn start(pool: r2d2::Pool<ConnectionManager>) -> Self {
        Queue {
            pool,
            sender: Arc::new(OnceLock::new()),
        }
    }

    fn sender(&self) -> &SyncSender<Vec<Job>> {
        self.sender.get_or_init(|| {
            let (sender, receiver) = mpsc::sync_channel(QUEUE);
            let pool = self.pool.clone();
            let spawned = std::thread::Builder::new()
                .name("deferred-writes".into())
                .spawn(move || write(pool, receiver));
            if let Err(error) = spawned {
                tracing::error!(%error, "no deferred writer: deferred writes will be dropped");
            }
            sender
        })
    }

    /// Queues what the work on this thread handed over.
    pub(super) fn take_handed(&self) {
        let jobs = HANDED.with(|handed| std::mem::take(&mut *handed.borrow_mut()));
        if jobs.is_empty() {
            return;
        }
        match self.sender().try_send(jobs) {
            Ok(()) => {}
            Err(TrySendError::Full(jobs)) => {
                tracing::warn!(dropped = jobs.len(), "deferred writes queue full: dropped")
            }
            Err(TrySendError::Disconnected(jobs)) => {
                tracing::warn!(dropped = jobs.len(), "deferred writer stopped: dropped")
            }
        }
    }
}

fn write(pool: r2d2::Pool<ConnectionManager>, receiver: Receiver<Vec<Job>>) {
    while let Ok(mut batch) = receiver.recv() {
        while batch.len() < BATCH {
            match receiver.try_recv() {
                Ok(more) => batch.extend(more),
                Err(_) => break,
            }
        }
        let mut waited = Duration::from_millis(50);
        let mut conn = loop {
            match pool.get() {
                Ok(conn) => break Some(conn),
                // The database is away: wait a little, a few times, before giving up the batch.
                Err(error) if waited < Duration::from_secs(10) => {
                    tracing::warn!(%error, "deferred writes waiting for the database");
                    std::thread::sleep(waited);
                    waited *= 2;
                }
                Err(error) => {
                    tracing::error!(%error, dropped = batch.len(), "deferred writes dropped");
                    break None;
                }
            }
        };
        let Some(conn) = conn.as_mut() else { continue };
        let count = batch.len();
        let written = transaction(conn, |conn| {
            for job in batch {
                if let Err(error) = transaction(conn, job) {
                    tracing::warn!(%error, "a deferred write failed");
                }
            }
            Ok(())
        });
        if let Err(error) = written {
            tracing::error!(%error, dropped = count, "deferred writes dropped");
        }
    }
}
