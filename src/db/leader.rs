//! Where requests meet so that one of them, the leader, does their writes together: the line of
//! requests waiting, and whether one leads. The access log's group commit (`group_commit.rs`)
//! and SQLite's write groups (`write_group.rs`) both work this way; they differ in what a
//! leader does with the line.

use std::sync::{Arc, Mutex, MutexGuard};

/// The requests waiting, and whether a leader is at work on them.
pub(super) struct Line<P> {
    state: Arc<Mutex<Waiting<P>>>,
}

pub(super) struct Waiting<P> {
    pub requests: Vec<P>,
    pub leading: bool,
}

impl<P> Clone for Line<P> {
    fn clone(&self) -> Self {
        Line {
            state: self.state.clone(),
        }
    }
}

impl<P> Default for Line<P> {
    fn default() -> Self {
        Line {
            state: Arc::new(Mutex::new(Waiting {
                requests: Vec::new(),
                leading: false,
            })),
        }
    }
}

impl<P> Line<P> {
    /// The line. Every change to it is complete under its lock, so a lock poisoned by a panic
    /// elsewhere still guards a consistent line.
    pub fn lock(&self) -> MutexGuard<'_, Waiting<P>> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Puts a request in line, unless `most` already wait (then it is handed back). True if
    /// nobody was leading: the caller leads now, and its request is the first in line.
    pub fn join(&self, request: P, most: usize) -> Result<bool, P> {
        let mut line = self.lock();
        if line.requests.len() >= most {
            return Err(request);
        }
        line.requests.push(request);
        Ok(!std::mem::replace(&mut line.leading, true))
    }

    /// Takes the next group for the leader: the first `count` of those waiting (given all of
    /// them, it answers how many).
    pub fn next_group(&self, count: impl FnOnce(&[P]) -> usize) -> Vec<P> {
        let mut line = self.lock();
        let take = count(&line.requests).min(line.requests.len());
        line.requests.drain(..take).collect()
    }

    /// Begins leading: held until the leader hands over or steps down as it means to
    /// ([`Leading::done`]). If leading stops early (a panic, a lost connection), dropping it
    /// steps down and gives `stop` the requests still waiting, to refuse; the next request to
    /// arrive leads.
    pub fn leading<F: FnOnce(Vec<P>)>(&self, stop: F) -> Leading<'_, P, F> {
        Leading {
            line: self,
            stop: Some(stop),
        }
    }
}

/// A leader at work (see [`Line::leading`]).
pub(super) struct Leading<'a, P, F: FnOnce(Vec<P>)> {
    line: &'a Line<P>,
    stop: Option<F>,
}

impl<P, F: FnOnce(Vec<P>)> Leading<'_, P, F> {
    /// Leading ended as it should: leadership was handed over or given up under the line's
    /// lock by the caller.
    pub fn done(mut self) {
        self.stop = None;
    }
}

impl<P, F: FnOnce(Vec<P>)> Drop for Leading<'_, P, F> {
    fn drop(&mut self) {
        let Some(stop) = self.stop.take() else {
            return;
        };
        let waiting = {
            let mut line = self.line.lock();
            line.leading = false;
            std::mem::take(&mut line.requests)
        };
        stop(waiting);
    }
}
