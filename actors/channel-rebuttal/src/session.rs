//! What Rebuttal remembers about one connection, carried by the gateway in `session.data`.
//! Who is logged in lives in `Session::user`.

use channel_kit::ratelimit::Bucket;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    /// The voice room this connection is in (one at a time); left when the connection closes.
    pub voice_room: Option<String>,
    /// Text rooms whose messages this connection is subscribed to.
    pub following: Vec<String>,
    /// This connection went live (`golive`): its stream ends when it closes.
    pub live: bool,
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
}
