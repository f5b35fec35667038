//! Editing and deleting a message (`urn:cadmium:chat:message:edit` / `:delete`, from the chats
//! proposal, CPE#4). Who may change which message is the core's decision (`wcc-policy`: the
//! sender, while they may still write there); the recipient hears it as the same type.

use channel_kit::{Backend, Principal};
use serde_json::{json, Value};
use wcc_interface::events::REMOVED_MESSAGE_TYPE;
use wcc_interface::StoredMessage;

use super::{core, Conn};
use crate::codec::{self, Error};
use crate::content;
use crate::errors;

impl<B: Backend> Conn<'_, B> {
    /// Replaces a message's content. The message keeps its Cadmium type and what it replies
    /// to, so `updated` is content of that type (`{text, media?}` for a general message).
    pub(super) fn edit(
        &mut self,
        user: &str,
        message_id: &str,
        updated: Value,
    ) -> Result<Value, Error> {
        let message = self.changeable(user, message_id)?;
        let (kind, _) = content::from_stored(&message.content);
        let mut payload = json!({ "type": kind, "content": updated });
        if let Some(reply) = message.content["reply"].as_str() {
            payload["reply"] = json!(reply);
        }
        let edited = content::parse(payload)?;
        self.backend
            .edit_message(
                &Principal::user(user),
                &message.room,
                message.event_id,
                &content::to_stored(&edited).to_string(),
            )
            .map_err(core)?;
        Ok(json!({}))
    }

    /// Removes a message: its place stays, its content and sender go.
    pub(super) fn delete(&mut self, user: &str, message_id: &str) -> Result<Value, Error> {
        let message = self.changeable(user, message_id)?;
        self.backend
            .remove_message(&Principal::user(user), &message.room, message.event_id)
            .map_err(core)?;
        Ok(json!({}))
    }

    /// The message `message_id` names, if `user` can see it and it was not removed; whether they
    /// may change it is the core's to say.
    fn changeable(&self, user: &str, message_id: &str) -> Result<StoredMessage, Error> {
        let message_id = codec::message_local_part(message_id);
        let found = self
            .backend
            .get_message(&Principal::user(user), message_id)
            .map_err(core)?;
        found
            .filter(|m| m.event_type != REMOVED_MESSAGE_TYPE)
            .ok_or_else(|| {
                Error::new(
                    errors::MESSAGE_NOT_FOUND,
                    format!("no message {message_id} to change"),
                )
            })
    }
}
