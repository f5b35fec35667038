//! The chat verbs: the one room a connection is in, the rooms it listens to, and `say`.
//! Answers follow upstream's `initializers/chatRoom.js`: `data` is `true` when the verb did
//! something, `false` on a refusal of `roomChange`, `listenToRoom` or `silenceRoom`.

use channel_kit::{Action, Backend, NewMessage, Principal};
use serde_json::{json, Map, Value};
use wcc_interface::FailureCode;

use super::{refusal, Answer, Conn, Refusal};
use crate::CHANNEL;

/// The neutral event type of chat messages, shared with every protocol.
const MESSAGE_EVENT_TYPE: &str = "channel.message";

const ROOM_UNKNOWN: &str = "room does not exist";

impl<B: Backend> Conn<'_, B> {
    pub(super) fn room_change(&mut self, room: &str) -> Answer {
        match self.enter(room) {
            Ok(()) => Answer::ok(json!(true)),
            Err(text) => Answer::refused(text, Some(json!(false))),
        }
    }

    /// Upstream answers `OK` either way; `data` says whether there was a room to leave.
    pub(super) fn room_leave(&mut self) -> Answer {
        let was_in_one = self.state.room.is_some();
        self.leave_current();
        Answer::ok(json!(was_in_one))
    }

    pub(super) fn room_view(&mut self) -> Answer {
        let Some(room) = self.state.room.clone() else {
            return Answer::refused("room is required", Some(Value::Null));
        };
        match self.room_status(&room) {
            Ok(status) => Answer::ok(status),
            Err(text) => Answer::refused(text, Some(Value::Null)),
        }
    }

    pub(super) fn listen(&mut self, room: String) -> Answer {
        match self.listen_to(room) {
            Ok(()) => Answer::ok(json!(true)),
            Err(text) => Answer::refused(text, Some(json!(false))),
        }
    }

    pub(super) fn silence(&mut self, room: &str) -> Answer {
        let before = self.state.listening.len();
        self.state.listening.retain(|r| r != room);
        if self.state.listening.len() == before {
            return Answer::refused("connection not listening to this room", Some(json!(false)));
        }
        self.release(room);
        Answer::ok(json!(true))
    }

    /// What a `say` asks the core to store, once the connection has a room and a user.
    pub(super) fn say_message(&mut self, message: String) -> Result<NewMessage, Refusal> {
        let room = self
            .state
            .room
            .clone()
            .ok_or_else(|| "connection not in a room".to_owned())?;
        let user = self.user()?;
        let content = json!({"type": "text", "body": message}).to_string();
        Ok(NewMessage {
            // Upstream's chat page prints the sender's own line itself: its route does not
            // echo the message back to this connection.
            origin: Some(self.session.connection_id.clone()),
            room,
            sender: user,
            channel: CHANNEL.into(),
            event_type: MESSAGE_EVENT_TYPE.into(),
            content,
        })
    }

    /// Makes `room` the connection's room, leaving the one it was in.
    pub(super) fn enter(&mut self, room: &str) -> Result<(), Refusal> {
        if room.is_empty() {
            return Err(ROOM_UNKNOWN.into());
        }
        if self.state.room.as_deref() == Some(room) {
            return Err("connection already in this room".into());
        }
        self.may_join(room)?;
        let user = self.user()?;
        let actor = Principal::user(&user);
        self.backend
            .join(
                &actor,
                room,
                &user,
                CHANNEL,
                Some(&self.session.connection_id),
            )
            .map_err(refusal)?;
        let subscribe = self.subscription(room)?;
        self.leave_current();
        self.state.room = Some(room.to_owned());
        self.act(subscribe);
        Ok(())
    }

    /// The core's grant for this connection's user to hear `room`, as the gateway's action.
    pub(super) fn subscription(&mut self, room: &str) -> Result<Action, Refusal> {
        let user = self.user()?;
        self.backend
            .grant_subscription(&Principal::user(user), room)
            .map(Action::Subscribe)
            .map_err(refusal)
    }

    /// Leaves the current room, if any: the membership, and its events unless listened to.
    pub(super) fn leave_current(&mut self) {
        let Some(room) = self.state.room.take() else {
            return;
        };
        if let Some(user) = &self.session.user {
            // A deleted room has no membership left to end. Upstream announces the leave to
            // everyone in the room but this connection.
            let origin = Some(self.session.connection_id.as_str());
            let _ = self
                .backend
                .leave(&Principal::user(user), &room, user, CHANNEL, origin);
        }
        self.release(&room);
    }

    /// Stops `room`'s events unless the connection still hears it another way.
    pub(super) fn release(&mut self, room: &str) {
        if !self.state.hears(room) {
            self.act(Action::Unsubscribe(room.to_owned()));
        }
    }

    fn listen_to(&mut self, room: String) -> Result<(), Refusal> {
        if self.state.listening.contains(&room) {
            return Err("connection already listening to this room".into());
        }
        if room.is_empty() {
            return Err(ROOM_UNKNOWN.into());
        }
        self.may_join(&room)?;
        let subscribe = self.subscription(&room)?;
        self.act(subscribe);
        self.state.listening.push(room);
        Ok(())
    }

    /// The room exists and the connection meets its join rule. Rules are checked here only: on
    /// joining, never again while the connection stays.
    fn may_join(&self, room: &str) -> Result<(), Refusal> {
        // One call: asking for the rule of a room that does not exist is `unknown_room`.
        let Some(rule) = self.backend.get_join_rule(room).map_err(refusal)? else {
            return Ok(());
        };
        let wanted: Option<Value> = serde_json::from_str(&rule.value).ok();
        let attributes = self.attributes();
        if wanted.is_some() && attributes.get(&rule.key) == wanted.as_ref() {
            Ok(())
        } else {
            Err("not authorized to join room".into())
        }
    }

    /// The seed's roomStatus: `{room, membersCount, members: {id: {id, joinedAt}}}`. A room
    /// deleted under the connection has no members, as upstream shows it.
    fn room_status(&self, room: &str) -> Result<Value, Refusal> {
        let user = self.session.user.clone().unwrap_or_default();
        let members = match self.backend.members(&Principal::user(user), room) {
            Ok(members) => members,
            Err(failure) if failure.code == FailureCode::UnknownRoom => Vec::new(),
            Err(failure) => return Err(refusal(failure)),
        };
        let listed: Map<String, Value> = members
            .iter()
            .map(|m| {
                (
                    m.user.clone(),
                    json!({"id": m.user, "joinedAt": m.joined_at}),
                )
            })
            .collect();
        Ok(json!({"room": room, "membersCount": members.len(), "members": listed}))
    }
}
