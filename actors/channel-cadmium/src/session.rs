//! What Cadmium remembers about one connection, carried by the gateway in `session.data`:
//!
//! ```json
//! {"token": "3f2a...", "bucket": {"tokens": 4.0, "at_ms": 1700000000000}}
//! ```
//!
//! - `token`: the auth token this connection logged in with (or first presented); requests
//!   carrying it skip the token lookup,
//! - `bucket`: the rate limiter's state (untouched when limiting is configured off).
//!
//! The user lives in `Session::user`, which the gateway reads.

use channel_kit::ratelimit::Bucket;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionData {
    pub token: Option<String>,
    pub bucket: Bucket,
}

impl SessionData {
    /// Parses `data`; empty or unreadable (only we write it) is a fresh connection.
    pub fn parse(data: &str) -> Self {
        serde_json::from_str(data).unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
