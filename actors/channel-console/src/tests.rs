//! The console feed against the product's own core (channel-kit's `CoreBackend`).

use channel_kit::core::{sent_json as sent, CoreBackend};
use channel_kit::{Action, Channel, Frame, Outcome, Session};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use wcc_interface::{ids, Envelope, Event};

use crate::handler::CLOSE_REFUSED;
use crate::session::MAX_WATCHED_ROOMS;
use crate::Console;

const TOKEN: &str = "the operator's token";

fn backend() -> CoreBackend {
    let backend = CoreBackend::new();
    let hex: String = Sha256::digest(TOKEN.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    backend.set_setting("admin_token_sha256", &hex);
    backend.add_room("lobby", "text");
    backend
}

fn send(session: Session, frame: Value, backend: &CoreBackend) -> Outcome {
    Console::received(session, Frame::Text(frame.to_string()), backend)
}

fn closes(outcome: &Outcome) -> bool {
    outcome
        .actions
        .iter()
        .any(|a| matches!(a, Action::Close(code, _) if *code == CLOSE_REFUSED))
}

fn signed_in(backend: &CoreBackend) -> Session {
    let out = send(
        Session::default(),
        json!({"type": "auth", "token": TOKEN}),
        backend,
    );
    assert_eq!(sent(&out), vec![json!({"type": "ready"})]);
    out.session
}

#[test]
fn the_admin_token_signs_in_as_the_operator_and_hears_the_lattice() {
    let backend = backend();
    let out = send(
        Session::default(),
        json!({"type": "auth", "token": TOKEN}),
        &backend,
    );
    assert_eq!(out.session.user.as_deref(), Some(ids::OPERATOR));
    assert_eq!(
        backend.subscribed(&out.actions, out.session.user.as_deref()),
        vec![ids::OPERATOR.to_string()]
    );
    assert_eq!(sent(&out), vec![json!({"type": "ready"})]);
}

#[test]
fn a_wrong_or_missing_token_is_refused_and_the_socket_closed() {
    let backend = backend();
    for frame in [
        json!({"type": "auth", "token": "guess"}),
        json!({"type": "auth", "token": ""}),
        json!({"type": "watch", "room": "lobby"}),
        json!({"hello": 1}),
    ] {
        let out = send(Session::default(), frame.clone(), &backend);
        assert_eq!(out.session.user, None, "{frame}");
        assert!(closes(&out), "{frame}");
        assert_eq!(sent(&out)[0]["code"], "unauthorized", "{frame}");
        assert!(backend
            .subscribed(&out.actions, Some(ids::OPERATOR))
            .is_empty());
    }
}

#[test]
fn with_no_token_configured_nobody_signs_in() {
    let backend = CoreBackend::new();
    let out = send(
        Session::default(),
        json!({"type": "auth", "token": TOKEN}),
        &backend,
    );
    assert!(closes(&out));
    assert!(sent(&out)[0]["message"]
        .as_str()
        .unwrap()
        .contains("no admin_token_sha256"));
}

#[test]
fn a_signed_in_console_watches_and_unwatches_rooms_that_exist() {
    let backend = backend();
    let session = signed_in(&backend);
    let out = send(session, json!({"type": "watch", "room": "lobby"}), &backend);
    assert_eq!(
        backend.subscribed(&out.actions, Some(ids::OPERATOR)),
        vec!["lobby".to_string()]
    );
    assert_eq!(
        sent(&out),
        vec![json!({"type": "watching", "room": "lobby"})]
    );

    // Watching twice subscribes once.
    let again = send(
        out.session,
        json!({"type": "watch", "room": "lobby"}),
        &backend,
    );
    assert!(backend
        .subscribed(&again.actions, Some(ids::OPERATOR))
        .is_empty());

    let out = send(
        again.session,
        json!({"type": "unwatch", "room": "lobby"}),
        &backend,
    );
    assert_eq!(
        out.actions,
        vec![
            Action::Unsubscribe("lobby".into()),
            Action::Send(json!({"type": "unwatched", "room": "lobby"}).to_string())
        ]
    );

    let unknown = send(
        out.session,
        json!({"type": "watch", "room": "nowhere"}),
        &backend,
    );
    assert_eq!(sent(&unknown)[0]["code"], "unknown_room");
    assert!(!closes(&unknown));
}

#[test]
fn a_console_watches_a_bounded_number_of_rooms() {
    let backend = backend();
    let mut session = signed_in(&backend);
    for n in 0..MAX_WATCHED_ROOMS {
        let room = format!("room{n}");
        backend.add_room(&room, "text");
        session = send(session, json!({"type": "watch", "room": room}), &backend).session;
    }
    backend.add_room("onemore", "text");
    let out = send(
        session,
        json!({"type": "watch", "room": "onemore"}),
        &backend,
    );
    assert_eq!(sent(&out)[0]["code"], "limit");
    assert!(backend
        .subscribed(&out.actions, Some(ids::OPERATOR))
        .is_empty());
}

#[test]
fn bad_frames_get_an_error_and_the_connection_stays() {
    let backend = backend();
    let session = signed_in(&backend);
    let frames = [
        Frame::Text("not json".into()),
        Frame::Text(json!({"type": "shout"}).to_string()),
        Frame::Text(json!({"type": "watch"}).to_string()),
        Frame::Text(json!({"type": "watch", "room": 7}).to_string()),
        Frame::Text(json!({"type": "watch", "room": "a.b"}).to_string()),
        Frame::Text(json!({"type": "watch", "room": ids::OPERATOR}).to_string()),
        Frame::Text(json!({"type": "auth", "token": TOKEN}).to_string()),
        Frame::Binary(vec![0xff, 0x00]),
        Frame::Oversize(1 << 20),
        Frame::Text("x".repeat(5000)),
    ];
    for frame in frames {
        let out = Console::received(session.clone(), frame.clone(), &backend);
        assert_eq!(sent(&out).len(), 1, "{frame:?}");
        assert_eq!(sent(&out)[0]["type"], "error", "{frame:?}");
        assert!(!closes(&out), "{frame:?}");
        assert_eq!(out.session, session, "{frame:?}");
    }
}

#[test]
fn events_reach_the_console_as_wcc_publishes_them() {
    let backend = backend();
    let alive = Envelope::new(
        Event::GatewayAlive {
            gateway: "g1".into(),
            interval_ms: 5_000,
            stats: None,
        },
        42,
    )
    .to_json();
    let frame: Value = serde_json::from_str(&Console::render(&alive, &backend).unwrap()).unwrap();
    assert_eq!(frame["type"], "event");
    assert_eq!(frame["event"]["type"], "GatewayAlive");
    assert_eq!(frame["event"]["data"]["gateway"], "g1");
    assert_eq!(frame["event"]["at"], 42);
    // Byte for byte: a number in a message's content is not rounded on the way.
    let precise = r#"{"v":1,"at":1,"type":"MessagePublished","data":{"message":{"content":{"n":1.111111111111111e50}}}}"#;
    assert_eq!(
        Console::render(precise, &backend).unwrap(),
        format!(r#"{{"type":"event","event":{precise}}}"#)
    );
    assert_eq!(Console::render("not json", &backend), None);
    assert_eq!(Console::render("[1]", &backend), None);
}
