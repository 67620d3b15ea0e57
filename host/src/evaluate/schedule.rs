//! Which thread runs which rule on which batch: whichever thread is free
//! takes the rule furthest behind, so a heavy rule does not hold back a
//! thread of light ones, as dealing rules out by index did.
//!
//! Each rule sees every batch in order and one batch at a time: a rule is
//! taken by one thread for one batch, then put back. The producer waits
//! while any rule is [`QUEUE_BATCHES`] batches behind, so memory stays a
//! handful of batches however slow the slowest rule is.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::runtime::EventBatch;

/// Batches the producer may run ahead of the slowest rule: enough to
/// smooth out uneven batches, few enough that memory stays a handful of
/// batches.
pub(super) const QUEUE_BATCHES: usize = 4;

/// The batches each rule has still to observe, and which rules a thread
/// holds now.
struct Queues {
    pending: Vec<VecDeque<Arc<EventBatch>>>,
    taken: Vec<bool>,
    /// No batch will come after those queued.
    closed: bool,
    /// A thread running rules panicked: nothing more is sent or taken.
    broken: bool,
}

/// Held by each thread that takes rules: breaks the [`Schedule`] if the
/// thread panics.
pub(super) struct BreakOnPanic<'a>(pub(super) &'a Schedule);

impl Drop for BreakOnPanic<'_> {
    fn drop(&mut self) {
        self.0.break_if_panicking();
    }
}

/// A thread running rules panicked, so the run cannot go on.
#[derive(Debug)]
pub(super) struct Broken;

/// The shared state of one run's threads; see the module doc.
pub(super) struct Schedule {
    queues: Mutex<Queues>,
    /// Signalled whenever a batch is queued, a rule is put back, or the
    /// run closes.
    changed: Condvar,
}

impl Schedule {
    /// A schedule for `rules` rules.
    pub(super) fn new(rules: usize) -> Schedule {
        Schedule {
            queues: Mutex::new(Queues {
                pending: (0..rules).map(|_| VecDeque::new()).collect(),
                taken: vec![false; rules],
                closed: false,
                broken: false,
            }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queues> {
        // A thread that panicked holding the lock left the queues whole:
        // each change to them is one push or pop.
        self.queues.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait<'a>(&self, queues: MutexGuard<'a, Queues>) -> MutexGuard<'a, Queues> {
        self.changed.wait(queues).unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `batch` for every rule, once none is [`QUEUE_BATCHES`]
    /// behind; fails if a thread running rules panicked, which would
    /// otherwise leave the producer waiting on a rule nobody runs.
    pub(super) fn send(&self, batch: EventBatch) -> Result<(), Broken> {
        let batch = Arc::new(batch);
        let mut queues = self.lock();
        while !queues.broken && queues.pending.iter().any(|q| q.len() >= QUEUE_BATCHES) {
            queues = self.wait(queues);
        }
        if queues.broken {
            return Err(Broken);
        }
        for queue in &mut queues.pending {
            queue.push_back(Arc::clone(&batch));
        }
        drop(queues);
        self.changed.notify_all();
        Ok(())
    }

    /// Marks the schedule broken if the calling thread is panicking.
    fn break_if_panicking(&self) {
        if std::thread::panicking() {
            self.lock().broken = true;
            self.changed.notify_all();
        }
    }

    /// Says no batch will follow: the threads end once the queues are
    /// empty.
    pub(super) fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }

    /// The next rule for a free thread and the batch it is to observe:
    /// of the rules no thread holds, the one with the most batches queued.
    /// `None` once the run is closed and every queue is empty, or the
    /// schedule is broken.
    pub(super) fn take(&self) -> Option<(usize, Arc<EventBatch>)> {
        let mut queues = self.lock();
        loop {
            if queues.broken {
                return None;
            }
            let behind = (0..queues.pending.len())
                .filter(|&rule| !queues.taken[rule])
                .max_by_key(|&rule| queues.pending[rule].len())
                .filter(|&rule| !queues.pending[rule].is_empty());
            if let Some(rule) = behind {
                queues.taken[rule] = true;
                let batch = queues.pending[rule].pop_front().expect("not empty");
                return Some((rule, batch));
            }
            if queues.closed && queues.pending.iter().all(VecDeque::is_empty) {
                return None;
            }
            queues = self.wait(queues);
        }
    }

    /// Waits until every rule has observed every batch queued, so that
    /// their states can be taken between two batches; fails if a thread
    /// running rules panicked.
    pub(super) fn wait_idle(&self) -> Result<(), Broken> {
        let mut queues = self.lock();
        while !queues.broken
            && (queues.taken.iter().any(|&taken| taken)
                || queues.pending.iter().any(|queue| !queue.is_empty()))
        {
            queues = self.wait(queues);
        }
        match queues.broken {
            true => Err(Broken),
            false => Ok(()),
        }
    }

    /// Puts `rule` back once its thread has observed the batch it took.
    pub(super) fn put_back(&self, rule: usize) {
        self.lock().taken[rule] = false;
        self.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_gets_every_batch_in_order_and_one_at_a_time() {
        let rules = 5;
        let batches = 40;
        let schedule = Schedule::new(rules);
        let seen: Vec<Mutex<Vec<usize>>> = (0..rules).map(|_| Mutex::new(Vec::new())).collect();
        std::thread::scope(|scope| {
            for _ in 0..3 {
                scope.spawn(|| {
                    while let Some((rule, batch)) = schedule.take() {
                        // A rule held by two threads at once would fail here.
                        let mut seen = seen[rule].try_lock().expect("one thread a rule");
                        seen.push(batch.len());
                        drop(seen);
                        schedule.put_back(rule);
                    }
                });
            }
            for n in 0..batches {
                schedule.send(EventBatch::for_test(n)).unwrap();
            }
            schedule.close();
        });
        for seen in seen {
            assert_eq!(seen.into_inner().unwrap(), (0..batches).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_thread_that_panics_stops_the_producer_instead_of_hanging_it() {
        let schedule = Schedule::new(2);
        std::thread::scope(|scope| {
            let worker = scope.spawn(|| {
                let _guard = BreakOnPanic(&schedule);
                let _ = schedule.take();
                panic!("a bug in a rule's thread");
            });
            // The first batch is taken, then no more: without the guard,
            // sending past the queue's length would wait for ever.
            let sent = (0..=QUEUE_BATCHES + 1)
                .map(|n| schedule.send(EventBatch::for_test(n)))
                .find(Result::is_err);
            assert!(sent.is_some());
            assert!(worker.join().is_err());
        });
    }
}
