//! The per-connection rate limit as a Cadmium client meets it, on the real core: on by default,
//! `ratelimit_exceed` with `retryAfter` over it with the connection kept, off with `0`.
//! Cadmium has no keep-alive of its own (websocket pings stay in the gateway), so every request
//! counts, typing notifications included.

use channel_kit::core::{CoreBackend, START_MS};
use channel_kit::ratelimit::Limit;
use channel_kit::{Action, Frame, Session};
use serde_json::{json, Value};

use crate::{codec, errors, handler, RATE_LIMIT_KEY};

/// Requests a fresh connection may make at once under the default limit.
const BURST: usize = Limit::DEFAULT.burst as usize;

/// Sends `request`; the new session and the one reply (after any subscriptions).
fn send(backend: &CoreBackend, session: Session, request: Value) -> (Session, Value) {
    let outcome = handler::received(session, Frame::Text(request.to_string()), backend);
    let mut replies = Vec::new();
    for action in &outcome.actions {
        match action {
            Action::Send(text) => replies.push(serde_json::from_str::<Value>(text).unwrap()),
            Action::Close(..) => panic!("the connection stays open: {:?}", outcome.actions),
            _ => {}
        }
    }
    assert_eq!(replies.len(), 1, "{replies:?}");
    (outcome.session, replies.remove(0))
}

/// `name`, registered and logged in on a connection of their own (one request so far); the
/// session and the token.
fn signed_in(backend: &CoreBackend, name: &str) -> (Session, String) {
    let fresh = Session {
        connection_id: format!("gw/{name}"),
        ..Session::default()
    };
    let (session, reply) = send(
        backend,
        fresh,
        json!({"id": "r", "type": codec::REGISTER,
               "payload": {"username": name, "password": "pw-secret", "loginOnSuccess": true}}),
    );
    assert_eq!(reply["ok"], true, "{reply}");
    let token = reply["payload"]["authToken"].as_str().unwrap().to_owned();
    (session, token)
}

/// alice's connection, with bob there to write to.
fn alice(backend: &CoreBackend) -> (Session, String) {
    signed_in(backend, "bob");
    signed_in(backend, "alice")
}

/// A typing notification to bob: the cheapest request that does work.
fn typing(token: &str) -> Value {
    json!({"id": "t", "type": codec::TYPING, "to": ["@bob"], "authToken": token,
           "payload": {}})
}

#[test]
fn the_default_limit_answers_ratelimit_exceed_and_keeps_the_connection() {
    let backend = CoreBackend::new();
    let (mut session, token) = alice(&backend);
    for n in 2..=BURST {
        let (next, reply) = send(&backend, session, typing(&token));
        assert_eq!(reply["ok"], true, "request {n}: {reply}");
        session = next;
    }
    let (session, reply) = send(&backend, session, typing(&token));
    assert_eq!(reply["ok"], false, "{reply}");
    assert_eq!(reply["payload"]["errID"], errors::RATELIMIT_EXCEED);
    assert_eq!(reply["payload"]["errPayload"], json!({"retryAfter": 50}));
    backend.set_now(START_MS + 50);
    let (session, reply) = send(&backend, session, typing(&token));
    assert_eq!(reply["ok"], true, "{reply}");
    assert_eq!(session.user.as_deref(), Some("alice"));
}

#[test]
fn zero_turns_the_limit_off() {
    let backend = CoreBackend::new();
    backend.set_setting(RATE_LIMIT_KEY, "0");
    let (mut session, token) = alice(&backend);
    for n in 2..=3 * BURST {
        let (next, reply) = send(&backend, session, typing(&token));
        assert_eq!(reply["ok"], true, "request {n}: {reply}");
        session = next;
    }
}
