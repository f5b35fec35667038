//! Which Rebuttal connections a user has open, so that every client's user list says who is
//! connected (`status`) and a live stream ends with the connection that started it, as upstream
//! shows them.
//!
//! The connection ids are kept with the rest of the user's Rebuttal state in its profile
//! (`rebuttal.connections`). Writing the profile makes the core announce the user list
//! (`DirectoryChanged`), so every client gets `updateUsers` when someone signs in or goes, as
//! upstream sends it after each login and each close.
//!
//! What this cannot see: a gateway killed outright runs no close hook, so its connections stay
//! listed (as its users stay in their voice rooms) until they roll off the bounded list. Two
//! profile writes of one user at the same instant (a sign-in on two devices at once) may lose
//! one change, as the interface has no compare-and-swap.

use channel_kit::{Backend, Principal};
use serde_json::{json, Map, Value};
use wcc_interface::Failure;

use crate::directory;

/// The profile field (inside `rebuttal`) listing the user's open connections.
pub const FIELD: &str = "connections";
/// The most connections remembered per user; the oldest is forgotten first, so ids a dead
/// gateway left behind cannot pile up.
pub const MAX_CONNECTIONS: usize = 16;

/// Whether a user's Rebuttal state (its profile's `rebuttal`) lists an open connection.
pub fn is_connected(voice: &Value) -> bool {
    voice
        .get(FIELD)
        .and_then(Value::as_array)
        .is_some_and(|open| !open.is_empty())
}

/// `connection` of `user` has logged in.
pub fn opened(backend: &impl Backend, user: &str, connection: &str) -> Result<(), Failure> {
    directory::set_voice_state(backend, &Principal::user(user), user, |voice| {
        let mut open = listed(voice);
        open.retain(|id| id != connection);
        open.push(connection.to_owned());
        let excess = open.len().saturating_sub(MAX_CONNECTIONS);
        open.drain(..excess);
        voice.insert(FIELD.into(), json!(open));
    })
}

/// `connection` of `user` is gone. A stream it started (`was_live`) ends with it, and so does
/// any stream once the user has no connection left.
pub fn closed(
    backend: &impl Backend,
    user: &str,
    connection: &str,
    was_live: bool,
) -> Result<(), Failure> {
    directory::set_voice_state(backend, &Principal::user(user), user, |voice| {
        let mut open = listed(voice);
        open.retain(|id| id != connection);
        if was_live || open.is_empty() {
            voice.insert("livestate".into(), json!(false));
            voice.insert("livelabel".into(), json!(""));
        }
        voice.insert(FIELD.into(), json!(open));
    })
}

fn listed(voice: &Map<String, Value>) -> Vec<String> {
    voice
        .get(FIELD)
        .and_then(Value::as_array)
        .map(|ids| {
            ids.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}
