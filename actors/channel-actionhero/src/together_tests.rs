//! Lines that arrive together (typed ahead or pasted while the connection's previous call ran):
//! `say`s that follow each other are stored with one call to the core, each is answered in its
//! place with its own `messageCount`, and nothing after a `quit` is carried out.

use channel_kit::core::{sent_json as sent, CoreBackend};
use channel_kit::{Action, Frame, Session};
use serde_json::{json, Value};

use crate::handler;
use crate::tests::{backend, line, opened};

/// A connection in `lobby`, and its answers so far counted.
fn in_the_lobby(backend: &CoreBackend) -> Session {
    let (session, response) = line(backend, opened(backend), "roomChange lobby");
    assert_eq!(response["status"], "OK", "{response}");
    session
}

fn lines(texts: &[&str]) -> Vec<Frame> {
    texts.iter().map(|t| Frame::Text((*t).into())).collect()
}

/// `[status, messageCount]` of each answer.
fn answers(replies: &[Value]) -> Vec<Value> {
    replies
        .iter()
        .map(|r| json!([r["status"], r["messageCount"]]))
        .collect()
}

fn said(backend: &CoreBackend) -> Vec<Value> {
    backend
        .messages("lobby")
        .iter()
        .map(|m| m.content["body"].clone())
        .collect()
}

#[test]
fn says_that_arrive_together_are_stored_with_one_call_and_answered_in_order() {
    let backend = backend();
    let session = in_the_lobby(&backend);
    let outcome = handler::received_frames(
        session,
        lines(&["say one", "say two", "say three", ""]),
        &backend,
    );
    // The blank line is telnet's Enter: no answer, not counted.
    assert_eq!(
        answers(&sent(&outcome)),
        vec![json!(["OK", 2]), json!(["OK", 3]), json!(["OK", 4])]
    );
    assert_eq!(said(&backend), vec!["one", "two", "three"]);
    assert_eq!(backend.calls("process_messages"), 1);
    assert_eq!(backend.calls("process_message"), 0);
    assert_eq!(crate::tests::state(&outcome.session).message_count, 4);
}

#[test]
fn a_verb_between_says_sees_the_ones_before_it_stored() {
    let backend = backend();
    backend.add_room("kitchen", "text");
    let session = in_the_lobby(&backend);
    let outcome = handler::received_frames(
        session,
        lines(&["say here", "roomChange kitchen", "say there"]),
        &backend,
    );
    assert_eq!(
        answers(&sent(&outcome)),
        vec![json!(["OK", 2]), json!(["OK", 3]), json!(["OK", 4])]
    );
    assert_eq!(said(&backend), vec!["here"]);
    let kitchen: Vec<Value> = backend
        .messages("kitchen")
        .iter()
        .map(|m| m.content["body"].clone())
        .collect();
    assert_eq!(kitchen, vec!["there"]);
    assert_eq!(backend.calls("process_message"), 2);
    assert_eq!(backend.calls("process_messages"), 0);
}

#[test]
fn a_refused_say_among_them_is_answered_in_its_place() {
    let backend = backend();
    let session = in_the_lobby(&backend);
    // Over the core's 16 KiB limit for a message: refused by the core, not by this channel.
    let too_long = format!("say {}", "x".repeat(17_000));
    let outcome =
        handler::received_frames(session, lines(&["say a", &too_long, "say c"]), &backend);
    let answers = answers(&sent(&outcome));
    assert_eq!(answers[0], json!(["OK", 2]));
    assert!(
        answers[1][0]
            .as_str()
            .unwrap()
            .contains("the limit is 16384"),
        "{answers:?}"
    );
    assert_eq!(answers[1][1], 3);
    assert_eq!(answers[2], json!(["OK", 4]));
    assert_eq!(said(&backend), vec!["a", "c"]);
    assert_eq!(backend.calls("process_messages"), 1);
}

#[test]
fn nothing_after_a_quit_is_carried_out() {
    let backend = backend();
    let session = in_the_lobby(&backend);
    let outcome = handler::received_frames(
        session,
        lines(&["say bye all", "quit", "say too late"]),
        &backend,
    );
    assert_eq!(said(&backend), vec!["bye all"]);
    assert!(matches!(
        outcome.actions.last(),
        Some(Action::Close(1000, _))
    ));
    let replies = sent(&outcome);
    assert_eq!(replies[0]["status"], "OK");
    assert_eq!(replies.len(), 2, "{replies:?}");
}
