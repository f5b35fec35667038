//! An in-memory [`Store`] for unit tests of actor logic.

use std::{cell::RefCell, collections::BTreeMap};

use wcc_interface::Failure;

use crate::Store;

#[derive(Default)]
pub struct MemoryStore {
    entries: RefCell<BTreeMap<String, Vec<u8>>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every key currently stored, for assertions.
    pub fn keys(&self) -> Vec<String> {
        self.entries.borrow().keys().cloned().collect()
    }
}

impl Store for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Failure> {
        Ok(self.entries.borrow().get(key).cloned())
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), Failure> {
        self.entries
            .borrow_mut()
            .insert(key.to_string(), value.to_vec());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), Failure> {
        self.entries.borrow_mut().remove(key);
        Ok(())
    }

    fn increment(&self, key: &str, delta: u64) -> Result<u64, Failure> {
        let mut entries = self.entries.borrow_mut();
        let current = match entries.get(key) {
            None => 0,
            Some(bytes) => std::str::from_utf8(bytes)
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| Failure::unavailable(format!("{key} is not a counter")))?,
        };
        let next = current + delta;
        entries.insert(key.to_string(), next.to_string().into_bytes());
        Ok(next)
    }

    fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, Failure> {
        let entries = self.entries.borrow();
        Ok(keys.iter().map(|k| entries.get(k).cloned()).collect())
    }

    fn set_many(&self, entries: &[(String, Vec<u8>)]) -> Result<(), Failure> {
        let mut stored = self.entries.borrow_mut();
        for (key, value) in entries {
            stored.insert(key.clone(), value.clone());
        }
        Ok(())
    }

    fn delete_many(&self, keys: &[String]) -> Result<(), Failure> {
        let mut stored = self.entries.borrow_mut();
        for key in keys {
            stored.remove(key);
        }
        Ok(())
    }
}

/// A [`MemoryStore`] that counts the calls made to it: in a component each is a call to the
/// keyvalue provider, a hop through the host, so tests of how many a path costs count them.
#[derive(Default)]
pub struct CountingStore {
    pub store: MemoryStore,
    calls: std::cell::Cell<u32>,
}

impl CountingStore {
    pub fn new(store: MemoryStore) -> Self {
        Self {
            store,
            calls: Default::default(),
        }
    }

    /// Calls since the last [`Self::reset`] (or since it was made).
    pub fn calls(&self) -> u32 {
        self.calls.get()
    }

    pub fn reset(&self) {
        self.calls.set(0);
    }

    fn call(&self) {
        self.calls.set(self.calls.get() + 1);
    }
}

impl Store for CountingStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Failure> {
        self.call();
        self.store.get(key)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), Failure> {
        self.call();
        self.store.set(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), Failure> {
        self.call();
        self.store.delete(key)
    }
    fn increment(&self, key: &str, delta: u64) -> Result<u64, Failure> {
        self.call();
        self.store.increment(key, delta)
    }
    fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, Failure> {
        self.call();
        self.store.get_many(keys)
    }
    fn set_many(&self, entries: &[(String, Vec<u8>)]) -> Result<(), Failure> {
        self.call();
        self.store.set_many(entries)
    }
    fn delete_many(&self, keys: &[String]) -> Result<(), Failure> {
        self.call();
        self.store.delete_many(keys)
    }
    fn append_reading(
        &self,
        present: &[String],
        counter: &str,
        count: u32,
        writes: &[crate::NumberedWrite],
    ) -> Result<Option<crate::Appended>, Failure> {
        self.call();
        self.store.append_reading(present, counter, count, writes)
    }
}
