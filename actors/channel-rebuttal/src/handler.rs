//! One Rebuttal packet: (session, frame, backend) -> outcome. This file reads the frame,
//! takes the rate limiter's token and dispatches; each family of packets has its own file.
//! `message`s that arrive together are stored with one call (`channel_kit::send_run`).
//!
//! Before login only `login` and `signup` are read ([`account`]). After it, every packet that
//! upstream guards with a permission asks the core for the user's permissions first and is
//! refused with `error` without it. Changes other clients must see are not sent from here: the
//! core publishes them (room events, the `everyone` feed, notes) and [`crate::render`] shows
//! them to everyone, this connection included.
//!
//! Every packet read, before login too, takes a token from the connection's rate limiter
//! first (`ping`/`pong` keep-alives do not); over the limit it is answered with an `error`
//! packet and not carried out, and the connection stays open.
//!
//! - [`account`]: `login`, `signup`, `createuser`, and what a connection gets once logged in,
//! - [`text`]: `getmessages`, `message`, `updatemessage`, `removemessage`,
//! - [`voice`]: `joinroom`, `leaveroom`, `chatdev`, `golive`, `talking`, `servermute`, and the
//!   WebRTC signalling `video` and `letmesee`,
//! - [`admin`]: rooms, other users, groups and invites.

mod account;
mod admin;
mod text;
mod voice;

use channel_kit::ratelimit::Limit;
use channel_kit::send_run::{handle_alone, received_together, Begun, TwoHalves};
use channel_kit::{
    Action, Backend, Frame, NewMessage, Outcome, Principal, Session, Signal, UserSignal,
};
use serde_json::{json, Value};
use wcc_interface::{ids, Failure, FailureCode, StoredMessage};

use crate::codec::{self, Decoded, Malformed, Packet};
use crate::directory;
use crate::render::kinds;
use crate::session::State;
use crate::{hooks, CHANNEL};

pub use text::MAX_TEXT_CHARS;

/// Longest user, room or group name, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Shortest password accepted at sign-up.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// What `signUp` says when there is no invite.
pub const NO_INVITE: &str = "signup";

pub const BAD_LOGIN: &str = "Invalid email or password";

/// A refusal: the text of the `error` packet the client gets.
type Refusal = String;

pub fn opened(session: Session, backend: &impl Backend) -> Outcome {
    let welcome = backend
        .setting(crate::WELCOME_KEY)
        .unwrap_or_else(|| crate::DEFAULT_WELCOME.into());
    Outcome {
        session,
        actions: vec![Action::Send(codec::connect(&welcome))],
    }
}

pub fn received(session: Session, frame: Frame, backend: &impl Backend) -> Outcome {
    handle_alone(&Packets(backend), session, read(frame), backend)
}

/// Frames that arrived together, in order: `message`s that follow each other are stored with
/// one call to the core and answered in their places (`channel_kit::send_run`); nothing after
/// a malformed packet, which closes the connection, is read.
pub fn received_frames(session: Session, frames: Vec<Frame>, backend: &impl Backend) -> Outcome {
    received_together(&Packets(backend), session, frames, backend)
}

/// A frame as read: a packet, or what answers it without one.
enum Read {
    Packet(Box<Packet>),
    KeepAlive,
    /// Upstream closes the socket on a packet it cannot read.
    Malformed(String),
    Refused(Refusal),
}

fn read(frame: Frame) -> Read {
    let text = match frame {
        Frame::Text(text) => text,
        Frame::Binary(_) => return Read::Malformed("packets are JSON text".into()),
        Frame::Oversize(len) => {
            return Read::Refused(format!("A packet of {len} bytes is too large"))
        }
    };
    match codec::decode(&text) {
        Err(Malformed(reason)) => Read::Malformed(reason),
        Ok(Decoded::KeepAlive) => Read::KeepAlive,
        Ok(Decoded::Unknown(kind)) => Read::Refused(format!("Unknown packet type: {kind}")),
        Ok(Decoded::Packet(packet)) => Read::Packet(packet),
    }
}

/// Rebuttal's packets in two halves around the store of a `message`.
struct Packets<'a, B>(&'a B);

/// A `message` that passed the rate limit and its checks, waiting to be stored.
struct PendingMessage {
    /// Kept whole, to be stored again after joining its room ([`text::sent`]).
    message: NewMessage,
    /// Whether its room was followed when it was read. A room is followed from the end of
    /// the call that first follows it, so every message of a run to a room not followed yet
    /// shows the room's segment.
    followed: bool,
}

impl<B: Backend> TwoHalves for Packets<'_, B> {
    type Request = Read;
    type Pending = PendingMessage;

    fn read(&self, frame: Frame) -> Read {
        read(frame)
    }

    fn is_plain_send(&self, read: &Read) -> bool {
        matches!(read, Read::Packet(packet) if matches!(**packet, Packet::Message { .. }))
    }

    fn begin(&self, session: Session, read: Read) -> Begun<PendingMessage> {
        let backend = self.0;
        let packet = match read {
            Read::Packet(packet) => *packet,
            Read::KeepAlive => return Begun::Done(Outcome::nothing(session)),
            Read::Malformed(reason) => return Begun::Done(malformed(session, &reason)),
            Read::Refused(refusal) => return Begun::Done(answer(session, Err(refusal))),
        };
        let mut turn = Turn::new(session);
        let limit = Limit::from_settings(backend);
        if let Err(wait) = turn.state.bucket.take(limit, backend.now_ms()) {
            return Begun::Done(turn.finish(Err(slow_down(wait))));
        }
        let result = match turn.session.user.clone() {
            None => account::before_login(&mut turn, packet, backend),
            Some(user) => after_login(&mut turn, &user, packet, backend),
        };
        match (result, turn.to_store.take()) {
            (Ok(()), Some(message)) => {
                let store = message.clone();
                let followed = turn.state.following.contains(&message.room);
                let pending = PendingMessage { message, followed };
                Begun::Store(turn.finish(Ok(())), store, pending)
            }
            (result, _) => Begun::Done(turn.finish(result)),
        }
    }

    fn finish(
        &self,
        session: Session,
        pending: PendingMessage,
        stored: Result<StoredMessage, Failure>,
    ) -> Outcome {
        let mut turn = Turn::new(session);
        let result = text::sent(&mut turn, pending.message, pending.followed, stored, self.0);
        turn.finish(result)
    }
}

/// A logged-in connection's end, as upstream shows it to everyone: `disconnect`, its user out
/// of the voice room it was in (`leaveRoom`, the room list), and a stream ended if this
/// connection started it or was the user's last. Whether the user is still connected
/// (`status`) is presence's: the gateway's logout of this connection tells it. Best effort
/// throughout: the connection is gone and there is no one to tell of a failure.
pub fn closed(session: Session, backend: &impl Backend) {
    let state = State::parse(&session.data);
    let Some(user) = session.user else { return };
    let _ = everyone(backend, &user, kinds::DISCONNECTED, json!({}));
    if let Some(room) = state.voice_room {
        let left = backend.leave(&Principal::user(&user), &room, &user, CHANNEL, None);
        if left.unwrap_or(false) {
            let _ = everyone(backend, &user, kinds::VOICE_LEFT, json!({ "roomid": room }));
        }
    }
    if state.live || last_connection(backend, &user, &session.connection_id) {
        let _ = voice::end_stream(backend, &user);
    }
}

/// Whether presence knows no other Rebuttal connection of `user` than `closing` (only a
/// Rebuttal client streams). The gateway publishes the logout of `closing` as it calls this
/// hook, so presence may or may not have heard it: it is left out either way. If presence
/// cannot say, the stream is left to the connection that started it.
fn last_connection(backend: &impl Backend, user: &str, closing: &str) -> bool {
    backend.user_sessions(user).is_ok_and(|sessions| {
        !sessions
            .iter()
            .any(|s| s.channel == CHANNEL && s.connection != closing)
    })
}

/// A packet being answered: the session and what to do, built up as the handler goes.
struct Turn {
    session: Session,
    state: State,
    actions: Vec<Action>,
    /// A `message`'s checked message, for the core to store ([`text::send`]).
    to_store: Option<NewMessage>,
}

impl Turn {
    fn new(session: Session) -> Self {
        Self {
            state: State::parse(&session.data),
            session,
            actions: Vec::new(),
            to_store: None,
        }
    }

    fn send(&mut self, packet: String) {
        self.actions.push(Action::Send(packet));
    }

    /// Follows a room's messages from now on (once), on the core's grant for `me`.
    fn follow(&mut self, backend: &impl Backend, me: &str, room: &str) -> Result<(), Refusal> {
        if !self.state.following.iter().any(|r| r == room) {
            self.subscribe(backend, me, room)?;
            self.state.following.push(room.to_owned());
        }
        Ok(())
    }

    /// Hears the `everyone` feed and follows each of `rooms` not followed yet, on grants the
    /// core gives `me` in one call: a sign-in's subscriptions. The first refused grant refuses
    /// the packet, as [`Self::follow`] would.
    fn hear_everything(
        &mut self,
        backend: &impl Backend,
        me: &str,
        rooms: &[String],
    ) -> Result<(), Refusal> {
        let mut asked = vec![ids::EVERYONE.to_owned()];
        asked.extend(
            rooms
                .iter()
                .filter(|room| !self.state.following.contains(room))
                .cloned(),
        );
        let grants = backend
            .grant_subscriptions(&Principal::user(me), &asked)
            .map_err(say)?;
        for (room, grant) in asked.into_iter().zip(grants) {
            self.actions.push(Action::Subscribe(grant.map_err(say)?));
            if room != ids::EVERYONE {
                self.state.following.push(room);
            }
        }
        Ok(())
    }

    /// Hears `room` from now on, if the core grants it to `me`.
    fn subscribe(&mut self, backend: &impl Backend, me: &str, room: &str) -> Result<(), Refusal> {
        let grant = backend
            .grant_subscription(&Principal::user(me), room)
            .map_err(say)?;
        self.actions.push(Action::Subscribe(grant));
        Ok(())
    }

    fn finish(mut self, result: Result<(), Refusal>) -> Outcome {
        if let Err(refusal) = result {
            self.send(codec::error(&refusal));
        }
        self.session.data = self.state.to_json();
        Outcome {
            session: self.session,
            actions: self.actions,
        }
    }
}

/// The refusal of a packet over the connection's rate limit.
pub fn slow_down(wait_ms: u64) -> Refusal {
    format!("Too many requests: try again in {wait_ms} ms")
}

fn answer(session: Session, result: Result<(), Refusal>) -> Outcome {
    Turn::new(session).finish(result)
}

/// Upstream closes the socket on a packet it cannot read.
fn malformed(session: Session, reason: &str) -> Outcome {
    let reason = close_reason(&format!("malformed packet: {reason}"));
    Outcome {
        session,
        actions: vec![Action::Close(codec::MALFORMED_CLOSE, reason)],
    }
}

/// `reason`, cut to fit a close frame (a control frame's 125 bytes, less the code).
fn close_reason(reason: &str) -> String {
    let mut reason = reason.to_owned();
    while reason.len() > 120 {
        reason.pop();
    }
    reason
}

/// A core failure in the client's words.
fn say(failure: Failure) -> Refusal {
    match failure.code {
        FailureCode::UnknownRoom => "No such room".into(),
        FailureCode::UnknownUser => "No such user".into(),
        FailureCode::BadCredentials => BAD_LOGIN.into(),
        FailureCode::Denied => "Permission denied".into(),
        FailureCode::Unavailable => "The server is busy; try again".into(),
        FailureCode::Banned => "That user does not accept messages from you".into(),
        FailureCode::Suspended => "This account is banned from the server".into(),
        FailureCode::Throttled => format!("Too many attempts: {}", failure.message),
        FailureCode::Exists | FailureCode::Invalid | FailureCode::NotMember => failure.message,
    }
}

/// A refused edit or removal, worded as Rebuttal names the permission that would allow it.
fn say_change(failure: Failure) -> Refusal {
    denied_as("changeMessage")(failure)
}

/// The core's refusal as Rebuttal words it: the permission that would have allowed the request.
fn denied_as(permission: &'static str) -> impl Fn(Failure) -> Refusal {
    move |failure| match failure.code {
        FailureCode::Denied => format!("Permission denied: {permission}"),
        _ => say(failure),
    }
}

fn after_login(
    turn: &mut Turn,
    me: &str,
    packet: Packet,
    backend: &impl Backend,
) -> Result<(), Refusal> {
    match packet {
        Packet::Login { .. } | Packet::Signup { .. } => Err("Already logged in".into()),
        Packet::GetMessages { room, segment } => {
            text::get_messages(turn, me, &room, segment, backend)
        }
        Packet::Message {
            room,
            message,
            filename,
            rawfile,
        } => text::send(turn, me, &room, &message.text, filename, rawfile, backend),
        Packet::UpdateMessage { room, idx, message } => {
            text::update(me, &room, idx, &message.text, backend)
        }
        Packet::RemoveMessage { room, idx } => text::remove(me, &room, idx, backend),
        Packet::JoinRoom { room } => voice::join(turn, me, &room, backend),
        Packet::LeaveRoom { room } => voice::leave(turn, me, room, backend),
        Packet::Video { to, payload } => voice::video(me, &to, payload, backend),
        Packet::LetMeSee { to, message } => voice::let_me_see(me, &to, message, backend),
        Packet::GoLive { live, label } => voice::go_live(turn, me, live, &label, backend),
        Packet::ChatDev { video, audio } => voice::devices(turn, me, video, audio, backend),
        Packet::ServerMute { user, suppress } => voice::server_mute(me, &user, suppress, backend),
        Packet::Talking { talking } => voice::talking(me, talking, backend),
        Packet::Invite { group } => admin::invite(turn, me, &group, backend),
        Packet::CreateRoom { kind, name } => admin::create_room(turn, me, &kind, &name, backend),
        Packet::UpdateRoom { room, name } => admin::rename_room(me, &room, &name, backend),
        Packet::RemoveRoom { room } => admin::remove_room(me, &room, backend),
        Packet::CreateUser { name, group, email } => {
            account::create_user(turn, me, &name, &group, &email, backend)
        }
        Packet::UpdateUser { user, name } => admin::rename_user(me, &user, &name, backend),
        Packet::RemoveUser { user, vengeance } => admin::remove_user(me, &user, vengeance, backend),
        Packet::CreateGroup { group } => admin::create_group(me, &group, backend),
        Packet::UpdateGroup { group, changes } => admin::update_group(me, &group, changes, backend),
        Packet::RemoveGroup { group } => admin::remove_group(me, &group, backend),
        Packet::SetUserGroup { user, group } => admin::set_user_group(me, &user, &group, backend),
        Packet::ContextOption {
            context,
            option,
            value,
        } => {
            for packet in hooks::context_option(me, &context, &option, &value) {
                turn.send(packet);
            }
            Ok(())
        }
        Packet::WindowInput {
            input,
            value,
            all_inputs,
        } => {
            for packet in hooks::window_input(me, &input, &value, &all_inputs) {
                turn.send(packet);
            }
            Ok(())
        }
    }
}

/// A signal to every connection of `user`, wherever it is.
fn to_user(
    backend: &impl Backend,
    me: &str,
    user: &str,
    kind: &str,
    content: Value,
) -> Result<(), Refusal> {
    backend
        .signal_user(UserSignal {
            sender: me.into(),
            user: user.into(),
            channel: CHANNEL.into(),
            kind: kind.into(),
            content: content.to_string(),
        })
        .map_err(say)
}

/// A signal to every Rebuttal connection.
fn everyone(backend: &impl Backend, me: &str, kind: &str, content: Value) -> Result<(), Refusal> {
    backend
        .signal(Signal {
            room: ids::EVERYONE.into(),
            sender: me.into(),
            channel: CHANNEL.into(),
            kind: kind.into(),
            content: content.to_string(),
        })
        .map_err(say)
}

fn require(backend: &impl Backend, user: &str, permission: &str) -> Result<(), Refusal> {
    let perms = backend.permissions(user).map_err(say)?;
    if perms.iter().any(|p| p == permission) {
        Ok(())
    } else {
        Err(format!("Permission denied: {permission}"))
    }
}

/// A room Rebuttal lists (text or voice), not another protocol's direct room.
fn listed_room(backend: &impl Backend, room: &str) -> Result<String, Refusal> {
    match backend.get_room(room).map_err(say)? {
        Some(found) if directory::KINDS.contains(&found.kind.as_str()) => Ok(found.kind),
        _ => Err("No such room".into()),
    }
}

fn text_room(backend: &impl Backend, room: &str) -> Result<(), Refusal> {
    match listed_room(backend, room)?.as_str() {
        "text" => Ok(()),
        _ => Err("Voice rooms have no messages".into()),
    }
}
