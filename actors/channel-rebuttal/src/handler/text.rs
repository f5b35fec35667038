//! Text rooms: history segments, new messages (with checked images), edits and removals.
//!
//! A new message reaches this connection like every other follower's, from the room's feed
//! ([`crate::render::published`]); only a room not followed yet is answered here.

use channel_kit::{Backend, NewMessage, Principal};
use serde_json::{json, Value};
use wcc_interface::{Failure, FailureCode, StoredMessage};

use super::{require, say, say_change, text_room, Refusal, Turn};
use crate::{image, render, CHANNEL};

/// Longest message text, in characters.
pub const MAX_TEXT_CHARS: usize = 4000;

/// `getmessages`: one segment (`None`: the newest), and the room's messages from now on.
pub(super) fn get_messages(
    turn: &mut Turn,
    me: &str,
    room: &str,
    segment: Option<u64>,
    backend: &impl Backend,
) -> Result<(), Refusal> {
    text_room(backend, room)?;
    let actor = Principal::user(me);
    let segment = match segment {
        Some(segment) => segment,
        None => render::latest_segment(backend, &actor, room).map_err(say)?,
    };
    let packet = render::segment_packet(backend, &actor, room, segment).map_err(say)?;
    turn.send(packet);
    turn.follow(backend, me, room)
}

/// `message`, with an image if `rawfile` holds one: checked here and left in
/// [`Turn::to_store`]; [`sent`] answers it once the core has stored it (or not).
pub(super) fn send(
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
    turn.to_store = Some(NewMessage {
        origin: None,
        room: room.into(),
        sender: me.into(),
        channel: CHANNEL.into(),
        event_type: "channel.message".into(),
        content: content.to_string(),
    });
    Ok(())
}

/// A `message` the core stored (or refused). Rebuttal's text rooms are open to everyone, so
/// writing implies joining: a message refused for want of membership joins the room and is
/// stored again. `followed`: whether the connection followed the room when it sent this.
pub(super) fn sent(
    turn: &mut Turn,
    message: NewMessage,
    followed: bool,
    stored: Result<StoredMessage, Failure>,
    backend: &impl Backend,
) -> Result<(), Refusal> {
    let (me, room) = (message.sender.clone(), message.room.clone());
    let stored = match stored {
        Err(f) if f.code == FailureCode::NotMember => {
            backend
                .join(&Principal::user(&me), &room, &me, CHANNEL, None)
                .map_err(say)?;
            backend.process_message(message)
        }
        other => other,
    }
    .map_err(say)?;
    // A room this connection did not follow yet: the message was published before the
    // connection is subscribed (at the end of this call), so the segment holding it, which is
    // what the client draws, is sent here; for each message of a run, since a second copy of
    // the segment replaces the first. Whether the room's feed still brings this connection the
    // message (if the gateway had the room open already, it may) depends on when the gateway
    // subscribes it, so `sendMessage`, a notification, is not sent here too: it comes once at
    // most, never twice.
    if !followed {
        let actor = Principal::user(&me);
        let segment = render::segment_of(stored.event_id);
        let shown = render::segment_packet(backend, &actor, &room, segment).map_err(say)?;
        turn.send(shown);
        turn.follow(backend, &me, &room)?;
    }
    Ok(())
}

/// `updatemessage`. Whose message may be changed (its sender, or a holder of `changeMessage`
/// who can read the room) is the core's decision. The image, if any, stays.
pub(super) fn update(
    me: &str,
    room: &str,
    idx: u64,
    text: &str,
    backend: &impl Backend,
) -> Result<(), Refusal> {
    let text = check_text(text)?;
    let actor = Principal::user(me);
    let original = backend
        .history(&actor, room, Some(idx + 1), 1)
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
        .edit_message(&actor, room, idx, &content)
        .map(drop)
        .map_err(say_change)
}

/// `removemessage`, decided by the core as an edit is.
pub(super) fn remove(
    me: &str,
    room: &str,
    idx: u64,
    backend: &impl Backend,
) -> Result<(), Refusal> {
    backend
        .remove_message(&Principal::user(me), room, idx)
        .map(drop)
        .map_err(say_change)
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
