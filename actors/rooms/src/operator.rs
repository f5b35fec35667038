//! What an operator does to live sessions: the WIT `admin` interface (the seed's actionhero
//! `api.chatRoom.*`), which the admin HTTP API serves too, and the operator console's actions
//! (rename a room, read and remove its messages, disconnect, ban or delete a user). Each goes
//! through the core's own operations as [`Principal::Operator`], so the policy decides for the
//! console exactly as for every other caller.
//!
//! Room operations change stored state and tell the room; an operator's changes must also reach
//! the sessions of the user concerned, wherever they are connected. Those get a [`Note`] on
//! their note subject (see `wcc_interface::notes`), which every gateway hands to the matching
//! connections' channel actors. Notes are live-only: a session that is not connected misses them,
//! and the stored membership is what counts.

use wcc_interface::requests::MAX_HISTORY_COUNT;
use wcc_interface::{ids, notes, Failure, Note, Principal, StoredMessage};
use wcc_kv::Store;

use crate::accounts::server_ban;
use crate::{Administration, Publisher, Room, Rooms};

/// The `channel` an operator's membership changes and broadcasts carry.
pub const ADMIN_CHANNEL: &str = "admin";

/// The event type of a broadcast: chat text, as every protocol shows it.
pub const BROADCAST_EVENT_TYPE: &str = "channel.message";

/// Largest content of a message to one connection, in bytes of its JSON text; the same bound
/// the messages actor applies to a stored message by default.
pub const MAX_NOTE_CONTENT_BYTES: usize = 16 * 1024;

/// Why an operator's disconnect closes a user's connections (their close reason).
pub const DISCONNECT_REASON: &str = "disconnected by an operator";

/// Why a ban closes a user's connections.
pub const BAN_REASON: &str = "banned by an operator";

/// Why a deletion closes a user's connections.
pub const DELETE_REASON: &str = "account removed by an operator";

/// The messages actor as an operator uses it (wcc:chat/messages in the component).
pub trait Messages {
    /// `announce`: persists and publishes a message whose sender is the server.
    fn announce(
        &self,
        room: &str,
        channel: &str,
        event_type: &str,
        content: &str,
    ) -> Result<StoredMessage, Failure>;

    /// `history`: up to `count` messages of `room` older than event id `before` (or the
    /// newest), newest first.
    fn history(
        &self,
        actor: &Principal,
        room: &str,
        before: Option<u64>,
        count: u32,
    ) -> Result<Vec<StoredMessage>, Failure>;

    /// `remove-message`: masks the message and publishes MessageUpdated; the message as it now
    /// is.
    fn remove_message(
        &self,
        actor: &Principal,
        room: &str,
        event_id: u64,
    ) -> Result<StoredMessage, Failure>;
}

/// The operator's actions, over one store, one publisher and the messages actor.
pub struct Operator<'a, S: Store, P: Publisher, M: Messages> {
    rooms: Rooms<'a, S, P>,
    publisher: &'a P,
    messages: &'a M,
}

impl<'a, S: Store, P: Publisher, M: Messages> Operator<'a, S, P, M> {
    pub fn new(store: &'a S, publisher: &'a P, messages: &'a M) -> Self {
        Self {
            rooms: Rooms::new(store, publisher),
            publisher,
            messages,
        }
    }

    fn administration(&self) -> Administration<'a, S, P> {
        Administration::new(self.rooms.store(), self.publisher, &Principal::Operator)
    }

    /// Gives `room` a new name, as the operator.
    pub fn rename_room(&self, room: &str, name: &str) -> Result<Room, Failure> {
        self.administration().rename_room(room, name)
    }

    /// Up to `count` (at most [`MAX_HISTORY_COUNT`]) messages of `room` before event id
    /// `before` (or the newest), oldest first: the order a reader shows them in.
    pub fn history(
        &self,
        room: &str,
        before: Option<u64>,
        count: u32,
    ) -> Result<Vec<StoredMessage>, Failure> {
        self.require_room(room)?;
        let count = count.clamp(1, MAX_HISTORY_COUNT);
        let mut page = self
            .messages
            .history(&Principal::Operator, room, before, count)?;
        page.reverse();
        Ok(page)
    }

    /// Removes message `event_id` of `room` (every protocol hears MessageUpdated); the message
    /// as it now is.
    pub fn remove_message(&self, room: &str, event_id: u64) -> Result<StoredMessage, Failure> {
        self.require_room(room)?;
        self.messages
            .remove_message(&Principal::Operator, room, event_id)
    }

    /// Deletes `user` as the operator; `false` if there was no such user. A ban of the user
    /// stays. Its sessions hear `AccountRemoved` (for protocols that say so their own way), then
    /// a disconnect, so they end on every protocol. The deletion is done either way, so a failed
    /// publish is logged rather than returned.
    pub fn delete_user(&self, user: &str, now_ms: u64) -> Result<bool, Failure> {
        let deleted = self.administration().delete_user(user, now_ms)?;
        if deleted {
            let note = Note::Disconnect {
                reason: DELETE_REASON.to_owned(),
            };
            self.publisher.note(user, &note);
        }
        Ok(deleted)
    }

    /// Closes every live session of `user`, on every protocol and gateway (channel-kit closes
    /// each with 1008 and `reason`). Nothing is stored: the user may sign in again.
    pub fn disconnect(&self, user: &str, reason: &str) -> Result<(), Failure> {
        // The id becomes a subject token: anything else could address other subjects.
        if !ids::is_valid_id(user) {
            return Err(Failure::invalid(format!("invalid user id {user:?}")));
        }
        let note = Note::Disconnect {
            reason: reason.to_owned(),
        };
        self.tell(&notes::user_subject(user), &note)
    }

    /// Bans `user` from the server: every later sign-in is refused, and its live sessions are
    /// closed. `false` if it was banned already (its sessions are closed again all the same).
    ///
    /// The ban is stored before the sessions are told, so a session cannot sign in again in
    /// between; a failed publish is returned with the ban in place, so the operator knows
    /// sessions may still be open.
    pub fn ban(&self, user: &str, now_ms: u64) -> Result<bool, Failure> {
        let banned = server_ban::ban(self.rooms.store(), user, now_ms)?;
        self.disconnect(user, BAN_REASON)?;
        Ok(banned)
    }

    /// Lifts the ban of `user`; `false` if there was none.
    pub fn unban(&self, user: &str) -> Result<bool, Failure> {
        server_ban::unban(self.rooms.store(), user)
    }

    /// Whether `user` is banned from the server.
    pub fn is_banned(&self, user: &str) -> Result<bool, Failure> {
        server_ban::check_bannable(user)?;
        server_ban::is_banned(self.rooms.store(), user)
    }

    /// Adds `user` to `room` (no join rule applies: the operator decides) and tells the user's
    /// sessions; `false`, and no note, if already a member.
    ///
    /// As with [`Rooms::join`], a failed publish leaves the membership in place and is returned
    /// so the operator knows the sessions may not have been told.
    pub fn add_member(&self, room: &str, user: &str, now_ms: u64) -> Result<bool, Failure> {
        let joined = self.rooms.join_as(
            &Principal::Operator,
            room,
            user,
            ADMIN_CHANNEL,
            None,
            now_ms,
        )?;
        if joined {
            let note = Note::Joined { room: room.into() };
            self.tell(&notes::user_subject(user), &note)?;
        }
        Ok(joined)
    }

    /// Removes `user` from `room` and tells the user's sessions; `false`, and no note, if not a
    /// member.
    pub fn remove_member(&self, room: &str, user: &str, now_ms: u64) -> Result<bool, Failure> {
        let left = self.rooms.leave_as(
            &Principal::Operator,
            room,
            user,
            ADMIN_CHANNEL,
            None,
            now_ms,
        )?;
        if left {
            let note = Note::Left { room: room.into() };
            self.tell(&notes::user_subject(user), &note)?;
        }
        Ok(left)
    }

    /// Stores and publishes `content` (a JSON object) in `room` as the server's message.
    pub fn broadcast(&self, room: &str, content: &str) -> Result<StoredMessage, Failure> {
        parse_object(content)?;
        self.require_room(room)?;
        self.messages
            .announce(room, ADMIN_CHANNEL, BROADCAST_EVENT_TYPE, content)
    }

    /// Sends `content` (a JSON object) to one connection, wherever it is; nothing is stored. A
    /// connection that is gone (or never was) is not an error: no one receives it.
    pub fn send_to_connection(
        &self,
        connection_id: &str,
        content: &str,
        now_ms: u64,
    ) -> Result<(), Failure> {
        // Connection ids become a subject token: anything else could address other subjects.
        if !ids::is_valid_id(connection_id) {
            return Err(Failure::invalid(format!(
                "invalid connection id {connection_id:?}"
            )));
        }
        if content.len() > MAX_NOTE_CONTENT_BYTES {
            return Err(Failure::invalid(format!(
                "content is {} bytes, the limit is {MAX_NOTE_CONTENT_BYTES}",
                content.len()
            )));
        }
        let note = Note::Message {
            content: parse_object(content)?,
            sent_at: now_ms,
        };
        self.tell(&notes::connection_subject(connection_id), &note)
    }

    /// `unknown_room` unless `room` exists. The messages actor checks too; checking here first
    /// spares a call for a request it would refuse.
    fn require_room(&self, room: &str) -> Result<(), Failure> {
        self.rooms.require_room(room).map(drop)
    }

    fn tell(&self, subject: &str, note: &Note) -> Result<(), Failure> {
        self.publisher.publish(subject, note.to_json().as_bytes())
    }
}

fn parse_object(content: &str) -> Result<serde_json::Value, Failure> {
    match serde_json::from_str::<serde_json::Value>(content) {
        Ok(value @ serde_json::Value::Object(_)) => Ok(value),
        Ok(_) => Err(Failure::invalid("content is not a JSON object")),
        Err(e) => Err(Failure::invalid(format!("content is not JSON: {e}"))),
    }
}

#[cfg(test)]
mod tests;
