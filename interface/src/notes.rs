//! Notes: messages for particular live sessions rather than for a room.
//!
//! An operator who adds a user to a room, removes one, or writes to one connection needs to
//! reach sessions wherever they are connected. Every gateway subscribes [`SUBJECT_WILDCARD`]
//! once and hands each note to the channel actor of each matching local connection (the WIT
//! `notified` call), in order with that connection's own frames. A note for nobody local is
//! dropped: notes are live-only, like presence.

use serde::{Deserialize, Serialize};

/// The subject prefix of notes.
pub const SUBJECT_PREFIX: &str = "wcc.sessions.";

/// What a gateway subscribes: every note.
pub const SUBJECT_WILDCARD: &str = "wcc.sessions.>";

/// Notes for one connection (ids are subject-safe: `<gateway instance>-<n>`).
pub fn connection_subject(connection_id: &str) -> String {
    format!("{SUBJECT_PREFIX}connection.{connection_id}")
}

/// Notes for every live session of one user.
pub fn user_subject(user: &str) -> String {
    format!("{SUBJECT_PREFIX}user.{user}")
}

/// Who a note subject addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recipient {
    Connection(String),
    User(String),
}

impl Recipient {
    /// The recipient a subject names; `None` for anything else.
    pub fn from_subject(subject: &str) -> Option<Self> {
        let rest = subject.strip_prefix(SUBJECT_PREFIX)?;
        let (kind, id) = rest.split_once('.')?;
        if id.is_empty() || id.contains('.') {
            return None;
        }
        match kind {
            "connection" => Some(Recipient::Connection(id.to_owned())),
            "user" => Some(Recipient::User(id.to_owned())),
            _ => None,
        }
    }
}

/// What a note says. The JSON is `{"type": "joined", "room": "..."}` and so on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Note {
    /// An operator made the user a member of `room`.
    Joined { room: String },
    /// An operator removed the user from `room`.
    Left { room: String },
    /// A live-only note from another user to this one (WebRTC signalling), never stored.
    Signal {
        sender: String,
        /// The protocol it came through.
        channel: String,
        /// Protocol-neutral kind, e.g. `webrtc.video`.
        kind: String,
        /// A JSON object.
        content: serde_json::Value,
    },
    /// The user's permissions may have changed (its group was changed, edited or removed):
    /// sessions that show permissions fetch them again.
    PermissionsChanged,
    /// The user was deleted: its sessions end (the core publishes this after the deletion).
    AccountRemoved,
    /// The user's read pointer in `room` moved forward to `event_id` (in one of their sessions):
    /// their other sessions update what they show as unread.
    ReadPointer { room: String, event_id: u64 },
    /// An operator's live message for this connection alone (a JSON object).
    Message {
        content: serde_json::Value,
        /// Unix milliseconds.
        sent_at: u64,
    },
    /// An operator ends the user's sessions (a disconnect or a ban): channel-kit closes each
    /// connection with 1008 and `reason` before the protocol sees the note, on every protocol.
    Disconnect { reason: String },
}

impl Note {
    pub fn to_json(&self) -> String {
        // Strings, numbers and a JSON value always serialize.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// `None` for a note this build does not know (a newer gateway or admin may send more).
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_round_trip_to_recipients() {
        assert_eq!(
            Recipient::from_subject(&connection_subject("ab12-7")),
            Some(Recipient::Connection("ab12-7".into()))
        );
        assert_eq!(
            Recipient::from_subject(&user_subject("u1")),
            Some(Recipient::User("u1".into()))
        );
        for other in [
            "wcc.sessions.room.x",
            "wcc.sessions.user.",
            "wcc.events.rooms.r",
            "wcc.sessions.user.a.b",
        ] {
            assert_eq!(Recipient::from_subject(other), None, "{other}");
        }
    }

    #[test]
    fn notes_are_tagged_json() {
        let note = Note::Joined {
            room: "lobby".into(),
        };
        assert_eq!(note.to_json(), r#"{"type":"joined","room":"lobby"}"#);
        assert_eq!(Note::parse(&note.to_json()), Some(note));
        assert_eq!(Note::parse(r#"{"type":"teleported"}"#), None);
    }

    #[test]
    fn disconnects_are_tagged_json() {
        let note = Note::Disconnect {
            reason: "banned by an operator".into(),
        };
        assert_eq!(
            note.to_json(),
            r#"{"type":"disconnect","reason":"banned by an operator"}"#
        );
        assert_eq!(Note::parse(&note.to_json()), Some(note));
    }

    #[test]
    fn read_pointers_are_tagged_json() {
        let note = Note::ReadPointer {
            room: "lobby".into(),
            event_id: 12,
        };
        assert_eq!(
            note.to_json(),
            r#"{"type":"read_pointer","room":"lobby","event_id":12}"#
        );
        assert_eq!(Note::parse(&note.to_json()), Some(note));
    }
}
