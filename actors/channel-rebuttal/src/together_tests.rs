//! `message`s that arrive together (queued while the connection's previous call ran) are
//! stored with one call to the core, in order; the first messages to a room join it, and a
//! room not followed yet is shown as it stands after each.

use channel_kit::core::CoreBackend;
use channel_kit::{Action, Frame, Outcome, Session};
use serde_json::{json, Value};

use crate::handler;
use crate::tests::{admin, backend, sent, subscribed, types};

fn message(room: &str, text: &str) -> Frame {
    let packet = json!({"type": "message", "roomid": room, "message": {"text": text}});
    Frame::Text(packet.to_string())
}

fn arrive_together(backend: &CoreBackend, session: Session, frames: Vec<Frame>) -> Outcome {
    handler::received_frames(session, frames, backend)
}

fn texts(backend: &CoreBackend, room: &str) -> Vec<Value> {
    backend
        .messages(room)
        .iter()
        .map(|m| m.content["body"].clone())
        .collect()
}

/// The texts of a segment packet's messages.
fn shown(packet: &Value) -> Vec<Value> {
    packet["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].clone())
        .collect()
}

#[test]
fn messages_that_arrive_together_are_stored_with_one_call_in_order() {
    let backend = backend();
    backend.add_room("general", "text");
    // Signed up after the room exists: it follows the room, and its first message joins it.
    let boss = admin(&backend);
    let boss = arrive_together(&backend, boss, vec![message("general", "first")]).session;
    let before = (
        backend.calls("process_messages"),
        backend.calls("process_message"),
    );
    let outcome = arrive_together(
        &backend,
        boss,
        vec![
            message("general", "one"),
            message("general", "two"),
            message("general", "three"),
        ],
    );
    // New messages reach a follower from the room's feed: nothing is answered here.
    assert!(outcome.actions.is_empty(), "{:?}", outcome.actions);
    assert_eq!(texts(&backend, "general"), ["first", "one", "two", "three"]);
    assert_eq!(backend.calls("process_messages"), before.0 + 1);
    assert_eq!(backend.calls("process_message"), before.1);
}

#[test]
fn a_refused_message_among_them_is_answered_in_its_place() {
    let backend = backend();
    backend.add_room("general", "text");
    let boss = admin(&backend);
    let boss = arrive_together(&backend, boss, vec![message("general", "first")]).session;
    let outcome = arrive_together(
        &backend,
        boss,
        vec![
            message("general", "one"),
            message("general", "   "),
            message("general", "three"),
        ],
    );
    let packets = sent(&outcome);
    assert_eq!(types(&outcome), ["error"], "{packets:?}");
    assert_eq!(packets[0]["message"], "The message is empty");
    assert_eq!(texts(&backend, "general"), ["first", "one", "three"]);
}

#[test]
fn first_messages_to_a_room_not_followed_join_it_and_each_shows_its_segment() {
    let backend = backend();
    let boss = admin(&backend);
    // Made after the sign-in: neither joined nor followed.
    backend.add_room("later", "text");
    let outcome = arrive_together(
        &backend,
        boss,
        vec![message("later", "a"), message("later", "b")],
    );
    assert_eq!(texts(&backend, "later"), ["a", "b"]);
    // The run was refused together (not a member yet); each message then joined and was
    // stored on its own, in order.
    assert_eq!(backend.calls("process_messages"), 1);
    assert_eq!(backend.calls("process_message"), 2);
    // The room's subscription starts when the call ends, after both were published: the
    // client is shown the segment after each, and the last holds both.
    let packets = sent(&outcome);
    assert_eq!(packets.len(), 2, "{packets:?}");
    assert_eq!(shown(&packets[0]), ["a"]);
    assert_eq!(shown(&packets[1]), ["a", "b"]);
    assert_eq!(subscribed(&backend, &outcome), ["later"]);
    assert_eq!(
        outcome
            .actions
            .iter()
            .filter(|a| matches!(a, Action::Subscribe(_)))
            .count(),
        1
    );
}

#[test]
fn nothing_after_a_malformed_packet_is_read() {
    let backend = backend();
    backend.add_room("general", "text");
    let boss = admin(&backend);
    let outcome = arrive_together(
        &backend,
        boss,
        vec![
            message("general", "kept"),
            Frame::Text("{not json".into()),
            message("general", "never read"),
        ],
    );
    assert!(matches!(outcome.actions.last(), Some(Action::Close(..))));
    assert_eq!(texts(&backend, "general"), ["kept"]);
}
