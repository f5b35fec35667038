//! Counters with group commit: every `increment` and `append` takes its numbers here.
//!
//! A counter is a KV entry holding a decimal number, changed by a write that is conditional on
//! the entry's revision (optimistic concurrency, so several providers may share a bucket). Two
//! things make that cheap under load and when idle:
//!
//! - **Combining.** While one conditional write of a counter is in flight, the increments that
//!   arrive for it wait, and the next write takes all of them: k messages reaching a busy room
//!   together cost one write, and they do not race each other. A lone increment goes at once.
//! - **The last write is remembered.** The value and revision this provider last wrote are
//!   kept, so an increment writes without reading first. If someone else moved the counter
//!   meanwhile (another provider, a delete), the write is refused, and only then is the entry
//!   read again. A counter moved under us once probably will be again (another host's provider
//!   serves the same room), and there a refused write costs a round trip more than reading
//!   first, so the next [`READ_FIRST`] writes of it read first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex as SyncMutex};
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use async_nats::jetstream::kv;
use bytes::Bytes;
use tokio::sync::{oneshot, Mutex};

/// Attempts at the conditional write before giving up.
const ATTEMPTS: u32 = 100;

/// Writes that read first after a remembered counter turned out moved.
pub const READ_FIRST: u32 = 16;

/// Counters kept at most; beyond it, those nobody is using are forgotten (they are read again
/// on their next use).
pub const MAX_KEPT: usize = 4096;

/// The counters of one NATS connection, by bucket and (escaped) key.
#[derive(Default)]
pub struct Counters {
    kept: SyncMutex<HashMap<(String, String), Arc<Counter>>>,
}

#[derive(Default)]
struct Counter {
    /// Increments waiting for the next write, in arrival order.
    waiting: SyncMutex<Vec<Waiting>>,
    /// Held by whoever is writing.
    memory: Mutex<Memory>,
}

#[derive(Default)]
struct Memory {
    /// What the last write left, if this provider knows.
    known: Option<Known>,
    /// Writes to go that read first ([`READ_FIRST`]).
    read_first: u32,
}

struct Waiting {
    delta: u64,
    /// The counter's value right after this increment.
    reply: oneshot::Sender<Result<u64, String>>,
}

/// A counter's value and the entry revision that holds it.
#[derive(Clone, Copy)]
struct Known {
    value: u64,
    revision: u64,
}

impl Counters {
    /// Atomically adds `delta` to the counter at `key` (already escaped; missing = 0) and
    /// returns its value right after this increment.
    pub async fn add(
        &self,
        kv: &kv::Store,
        bucket: &str,
        key: &str,
        delta: u64,
    ) -> anyhow::Result<u64> {
        let counter = self.counter(bucket, key);
        let (reply, answer) = oneshot::channel();
        lock(&counter.waiting).push(Waiting { delta, reply });
        {
            // Whoever holds the lock writes for everyone waiting; when we get it, our increment
            // was either written by an earlier holder or is among those we take now.
            let mut memory = counter.memory.lock().await;
            let batch = std::mem::take(&mut *lock(&counter.waiting));
            if !batch.is_empty() {
                write_batch(kv, key, &mut memory, batch).await;
            }
        }
        drop(counter);
        self.forget_unused();
        answer
            .await
            .context("increment abandoned")?
            .map_err(|e| anyhow!(e))
    }

    fn counter(&self, bucket: &str, key: &str) -> Arc<Counter> {
        let mut kept = lock(&self.kept);
        Arc::clone(kept.entry((bucket.to_owned(), key.to_owned())).or_default())
    }

    fn forget_unused(&self) {
        let mut kept = lock(&self.kept);
        if kept.len() > MAX_KEPT {
            kept.retain(|_, counter| Arc::strong_count(counter) > 1);
        }
    }

    /// How many counters are kept, for tests of the bound.
    pub fn kept(&self) -> usize {
        lock(&self.kept).len()
    }
}

/// Writes the sum of `batch` and answers each increment with its own value, in order.
async fn write_batch(kv: &kv::Store, key: &str, memory: &mut Memory, batch: Vec<Waiting>) {
    let Some(total) = batch
        .iter()
        .try_fold(0u64, |sum, w| sum.checked_add(w.delta))
    else {
        return answer_all(batch, &anyhow!("counter {key:?} would overflow u64"));
    };
    match write(kv, key, memory, total).await {
        Err(e) => answer_all(batch, &e),
        Ok(after) => {
            let mut value = after - total;
            for w in batch {
                value += w.delta;
                // The caller may have gone; its number is spent, as after any failure.
                let _ = w.reply.send(Ok(value));
            }
        }
    }
}

fn answer_all(batch: Vec<Waiting>, e: &anyhow::Error) {
    for w in batch {
        let _ = w.reply.send(Err(format!("{e:#}")));
    }
}

/// Adds `delta` with a conditional write, from what `memory` knows when it may; returns the new
/// value and remembers it.
async fn write(kv: &kv::Store, key: &str, memory: &mut Memory, delta: u64) -> anyhow::Result<u64> {
    for attempt in 0..ATTEMPTS {
        // Taken, so that a failed write leaves nothing remembered.
        let remembered = memory.known.take();
        let from_memory = match remembered {
            Some(known) if memory.read_first == 0 => Some(known),
            _ => None,
        };
        memory.read_first = memory.read_first.saturating_sub(1);
        let known = match from_memory {
            Some(known) => known,
            None => read(kv, key).await?,
        };
        let value = known
            .value
            .checked_add(delta)
            .ok_or_else(|| anyhow!("counter {key:?} would overflow u64"))?;
        // Revision 0 means "the subject has no message": a never-written or purged key.
        match kv
            .update(key, Bytes::from(value.to_string()), known.revision)
            .await
        {
            Ok(revision) => {
                memory.known = Some(Known { value, revision });
                return Ok(value);
            }
            Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                if from_memory.is_some() {
                    // Someone else wrote it: read it afresh, now and for a while.
                    memory.read_first = READ_FIRST;
                } else {
                    // Lost a race with another writer.
                    backoff(attempt).await;
                }
            }
            Err(e) => return Err(anyhow!(e).context(format!("failed to update {key:?}"))),
        }
    }
    bail!("increment of {key:?} lost {ATTEMPTS} races in a row")
}

async fn read(kv: &kv::Store, key: &str) -> anyhow::Result<Known> {
    let entry = kv
        .entry(key)
        .await
        .with_context(|| format!("failed to read counter {key:?}"))?;
    Ok(match entry {
        Some(e) if e.operation == kv::Operation::Put => Known {
            value: parse_counter(key, &e.value)?,
            revision: e.revision,
        },
        // A delete marker (written by an older provider, or by another NATS tool): the key is
        // missing but its subject has a revision.
        Some(e) => Known {
            value: 0,
            revision: e.revision,
        },
        None => Known {
            value: 0,
            revision: 0,
        },
    })
}

/// Parse a stored counter: an ASCII decimal u64.
fn parse_counter(key: &str, value: &[u8]) -> anyhow::Result<u64> {
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| anyhow!("value of {key:?} is not a decimal u64 counter"))
}

/// Short, jittered pause after a lost race so contenders spread out.
async fn backoff(attempt: u32) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let cap_micros = 200 * u64::from(attempt.min(10) + 1);
    tokio::time::sleep(Duration::from_micros(u64::from(nanos) % cap_micros)).await;
}

/// A poisoned lock only means another call panicked; the map and queue stay usable.
fn lock<T>(mutex: &SyncMutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
