//! Bad input of every kind: answered with the protocol's error, session unchanged.

use super::*;
use crate::codes;

fn refused(backend: &CoreBackend, session: &Session, frame: Frame) -> Value {
    let (after, actions) = raw(backend, session, frame);
    assert_eq!(&after, session, "bad input changes nothing");
    assert!(
        actions.iter().all(|a| matches!(a, Action::Send(_))),
        "no close, no subscription"
    );
    only(&actions)
}

#[test]
fn every_bad_input_is_answered_and_survived() {
    let (backend, session) = setup(true);
    let text = |s: &str| Frame::Text(s.to_owned());
    let cases = [
        (text("hello"), codes::PROTOCOL_INVALID_JSON),
        (text(""), codes::PROTOCOL_INVALID_JSON),
        (text(r#"{"a": 1}"#), codes::PROTOCOL_MALFORMED),
        (text("[]"), codes::PROTOCOL_MALFORMED),
        (text("[1, 2, {}]"), codes::PROTOCOL_MALFORMED),
        (text(r#"["chat.join", 1]"#), codes::PROTOCOL_MALFORMED),
        (text(r#"["chat.join", 1, 2]"#), codes::PROTOCOL_MALFORMED),
        (
            text(r#"["chat.join", 1, {"channel": "room_0"}, 1]"#),
            codes::PROTOCOL_MALFORMED,
        ),
        (
            text(r#"["chat.explode", 1, {}]"#),
            codes::PROTOCOL_UNKNOWN_ACTION,
        ),
        (
            Frame::Binary(vec![0x93, 0xa4]),
            codes::PROTOCOL_UNSUPPORTED_ENCODING,
        ),
        (Frame::Oversize(1 << 20), codes::PROTOCOL_FRAME_TOO_LARGE),
    ];
    for (frame, code) in cases {
        let reply = refused(&backend, &session, frame.clone());
        assert_eq!(reply[0], "error", "{frame:?}");
        assert_eq!(
            reply.as_array().unwrap().last().unwrap()["code"],
            code,
            "{frame:?}"
        );
    }
}

#[test]
fn errors_without_a_usable_id_are_pushes() {
    let backend = CoreBackend::new();
    let reply = refused(&backend, &fresh(), Frame::Text("nope".into()));
    assert_eq!(reply.as_array().unwrap().len(), 2);
    let reply = refused(&backend, &fresh(), Frame::Oversize(99));
    assert_eq!(reply[1]["code"], codes::PROTOCOL_FRAME_TOO_LARGE);
    let reply = refused(
        &backend,
        &fresh(),
        Frame::Text(r#"["chat.join", "k", 2]"#.into()),
    );
    assert_eq!(reply[1], "k", "an id in its place is used");
}

#[test]
fn unknown_action_wins_over_unauthenticated() {
    let backend = CoreBackend::new();
    let reply = refused(
        &backend,
        &fresh(),
        Frame::Text(r#"["user.ban", 1, {}]"#.into()),
    );
    assert_eq!(reply[2]["code"], codes::PROTOCOL_UNKNOWN_ACTION);
}
