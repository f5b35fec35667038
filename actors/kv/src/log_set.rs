//! A set kept as an append-only log of adds and removes, compacted into a snapshot.
//!
//! wasi:keyvalue@0.2.0-draft has no compare-and-swap, so a set stored as one JSON value would
//! lose concurrent updates from two actor instances. Here every change takes a fresh slot from
//! `increment` (atomic in the provider) and writes only that slot; reading folds the log. Two
//! joins at the same moment land in different slots and both survive.
//!
//! # Layout
//!
//! Under `prefix`: `seq` (the slot counter), `log/{n}` (one change each) and `base`, a JSON
//! snapshot `{upto, members, gaps, retire}`: the set after folding every slot up to `upto`
//! except the `gaps` (slots that were taken but not yet written when the snapshot was made, each
//! with the time it was first seen unwritten). A reader starts from `members`, applies the gap
//! slots that are written by now, then the slots after `upto`, all in slot order. A set without
//! `base` (data from before compaction) reads as a snapshot with `upto` 0, so old logs stay
//! readable and are compacted by their next writer that hits a threshold.
//!
//! # Compaction
//!
//! The writer whose slot is a multiple of [`COMPACT_EVERY`] compacts right after writing it,
//! so each threshold has exactly one compactor. It reads `base` and `seq`, folds the gap slots
//! and the slots after `upto`, and before writing the new `base` reads `base` again (together
//! with every slot it found unwritten): if `base` changed, another compactor won and this one
//! gives up; slots that were written meanwhile are folded in their place. A slot that is still
//! unwritten becomes a gap. A gap unwritten for [`GAP_EXPIRY_MS`] is dropped: the host caps a
//! component invocation at 15 s, so its writer is gone and the change was never acknowledged.
//!
//! Applying a late gap after the snapshot rather than at its own place is a valid order: its
//! writer took the slot before the snapshot's later slots were taken and had not finished when
//! the snapshot was read, so it ran concurrently with every change folded after it, and the
//! result is the plain slot-order fold of a run in which its `increment` came just after
//! `upto`, inside its writer's call.
//!
//! Slots are deleted one generation late. `retire` names the slots this snapshot folded that
//! are still stored (`(after, upto]` minus the gaps, plus the earlier gaps it folded); the next
//! compactor deletes them, after its re-check and before it writes its own snapshot. Whoever
//! still works from the snapshot before this one (a reader between its two calls, or a
//! compactor that passed its re-check and is about to write) still finds every slot it needs.
//! At most [`MAX_RETIRE`] slots of the range go per compaction, so an old uncompacted log is
//! drained over several compactions instead of in one long call.
//!
//! # What remains
//!
//! - A compactor whose snapshot write is overtaken by two whole later compactions (the second
//!   deleting what the stale snapshot still needs) makes the set lose the changes between the
//!   two `upto`s. Both must run inside that one store call, with at least [`COMPACT_EVERY`]
//!   writes between them. A reader in the same position (two compactions inside one
//!   `get_many`) returns a set missing those changes once; the data is not lost.
//! - Two snapshots built from the same one may both be written; the last wins. That is safe:
//!   the other's slots were not deleted, and the next compaction folds them again and retires
//!   them (each `retire` range starts where the previous one ended, so none is skipped).
//! - A gap is judged expired by the clock of a later compactor against the clock of the one
//!   that first saw it; hosts whose clocks differ by more than 45 s could drop a live writer's
//!   slot. A write carried out later than that (a writer past the host's cap, or a request the
//!   provider runs long after its caller's invocation ended) lands in a slot no one reads.
//! - A change that lands between a compactor's re-check and its write is placed after the new
//!   snapshot, so one reader may see it at its slot and the next after the snapshot.
//! - The snapshot is one value: a set larger than the provider's value limit (1 MiB by default)
//!   cannot be compacted, and its writes fall back to an ever-growing log as before.

use std::collections::{BTreeMap, BTreeSet};

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::Value;
use wcc_interface::Failure;

use crate::{NumberedWrite, Store};

/// The writer of every slot that is a multiple of this compacts the log.
pub const COMPACT_EVERY: u64 = 64;

/// How long a taken but unwritten slot is waited for. The host ends a component invocation
/// after 15 s, so after this its writer is gone (the margin covers clock skew between hosts).
pub const GAP_EXPIRY_MS: u64 = 60_000;

/// At most this many slots of a snapshot's range are deleted by one compaction.
const MAX_RETIRE: u64 = 16 * COMPACT_EVERY;

/// Tries of a read whose snapshot is replaced while it reads.
const READ_ATTEMPTS: usize = 3;

/// At most this many slots are deleted by [`LogSet::clear`]: the newest, which in a set that
/// compacts are all that remain.
const MAX_CLEARED: u64 = 2 * MAX_RETIRE;

/// A set of `T` keyed by a string, stored under `prefix`.
pub struct LogSet<'a, S: Store> {
    store: &'a S,
    prefix: String,
}

/// One set's members as [`LogSet::read_together`] read them.
#[derive(Default)]
pub struct Contents(BTreeMap<String, Value>);

impl Contents {
    /// As [`LogSet::entries`]: a member whose stored value is not a `T` is left out.
    pub fn entries<T: DeserializeOwned>(self) -> BTreeMap<String, T> {
        self.0
            .into_iter()
            .filter_map(|(key, value)| Some((key, serde_json::from_value(value).ok()?)))
            .collect()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op")]
enum Entry<T> {
    #[serde(rename = "add")]
    Add { key: String, value: T },
    #[serde(rename = "remove")]
    Remove { key: String },
}

/// The snapshot at `{prefix}/base`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Base {
    /// Every slot up to this one is folded into `members`, except the `gaps`.
    upto: u64,
    /// Values as stored, so the snapshot does not depend on `T`.
    #[serde(default)]
    members: BTreeMap<String, Value>,
    /// Slots up to `upto` that were taken but unwritten, with when they were first seen so.
    #[serde(default)]
    gaps: BTreeMap<u64, u64>,
    /// Slots folded here that are still stored, for the next compactor to delete.
    #[serde(default)]
    retire: Retire,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Retire {
    /// Slots in `(after, upto]` that are not gaps.
    after: u64,
    /// And these: gaps of the previous snapshot that this one folded.
    #[serde(default)]
    slots: Vec<u64>,
}

impl Base {
    /// The slots a fold of this snapshot reads, in slot order: the gaps, then those after it.
    fn pending(&self, seq: u64) -> Vec<u64> {
        self.gaps
            .keys()
            .copied()
            .chain(self.upto + 1..=seq)
            .collect()
    }

    /// Every slot this snapshot asks its successor to delete, and where the range it leaves
    /// for the next snapshot starts.
    fn retiring(&self) -> (BTreeSet<u64>, u64) {
        let end = self
            .upto
            .min(self.retire.after.saturating_add(MAX_RETIRE))
            .max(self.retire.after);
        let mut slots: BTreeSet<u64> = (self.retire.after + 1..=end)
            .filter(|slot| !self.gaps.contains_key(slot))
            .collect();
        slots.extend(self.retire.slots.iter().copied());
        (slots, end)
    }
}

/// `base` and `seq` as one read found them.
#[derive(Default)]
struct Head {
    /// The stored bytes, to tell later whether `base` changed.
    raw: Option<Vec<u8>>,
    base: Base,
    seq: u64,
}

/// A compaction that has read the log and not yet checked that its snapshot is still current.
struct Compaction {
    head: Head,
    /// Every slot of [`Base::pending`], with its bytes where written.
    found: BTreeMap<u64, Option<Vec<u8>>>,
    now_ms: u64,
}

/// A compaction that passed its check: what to delete, then what to write.
struct Ready {
    retired: Vec<String>,
    next: Base,
}

impl<'a, S: Store> LogSet<'a, S> {
    pub fn new(store: &'a S, prefix: impl Into<String>) -> Self {
        Self {
            store,
            prefix: prefix.into(),
        }
    }

    /// Adds (or replaces) the entry for `key`. `now_ms` is the caller's clock; it is read only
    /// if this change compacts the log (to date slots still unwritten).
    pub fn add<T: Serialize>(&self, key: &str, value: &T, now_ms: u64) -> Result<(), Failure> {
        self.append(
            &Entry::Add {
                key: key.to_string(),
                value,
            },
            now_ms,
        )
    }

    /// Removes the entry for `key`; `now_ms` as for [`Self::add`].
    pub fn remove(&self, key: &str, now_ms: u64) -> Result<(), Failure> {
        self.append::<()>(
            &Entry::Remove {
                key: key.to_string(),
            },
            now_ms,
        )
    }

    /// The current members, in key order. A member whose stored value is not a `T` is left
    /// out, as are slots of an unknown shape, so the set stays readable.
    pub fn entries<T: DeserializeOwned>(&self) -> Result<BTreeMap<String, T>, Failure> {
        let mut read = Self::read_together(&[self])?;
        Ok(read.pop().unwrap_or_default().entries())
    }

    /// Reads several sets of one store as [`Self::entries`] reads one, with two store calls in
    /// all (their heads, then their slots) instead of two each: presence reads its sessions and
    /// its recent logouts on every sign-in and sign-out.
    pub fn read_together(sets: &[&Self]) -> Result<Vec<Contents>, Failure> {
        let Some(first) = sets.first() else {
            return Ok(Vec::new());
        };
        let store = first.store;
        let mut heads = Self::read_heads(store, sets)?;
        let mut folded: Vec<Option<Contents>> = sets.iter().map(|_| None).collect();
        for attempt in 1..=READ_ATTEMPTS {
            // For each set not read yet: its pending slots, then its base again.
            let mut keys = Vec::new();
            let mut spans = Vec::new();
            for (i, (set, head)) in sets.iter().zip(&heads).enumerate() {
                if folded[i].is_some() {
                    continue;
                }
                if head.raw.is_none() && head.seq == 0 {
                    folded[i] = Some(Contents::default());
                    continue;
                }
                let start = keys.len();
                keys.extend(head.base.pending(head.seq).iter().map(|&n| set.slot_key(n)));
                keys.push(set.base_key());
                spans.push((i, start..keys.len()));
            }
            if spans.is_empty() {
                break;
            }
            let values = store.get_each(&keys)?;
            let mut moved = Vec::new();
            for (i, span) in spans {
                let slots = &values[span.start..span.end - 1];
                let base_now = &values[span.end - 1];
                if *base_now == heads[i].raw || attempt == READ_ATTEMPTS {
                    let mut members = std::mem::take(&mut heads[i].base.members);
                    // A slot taken but not yet written is skipped: its writer has not
                    // acknowledged.
                    for bytes in slots.iter().flatten() {
                        apply(&mut members, bytes);
                    }
                    folded[i] = Some(Contents(members));
                } else {
                    moved.push(i);
                }
            }
            if moved.is_empty() {
                break;
            }
            // A compaction replaced these sets' snapshots meanwhile: read their heads again.
            let again: Vec<&Self> = moved.iter().map(|&i| sets[i]).collect();
            for (i, head) in moved.into_iter().zip(Self::read_heads(store, &again)?) {
                heads[i] = head;
            }
        }
        Ok(folded.into_iter().map(Option::unwrap_or_default).collect())
    }

    /// Whether each set under `prefixes` was ever written (and not cleared since), in one read:
    /// a cheap test before folding many sets of which most are empty.
    pub fn exist_many(store: &S, prefixes: &[String]) -> Result<Vec<bool>, Failure> {
        let keys: Vec<String> = prefixes.iter().map(|p| format!("{p}/seq")).collect();
        let found = store.get_each(&keys)?;
        Ok(found.iter().map(Option::is_some).collect())
    }

    /// Deletes the set: the slots still stored (the newest [`MAX_CLEARED`] of them, which is
    /// all of them unless compaction has been failing), the snapshot, and the counter last, so
    /// a retry after a failure still knows how far the slots went. For a set whose owner is
    /// gone: a change landing concurrently takes slot 1 again and is kept, and a reader in the
    /// middle of its read may see the set as it was.
    pub fn clear(&self) -> Result<(), Failure> {
        let head = self.read_head()?;
        if head.raw.is_none() && head.seq == 0 {
            return Ok(());
        }
        let oldest = (head.base.retire.after + 1).max(head.seq.saturating_sub(MAX_CLEARED) + 1);
        let mut slots: BTreeSet<u64> = (oldest..=head.seq).collect();
        slots.extend(head.base.retire.slots.iter().copied());
        slots.extend(head.base.gaps.keys().copied());
        let mut doomed: Vec<String> = slots.into_iter().map(|n| self.slot_key(n)).collect();
        doomed.push(self.base_key());
        self.store.delete_many(&doomed)?;
        self.store.delete(&self.seq_key())
    }

    /// The members as stored. The snapshot is read again beside the slots: if a compaction
    /// replaced it meanwhile, the slots may already be going, so the read starts over.
    fn append<T: Serialize>(&self, entry: &Entry<T>, now_ms: u64) -> Result<(), Failure> {
        // Taking the slot and writing it is one call to the store.
        let value = serde_json::to_vec(entry).map_err(|e| Failure::unavailable(e.to_string()))?;
        let write = NumberedWrite {
            offset: 0,
            key: self.slot_key_prefix(),
            key_ends_with_number: true,
            value,
            value_number_at: None,
        };
        let slot = self.store.append(&self.seq_key(), 1, &[write])?;
        if slot % COMPACT_EVERY == 0 {
            // Housekeeping: the change is stored either way, and a failed compaction leaves
            // the log to the next threshold's writer.
            let _ = self.compact(now_ms);
        }
        Ok(())
    }

    /// Folds the log into a new snapshot; `false` if there was nothing to do or another
    /// compactor won.
    fn compact(&self, now_ms: u64) -> Result<bool, Failure> {
        let Some(compaction) = self.begin(now_ms)? else {
            return Ok(false);
        };
        let Some(ready) = self.check(compaction)? else {
            return Ok(false);
        };
        self.finish(ready)?;
        Ok(true)
    }

    /// Reads the snapshot and the slots to fold into the next one; `None` if a later
    /// compaction already folded every slot there is.
    fn begin(&self, now_ms: u64) -> Result<Option<Compaction>, Failure> {
        let head = self.read_head()?;
        if head.seq <= head.base.upto {
            return Ok(None);
        }
        let pending = head.base.pending(head.seq);
        let keys: Vec<String> = pending.iter().map(|&n| self.slot_key(n)).collect();
        let found = pending
            .into_iter()
            .zip(self.store.get_many(&keys)?)
            .collect();
        Ok(Some(Compaction {
            head,
            found,
            now_ms,
        }))
    }

    /// Reads the snapshot again, with every slot found unwritten: `None` if the snapshot
    /// changed (another compactor won), else the next snapshot, folding slots written meanwhile.
    fn check(&self, mut compaction: Compaction) -> Result<Option<Ready>, Failure> {
        let unwritten: Vec<u64> = compaction
            .found
            .iter()
            .filter(|(_, bytes)| bytes.is_none())
            .map(|(&slot, _)| slot)
            .collect();
        let mut keys = vec![self.base_key()];
        keys.extend(unwritten.iter().map(|&n| self.slot_key(n)));
        let mut values = self.store.get_many(&keys)?.into_iter();
        if values.next().flatten() != compaction.head.raw {
            return Ok(None);
        }
        for (slot, bytes) in unwritten.into_iter().zip(values) {
            if bytes.is_some() {
                compaction.found.insert(slot, bytes);
            }
        }
        Ok(Some(self.next_base(compaction)))
    }

    /// Deletes what the snapshot read asked to retire, then writes the new one. Deleting first
    /// means an invocation that dies in between leaks nothing; the next compactor deletes the
    /// same slots again, harmlessly.
    fn finish(&self, ready: Ready) -> Result<(), Failure> {
        if !ready.retired.is_empty() {
            self.store.delete_many(&ready.retired)?;
        }
        self.store.set_json(&self.base_key(), &ready.next)
    }

    fn next_base(&self, compaction: Compaction) -> Ready {
        let Compaction {
            head,
            found,
            now_ms,
        } = compaction;
        let base = head.base;
        let mut members = base.members.clone();
        let mut gaps = BTreeMap::new();
        let mut folded_gaps = Vec::new();
        // In slot order: the old gaps, then the new slots.
        for (slot, bytes) in found {
            match bytes {
                Some(bytes) => {
                    apply(&mut members, &bytes);
                    if slot <= base.upto {
                        folded_gaps.push(slot);
                    }
                }
                None => {
                    let first_seen = base.gaps.get(&slot).copied().unwrap_or(now_ms);
                    if now_ms.saturating_sub(first_seen) < GAP_EXPIRY_MS {
                        gaps.insert(slot, first_seen);
                    }
                    // else abandoned: its writer was stopped long ago, never acknowledged
                }
            }
        }
        let (retired, after) = base.retiring();
        Ready {
            retired: retired.into_iter().map(|n| self.slot_key(n)).collect(),
            next: Base {
                upto: head.seq,
                members,
                gaps,
                retire: Retire {
                    after,
                    slots: folded_gaps,
                },
            },
        }
    }

    fn read_head(&self) -> Result<Head, Failure> {
        let mut heads = Self::read_heads(self.store, &[self])?;
        Ok(heads.pop().unwrap_or_default())
    }

    /// The snapshot and counter of each set, in one store call.
    fn read_heads(store: &S, sets: &[&Self]) -> Result<Vec<Head>, Failure> {
        let keys: Vec<String> = sets
            .iter()
            .flat_map(|set| [set.base_key(), set.seq_key()])
            .collect();
        let mut values = store.get_each(&keys)?.into_iter();
        sets.iter()
            .map(|set| {
                let raw = values.next().flatten();
                let seq = values
                    .next()
                    .flatten()
                    .and_then(|bytes| std::str::from_utf8(&bytes).ok()?.parse().ok())
                    .unwrap_or(0);
                let base: Base = match &raw {
                    None => Base::default(),
                    Some(bytes) => serde_json::from_slice(bytes).map_err(|e| {
                        Failure::unavailable(format!("corrupt value at {}: {e}", set.base_key()))
                    })?,
                };
                // Read concurrently, `seq` may predate the snapshot: then nothing follows it yet.
                let seq = seq.max(base.upto);
                Ok(Head { raw, base, seq })
            })
            .collect()
    }

    fn seq_key(&self) -> String {
        format!("{}/seq", self.prefix)
    }

    fn base_key(&self) -> String {
        format!("{}/base", self.prefix)
    }

    fn slot_key(&self, n: u64) -> String {
        format!("{}{n}", self.slot_key_prefix())
    }

    /// A slot's key without its number, which ends it ([`Self::append`] hands it to the store).
    fn slot_key_prefix(&self) -> String {
        format!("{}/log/", self.prefix)
    }
}

/// Applies one slot's change; a slot of an unknown shape is ignored, which keeps the set
/// readable.
fn apply(members: &mut BTreeMap<String, Value>, bytes: &[u8]) {
    match serde_json::from_slice::<Entry<Value>>(bytes) {
        Ok(Entry::Add { key, value }) => {
            members.insert(key, value);
        }
        Ok(Entry::Remove { key }) => {
            members.remove(&key);
        }
        Err(_) => {}
    }
}

#[cfg(test)]
mod tests;
