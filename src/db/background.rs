//! A writer thread of the database's own, started by its first message: a one-shot command,
//! which never sends one, has no thread of it holding the pool (and a PostgreSQL connection)
//! when it exits. Its thread stops when every copy of the writer has been dropped.

use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, OnceLock};

use diesel::r2d2;

use super::ConnectionManager;

/// Where messages of type `T` go to a thread that runs `work` over the pool.
pub(super) struct Background<T> {
    name: &'static str,
    capacity: usize,
    pool: r2d2::Pool<ConnectionManager>,
    work: fn(r2d2::Pool<ConnectionManager>, Receiver<T>),
    /// Said in the log if the thread cannot be started: what then becomes of the messages.
    if_not_started: &'static str,
    sender: Arc<OnceLock<SyncSender<T>>>,
}

impl<T> Clone for Background<T> {
    fn clone(&self) -> Self {
        Background {
            sender: self.sender.clone(),
            pool: self.pool.clone(),
            ..*self
        }
    }
}

impl<T: Send + 'static> Background<T> {
    pub(super) fn new(
        name: &'static str,
        capacity: usize,
        pool: r2d2::Pool<ConnectionManager>,
        work: fn(r2d2::Pool<ConnectionManager>, Receiver<T>),
        if_not_started: &'static str,
    ) -> Self {
        Background {
            name,
            capacity,
            pool,
            work,
            if_not_started,
            sender: Arc::new(OnceLock::new()),
        }
    }

    /// The thread's queue, starting the thread on first use.
    pub(super) fn sender(&self) -> &SyncSender<T> {
        self.sender.get_or_init(|| {
            let (sender, receiver) = mpsc::sync_channel(self.capacity);
            let (pool, work) = (self.pool.clone(), self.work);
            let spawned = std::thread::Builder::new()
                .name(self.name.into())
                .spawn(move || work(pool, receiver));
            if let Err(error) = spawned {
                tracing::error!(%error, thread = self.name, "{}", self.if_not_started);
            }
            sender
        })
    }
}
