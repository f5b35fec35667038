//! The messages actor: the only writer of room history.
//!
//! The logic lives in plain Rust ([`process`], [`history`], [`edit`], [`reactions`], [`read`])
//! generic over [`wcc_kv::Store`] and [`Publisher`], so it is unit-tested natively on
//! `MemoryStore` and a recording publisher. The component shell (`component.rs`, wasm only) merely converts WIT values and supplies the real
//! store, NATS publisher, configuration and clock.

pub mod edit;
pub mod history;
pub mod process;
pub mod reactions;
pub mod read;
#[cfg(test)]
mod test_support;

#[cfg(target_arch = "wasm32")]
mod component;

pub use edit::{edit_message, remove_message, remove_messages_by};
pub use history::{history, next_event_id, MAX_HISTORY_COUNT};
pub use process::{
    announce, get_message, process_message, process_messages, signal, signal_user, Announcement,
    NewMessage, Signal, UserSignal, MAX_MESSAGES_AT_ONCE,
};
pub use reactions::{react, reactions};
pub use read::{mark_read, read_state, MAX_READ_STATE_ROOMS};

use wcc_interface::{ids, Failure};
use wcc_kv::{keys, Store};

/// Where events go: on the lattice in the component, recorded in tests.
pub use wcc_bus::Publisher;

/// Operator-tunable bounds on what a message may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted `content`, in bytes of its JSON text.
    pub max_message_bytes: usize,
}

impl Limits {
    /// Used when the runtime configuration does not set `max_message_bytes`.
    pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 16 * 1024;
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: Self::DEFAULT_MAX_MESSAGE_BYTES,
        }
    }
}

/// Refuses ids that are not subject-safe: they would also let a caller address keys outside the
/// room's own (e.g. a room id containing `/`).
fn check_room_id(room: &str) -> Result<(), Failure> {
    if ids::is_valid_id(room) {
        Ok(())
    } else {
        Err(Failure::invalid(format!("invalid room id {room:?}")))
    }
}

/// Fails with `UnknownRoom` unless the room record exists.
fn require_room<S: Store>(store: &S, room: &str) -> Result<(), Failure> {
    wcc_policy::room_kind(store, room).map(drop)
}

/// The room's last assigned event id; 0 before its first message.
fn current_seq<S: Store>(store: &S, room: &str) -> Result<u64, Failure> {
    let key = keys::room_seq(room);
    match store.get(&key)? {
        None => Ok(0),
        // Counters are stored as decimal text by every Store implementation.
        Some(bytes) => std::str::from_utf8(&bytes)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .ok_or_else(|| Failure::unavailable(format!("{key} is not a counter"))),
    }
}
