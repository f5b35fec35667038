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
use channel_kit::send_run::{handle_alone, received_together, Begun, TwoHalves};
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
    handle_alone(&Halves(backend), session, decode(frame), backend)
}

/// Frames that arrived together, in order: sends that follow each other are stored with one
/// call to the core and answered in their places (`channel_kit::send_run`). Nothing in
/// venueless closes the connection.
pub fn received_frames(session: Session, frames: Vec<Frame>, backend: &impl Backend) -> Outcome {
    received_together(&Halves(backend), session, frames, backend)
}

/// venueless's requests in two halves around the store of a `chat.send`.
struct Halves<'a, B>(&'a B);

impl<B: Backend> TwoHalves for Halves<'_, B> {
    type Request = Result<Request, ProtocolError>;
    type Pending = PendingSend;

    fn read(&self, frame: Frame) -> Self::Request {
        decode(frame)
    }

    /// A `chat.send` that replaces nothing (an edit is answered with the edited message).
    fn is_plain_send(&self, request: &Self::Request) -> bool {
        matches!(request, Ok(Request::Send { replaces: None, .. }))
    }

    fn begin(&self, session: Session, request: Self::Request) -> Begun<PendingSend> {
        match request {
            Ok(request) => begin(session, request, self.0),
            Err(error) => Begun::Done(answer_error(session, error)),
        }
    }

    fn finish(
        &self,
        session: Session,
        send: PendingSend,
        stored: Result<StoredMessage, Failure>,
    ) -> Outcome {
        finish(session, send, stored, self.0)
    }
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

/// A `chat.send` that passed the rate limit and the protocol's checks, waiting for its message
/// to be stored.
struct PendingSend {
    id: Option<Value>,
    channel: String,
}

/// Takes the request's token from the connection's rate limiter, then carries it out; a send
/// that passed its checks comes back with its message still to be stored.
fn begin(session: Session, request: Request, backend: &impl Backend) -> Begun<PendingSend> {
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
        return Begun::Store(so_far, msg, PendingSend { id, channel });
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
