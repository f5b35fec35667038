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
use wcc_interface::Failure;

use crate::backend::Backend;
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
    let request = match frame {
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
    };
    match request {
        Ok(request) => handle(session, request, backend),
        Err(error) => Outcome {
            session,
            actions: vec![Action::Send(error.to_frame())],
        },
    }
}

/// Carries out one decoded request.
pub fn handle(session: Session, request: Request, backend: &impl Backend) -> Outcome {
    let Stored { data, mut bucket } = Stored::parse(&session.data);
    let mut conn = Conn {
        connection: session.connection_id.clone(),
        user: session.user.clone(),
        data,
        actions: Vec::new(),
        backend,
    };
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
    match taken.and_then(|()| conn.dispatch(request)) {
        Ok(Some(payload)) => {
            // Only requests with an id answer `success`; ping and id-less authenticate pushed
            // their own answer already.
            if let Some(id) = &id {
                conn.actions.push(Action::Send(codec::success(id, payload)));
            }
        }
        Ok(None) => {}
        Err(refusal) => conn.actions.push(Action::Send(codec::error(
            id.as_ref(),
            refusal.code,
            &refusal.message,
        ))),
    }
    let stored = Stored {
        data: conn.data,
        bucket,
    };
    let session = Session {
        user: conn.user,
        data: stored.to_json(),
        ..session
    };
    Outcome {
        session,
        actions: conn.actions,
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
}

/// `Ok(Some(payload))`: answer `success` with it; `Ok(None)`: already answered.
pub(crate) type Handled = Result<Option<Value>, Refusal>;

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
