//! Writes that must happen but need not delay the answer: a request's work hands them over,
//! and a background writer of its database runs them a moment later, many in one transaction.
//!
//! The refused accesses of the access log are written this way, so that a refusal costs the
//! request the same whether or not the person it named exists (see `access::refused`). Each
//! job runs in its own savepoint: one that fails is logged and the others are kept. A job is
//! lost only if the process stops in the moment between the answer and the write.

use std::cell::RefCell;
use std::sync::mpsc::{Receiver, TrySendError};
use std::time::Duration;

use diesel::r2d2;

use super::background::Background;

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

/// The writer's queue (see [`Background`] for when its thread starts and stops).
#[derive(Clone)]
pub(super) struct Queue(Background<Vec<Job>>);

impl Queue {
    pub(super) fn start(pool: r2d2::Pool<ConnectionManager>) -> Self {
        Queue(Background::new(
            "deferred-writes",
            QUEUE,
            pool,
            write,
            "no deferred writer: deferred writes will be dropped",
        ))
    }

    /// Queues what the work on this thread handed over.
    pub(super) fn take_handed(&self) {
        let jobs = HANDED.with(|handed| std::mem::take(&mut *handed.borrow_mut()));
        if jobs.is_empty() {
            return;
        }
        match self.0.sender().try_send(jobs) {
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
