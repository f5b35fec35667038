//! Room events -> `chat.event` pushes, and the JSON views of users, rooms and messages that
//! replies share with them.
//!
//! The gateway renders each room event once for all local venueless subscribers of the room, so
//! nothing here may depend on who receives it.

use serde_json::{json, Map, Value};
use wcc_interface::events::REMOVED_MESSAGE_TYPE;
use wcc_interface::{Envelope, Event, StoredMessage};

use crate::backend::{Backend, Room, User};
use crate::codec;

/// Renders one room event envelope (JSON text); `None` for events venueless does not show.
pub fn render(event: &str, backend: &impl Backend) -> Option<String> {
    let envelope = Envelope::parse(event.as_bytes())?;
    let payload = match envelope.event {
        Event::MessagePublished { message } => message_event(&message),
        Event::MessageUpdated { message } => edit_event(&message),
        Event::UserJoined { room, user, .. } => member_event(&room, &user, "join", backend),
        Event::UserLeft { room, user, .. } => member_event(&room, &user, "leave", backend),
        Event::UserLoggedIn { .. }
        | Event::UserLoggedOut { .. }
        | Event::GatewayAlive { .. }
        | Event::MessageDelivered { .. }
        | Event::DirectoryChanged { .. }
        | Event::Signal { .. } => return None,
    };
    Some(codec::push("chat.event", payload))
}

/// The payload of `chat.event` for a message, as pushes, `chat.send` and `chat.fetch` show it.
/// A removed message (through any protocol) shows as venueless shows a deletion.
pub fn message_event(message: &StoredMessage) -> Value {
    if message.event_type == REMOVED_MESSAGE_TYPE {
        return json!({
            "channel": message.room,
            "event_type": "channel.message",
            "content": { "type": "deleted" },
            "sender": message.sender,
            "event_id": message.event_id,
        });
    }
    json!({
        "channel": message.room,
        "event_type": message.event_type,
        "content": content(&message.content),
        "sender": message.sender,
        "event_id": message.event_id,
    })
}

/// An edit or deletion of message `event_id` as upstream pushes it: the message as it now is,
/// with `replaces` naming it. (wcc keeps the message's own event id; it takes no new one.)
pub fn edit_event(message: &StoredMessage) -> Value {
    let mut event = message_event(message);
    event["replaces"] = json!(message.event_id);
    event
}

/// A `channel.member` event. Membership events are not numbered in wcc (only messages are), so
/// unlike upstream they carry no `event_id`.
fn member_event(room: &str, user: &str, membership: &str, backend: &impl Backend) -> Value {
    // A lookup failure must not lose the event: the user is shown without a profile instead.
    let view = match backend.get_user(user) {
        Ok(Some(found)) => user_view(&found),
        _ => json!({ "id": user, "profile": {} }),
    };
    json!({
        "channel": room,
        "event_type": "channel.member",
        "content": { "membership": membership, "user": view },
        "sender": user,
    })
}

/// Content as a venueless client can show it. Messages sent through other protocols carry their
/// own content shapes; a bare text under a key those protocols use becomes `{type: text, body}`.
fn content(content: &Value) -> Value {
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

/// The `state` of a channel in join/subscribe replies and the channel list of `authenticated`.
pub fn room_view(room: &Room) -> Value {
    json!({ "id": room.id, "name": room.name, "kind": room.kind })
}

#[cfg(test)]
mod tests {
    use super::*;
    use channel_kit::core::CoreBackend;
    use serde_json::from_str;

    fn env(event: Event) -> String {
        Envelope::new(event, 1).to_json()
    }

    fn stored(content: Value) -> StoredMessage {
        StoredMessage {
            id: "m1".into(),
            room: "room_0".into(),
            event_id: 4,
            sender: "u1".into(),
            channel: "venueless".into(),
            event_type: "channel.message".into(),
            content,
            sent_at: 9,
        }
    }

    #[test]
    fn message_published_becomes_chat_event() {
        let backend = CoreBackend::new();
        let text = json!({"type": "text", "body": "Hello world"});
        let out = render(
            &env(Event::MessagePublished {
                message: stored(text.clone()),
            }),
            &backend,
        );
        let frame: Value = from_str(&out.unwrap()).unwrap();
        assert_eq!(
            frame,
            json!(["chat.event", {"channel": "room_0", "event_type": "channel.message",
                "content": text, "sender": "u1", "event_id": 4}])
        );
    }

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
    fn joins_and_leaves_become_member_events_with_profile() {
        let backend = CoreBackend::new();
        backend.add_user("u1", Some(r#"{"display_name":"Ann"}"#));
        for (event, membership) in [
            (
                Event::UserJoined {
                    room: "r".into(),
                    user: "u1".into(),
                    channel: "x".into(),
                },
                "join",
            ),
            (
                Event::UserLeft {
                    room: "r".into(),
                    user: "u1".into(),
                    channel: "x".into(),
                },
                "leave",
            ),
        ] {
            let frame: Value = from_str(&render(&env(event), &backend).unwrap()).unwrap();
            assert_eq!(
                frame,
                json!(["chat.event", {"channel": "r", "event_type": "channel.member", "sender": "u1",
                    "content": {"membership": membership,
                        "user": {"id": "u1", "profile": {"display_name": "Ann"}}}}])
            );
        }
    }

    #[test]
    fn member_event_survives_unknown_user() {
        let backend = CoreBackend::new();
        let out = render(
            &env(Event::UserJoined {
                room: "r".into(),
                user: "ghost".into(),
                channel: "x".into(),
            }),
            &backend,
        );
        let frame: Value = from_str(&out.unwrap()).unwrap();
        assert_eq!(
            frame[1]["content"]["user"],
            json!({"id": "ghost", "profile": {}})
        );
    }

    #[test]
    fn other_events_and_garbage_render_nothing() {
        let backend = CoreBackend::new();
        let login = Event::UserLoggedIn {
            user: "u".into(),
            channel: "c".into(),
            connection: "k".into(),
            gateway: "g".into(),
        };
        let delivered = Event::MessageDelivered {
            room: "r".into(),
            event_id: 1,
            channel: "c".into(),
            recipients: 2,
        };
        assert_eq!(render(&env(login), &backend), None);
        assert_eq!(render(&env(delivered), &backend), None);
        assert_eq!(render("not json", &backend), None);
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
    fn edits_and_removals_from_any_protocol_carry_replaces() {
        let backend = CoreBackend::new();
        let edited = stored(json!({"type": "text", "body": "fixed typo"}));
        let out = render(&env(Event::MessageUpdated { message: edited }), &backend).unwrap();
        let out: Value = from_str(&out).unwrap();
        assert_eq!(out[1]["replaces"], 4, "{out}");
        assert_eq!(out[1]["content"]["body"], "fixed typo");

        let mut removed = stored(json!({}));
        removed.event_type = REMOVED_MESSAGE_TYPE.into();
        removed.sender.clear();
        let out = render(&env(Event::MessageUpdated { message: removed }), &backend).unwrap();
        let out: Value = from_str(&out).unwrap();
        assert_eq!(
            (out[1]["event_type"].clone(), out[1]["content"].clone()),
            (json!("channel.message"), json!({"type": "deleted"}))
        );
    }
}
