//! The venueless state machine: one inbound frame and the connection's session in, the new
//! session and what the gateway should do out.
//!
//! Every request is answered (success or error) and no input closes the connection: bad frames
//! get a `protocol.*` error, refusals of the core get the venueless code for them (see
//! [`crate::codes`]). Actions come out in the order the gateway must perform them: subscriptions
//! before the reply, so that once a client sees `success` for a join, the room's events reach it.
//!
//! Every request but `ping` takes a token from the connection's rate limiter first; over the
//! limit it is answered `protocol.denial_of_service` and not carried out.

use channel_kit::ratelimit::Limit;
use serde_json::Value;
use wcc_interface::{Failure, StoredMessage};

use crate::backend::{Backend, NewMessage};
use crate::codec::{self, ProtocolError, Request};
use crate::codes::{self, Context};
use crate::session::{Action, Frame, Outcome, Session, SessionData, Stored};

/// A connection opened. venueless servers wait for `authenticate`; there is no greeting.
pub fn opened(session: Session) -> Outcome {
    Outcome {
        session,
        actions: Vec::new(),
    }
}

/// One frame arrived.
pub fn received(session: Session, frame: Frame, backend: &impl Backend) -> Outcome {
    match decode(frame) {
        Ok(request) => handle(session, request, backend),
        Err(error) => answer_error(session, error),
    }
}

/// Most sends stored with one call to the core (within `messages::MAX_MESSAGES_AT_ONCE`).
const MOST_SENDS_AT_ONCE: usize = 64;

/// Frames that arrived together, in order. Sends that follow each other are stored with one
/// call to the core (`process_messages`, which takes a run of one sender's messages to one
/// room as one store call) and answered in their places; anything else first has the sends
/// before it stored, then is handled alone. Nothing in venueless closes the connection.
pub fn received_frames(session: Session, frames: Vec<Frame>, backend: &impl Backend) -> Outcome {
    let mut sends = Sends::default();
    let mut all = Outcome::nothing(session);
    for frame in frames {
        let request = decode(frame);
        let plain_send = matches!(request, Ok(Request::Send { replaces: None, .. }));
        if !plain_send || sends.to_store() == MOST_SENDS_AT_ONCE {
            all = sends.flush(all, backend);
        }
        let Outcome { session, actions } = match request {
            Ok(request) if plain_send => match begin(all.session, request, backend) {
                Begun::Done(outcome) => {
                    sends.answered(outcome.actions);
                    Outcome::nothing(outcome.session)
                }
                Begun::Store(so_far, send) => {
                    sends.answered(so_far.actions);
                    sends.waiting(send);
                    Outcome::nothing(so_far.session)
                }
            },
            Ok(request) => handle(all.session, request, backend),
            Err(error) => answer_error(all.session, error),
        };
        all.session = session;
        all.actions.extend(actions);
    }
    sends.flush(all, backend)
}

fn decode(frame: Frame) -> Result<Request, ProtocolError> {
    match frame {
        Frame::Text(text) => codec::decode(&text),
        Frame::Binary(_) => Err(ProtocolError::new(
            None,
            codes::PROTOCOL_UNSUPPORTED_ENCODING,
            "binary (msgpack) frames are not supported; send JSON text frames",
        )),
        Frame::Oversize(len) => Err(ProtocolError::new(
            None,
            codes::PROTOCOL_FRAME_TOO_LARGE,
            format!("a frame of {len} bytes is over the server's limit"),
        )),
    }
}

fn answer_error(session: Session, error: ProtocolError) -> Outcome {
    Outcome {
        session,
        actions: vec![Action::Send(error.to_frame())],
    }
}

/// Carries out one decoded request.
pub fn handle(session: Session, request: Request, backend: &impl Backend) -> Outcome {
    match begin(session, request, backend) {
        Begun::Done(outcome) => outcome,
        Begun::Store(so_far, send) => {
            let stored = backend.process_message(send.msg.clone());
            let mut done = finish(so_far.session, send, stored, backend);
            done.actions.splice(0..0, so_far.actions);
            done
        }
    }
}

/// A request after its first half: answered, or a send whose message the core must store
/// before it can be answered (by [`finish`]).
enum Begun {
    Done(Outcome),
    /// The request's work so far (its session, and any frames before its answer).
    Store(Outcome, PendingSend),
}

/// A `chat.send` that passed the rate limit and the protocol's checks.
struct PendingSend {
    id: Option<Value>,
    channel: String,
    msg: NewMessage,
}

/// Takes the request's token from the connection's rate limiter, then carries it out; a send
/// that passed its checks comes back with its message still to be stored.
fn begin(session: Session, request: Request, backend: &impl Backend) -> Begun {
    let Stored { data, mut bucket } = Stored::parse(&session.data);
    let mut conn = Conn::of(&session, data, backend);
    let id = request.id().cloned();
    // Keep-alives are free: a quiet client is never refused for staying connected.
    let taken = match request {
        Request::Ping { .. } => Ok(()),
        _ => bucket
            .take(Limit::from_settings(backend), backend.now_ms())
            .or_else(|wait| {
                refuse(
                    codes::PROTOCOL_DENIAL_OF_SERVICE,
                    format!("too many requests; try again in {wait} ms"),
                )
            }),
    };
    let handled = taken.and_then(|()| conn.dispatch(request));
    if let Some((channel, msg)) = conn.to_store.take() {
        let so_far = conclude(conn, bucket, session, Vec::new());
        return Begun::Store(so_far, PendingSend { id, channel, msg });
    }
    let answer = answer(id.as_ref(), handled);
    Begun::Done(conclude(conn, bucket, session, answer))
}

/// Answers `send` with what the core made of its message.
fn finish(
    session: Session,
    send: PendingSend,
    stored: Result<StoredMessage, Failure>,
    backend: &impl Backend,
) -> Outcome {
    let Stored { data, bucket } = Stored::parse(&session.data);
    let mut conn = Conn::of(&session, data, backend);
    let handled = conn.sent(&send.channel, stored);
    let answer = answer(send.id.as_ref(), handled);
    conclude(conn, bucket, session, answer)
}

/// The frames that answer a request with id `id`, after the ones it already queued.
fn answer(id: Option<&Value>, handled: Handled) -> Vec<Action> {
    match handled {
        // Only requests with an id answer `success`; ping and id-less authenticate pushed
        // their own answer already.
        Ok(Some(payload)) => id
            .map(|id| Action::Send(codec::success(id, payload)))
            .into_iter()
            .collect(),
        Ok(None) => Vec::new(),
        Err(refusal) => vec![Action::Send(codec::error(
            id,
            refusal.code,
            &refusal.message,
        ))],
    }
}

/// The outcome of `conn`'s work: its actions, then `answer`; the session with its state.
fn conclude<B>(
    conn: Conn<'_, B>,
    bucket: channel_kit::ratelimit::Bucket,
    session: Session,
    answer: Vec<Action>,
) -> Outcome {
    let stored = Stored {
        data: conn.data,
        bucket,
    };
    let mut actions = conn.actions;
    actions.extend(answer);
    Outcome {
        session: Session {
            user: conn.user,
            data: stored.to_json(),
            ..session
        },
        actions,
    }
}

/// Sends waiting to be stored together, with the answers of refused ones in their places.
#[derive(Default)]
struct Sends {
    in_order: Vec<Waiting>,
}

enum Waiting {
    Answered(Vec<Action>),
    Stored(PendingSend),
}

impl Sends {
    fn answered(&mut self, actions: Vec<Action>) {
        self.in_order.push(Waiting::Answered(actions));
    }

    fn waiting(&mut self, send: PendingSend) {
        self.in_order.push(Waiting::Stored(send));
    }

    fn to_store(&self) -> usize {
        self.in_order
            .iter()
            .filter(|w| matches!(w, Waiting::Stored(_)))
            .count()
    }

    /// Stores what waits with one call (a lone send as `process_message`, as [`handle`] would)
    /// and appends every answer to `all`, in order.
    fn flush(&mut self, mut all: Outcome, backend: &impl Backend) -> Outcome {
        let msgs: Vec<NewMessage> = self
            .in_order
            .iter()
            .filter_map(|w| match w {
                Waiting::Stored(send) => Some(send.msg.clone()),
                Waiting::Answered(_) => None,
            })
            .collect();
        let mut stored = match msgs.len() {
            0 => Vec::new(),
            1 => msgs
                .into_iter()
                .map(|m| backend.process_message(m))
                .collect(),
            _ => backend.process_messages(msgs),
        }
        .into_iter();
        for waiting in std::mem::take(&mut self.in_order) {
            match waiting {
                Waiting::Answered(actions) => all.actions.extend(actions),
                Waiting::Stored(send) => {
                    let answer = stored
                        .next()
                        .unwrap_or_else(|| Err(Failure::unavailable("no answer for this message")));
                    let Outcome { session, actions } = finish(all.session, send, answer, backend);
                    all.session = session;
                    all.actions.extend(actions);
                }
            }
        }
        all
    }
}

/// Why a request was not done: a venueless error code and a readable reason.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

pub(crate) fn refuse<T>(code: &'static str, message: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal {
        code,
        message: message.into(),
    })
}

pub(crate) fn chat(failure: Failure) -> Refusal {
    Refusal {
        code: codes::for_failure(&failure, Context::Chat),
        message: failure.message,
    }
}

pub(crate) fn user_failure(failure: Failure) -> Refusal {
    Refusal {
        code: codes::for_failure(&failure, Context::User),
        message: failure.message,
    }
}

pub(crate) fn auth(failure: Failure) -> Refusal {
    Refusal {
        code: codes::for_failure(&failure, Context::Auth),
        message: failure.message,
    }
}

/// One request being carried out: the connection's state as it changes, and the actions so far.
pub(crate) struct Conn<'a, B> {
    /// This connection's id: notes for all of a user's sessions name the one they came from.
    pub(crate) connection: String,
    pub(crate) user: Option<String>,
    pub(crate) data: SessionData,
    pub(crate) actions: Vec<Action>,
    pub(crate) backend: &'a B,
    /// A send's message that passed its checks, with its channel: stored by [`begin`]'s caller,
    /// alone or with the sends around it, and answered by `Conn::sent`.
    pub(crate) to_store: Option<(String, NewMessage)>,
}

/// `Ok(Some(payload))`: answer `success` with it; `Ok(None)`: already answered.
pub(crate) type Handled = Result<Option<Value>, Refusal>;

impl<'a, B> Conn<'a, B> {
    /// The work of one request on `session`'s connection, whose state is `data`.
    fn of(session: &Session, data: SessionData, backend: &'a B) -> Self {
        Self {
            connection: session.connection_id.clone(),
            user: session.user.clone(),
            data,
            actions: Vec::new(),
            backend,
            to_store: None,
        }
    }
}

impl<B: Backend> Conn<'_, B> {
    fn dispatch(&mut self, request: Request) -> Handled {
        let user = match (&request, self.user.clone()) {
            (Request::Ping { ts }, _) => {
                self.actions
                    .push(Action::Send(codec::push("pong", ts.clone())));
                return Ok(None);
            }
            (
                Request::Authenticate {
                    id,
                    client_id,
                    token,
                },
                None,
            ) => return self.authenticate(id.is_some(), client_id.as_deref(), token.as_deref()),
            (Request::Authenticate { .. }, Some(_)) => {
                // Switching users on a live connection would leave subscriptions and presence
                // of the first user behind; a client must reconnect instead.
                return refuse(
                    codes::AUTH_ALREADY_AUTHENTICATED,
                    "this connection is already authenticated",
                );
            }
            (_, None) => return refuse(codes::PROTOCOL_UNAUTHENTICATED, "authenticate first"),
            (_, Some(user)) => user,
        };
        match request {
            Request::UserUpdate { profile, .. } => self.update_profile(&user, profile),
            Request::UserFetch { wanted, .. } => self.fetch_users(wanted),
            Request::Join { channel, .. } => self.join(&user, &channel),
            Request::Leave { channel, .. } => self.leave(&user, &channel),
            Request::Subscribe { channel, .. } => {
                let room = self.known_room(&channel)?;
                self.subscribe_to(&user, &room)?;
                self.channel_state(&user, &room).map(Some)
            }
            Request::Unsubscribe { channel, .. } => self.unsubscribe(&user, &channel),
            Request::Send {
                channel,
                event_type,
                content,
                replaces: Some(replaces),
                ..
            } => self.replace(&user, &channel, event_type, content, &replaces),
            Request::Send {
                channel,
                event_type,
                content,
                replaces: None,
                ..
            } => self.send(&user, &channel, event_type, content),
            Request::Fetch {
                channel,
                count,
                before_id,
                ..
            } => self.fetch(&user, &channel, count, before_id),
            Request::React {
                channel,
                event_id,
                reaction,
                delete,
                ..
            } => self.react(&user, &channel, event_id, &reaction, !delete),
            Request::MarkRead {
                channel, event_id, ..
            } => self.mark_read(&user, &channel, event_id),
            Request::Ping { .. } | Request::Authenticate { .. } => Ok(None),
        }
    }
}
