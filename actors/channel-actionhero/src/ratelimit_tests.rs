//! The per-connection rate limit as an actionhero client meets it, on the real core: on by
//! default, upstream's "you have too many pending requests" over it with the connection kept
//! (and `quit` still honoured), off with `0`, and blank lines (telnet's keep-alive Enter)
//! never counted.

use channel_kit::core::{CoreBackend, START_MS};
use channel_kit::ratelimit::{Limit, RATE_LIMIT_KEY};
use channel_kit::{Action, Frame, Outcome, Session};
use serde_json::Value;

use crate::handler::{self, TOO_MANY_REQUESTS};

/// Lines a fresh connection may send at once under the default limit.
const BURST: u64 = Limit::DEFAULT.burst as u64;

/// A greeted TCP connection.
fn opened(backend: &CoreBackend) -> Session {
    let session = Session {
        connection_id: "gw-1".into(),
        transport: "tcp".into(),
        remote: "127.0.0.2:40100".into(),
        ..Session::default()
    };
    handler::opened(session, backend).session
}

fn received(backend: &CoreBackend, session: Session, text: &str) -> Outcome {
    handler::received(session, Frame::Text(text.into()), backend)
}

/// Sends `text`; the new session and its one response line, the connection kept.
fn line(backend: &CoreBackend, session: Session, text: &str) -> (Session, Value) {
    let outcome = received(backend, session, text);
    let [Action::Send(response)] = outcome.actions.as_slice() else {
        panic!("one response to {text:?}: {:?}", outcome.actions);
    };
    let response = serde_json::from_str(response).unwrap();
    (outcome.session, response)
}

/// Sends `roomView` until the burst is spent.
fn spend_burst(backend: &CoreBackend, mut session: Session) -> Session {
    for n in 1..=BURST {
        let (next, response) = line(backend, session, "roomView");
        assert_eq!(response["status"], "OK", "line {n}: {response}");
        session = next;
    }
    session
}

#[test]
fn the_default_limit_answers_upstreams_error_and_keeps_the_connection() {
    let backend = CoreBackend::new();
    let session = spend_burst(&backend, opened(&backend));
    let (session, response) = line(&backend, session, "roomView");
    assert_eq!(
        response,
        serde_json::json!({
            "status": TOO_MANY_REQUESTS,
            "context": "response",
            "data": null,
            "messageCount": BURST + 1,
        })
    );
    // An action gets the same words in an action's response.
    let (session, response) = line(&backend, session, r#"{"action": "status"}"#);
    assert_eq!(response["error"], TOO_MANY_REQUESTS, "{response}");
    assert_eq!(response["messageCount"], BURST + 2);
    // A token later the connection carries on.
    backend.set_now(START_MS + 50);
    let (session, response) = line(&backend, session, r#"{"action": "status"}"#);
    assert_eq!(response["id"], "gw", "{response}");
    assert!(response.get("error").is_none(), "{response}");
    // Leaving is never refused.
    let outcome = received(&backend, session, "quit");
    assert!(
        outcome
            .actions
            .iter()
            .any(|a| matches!(a, Action::Close(..))),
        "{:?}",
        outcome.actions
    );
}

#[test]
fn zero_turns_the_limit_off() {
    let backend = CoreBackend::new();
    backend.set_setting(RATE_LIMIT_KEY, "0");
    let mut session = opened(&backend);
    for n in 1..=3 * BURST {
        let (next, response) = line(&backend, session, "roomView");
        assert_eq!(response["status"], "OK", "line {n}: {response}");
        session = next;
    }
}

#[test]
fn blank_lines_are_not_counted() {
    let backend = CoreBackend::new();
    let mut session = opened(&backend);
    for _ in 0..2 * BURST {
        let outcome = received(&backend, session, "  ");
        assert_eq!(outcome.actions, vec![]);
        session = outcome.session;
    }
    let session = spend_burst(&backend, session);
    let (_, response) = line(&backend, session, "roomView");
    assert_eq!(response["status"], TOO_MANY_REQUESTS, "{response}");
}
