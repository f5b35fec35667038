//! The actionhero state machine: a request (or a note) and the connection's session in, the new
//! session and what the gateway should do out.
//!
//! Every request gets exactly one reply carrying the running `messageCount`, except `quit`,
//! which says goodbye and closes. Every verb and action but `quit` takes a token from the
//! connection's rate limiter first; over the limit it is answered with upstream's
//! [`TOO_MANY_REQUESTS`] and not carried out.
//!
//! - [`rooms`]: `roomChange`, `roomLeave`, `roomView`, `listenToRoom`, `silenceRoom`, `say`,
//! - [`params`]: the param verbs and `detailsView`,
//! - [`actions`]: the actions (`status`, `register`, `login`) and `documentation`.

mod actions;
mod params;
mod rooms;

use channel_kit::ratelimit::Limit;
use channel_kit::send_run::{handle_alone, received_together, Begun, TwoHalves};
use channel_kit::{Action, Backend, Frame, NewMessage, Outcome, Principal, Session};
use serde_json::{json, Map, Value};
use wcc_interface::{ids, Failure, FailureCode, Note, StoredMessage};

use crate::codec::{self, Request, Unreadable, Verb};
use crate::session::State;
use crate::{bayeux, render, Framing, DEFAULT_ROOM_KEY, DEFAULT_WELCOME, WELCOME_KEY};

pub use actions::{unknown_action, ACTIONS};
pub use params::{MAX_PARAMS, MAX_PARAM_BYTES};

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
        FailureCode::Suspended => "this account is banned from the server".into(),
        FailureCode::Invalid => failure.message,
        FailureCode::Throttled => format!("too many attempts: {}", failure.message),
        FailureCode::Unavailable => "the server could not do that now; try again".into(),
    }
}

/// A verb's answer: upstream's `status` (`OK` or the refusal) and `data`, left out where
/// upstream's is undefined.
struct Answer {
    status: String,
    data: Option<Value>,
}

impl Answer {
    fn ok(data: Value) -> Self {
        Self {
            status: "OK".into(),
            data: Some(data),
        }
    }

    /// Done, with nothing to say (upstream's `data` is undefined).
    fn done() -> Self {
        Self {
            status: "OK".into(),
            data: None,
        }
    }

    fn refused(text: impl Into<String>, data: Option<Value>) -> Self {
        Self {
            status: text.into(),
            data,
        }
    }
}

/// A new line connection (TCP, or a plain websocket): greeted, in the default room when there
/// is one it may join.
pub fn opened(session: Session, backend: &impl Backend) -> Outcome {
    let mut conn = Conn::new(session, backend, Framing::Lines);
    conn.start();
    let greeting = conn.welcome();
    conn.reply(greeting);
    conn.finish()
}

/// One line (or plain websocket frame) arrived.
pub fn received(session: Session, frame: Frame, backend: &impl Backend) -> Outcome {
    handle_alone(&Lines(backend), session, read(frame), backend)
}

/// Lines that arrived together (a client that types ahead, or pastes), in order: `say`s that
/// follow each other are stored with one call to the core and answered in their places
/// (`channel_kit::send_run`); nothing after a `quit` is carried out.
pub fn received_frames(session: Session, frames: Vec<Frame>, backend: &impl Backend) -> Outcome {
    received_together(&Lines(backend), session, frames, backend)
}

/// A line as read.
enum Line {
    /// Telnet's Enter: no answer, not counted.
    Blank,
    Request(Result<Request, Unreadable>),
}

fn read(frame: Frame) -> Line {
    Line::Request(match frame {
        Frame::Text(text) if codec::is_blank(&text) => return Line::Blank,
        Frame::Text(text) => codec::decode(&text),
        Frame::Binary(_) => Err(Unreadable::Line("lines must be UTF-8 text".into())),
        Frame::Oversize(len) => Err(Unreadable::Line(format!(
            "a line of {len} bytes is over the server's limit"
        ))),
    })
}

/// The line framing's requests in two halves around the store of a `say`.
struct Lines<'a, B>(&'a B);

/// A `say` that passed the rate limit and its checks, waiting for its message to be stored:
/// the `messageCount` its answer carries.
struct PendingSay {
    count: u64,
}

impl<B: Backend> TwoHalves for Lines<'_, B> {
    type Request = Line;
    type Pending = PendingSay;

    fn read(&self, frame: Frame) -> Line {
        read(frame)
    }

    fn is_plain_send(&self, line: &Line) -> bool {
        matches!(line, Line::Request(Ok(Request::Verb(Verb::Say(_)))))
    }

    fn begin(&self, session: Session, line: Line) -> Begun<PendingSay> {
        let mut conn = Conn::new(session, self.0, Framing::Lines);
        let Line::Request(request) = line else {
            return Begun::Done(conn.finish());
        };
        conn.state.message_count += 1;
        match conn.begin(request) {
            Some(msg) => {
                let count = conn.state.message_count;
                Begun::Store(conn.finish(), msg, PendingSay { count })
            }
            None => Begun::Done(conn.finish()),
        }
    }

    fn finish(
        &self,
        session: Session,
        say: PendingSay,
        stored: Result<StoredMessage, Failure>,
    ) -> Outcome {
        let mut conn = Conn::new(session, self.0, Framing::Lines);
        conn.said(say.count, stored);
        conn.finish()
    }
}

/// A note from an operator: moved into or out of a room, or a message for this connection.
pub fn notified(session: Session, note: &str, backend: &impl Backend, framing: Framing) -> Outcome {
    let mut conn = Conn::new(session, backend, framing);
    match Note::parse(note) {
        Some(Note::Joined { room }) if conn.state.room.as_deref() != Some(&room) => {
            // The operator decides: no join rule, and the membership is already made. The
            // core still grants the subscription: a note alone subscribes nothing.
            if let Ok(subscribe) = conn.subscription(&room) {
                conn.leave_current();
                conn.state.room = Some(room.clone());
                conn.act(subscribe);
                conn.reply(codec::api_event("joined", &room));
            }
        }
        Some(Note::Left { room }) if conn.state.room.as_deref() == Some(&room) => {
            conn.state.room = None;
            conn.release(&room);
            conn.reply(codec::api_event("left", &room));
        }
        Some(note @ Note::Message { .. }) => {
            if let Some(message) = render::note_message(&note) {
                conn.reply(message);
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

/// What a call sends, in order, before it is framed.
enum Out {
    /// An actionhero message for the client (a reply, chat, an api event).
    Message(Value),
    /// A Bayeux message of the session itself (Bayeux framing only).
    Bayeux(Value),
    Act(Action),
}

/// One call being carried out.
pub(crate) struct Conn<'a, B> {
    pub(crate) session: Session,
    pub(crate) state: State,
    out: Vec<Out>,
    backend: &'a B,
    framing: Framing,
}

impl<'a, B: Backend> Conn<'a, B> {
    pub(crate) fn new(session: Session, backend: &'a B, framing: Framing) -> Self {
        Self {
            state: State::parse(&session.data),
            session,
            out: Vec::new(),
            backend,
            framing,
        }
    }

    /// The new session and the actions, messages framed: lines one per frame; Bayeux messages
    /// all in one frame, after the (un)subscriptions made on the way and before a close.
    pub(crate) fn finish(self) -> Outcome {
        let mut actions = Vec::new();
        let mut batch = Vec::new();
        for out in self.out {
            match (out, self.framing) {
                (Out::Message(message), Framing::Lines) => {
                    actions.push(Action::Send(message.to_string()))
                }
                (Out::Message(message), Framing::Bayeux) => {
                    batch.push(self.framing.deliverable(message))
                }
                (Out::Bayeux(message), _) => batch.push(message),
                (Out::Act(close @ Action::Close(..)), _) => {
                    if !batch.is_empty() {
                        actions.push(Action::Send(bayeux::encode(std::mem::take(&mut batch))));
                    }
                    actions.push(close);
                }
                (Out::Act(action), _) => actions.push(action),
            }
        }
        if !batch.is_empty() {
            actions.push(Action::Send(bayeux::encode(batch)));
        }
        Outcome {
            session: Session {
                data: self.state.to_json(),
                ..self.session
            },
            actions,
        }
    }

    /// An actionhero message for the client.
    pub(crate) fn reply(&mut self, message: Value) {
        self.out.push(Out::Message(message));
    }

    /// A Bayeux message of the session itself.
    pub(crate) fn bayeux(&mut self, message: Value) {
        self.out.push(Out::Bayeux(message));
    }

    pub(crate) fn act(&mut self, action: Action) {
        self.out.push(Out::Act(action));
    }

    /// Starts the connection once: its default params and the default room. Upstream makes
    /// the default room at boot; here the first connection does.
    pub(crate) fn start(&mut self) {
        if self.state.started {
            return;
        }
        self.state.started = true;
        if self.state.connected_at == 0 {
            self.state.connected_at = self.backend.now_ms();
        }
        if self.framing == Framing::Lines {
            // Upstream's socket server gives every connection these.
            self.state.params.insert("limit".into(), json!(100));
            self.state.params.insert("offset".into(), json!(0));
        }
        let default_room = self
            .backend
            .setting(DEFAULT_ROOM_KEY)
            .unwrap_or_else(|| DEFAULT_ROOM.to_owned());
        let default_room = default_room.trim();
        if !default_room.is_empty() {
            // Refused (a join rule, an outage) the connection starts in no room: the client
            // can pick another. The default room is the server's, from its configuration.
            let _ = self
                .backend
                .create_room(&Principal::Server, default_room, default_room, "text")
                .map_err(refusal)
                .and_then(|_| self.enter(default_room));
        }
    }

    /// The greeting, naming the room the connection is in.
    pub(crate) fn welcome(&self) -> Value {
        let text = self
            .backend
            .setting(WELCOME_KEY)
            .unwrap_or_else(|| DEFAULT_WELCOME.to_owned());
        codec::welcome(&text, self.state.room.as_deref())
    }

    /// Carries out one request (already counted) and replies to it.
    pub(crate) fn answer(&mut self, request: Result<Request, Unreadable>) {
        if let Some(msg) = self.begin(request) {
            let stored = self.backend.process_message(msg);
            self.said(self.state.message_count, stored);
        }
    }

    /// Carries out one request (already counted) and replies to it, but for a `say` that
    /// passed the rate limit and its checks: its message comes back, to be stored and then
    /// answered with [`Conn::said`].
    fn begin(&mut self, request: Result<Request, Unreadable>) -> Option<NewMessage> {
        let count = self.state.message_count;
        let request = match request {
            Ok(request) => request,
            Err(Unreadable::Verb(text)) => {
                self.reply(codec::verb_reply(&text, Some(Value::Null), count));
                return None;
            }
            Err(Unreadable::Line(text)) => {
                self.reply(codec::action_reply(Map::new(), Some(&text), count));
                return None;
            }
        };
        // Leaving is never refused.
        if let Request::Verb(verb @ (Verb::Quit | Verb::Exit)) = request {
            let word = if verb == Verb::Quit { "quit" } else { "exit" };
            self.reply(codec::bye(&format!("{word} requested")));
            self.act(Action::Close(1000, word.into()));
            return None;
        }
        let throttled = self.take_token().is_err();
        let reply = match request {
            Request::Verb(_) if throttled => {
                codec::verb_reply(TOO_MANY_REQUESTS, Some(Value::Null), count)
            }
            Request::Action { .. } if throttled => {
                codec::action_reply(Map::new(), Some(TOO_MANY_REQUESTS), count)
            }
            // Upstream's `say` answers with no `data`, refused or not.
            Request::Verb(Verb::Say(message)) => match self.say_message(message) {
                Ok(msg) => return Some(msg),
                Err(text) => codec::verb_reply(&text, None, count),
            },
            Request::Verb(verb) => {
                let answer = self.verb(verb);
                codec::verb_reply(&answer.status, answer.data, count)
            }
            Request::Action { name, params } => {
                self.state.total_actions += 1;
                let params = params.unwrap_or_else(|| self.stored_params());
                match self.action(&name, &params) {
                    Ok(fields) => codec::action_reply(fields, None, count),
                    Err(text) => codec::action_reply(Map::new(), Some(&text), count),
                }
            }
        };
        self.reply(reply);
        None
    }

    /// Answers the `say` that was request number `count` with what the core made of its
    /// message.
    fn said(&mut self, count: u64, stored: Result<StoredMessage, Failure>) {
        let status = match stored {
            Ok(_) => "OK".to_owned(),
            Err(failure) => refusal(failure),
        };
        self.reply(codec::verb_reply(&status, None, count));
    }

    fn verb(&mut self, verb: Verb) -> Answer {
        match verb {
            Verb::RoomChange(room) => self.room_change(&room),
            Verb::RoomLeave => self.room_leave(),
            Verb::RoomView => self.room_view(),
            Verb::ListenToRoom(room) => self.listen(room),
            Verb::SilenceRoom(room) => self.silence(&room),
            Verb::DetailsView => Answer::ok(self.details_view()),
            Verb::Documentation => Answer::ok(actions::documentation()),
            Verb::ParamAdd { key, value } => self.param_add(key, value),
            Verb::ParamView(key) => self.param_view(&key),
            Verb::ParamsView => Answer::ok(json!(self.state.params)),
            Verb::ParamDelete(key) => {
                self.state.params.remove(&key);
                Answer::ok(Value::Null)
            }
            Verb::ParamsDelete => {
                self.state.params.clear();
                Answer::ok(Value::Null)
            }
            // Answered before any verb runs: leaving, and `say` (stored on its own or with
            // the says around it).
            Verb::Quit | Verb::Exit | Verb::Say(_) => Answer::done(),
        }
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
}
