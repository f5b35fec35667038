//! The Cadmium state machine: one inbound frame and the connection's session in, the new
//! session and what the gateway should do out.
//!
//! Every request gets exactly one reply, `ok: true` with its payload or `ok: false` with an
//! `errID`; no input closes the connection. Signing in (login, registration with
//! `loginOnSuccess`, or the first request carrying a valid `authToken`) subscribes the
//! connection to the user's direct room, where private messages, read receipts and typing
//! notifications for them arrive from every protocol.

use channel_kit::{Action, Backend, Frame, NewMessage, Outcome, Principal, Session, Signal};
use serde_json::{json, Value};
use wcc_interface::{ids, Failure};

use crate::codec::{self, Chat, Command, Error, Request, SignIn};
use crate::content::{self, SendMessage};
use crate::errors;
use crate::session::SessionData;
use crate::{Settings, CHANNEL};

/// The neutral event type of chat messages, shared with every protocol.
const MESSAGE_EVENT_TYPE: &str = "channel.message";
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
    /// What login answers as `deviceID`: this connection.
    device: String,
    /// The client's address, for the core's sign-in throttling.
    remote: String,
    backend: &'a B,
}

impl<B: Backend> Conn<'_, B> {
    fn dispatch(&mut self, request: &Request) -> Result<Value, Error> {
        self.take_token()?;
        let command = Command::parse(request)?;
        let chat = match command {
            Command::SignIn(SignIn::Login { username, password }) => {
                return self.login(&username, &password)
            }
            Command::SignIn(SignIn::Register {
                username,
                password,
                login_on_success,
            }) => return self.register(&username, &password, login_on_success),
            Command::Chat(chat) => chat,
        };
        let user = self.authorize(request.auth_token.as_deref())?;
        match chat {
            Chat::Message { to, message } => self.message(&user, &to, &message),
            Chat::Read { message_id } => self.read(&user, &message_id, &request.id),
            Chat::Typing { to } => self.typing(&user, &to, &request.id),
            Chat::Ban { user: target } => {
                let target = self.recipient(&target)?;
                self.backend.ban(&user, &target).map_err(core)?;
                Ok(json!({}))
            }
            Chat::Unban { user: target } => {
                let target = self.recipient(&target)?;
                self.backend.unban(&user, &target).map_err(core)?;
                Ok(json!({}))
            }
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

    /// The user a request acts as: the one its `authToken` stands for.
    fn authorize(&mut self, token: Option<&str>) -> Result<String, Error> {
        let Some(token) = token else {
            return Err(Error::new(
                errors::UNAUTHORIZED,
                "Authorization required: log in and send authToken",
            ));
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

    fn login(&mut self, username: &str, password: &str) -> Result<Value, Error> {
        let user = self
            .backend
            .authenticate(CHANNEL, username, password, &self.remote)
            .map_err(core)?;
        self.session_for(&user.id)
    }

    /// Issues a token for `user` and signs this connection in with it.
    fn session_for(&mut self, user: &str) -> Result<Value, Error> {
        let token = self.backend.issue_token(user).map_err(core)?;
        self.sign_in(user, &token)?;
        Ok(json!({ "authToken": token, "deviceID": self.device }))
    }

    fn register(
        &mut self,
        username: &str,
        password: &str,
        login_on_success: bool,
    ) -> Result<Value, Error> {
        if !self.settings.registration {
            return Err(Error::new(errors::REG_DISABLED, "registration is disabled"));
        }
        // A Cadmium username is the user's wcc id, so `@name@server` names them everywhere.
        let user = self
            .backend
            .register(CHANNEL, username, password, Some(username), &self.remote)
            .map_err(core)?;
        let mut reply = json!({ "userID": codec::address(&user.id, &self.settings.server_name) });
        if login_on_success {
            let session = self.session_for(&user.id)?;
            reply["authToken"] = session["authToken"].clone();
            reply["deviceID"] = session["deviceID"].clone();
        }
        Ok(reply)
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

    fn message(&mut self, user: &str, to: &str, message: &SendMessage) -> Result<Value, Error> {
        let recipient = self.recipient(to)?;
        if let Some(reply) = &message.reply {
            // A reply names a message of this conversation: one in either side's direct room.
            let found = self
                .backend
                .get_message(&Principal::user(user), reply)
                .map_err(core)?;
            if !found.is_some_and(|m| m.room == recipient || m.room == user) {
                return Err(Error::new(
                    errors::MESSAGE_NOT_FOUND,
                    format!("no message {reply} in this chat to reply to"),
                ));
            }
        }
        let stored = self
            .backend
            .process_message(NewMessage {
                room: recipient,
                sender: user.to_owned(),
                channel: CHANNEL.to_owned(),
                event_type: MESSAGE_EVENT_TYPE.to_owned(),
                content: content::to_stored(message).to_string(),
            })
            .map_err(core)?;
        Ok(json!({
            "messageID": stored.id,
            "originServerTimestamp": stored.sent_at / 1000,
        }))
    }

    /// Tells the original sender that `user` read their message (one they received).
    fn read(&mut self, user: &str, message_id: &str, request_id: &str) -> Result<Value, Error> {
        let found = self
            .backend
            .get_message(&Principal::user(user), message_id)
            .map_err(core)?;
        let Some(message) = found.filter(|m| m.room == user) else {
            return Err(Error::new(
                errors::MESSAGE_NOT_FOUND,
                format!("no message {message_id} sent to you"),
            ));
        };
        let content = json!({ "id": request_id, "message_id": message.id });
        self.signal(user, &message.sender, READ_SIGNAL, content)?;
        Ok(json!({}))
    }

    fn typing(&mut self, user: &str, to: &str, request_id: &str) -> Result<Value, Error> {
        let recipient = self.recipient(to)?;
        self.signal(user, &recipient, TYPING_SIGNAL, json!({ "id": request_id }))?;
        Ok(json!({}))
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
