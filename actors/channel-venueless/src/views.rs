//! The JSON shapes venueless clients read: users, rooms, and chat events, shared by replies
//! (`chat.send`, `chat.fetch`, `user.fetch`, ...) and pushes (`chat.event`).
//!
//! A chat event has upstream's fields: `event_id`, `channel`, `sender`, `timestamp`,
//! `event_type`, `content`, `edited`, `replaces`, `reactions`. The webapp reads every one of
//! them without checking: it merges messages by `timestamp`, hides events whose `replaces` is
//! set, and draws `reactions` with `Object.keys`, so an event without them breaks its view.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};
use wcc_interface::events::REMOVED_MESSAGE_TYPE;
use wcc_interface::ids::is_valid_id;
use wcc_interface::{Failure, Reactions, StoredMessage};

use crate::backend::{Backend, Room, User};
use crate::time::iso8601;

/// A message as a `chat.event`: how pushes, `chat.send` and `chat.fetch` show it.
///
/// wcc keeps no time of an edit, so `edited` is `null` here; only the push announcing an edit
/// ([`replacement_event`]) knows when it happened. A removed message (through any protocol) is
/// upstream's deletion, `{type: deleted}`, and names no sender: wcc forgets who wrote it.
pub fn message_event(message: &StoredMessage, reactions: &Reactions) -> Value {
    let removed = message.event_type == REMOVED_MESSAGE_TYPE;
    let (event_type, content) = if removed {
        ("channel.message", json!({ "type": "deleted" }))
    } else {
        (message.event_type.as_str(), content(&message.content))
    };
    json!({
        "event_id": message.event_id,
        "channel": message.room,
        "sender": sender(&message.sender),
        "timestamp": iso8601(message.sent_at),
        "event_type": event_type,
        "content": content,
        "edited": Value::Null,
        "replaces": Value::Null,
        "reactions": reactions,
    })
}

/// The push announcing that `message` was edited or removed at `at_ms`, as upstream announces
/// it: a new event whose `replaces` names the message and whose content is the message's new
/// content, which the webapp copies onto the message it shows and then hides.
///
/// wcc numbers messages only, so this event has no id of its own. It carries `position`, the
/// room's newest event id when it was rendered (never less than the message's own): the webapp
/// marks the room read up to the id of the last event it got, and an edit of an old message must
/// not move that back and make the open room look unread.
pub fn replacement_event(message: &StoredMessage, position: u64, at_ms: u64) -> Value {
    let mut event = message_event(message, &Reactions::new());
    event["event_id"] = json!(position.max(message.event_id));
    event["timestamp"] = json!(iso8601(at_ms));
    event["edited"] = json!(iso8601(at_ms));
    event["replaces"] = json!(message.event_id);
    event
}

/// A `channel.member` event: `user` (its view) joined, left or was banned at `at_ms`.
///
/// Membership changes take no event id in wcc (only messages are numbered), so unlike upstream
/// the event has no `event_id`: the webapp then keys it as unkeyed, which it tolerates, where a
/// borrowed id would collide with a message's.
pub fn member_event(room: &str, user: Value, membership: &str, at_ms: u64) -> Value {
    let id = user["id"].clone();
    json!({
        "channel": room,
        "sender": id,
        "timestamp": iso8601(at_ms),
        "event_type": "channel.member",
        "content": { "membership": membership, "user": user },
        "edited": Value::Null,
        "replaces": Value::Null,
        "reactions": {},
    })
}

/// `sender` as upstream writes it: `null` when there is none.
fn sender(sender: &str) -> Value {
    if sender.is_empty() {
        Value::Null
    } else {
        json!(sender)
    }
}

/// Content as a venueless client can show it. Messages sent through other protocols carry their
/// own content shapes; a bare text under a key those protocols use becomes `{type: text, body}`.
pub fn content(content: &Value) -> Value {
    match content {
        Value::Object(map) if map.contains_key("type") => content.clone(),
        Value::Object(map) => ["body", "text", "message"]
            .iter()
            .find_map(|key| map.get(*key).and_then(Value::as_str))
            .map(|body| json!({ "type": "text", "body": body }))
            .unwrap_or_else(|| content.clone()),
        Value::String(body) => json!({ "type": "text", "body": body }),
        other => other.clone(),
    }
}

/// `{id, profile}`; a user without a profile shows `{}` because clients read fields of it.
pub fn user_view(user: &User) -> Value {
    json!({ "id": user.id, "profile": profile_object(user).unwrap_or_default() })
}

/// A user who is gone (a deleted account, the guest of a closed actionhero socket) but is still
/// named by what they said: by id, without a profile, and `deleted`, which the webapp shows as
/// such.
pub fn gone_user_view(id: &str) -> Value {
    json!({ "id": id, "profile": {}, "deleted": true })
}

/// Whether the user has set a non-empty profile object (what joining requires).
pub fn has_profile(user: &User) -> bool {
    profile_object(user).is_some_and(|p| !p.is_empty())
}

fn profile_object(user: &User) -> Option<Map<String, Value>> {
    match serde_json::from_str(user.profile.as_deref()?) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// The `state` of a channel in join/subscribe replies.
pub fn room_view(room: &Room) -> Value {
    json!({ "id": room.id, "name": room.name, "kind": room.kind })
}

/// Most profiles put into one reply or push (`users` of a history page or of a reaction).
pub const MAX_USERS_SHOWN: usize = 100;

/// `users` of upstream's replies and pushes: id -> view for each of `ids` (invalid ids skipped),
/// a gone user by id alone, at most [`MAX_USERS_SHOWN`]. The webapp asks with `user.fetch` for
/// anyone left out.
pub fn users_map(backend: &impl Backend, ids: &[String]) -> Result<Map<String, Value>, Failure> {
    let wanted = shown_ids(ids);
    let found: BTreeMap<String, Value> = backend
        .get_users(&wanted)?
        .iter()
        .map(|user| (user.id.clone(), user_view(user)))
        .collect();
    Ok(wanted
        .into_iter()
        .map(|id| {
            let view = found
                .get(&id)
                .cloned()
                .unwrap_or_else(|| gone_user_view(&id));
            (id, view)
        })
        .collect())
}

/// The ids of `ids` whose profiles [`users_map`] shows: each once, at most [`MAX_USERS_SHOWN`],
/// the first ones kept. An id no user can have (empty, with a dot) names nobody; the core is not
/// asked for it.
pub fn shown_ids<'a>(ids: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    ids.into_iter()
        .filter(|id| is_valid_id(id) && seen.insert(id.as_str()))
        .take(MAX_USERS_SHOWN)
        .cloned()
        .collect()
}

/// Everyone who reacted in `reactions`, for [`users_map`].
pub fn reactors(reactions: &Reactions) -> impl Iterator<Item = &String> {
    reactions.values().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use channel_kit::core::CoreBackend;

    #[test]
    fn foreign_content_is_shown_as_text() {
        assert_eq!(
            content(&json!({"text": "hi"})),
            json!({"type": "text", "body": "hi"})
        );
        assert_eq!(content(&json!("hi")), json!({"type": "text", "body": "hi"}));
        assert_eq!(content(&json!({"x": 1})), json!({"x": 1}));
    }

    #[test]
    fn profiles_must_be_non_empty_objects() {
        let user = |p: Option<&str>| User {
            id: "u".into(),
            profile: p.map(str::to_owned),
        };
        assert!(has_profile(&user(Some(r#"{"display_name":"A"}"#))));
        assert!(!has_profile(&user(Some("{}"))));
        assert!(!has_profile(&user(Some("[1]"))));
        assert!(!has_profile(&user(None)));
        assert_eq!(user_view(&user(None)), json!({"id": "u", "profile": {}}));
    }

    #[test]
    fn users_are_looked_up_once_each_first_come_first_kept() {
        let backend = CoreBackend::new();
        backend.add_user("ann", Some(r#"{"display_name":"Ann"}"#));
        let asked: Vec<String> = ["ann", "", "gone", "ann", "a.b"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let users = users_map(&backend, &asked).unwrap();
        assert_eq!(
            Value::Object(users),
            json!({"ann": {"id": "ann", "profile": {"display_name": "Ann"}},
                   "gone": {"id": "gone", "profile": {}, "deleted": true}})
        );
        let many: Vec<String> = (0..150).map(|n| format!("u{n}")).collect();
        let users = users_map(&backend, &many).unwrap();
        assert_eq!(users.len(), MAX_USERS_SHOWN);
        assert!(users.contains_key("u0") && !users.contains_key("u149"));
    }
}
