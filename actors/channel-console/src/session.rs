//! What a console connection remembers: the rooms it watches. Whether it signed in is the
//! session's user (`ids::OPERATOR` once the token passed), which the gateway also checks grants
//! against.

use serde::{Deserialize, Serialize};

/// Rooms one console may watch at once: each is a gateway subscription.
pub const MAX_WATCHED_ROOMS: usize = 16;

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Watching {
    pub rooms: Vec<String>,
}

impl Watching {
    /// Unreadable data (never written by this actor) reads as watching nothing.
    pub fn parse(data: &str) -> Self {
        serde_json::from_str(data).unwrap_or_default()
    }

    pub fn to_data(&self) -> String {
        // A list of strings always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }
}
