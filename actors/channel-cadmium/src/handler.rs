//! The Cadmium state machine: one inbound frame and the connection's session in, the new
//! session and what the gateway should do out.
//!
//! Every request gets exactly one reply, `ok: true` with its payload or `ok: false` with an
//! `errID`; no input closes the connection. Signing in (login, registration with
//! `loginOnSuccess`, `urn:cadmium:auth`, or the first request carrying a valid `authToken`)
//! subscribes the connection to the user's direct room, where private messages, edits, read
//! receipts and typing notifications for them arrive from every protocol.
//!
//! This file reads the frame, limits the rate and decides who a request acts as; the command
//! families are carried out in [`sign_in`], [`chat`] and [`edit`].

use channel_kit::send_run::{handle_alone, received_together, Begun, TwoHalves};
use channel_kit::{Action, Backend, Frame, NewMessage, Outcome, Principal, Session, Signal};
use serde_json::{json, Value};
use wcc_interface::{ids, Failure, StoredMessage};

use crate::codec::{self, Chat, Command, Error, Request, SignIn};
use crate::errors;
use crate::session::SessionData;
use crate::{Settings, CHANNEL};

mod chat;
mod edit;
mod sign_in;

/// Signal kinds (protocol-neutral).
pub const TYPING_SIGNAL: &str = "typing";
pub const READ_SIGNAL: &str = "read";

/// One frame arrived.
pub fn received(session: Session, frame: Frame, backend: &impl Backend) -> Outcome {
    let halves = Halves::new(backend);
    let request = halves.read(frame);
    handle_alone(&halves, session, request, backend)
}

/// Frames that arrived together, in order: private messages that follow each other are stored
/// with one call to the core and answered in their places (`channel_kit::send_run`).
pub fn received_frames(session: Session, frames: Vec<Frame>, backend: &impl Backend) -> Outcome {
    received_together(&Halves::new(backend), session, frames, backend)
}

/// A frame that could not be read as a request: its id and kind where they were read, and why.
type Unread = (String, String, Error);

/// Cadmium's requests in two halves around the store of a private message.
struct Halves<'a, B> {
    settings: Settings,
    backend: &'a B,
}

/// A private message that passed its checks, waiting for its message to be stored.
struct PendingMessage {
    id: String,
    kind: String,
}

impl<'a, B: Backend> Halves<'a, B> {
    fn new(backend: &'a B) -> Self {
        Self {
            settings: Settings::read(backend),
            backend,
        }
    }
}

impl<B: Backend> TwoHalves for Halves<'_, B> {
    type Request = Result<Request, Unread>;
    type Pending = PendingMessage;

    fn read(&self, frame: Frame) -> Self::Request {
        let text = match frame {
            Frame::Text(text) => text,
            Frame::Binary(_) => {
                let error = Error::new(errors::MALFORMED_MESSAGE, "send JSON in text frames");
                return Err((String::new(), String::new(), error));
            }
            Frame::Oversize(len) => {
                let error = Error::new(
                    errors::MALFORMED_MESSAGE,
                    format!("a frame of {len} bytes is over the server's limit"),
                );
                return Err((String::new(), String::new(), error));
            }
        };
        codec::decode(&text)
    }

    fn is_plain_send(&self, request: &Self::Request) -> bool {
        request.as_ref().is_ok_and(Request::is_private_message)
    }

    fn begin(&self, session: Session, request: Self::Request) -> Begun<PendingMessage> {
        let server = &self.settings.server_name;
        let request = match request {
            Ok(request) => request,
            Err((id, kind, error)) => {
                let frame = codec::error(&id, &kind, server, &error);
                return Begun::Done(Outcome {
                    session,
                    actions: vec![Action::Send(frame)],
                });
            }
        };
        let mut conn = Conn {
            settings: &self.settings,
            user: session.user.clone(),
            data: SessionData::parse(&session.data),
            actions: Vec::new(),
            device: session.connection_id.clone(),
            remote: session.remote.clone(),
            backend: self.backend,
            to_store: None,
        };
        let handled = conn.dispatch(&request);
        let to_store = conn.to_store.take();
        let mut outcome = Outcome {
            session: Session {
                user: conn.user,
                data: conn.data.to_json(),
                ..session
            },
            actions: conn.actions,
        };
        if let Some(msg) = to_store {
            let Request { id, kind, .. } = request;
            return Begun::Store(outcome, msg, PendingMessage { id, kind });
        }
        let reply = match handled {
            Ok(payload) => codec::ok(&request.id, &request.kind, server, payload),
            Err(error) => codec::error(&request.id, &request.kind, server, &error),
        };
        outcome.actions.push(Action::Send(reply));
        Begun::Done(outcome)
    }

    fn finish(
        &self,
        session: Session,
        pending: PendingMessage,
        stored: Result<StoredMessage, Failure>,
    ) -> Outcome {
        let server = &self.settings.server_name;
        let reply = match stored {
            Ok(stored) => codec::ok(&pending.id, &pending.kind, server, chat::sent(&stored)),
            Err(failure) => codec::error(&pending.id, &pending.kind, server, &core(failure)),
        };
        Outcome {
            session,
            actions: vec![Action::Send(reply)],
        }
    }
}

fn core(failure: Failure) -> Error {
    let (err_id, text) = errors::for_failure(&failure);
    Error::new(err_id, text)
}

/// One request being carried out.
struct Conn<'a, B> {
    settings: &'a Settings,
    user: Option<String>,
    data: SessionData,
    actions: Vec<Action>,
    /// What sign-in answers as `deviceID`: this connection.
    device: String,
    /// The client's address, for the core's sign-in throttling.
    remote: String,
    backend: &'a B,
    /// A private message that passed its checks: stored by [`Halves::begin`]'s caller, alone or
    /// with the messages around it, and answered by [`Halves::finish`].
    to_store: Option<NewMessage>,
}

impl<B: Backend> Conn<'_, B> {
    fn dispatch(&mut self, request: &Request) -> Result<Value, Error> {
        self.take_token()?;
        let chat = match Command::parse(request)? {
            Command::SignIn(sign_in) => return self.sign_in_command(sign_in),
            Command::Chat(chat) => chat,
        };
        let user = self.authorize(request.auth_token.as_deref())?;
        match chat {
            Chat::Message { to, message } => self.message(&user, &to, message),
            Chat::Read { message_id } => self.read(&user, &message_id, &request.id),
            Chat::Typing { to } => self.typing(&user, &to, &request.id),
            Chat::Ban { user: target } => self.ban(&user, &target, true),
            Chat::Unban { user: target } => self.ban(&user, &target, false),
            Chat::Edit {
                message_id,
                content,
            } => self.edit(&user, &message_id, content),
            Chat::Delete { message_id } => self.delete(&user, &message_id),
        }
    }

    fn sign_in_command(&mut self, command: SignIn) -> Result<Value, Error> {
        match command {
            SignIn::Login { username, password } => self.login(&username, &password),
            SignIn::Register {
                username,
                password,
                login_on_success,
            } => self.register(&username, &password, login_on_success),
            SignIn::Auth(auth) => self.auth(auth),
        }
    }

    /// The shared rate limiter (on unless configured off): every request takes a token,
    /// including refused ones; over the limit the answer is `ratelimit_exceed` with
    /// `retryAfter` in ms, and the connection stays open.
    fn take_token(&mut self) -> Result<(), Error> {
        self.data
            .bucket
            .take(self.settings.limit, self.backend.now_ms())
            .map_err(|retry_after| Error {
                err_id: errors::RATELIMIT_EXCEED,
                text: "too many requests".into(),
                payload: Some(json!({ "retryAfter": retry_after })),
            })
    }

    /// The user a request acts as: the one its `authToken` stands for, or, for a request
    /// without one, the user this connection signed in as (the core document authorizes the
    /// session, and its requests carry no token).
    fn authorize(&mut self, token: Option<&str>) -> Result<String, Error> {
        let Some(token) = token else {
            return match (&self.user, &self.data.token) {
                (Some(user), Some(_)) => Ok(user.clone()),
                _ => Err(Error::new(
                    errors::UNAUTHORIZED,
                    "Authorization required: log in, or send authToken",
                )),
            };
        };
        if let (Some(user), Some(known)) = (&self.user, &self.data.token) {
            if known == token {
                return Ok(user.clone());
            }
        }
        let Some(user) = self.backend.token_user(token).map_err(core)? else {
            return Err(Error::new(errors::UNAUTHORIZED, "unknown authToken"));
        };
        self.sign_in(&user, token)?;
        Ok(user)
    }

    /// Binds this connection to `user`; the first time, subscribes it to the user's direct room.
    fn sign_in(&mut self, user: &str, token: &str) -> Result<(), Error> {
        match &self.user {
            Some(current) if current != user => {
                // Switching users would leave the first user's subscription behind.
                return Err(Error::new(
                    errors::ALREADY_AUTHENTICATED,
                    "this connection is signed in as another user; reconnect to switch",
                ));
            }
            Some(_) => {}
            None => {
                // The user's direct room is their inbox; the core grants it to them alone.
                let grant = self
                    .backend
                    .grant_subscription(&Principal::user(user), user)
                    .map_err(core)?;
                self.user = Some(user.to_owned());
                self.actions.push(Action::Subscribe(grant));
            }
        }
        self.data.token = Some(token.to_owned());
        Ok(())
    }

    /// The user id an address names: a Cadmium username, or any wcc user's id (so users of
    /// other protocols can be written to as `@<their id>@server`).
    fn recipient(&self, address: &str) -> Result<String, Error> {
        let Some(local) = codec::user_local_part(address) else {
            return Err(Error::new(
                errors::INVALID_REQUEST,
                format!("{address:?} is not a user address (@user@server)"),
            ));
        };
        if let Some(user) = self.backend.find_login(CHANNEL, local).map_err(core)? {
            return Ok(user.id);
        }
        if ids::is_valid_id(local) && self.backend.get_user(local).map_err(core)?.is_some() {
            return Ok(local.to_owned());
        }
        Err(Error::new(
            errors::USER_NOT_FOUND,
            format!("no user {address}"),
        ))
    }

    fn signal(&self, user: &str, room: &str, kind: &str, content: Value) -> Result<(), Error> {
        self.backend
            .signal(Signal {
                room: room.to_owned(),
                sender: user.to_owned(),
                channel: CHANNEL.to_owned(),
                kind: kind.to_owned(),
                content: content.to_string(),
            })
            .map_err(core)
    }
}
