//! A set kept as an append-only log of adds and removes.
//!
//! wasi:keyvalue@0.2.0-draft has no compare-and-swap, so a set stored as one JSON value would
//! lose concurrent updates from two actor instances. Here every change takes a fresh slot from
//! `increment` (atomic in the provider) and writes only that slot; reading folds the log. Two
//! joins at the same moment land in different slots and both survive.

use std::collections::BTreeMap;

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use wcc_interface::Failure;

use crate::Store;

/// A set of `T` keyed by a string, stored under `prefix`.
pub struct LogSet<'a, S: Store> {
    store: &'a S,
    prefix: String,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op")]
enum Entry<T> {
    #[serde(rename = "add")]
    Add { key: String, value: T },
    #[serde(rename = "remove")]
    Remove { key: String },
}

impl<'a, S: Store> LogSet<'a, S> {
    pub fn new(store: &'a S, prefix: impl Into<String>) -> Self {
        Self {
            store,
            prefix: prefix.into(),
        }
    }

    /// Adds (or replaces) the entry for `key`.
    pub fn add<T: Serialize>(&self, key: &str, value: &T) -> Result<(), Failure> {
        self.append(&Entry::Add {
            key: key.to_string(),
            value,
        })
    }

    pub fn remove(&self, key: &str) -> Result<(), Failure> {
        self.append::<()>(&Entry::Remove {
            key: key.to_string(),
        })
    }

    /// The current members, in key order.
    pub fn entries<T: DeserializeOwned>(&self) -> Result<BTreeMap<String, T>, Failure> {
        let len = match self.store.get(&self.seq_key())? {
            None => 0,
            Some(bytes) => std::str::from_utf8(&bytes)
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0),
        };
        let keys: Vec<String> = (1..=len).map(|n| self.slot_key(n)).collect();
        let mut members = BTreeMap::new();
        // A slot that was taken but not yet written is skipped: its writer has not acknowledged.
        for bytes in self.store.get_many(&keys)?.into_iter().flatten() {
            match serde_json::from_slice::<Entry<T>>(&bytes) {
                Ok(Entry::Add { key, value }) => {
                    members.insert(key, value);
                }
                Ok(Entry::Remove { key }) => {
                    members.remove(&key);
                }
                Err(_) => {} // a slot of an older shape; ignoring it keeps the set readable
            }
        }
        Ok(members)
    }

    fn append<T: Serialize>(&self, entry: &Entry<T>) -> Result<(), Failure> {
        let slot = self.store.increment(&self.seq_key(), 1)?;
        self.store.set_json(&self.slot_key(slot), entry)
    }

    fn seq_key(&self) -> String {
        format!("{}/seq", self.prefix)
    }

    fn slot_key(&self, n: u64) -> String {
        format!("{}/log/{n}", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;

    #[test]
    fn adds_and_removes_fold_to_the_current_set() {
        let store = MemoryStore::new();
        let set = LogSet::new(&store, "room/lobby/members");
        set.add("alice", &1u64).unwrap();
        set.add("bob", &2u64).unwrap();
        set.remove("alice").unwrap();
        set.add("carol", &3u64).unwrap();
        let members: BTreeMap<String, u64> = set.entries().unwrap();
        assert_eq!(
            members.into_iter().collect::<Vec<_>>(),
            vec![("bob".into(), 2), ("carol".into(), 3)]
        );
    }

    #[test]
    fn a_taken_but_unwritten_slot_is_skipped() {
        let store = MemoryStore::new();
        let set = LogSet::new(&store, "s");
        set.add("a", &()).unwrap();
        store.increment("s/seq", 1).unwrap(); // a writer that crashed after taking its slot
        set.add("b", &()).unwrap();
        let members: BTreeMap<String, ()> = set.entries().unwrap();
        assert_eq!(members.keys().cloned().collect::<Vec<_>>(), vec!["a", "b"]);
    }
}
