//! The rooms actor: rooms, membership and users, plus an admin HTTP API for operators.
//!
//! Everything that decides something lives in plain Rust modules written against
//! [`wcc_kv::Store`] and the small [`Publisher`] / [`admin::Presence`] /
//! [`operator::Messages`] traits, so it is unit-tested
//! natively on a `MemoryStore` and recording fakes. The component shell (`component.rs`, built
//! only for wasm32) converts WIT values to these types and back, and nothing else.
//!
//! - [`model`]: the records as stored (and as the admin API shows them) and their validation,
//! - [`rooms`]: create/delete rooms, join/leave (publishing UserJoined/UserLeft),
//! - [`users`]: login (creating a user and its direct room on first sight), profiles, the user
//!   list and deletion,
//! - [`access`]: groups and their permissions, invites, the founder (Rebuttal's administration),
//! - [`administration`]: the same changes asked by a principal, each after the policy's decision
//!   (`wcc-policy`): what the component exports,
//! - [`accounts`]: password sign-up and sign-in, bearer tokens, bans (a user's, and an
//!   operator's server-wide ban),
//! - [`operator`]: an operator's actions on live sessions (the WIT `admin` interface and the
//!   console): members added or removed with a note to their sessions, broadcasts, messages to
//!   one connection, history and removals, disconnects, bans, deletions,
//! - [`admin`]: the HTTP routes, auth and JSON, as a pure request-in/response-out function,
//!   and the operator console's files (`console_files`).

pub mod access;
pub mod accounts;
pub mod admin;
pub mod administration;
pub mod model;
pub mod operator;
pub mod rooms;
pub mod users;

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod console_files;

#[cfg(target_arch = "wasm32")]
mod component;

use wcc_interface::events::directory;
use wcc_interface::{clock, notes, Envelope, Event, Failure, Note};
use wcc_kv::Store;

pub use access::{Access, Group};
pub use accounts::{Accounts, PasswordPolicy};
pub use administration::Administration;
pub use model::{JoinRule, Member, Room, User};
pub use operator::Operator;
pub use rooms::Rooms;
pub use users::Users;

/// How often directory `part` (`users`, `rooms`, `groups`) has changed so far.
pub fn directory_version<S: Store>(store: &S, part: &str) -> Result<u64, Failure> {
    if ![directory::USERS, directory::ROOMS, directory::GROUPS].contains(&part) {
        return Err(Failure::invalid(format!("no directory part {part:?}")));
    }
    let key = wcc_kv::keys::directory_version(part);
    match store.get(&key)? {
        None => Ok(0),
        Some(bytes) => std::str::from_utf8(&bytes)
            .ok()
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| Failure::unavailable(format!("{key} is corrupt"))),
    }
}

/// Counts a change of directory `part`, then tells its readers ([`Publisher::directory_changed`]).
/// The count moves after the change is stored and before it is announced, so a reader that sees
/// it move while building a list knows a later announcement will show what it built, and more.
/// Neither step is returned as a failure: the change is stored, and the next one corrects the
/// lists.
pub(crate) fn directory_changed<S: Store, P: Publisher>(store: &S, publisher: &P, part: &str) {
    if let Err(e) = store.increment(&wcc_kv::keys::directory_version(part), 1) {
        eprintln!("rooms: {part} changed but not counted: {e}");
    }
    publisher.directory_changed(part);
}

/// Where events go (on the lattice in the component, recorded in tests), with the two kinds of
/// announcement the rooms actor makes. Every [`wcc_bus::Publisher`] is one.
pub trait Publisher: wcc_bus::Publisher {
    /// Tells directory readers (Rebuttal's lists) that `part` changed. The change is stored
    /// already, so a failed publish is logged, not returned: the next change corrects the lists.
    fn directory_changed(&self, part: &str) {
        let event = Event::DirectoryChanged { part: part.into() };
        let body = Envelope::new(event.clone(), clock::now_ms()).to_json();
        if let Err(e) = self.publish(&event.subject(), body.as_bytes()) {
            eprintln!("rooms: {part} changed but not published: {e}");
        }
    }

    /// Tells `user`'s live sessions that a note applies to them; logged if it cannot be sent.
    fn note(&self, user: &str, note: &Note) {
        if let Err(e) = self.publish(&notes::user_subject(user), note.to_json().as_bytes()) {
            eprintln!("rooms: note for {user} not published: {e}");
        }
    }
}

impl<T: wcc_bus::Publisher + ?Sized> Publisher for T {}

/// Test doubles shared by the unit tests of every module.
#[cfg(test)]
pub(crate) mod fakes {
    use std::cell::{Cell, RefCell};

    use messages::{Announcement, Limits};
    use wcc_interface::{
        events, ids, notes, Envelope, Event, Failure, Note, Principal, StoredMessage,
    };
    use wcc_kv::MemoryStore;

    use crate::operator::Messages;

    /// The clock of [`Core`]'s messages (the trait passes none: the messages component reads
    /// its own), the time the admin tests hand to every request.
    pub const MESSAGES_NOW_MS: u64 = 1000;

    /// What a test's rooms core runs on: one store and one recording publisher, with the
    /// messages actor's real core (the `messages` crate) behind [`Messages`] over both, as the
    /// two components share one KV bucket and one bus. A broadcast is stored, numbered and
    /// published by the messages core itself, and history, paging and masking are its own.
    /// The adapter supplies only what the messages component's host would: the clock
    /// ([`MESSAGES_NOW_MS`]), default limits and message ids (`m1`, `m2`, … where the component
    /// draws UUIDs). It records each call for assertions and decides nothing.
    #[derive(Default)]
    pub struct Core {
        pub store: MemoryStore,
        pub publisher: RecordingPublisher,
        /// (room, channel, event type, content) of each announce asked.
        pub announced: RefCell<Vec<(String, String, String, String)>>,
        /// (principal, room) of each history or removal asked.
        pub readers: RefCell<Vec<(Principal, String)>>,
        ids_given: Cell<u64>,
    }

    impl Core {
        /// Every stored message of `room`, oldest first, as the server reads them.
        pub fn stored(&self, room: &str) -> Vec<StoredMessage> {
            let count = messages::MAX_HISTORY_COUNT;
            let mut all = Vec::new();
            let mut before = None;
            loop {
                let page = messages::history(&self.store, &Principal::Server, room, before, count)
                    .expect("a room's history");
                match page.last() {
                    Some(oldest) => before = Some(oldest.event_id),
                    None => break,
                }
                all.extend(page);
            }
            all.reverse();
            all
        }
    }

    impl Messages for Core {
        fn announce(
            &self,
            room: &str,
            channel: &str,
            event_type: &str,
            content: &str,
        ) -> Result<StoredMessage, Failure> {
            self.announced.borrow_mut().push((
                room.into(),
                channel.into(),
                event_type.into(),
                content.into(),
            ));
            let announcement = Announcement {
                room: room.into(),
                channel: channel.into(),
                event_type: event_type.into(),
                content: content.into(),
            };
            let new_id = || {
                self.ids_given.set(self.ids_given.get() + 1);
                format!("m{}", self.ids_given.get())
            };
            messages::announce(
                &self.store,
                &self.publisher,
                Limits::default(),
                announcement,
                MESSAGES_NOW_MS,
                new_id,
            )
        }

        fn history(
            &self,
            actor: &Principal,
            room: &str,
            before: Option<u64>,
            count: u32,
        ) -> Result<Vec<StoredMessage>, Failure> {
            self.readers.borrow_mut().push((actor.clone(), room.into()));
            messages::history(&self.store, actor, room, before, count)
        }

        fn remove_message(
            &self,
            actor: &Principal,
            room: &str,
            event_id: u64,
        ) -> Result<StoredMessage, Failure> {
            self.readers.borrow_mut().push((actor.clone(), room.into()));
            messages::remove_message(
                &self.store,
                &self.publisher,
                actor,
                room,
                event_id,
                MESSAGES_NOW_MS,
            )
        }
    }

    /// Remembers every publish; can be told to fail, as a broker outage would.
    #[derive(Default)]
    pub struct RecordingPublisher {
        pub sent: RefCell<Vec<(String, Vec<u8>)>>,
        pub fail: bool,
    }

    impl RecordingPublisher {
        /// The published room and global envelopes, parsed, with their subjects (notes and the
        /// `everyone` feed are skipped: see [`Self::directory_parts`]).
        pub fn envelopes(&self) -> Vec<(String, Envelope)> {
            self.all_envelopes()
                .into_iter()
                .filter(|(subject, _)| *subject != events::room_subject(ids::EVERYONE))
                .collect()
        }

        /// The parts of every DirectoryChanged published on the `everyone` feed, in order.
        pub fn directory_parts(&self) -> Vec<String> {
            self.all_envelopes()
                .into_iter()
                .filter_map(|(subject, e)| match e.event {
                    Event::DirectoryChanged { part }
                        if subject == events::room_subject(ids::EVERYONE) =>
                    {
                        Some(part)
                    }
                    _ => None,
                })
                .collect()
        }

        fn all_envelopes(&self) -> Vec<(String, Envelope)> {
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

    impl wcc_bus::Publisher for RecordingPublisher {
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
