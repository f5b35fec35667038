//! What Rebuttal clients are sent for things that happen elsewhere: room events (once per
//! gateway for all its local subscribers), the `everyone` feed, and notes for one user.
//!
//! A message is shown as upstream's message object. Its text is the shared content's `body`
//! (what venueless and Cadmium write too), its image the first image in `media`. A new message
//! reaches a room's followers as two packets, the segment holding it and then the message
//! ([`published`]): upstream's client draws only segments.

use std::collections::BTreeMap;

use channel_kit::{Action, Backend, Outcome, Principal, Session};
use serde_json::{json, Value};
use wcc_interface::events::{directory as part, REMOVED_MESSAGE_TYPE};
use wcc_interface::{Envelope, Event, Failure, Note, StoredMessage};

use crate::{codec, directory};

/// Messages per history segment.
pub const SEGMENT: u64 = 50;
/// What a removed message reads (upstream's words).
pub const REMOVED_TEXT: &str = "*Message Removed*";

/// Signal kinds on the `everyone` feed and in voice rooms, as this channel publishes them.
pub mod kinds {
    pub const TALKING: &str = "talking";
    pub const VOICE_JOINED: &str = "voice.joined";
    pub const VOICE_LEFT: &str = "voice.left";
    pub const LIVE: &str = "live";
    pub const SERVER_MUTE: &str = "server.mute";
    pub const DEVICES: &str = "media.devices";
    /// A logged-in connection closed (upstream's `disconnect`).
    pub const DISCONNECTED: &str = "session.closed";
    /// Signals to one user.
    pub const VIDEO: &str = "webrtc.video";
    pub const LET_ME_SEE: &str = "webrtc.letmesee";
}

/// The segment holding message `idx` (ids count from 1).
pub fn segment_of(idx: u64) -> u64 {
    idx.saturating_sub(1) / SEGMENT
}

/// The segment of the room's newest message (0 for an empty room).
pub fn latest_segment(
    backend: &impl Backend,
    actor: &Principal,
    room: &str,
) -> Result<u64, Failure> {
    let next = backend.next_event_id(actor, room)?;
    Ok(segment_of(next.saturating_sub(1)))
}

/// `updateText` for segment `segment` of `room` as `actor` may read it, oldest message first.
pub fn segment_packet(
    backend: &impl Backend,
    actor: &Principal,
    room: &str,
    segment: u64,
) -> Result<String, Failure> {
    let page = segment_page(backend, actor, room, segment)?;
    let names = names(backend, &page)?;
    Ok(update_text(room, segment, &page, &names))
}

/// The messages of segment `segment` of `room` as `actor` may read them, oldest first.
fn segment_page(
    backend: &impl Backend,
    actor: &Principal,
    room: &str,
    segment: u64,
) -> Result<Vec<StoredMessage>, Failure> {
    let first = segment * SEGMENT + 1;
    let mut page = backend.history(actor, room, Some(first + SEGMENT), SEGMENT as u32)?;
    page.retain(|m| m.event_id >= first);
    page.reverse();
    Ok(page)
}

fn update_text(
    room: &str,
    segment: u64,
    page: &[StoredMessage],
    names: &BTreeMap<String, String>,
) -> String {
    let messages: Vec<Value> = page.iter().map(|m| message_object(m, names)).collect();
    codec::packet(
        "updateText",
        json!({ "roomid": room, "segment": segment, "messages": messages }),
    )
}

/// Sender id -> name, for the senders of `messages`.
fn names<'a>(
    backend: &impl Backend,
    messages: impl IntoIterator<Item = &'a StoredMessage>,
) -> Result<BTreeMap<String, String>, Failure> {
    let mut ids: Vec<String> = messages
        .into_iter()
        .map(|m| m.sender.clone())
        .filter(|s| !s.is_empty())
        .collect();
    ids.sort();
    ids.dedup();
    Ok(backend
        .get_users(&ids)?
        .iter()
        .map(|u| (u.id.clone(), directory::name_of(u)))
        .collect())
}

/// Upstream's message object.
pub fn message_object(message: &StoredMessage, names: &BTreeMap<String, String>) -> Value {
    let mut object = json!({
        "roomid": message.room,
        "idx": message.event_id,
        "tags": [],
        "type": "text",
        "url": null,
        "img": null,
        "width": null,
        "height": null,
    });
    if message.event_type == REMOVED_MESSAGE_TYPE {
        // Upstream: the text is replaced and `userid` removed.
        object["text"] = json!(REMOVED_TEXT);
        return object;
    }
    let content = &message.content;
    let text = ["body", "text", "message"]
        .iter()
        .find_map(|k| content.get(*k).and_then(Value::as_str))
        .unwrap_or("");
    object["text"] = json!(text);
    object["userid"] = json!(message.sender);
    let name = names.get(&message.sender).unwrap_or(&message.sender);
    object["username"] = json!(name);
    let image = content
        .get("media")
        .and_then(Value::as_array)
        .and_then(|media| {
            media.iter().find(|m| {
                m.get("mimeType")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.starts_with("image/"))
            })
        });
    if let Some(image) = image {
        object["img"] = image.get("url").cloned().unwrap_or(Value::Null);
        object["width"] = image.get("width").cloned().unwrap_or(Value::Null);
        object["height"] = image.get("height").cloned().unwrap_or(Value::Null);
    }
    object
}

/// `sendMessage` for a message just stored.
pub fn sent(message: &StoredMessage, backend: &impl Backend) -> Option<String> {
    let names = names(backend, [message]).ok()?;
    Some(send_message(message, &names))
}

fn send_message(message: &StoredMessage, names: &BTreeMap<String, String>) -> String {
    codec::packet(
        "sendMessage",
        json!({ "roomid": message.room, "message": message_object(message, names) }),
    )
}

/// What every follower of a room gets for a new message, in this order, as upstream sends it:
/// `updateText` with the segment holding it (the room's newest when it was written), which is
/// what the client draws, then `sendMessage`, which only notifies (a sound, a desktop
/// notification). Read as the server: the gateway delivers it only to connections the core
/// granted the room. A segment that cannot be read leaves the notification alone.
pub fn published(message: &StoredMessage, backend: &impl Backend) -> Vec<String> {
    let room = &message.room;
    let segment = segment_of(message.event_id);
    let Ok(page) = segment_page(backend, &Principal::Server, room, segment) else {
        return sent(message, backend).into_iter().collect();
    };
    // One lookup names the segment's senders and the new message's (normally among them).
    let Ok(names) = names(backend, page.iter().chain([message])) else {
        return Vec::new();
    };
    vec![
        update_text(room, segment, &page, &names),
        send_message(message, &names),
    ]
}

/// Every packet a local Rebuttal subscriber of the event's room (or of `everyone`) gets for
/// it, in order.
pub fn render_all(event: &str, backend: &impl Backend) -> Vec<String> {
    match Envelope::parse(event.as_bytes()) {
        Some(envelope) => render_event(envelope.event, backend),
        None => Vec::new(),
    }
}

/// Every packet for each event of a batch, in order, except that a list which changes again
/// later in the batch is not built for the earlier change: the later list shows both, and
/// clients replace a list whole when it arrives. Under load the `everyone` feed carries a
/// `DirectoryChanged` for every first sign-in and last sign-out on any protocol; built one by
/// one, those lists held up every signal behind them (a voice `joinRoom` waited seconds).
pub fn render_batch(events: &[String], backend: &impl Backend) -> Vec<Vec<String>> {
    let parsed: Vec<Option<Event>> = events
        .iter()
        .map(|event| Envelope::parse(event.as_bytes()).map(|envelope| envelope.event))
        .collect();
    let mut rebuilt_later: Vec<&str> = Vec::new();
    let mut superseded = vec![false; parsed.len()];
    for (i, event) in parsed.iter().enumerate().rev() {
        if let Some(Event::DirectoryChanged { part }) = event {
            superseded[i] = rebuilt_later.contains(&part.as_str());
            rebuilt_later.push(part);
        }
    }
    parsed
        .into_iter()
        .zip(superseded)
        .map(|(event, superseded)| match event {
            Some(event) if !superseded => render_event(event, backend),
            _ => Vec::new(),
        })
        .collect()
}

fn render_event(event: Event, backend: &impl Backend) -> Vec<String> {
    match event {
        Event::MessagePublished { message, .. } => published(&message, backend),
        event => shown(event, backend).into_iter().collect(),
    }
}

/// The one packet an event shows as (for a new message, the last of them: `sendMessage`).
pub fn render(event: &str, backend: &impl Backend) -> Option<String> {
    render_all(event, backend).pop()
}

/// Events shown as one packet.
fn shown(event: Event, backend: &impl Backend) -> Option<String> {
    let shown = match event {
        Event::MessagePublished { message, .. } => sent(&message, backend)?,
        // The gateway renders only for connections the core granted the room.
        Event::MessageUpdated { message } => segment_packet(
            backend,
            &Principal::Server,
            &message.room,
            segment_of(message.event_id),
        )
        .ok()?,
        Event::DirectoryChanged { part } => directory_packet(backend, &part)?,
        Event::Signal {
            room,
            sender,
            kind,
            content,
            ..
        } => signal(&room, &sender, &kind, &content)?,
        Event::UserLoggedIn { .. }
        | Event::UserLoggedOut { .. }
        | Event::GatewayAlive { .. }
        | Event::MessageDelivered { .. }
        | Event::UserJoined { .. }
        | Event::UserLeft { .. }
        | Event::ReactionsChanged { .. } => return None,
    };
    Some(shown)
}

/// The list `part` names, as every local client gets it once per change, unless the directory
/// changed again while it was being built. The later change counted its version before it was
/// announced, so its DirectoryChanged is rendered after this one and its list shows both
/// changes; this one is dropped. So a burst of changes (sign-ups, renames, voice joins) reaches
/// clients as far fewer lists than changes, and the last list is always sent. A version that
/// cannot be read drops nothing.
fn directory_packet(backend: &impl Backend, part: &str) -> Option<String> {
    let build = match part {
        part::USERS => directory::users_packet,
        part::ROOMS => directory::rooms_packet,
        part::GROUPS => directory::groups_packet,
        _ => return None,
    };
    let before = backend.directory_version(part).ok();
    let packet = build(backend).ok()?;
    let after = backend.directory_version(part).ok();
    match (before, after) {
        (Some(before), Some(after)) if after != before => None,
        _ => Some(packet),
    }
}

/// A live signal as upstream's packet.
fn signal(room: &str, sender: &str, kind: &str, content: &Value) -> Option<String> {
    let field = |name: &str| content.get(name).cloned().unwrap_or(Value::Null);
    let shown = match kind {
        kinds::TALKING => codec::packet(
            "talking",
            json!({ "userid": sender, "talking": field("talking") }),
        ),
        kinds::VOICE_JOINED => codec::packet(
            "joinRoom",
            json!({ "userid": sender, "roomid": field("roomid") }),
        ),
        kinds::VOICE_LEFT => codec::packet(
            "leaveRoom",
            json!({ "userid": sender, "roomid": field("roomid") }),
        ),
        kinds::LIVE => codec::packet(
            "golive",
            json!({
                "userid": sender,
                "livestate": field("livestate"),
                "livelabel": field("livelabel"),
                "roomid": field("roomid"),
            }),
        ),
        kinds::SERVER_MUTE => codec::packet(
            "servermute",
            json!({ "userid": field("userid"), "message": field("suppress") }),
        ),
        kinds::DISCONNECTED => codec::packet("disconnect", json!({ "userid": sender })),
        kinds::DEVICES => codec::packet(
            "chatdev",
            json!({
                "userid": sender,
                "roomid": room,
                "video": field("video"),
                "audio": field("audio"),
            }),
        ),
        _ => return None,
    };
    Some(shown)
}

/// A note for this connection: signalling from another user, changed permissions, an
/// operator's message, or an operator moving the user in or out of a room.
pub fn notified(session: Session, note: &str, backend: &impl Backend) -> Outcome {
    let Some(me) = session.user.clone() else {
        return Outcome::nothing(session);
    };
    let Some(note) = Note::parse(note) else {
        return Outcome::nothing(session);
    };
    let mut actions = Vec::new();
    match note {
        Note::Signal {
            sender,
            kind,
            content,
            ..
        } => {
            let field = |name: &str| content.get(name).cloned().unwrap_or(Value::Null);
            match kind.as_str() {
                kinds::VIDEO => actions.push(Action::Send(codec::packet(
                    "video",
                    json!({ "payload": field("payload"), "touserid": me, "fromuserid": sender }),
                ))),
                kinds::LET_ME_SEE => actions.push(Action::Send(codec::packet(
                    "letmesee",
                    json!({ "message": field("message"), "touserid": me, "fromuserid": sender }),
                ))),
                _ => {}
            }
        }
        Note::AccountRemoved => {
            actions.push(Action::Send(codec::error("Your account was removed")));
            actions.push(Action::Close(1000, "account removed".into()));
        }
        Note::PermissionsChanged => match backend.permissions(&me) {
            Ok(perms) => actions.push(Action::Send(codec::perms(&perms))),
            Err(e) => actions.push(Action::Send(codec::error(&e.message))),
        },
        Note::Message { content, .. } => {
            let message = match content.get("message").or(content.get("text")) {
                Some(Value::String(text)) => text.clone(),
                _ => content.to_string(),
            };
            actions.push(Action::Send(codec::admin_message(&message)));
        }
        // The operator put us in a room; the core still grants the subscription.
        Note::Joined { room } => match backend.grant_subscription(&Principal::user(&me), &room) {
            Ok(grant) => actions.push(Action::Subscribe(grant)),
            Err(e) => actions.push(Action::Send(codec::error(&e.message))),
        },
        Note::Left { room } => actions.push(Action::Unsubscribe(room)),
        // channel-kit closes the connection before a disconnect gets here.
        Note::ReadPointer { .. } | Note::Disconnect { .. } => {}
    }
    Outcome { session, actions }
}
