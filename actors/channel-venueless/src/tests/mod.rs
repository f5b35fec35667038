//! The state machine end to end on the real core (`channel_kit::core`): frames in, frames and
//! actions out. Helpers here; the tests by theme in the submodules.

mod auth;
mod chat;
mod codec;
mod input;
mod reading;
mod send;
mod signin;

pub(crate) use serde_json::{json, Value};

pub(crate) use crate::handler::received;
pub(crate) use crate::session::{Action, Frame};
pub(crate) use crate::session::{Session, SessionData};
pub(crate) use channel_kit::core::CoreBackend;
pub(crate) use channel_kit::{Backend, Principal};

pub(crate) fn fresh() -> Session {
    Session {
        connection_id: "gw-1".into(),
        transport: "websocket".into(),
        ..Session::default()
    }
}

/// Sends one text frame; returns the new session and the actions.
pub(crate) fn send(
    backend: &CoreBackend,
    session: &Session,
    frame: Value,
) -> (Session, Vec<Action>) {
    raw(backend, session, Frame::Text(frame.to_string()))
}

pub(crate) fn raw(
    backend: &CoreBackend,
    session: &Session,
    frame: Frame,
) -> (Session, Vec<Action>) {
    let outcome = received(session.clone(), frame, backend);
    (outcome.session, outcome.actions)
}

/// The frames sent, parsed.
pub(crate) fn frames(actions: &[Action]) -> Vec<Value> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(text) => Some(serde_json::from_str(text).unwrap()),
            _ => None,
        })
        .collect()
}

/// The single frame sent.
pub(crate) fn only(actions: &[Action]) -> Value {
    let sent = frames(actions);
    assert_eq!(sent.len(), 1, "{actions:?}");
    sent.into_iter().next().unwrap()
}

pub(crate) fn error_code(actions: &[Action]) -> String {
    let frame = only(actions);
    assert_eq!(frame[0], "error", "{frame}");
    frame.as_array().unwrap().last().unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub(crate) fn data(session: &Session) -> SessionData {
    SessionData::parse(&session.data)
}

/// A backend with `room_0` and `room_1`, and a session logged in as `alice` (with a profile if
/// asked).
pub(crate) fn setup(profile: bool) -> (CoreBackend, Session) {
    let backend = CoreBackend::new();
    backend.add_room("room_0", "text");
    backend.add_room("room_1", "text");
    if profile {
        with_profile(&backend, "alice", r#"{"display_name":"Alice"}"#);
    }
    let (session, _) = send(
        &backend,
        &fresh(),
        json!(["authenticate", {"client_id": "alice"}]),
    );
    (backend, session)
}

/// Asserts that a request changed nothing the protocol keeps: every session field and
/// [`SessionData`]. Only the rate limiter's bucket, kept beside it in `session.data`, counts
/// every request.
pub(crate) fn assert_unchanged(after: &Session, before: &Session, why: &str) {
    let without_data = |s: &Session| Session {
        data: String::new(),
        ..s.clone()
    };
    assert_eq!(without_data(after), without_data(before), "{why}");
    assert_eq!(data(after), data(before), "{why}");
}

/// The user venueless client `client_id` names (made on first sight, as a login does), with
/// `profile` set as another connection would set it.
pub(crate) fn with_profile(backend: &CoreBackend, client_id: &str, profile: &str) {
    let user = backend.login(crate::CHANNEL, client_id).unwrap();
    backend
        .set_profile(&Principal::Server, &user.id, profile)
        .unwrap();
}

/// The rooms the `Subscribe` actions grant to the session's user (the gateway's view).
pub(crate) fn subscribed(
    backend: &CoreBackend,
    session: &Session,
    actions: &[Action],
) -> Vec<String> {
    backend.subscribed(actions, session.user.as_deref())
}

pub(crate) fn joined() -> (CoreBackend, Session) {
    let (backend, session) = setup(true);
    let (session, actions) = send(
        &backend,
        &session,
        json!(["chat.join", 1, {"channel": "room_0"}]),
    );
    assert_eq!(only(&actions)[0], "success");
    (backend, session)
}

pub(crate) fn hello(channel: &str) -> Value {
    json!(["chat.send", 9, {"channel": channel, "event_type": "channel.message",
        "content": {"type": "text", "body": "Hello world"}}])
}

/// The session as another connection of the same user would have it (nothing subscribed).
pub(crate) fn fresh_user(session: &Session) -> Session {
    let mut data = data(session);
    data.subscribed.clear();
    Session {
        data: data.to_json(),
        ..session.clone()
    }
}

impl SessionData {
    /// Test shorthand: these rooms joined.
    pub(crate) fn with_joined(mut self, rooms: &[&str]) -> Self {
        self.joined = rooms.iter().map(|r| r.to_string()).collect();
        self
    }
}

/// `sender` (a member) says `body` in `room`, as a client of any protocol would.
pub(crate) fn post(backend: &CoreBackend, room: &str, sender: &str, body: &str) -> u64 {
    backend
        .process_message(crate::backend::NewMessage {
            origin: None,
            room: room.into(),
            sender: sender.into(),
            channel: "test".into(),
            event_type: "channel.message".into(),
            content: json!({"type": "text", "body": body}).to_string(),
        })
        .unwrap()
        .event_id
}

/// The frames a note makes `session` send, and the session after.
pub(crate) fn note(
    backend: &CoreBackend,
    session: &Session,
    note: &wcc_interface::Note,
) -> (Session, Vec<Value>) {
    let outcome = crate::notified::notified(session.clone(), &note.to_json(), backend);
    (outcome.session.clone(), frames(&outcome.actions))
}
