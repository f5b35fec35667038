//! The per-connection rate limit as a venueless client meets it, on the real core: on by
//! default, `protocol.denial_of_service` over it with the connection kept, off with `0`, and
//! `ping` never counted.

use channel_kit::core::{CoreBackend, START_MS};
use channel_kit::ratelimit::{Limit, RATE_LIMIT_KEY};
use serde_json::{json, Value};

use crate::codes;
use crate::handler::received;
use crate::session::{Action, Frame, Session};

/// Requests a fresh connection may make at once under the default limit.
const BURST: u64 = Limit::DEFAULT.burst as u64;

/// Sends `frame`; the new session and the frames sent back.
fn send(backend: &CoreBackend, session: Session, frame: Value) -> (Session, Vec<Value>) {
    let outcome = received(session, Frame::Text(frame.to_string()), backend);
    assert!(
        !outcome
            .actions
            .iter()
            .any(|a| matches!(a, Action::Close(..))),
        "the connection stays open: {:?}",
        outcome.actions
    );
    let frames = outcome
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(text) => Some(serde_json::from_str(text).unwrap()),
            _ => None,
        })
        .collect();
    (outcome.session, frames)
}

/// `alice`, authenticated (one request so far).
fn alice(backend: &CoreBackend) -> Session {
    let fresh = Session {
        connection_id: "gw-1".into(),
        transport: "websocket".into(),
        ..Session::default()
    };
    let (session, frames) = send(
        backend,
        fresh,
        json!(["authenticate", 1, {"client_id": "alice"}]),
    );
    assert_eq!(frames.last().unwrap(), &json!(["success", 1, {}]));
    session
}

/// Sends `user.fetch` with correlation id `id`; the one reply.
fn fetch(backend: &CoreBackend, session: Session, id: u64) -> (Session, Value) {
    let (session, mut frames) = send(backend, session, json!(["user.fetch", id, {"id": "alice"}]));
    assert_eq!(frames.len(), 1, "{frames:?}");
    (session, frames.remove(0))
}

/// Makes requests until the burst (authenticate included) is spent.
fn spend_burst(backend: &CoreBackend, mut session: Session) -> Session {
    for id in 2..=BURST {
        let (next, reply) = fetch(backend, session, id);
        assert_eq!(reply[0], "success", "request {id}: {reply}");
        session = next;
    }
    session
}

#[test]
fn the_default_limit_answers_a_burst_over_it_and_keeps_the_connection() {
    let backend = CoreBackend::new();
    let session = spend_burst(&backend, alice(&backend));
    let (session, reply) = fetch(&backend, session, 100);
    assert_eq!(reply[0], "error", "{reply}");
    assert_eq!(reply[1], 100);
    assert_eq!(reply[2]["code"], codes::PROTOCOL_DENIAL_OF_SERVICE);
    assert_eq!(reply[2]["message"], "too many requests; try again in 50 ms");
    // The refusal changed nothing else: still alice, and a token later all is well again.
    assert_eq!(session.user.as_deref(), Some("alice"));
    backend.set_now(START_MS + 50);
    let (_, reply) = fetch(&backend, session, 101);
    assert_eq!(reply[0], "success", "{reply}");
}

#[test]
fn zero_turns_the_limit_off() {
    let backend = CoreBackend::new();
    backend.set_setting(RATE_LIMIT_KEY, "0");
    let mut session = alice(&backend);
    for id in 2..=3 * BURST {
        let (next, reply) = fetch(&backend, session, id);
        assert_eq!(reply[0], "success", "request {id}: {reply}");
        session = next;
    }
}

#[test]
fn pings_are_not_counted_and_answered_over_the_limit() {
    let backend = CoreBackend::new();
    let mut session = alice(&backend);
    for ts in 0..2 * BURST {
        let (next, frames) = send(&backend, session, json!(["ping", ts]));
        assert_eq!(frames, vec![json!(["pong", ts])]);
        session = next;
    }
    // All of the burst is still there for requests ...
    let session = spend_burst(&backend, session);
    // ... and once it is spent a ping is still answered.
    let (session, frames) = send(&backend, session, json!(["ping", "late"]));
    assert_eq!(frames, vec![json!(["pong", "late"])]);
    let (_, reply) = fetch(&backend, session, 100);
    assert_eq!(reply[2]["code"], codes::PROTOCOL_DENIAL_OF_SERVICE);
}
