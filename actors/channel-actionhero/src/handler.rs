//! The actionhero state machine: a line (or a note) and the connection's session in, the new
//! session and what the gateway should do out.
//!
//! Every non-blank line gets exactly one response line carrying the running `messageCount`; no
//! input closes the connection except `quit`. Every verb and action but `quit` takes a token
//! from the connection's rate limiter first; over the limit it is answered with upstream's
//! [`TOO_MANY_REQUESTS`] and not carried out.

use channel_kit::ratelimit::Limit;
use channel_kit::{Action, Backend, Frame, NewMessage, Outcome, Principal, Session};
use serde_json::{json, Map, Value};
use wcc_interface::{ids, Failure, FailureCode, Note};

use crate::codec::{self, Request, Verb};
use crate::render;
use crate::session::State;
use crate::{CHANNEL, DEFAULT_ROOM_KEY, DEFAULT_WELCOME, WELCOME_KEY};

/// The neutral event type of chat messages, shared with every protocol.
const MESSAGE_EVENT_TYPE: &str = "channel.message";

/// Upstream's answer to an action it does not have.
pub const UNKNOWN_ACTION: &str = "unknown action or invalid apiVersion";

/// Upstream's answer to a connection that asks too much at once (its `simultaneousActions`
/// guard); here, over the connection's rate limit.
pub const TOO_MANY_REQUESTS: &str = "you have too many pending requests";

/// The default room when the setting is absent; an empty setting turns it off.
pub const DEFAULT_ROOM: &str = "defaultRoom";

/// A refusal as the client reads it.
type Refusal = String;

/// The words a client sees for a core failure.
fn refusal(failure: Failure) -> Refusal {
    match failure.code {
        FailureCode::UnknownRoom => "room does not exist".into(),
        FailureCode::NotMember => "connection not in this room".into(),
        FailureCode::Denied => "not authorized".into(),
        FailureCode::BadCredentials => "wrong login or password".into(),
        FailureCode::Exists => "that login is taken".into(),
        FailureCode::UnknownUser => "no such user".into(),
        FailureCode::Banned => "banned".into(),
        FailureCode::Invalid => failure.message,
        FailureCode::Throttled => format!("too many attempts: {}", failure.message),
        FailureCode::Unavailable => "the server could not do that now; try again".into(),
    }
}

/// A new connection: greet it, in the default room when there is one it may join.
pub fn opened(session: Session, backend: &impl Backend) -> Outcome {
    let mut conn = Conn::new(session, backend);
    conn.state.connected_at = backend.now_ms();
    let default_room = backend
        .setting(DEFAULT_ROOM_KEY)
        .unwrap_or_else(|| DEFAULT_ROOM.to_owned());
    let default_room = default_room.trim();
    if !default_room.is_empty() {
        // Upstream makes the default room at start; here the first connection does, once.
        // Refused (a join rule, an outage) the greeting still goes out, with no room: the
        // client can pick another.
        // The default room is the server's, from its configuration.
        let _ = backend
            .create_room(&Principal::Server, default_room, default_room, "text")
            .map_err(refusal)
            .and_then(|_| conn.enter(default_room));
    }
    let text = backend
        .setting(WELCOME_KEY)
        .unwrap_or_else(|| DEFAULT_WELCOME.to_owned());
    let greeting = codec::welcome(&text, conn.state.room.as_deref());
    conn.send(greeting);
    conn.finish()
}

/// One line (or websocket frame) arrived.
pub fn received(session: Session, frame: Frame, backend: &impl Backend) -> Outcome {
    let mut conn = Conn::new(session, backend);
    let request = match frame {
        // Telnet's Enter: no answer, not counted.
        Frame::Text(text) if codec::is_blank(&text) => return conn.finish(),
        Frame::Text(text) => codec::decode(&text).map_err(|unreadable| unreadable.0),
        Frame::Binary(_) => Err("lines must be UTF-8 text".to_owned()),
        Frame::Oversize(len) => Err(format!("a line of {len} bytes is over the server's limit")),
    };
    conn.state.message_count += 1;
    let count = conn.state.message_count;
    // Lines that could not be read do no work, and leaving is never refused.
    let throttled = match &request {
        Ok(Request::Verb(Verb::Quit)) | Err(_) => false,
        Ok(_) => conn.take_token().is_err(),
    };
    let line = match request {
        Err(text) => codec::error(&text, count),
        Ok(Request::Verb(Verb::Quit)) => {
            conn.send(codec::bye(count));
            conn.actions.push(Action::Close(1000, "quit".into()));
            return conn.finish();
        }
        Ok(Request::Verb(_)) if throttled => codec::error(TOO_MANY_REQUESTS, count),
        Ok(Request::Action { .. }) if throttled => {
            codec::action_response(Map::new(), Some(TOO_MANY_REQUESTS), count)
        }
        Ok(Request::Verb(verb)) => match conn.verb(verb) {
            Ok(data) => codec::ok(data, count),
            Err(text) => codec::error(&text, count),
        },
        Ok(Request::Action { name, params }) => {
            conn.state.total_actions += 1;
            let params = params.unwrap_or_else(|| conn.stored_params());
            match conn.action(&name, &params) {
                Ok(fields) => codec::action_response(fields, None, count),
                Err(text) => codec::action_response(Map::new(), Some(&text), count),
            }
        }
    };
    conn.send(line);
    conn.finish()
}

/// A note from an operator: moved into or out of a room, or a message for this connection.
pub fn notified(session: Session, note: &str, backend: &impl Backend) -> Outcome {
    let mut conn = Conn::new(session, backend);
    match Note::parse(note) {
        Some(Note::Joined { room }) if conn.state.room.as_deref() != Some(&room) => {
            // The operator decides: no join rule, and the membership is already made. The
            // core still grants the subscription: a note alone subscribes nothing.
            if let Ok(subscribe) = conn.subscription(&room) {
                conn.leave_current();
                conn.state.room = Some(room.clone());
                conn.actions.push(subscribe);
                conn.send(codec::api_event("joined", &room));
            }
        }
        Some(Note::Left { room }) if conn.state.room.as_deref() == Some(&room) => {
            conn.state.room = None;
            conn.release(&room);
            conn.send(codec::api_event("left", &room));
        }
        Some(note @ Note::Message { .. }) => {
            if let Some(line) = render::note_message(&note) {
                conn.send(line);
            }
        }
        _ => {}
    }
    conn.finish()
}

/// The connection is gone. Its guest exists only for it, so it is deleted: its memberships and
/// its record go, and nothing of the connection stays in the core but what it said. The guest's
/// id follows from the connection's, so this finds it even if the session never named it (the
/// call that made it failed before the gateway took its answer). A logged-in user keeps their
/// memberships, as accounts do on every protocol.
pub fn closed(session: Session, backend: &impl Backend) {
    if let Some(guest) = ids::guest_id(&session.connection_id) {
        end_guest(backend, &guest);
    }
}

/// Deletes `user` if it is a guest (a guest may delete itself). Best effort: a guest this misses
/// is deleted by the core when the gateway reports its session over.
fn end_guest(backend: &impl Backend, user: &str) {
    if ids::is_guest(user) {
        let _ = backend.delete_user(&Principal::user(user), user);
    }
}

/// One call being carried out.
struct Conn<'a, B> {
    session: Session,
    state: State,
    actions: Vec<Action>,
    backend: &'a B,
}

impl<'a, B: Backend> Conn<'a, B> {
    fn new(session: Session, backend: &'a B) -> Self {
        Self {
            state: State::parse(&session.data),
            session,
            actions: Vec::new(),
            backend,
        }
    }

    fn finish(self) -> Outcome {
        Outcome {
            session: Session {
                data: self.state.to_json(),
                ..self.session
            },
            actions: self.actions,
        }
    }

    fn send(&mut self, line: String) {
        self.actions.push(Action::Send(line));
    }

    /// A token from the connection's rate limiter; `Err(ms)` until there is one.
    fn take_token(&mut self) -> Result<(), u64> {
        let limit = Limit::from_settings(self.backend);
        self.state.bucket.take(limit, self.backend.now_ms())
    }

    /// The connection's user; before it logs in, its guest (named after the connection, made
    /// on first need).
    fn user(&mut self) -> Result<String, Refusal> {
        if let Some(user) = &self.session.user {
            return Ok(user.clone());
        }
        let user = self
            .backend
            .guest(&self.session.connection_id)
            .map_err(refusal)?;
        self.session.user = Some(user.id.clone());
        Ok(user.id)
    }

    fn verb(&mut self, verb: Verb) -> Result<Value, Refusal> {
        match verb {
            Verb::RoomChange(room) => self.enter(&room).map(|()| Value::Null),
            Verb::RoomLeave => {
                if self.state.room.is_none() {
                    return Err("connection not in a room".into());
                }
                self.leave_current();
                Ok(Value::Null)
            }
            Verb::RoomView => {
                let room = self.current_room()?;
                self.room_status(&room)
            }
            Verb::ListenToRoom(room) => self.listen(room).map(|()| Value::Null),
            Verb::SilenceRoom(room) => {
                let before = self.state.listening.len();
                self.state.listening.retain(|r| *r != room);
                if self.state.listening.len() == before {
                    return Err("connection not listening to this room".into());
                }
                self.release(&room);
                Ok(Value::Null)
            }
            Verb::Say(message) => self.say(message).map(|()| Value::Null),
            Verb::DetailsView => Ok(self.details()),
            Verb::ParamAdd { key, value } => {
                self.state.params.insert(key, value);
                Ok(Value::Null)
            }
            Verb::ParamView(key) => Ok(json!(self.state.params.get(&key))),
            Verb::ParamsView => Ok(json!(self.state.params)),
            Verb::ParamDelete(key) => {
                self.state.params.remove(&key);
                Ok(Value::Null)
            }
            Verb::ParamsDelete => {
                self.state.params.clear();
                Ok(Value::Null)
            }
            // Answered by `received`, which also closes.
            Verb::Quit => Ok(Value::Null),
        }
    }

    fn current_room(&self) -> Result<String, Refusal> {
        self.state
            .room
            .clone()
            .ok_or_else(|| "connection not in a room".into())
    }

    /// Makes `room` the connection's room, leaving the one it was in.
    fn enter(&mut self, room: &str) -> Result<(), Refusal> {
        if self.state.room.as_deref() == Some(room) {
            return Err("connection already in this room".into());
        }
        self.may_join(room)?;
        let user = self.user()?;
        let actor = Principal::user(&user);
        self.backend
            .join(&actor, room, &user, CHANNEL)
            .map_err(refusal)?;
        let subscribe = self.subscription(room)?;
        self.leave_current();
        self.state.room = Some(room.to_owned());
        self.actions.push(subscribe);
        Ok(())
    }

    /// The core's grant for this connection's user to hear `room`, as the gateway's action.
    fn subscription(&mut self, room: &str) -> Result<Action, Refusal> {
        let user = self.user()?;
        self.backend
            .grant_subscription(&Principal::user(user), room)
            .map(Action::Subscribe)
            .map_err(refusal)
    }

    /// Leaves the current room, if any: the membership, and its events unless listened to.
    fn leave_current(&mut self) {
        let Some(room) = self.state.room.take() else {
            return;
        };
        if let Some(user) = &self.session.user {
            // A deleted room has no membership left to end.
            let _ = self
                .backend
                .leave(&Principal::user(user), &room, user, CHANNEL);
        }
        self.release(&room);
    }

    /// Stops `room`'s events unless the connection still hears it another way.
    fn release(&mut self, room: &str) {
        if !self.state.hears(room) {
            self.actions.push(Action::Unsubscribe(room.to_owned()));
        }
    }

    fn listen(&mut self, room: String) -> Result<(), Refusal> {
        if self.state.listening.contains(&room) {
            return Err("connection already listening to this room".into());
        }
        self.may_join(&room)?;
        let subscribe = self.subscription(&room)?;
        self.actions.push(subscribe);
        self.state.listening.push(room);
        Ok(())
    }

    /// The room exists and the connection meets its join rule. Rules are checked here only: on
    /// joining, never again while the connection stays.
    fn may_join(&self, room: &str) -> Result<(), Refusal> {
        // One call: asking for the rule of a room that does not exist is `unknown_room`.
        let Some(rule) = self.backend.get_join_rule(room).map_err(refusal)? else {
            return Ok(());
        };
        let wanted: Option<Value> = serde_json::from_str(&rule.value).ok();
        let details = self.details();
        if wanted.is_some() && details.get(&rule.key) == wanted.as_ref() {
            Ok(())
        } else {
            Err("not authorized to join room".into())
        }
    }

    fn say(&mut self, message: String) -> Result<(), Refusal> {
        let room = self.current_room()?;
        let user = self.user()?;
        let content = json!({"type": "text", "body": message}).to_string();
        self.backend
            .process_message(NewMessage {
                room,
                sender: user,
                channel: CHANNEL.into(),
                event_type: MESSAGE_EVENT_TYPE.into(),
                content,
            })
            .map(drop)
            .map_err(refusal)
    }

    /// The seed's roomStatus: `{room, membersCount, members: {id: {id, joinedAt}}}`.
    fn room_status(&self, room: &str) -> Result<Value, Refusal> {
        let user = self.session.user.clone().unwrap_or_default();
        let members = self
            .backend
            .members(&Principal::user(user), room)
            .map_err(refusal)?;
        let listed: Map<String, Value> = members
            .iter()
            .map(|m| {
                (
                    m.user.clone(),
                    json!({"id": m.user, "joinedAt": m.joined_at}),
                )
            })
            .collect();
        Ok(json!({"room": room, "membersCount": members.len(), "members": listed}))
    }

    /// The connection's details: what `detailsView` shows and join rules are checked against.
    fn details(&self) -> Value {
        let (ip, port) = split_address(&self.session.remote);
        let kind = if self.session.transport == wcc_interface::transport::TCP {
            "socket"
        } else {
            "websocket"
        };
        json!({
            "id": self.session.connection_id,
            "user": self.session.user,
            "type": kind,
            "remoteIP": ip,
            "remotePort": port,
            "authenticated": self.state.authenticated,
            "params": self.state.params,
            "connectedAt": self.state.connected_at,
            "room": self.state.room,
            "listeningTo": self.state.listening,
            "messageCount": self.state.message_count,
            "totalActions": self.state.total_actions,
            "pendingActions": 0,
        })
    }

    fn stored_params(&self) -> Map<String, Value> {
        self.state
            .params
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect()
    }

    fn action(
        &mut self,
        name: &str,
        params: &Map<String, Value>,
    ) -> Result<Map<String, Value>, Refusal> {
        let text = |key: &str| -> Result<String, Refusal> {
            match params.get(key) {
                Some(Value::String(value)) if !value.is_empty() => Ok(value.clone()),
                _ => Err(format!("{key} is a required parameter for this action")),
            }
        };
        match name {
            "register" => {
                let (login, password) = (text("login")?, text("password")?);
                let user = self
                    .backend
                    .register(CHANNEL, &login, &password, None, &self.session.remote)
                    .map_err(refusal)?;
                Ok(fields(json!({"user": {"id": user.id, "login": login}})))
            }
            "login" => {
                let (login, password) = (text("login")?, text("password")?);
                let user = self
                    .backend
                    .authenticate(CHANNEL, &login, &password, &self.session.remote)
                    .map_err(refusal)?;
                self.become_user(user.id.clone())?;
                Ok(fields(json!({
                    "authenticated": true,
                    "user": {"id": user.id, "login": login},
                })))
            }
            _ => Err(UNKNOWN_ACTION.into()),
        }
    }

    /// The connection is now `user`'s: its room membership moves with it (no join rule is
    /// checked again: the connection already joined), and its guest, if it had one, ends.
    fn become_user(&mut self, user: String) -> Result<(), Refusal> {
        let before = self.session.user.replace(user.clone());
        if let Some(before) = before.filter(|b| *b != user) {
            // Leaving its rooms as it goes.
            end_guest(self.backend, &before);
        }
        if let Some(room) = self.state.room.clone() {
            let actor = Principal::user(&user);
            self.backend
                .join(&actor, &room, &user, CHANNEL)
                .map_err(refusal)?;
        }
        self.state.authenticated = true;
        Ok(())
    }
}

fn fields(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// `ip:port` (or `[v6]:port`) -> (ip, port).
fn split_address(remote: &str) -> (String, Option<u16>) {
    match remote.rsplit_once(':') {
        Some((ip, port)) => (
            ip.trim_start_matches('[').trim_end_matches(']').to_owned(),
            port.parse().ok(),
        ),
        None => (remote.to_owned(), None),
    }
}
