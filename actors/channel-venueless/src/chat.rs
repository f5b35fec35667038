//! The `chat.*` actions: joining, watching and talking in rooms.
//!
//! Join and subscribe are separate in venueless: joining makes the user a (persisted) member,
//! visible to others and allowed to send; subscribing makes this connection receive the room's
//! events. A join implies a subscribe and an unsubscribe implies a leave, as the seed says.
//!
//! Who may join, watch, read, send, edit and delete is the core's decision; this file only maps
//! venueless requests onto those calls and the core's refusals onto venueless error codes.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use wcc_interface::{ids, Failure, Reactions, StoredMessage};

use crate::backend::{Backend, NewMessage, Principal, Room};
use crate::handler::{chat, refuse, user_failure, Conn, Handled, Refusal};
use crate::session::Action;
use crate::views::{
    has_profile, message_event, reactors, replacement_event, room_view, user_view, users_map,
};
use crate::{codec, codes, world, CHANNEL};

/// The setting that makes `chat.unsubscribe` keep the membership (`false`), as upstream venueless
/// and its webapp do: the webapp unsubscribes from a room whenever it shows another one. By
/// default an unsubscribe is also a leave, the seed's rule.
pub const UNSUBSCRIBE_LEAVES_KEY: &str = "unsubscribe_leaves";

fn unsubscribe_leaves(backend: &impl Backend) -> bool {
    let setting = backend.setting(UNSUBSCRIBE_LEAVES_KEY);
    !matches!(
        setting.as_deref().map(str::trim),
        Some("false" | "0" | "no")
    )
}

impl<B: Backend> Conn<'_, B> {
    pub(crate) fn join(&mut self, user: &str, channel: &str) -> Handled {
        if !self.data.profile {
            // The profile may have been set through another connection since we last looked.
            let current = self.backend.get_user(user).map_err(user_failure)?;
            self.data.profile = current.as_ref().is_some_and(has_profile);
            if !self.data.profile {
                return refuse(
                    codes::CHANNEL_JOIN_MISSING_PROFILE,
                    "set a profile before joining",
                );
            }
        }
        let room = self.known_room(channel)?;
        self.backend
            .join(&Principal::user(user), &room.id, user, CHANNEL, None)
            .map_err(chat)?;
        self.data.add_joined(&room.id);
        // A join is implicitly a subscribe.
        self.subscribe_to(user, &room)?;
        self.channel_state(user, &room).map(Some)
    }

    /// Makes this connection hear `room`, on the core's grant.
    pub(crate) fn subscribe_to(&mut self, user: &str, room: &Room) -> Result<(), Refusal> {
        if self.data.is_subscribed(&room.id) {
            return Ok(());
        }
        let grant = self
            .backend
            .grant_subscription(&Principal::user(user), &room.id)
            .map_err(chat)?;
        self.data.add_subscribed(&room.id);
        self.actions.push(Action::Subscribe(grant));
        Ok(())
    }

    pub(crate) fn leave(&mut self, user: &str, channel: &str) -> Handled {
        known_id(channel)?;
        self.backend
            .leave(&Principal::user(user), channel, user, CHANNEL, None)
            .map_err(chat)?;
        // Leaving keeps the subscription: the client still watches the room.
        self.data.remove_joined(channel);
        Ok(Some(json!({})))
    }

    pub(crate) fn unsubscribe(&mut self, user: &str, channel: &str) -> Handled {
        let joined = self.data.is_joined(channel);
        if !unsubscribe_leaves(self.backend) {
            // Upstream's rule: the user stays in the room, and so does this connection, which
            // keeps hearing it for its unread marker (see `render_all`).
            if !joined && self.data.remove_subscribed(channel) {
                self.actions.push(Action::Unsubscribe(channel.to_owned()));
            }
            return Ok(Some(json!({})));
        }
        // The seed's rule: an unsubscribe is implicitly a leave.
        if joined {
            self.backend
                .leave(&Principal::user(user), channel, user, CHANNEL, None)
                .map_err(chat)?;
            self.data.remove_joined(channel);
        }
        if self.data.remove_subscribed(channel) {
            self.actions.push(Action::Unsubscribe(channel.to_owned()));
        }
        if joined {
            // The webapp unsubscribes whenever it shows another room and does not expect to
            // have left: its channel list is sent again, so it offers "join" instead of a
            // composer that would be refused. Should the list fail, the leave still stands.
            if let Ok(channels) = world::current_channel_list(self.backend, user) {
                let list = codec::push("chat.channels", json!({ "channels": channels }));
                self.actions.push(Action::Send(list));
            }
        }
        Ok(Some(json!({})))
    }

    pub(crate) fn send(
        &mut self,
        user: &str,
        channel: &str,
        event_type: Option<String>,
        content: Value,
    ) -> Handled {
        let msg = new_message(user, channel, event_type, content)?;
        // Stored by the handler, alone or with the sends that arrived with it; `sent` answers.
        self.to_store = Some((channel.to_owned(), msg));
        Ok(None)
    }

    /// The answer to a `chat.send` once the core stored the message or refused it.
    pub(crate) fn sent(
        &mut self,
        channel: &str,
        stored: Result<StoredMessage, Failure>,
    ) -> Handled {
        let stored = stored.map_err(|failure| {
            let refusal = chat(failure);
            if refusal.code == codes::CHAT_DENIED {
                // Our record was stale (left through another connection): forget the membership.
                self.data.remove_joined(channel);
            }
            refusal
        })?;
        let event = message_event(&stored, &Reactions::new());
        Ok(Some(json!({ "event": event })))
    }

    /// `chat.send` with `replaces`: edits the sender's own message (text content) or deletes
    /// it (content type `deleted`). The message keeps its event id; everyone in the room then
    /// gets upstream's replacement event for it (see [`replacement_event`]), as this reply does.
    pub(crate) fn replace(
        &mut self,
        user: &str,
        channel: &str,
        event_type: Option<String>,
        content: Value,
        replaces: &Value,
    ) -> Handled {
        if event_type.as_deref() != Some("channel.message") {
            return refuse(
                codes::CHAT_UNSUPPORTED_EVENT_TYPE,
                "only channel.message can be sent",
            );
        }
        let Some(event_id) = replaces.as_u64() else {
            return refuse(codes::CHAT_INVALID, "replaces must be an event id");
        };
        known_id(channel)?;
        // Whose message may be changed is the core's decision: it refuses with `denied`.
        let actor = Principal::user(user);
        let changed = match content.get("type").and_then(Value::as_str) {
            Some("deleted") => self.backend.remove_message(&actor, channel, event_id),
            Some("text") => {
                if content
                    .get("body")
                    .and_then(Value::as_str)
                    .is_none_or(|b| b.trim().is_empty())
                {
                    return refuse(codes::CHAT_EMPTY, "the message body is empty");
                }
                self.backend
                    .edit_message(&actor, channel, event_id, &content.to_string())
            }
            _ => {
                return refuse(
                    codes::CHAT_UNSUPPORTED_CONTENT_TYPE,
                    "an edit is text content; a deletion has type deleted",
                )
            }
        }
        .map_err(chat)?;
        let position = self
            .backend
            .next_event_id(&actor, channel)
            .map_or(changed.event_id, |next| next.saturating_sub(1));
        let event = replacement_event(&changed, position, self.backend.now_ms());
        Ok(Some(json!({ "event": event })))
    }

    pub(crate) fn fetch(
        &mut self,
        user: &str,
        channel: &str,
        count: u32,
        before_id: Option<u64>,
    ) -> Handled {
        let room = self.known_room(channel)?;
        let actor = Principal::user(user);
        let mut page = self
            .backend
            .history(&actor, &room.id, before_id, count)
            .map_err(chat)?;
        page.reverse(); // the core returns newest first; clients want reading order
        let ids: Vec<u64> = page.iter().map(|m| m.event_id).collect();
        let reactions: BTreeMap<u64, Reactions> = if ids.is_empty() {
            BTreeMap::new()
        } else {
            self.backend
                .reactions(&actor, &room.id, &ids)
                .map_err(chat)?
                .into_iter()
                .collect()
        };
        let none = Reactions::new();
        // Senders first, so a long list of reactors never crowds them out of the bound.
        let mut people: Vec<String> = page.iter().map(|m| m.sender.clone()).collect();
        people.extend(reactions.values().flat_map(reactors).cloned());
        let users = users_map(self.backend, &people).map_err(chat)?;
        let results: Vec<Value> = page
            .iter()
            .map(|m| message_event(m, reactions.get(&m.event_id).unwrap_or(&none)))
            .collect();
        Ok(Some(json!({ "results": results, "users": users })))
    }

    /// The room `channel` names, if it exists (whether `user` may see it the core decides).
    pub(crate) fn known_room(&self, channel: &str) -> Result<Room, Refusal> {
        known_id(channel)?;
        match self.backend.get_room(channel).map_err(chat)? {
            Some(room) => Ok(room),
            None => refuse(codes::CHANNEL_UNKNOWN, format!("no channel {channel}")),
        }
    }

    /// The reply to join and subscribe: `{state, members, next_event_id, unread_pointer}`;
    /// `unread_pointer` is the newest event id, which the webapp compares with the read pointer.
    pub(crate) fn channel_state(&mut self, user: &str, room: &Room) -> Result<Value, Refusal> {
        let actor = Principal::user(user);
        let members = self.backend.query_members(&actor, &room.id).map_err(chat)?;
        if members.iter().any(|m| m == user) {
            // Joined elsewhere (another connection or protocol): sending is allowed here too.
            self.data.add_joined(&room.id);
        }
        let users = self.backend.get_users(&members).map_err(chat)?;
        let next_event_id = self.backend.next_event_id(&actor, &room.id).map_err(chat)?;
        Ok(json!({
            "state": room_view(room),
            "members": users.iter().map(user_view).collect::<Vec<_>>(),
            "next_event_id": next_event_id,
            "unread_pointer": next_event_id.saturating_sub(1),
        }))
    }
}

/// The message a `chat.send` (without `replaces`) asks the core to store, or why it is refused
/// before the core is asked.
fn new_message(
    user: &str,
    channel: &str,
    event_type: Option<String>,
    content: Value,
) -> Result<NewMessage, Refusal> {
    if event_type.as_deref() != Some("channel.message") {
        return refuse(
            codes::CHAT_UNSUPPORTED_EVENT_TYPE,
            "only channel.message can be sent",
        );
    }
    if content.get("type").and_then(Value::as_str) != Some("text") {
        return refuse(
            codes::CHAT_UNSUPPORTED_CONTENT_TYPE,
            "only text content is supported",
        );
    }
    if content
        .get("body")
        .and_then(Value::as_str)
        .is_none_or(|b| b.trim().is_empty())
    {
        return refuse(codes::CHAT_EMPTY, "the message body is empty");
    }
    known_id(channel)?;
    // The core refuses a sender who is not a member (a direct message needs none).
    Ok(NewMessage {
        origin: None,
        room: channel.to_owned(),
        sender: user.to_owned(),
        channel: CHANNEL.to_owned(),
        event_type: "channel.message".to_owned(),
        content: content.to_string(),
    })
}

/// A channel id that cannot name a room is an unknown channel; the core is not asked.
pub(crate) fn known_id(channel: &str) -> Result<(), Refusal> {
    if ids::is_valid_id(channel) {
        Ok(())
    } else {
        refuse(codes::CHANNEL_UNKNOWN, format!("no channel {channel:?}"))
    }
}
