//! Private chat requests: messages, read receipts, typing notifications and bans. A private
//! chat with a user is that user's direct room, so what is sent here reaches every session of
//! theirs on every protocol.

use channel_kit::{Backend, NewMessage, Principal};
use serde_json::{json, Value};
use wcc_interface::events::REMOVED_MESSAGE_TYPE;
use wcc_interface::StoredMessage;

use super::{core, Conn, READ_SIGNAL, TYPING_SIGNAL};
use crate::codec::{self, Error};
use crate::content::{self, SendMessage};
use crate::errors;
use crate::CHANNEL;

/// The neutral event type of chat messages, shared with every protocol.
const MESSAGE_EVENT_TYPE: &str = "channel.message";

/// The answer to a stored private message.
pub(super) fn sent(stored: &StoredMessage) -> Value {
    json!({
        "messageID": stored.id,
        "originServerTimestamp": stored.sent_at / 1000,
    })
}

impl<B: Backend> Conn<'_, B> {
    pub(super) fn message(
        &mut self,
        user: &str,
        to: &str,
        mut message: SendMessage,
    ) -> Result<Value, Error> {
        let recipient = self.recipient(to)?;
        if let Some(reply) = &message.reply {
            // A reply names a message of this conversation: one in either side's direct room.
            let reply = codec::message_local_part(reply).to_owned();
            let found = self
                .backend
                .get_message(&Principal::user(user), &reply)
                .map_err(core)?;
            if !found.is_some_and(|m| m.room == recipient || m.room == user) {
                return Err(Error::new(
                    errors::MESSAGE_NOT_FOUND,
                    format!("no message {reply} in this chat to reply to"),
                ));
            }
            // Stored as the bare id the recipient's `reply` shows, whichever form was sent.
            message.reply = Some(reply);
        }
        // Stored by the caller, alone or with the messages that arrived with it; answered
        // with [`sent`].
        self.to_store = Some(NewMessage {
            origin: None,
            room: recipient,
            sender: user.to_owned(),
            channel: CHANNEL.to_owned(),
            event_type: MESSAGE_EVENT_TYPE.to_owned(),
            content: content::to_stored(&message).to_string(),
        });
        Ok(Value::Null)
    }

    /// Marks a message `user` received as read: their read pointer in their direct room moves
    /// up to it (kept by the core, so every protocol's unread counts agree), and the original
    /// sender hears the receipt.
    pub(super) fn read(
        &mut self,
        user: &str,
        message_id: &str,
        request_id: &str,
    ) -> Result<Value, Error> {
        let message_id = codec::message_local_part(message_id);
        let found = self
            .backend
            .get_message(&Principal::user(user), message_id)
            .map_err(core)?;
        // A removed message has no sender left to tell.
        let Some(message) =
            found.filter(|m| m.room == user && m.event_type != REMOVED_MESSAGE_TYPE)
        else {
            return Err(Error::new(
                errors::MESSAGE_NOT_FOUND,
                format!("no message {message_id} sent to you"),
            ));
        };
        self.backend
            .mark_read(&Principal::user(user), user, message.event_id)
            .map_err(core)?;
        let content = json!({ "id": request_id, "message_id": message.id });
        self.signal(user, &message.sender, READ_SIGNAL, content)?;
        Ok(json!({}))
    }

    pub(super) fn typing(
        &mut self,
        user: &str,
        to: &str,
        request_id: &str,
    ) -> Result<Value, Error> {
        let recipient = self.recipient(to)?;
        self.signal(user, &recipient, TYPING_SIGNAL, json!({ "id": request_id }))?;
        Ok(json!({}))
    }

    /// Bans (`ban`) or lets back `target` from writing to `user`.
    pub(super) fn ban(&mut self, user: &str, target: &str, ban: bool) -> Result<Value, Error> {
        let target = self.recipient(target)?;
        if ban {
            self.backend.ban(user, &target).map_err(core)?;
        } else {
            self.backend.unban(user, &target).map_err(core)?;
        }
        Ok(json!({}))
    }
}
