//! What the webapp's store needs from `authenticated` before it shows anything: the world
//! (`world.config`), the user's channels with where each one's messages end, the user's read
//! pointers, and the unread counts.
//!
//! A venueless world is a set of rooms, each with modules; wcc's rooms are shown as rooms with
//! one `chat.native` module whose channel is the room itself. Shown are the `text` rooms and the
//! `private` rooms the user may read (the core says which: [`Backend::read_state`] leaves out the
//! rest). Direct rooms are inboxes, not rooms, and `voice` rooms are Rebuttal's calls, where
//! being a member means being in the call.
//!
//! Unread counts are what the webapp calls notification counts. Upstream counts mentions and
//! direct messages there; wcc has no mentions, and the count of unread messages is what it can
//! offer instead, so a joined room shows how many messages came since the user last read it.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use wcc_interface::{Failure, ReadState};

use crate::backend::{Backend, Principal, Room};

/// Most rooms one world lists, and most channels one user's list holds: bounds on
/// `authenticated` for a server with very many rooms. Together they stay within what one
/// [`Backend::read_state`] answers (1,000 rooms).
pub const MAX_WORLD_ROOMS: usize = 500;
pub const MAX_JOINED_CHANNELS: usize = 500;
/// The setting naming the world (the page title of the webapp).
pub const WORLD_TITLE_KEY: &str = "world_title";
pub const DEFAULT_WORLD_TITLE: &str = "wcc";

/// The permissions every shown room grants in the webapp's vocabulary. They only decide which
/// buttons the webapp draws; what a user may really do in a room the core decides on every call.
const ROOM_PERMISSIONS: [&str; 4] = [
    "room:view",
    "room:chat.read",
    "room:chat.join",
    "room:chat.send",
];
/// The wcc permission that lets a user remove others' messages, and its venueless name.
const CHANGE_MESSAGE: &str = "changeMessage";
const ROOM_MODERATE: &str = "room:chat.moderate";

/// Whether the webapp shows `room` as a chat room.
pub fn is_shown(room: &Room) -> bool {
    matches!(room.kind.as_str(), "text" | "private")
}

/// Where the user stands in some rooms: room id -> read pointer and unread count.
pub type Standing = BTreeMap<String, ReadState>;

/// The read state of `rooms` for `user`, by room; rooms the user may not read are missing.
pub fn standing(backend: &impl Backend, user: &str, rooms: &[String]) -> Result<Standing, Failure> {
    if rooms.is_empty() {
        return Ok(Standing::new());
    }
    Ok(backend
        .read_state(&Principal::user(user), rooms)?
        .into_iter()
        .map(|state| (state.room.clone(), state))
        .collect())
}

/// The rooms of `user` the webapp shows (its joined channels).
pub fn joined_rooms(backend: &impl Backend, user: &str) -> Result<Vec<Room>, Failure> {
    Ok(shown_of(backend.query_rooms(user)?))
}

/// Those of a user's `rooms` the webapp shows, at most [`MAX_JOINED_CHANNELS`].
pub fn shown_of(rooms: Vec<Room>) -> Vec<Room> {
    rooms
        .into_iter()
        .filter(is_shown)
        .take(MAX_JOINED_CHANNELS)
        .collect()
}

/// `world.config`: `{world, permissions, rooms}` with the shown rooms of `all` that the user may
/// read (those in `standing`), in the order the core lists them.
pub fn world_config(
    backend: &impl Backend,
    all: &[Room],
    standing: &Standing,
    moderator: bool,
) -> Value {
    let title = backend
        .setting(WORLD_TITLE_KEY)
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_WORLD_TITLE.to_owned());
    let mut permissions: Vec<&str> = ROOM_PERMISSIONS.to_vec();
    if moderator {
        permissions.push(ROOM_MODERATE);
    }
    let rooms: Vec<Value> = all
        .iter()
        .filter(|room| is_shown(room) && standing.contains_key(&room.id))
        .take(MAX_WORLD_ROOMS)
        .map(|room| room_config(room, &permissions))
        .collect();
    json!({
        "world": {
            "id": "wcc",
            "title": title,
            // The webapp reads these without checking; empty means "none configured".
            "pretalx": {},
            "profile_fields": [],
            "social_logins": [],
            "iframe_blockers": { "default": { "enabled": false, "policy_url": null } },
            "onsite_traits": [],
        },
        "permissions": ["world:view"],
        "rooms": rooms,
    })
}

/// One room as upstream's room config: the room, and one chat module whose channel is the room.
fn room_config(room: &Room, permissions: &[&str]) -> Value {
    json!({
        "id": room.id,
        "name": room.name,
        "description": "",
        "picture": null,
        "import_id": null,
        "pretalx_id": null,
        "permissions": permissions,
        "force_join": false,
        "modules": [{
            "type": "chat.native",
            "channel_id": room.id,
            "config": { "volatile": false },
        }],
        "schedule_data": null,
    })
}

/// `chat.channels`: each joined room with `unread_pointer`, the id of its newest event (the
/// webapp shows a room as unread while that is past the user's read pointer).
pub fn channel_list(joined: &[Room], standing: &Standing) -> Value {
    let channels: Vec<Value> = joined
        .iter()
        .map(|room| {
            let newest = standing
                .get(&room.id)
                .map_or(0, |state| state.pointer + state.unread);
            json!({ "id": room.id, "unread_pointer": newest })
        })
        .collect();
    json!(channels)
}

/// `chat.read_pointers`: room -> the last event id the user read, for rooms read at all.
pub fn read_pointers(standing: &Standing) -> Value {
    let pointers: Map<String, Value> = standing
        .values()
        .filter(|state| state.pointer > 0)
        .map(|state| (state.room.clone(), json!(state.pointer)))
        .collect();
    Value::Object(pointers)
}

/// `chat.notification_counts`: joined room -> unread messages, for rooms with any.
pub fn notification_counts(joined: &[Room], standing: &Standing) -> Value {
    let counts: Map<String, Value> = joined
        .iter()
        .filter_map(|room| standing.get(&room.id))
        .filter(|state| state.unread > 0)
        .map(|state| (state.room.clone(), json!(state.unread)))
        .collect();
    Value::Object(counts)
}

/// Whether `user` may remove others' messages (the core's `changeMessage`), which the webapp
/// calls moderating a room. A failed lookup shows no moderation buttons; the core still decides.
pub fn is_moderator(backend: &impl Backend, user: &str) -> bool {
    backend
        .permissions(user)
        .is_ok_and(|held| held.iter().any(|p| p == CHANGE_MESSAGE))
}

/// The current unread counts of `user`'s joined rooms, as pushed after a read pointer moved.
pub fn current_notification_counts(backend: &impl Backend, user: &str) -> Result<Value, Failure> {
    let joined = joined_rooms(backend, user)?;
    let ids: Vec<String> = joined.iter().map(|room| room.id.clone()).collect();
    Ok(notification_counts(
        &joined,
        &standing(backend, user, &ids)?,
    ))
}

/// The current `chat.channels` of `user`.
pub fn current_channel_list(backend: &impl Backend, user: &str) -> Result<Value, Failure> {
    channels_of(backend, user, &joined_rooms(backend, user)?)
}

/// `chat.channels` for `joined`, the shown rooms `user` is a member of.
pub fn channels_of(backend: &impl Backend, user: &str, joined: &[Room]) -> Result<Value, Failure> {
    let ids: Vec<String> = joined.iter().map(|room| room.id.clone()).collect();
    Ok(channel_list(joined, &standing(backend, user, &ids)?))
}
