//! How the upstream webapp takes messages, beyond the seed: `chat.react`, `chat.mark_read`,
//! reactions in history, and the `unread_pointer` of join and subscribe replies.

use wcc_interface::notes::Recipient;
use wcc_interface::{Event, Note};

use super::*;
use crate::codes;

#[test]
fn mark_read_moves_the_pointer_and_every_session_hears_it() {
    let (backend, session) = joined();
    post(&backend, "room_0", "alice", "one");
    post(&backend, "room_0", "alice", "two");
    let (_, actions) = send(
        &backend,
        &session,
        json!(["chat.mark_read", 5, {"channel": "room_0", "id": 1}]),
    );
    assert_eq!(only(&actions), json!(["success", 5, {}]));
    let read = Note::ReadPointer {
        room: "room_0".into(),
        event_id: 1,
    };
    assert_eq!(
        backend.notes(),
        [(Recipient::User("alice".into()), read.clone())]
    );
    // Another session of alice (or this one) shows the pointer and the counts that follow.
    let (_, pushed) = note(&backend, &fresh_user(&session), &read);
    assert_eq!(
        pushed,
        [
            json!(["chat.read_pointers", {"room_0": 1}]),
            json!(["chat.notification_counts", {"room_0": 1}]),
        ]
    );
    // Marking an older event read again is answered and moves nothing.
    let (_, actions) = send(
        &backend,
        &session,
        json!(["chat.mark_read", 6, {"channel": "room_0", "id": 1}]),
    );
    assert_eq!(only(&actions), json!(["success", 6, {}]));
    assert_eq!(
        read_pointer_notes(&backend),
        1,
        "nobody is told of no change"
    );
}

fn read_pointer_notes(backend: &CoreBackend) -> usize {
    backend
        .notes()
        .iter()
        .filter(|(_, note)| matches!(note, Note::ReadPointer { .. }))
        .count()
}

#[test]
fn mark_read_needs_an_event_id_and_a_room_the_user_may_read() {
    let (backend, session) = joined();
    backend.add_room("secret", "private");
    for (payload, code) in [
        (json!({"channel": "room_0"}), codes::CHAT_INVALID_BODY),
        (
            json!({"channel": "room_0", "id": 0}),
            codes::CHAT_INVALID_BODY,
        ),
        (
            json!({"channel": "room_0", "id": "x"}),
            codes::CHAT_INVALID_BODY,
        ),
        (json!({"channel": "secret", "id": 1}), codes::CHAT_DENIED),
        (
            json!({"channel": "no.room", "id": 1}),
            codes::CHANNEL_UNKNOWN,
        ),
    ] {
        let (_, actions) = send(&backend, &session, json!(["chat.mark_read", 1, payload]));
        assert_eq!(error_code(&actions), code, "{payload}");
    }
    assert_eq!(read_pointer_notes(&backend), 0);
}

#[test]
fn chat_react_adds_and_withdraws_and_answers_the_tally() {
    let (backend, session) = joined();
    let event_id = post(&backend, "room_0", "alice", "react to me");
    let react = |delete: bool| {
        json!(["chat.react", 3, {"channel": "room_0", "event": event_id, "reaction": "👍",
            "delete": delete}])
    };
    let (_, actions) = send(&backend, &session, react(false));
    assert_eq!(
        only(&actions),
        json!(["success", 3, {"channel": "room_0", "event_id": 1, "reactions": {"👍": ["alice"]}}])
    );
    let changed: Vec<_> = backend
        .events()
        .into_iter()
        .filter_map(|(_, event)| match event {
            Event::ReactionsChanged { reactions, .. } => Some(reactions),
            _ => None,
        })
        .collect();
    assert_eq!(changed.len(), 1, "the room hears it");
    let (_, actions) = send(&backend, &session, react(true));
    assert_eq!(only(&actions)[2]["reactions"], json!({}));
}

#[test]
fn chat_react_is_refused_as_upstream_refuses_it() {
    let (backend, session) = joined();
    backend.add_user("bob", None);
    backend.add_member("room_1", "bob");
    let in_room_1 = post(&backend, "room_1", "bob", "not yours to react to");
    post(&backend, "room_0", "alice", "here");
    let cases = [
        // Watching a room is not taking part in it.
        (
            json!({"channel": "room_1", "event": in_room_1, "reaction": "👍"}),
            codes::CHAT_DENIED,
        ),
        (
            json!({"channel": "room_0", "event": 99, "reaction": "👍"}),
            codes::CHAT_INVALID,
        ),
        (
            json!({"channel": "room_0", "event": 1, "reaction": ""}),
            codes::CHAT_INVALID,
        ),
        (
            json!({"channel": "room_0", "event": 1}),
            codes::PROTOCOL_MALFORMED,
        ),
        (
            json!({"channel": "room_0", "event": "1", "reaction": "👍"}),
            codes::PROTOCOL_MALFORMED,
        ),
        (
            json!({"channel": "room_0", "event": 1, "reaction": "👍", "delete": "yes"}),
            codes::PROTOCOL_MALFORMED,
        ),
    ];
    for (payload, code) in cases {
        let (_, actions) = send(&backend, &session, json!(["chat.react", 1, payload]));
        assert_eq!(error_code(&actions), code, "{payload}");
    }
    let reacted = backend
        .events()
        .into_iter()
        .any(|(_, event)| matches!(event, Event::ReactionsChanged { .. }));
    assert!(!reacted);
}

#[test]
fn history_carries_reactions_and_who_reacted() {
    let (backend, session) = joined();
    backend.add_user("carol", Some(r#"{"display_name":"Carol"}"#));
    backend.add_member("room_0", "carol");
    post(&backend, "room_0", "alice", "one");
    post(&backend, "room_0", "alice", "two");
    backend
        .react(&Principal::user("carol"), "room_0", 2, "🎉", true)
        .unwrap();
    let (_, actions) = send(
        &backend,
        &session,
        json!(["chat.fetch", 2, {"channel": "room_0", "count": 25, "before_id": 3}]),
    );
    let page = &only(&actions)[2];
    assert_eq!(page["results"][0]["reactions"], json!({}));
    assert_eq!(page["results"][1]["reactions"], json!({"🎉": ["carol"]}));
    assert_eq!(
        page["results"][1]["timestamp"],
        "2023-11-14T22:13:20.000+00:00"
    );
    assert_eq!(
        page["users"]["carol"],
        json!({"id": "carol", "profile": {"display_name": "Carol"}}),
        "the webapp names who reacted from these"
    );
}

#[test]
fn subscribe_and_join_answer_the_unread_pointer() {
    let (backend, session) = joined();
    let (_, actions) = send(
        &backend,
        &session,
        json!(["chat.subscribe", 3, {"channel": "room_0"}]),
    );
    assert_eq!(only(&actions)[2]["unread_pointer"], 0);
    backend.add_user("bob", None);
    backend.add_member("room_1", "bob");
    post(&backend, "room_1", "bob", "one");
    post(&backend, "room_1", "bob", "two");
    let (_, actions) = send(
        &backend,
        &session,
        json!(["chat.join", 4, {"channel": "room_1"}]),
    );
    let reply = &only(&actions)[2];
    assert_eq!(
        (&reply["next_event_id"], &reply["unread_pointer"]),
        (&json!(3), &json!(2))
    );
}
