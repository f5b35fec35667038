//! Test doubles: a publisher that records what it was asked to publish.

use std::cell::RefCell;

use wcc_interface::{Envelope, Event, Failure};

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
