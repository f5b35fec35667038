//! One Rebuttal packet: (session, frame, backend) -> outcome.
//!
//! Before login only `login` and `signup` are read. After it, every packet that upstream
//! guards with a permission asks the core for the user's permissions first and is refused with
//! `error` without it. Changes other clients must see are not sent from here: the core publishes
//! them (room events, the `everyone` feed, notes) and [`crate::render`] shows them to everyone,
//! this connection included.
//!
//! Every packet read, before login too, takes a token from the connection's rate limiter
//! first (`ping`/`pong` keep-alives do not); over the limit it is answered with an `error`
//! packet and not carried out, and the connection stays open.

use channel_kit::ratelimit::Limit;
use channel_kit::{
    Action, Backend, Frame, NewMessage, Outcome, Principal, Session, Signal, UserSignal,
};
use serde_json::{json, Value};
use wcc_interface::{access, ids, Failure, FailureCode};

use crate::codec::{self, Decoded, Malformed, Packet};
use crate::directory::{self, Rooms};
use crate::render::{self, kinds};
use crate::session::State;
use crate::{hooks, image, CHANNEL};

/// Longest message text, in characters.
pub const MAX_TEXT_CHARS: usize = 4000;
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
    let text = match frame {
        Frame::Text(text) => text,
        Frame::Binary(_) => return malformed(session, "packets are JSON text"),
        Frame::Oversize(len) => {
            return answer(
                session,
                Err(format!("A packet of {len} bytes is too large")),
            )
        }
    };
    let packet = match codec::decode(&text) {
        Err(Malformed(reason)) => return malformed(session, &reason),
        Ok(Decoded::KeepAlive) => return Outcome::nothing(session),
        Ok(Decoded::Unknown(kind)) => {
            return answer(session, Err(format!("Unknown packet type: {kind}")))
        }
        Ok(Decoded::Packet(packet)) => *packet,
    };
    let mut turn = Turn {
        state: State::parse(&session.data),
        session,
        actions: Vec::new(),
    };
    let limit = Limit::from_settings(backend);
    if let Err(wait) = turn.state.bucket.take(limit, backend.now_ms()) {
        return turn.finish(Err(slow_down(wait)));
    }
    let result = match turn.session.user.clone() {
        None => before_login(&mut turn, packet, backend),
        Some(user) => after_login(&mut turn, &user, packet, backend),
    };
    turn.finish(result)
}

pub fn closed(session: Session, backend: &impl Backend) {
    let state = State::parse(&session.data);
    if let (Some(user), Some(room)) = (session.user, state.voice_room) {
        // Best effort: the connection is gone, there is no one to tell of a failure.
        let left = backend.leave(&Principal::user(&user), &room, &user, CHANNEL);
        if left.unwrap_or(false) {
            let _ = everyone(backend, &user, kinds::VOICE_LEFT, json!({ "roomid": room }));
        }
    }
}

/// A packet being answered: the session and what to do, built up as the handler goes.
struct Turn {
    session: Session,
    state: State,
    actions: Vec<Action>,
}

impl Turn {
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
    let turn = Turn {
        state: State::parse(&session.data),
        session,
        actions: Vec::new(),
    };
    turn.finish(result)
}

/// Upstream closes the socket on a packet it cannot read.
fn malformed(session: Session, reason: &str) -> Outcome {
    let mut reason = format!("malformed packet: {reason}");
    // A close reason must fit in a control frame (123 bytes).
    while reason.len() > 120 {
        reason.pop();
    }
    Outcome {
        session,
        actions: vec![Action::Close(codec::MALFORMED_CLOSE, reason)],
    }
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

fn before_login(turn: &mut Turn, packet: Packet, backend: &impl Backend) -> Result<(), Refusal> {
    match packet {
        Packet::Login { email, password } => {
            let email = normalize_email(&email)?;
            let user = backend
                .authenticate(CHANNEL, &email, &password, &turn.session.remote)
                .map_err(say)?;
            if is_admin_email(backend, &email) {
                // The server's own configuration appoints it (`admin_email`).
                backend
                    .make_admin(&Principal::Server, &user.id)
                    .map_err(say)?;
            }
            logged_in(turn, &user.id, backend)
        }
        Packet::Signup {
            user_name,
            password,
            code,
            email,
        } => signup(turn, &user_name, &password, &code, &email, backend),
        _ => Err("Log in first".into()),
    }
}

/// What a new account is given.
enum Grant {
    Admin,
    Founder,
    Group(String),
    Nothing,
}

fn signup(
    turn: &mut Turn,
    name: &str,
    password: &str,
    code: &str,
    email: &str,
    backend: &impl Backend,
) -> Result<(), Refusal> {
    let email = normalize_email(email)?;
    let name = check_name("user name", name)?;
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "The password must be at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    if backend.find_login(CHANNEL, &email).map_err(say)?.is_some() {
        return Err("That email is already registered".into());
    }
    let grant = if is_admin_email(backend, &email) {
        Grant::Admin
    } else if code == NO_INVITE {
        let has_admin = backend
            .list_groups()
            .map_err(say)?
            .iter()
            .any(|g| g.name == access::ADMIN_GROUP);
        if !has_admin {
            Grant::Founder
        } else if setting_is_true(backend, crate::OPEN_SIGNUP_KEY) {
            Grant::Nothing
        } else {
            return Err("Signing up needs an invite code".into());
        }
    } else {
        match backend.redeem_invite(code).map_err(say)? {
            Some(group) => Grant::Group(group),
            None => return Err("That invite code is unknown or already used".into()),
        }
    };
    let user = backend
        .register(
            CHANNEL,
            &email,
            password,
            Some(&new_user_id()),
            &turn.session.remote,
        )
        .map_err(|f| match f.code {
            FailureCode::Exists => "That email is already registered".into(),
            _ => say(f),
        })?;
    let actor = Principal::user(&user.id);
    directory::set_name(backend, &actor, &user, name).map_err(say)?;
    // What the account is given comes from the server: its configuration (admin email), the
    // core's founder count, or an invite the core just redeemed.
    let server = Principal::Server;
    match grant {
        Grant::Admin => backend.make_admin(&server, &user.id).map_err(say)?,
        // Two first sign-ups at once: only one becomes the founder, the other is a plain user.
        Grant::Founder => backend
            .claim_founder(&server, &user.id)
            .map(drop)
            .map_err(say)?,
        Grant::Group(group) => backend
            .set_user_group(&server, &user.id, &group)
            .map_err(say)?,
        Grant::Nothing => {}
    }
    logged_in(turn, &user.id, backend)
}

/// The session is `user` from now on: confirm, send the lists, follow the feeds.
fn logged_in(turn: &mut Turn, user: &str, backend: &impl Backend) -> Result<(), Refusal> {
    let perms = backend.permissions(user).map_err(say)?;
    let groups = directory::groups_packet(backend).map_err(say)?;
    let rooms = Rooms::load(backend).map_err(say)?;
    let users = directory::users_packet_with(backend, &rooms).map_err(say)?;
    turn.session.user = Some(user.to_owned());
    turn.send(codec::login(user));
    turn.send(codec::perms(&perms));
    turn.send(groups);
    turn.send(rooms.packet());
    turn.send(users);
    turn.subscribe(backend, user, ids::EVERYONE)?;
    for room in rooms.rooms.iter().filter(|r| r.kind == "text") {
        turn.follow(backend, user, &room.id)?;
    }
    Ok(())
}

fn after_login(
    turn: &mut Turn,
    me: &str,
    packet: Packet,
    backend: &impl Backend,
) -> Result<(), Refusal> {
    match packet {
        Packet::Login { .. } | Packet::Signup { .. } => Err("Already logged in".into()),
        Packet::Invite { group } => {
            let group = check_group(&group)?;
            let code = backend
                .create_invite(&Principal::user(me), group)
                .map_err(denied_as("inviteUserAny"))?;
            turn.send(codec::packet("invite", json!({ "invite_code": code })));
            Ok(())
        }
        Packet::GetMessages { room, segment } => {
            text_room(backend, &room)?;
            let actor = Principal::user(me);
            let segment = match segment {
                Some(segment) => segment,
                None => render::latest_segment(backend, &actor, &room).map_err(say)?,
            };
            let packet = render::segment_packet(backend, &actor, &room, segment).map_err(say)?;
            turn.send(packet);
            turn.follow(backend, me, &room)
        }
        Packet::Message {
            room,
            message,
            filename,
            rawfile,
        } => send_message(turn, me, &room, &message.text, filename, rawfile, backend),
        Packet::JoinRoom { room } => join_voice(turn, me, &room, backend),
        Packet::LeaveRoom { room } => {
            let left = backend.leave(&Principal::user(me), &room, me, CHANNEL);
            if left.map_err(say)? {
                everyone(backend, me, kinds::VOICE_LEFT, json!({ "roomid": room }))?;
            }
            if turn.state.voice_room.as_deref() == Some(room.as_str()) {
                turn.state.voice_room = None;
                turn.actions.push(Action::Unsubscribe(room));
            }
            Ok(())
        }
        Packet::Video { to, payload } => to_user(
            backend,
            me,
            &to,
            kinds::VIDEO,
            json!({ "payload": payload }),
        ),
        Packet::LetMeSee { to, message } => to_user(
            backend,
            me,
            &to,
            kinds::LET_ME_SEE,
            json!({ "message": message }),
        ),
        Packet::GoLive { live, label } => {
            directory::set_voice_state(backend, &Principal::user(me), me, |voice| {
                voice.insert("livestate".into(), json!(live));
                voice.insert("livelabel".into(), json!(label));
            })
            .map_err(say)?;
            let content = json!({
                "livestate": live,
                "livelabel": label,
                "roomid": turn.state.voice_room,
            });
            everyone(backend, me, kinds::LIVE, content)
        }
        Packet::CreateRoom { kind, name } => {
            if !directory::KINDS.contains(&kind.as_str()) {
                return Err("A room is text or voice".into());
            }
            let name = check_name("room name", &name)?;
            let id = uuid::Uuid::new_v4().to_string();
            backend
                .create_room(&Principal::user(me), &id, name, &kind)
                .map_err(denied_as("createRoom"))?;
            if kind == "text" {
                turn.follow(backend, me, &id)?;
            }
            Ok(())
        }
        Packet::UpdateRoom { room, name } => {
            listed_room(backend, &room)?;
            let name = check_name("room name", &name)?;
            backend
                .rename_room(&Principal::user(me), &room, name)
                .map(drop)
                .map_err(denied_as("renameRoom"))
        }
        Packet::RemoveRoom { room } => {
            listed_room(backend, &room)?;
            backend
                .delete_room(&Principal::user(me), &room)
                .map_err(denied_as("removeRoom"))
        }
        Packet::CreateUser { name, group, email } => {
            require(backend, me, "createUser")?;
            create_user(turn, me, &name, &group, &email, backend)
        }
        Packet::UpdateUser { user, name } => {
            let name = check_name("user name", &name)?;
            let found = backend.get_user(&user).map_err(say)?;
            let found = found.ok_or("No such user")?;
            directory::set_name(backend, &Principal::user(me), &found, name)
                .map_err(denied_as("renameUser"))
        }
        Packet::RemoveUser { user, vengeance } => {
            if backend.get_user(&user).map_err(say)?.is_none() {
                return Err("No such user".into());
            }
            let actor = Principal::user(me);
            if vengeance {
                backend
                    .remove_messages_by(&actor, &user)
                    .map_err(denied_as("removeUser"))?;
            }
            // The core tells the user's sessions (`Note::AccountRemoved`); they close.
            backend
                .delete_user(&actor, &user)
                .map(drop)
                .map_err(denied_as("removeUser"))
        }
        // Whose message may be changed (its sender, or a holder of `changeMessage` who can read
        // the room) is the core's decision.
        Packet::UpdateMessage { room, idx, message } => {
            let text = check_text(&message.text)?;
            let actor = Principal::user(me);
            let original = backend
                .history(&actor, &room, Some(idx + 1), 1)
                .map_err(say_change)?;
            let Some(original) = original.into_iter().find(|m| m.event_id == idx) else {
                return Err("No such message".into());
            };
            let mut content = match original.content {
                Value::Object(fields) => fields,
                _ => Default::default(),
            };
            content.insert("type".into(), json!("text"));
            content.insert("body".into(), json!(text));
            let content = Value::Object(content).to_string();
            backend
                .edit_message(&actor, &room, idx, &content)
                .map(drop)
                .map_err(say_change)
        }
        Packet::RemoveMessage { room, idx } => backend
            .remove_message(&Principal::user(me), &room, idx)
            .map(drop)
            .map_err(say_change),
        Packet::CreateGroup { group } => backend
            .create_group(&Principal::user(me), check_group(&group)?)
            .map(drop)
            .map_err(denied_as("setGroupPerm")),
        Packet::UpdateGroup { group, changes } => {
            let group = check_group(&group)?;
            let changes: Vec<channel_kit::GroupChange> = changes
                .into_iter()
                .map(|c| channel_kit::GroupChange {
                    add: c.add,
                    remove: c.remove,
                })
                .collect();
            backend
                .update_group(&Principal::user(me), group, &changes)
                .map(drop)
                .map_err(denied_as("setGroupPerm"))
        }
        Packet::RemoveGroup { group } => backend
            .remove_group(&Principal::user(me), check_group(&group)?)
            .map(drop)
            .map_err(denied_as("setGroupPerm")),
        Packet::SetUserGroup { user, group } => {
            let group = check_group(&group)?;
            if backend.get_user(&user).map_err(say)?.is_none() {
                return Err("No such user".into());
            }
            backend
                .set_user_group(&Principal::user(me), &user, group)
                .map_err(denied_as("setUserGroup"))
        }
        Packet::ChatDev { video, audio } => {
            let Some(room) = turn.state.voice_room.clone() else {
                return Err("Join a voice room first".into());
            };
            let content = json!({ "video": video, "audio": audio }).to_string();
            backend
                .signal(Signal {
                    room,
                    sender: me.into(),
                    channel: CHANNEL.into(),
                    kind: kinds::DEVICES.into(),
                    content,
                })
                .map_err(say)
        }
        Packet::ServerMute { user, suppress } => {
            // Rebuttal's own, narrower rule: the core lets `renameUser` holders change others'
            // profiles too, but only `suppressUser` mutes.
            require(backend, me, "suppressUser")?;
            directory::set_voice_state(backend, &Principal::user(me), &user, |voice| {
                voice.insert("suppress".into(), json!(suppress));
            })
            .map_err(denied_as("suppressUser"))?;
            let content = json!({ "userid": user, "suppress": suppress });
            everyone(backend, me, kinds::SERVER_MUTE, content)
        }
        Packet::Talking { talking } => {
            everyone(backend, me, kinds::TALKING, json!({ "talking": talking }))
        }
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

fn send_message(
    turn: &mut Turn,
    me: &str,
    room: &str,
    text: &str,
    filename: Option<String>,
    rawfile: Option<String>,
    backend: &impl Backend,
) -> Result<(), Refusal> {
    require(backend, me, "sendMessage")?;
    text_room(backend, room)?;
    let mut content = json!({ "type": "text", "body": text });
    match rawfile.filter(|raw| !raw.is_empty()) {
        Some(raw) => {
            let max = backend
                .setting(crate::MAX_IMAGE_BYTES_KEY)
                .and_then(|v| v.parse().ok())
                .unwrap_or(crate::DEFAULT_MAX_IMAGE_BYTES);
            let image = image::check(&raw, max).map_err(|refused| refused.0)?;
            content["media"] = json!([{
                "url": image.url,
                "mimeType": image.mime,
                "width": image.width,
                "height": image.height,
                "name": filename,
            }]);
            if text.chars().count() > MAX_TEXT_CHARS {
                return Err(too_long());
            }
        }
        None => {
            check_text(text)?;
        }
    }
    // Rebuttal's text rooms are open to everyone: joining is implied by writing.
    let message = NewMessage {
        room: room.into(),
        sender: me.into(),
        channel: CHANNEL.into(),
        event_type: "channel.message".into(),
        content: content.to_string(),
    };
    let stored = match backend.process_message(message.clone()) {
        Err(f) if f.code == FailureCode::NotMember => {
            backend
                .join(&Principal::user(me), room, me, CHANNEL)
                .map_err(say)?;
            backend.process_message(message)
        }
        other => other,
    }
    .map_err(say)?;
    // A room this connection did not follow yet: its own message would be published before the
    // subscription exists, so it is shown here.
    if !turn.state.following.iter().any(|r| r == room) {
        if let Some(shown) = render::sent(&stored, backend) {
            turn.send(shown);
        }
        turn.follow(backend, me, room)?;
    }
    Ok(())
}

fn join_voice(
    turn: &mut Turn,
    me: &str,
    room: &str,
    backend: &impl Backend,
) -> Result<(), Refusal> {
    require(backend, me, "joinVoiceRoom")?;
    let found = backend.get_room(room).map_err(say)?;
    match found {
        Some(found) if found.kind == "voice" => {}
        Some(_) => return Err("Only voice rooms can be joined".into()),
        None => return Err("No such room".into()),
    }
    // One voice room at a time, across all of the user's connections.
    for other in backend.query_rooms(me).map_err(say)? {
        if other.kind == "voice" && other.id != room {
            backend
                .leave(&Principal::user(me), &other.id, me, CHANNEL)
                .map_err(say)?;
            everyone(
                backend,
                me,
                kinds::VOICE_LEFT,
                json!({ "roomid": other.id }),
            )?;
            turn.actions.push(Action::Unsubscribe(other.id));
        }
    }
    backend
        .join(&Principal::user(me), room, me, CHANNEL)
        .map_err(say)?;
    turn.state.voice_room = Some(room.to_owned());
    turn.subscribe(backend, me, room)?;
    everyone(backend, me, kinds::VOICE_JOINED, json!({ "roomid": room }))
}

fn create_user(
    turn: &mut Turn,
    me: &str,
    name: &str,
    group: &str,
    email: &str,
    backend: &impl Backend,
) -> Result<(), Refusal> {
    let name = check_name("user name", name)?;
    let group = check_group(group)?;
    let email = normalize_email(email)?;
    // 122 random bits; the user is asked to keep it safe, the server never shows it again.
    let password = uuid::Uuid::new_v4().simple().to_string();
    let user = backend
        .register(
            CHANNEL,
            &email,
            &password,
            Some(&new_user_id()),
            &turn.session.remote,
        )
        .map_err(|f| match f.code {
            FailureCode::Exists => "That email is already registered".into(),
            _ => say(f),
        })?;
    // The new account names itself; the creator places it (the core allows `createUser` to
    // place a user who has no group yet).
    directory::set_name(backend, &Principal::user(&user.id), &user, name).map_err(say)?;
    backend
        .set_user_group(&Principal::user(me), &user.id, group)
        .map_err(denied_as("setUserGroup"))?;
    turn.send(codec::admin_message(&format!(
        "Created {name} <{email}> in group {group}; password: {password}"
    )));
    Ok(())
}

/// Rebuttal names users by UUID, in its usual hyphenated form.
fn new_user_id() -> String {
    uuid::Uuid::new_v4().to_string()
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

fn too_long() -> Refusal {
    format!("A message is at most {MAX_TEXT_CHARS} characters")
}

fn check_text(text: &str) -> Result<&str, Refusal> {
    if text.trim().is_empty() {
        return Err("The message is empty".into());
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(too_long());
    }
    Ok(text)
}

fn check_name<'a>(what: &str, name: &'a str) -> Result<&'a str, Refusal> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(format!(
            "A {what} is 1 to {MAX_NAME_CHARS} printable characters"
        ));
    }
    Ok(name)
}

fn check_group(group: &str) -> Result<&str, Refusal> {
    if access::is_valid_group_name(group) {
        Ok(group)
    } else {
        Err(format!(
            "A group name is 1 to {} printable characters",
            access::MAX_GROUP_NAME_CHARS
        ))
    }
}

/// Emails are logins: compared without case or surrounding space.
fn normalize_email(email: &str) -> Result<String, Refusal> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email)
    } else {
        Err("That is not an email address".into())
    }
}

fn is_admin_email(backend: &impl Backend, email: &str) -> bool {
    backend
        .setting(crate::ADMIN_EMAIL_KEY)
        .map(|admin| admin.trim().to_lowercase())
        .is_some_and(|admin| !admin.is_empty() && admin == email)
}

fn setting_is_true(backend: &impl Backend, key: &str) -> bool {
    backend.setting(key).is_some_and(|v| v.trim() == "true")
}
