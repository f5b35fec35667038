//! Room events and notes -> the messages a connection sees.

use serde_json::{json, Value};
use wcc_interface::{ids, Envelope, Event, Note};

use crate::{codec, Framing};

/// What members see when someone enters or leaves (upstream's wording).
pub const ENTERED: &str = "I have entered the room";
pub const LEFT: &str = "I have left the room";

/// One room event as every local actionhero subscriber of this component sees it.
pub fn render(event: &str, framing: Framing) -> Option<String> {
    chat_message(event).map(|message| framing.encode(message))
}

/// The chat message a room event shows, if any.
pub fn chat_message(event: &str) -> Option<Value> {
    let envelope = Envelope::parse(event.as_bytes())?;
    match envelope.event {
        Event::MessagePublished { message, .. } => Some(codec::chat(
            &shown(&message.content),
            Some(&message.room),
            &message.sender,
            message.sent_at,
        )),
        Event::UserJoined { room, user, .. } => Some(codec::chat(
            &json!(ENTERED),
            Some(&room),
            &user,
            envelope.at,
        )),
        Event::UserLeft { room, user, .. } => {
            Some(codec::chat(&json!(LEFT), Some(&room), &user, envelope.at))
        }
        _ => None,
    }
}

/// The `message` of a chat line: the text of any protocol's content (every wcc content has a
/// `body`), or the content itself when it has none.
fn shown(content: &Value) -> Value {
    match content.get("body") {
        Some(body @ Value::String(_)) => body.clone(),
        _ => content.clone(),
    }
}

/// An operator's message for this connection.
pub fn note_message(note: &Note) -> Option<Value> {
    let Note::Message { content, sent_at } = note else {
        return None;
    };
    let message = content.get("message").unwrap_or(content);
    Some(codec::chat(message, None, ids::SERVER_USER, *sent_at))
}
