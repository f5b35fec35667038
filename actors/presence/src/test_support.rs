//! Test doubles: a publisher that records what it was asked to publish, and a store that lets
//! another instance act in the middle of a handler.

use std::cell::RefCell;

use wcc_interface::{events, ids, Envelope, Event, Failure};
use wcc_kv::{MemoryStore, Store};

use crate::Publisher;

/// Records every publish; `during` (if set) runs inside each publish, before it is recorded,
/// to interleave another actor instance with this one.
#[derive(Default)]
pub struct Recorder<'a> {
    pub sent: RefCell<Vec<(String, Vec<u8>)>>,
    pub during: Option<Box<dyn Fn() + 'a>>,
    /// Publishes fail from this many on (0: never).
    pub fail_after: usize,
}

impl Recorder<'_> {
    /// The events published, in order, with the subject each went to.
    pub fn published(&self) -> Vec<(String, Event)> {
        self.sent
            .borrow()
            .iter()
            .map(|(subject, body)| {
                let envelope = Envelope::parse(body).expect("a published body is an envelope");
                (subject.clone(), envelope.event)
            })
            .collect()
    }

    /// The connections of the UserLoggedOut events published, in order.
    pub fn logouts(&self) -> Vec<String> {
        self.published()
            .into_iter()
            .filter_map(|(_, event)| match event {
                Event::UserLoggedOut { connection, .. } => Some(connection),
                _ => None,
            })
            .collect()
    }
}

impl Recorder<'_> {
    /// How many changes of the directory's users were announced on the `everyone` feed.
    pub fn users_changes(&self) -> usize {
        self.published()
            .into_iter()
            .filter(|(subject, event)| {
                *subject == events::room_subject(ids::EVERYONE)
                    && matches!(event, Event::DirectoryChanged { part } if part == "users")
            })
            .count()
    }
}

impl Publisher for Recorder<'_> {
    fn publish(&self, subject: &str, body: &[u8]) -> Result<(), Failure> {
        if self.fail_after > 0 && self.sent.borrow().len() >= self.fail_after {
            return Err(Failure::unavailable("publish failed (test)"));
        }
        if let Some(during) = &self.during {
            during();
        }
        self.sent
            .borrow_mut()
            .push((subject.to_owned(), body.to_vec()));
        Ok(())
    }
}

/// A store that runs `meanwhile` once, right before its first `increment`: what another
/// instance does between a handler's reads and its first write (every [`wcc_kv::LogSet`] change
/// starts by taking a slot with `increment`). `meanwhile` works on the store underneath.
pub struct Interleaved<'a> {
    pub store: &'a MemoryStore,
    pub meanwhile: RefCell<Option<Box<dyn FnOnce() + 'a>>>,
}

impl<'a> Interleaved<'a> {
    pub fn new(store: &'a MemoryStore, meanwhile: impl FnOnce() + 'a) -> Self {
        Self {
            store,
            meanwhile: RefCell::new(Some(Box::new(meanwhile))),
        }
    }
}

impl Store for Interleaved<'_> {
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
        let meanwhile = self.meanwhile.borrow_mut().take();
        if let Some(meanwhile) = meanwhile {
            meanwhile();
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
