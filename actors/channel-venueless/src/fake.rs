//! An in-memory [`Backend`] for tests, behaving like the core actors as far as venueless can tell:
//! login creates the user and its direct room, joins and messages check rooms and membership.
//! Any operation can be made to fail, to test how failures reach the client.

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde_json::Value;
use wcc_interface::{Failure, FailureCode, StoredMessage};

use crate::backend::{Backend, NewMessage, Room, User};

/// Longest message body the fake messages actor accepts.
pub const MAX_BODY: usize = 1000;

#[derive(Default)]
struct State {
    users: BTreeMap<String, User>,
    rooms: BTreeMap<String, Room>,
    members: BTreeMap<String, Vec<String>>,
    messages: BTreeMap<String, Vec<StoredMessage>>,
    /// Operation name -> the failure it returns.
    failing: BTreeMap<&'static str, Failure>,
    /// Membership changes, as `join room user` / `leave room user`.
    log: Vec<String>,
}

#[derive(Default)]
pub struct FakeBackend {
    state: RefCell<State>,
}

impl FakeBackend {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add_user(&self, id: &str, profile: Option<&str>) {
        let user = User {
            id: id.into(),
            profile: profile.map(str::to_owned),
        };
        self.state.borrow_mut().users.insert(id.into(), user);
    }

    pub fn add_room(&self, id: &str, kind: &str) {
        let room = Room {
            id: id.into(),
            name: format!("Room {id}"),
            kind: kind.into(),
        };
        self.state.borrow_mut().rooms.insert(id.into(), room);
    }

    pub fn add_member(&self, room: &str, user: &str) {
        self.state
            .borrow_mut()
            .members
            .entry(room.into())
            .or_default()
            .push(user.into());
    }

    pub fn is_member(&self, room: &str, user: &str) -> bool {
        self.state
            .borrow()
            .members
            .get(room)
            .is_some_and(|m| m.iter().any(|u| u == user))
    }

    /// Makes operation `op` (the trait method's name) fail with `code` from now on.
    pub fn fail(&self, op: &'static str, code: FailureCode) {
        self.state
            .borrow_mut()
            .failing
            .insert(op, Failure::new(code, format!("{op} failed")));
    }

    pub fn log(&self) -> Vec<String> {
        self.state.borrow().log.clone()
    }

    pub fn messages(&self, room: &str) -> Vec<StoredMessage> {
        self.state
            .borrow()
            .messages
            .get(room)
            .cloned()
            .unwrap_or_default()
    }

    fn check(&self, op: &'static str) -> Result<(), Failure> {
        match self.state.borrow().failing.get(op) {
            Some(failure) => Err(failure.clone()),
            None => Ok(()),
        }
    }

    fn room_must_exist(&self, room: &str) -> Result<(), Failure> {
        if self.state.borrow().rooms.contains_key(room) {
            Ok(())
        } else {
            Err(Failure::new(
                FailureCode::UnknownRoom,
                format!("no room {room}"),
            ))
        }
    }
}

impl Backend for FakeBackend {
    fn process_message(&self, msg: NewMessage) -> Result<StoredMessage, Failure> {
        self.check("process_message")?;
        self.room_must_exist(&msg.room)?;
        if !self.is_member(&msg.room, &msg.sender) {
            return Err(Failure::new(FailureCode::NotMember, "not a member"));
        }
        let content: Value =
            serde_json::from_str(&msg.content).map_err(|e| Failure::invalid(e.to_string()))?;
        if content["body"].as_str().is_some_and(|b| b.len() > MAX_BODY) {
            return Err(Failure::invalid("body too long"));
        }
        let mut state = self.state.borrow_mut();
        let log = state.messages.entry(msg.room.clone()).or_default();
        let stored = StoredMessage {
            room: msg.room,
            event_id: log.len() as u64 + 1,
            sender: msg.sender,
            channel: msg.channel,
            event_type: msg.event_type,
            content,
            sent_at: 1_700_000_000_000,
        };
        log.push(stored.clone());
        Ok(stored)
    }

    fn history(
        &self,
        room: &str,
        before: Option<u64>,
        count: u32,
    ) -> Result<Vec<StoredMessage>, Failure> {
        self.check("history")?;
        self.room_must_exist(room)?;
        let all = self.messages(room);
        Ok(all
            .into_iter()
            .rev()
            .filter(|m| before.is_none_or(|b| m.event_id < b))
            .take(count as usize)
            .collect())
    }

    fn next_event_id(&self, room: &str) -> Result<u64, Failure> {
        self.check("next_event_id")?;
        Ok(self.messages(room).len() as u64 + 1)
    }

    fn get_room(&self, id: &str) -> Result<Option<Room>, Failure> {
        self.check("get_room")?;
        Ok(self.state.borrow().rooms.get(id).cloned())
    }

    fn query_rooms(&self, member: &str) -> Result<Vec<Room>, Failure> {
        self.check("query_rooms")?;
        let state = self.state.borrow();
        Ok(state
            .rooms
            .values()
            .filter(|r| self.is_member(&r.id, member))
            .cloned()
            .collect())
    }

    fn query_members(&self, room: &str) -> Result<Vec<String>, Failure> {
        self.check("query_members")?;
        self.room_must_exist(room)?;
        Ok(self
            .state
            .borrow()
            .members
            .get(room)
            .cloned()
            .unwrap_or_default())
    }

    fn join(&self, room: &str, user: &str, _channel: &str) -> Result<bool, Failure> {
        self.check("join")?;
        self.room_must_exist(room)?;
        if self.is_member(room, user) {
            return Ok(false);
        }
        self.add_member(room, user);
        self.state
            .borrow_mut()
            .log
            .push(format!("join {room} {user}"));
        Ok(true)
    }

    fn leave(&self, room: &str, user: &str, _channel: &str) -> Result<bool, Failure> {
        self.check("leave")?;
        self.room_must_exist(room)?;
        if !self.is_member(room, user) {
            return Ok(false);
        }
        let mut state = self.state.borrow_mut();
        if let Some(members) = state.members.get_mut(room) {
            members.retain(|u| u != user);
        }
        state.log.push(format!("leave {room} {user}"));
        Ok(true)
    }

    fn login(&self, _channel: &str, client_id: &str) -> Result<User, Failure> {
        self.check("login")?;
        // The fake names users after their client id; the real rooms actor maps them.
        let existing = self.state.borrow().users.get(client_id).cloned();
        let user = existing.unwrap_or_else(|| User {
            id: client_id.into(),
            profile: None,
        });
        self.state
            .borrow_mut()
            .users
            .insert(client_id.into(), user.clone());
        if !self.state.borrow().rooms.contains_key(client_id) {
            let direct = Room {
                id: client_id.into(),
                name: client_id.into(),
                kind: "direct".into(),
            };
            self.state
                .borrow_mut()
                .rooms
                .insert(client_id.into(), direct);
            self.add_member(client_id, client_id);
        }
        Ok(user)
    }

    fn get_user(&self, id: &str) -> Result<Option<User>, Failure> {
        self.check("get_user")?;
        Ok(self.state.borrow().users.get(id).cloned())
    }

    fn get_users(&self, ids: &[String]) -> Result<Vec<User>, Failure> {
        self.check("get_users")?;
        let state = self.state.borrow();
        Ok(ids
            .iter()
            .filter_map(|id| state.users.get(id).cloned())
            .collect())
    }

    fn set_profile(&self, id: &str, profile: &str) -> Result<User, Failure> {
        self.check("set_profile")?;
        let mut state = self.state.borrow_mut();
        let user = state
            .users
            .get_mut(id)
            .ok_or_else(|| Failure::new(FailureCode::UnknownUser, "no user"))?;
        user.profile = Some(profile.to_owned());
        Ok(user.clone())
    }
}

impl FakeBackend {
    /// Removes a membership behind this connection's back, as a leave elsewhere would.
    pub fn leave_as_core(&self, room: &str, user: &str) {
        if let Some(members) = self.state.borrow_mut().members.get_mut(room) {
            members.retain(|u| u != user);
        }
    }
}
