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
/// alice's user record, as the rooms actor writes one.
pub const ALICE_RECORD: &str =
    r#"{"id":"alice","profile":{"display_name":"Alice"},"created_at":1}"#;

pub fn lobby_with_alice() -> MemoryStore {
    let store = MemoryStore::new();
    seed_lobby(&store);
    store
}

/// Writes room `lobby` with member `alice`, and alice's user record.
pub fn seed_lobby(store: &impl Store) {
    store
        .set(&keys::room("lobby"), br#"{"id":"lobby"}"#)
        .unwrap();
    store
        .set(&keys::user("alice"), ALICE_RECORD.as_bytes())
        .unwrap();
    store
        .set(&keys::member_flag("lobby", "alice"), b"1")
        .unwrap();
}

/// Stores a `channel.message` from `sender` in `room` (id `id-<body>`), as a channel would.
pub fn post(
    store: &impl Store,
    room: &str,
    sender: &str,
    body: &str,
) -> wcc_interface::StoredMessage {
    let msg = crate::NewMessage {
        origin: None,
        room: room.into(),
        sender: sender.into(),
        channel: "test".into(),
        event_type: "channel.message".into(),
        content: format!(r#"{{"body":"{body}"}}"#),
    };
    let publisher = RecordingPublisher::default();
    crate::process_message(store, &publisher, crate::Limits::default(), msg, 5, || {
        format!("id-{body}")
    })
    .unwrap()
}

/// Something another instance does while a call is under way.
type Meanwhile = Box<dyn FnOnce(&Interleaved)>;

/// A [`MemoryStore`] on which another instance's call can run in the middle of one: before the
/// next `increment` of a key (where a writer takes its slot, after it has read), the hook for
/// that key runs once, on the same store. What two actor instances at once can do to each other.
#[derive(Default)]
pub struct Interleaved {
    pub store: MemoryStore,
    hooks: RefCell<Vec<(String, Meanwhile)>>,
}

impl Interleaved {
    /// Runs `then` right before the next `increment` of a key starting with `prefix`.
    pub fn before_increment(&self, prefix: &str, then: impl FnOnce(&Interleaved) + 'static) {
        self.hooks
            .borrow_mut()
            .push((prefix.to_owned(), Box::new(then)));
    }
}

impl Store for Interleaved {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Failure> {
        self.store.get(key)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), Failure> {
        self.store.set(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), Failure> {
        self.store.delete(key)
    }
    fn increment(&self, key: &str, delta: u64) -> Result<u64, Failure> {
        let due = {
            let mut hooks = self.hooks.borrow_mut();
            let found = hooks.iter().position(|(prefix, _)| key.starts_with(prefix));
            found.map(|i| hooks.remove(i).1)
        };
        if let Some(meanwhile) = due {
            meanwhile(self);
        }
        self.store.increment(key, delta)
    }
    fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, Failure> {
        self.store.get_many(keys)
    }
    fn set_many(&self, entries: &[(String, Vec<u8>)]) -> Result<(), Failure> {
        self.store.set_many(entries)
    }
}
