//! What venueless remembers about one connection between frames.
//!
//! The component keeps no state of its own (an instance may serve any connection), so the gateway
//! carries this for us in `session.data` as JSON:
//!
//! ```json
//! {"profile": true, "joined": ["room_0"], "subscribed": ["room_0", "room_1"]}
//! ```
//!
//! - `profile`: the user has a non-empty profile (so `chat.join` may go ahead without asking),
//! - `joined`: rooms this user is a member of, as far as this connection knows (seeded from the
//!   persisted membership at `authenticate`); `chat.send` requires the room here,
//! - `subscribed`: rooms whose events the gateway delivers to this connection; kept so that
//!   subscribe/unsubscribe actions are emitted only on change.
//!
//! Who the connection is logged in as lives in `Session::user`, which the gateway reads. Beside
//! these fields `session.data` also holds the rate limiter's `bucket` ([`Stored`]).

use channel_kit::ratelimit::Bucket;
use serde::{Deserialize, Serialize};

pub use channel_kit::{Action, Frame, Outcome, Session};

/// Our part of the session, parsed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionData {
    pub profile: bool,
    pub joined: Vec<String>,
    pub subscribed: Vec<String>,
}

impl SessionData {
    /// Parses `data`; an empty or unreadable value (only we ever write it, so that means a fresh
    /// connection) is the empty state.
    pub fn parse(data: &str) -> Self {
        serde_json::from_str(data).unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        // Strings and booleans always serialize.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn is_joined(&self, room: &str) -> bool {
        self.joined.iter().any(|r| r == room)
    }

    pub fn is_subscribed(&self, room: &str) -> bool {
        self.subscribed.iter().any(|r| r == room)
    }

    pub fn add_joined(&mut self, room: &str) {
        if !self.is_joined(room) {
            self.joined.push(room.to_owned());
        }
    }

    pub fn remove_joined(&mut self, room: &str) {
        self.joined.retain(|r| r != room);
    }

    /// Records a subscription; `true` if it is new (so the gateway must be told).
    pub fn add_subscribed(&mut self, room: &str) -> bool {
        let new = !self.is_subscribed(room);
        if new {
            self.subscribed.push(room.to_owned());
        }
        new
    }

    /// Drops a subscription; `true` if there was one.
    pub fn remove_subscribed(&mut self, room: &str) -> bool {
        let had = self.is_subscribed(room);
        self.subscribed.retain(|r| r != room);
        had
    }
}

/// All of `session.data`: [`SessionData`]'s fields and the connection's rate-limit bucket, in
/// one JSON object. The bucket is metering, not protocol state, so it stays out of
/// [`SessionData`], which the handlers change and compare.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Stored {
    #[serde(flatten)]
    pub data: SessionData,
    pub bucket: Bucket,
}

impl Stored {
    /// Parses `data`; empty or unreadable is a fresh connection, as for [`SessionData`].
    pub fn parse(data: &str) -> Self {
        serde_json::from_str(data).unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_and_corrupt_data_are_empty() {
        assert_eq!(SessionData::parse(""), SessionData::default());
        assert_eq!(SessionData::parse("{nope"), SessionData::default());
        assert!(SessionData::parse("{\"profile\":true}").profile);
    }

    #[test]
    fn round_trips_and_tracks_changes() {
        let mut data = SessionData::default();
        data.add_joined("r1");
        data.add_joined("r1");
        assert!(data.add_subscribed("r1"));
        assert!(!data.add_subscribed("r1"));
        assert_eq!(data.joined, vec!["r1"]);
        let back = SessionData::parse(&data.to_json());
        assert_eq!(back, data);
        assert!(data.remove_subscribed("r1"));
        assert!(!data.remove_subscribed("r1"));
        data.remove_joined("r1");
        assert!(!data.is_joined("r1"));
    }

    #[test]
    fn the_bucket_rides_beside_the_session_data() {
        let stored = Stored {
            data: SessionData {
                profile: true,
                ..SessionData::default()
            },
            bucket: Bucket {
                tokens: 3.5,
                at_ms: 42,
            },
        };
        let json = stored.to_json();
        assert_eq!(Stored::parse(&json), stored);
        assert_eq!(SessionData::parse(&json), stored.data);
        assert_eq!(Stored::parse("").bucket, Bucket::default());
        assert_eq!(Stored::parse(r#"{"profile":true}"#).data, stored.data);
    }
}
