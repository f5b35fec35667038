//! What an operator does to live sessions: the WIT `admin` interface (the seed's actionhero
//! `api.chatRoom.*`), which the admin HTTP API serves too.
//!
//! Room operations change stored state and tell the room; an operator's changes must also reach
//! the sessions of the user concerned, wherever they are connected. Those get a [`Note`] on
//! their note subject (see `wcc_interface::notes`), which every gateway hands to the matching
//! connections' channel actors. Notes are live-only: a session that is not connected misses them,
//! and the stored membership is what counts.

use wcc_interface::{ids, notes, Failure, FailureCode, Note, Principal, StoredMessage};
use wcc_kv::Store;

use crate::{Publisher, Rooms};

/// The `channel` an operator's membership changes and broadcasts carry.
pub const ADMIN_CHANNEL: &str = "admin";

/// The event type of a broadcast: chat text, as every protocol shows it.
pub const BROADCAST_EVENT_TYPE: &str = "channel.message";

/// Largest content of a message to one connection, in bytes of its JSON text; the same bound
/// the messages actor applies to a stored message by default.
pub const MAX_NOTE_CONTENT_BYTES: usize = 16 * 1024;

/// The messages actor's `announce` (wcc:chat/messages in the component): persists and publishes a
/// message whose sender is the server.
pub trait Announcer {
    fn announce(
        &self,
        room: &str,
        channel: &str,
        event_type: &str,
        content: &str,
    ) -> Result<StoredMessage, Failure>;
}

/// The operator's actions, over one store, one publisher and the messages actor.
pub struct Operator<'a, S: Store, P: Publisher, A: Announcer> {
    rooms: Rooms<'a, S, P>,
    publisher: &'a P,
    announcer: &'a A,
}

impl<'a, S: Store, P: Publisher, A: Announcer> Operator<'a, S, P, A> {
    pub fn new(store: &'a S, publisher: &'a P, announcer: &'a A) -> Self {
        Self {
            rooms: Rooms::new(store, publisher),
            publisher,
            announcer,
        }
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
        // The messages actor checks both as well; checking here first spares a call for a
        // request it would refuse.
        parse_object(content)?;
        if self.rooms.get_room(room)?.is_none() {
            return Err(Failure::new(
                FailureCode::UnknownRoom,
                format!("no room {room:?}"),
            ));
        }
        self.announcer
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
