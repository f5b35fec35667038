//! `chat.react` and `chat.mark_read`: how a user took a room's messages.
//!
//! Both are the core's: it keeps reactions and read pointers, decides who may set them, and
//! tells everyone concerned (`ReactionsChanged` to the room, rendered as `chat.event.reaction`;
//! `Note::ReadPointer` to the user's sessions, see [`crate::notified`]). The webapp sends
//! `chat.mark_read` after every event it shows, so a pointer that would move back is simply
//! kept where it is.

use serde_json::json;

use crate::backend::{Backend, Principal};
use crate::chat::known_id;
use crate::codes;
use crate::handler::{chat, refuse, Conn, Handled};

impl<B: Backend> Conn<'_, B> {
    /// Adds (`add`) or withdraws `user`'s `reaction` on message `event_id` of `channel`; answers
    /// the message's reactions after the change, as the push shows them.
    pub(crate) fn react(
        &mut self,
        user: &str,
        channel: &str,
        event_id: u64,
        reaction: &str,
        add: bool,
    ) -> Handled {
        known_id(channel)?;
        let reactions = self
            .backend
            .react(&Principal::user(user), channel, event_id, reaction, add)
            .map_err(chat)?;
        Ok(Some(json!({
            "channel": channel,
            "event_id": event_id,
            "reactions": reactions,
        })))
    }

    /// Moves `user`'s read pointer in `channel` up to `event_id`. Upstream refuses a request
    /// without a positive id as `chat.invalid_body`; the webapp sends one after a membership
    /// event, which has no id in wcc, and ignores the refusal.
    pub(crate) fn mark_read(
        &mut self,
        user: &str,
        channel: &str,
        event_id: Option<u64>,
    ) -> Handled {
        let Some(event_id) = event_id else {
            return refuse(
                codes::CHAT_INVALID_BODY,
                "payload.id must be the event id read up to",
            );
        };
        known_id(channel)?;
        self.backend
            .mark_read(&Principal::user(user), channel, event_id)
            .map_err(chat)?;
        Ok(Some(json!({})))
    }
}
