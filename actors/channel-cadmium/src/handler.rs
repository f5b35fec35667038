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

use channel_kit::{Action, Backend, Frame, Outcome, Principal, Session, Signal};
use serde_json::{json, Value};
use wcc_interface::{ids, Failure};

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
    let settings = Settings::read(backend);
    let text = match frame {
        Frame::Text(text) => text,
        Frame::Binary(_) => {
            let error = Error::new(errors::MALFORMED_MESSAGE, "send JSON in text frames");
            return refuse_unread(session, &settings, "", "", &error);
        }
        Frame::Oversize(len) => {
            let error = Error::new(
                errors::MALFORMED_MESSAGE,
                format!("a frame of {len} bytes is over the server's limit"),
            );
            return refuse_unread(session, &settings, "", "", &error);
        }
    };
    match codec::decode(&text) {
        Ok(request) => handle(session, request, &settings, backend),
        Err((id, kind, error)) => refuse_unread(session, &settings, &id, &kind, &error),
    }
}

/// Answers a frame that could not be read as a request.
fn refuse_unread(
    session: Session,
    settings: &Settings,
    id: &str,
    kind: &str,
    error: &Error,
) -> Outcome {
    let frame = codec::error(id, kind, &settings.server_name, error);
    Outcome {
        session,
        actions: vec![Action::Send(frame)],
    }
}

/// Carries out one decoded request.
pub fn handle(
    session: Session,
    request: Request,
    settings: &Settings,
    backend: &impl Backend,
) -> Outcome {
    let server = &settings.server_name;
    let mut conn = Conn {
        settings,
        user: session.user.clone(),
        data: SessionData::parse(&session.data),
        actions: Vec::new(),
        device: session.connection_id.clone(),
        remote: session.remote.clone(),
        backend,
    };
    let reply = match conn.dispatch(&request) {
        Ok(payload) => codec::ok(&request.id, &request.kind, server, payload),
        Err(error) => codec::error(&request.id, &request.kind, server, &error),
    };
    conn.actions.push(Action::Send(reply));
    Outcome {
        session: Session {
            user: conn.user,
            data: conn.data.to_json(),
            ..session
        },
        actions: conn.actions,
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
