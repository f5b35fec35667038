//! The per-connection rate limit as a Rebuttal client meets it, on the real core: on by
//! default, an `error` packet over it with the connection kept, off with `0`, and `ping`/`pong`
//! keep-alives never counted.

use channel_kit::core::{CoreBackend, START_MS};
use channel_kit::ratelimit::{Limit, RATE_LIMIT_KEY};
use channel_kit::{Action, Frame, Session};
use serde_json::{json, Value};

use crate::handler::{self, slow_down};

/// Packets a fresh connection may send at once under the default limit.
const BURST: usize = Limit::DEFAULT.burst as usize;

const ADMIN: &str = "boss@example.org";

fn backend() -> CoreBackend {
    let backend = CoreBackend::new();
    backend.set_setting(crate::ADMIN_EMAIL_KEY, ADMIN);
    backend
}

/// Sends `packet`; the new session and the packets sent back, the connection kept.
fn send(backend: &CoreBackend, session: Session, packet: Value) -> (Session, Vec<Value>) {
    let outcome = handler::received(session, Frame::Text(packet.to_string()), backend);
    let mut sent = Vec::new();
    for action in &outcome.actions {
        match action {
            Action::Send(text) => sent.push(serde_json::from_str(text).unwrap()),
            Action::Close(..) => panic!("the connection stays open: {:?}", outcome.actions),
            _ => {}
        }
    }
    (outcome.session, sent)
}

/// The administrator, signed up and logged in on this connection (one packet so far).
fn admin(backend: &CoreBackend) -> Session {
    let fresh = Session {
        connection_id: "gw-1".into(),
        transport: "websocket".into(),
        ..Session::default()
    };
    let (session, sent) = send(
        backend,
        fresh,
        json!({"type": "signup", "userName": "Boss", "password": "correct horse",
               "signUp": "signup", "email": ADMIN}),
    );
    assert_eq!(sent[0]["type"], "login", "{sent:?}");
    session
}

/// `talking`: answered with nothing when done, so any packet back is a refusal.
fn talking() -> Value {
    json!({"type": "talking", "talking": true})
}

/// Sends `talking` until the burst (the sign-up included) is spent.
fn spend_burst(backend: &CoreBackend, mut session: Session) -> Session {
    for n in 2..=BURST {
        let (next, sent) = send(backend, session, talking());
        assert_eq!(sent, Vec::<Value>::new(), "packet {n}");
        session = next;
    }
    session
}

#[test]
fn the_default_limit_answers_an_error_packet_and_keeps_the_connection() {
    let backend = backend();
    let session = spend_burst(&backend, admin(&backend));
    let (session, sent) = send(&backend, session, talking());
    assert_eq!(
        sent,
        vec![json!({"type": "error", "message": slow_down(50)})]
    );
    assert_eq!(slow_down(50), "Too many requests: try again in 50 ms");
    backend.set_now(START_MS + 50);
    let (session, sent) = send(&backend, session, talking());
    assert_eq!(sent, Vec::<Value>::new());
    assert!(session.user.is_some());
}

#[test]
fn zero_turns_the_limit_off() {
    let backend = backend();
    backend.set_setting(RATE_LIMIT_KEY, "0");
    let mut session = admin(&backend);
    for n in 2..=3 * BURST {
        let (next, sent) = send(&backend, session, talking());
        assert_eq!(sent, Vec::<Value>::new(), "packet {n}");
        session = next;
    }
}

#[test]
fn keep_alives_are_not_counted() {
    let backend = backend();
    let mut session = admin(&backend);
    for n in 0..BURST {
        let kind = if n % 2 == 0 { "ping" } else { "pong" };
        let (next, sent) = send(&backend, session, json!({ "type": kind }));
        assert_eq!(sent, Vec::<Value>::new());
        session = next;
    }
    let session = spend_burst(&backend, session);
    let (session, sent) = send(&backend, session, talking());
    assert_eq!(sent[0]["type"], "error", "{sent:?}");
    // Over the limit, a keep-alive is still taken quietly.
    let (_, sent) = send(&backend, session, json!({"type": "ping"}));
    assert_eq!(sent, Vec::<Value>::new());
}
