//! What actionhero remembers about one connection, carried by the gateway in `session.data`.
//!
//! The user lives in `Session::user`: the connection's guest (`guest-<connection id>`, made on
//! first need and deleted when the connection closes), or the account it logged in to.

use std::collections::BTreeMap;

use channel_kit::ratelimit::Bucket;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    /// The one room the connection is in: where `say` goes. Deliberately kept when the room is
    /// deleted (the seed: the connection then gets "room does not exist" on `say`).
    pub room: Option<String>,
    /// Rooms it only listens to.
    pub listening: Vec<String>,
    /// `paramAdd` values (and upstream's `limit`/`offset` defaults); a bare action word runs
    /// with them.
    pub params: BTreeMap<String, Value>,
    /// Lines received so far: every response carries it.
    pub message_count: u64,
    /// Actions run so far (`detailsView` shows it).
    pub total_actions: u64,
    /// Set by the `login` action; a detail join rules can ask for.
    pub authenticated: bool,
    /// Unix milliseconds.
    pub connected_at: u64,
    /// Whether the connection has started (its default params and room): at open for lines,
    /// at the first subscription or request for a Bayeux client.
    pub started: bool,
    /// The rate limiter's state.
    pub bucket: Bucket,
}

impl State {
    /// Parses `data`; empty or unreadable (only we write it) is a fresh connection.
    pub fn parse(data: &str) -> Self {
        serde_json::from_str(data).unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Whether room events of `room` must still reach this connection.
    pub fn hears(&self, room: &str) -> bool {
        self.room.as_deref() == Some(room) || self.listening.iter().any(|r| r == room)
    }
}
