//! chat.join / leave / subscribe / unsubscribe / send / fetch.

use super::*;
use crate::codes;

#[test]
fn join_subscribes_and_answers_state() {
    let (backend, session) = setup(true);
    backend.add_user("bob", None);
    backend.add_member("room_0", "bob");
    let (session, actions) = send(
        &backend,
        &session,
        json!(["chat.join", 1234, {"channel": "room_0"}]),
    );
    assert!(
        matches!(actions[0], Action::Subscribe(_)),
        "subscribe comes before the reply"
    );
    assert_eq!(subscribed(&backend, &session, &actions), ["room_0"]);
    // The core lists members by id.
    assert_eq!(
        only(&actions),
        json!(["success", 1234, {
            "state": {"id": "room_0", "name": "Room room_0", "kind": "text"},
            "members": [{"id": "alice", "profile": {"display_name": "Alice"}}, {"id": "bob", "profile": {}}],
            "next_event_id": 1,
            "unread_pointer": 0,
        }])
    );
    assert!(backend.is_member("room_0", "alice"));
    let data = data(&session);
    assert!(data.is_joined("room_0") && data.is_subscribed("room_0"));
}

#[test]
fn joining_twice_does_not_subscribe_twice() {
    let (backend, session) = joined();
    let (_, actions) = send(
        &backend,
        &session,
        json!(["chat.join", 2, {"channel": "room_0"}]),
    );
    assert_eq!(actions.len(), 1);
    assert_eq!(only(&actions)[0], "success");
}

#[test]
fn join_without_profile_is_refused() {
    let (backend, session) = setup(false);
    let (session, actions) = send(
        &backend,
        &session,
        json!(["chat.join", 1, {"channel": "room_0"}]),
    );
    assert_eq!(error_code(&actions), codes::CHANNEL_JOIN_MISSING_PROFILE);
    assert!(!backend.is_member("room_0", "alice"));
    assert!(data(&session).joined.iter().all(|r| r != "room_0"));
}

#[test]
fn join_sees_a_profile_set_elsewhere() {
    let (backend, session) = setup(false);
    with_profile(&backend, "alice", r#"{"display_name":"A"}"#);
    let (session, actions) = send(
        &backend,
        &session,
        json!(["chat.join", 1, {"channel": "room_0"}]),
    );
    assert_eq!(only(&actions)[0], "success");
    assert!(data(&session).profile);
}

#[test]
fn unknown_channels() {
    let (backend, session) = setup(true);
    for frame in [
        json!(["chat.join", 1, {"channel": "nope"}]),
        json!(["chat.join", 1, {"channel": "a.b"}]),
        json!(["chat.subscribe", 1, {"channel": "nope"}]),
        json!(["chat.fetch", 1, {"channel": "nope"}]),
        json!(["chat.leave", 1, {"channel": "nope"}]),
        json!(["chat.leave", 1, {"channel": "*"}]),
        hello("wild>card"),
    ] {
        let (_, actions) = send(&backend, &session, frame.clone());
        assert_eq!(error_code(&actions), codes::CHANNEL_UNKNOWN, "{frame}");
    }
}

/// Another user's direct room is theirs alone: the core refuses a stranger every way in (the
/// channel no longer checks this itself), and nothing is subscribed.
#[test]
fn others_direct_rooms_are_private() {
    let (backend, session) = setup(true);
    send(
        &backend,
        &fresh(),
        json!(["authenticate", {"client_id": "bob"}]),
    );
    backend.login(crate::CHANNEL, "carol").unwrap();
    let dm = hello("bob");
    let dm = crate::backend::NewMessage {
        origin: None,
        room: "bob".into(),
        sender: "carol".into(),
        channel: "test".into(),
        event_type: "channel.message".into(),
        content: dm[2]["content"].to_string(),
    };
    backend.process_message(dm).unwrap();
    let edit = |content: Value| {
        json!(["chat.send", 1, {"channel": "bob", "event_type": "channel.message",
            "content": content, "replaces": 1}])
    };
    for frame in [
        json!(["chat.join", 1, {"channel": "bob"}]),
        json!(["chat.subscribe", 1, {"channel": "bob"}]),
        json!(["chat.fetch", 1, {"channel": "bob"}]),
        edit(json!({"type": "text", "body": "changed"})),
        edit(json!({"type": "deleted"})),
    ] {
        let (after, actions) = send(&backend, &session, frame.clone());
        assert_eq!(error_code(&actions), codes::CHAT_DENIED, "{frame}");
        assert!(
            actions.iter().all(|a| matches!(a, Action::Send(_))),
            "{frame}: {actions:?}"
        );
        assert!(!data(&after).is_subscribed("bob") && !data(&after).is_joined("bob"));
    }
    assert!(!backend.is_member("bob", "alice"));
    assert_eq!(backend.messages("bob")[0].content["body"], "Hello world");
    let (_, actions) = send(
        &backend,
        &session,
        json!(["chat.subscribe", 1, {"channel": "alice"}]),
    );
    assert_eq!(only(&actions)[0], "success");
}

#[test]
fn leave_keeps_the_subscription() {
    let (backend, session) = joined();
    let (session, actions) = send(
        &backend,
        &session,
        json!(["chat.leave", 3, {"channel": "room_0"}]),
    );
    assert_eq!(actions, vec![Action::Send(r#"["success",3,{}]"#.into())]);
    assert!(!backend.is_member("room_0", "alice"));
    let data = data(&session);
    assert!(!data.is_joined("room_0") && data.is_subscribed("room_0"));
    assert_eq!(
        backend.log(),
        [
            "join alice alice",
            "join room_0 alice",
            "leave room_0 alice"
        ]
    );
}

#[test]
fn subscribe_answers_state_without_joining() {
    let (backend, session) = setup(true);
    let (session, actions) = send(
        &backend,
        &session,
        json!(["chat.subscribe", 7, {"channel": "room_1"}]),
    );
    assert_eq!(subscribed(&backend, &session, &actions), ["room_1"]);
    assert!(matches!(actions[0], Action::Subscribe(_)));
    let frame = only(&actions);
    assert_eq!(frame[1], 7);
    assert_eq!(frame[2]["state"]["id"], "room_1");
    assert_eq!(frame[2]["members"], json!([]));
    assert_eq!(frame[2]["next_event_id"], 1);
    assert!(!backend.is_member("room_1", "alice"));
    assert!(!data(&session).is_joined("room_1"));
}

#[test]
fn subscribe_learns_membership_from_elsewhere() {
    let (backend, session) = setup(true);
    backend.add_member("room_1", "alice");
    let (session, _) = send(
        &backend,
        &session,
        json!(["chat.subscribe", 7, {"channel": "room_1"}]),
    );
    assert!(data(&session).is_joined("room_1"));
}

#[test]
fn unsubscribe_implies_leave() {
    let (backend, session) = joined();
    let (session, actions) = send(
        &backend,
        &session,
        json!(["chat.unsubscribe", 8, {"channel": "room_0"}]),
    );
    assert_eq!(actions[0], Action::Unsubscribe("room_0".into()));
    // The webapp unsubscribes when it shows another room: it hears that it left.
    assert_eq!(
        frames(&actions),
        [
            json!(["chat.channels", {"channels": []}]),
            json!(["success", 8, {}])
        ]
    );
    assert!(!backend.is_member("room_0", "alice"));
    // What stays is alice's own direct room: joined, and subscribed since authenticate.
    assert_eq!(
        data(&session),
        SessionData {
            profile: true,
            subscribed: vec!["alice".into()],
            ..Default::default()
        }
        .with_joined(&["alice"])
    );
}

/// With `unsubscribe_leaves: false` the webapp's room switching keeps the user in the room, and
/// the connection keeps hearing it (its unread marker); a room only watched is let go.
#[test]
fn unsubscribe_keeps_the_membership_where_the_setting_says_so() {
    let (backend, session) = joined();
    backend.set_setting(crate::chat::UNSUBSCRIBE_LEAVES_KEY, "false");
    let (after, actions) = send(
        &backend,
        &session,
        json!(["chat.unsubscribe", 8, {"channel": "room_0"}]),
    );
    assert_eq!(actions, [Action::Send(r#"["success",8,{}]"#.into())]);
    assert!(backend.is_member("room_0", "alice"));
    assert_eq!(data(&after), data(&session));
    let (session, _) = send(
        &backend,
        &after,
        json!(["chat.subscribe", 9, {"channel": "room_1"}]),
    );
    let (after, actions) = send(
        &backend,
        &session,
        json!(["chat.unsubscribe", 10, {"channel": "room_1"}]),
    );
    assert_eq!(actions[0], Action::Unsubscribe("room_1".into()));
    assert!(!data(&after).is_subscribed("room_1"));
}

#[test]
fn unsubscribe_of_a_watched_room_only_unsubscribes() {
    let (backend, session) = setup(true);
    let (session, _) = send(
        &backend,
        &session,
        json!(["chat.subscribe", 1, {"channel": "room_1"}]),
    );
    let log = backend.log();
    let (_, actions) = send(
        &backend,
        &session,
        json!(["chat.unsubscribe", 2, {"channel": "room_1"}]),
    );
    assert_eq!(actions[0], Action::Unsubscribe("room_1".into()));
    assert_eq!(backend.log(), log, "no leave");
    let (_, actions) = send(
        &backend,
        &fresh_user(&session),
        json!(["chat.unsubscribe", 3, {"channel": "room_1"}]),
    );
    assert_eq!(actions.len(), 1, "nothing to unsubscribe: only the reply");
}
