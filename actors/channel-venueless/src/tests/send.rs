//! chat.send and chat.fetch.

use wcc_interface::FailureCode;

use super::*;
use crate::backend::Backend;
use crate::codes;

#[test]
fn send_stores_and_answers_the_event() {
    let (backend, session) = joined();
    let (_, actions) = send(&backend, &session, hello("room_0"));
    let event = json!({"channel": "room_0", "event_type": "channel.message",
        "content": {"type": "text", "body": "Hello world"}, "sender": "alice", "event_id": 1,
        "timestamp": "2023-11-14T22:13:20.000+00:00", "edited": null, "replaces": null,
        "reactions": {}});
    assert_eq!(only(&actions), json!(["success", 9, {"event": event}]));
    assert_eq!(backend.messages("room_0")[0].channel, "venueless");
}

#[test]
fn direct_messages_need_no_join_but_respect_bans() {
    let (backend, session) = joined();
    backend.login("cadmium", "bob").unwrap();
    let (_, actions) = send(&backend, &session, hello("bob"));
    assert_eq!(only(&actions)[0], "success");
    assert_eq!(backend.messages("bob")[0].sender, "alice");

    backend.ban("bob", "alice").unwrap();
    let (_, actions) = send(&backend, &session, hello("bob"));
    assert_eq!(error_code(&actions), codes::CHAT_DENIED);
    assert_eq!(backend.messages("bob").len(), 1);
}

#[test]
fn send_validation_codes() {
    let (backend, session) = joined();
    let cases = [
        (
            json!({"event_type": "channel.member", "content": {"type": "text", "body": "x"}}),
            codes::CHAT_UNSUPPORTED_EVENT_TYPE,
        ),
        (
            json!({"content": {"type": "text", "body": "x"}}),
            codes::CHAT_UNSUPPORTED_EVENT_TYPE,
        ),
        (
            json!({"event_type": "channel.message", "content": {"type": "deleted"}}),
            codes::CHAT_UNSUPPORTED_CONTENT_TYPE,
        ),
        (
            json!({"event_type": "channel.message", "content": "x"}),
            codes::CHAT_UNSUPPORTED_CONTENT_TYPE,
        ),
        (
            json!({"event_type": "channel.message", "content": {"type": "text", "body": ""}}),
            codes::CHAT_EMPTY,
        ),
        (
            json!({"event_type": "channel.message", "content": {"type": "text", "body": "  "}}),
            codes::CHAT_EMPTY,
        ),
        (
            json!({"event_type": "channel.message", "content": {"type": "text", "body": 5}}),
            codes::CHAT_EMPTY,
        ),
        (
            json!({"event_type": "channel.message", "content": {"type": "text"}}),
            codes::CHAT_EMPTY,
        ),
        (
            json!({"event_type": "channel.message", "content": {"type": "text", "body": over_the_limit(&backend)}}),
            codes::CHAT_INVALID,
        ),
    ];
    for (mut payload, code) in cases {
        payload["channel"] = json!("room_0");
        let (_, actions) = send(&backend, &session, json!(["chat.send", 1, payload]));
        assert_eq!(error_code(&actions), code, "{payload}");
    }
    assert!(backend.messages("room_0").is_empty());
}

/// A body that makes the content one byte longer than the messages actor accepts.
fn over_the_limit(backend: &CoreBackend) -> String {
    let wrapper = json!({"type": "text", "body": ""}).to_string().len();
    "x".repeat(backend.limits().max_message_bytes - wrapper + 1)
}

#[test]
fn the_size_limit_is_the_messages_actors() {
    let (backend, session) = joined();
    let longest = over_the_limit(&backend)[1..].to_owned();
    let send_body = |body: &str| {
        let frame = json!(["chat.send", 1, {"channel": "room_0", "event_type": "channel.message",
            "content": {"type": "text", "body": body}}]);
        send(&backend, &session, frame).1
    };
    assert_eq!(only(&send_body(&longest))[0], "success");
    assert_eq!(
        error_code(&send_body(&over_the_limit(&backend))),
        codes::CHAT_INVALID
    );
    assert_eq!(backend.messages("room_0").len(), 1);
}

/// The channel no longer checks membership itself: the core answers `not_member`, which is
/// venueless's `chat.denied` as before.
#[test]
fn send_without_join_is_denied() {
    let (backend, session) = setup(true);
    let (_, actions) = send(&backend, &session, hello("room_1"));
    assert_eq!(error_code(&actions), codes::CHAT_DENIED);
    assert!(backend.messages("room_1").is_empty());
}

#[test]
fn send_after_leaving_elsewhere_is_denied_by_the_core() {
    let (backend, session) = joined();
    backend.remove_member("room_0", "alice");
    let (session, actions) = send(&backend, &session, hello("room_0"));
    assert_eq!(error_code(&actions), codes::CHAT_DENIED);
    assert!(
        !data(&session).is_joined("room_0"),
        "the stale membership is forgotten"
    );
}

#[test]
fn send_core_failures() {
    for (code, expected) in [
        (FailureCode::UnknownRoom, codes::CHANNEL_UNKNOWN),
        (FailureCode::Invalid, codes::CHAT_INVALID),
        (FailureCode::Unavailable, codes::SERVER_UNAVAILABLE),
        (FailureCode::Denied, codes::CHAT_DENIED),
    ] {
        let (backend, session) = joined();
        backend.fail("process_message", code);
        let (_, actions) = send(&backend, &session, hello("room_0"));
        assert_eq!(error_code(&actions), expected, "{code:?}");
    }
}

#[test]
fn fetch_pages_oldest_first_with_users() {
    let (backend, session) = joined();
    for _ in 0..3 {
        send(&backend, &session, hello("room_0"));
    }
    let (_, actions) = send(
        &backend,
        &session,
        json!(["chat.fetch", 4, {"channel": "room_0", "count": 2, "before_id": 3}]),
    );
    let frame = only(&actions);
    let ids: Vec<u64> = frame[2]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![1, 2]);
    assert_eq!(frame[2]["results"][0]["channel"], "room_0");
    assert_eq!(
        frame[2]["users"],
        json!({"alice": {"id": "alice", "profile": {"display_name": "Alice"}}})
    );
    let (_, actions) = send(
        &backend,
        &session,
        json!(["chat.fetch", 5, {"channel": "room_1"}]),
    );
    assert_eq!(
        only(&actions),
        json!(["success", 5, {"results": [], "users": {}}])
    );
}

#[test]
fn fetch_names_senders_who_are_gone_by_id() {
    let (backend, session) = joined();
    send(&backend, &session, hello("room_0"));
    let guest = backend.guest("gw-3").unwrap().id;
    let me = channel_kit::Principal::user(&guest);
    backend
        .join(&me, "room_0", &guest, "actionhero", None)
        .unwrap();
    backend
        .process_message(channel_kit::NewMessage {
            origin: None,
            room: "room_0".into(),
            sender: guest.clone(),
            channel: "actionhero".into(),
            event_type: "channel.message".into(),
            content: json!({"type": "text", "body": "bye"}).to_string(),
        })
        .unwrap();
    backend.delete_user(&me, &guest).unwrap();
    let (_, actions) = send(
        &backend,
        &session,
        json!(["chat.fetch", 4, {"channel": "room_0"}]),
    );
    let frame = only(&actions);
    assert_eq!(frame[2]["results"][1]["sender"], json!(guest));
    assert_eq!(
        frame[2]["users"][&guest],
        json!({"id": "guest-gw-3", "profile": {}, "deleted": true})
    );
    assert_eq!(
        frame[2]["users"]["alice"]["profile"]["display_name"],
        "Alice"
    );
}

#[test]
fn core_unavailable_is_server_unavailable_everywhere() {
    let (backend, session) = joined();
    backend.fail("get_room", FailureCode::Unavailable);
    backend.fail("leave", FailureCode::Unavailable);
    backend.fail("history", FailureCode::Unavailable);
    for frame in [
        json!(["chat.subscribe", 1, {"channel": "room_1"}]),
        json!(["chat.leave", 1, {"channel": "room_0"}]),
        json!(["chat.unsubscribe", 1, {"channel": "room_0"}]),
    ] {
        let (after, actions) = send(&backend, &session, frame.clone());
        assert_eq!(error_code(&actions), codes::SERVER_UNAVAILABLE, "{frame}");
        assert_unchanged(&after, &session, "a failed request changes nothing");
    }
}

fn edit(event_id: Value, content: Value) -> Value {
    json!(["chat.send", 7, {"channel": "room_0", "event_type": "channel.message",
        "content": content, "replaces": event_id}])
}

/// The reply (and the push, see `render`) is upstream's replacing event: it names the message
/// in `replaces` and takes the room's newest id, so the webapp, which marks the room read up to
/// the last event it got, never moves its read pointer back; the message keeps its own id.
#[test]
fn an_edit_replaces_your_own_message_and_answers_the_replacing_event() {
    let (backend, session) = joined();
    for _ in 0..3 {
        send(&backend, &session, hello("room_0"));
    }
    backend.set_now(channel_kit::core::START_MS + 90_000);
    let (_, actions) = send(
        &backend,
        &session,
        edit(json!(1), json!({"type": "text", "body": "Hello, world"})),
    );
    assert_eq!(
        only(&actions),
        json!(["success", 7, {"event": {"channel": "room_0", "event_type": "channel.message",
            "content": {"type": "text", "body": "Hello, world"}, "sender": "alice",
            "event_id": 3, "replaces": 1, "reactions": {},
            "timestamp": "2023-11-14T22:14:50.000+00:00",
            "edited": "2023-11-14T22:14:50.000+00:00"}}])
    );
    let stored = backend.messages("room_0");
    assert_eq!(stored.len(), 3, "no new message");
    assert_eq!(
        (stored[0].event_id, &stored[0].content["body"]),
        (1, &json!("Hello, world"))
    );
}

#[test]
fn a_deletion_masks_the_message_and_shows_as_deleted() {
    let (backend, session) = joined();
    send(&backend, &session, hello("room_0"));
    let (_, actions) = send(
        &backend,
        &session,
        edit(json!(1), json!({"type": "deleted"})),
    );
    let reply = only(&actions);
    assert_eq!(
        reply[2]["event"]["content"],
        json!({"type": "deleted"}),
        "{reply}"
    );
    let fetched = send(
        &backend,
        &session,
        json!(["chat.fetch", 8, {"channel": "room_0", "count": 10}]),
    );
    let shown = &only(&fetched.1)[2]["results"][0];
    assert_eq!(
        (&shown["content"], &shown["sender"], &shown["event_id"]),
        (&json!({"type": "deleted"}), &Value::Null, &json!(1)),
        "who wrote a removed message is forgotten"
    );
}

/// Whose message may be changed is the core's decision (its sender, or a holder of
/// `changeMessage` who can read the room); alice holds no permissions.
#[test]
fn only_your_own_existing_messages_can_be_changed() {
    let (backend, session) = joined();
    backend.add_user("bob", Some(r#"{"display_name":"Bob"}"#));
    backend.add_member("room_0", "bob");
    backend
        .process_message(crate::backend::NewMessage {
            origin: None,
            room: "room_0".into(),
            sender: "bob".into(),
            channel: "test".into(),
            event_type: "channel.message".into(),
            content: r#"{"type":"text","body":"bob's"}"#.into(),
        })
        .unwrap();
    let text = json!({"type": "text", "body": "mine now"});
    let (_, actions) = send(&backend, &session, edit(json!(1), text.clone()));
    assert_eq!(error_code(&actions), codes::CHAT_DENIED);
    let (_, actions) = send(&backend, &session, edit(json!(5), text.clone()));
    assert_eq!(error_code(&actions), codes::CHAT_INVALID);
    let (_, actions) = send(&backend, &session, edit(json!("one"), text));
    assert_eq!(error_code(&actions), codes::CHAT_INVALID);
    assert_eq!(backend.messages("room_0")[0].content["body"], "bob's");
}

fn say(id: u64, body: &str) -> Frame {
    let frame = json!(["chat.send", id, {"channel": "room_0", "event_type": "channel.message",
        "content": {"type": "text", "body": body}}]);
    Frame::Text(frame.to_string())
}

/// Frames that queued while the connection's previous call was in flight, handled as the
/// gateway hands them over.
fn arrive_together(backend: &CoreBackend, session: &Session, frames: Vec<Frame>) -> Vec<Value> {
    let outcome = crate::handler::received_frames(session.clone(), frames, backend);
    super::frames(&outcome.actions)
}

/// `[reply kind, request id, event id or error code]` of each frame, to compare at a glance.
fn answers(sent: &[Value]) -> Vec<Value> {
    sent.iter()
        .map(|f| match f[0].as_str() {
            Some("success") => json!(["success", f[1], f[2]["event"]["event_id"]]),
            _ => json!([f[0], f[1], f[2]["code"]]),
        })
        .collect()
}

#[test]
fn sends_that_arrive_together_are_stored_with_one_call_and_answered_in_order() {
    let (backend, session) = joined();
    let sent = arrive_together(
        &backend,
        &session,
        vec![say(11, "one"), say(12, "two"), say(13, "three")],
    );
    assert_eq!(
        answers(&sent),
        vec![
            json!(["success", 11, 1]),
            json!(["success", 12, 2]),
            json!(["success", 13, 3])
        ]
    );
    assert_eq!(sent[1][2]["event"]["content"]["body"], "two");
    assert_eq!(backend.calls("process_messages"), 1);
    assert_eq!(backend.calls("process_message"), 0);
    let bodies: Vec<_> = backend
        .messages("room_0")
        .iter()
        .map(|m| m.content["body"].clone())
        .collect();
    assert_eq!(bodies, vec![json!("one"), json!("two"), json!("three")]);
}

#[test]
fn a_refused_send_among_them_is_answered_in_its_place() {
    let (backend, session) = joined();
    let sent = arrive_together(
        &backend,
        &session,
        vec![say(1, "a"), say(2, " "), say(3, "c")],
    );
    assert_eq!(
        answers(&sent),
        vec![
            json!(["success", 1, 1]),
            json!(["error", 2, codes::CHAT_EMPTY]),
            json!(["success", 3, 2])
        ]
    );
    assert_eq!(backend.calls("process_messages"), 1);
}

#[test]
fn a_request_between_sends_sees_the_sends_before_it_stored() {
    let (backend, session) = joined();
    let leave = json!(["chat.leave", 2, {"channel": "room_0"}]);
    let sent = arrive_together(
        &backend,
        &session,
        vec![
            say(1, "before"),
            Frame::Text(leave.to_string()),
            say(3, "after"),
        ],
    );
    assert_eq!(
        answers(&sent)
            .iter()
            .map(|a| (a[0].clone(), a[1].clone()))
            .collect::<Vec<_>>(),
        vec![
            (json!("success"), json!(1)),
            (json!("success"), json!(2)),
            (json!("error"), json!(3))
        ],
        "{sent:?}"
    );
    assert_eq!(sent[2][2]["code"], codes::CHAT_DENIED);
    // Each send was alone in its run, so each went as one message.
    assert_eq!(backend.calls("process_message"), 2);
    assert_eq!(backend.calls("process_messages"), 0);
    assert_eq!(backend.messages("room_0").len(), 1);
}
