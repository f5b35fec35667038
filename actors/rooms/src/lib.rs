//! The rooms actor: rooms, membership and users, plus an admin HTTP API for operators.
//!
//! Everything that decides something lives in plain Rust modules written against
//! [`wcc_kv::Store`] and the small [`Publisher`] / [`admin::Presence`] traits, so it is unit-tested
//! natively on a `MemoryStore` and recording fakes. The component shell (`component.rs`, built
//! only for wasm32) converts WIT values to these types and back, and nothing else.
//!
//! - [`model`]: the records as stored (and as the admin API shows them) and their validation,
//! - [`rooms`]: create/delete rooms, join/leave (publishing UserJoined/UserLeft),
//! - [`users`]: login (creating a user and its direct room on first sight) and profiles,
//! - [`accounts`]: password sign-up and sign-in, bearer tokens, bans,
//! - [`admin`]: the HTTP routes, auth and JSON, as a pure request-in/response-out function.

pub mod accounts;
pub mod admin;
pub mod model;
pub mod rooms;
pub mod users;

#[cfg(target_arch = "wasm32")]
mod component;

use wcc_interface::Failure;

pub use accounts::{Accounts, PasswordPolicy};
pub use model::{Member, Room, User};
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

    use wcc_interface::{Envelope, Failure};

    use crate::Publisher;

    /// Remembers every publish; can be told to fail, as a broker outage would.
    #[derive(Default)]
    pub struct RecordingPublisher {
        pub sent: RefCell<Vec<(String, Vec<u8>)>>,
        pub fail: bool,
    }

    impl RecordingPublisher {
        /// The published envelopes, parsed, with their subjects.
        pub fn envelopes(&self) -> Vec<(String, Envelope)> {
            self.sent
                .borrow()
                .iter()
                .map(|(subject, body)| {
                    (subject.clone(), Envelope::parse(body).expect("an envelope"))
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
