//! The rooms actor: rooms, membership and users, plus an admin HTTP API for operators.
//!
//! Everything that decides something lives in plain Rust modules written against
//! [`wcc_kv::Store`] and the small [`Publisher`] / [`admin::Presence`] /
//! [`operator::Announcer`] traits, so it is unit-tested
//! natively on a `MemoryStore` and recording fakes. The component shell (`component.rs`, built
//! only for wasm32) converts WIT values to these types and back, and nothing else.
//!
//! - [`model`]: the records as stored (and as the admin API shows them) and their validation,
//! - [`rooms`]: create/delete rooms, join/leave (publishing UserJoined/UserLeft),
//! - [`users`]: login (creating a user and its direct room on first sight) and profiles,
//! - [`accounts`]: password sign-up and sign-in, bearer tokens, bans,
//! - [`operator`]: an operator's actions on live sessions (the WIT `admin` interface): members
//!   added or removed with a note to their sessions, broadcasts, messages to one connection,
//! - [`admin`]: the HTTP routes, auth and JSON, as a pure request-in/response-out function.

pub mod accounts;
pub mod admin;
pub mod model;
pub mod operator;
pub mod rooms;
pub mod users;

#[cfg(target_arch = "wasm32")]
mod component;

use wcc_interface::Failure;

pub use accounts::{Accounts, PasswordPolicy};
pub use model::{JoinRule, Member, Room, User};
pub use operator::Operator;
pub use rooms::Rooms;
pub use users::Users;

/// Where events go. The component publishes on wasmcloud:messaging; tests record.
pub trait Publisher {
    fn publish(&self, subject: &str, body: &[u8]) -> Result<(), Failure>;
}

/// Test doubles shared by the unit tests of every module.
#[cfg(test)]
pub(crate) mod fakes {
    use std::cell::RefCell;

    use wcc_interface::{ids, notes, Envelope, Failure, Note, StoredMessage};

    use crate::operator::Announcer;
    use crate::Publisher;

    /// Remembers every announce as (room, channel, event type, content) and answers as the
    /// messages actor would, with event ids counting from 1.
    #[derive(Default)]
    pub struct RecordingAnnouncer {
        pub calls: RefCell<Vec<(String, String, String, String)>>,
    }

    impl Announcer for RecordingAnnouncer {
        fn announce(
            &self,
            room: &str,
            channel: &str,
            event_type: &str,
            content: &str,
        ) -> Result<StoredMessage, Failure> {
            let mut calls = self.calls.borrow_mut();
            calls.push((
                room.into(),
                channel.into(),
                event_type.into(),
                content.into(),
            ));
            let content = serde_json::from_str(content)
                .map_err(|e| Failure::invalid(format!("content is not JSON: {e}")))?;
            Ok(StoredMessage {
                id: format!("m{}", calls.len()),
                room: room.into(),
                event_id: calls.len() as u64,
                sender: ids::SERVER_USER.into(),
                channel: channel.into(),
                event_type: event_type.into(),
                content,
                sent_at: 1000,
            })
        }
    }

    /// Remembers every publish; can be told to fail, as a broker outage would.
    #[derive(Default)]
    pub struct RecordingPublisher {
        pub sent: RefCell<Vec<(String, Vec<u8>)>>,
        pub fail: bool,
    }

    impl RecordingPublisher {
        /// The published envelopes, parsed, with their subjects (notes are skipped).
        pub fn envelopes(&self) -> Vec<(String, Envelope)> {
            self.sent
                .borrow()
                .iter()
                .filter(|(subject, _)| !subject.starts_with(notes::SUBJECT_PREFIX))
                .map(|(subject, body)| {
                    (subject.clone(), Envelope::parse(body).expect("an envelope"))
                })
                .collect()
        }

        /// The published notes, parsed, with their subjects.
        pub fn notes(&self) -> Vec<(String, Note)> {
            self.sent
                .borrow()
                .iter()
                .filter(|(subject, _)| subject.starts_with(notes::SUBJECT_PREFIX))
                .map(|(subject, body)| {
                    let text = std::str::from_utf8(body).expect("UTF-8");
                    (subject.clone(), Note::parse(text).expect("a note"))
                })
                .collect()
        }
    }

    impl Publisher for RecordingPublisher {
        fn publish(&self, subject: &str, body: &[u8]) -> Result<(), Failure> {
            if self.fail {
                return Err(Failure::unavailable("broker down"));
            }
            self.sent
                .borrow_mut()
                .push((subject.to_string(), body.to_vec()));
            Ok(())
        }
    }
}
