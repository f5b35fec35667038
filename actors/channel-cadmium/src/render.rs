//! Room events -> what a Cadmium session shows. Cadmium sessions subscribe only to their user's
//! direct room, so every message rendered here is a private message to that user (sent through
//! any protocol), every change one of those messages changing, and every signal a read receipt
//! or typing notification for them.
//!
//! The gateway renders each event once for all local Cadmium subscribers of the room, so nothing
//! here depends on who receives it.

use serde_json::json;
use wcc_interface::events::REMOVED_MESSAGE_TYPE;
use wcc_interface::{Envelope, Event, StoredMessage};

use crate::codec::{self, address};
use crate::content;
use crate::handler::{READ_SIGNAL, TYPING_SIGNAL};

/// Renders one room event envelope (JSON text); `None` for events Cadmium does not show.
pub fn render(event: &str, server: &str) -> Option<String> {
    let envelope = Envelope::parse(event.as_bytes())?;
    match envelope.event {
        Event::MessagePublished { message, .. } => Some(published(&message, server)),
        Event::MessageUpdated { message } => Some(updated(&message, server)),
        Event::Signal {
            sender,
            kind,
            content,
            ..
        } => {
            let id = content["id"].as_str().unwrap_or_default();
            let from = address(&sender, server);
            match kind.as_str() {
                TYPING_SIGNAL => Some(codec::ok(id, codec::TYPING, &from, json!({}))),
                READ_SIGNAL => {
                    let message_id = content["message_id"].as_str()?;
                    let payload = json!({ "messageID": message_id });
                    Some(codec::ok(id, codec::READ, &from, payload))
                }
                _ => None,
            }
        }
        // The Cadmium documents have no reactions (the chats proposal lists them as a
        // requirement and defines no packet), and no packet for the user's own read pointer
        // moving: their receipts go to the other side, as `read`.
        Event::ReactionsChanged { .. }
        | Event::UserLoggedIn { .. }
        | Event::UserLoggedOut { .. }
        | Event::GatewayAlive { .. }
        | Event::MessageDelivered { .. }
        | Event::UserJoined { .. }
        | Event::DirectoryChanged { .. }
        | Event::UserLeft { .. } => None,
    }
}

/// A new private message, as the seed's "receiving message on other side".
fn published(message: &StoredMessage, server: &str) -> String {
    let (kind, body) = content::from_stored(&message.content);
    let mut payload = json!({
        "messageID": message.id,
        "originServerTimestamp": message.sent_at / 1000,
        "type": kind,
        "content": body,
    });
    if let Some(reply) = message.content["reply"].as_str() {
        payload["reply"] = json!(reply);
    }
    push(
        message,
        codec::MESSAGE,
        &address(&message.sender, server),
        payload,
        server,
    )
}

/// An edit or a removal, as the chats proposal's notifications: `edit {eventID, updatedContent}`
/// from the sender, `delete {eventID}` from the server (a removed message names no sender).
fn updated(message: &StoredMessage, server: &str) -> String {
    if message.event_type == REMOVED_MESSAGE_TYPE {
        let payload = json!({ "eventID": message.id });
        return push(message, codec::DELETE, server, payload, server);
    }
    let (kind, body) = content::from_stored(&message.content);
    // `type` besides the proposal's two fields: an edit made on another protocol may change
    // what the message is (an audio message edited into text elsewhere).
    let payload = json!({ "eventID": message.id, "type": kind, "updatedContent": body });
    push(
        message,
        codec::EDIT,
        &address(&message.sender, server),
        payload,
        server,
    )
}

fn push(
    message: &StoredMessage,
    kind: &str,
    from: &str,
    payload: serde_json::Value,
    server: &str,
) -> String {
    json!({
        "id": message.id,
        "type": kind,
        "from": from,
        "to": [address(&message.room, server)],
        "ok": true,
        "payload": payload,
    })
    .to_string()
}
