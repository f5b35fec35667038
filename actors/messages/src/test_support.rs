//! Fixtures shared by this crate's unit tests: a recording publisher and a seeded store.

use std::cell::{Cell, RefCell};

use wcc_interface::Failure;
use wcc_kv::{keys, MemoryStore, Store};

use crate::Publisher;

/// Remembers every publish; can be told to fail to exercise the after-persist path.
#[derive(Default)]
pub struct RecordingPublisher {
    pub sent: RefCell<Vec<(String, Vec<u8>)>>,
    pub fail: Cell<bool>,
}

impl Publisher for RecordingPublisher {
    fn publish(&self, subject: &str, body: &[u8]) -> Result<(), Failure> {
        if self.fail.get() {
            return Err(Failure::unavailable("broker down"));
        }
        self.sent
            .borrow_mut()
            .push((subject.to_string(), body.to_vec()));
        Ok(())
    }
}

/// A store holding room `lobby` with member `alice` (and no messages).
pub fn lobby_with_alice() -> MemoryStore {
    let store = MemoryStore::new();
    store
        .set(&keys::room("lobby"), br#"{"id":"lobby"}"#)
        .unwrap();
    store
        .set(&keys::member_flag("lobby", "alice"), b"1")
        .unwrap();
    store
}
