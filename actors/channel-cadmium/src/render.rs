//! Room events -> what a Cadmium session shows. Cadmium sessions subscribe only to their user's
//! direct room, so every message rendered here is a private message to that user (sent through
//! any protocol), and every signal a read receipt or typing notification for them.
//!
//! The gateway renders each event once for all local Cadmium subscribers of the room, so nothing
//! here depends on who receives it.

use serde_json::json;
use wcc_interface::{Envelope, Event};

use crate::codec::{self, address};
use crate::content;
use crate::handler::{READ_SIGNAL, TYPING_SIGNAL};

/// Renders one room event envelope (JSON text); `None` for events Cadmium does not show.
pub fn render(event: &str, server: &str) -> Option<String> {
    let envelope = Envelope::parse(event.as_bytes())?;
    match envelope.event {
        Event::MessagePublished { message } => {
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
            let frame = json!({
                "id": message.id,
                "type": codec::MESSAGE,
                "from": address(&message.sender, server),
                "to": [address(&message.room, server)],
                "ok": true,
                "payload": payload,
            });
            Some(frame.to_string())
        }
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
        Event::UserLoggedIn { .. }
        | Event::UserLoggedOut { .. }
        | Event::GatewayAlive { .. }
        | Event::MessageDelivered { .. }
        | Event::UserJoined { .. }
        | Event::MessageUpdated { .. }
        | Event::DirectoryChanged { .. }
        | Event::UserLeft { .. } => None,
    }
}
