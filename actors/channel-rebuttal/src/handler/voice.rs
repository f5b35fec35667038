//! Voice rooms and what goes with them: joining and hanging up, devices, streams, talking,
//! server mutes, and the WebRTC signalling between two users (relayed, never read).

use channel_kit::{Action, Backend, Principal, Signal};
use serde_json::{json, Value};
use wcc_interface::Failure;

use super::{everyone, require, say, to_user, Refusal, Turn};
use crate::directory;
use crate::render::kinds;
use crate::CHANNEL;

/// `joinroom`: one voice room at a time, across all of the user's connections.
pub(super) fn join(
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
    for other in backend.query_rooms(me).map_err(say)? {
        if other.kind == "voice" && other.id != room {
            backend
                .leave(&Principal::user(me), &other.id, me, CHANNEL, None)
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
        .join(&Principal::user(me), room, me, CHANNEL, None)
        .map_err(say)?;
    turn.state.voice_room = Some(room.to_owned());
    turn.subscribe(backend, me, room)?;
    everyone(backend, me, kinds::VOICE_JOINED, json!({ "roomid": room }))
}

/// `leaveroom`. Upstream's client names no room (its packet has no `roomid`) and hangs up even
/// when in none: the room this connection is in, if any; nothing otherwise.
pub(super) fn leave(
    turn: &mut Turn,
    me: &str,
    room: Option<String>,
    backend: &impl Backend,
) -> Result<(), Refusal> {
    let Some(room) = room.or_else(|| turn.state.voice_room.clone()) else {
        return Ok(());
    };
    let left = backend.leave(&Principal::user(me), &room, me, CHANNEL, None);
    if left.map_err(say)? {
        everyone(backend, me, kinds::VOICE_LEFT, json!({ "roomid": room }))?;
    }
    if turn.state.voice_room.as_deref() == Some(room.as_str()) {
        turn.state.voice_room = None;
        turn.actions.push(Action::Unsubscribe(room));
    }
    Ok(())
}

/// `video`: an offer, answer or ICE candidate for one user, relayed as it came. Without a
/// payload there is nothing to relay (as upstream).
pub(super) fn video(
    me: &str,
    to: &str,
    payload: Value,
    backend: &impl Backend,
) -> Result<(), Refusal> {
    if payload.is_null() {
        return Ok(());
    }
    let content = json!({ "payload": payload });
    to_user(backend, me, to, kinds::VIDEO, content)
}

/// `letmesee`: the sender starts (`true`) or stops watching `to`'s stream.
pub(super) fn let_me_see(
    me: &str,
    to: &str,
    watching: bool,
    backend: &impl Backend,
) -> Result<(), Refusal> {
    let content = json!({ "message": watching });
    to_user(backend, me, to, kinds::LET_ME_SEE, content)
}

/// `golive`: kept in the profile, so late arrivals see the stream, and remembered by the
/// connection, so its stream ends when it closes.
pub(super) fn go_live(
    turn: &mut Turn,
    me: &str,
    live: bool,
    label: &str,
    backend: &impl Backend,
) -> Result<(), Refusal> {
    directory::set_voice_state(backend, &Principal::user(me), me, |voice| {
        voice.insert("livestate".into(), json!(live));
        voice.insert("livelabel".into(), json!(label));
    })
    .map_err(say)?;
    turn.state.live = live;
    let content = json!({
        "livestate": live,
        "livelabel": label,
        "roomid": turn.state.voice_room,
    });
    everyone(backend, me, kinds::LIVE, content)
}

/// Ends `user`'s stream, if their profile shows one: its connection closed, or their last one
/// did. Writes nothing when there is none, so a close costs no profile write.
pub(super) fn end_stream(backend: &impl Backend, user: &str) -> Result<(), Failure> {
    let Some(found) = backend.get_user(user)? else {
        return Ok(());
    };
    let profile = directory::profile_of(&found);
    let voice = profile.get(directory::PROFILE_KEY);
    let field = |name: &str| voice.and_then(|v| v.get(name));
    let live = field("livestate").and_then(Value::as_bool).unwrap_or(false);
    let labelled = field("livelabel")
        .and_then(Value::as_str)
        .is_some_and(|l| !l.is_empty());
    if !live && !labelled {
        return Ok(());
    }
    directory::set_voice_state(backend, &Principal::user(user), user, |voice| {
        voice.insert("livestate".into(), json!(false));
        voice.insert("livelabel".into(), json!(""));
    })
}

/// `chatdev`, to the others in this connection's voice room. Upstream's client reports its
/// devices whenever anyone joins a voice room, in one or not; outside one there is no one to
/// tell, and nothing to refuse.
pub(super) fn devices(
    turn: &Turn,
    me: &str,
    video: bool,
    audio: bool,
    backend: &impl Backend,
) -> Result<(), Refusal> {
    let Some(room) = turn.state.voice_room.clone() else {
        return Ok(());
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

/// `servermute`. Rebuttal's own, narrower rule: the core lets `renameUser` holders change
/// others' profiles too, but only `suppressUser` mutes.
pub(super) fn server_mute(
    me: &str,
    user: &str,
    suppress: bool,
    backend: &impl Backend,
) -> Result<(), Refusal> {
    require(backend, me, "suppressUser")?;
    directory::set_voice_state(backend, &Principal::user(me), user, |voice| {
        voice.insert("suppress".into(), json!(suppress));
    })
    .map_err(super::denied_as("suppressUser"))?;
    let content = json!({ "userid": user, "suppress": suppress });
    everyone(backend, me, kinds::SERVER_MUTE, content)
}

pub(super) fn talking(me: &str, talking: bool, backend: &impl Backend) -> Result<(), Refusal> {
    everyone(backend, me, kinds::TALKING, json!({ "talking": talking }))
}
