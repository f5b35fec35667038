//! Reactions and read pointers: what the core keeps about how users took a room's messages, and
//! the bounds on it. The messages actor stores and decides; channels show.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Who reacted how to one message: reaction (an emoji or short text) -> user ids, sorted, no
/// duplicates. Only reactions with at least one user appear.
pub type Reactions = BTreeMap<String, Vec<String>>;

/// Longest reaction, in bytes: an emoji sequence (a family with skin tones is ~35 bytes) or a
/// short word, never a message.
pub const MAX_REACTION_BYTES: usize = 64;

/// Most distinct reactions one message may carry; adding a new one beyond is refused (adding
/// yourself to an existing one is not).
pub const MAX_REACTIONS_PER_MESSAGE: usize = 20;

/// Where one user stands in one room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadState {
    pub room: String,
    /// The event id of the last message the user read; 0: never read.
    pub pointer: u64,
    /// The room's last event id minus `pointer` (never below 0): how many event ids were taken
    /// after it. Removed messages still hold their ids and count; the user's own messages count
    /// too unless the channel moves the pointer when they send.
    pub unread: u64,
}
