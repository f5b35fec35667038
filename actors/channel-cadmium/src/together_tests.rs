//! Private messages that arrive together (queued while the connection's previous call ran) are
//! stored with one call to the core and each is answered in its place.

use channel_kit::core::CoreBackend;
use channel_kit::{Action, Frame, Session};
use serde_json::{json, Value};

use crate::tests::{message, signed_in};
use crate::{codec, errors, handler};

fn say(id: &str, to: &str, token: &str, text: &str) -> Frame {
    let mut request = message(
        to,
        token,
        json!({"type": "urn:cadmium:chats:message-types:general", "content": {"text": text}}),
    );
    request["id"] = json!(id);
    Frame::Text(request.to_string())
}

/// The replies of one call, in the order they would be sent.
fn arrive_together(backend: &CoreBackend, session: &Session, frames: Vec<Frame>) -> Vec<Value> {
    let outcome = handler::received_frames(session.clone(), frames, backend);
    outcome
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(frame) => Some(serde_json::from_str(frame).unwrap()),
            _ => None,
        })
        .collect()
}

/// `[request id, ok, messageID or errID]` of each reply, to compare at a glance.
fn answers(replies: &[Value]) -> Vec<Value> {
    replies
        .iter()
        .map(|r| match r["ok"].as_bool() {
            Some(true) => json!([r["id"], true, r["payload"]["messageID"]]),
            _ => json!([r["id"], false, r["payload"]["errID"]]),
        })
        .collect()
}

/// Alice signed in (her session and token), and Bob to write to.
fn alice_and_bob() -> (CoreBackend, Session, String) {
    let backend = CoreBackend::new();
    let (alice, token) = signed_in(&backend, "alice");
    signed_in(&backend, "bob");
    (backend, alice, token)
}

fn stored_texts(backend: &CoreBackend, room: &str) -> Vec<Value> {
    backend
        .messages(room)
        .iter()
        .map(|m| m.content["body"].clone())
        .collect()
}

#[test]
fn messages_that_arrive_together_are_stored_with_one_call_and_answered_in_order() {
    let (backend, alice, token) = alice_and_bob();
    let replies = arrive_together(
        &backend,
        &alice,
        vec![
            say("1", "@bob", &token, "one"),
            say("2", "@bob", &token, "two"),
            say("3", "@bob", &token, "three"),
        ],
    );
    let ids: Vec<Value> = backend
        .messages("bob")
        .iter()
        .map(|m| json!(m.id))
        .collect();
    assert_eq!(
        answers(&replies),
        vec![
            json!(["1", true, ids[0]]),
            json!(["2", true, ids[1]]),
            json!(["3", true, ids[2]])
        ]
    );
    assert_eq!(replies[0]["type"], codec::MESSAGE);
    assert_eq!(stored_texts(&backend, "bob"), vec!["one", "two", "three"]);
    assert_eq!(backend.calls("process_messages"), 1);
    assert_eq!(backend.calls("process_message"), 0);
}

#[test]
fn a_refused_message_among_them_is_answered_in_its_place() {
    let (backend, alice, token) = alice_and_bob();
    let replies = arrive_together(
        &backend,
        &alice,
        vec![
            say("1", "@bob", &token, "a"),
            say("2", "@nobody", &token, "b"),
            say("3", "@bob", &token, "c"),
        ],
    );
    let answers = answers(&replies);
    assert_eq!(answers[1], json!(["2", false, errors::USER_NOT_FOUND]));
    assert_eq!(
        (answers[0][1].clone(), answers[2][1].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(stored_texts(&backend, "bob"), vec!["a", "c"]);
    assert_eq!(backend.calls("process_messages"), 1);
}

#[test]
fn a_request_between_messages_sees_the_ones_before_it_stored() {
    let backend = CoreBackend::new();
    let (alice, a_token) = signed_in(&backend, "alice");
    let (bob, b_token) = signed_in(&backend, "bob");
    // Bob's connection: a message to Alice, a ban of Alice, a second message. The ban is
    // handled alone, after the first message is stored; each message was alone in its run.
    let ban =
        json!({"id": "2", "type": codec::BAN, "authToken": b_token, "payload": {"user": "@alice"}});
    let replies = arrive_together(
        &backend,
        &bob,
        vec![
            say("1", "@alice", &b_token, "before"),
            Frame::Text(ban.to_string()),
            say("3", "@alice", &b_token, "after"),
        ],
    );
    let oks: Vec<Value> = replies.iter().map(|r| r["ok"].clone()).collect();
    assert_eq!(oks, vec![json!(true); 3], "{replies:?}");
    assert_eq!(stored_texts(&backend, "alice"), vec!["before", "after"]);
    assert_eq!(backend.calls("process_message"), 2);
    assert_eq!(backend.calls("process_messages"), 0);
    // The ban took effect in its place: Alice can no longer write to Bob.
    let replies = arrive_together(&backend, &alice, vec![say("4", "@bob", &a_token, "hi")]);
    assert_eq!(answers(&replies), vec![json!(["4", false, errors::BANNED])]);
}

#[test]
fn an_unreadable_frame_among_them_is_answered_in_its_place() {
    let (backend, alice, token) = alice_and_bob();
    let replies = arrive_together(
        &backend,
        &alice,
        vec![
            say("1", "@bob", &token, "a"),
            Frame::Text("{not json".into()),
            say("3", "@bob", &token, "c"),
        ],
    );
    let oks: Vec<Value> = replies.iter().map(|r| r["ok"].clone()).collect();
    assert_eq!(
        oks,
        vec![json!(true), json!(false), json!(true)],
        "{replies:?}"
    );
    assert_eq!(replies[1]["payload"]["errID"], errors::MALFORMED_MESSAGE);
    assert_eq!(stored_texts(&backend, "bob"), vec!["a", "c"]);
}
