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
