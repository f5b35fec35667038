//! An in-memory [`Backend`] for channels' tests, behaving like the core actors as far as a channel
//! can tell: login creates the user and its direct room, joins and messages check rooms and
//! membership, anyone may write to another user's direct room unless banned, signals are
//! recorded instead of published. Any operation can be made to fail, to test how failures reach
//! the client.

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde_json::Value;
use wcc_interface::{access, Failure, FailureCode, StoredMessage};

use crate::backend::{
    Backend, Group, GroupChange, JoinRule, Member, NewMessage, Room, Signal, User, UserSignal,
};

/// Longest message body the fake messages actor accepts.
pub const MAX_BODY: usize = 1000;

#[derive(Default)]
struct State {
    users: BTreeMap<String, User>,
    rooms: BTreeMap<String, Room>,
    members: BTreeMap<String, Vec<String>>,
    /// (room, user) -> when the user joined (the fake clock at the time).
    joined_at: BTreeMap<(String, String), u64>,
    join_rules: BTreeMap<String, JoinRule>,
    messages: BTreeMap<String, Vec<StoredMessage>>,
    /// Operation name -> the failure it returns.
    failing: BTreeMap<&'static str, Failure>,
    /// Membership changes, as `join room user` / `leave room user`.
    log: Vec<String>,
    signals: Vec<Signal>,
    /// (channel, client id) -> user id, for logins and registrations.
    logins: BTreeMap<(String, String), String>,
    passwords: BTreeMap<String, String>,
    tokens: BTreeMap<String, String>,
    /// (owner, banned).
    bans: Vec<(String, String)>,
    settings: BTreeMap<String, String>,
    now_ms: u64,
    /// Messages stored so far, for ids.
    stored: u64,
    /// Group name -> sorted permissions.
    groups: BTreeMap<String, Vec<String>>,
    user_groups: BTreeMap<String, String>,
    /// Invite code -> (group, used).
    invites: BTreeMap<String, (String, bool)>,
    founder: Option<String>,
    user_signals: Vec<UserSignal>,
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

    /// Sets the room's join rule, as an operator would; `value` is JSON text.
    pub fn set_join_rule(&self, room: &str, key: &str, value: &str) {
        let rule = JoinRule {
            key: key.into(),
            value: value.into(),
        };
        self.state.borrow_mut().join_rules.insert(room.into(), rule);
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

    pub fn set_setting(&self, key: &str, value: &str) {
        self.state
            .borrow_mut()
            .settings
            .insert(key.into(), value.into());
    }

    pub fn set_now(&self, now_ms: u64) {
        self.state.borrow_mut().now_ms = now_ms;
    }

    /// Signals published so far, oldest first.
    pub fn signals(&self) -> Vec<Signal> {
        self.state.borrow().signals.clone()
    }

    /// Signals to single users published so far, oldest first.
    pub fn user_signals(&self) -> Vec<UserSignal> {
        self.state.borrow().user_signals.clone()
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

    /// The messages actor's rule: members may write; anyone may write to another user's direct
    /// room unless its owner banned them.
    fn authorize(&self, room: &str, sender: &str) -> Result<(), Failure> {
        self.room_must_exist(room)?;
        if self.is_member(room, sender) {
            return Ok(());
        }
        let state = self.state.borrow();
        if state.rooms[room].kind != "direct" {
            return Err(Failure::new(FailureCode::NotMember, "not a member"));
        }
        if state.bans.iter().any(|(o, b)| o == room && b == sender) {
            return Err(Failure::new(FailureCode::Banned, "banned"));
        }
        Ok(())
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
        self.authorize(&msg.room, &msg.sender)?;
        let content: Value =
            serde_json::from_str(&msg.content).map_err(|e| Failure::invalid(e.to_string()))?;
        if content["body"].as_str().is_some_and(|b| b.len() > MAX_BODY) {
            return Err(Failure::invalid("body too long"));
        }
        let mut state = self.state.borrow_mut();
        state.stored += 1;
        let id = format!("m{}", state.stored);
        let log = state.messages.entry(msg.room.clone()).or_default();
        let stored = StoredMessage {
            id,
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

    fn get_message(&self, id: &str) -> Result<Option<StoredMessage>, Failure> {
        self.check("get_message")?;
        let state = self.state.borrow();
        Ok(state
            .messages
            .values()
            .flatten()
            .find(|m| m.id == id)
            .cloned())
    }

    fn signal(&self, note: Signal) -> Result<(), Failure> {
        self.check("signal")?;
        // The server-wide feed takes anyone's signals, as the messages actor does.
        if note.room != wcc_interface::ids::EVERYONE {
            self.authorize(&note.room, &note.sender)?;
        }
        serde_json::from_str::<Value>(&note.content)
            .map_err(|e| Failure::invalid(e.to_string()))?;
        self.state.borrow_mut().signals.push(note);
        Ok(())
    }

    fn edit_message(
        &self,
        room: &str,
        event_id: u64,
        content: &str,
    ) -> Result<StoredMessage, Failure> {
        self.check("edit_message")?;
        let content: Value =
            serde_json::from_str(content).map_err(|_| Failure::invalid("content is not JSON"))?;
        self.rewrite(room, event_id, |m| m.content = content)
    }

    fn remove_message(&self, room: &str, event_id: u64) -> Result<StoredMessage, Failure> {
        self.check("remove_message")?;
        self.rewrite(room, event_id, mask)
    }

    fn remove_messages_by(&self, sender: &str) -> Result<u32, Failure> {
        self.check("remove_messages_by")?;
        let mut state = self.state.borrow_mut();
        let mut count = 0;
        for message in state.messages.values_mut().flatten() {
            if message.sender == sender {
                mask(message);
                count += 1;
            }
        }
        Ok(count)
    }

    fn signal_user(&self, signal: UserSignal) -> Result<(), Failure> {
        self.check("signal_user")?;
        let mut state = self.state.borrow_mut();
        if !state.users.contains_key(&signal.user) {
            return Err(Failure::new(FailureCode::UnknownUser, "no such user"));
        }
        state.user_signals.push(signal);
        Ok(())
    }

    fn create_room(&self, id: &str, name: &str, kind: &str) -> Result<bool, Failure> {
        self.check("create_room")?;
        let mut state = self.state.borrow_mut();
        if state.rooms.contains_key(id) {
            return Ok(false);
        }
        let room = Room {
            id: id.into(),
            name: name.into(),
            kind: kind.into(),
        };
        state.rooms.insert(id.into(), room);
        Ok(true)
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

    fn all_rooms(&self) -> Result<Vec<Room>, Failure> {
        self.check("all_rooms")?;
        Ok(self.state.borrow().rooms.values().cloned().collect())
    }

    fn rename_room(&self, id: &str, name: &str) -> Result<Room, Failure> {
        self.check("rename_room")?;
        self.room_must_exist(id)?;
        let mut state = self.state.borrow_mut();
        let room = state.rooms.get_mut(id).expect("checked above");
        room.name = name.into();
        Ok(room.clone())
    }

    fn delete_room(&self, id: &str) -> Result<(), Failure> {
        self.check("delete_room")?;
        let mut state = self.state.borrow_mut();
        state.rooms.remove(id);
        state.members.remove(id);
        state.join_rules.remove(id);
        Ok(())
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

    fn members(&self, room: &str) -> Result<Vec<Member>, Failure> {
        let users = self.query_members(room)?;
        let state = self.state.borrow();
        Ok(users
            .into_iter()
            .map(|user| Member {
                joined_at: state
                    .joined_at
                    .get(&(room.to_owned(), user.clone()))
                    .copied()
                    .unwrap_or_default(),
                user,
            })
            .collect())
    }

    fn get_join_rule(&self, room: &str) -> Result<Option<JoinRule>, Failure> {
        self.check("get_join_rule")?;
        self.room_must_exist(room)?;
        Ok(self.state.borrow().join_rules.get(room).cloned())
    }

    fn join(&self, room: &str, user: &str, _channel: &str) -> Result<bool, Failure> {
        self.check("join")?;
        self.room_must_exist(room)?;
        if self.is_member(room, user) {
            return Ok(false);
        }
        self.add_member(room, user);
        let mut state = self.state.borrow_mut();
        let now = state.now_ms;
        state.joined_at.insert((room.into(), user.into()), now);
        state.log.push(format!("join {room} {user}"));
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

    fn login(&self, channel: &str, client_id: &str) -> Result<User, Failure> {
        self.check("login")?;
        // The fake names users after their client id; the real rooms actor maps them.
        Ok(self.create_user(channel, client_id, client_id))
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

    fn list_users(&self) -> Result<Vec<User>, Failure> {
        self.check("list_users")?;
        Ok(self.state.borrow().users.values().cloned().collect())
    }

    fn delete_user(&self, id: &str) -> Result<bool, Failure> {
        self.check("delete_user")?;
        let mut state = self.state.borrow_mut();
        if state.users.remove(id).is_none() {
            return Ok(false);
        }
        for members in state.members.values_mut() {
            members.retain(|u| u != id);
        }
        state.logins.retain(|_, user| user != id);
        state.passwords.remove(id);
        state.user_groups.remove(id);
        Ok(true)
    }

    fn find_login(&self, channel: &str, client_id: &str) -> Result<Option<User>, Failure> {
        self.check("find_login")?;
        let state = self.state.borrow();
        let id = state.logins.get(&(channel.into(), client_id.into()));
        Ok(id.and_then(|id| state.users.get(id)).cloned())
    }

    fn register(
        &self,
        channel: &str,
        client_id: &str,
        password: &str,
        id: Option<&str>,
    ) -> Result<User, Failure> {
        self.check("register")?;
        let id = id.unwrap_or(client_id);
        let taken = self.find_login(channel, client_id)?.is_some()
            || self.state.borrow().users.contains_key(id);
        if taken {
            return Err(Failure::new(FailureCode::Exists, "taken"));
        }
        if password.is_empty() {
            return Err(Failure::invalid("empty password"));
        }
        let user = self.create_user(channel, client_id, id);
        self.state
            .borrow_mut()
            .passwords
            .insert(id.into(), password.into());
        Ok(user)
    }

    fn authenticate(
        &self,
        channel: &str,
        client_id: &str,
        password: &str,
    ) -> Result<User, Failure> {
        self.check("authenticate")?;
        let bad = || Failure::new(FailureCode::BadCredentials, "wrong name or password");
        let user = self.find_login(channel, client_id)?.ok_or_else(bad)?;
        match self.state.borrow().passwords.get(&user.id) {
            Some(stored) if stored == password => Ok(user),
            _ => Err(bad()),
        }
    }

    fn issue_token(&self, user: &str) -> Result<String, Failure> {
        self.check("issue_token")?;
        let mut state = self.state.borrow_mut();
        let token = format!("token{}", state.tokens.len() + 1);
        state.tokens.insert(token.clone(), user.into());
        Ok(token)
    }

    fn token_user(&self, token: &str) -> Result<Option<String>, Failure> {
        self.check("token_user")?;
        Ok(self.state.borrow().tokens.get(token).cloned())
    }

    fn ban(&self, user: &str, target: &str) -> Result<bool, Failure> {
        self.check("ban")?;
        if !self.state.borrow().users.contains_key(target) {
            return Err(Failure::new(FailureCode::UnknownUser, "no such user"));
        }
        let mut state = self.state.borrow_mut();
        let pair = (user.to_owned(), target.to_owned());
        if state.bans.contains(&pair) {
            return Ok(false);
        }
        state.bans.push(pair);
        Ok(true)
    }

    fn unban(&self, user: &str, target: &str) -> Result<bool, Failure> {
        self.check("unban")?;
        let mut state = self.state.borrow_mut();
        let before = state.bans.len();
        state.bans.retain(|(o, b)| !(o == user && b == target));
        Ok(state.bans.len() != before)
    }

    fn list_groups(&self) -> Result<Vec<Group>, Failure> {
        self.check("list_groups")?;
        Ok(self
            .state
            .borrow()
            .groups
            .iter()
            .map(|(name, permissions)| Group {
                name: name.clone(),
                permissions: permissions.clone(),
            })
            .collect())
    }

    fn create_group(&self, name: &str) -> Result<bool, Failure> {
        self.check("create_group")?;
        let mut state = self.state.borrow_mut();
        if state.groups.contains_key(name) {
            return Ok(false);
        }
        state.groups.insert(name.into(), Vec::new());
        Ok(true)
    }

    fn update_group(&self, name: &str, changes: &[GroupChange]) -> Result<Group, Failure> {
        self.check("update_group")?;
        let named = changes.iter().flat_map(|c| c.add.iter().chain(&c.remove));
        if let Some(bad) = named.clone().find(|p| !access::is_permission(p)) {
            return Err(Failure::invalid(format!("unknown permission {bad}")));
        }
        let mut state = self.state.borrow_mut();
        let permissions = state.groups.entry(name.into()).or_default();
        for change in changes {
            if let Some(add) = &change.add {
                permissions.push(add.clone());
            }
            if let Some(remove) = &change.remove {
                permissions.retain(|p| p != remove);
            }
            permissions.sort();
            permissions.dedup();
        }
        Ok(Group {
            name: name.into(),
            permissions: permissions.clone(),
        })
    }

    fn remove_group(&self, name: &str) -> Result<bool, Failure> {
        self.check("remove_group")?;
        Ok(self.state.borrow_mut().groups.remove(name).is_some())
    }

    fn user_group(&self, user: &str) -> Result<Option<String>, Failure> {
        self.check("user_group")?;
        Ok(self.state.borrow().user_groups.get(user).cloned())
    }

    fn set_user_group(&self, user: &str, group: &str) -> Result<(), Failure> {
        self.check("set_user_group")?;
        let mut state = self.state.borrow_mut();
        state.user_groups.insert(user.into(), group.into());
        Ok(())
    }

    fn permissions(&self, user: &str) -> Result<Vec<String>, Failure> {
        self.check("permissions")?;
        let state = self.state.borrow();
        let group = state.user_groups.get(user);
        Ok(group
            .and_then(|g| state.groups.get(g))
            .cloned()
            .unwrap_or_default())
    }

    fn create_invite(&self, group: &str, _by: &str) -> Result<String, Failure> {
        self.check("create_invite")?;
        let mut state = self.state.borrow_mut();
        let code = format!("invite{}", state.invites.len() + 1);
        state.invites.insert(code.clone(), (group.into(), false));
        Ok(code)
    }

    fn redeem_invite(&self, code: &str) -> Result<Option<String>, Failure> {
        self.check("redeem_invite")?;
        let mut state = self.state.borrow_mut();
        match state.invites.get_mut(code) {
            Some((group, used)) if !*used => {
                *used = true;
                Ok(Some(group.clone()))
            }
            _ => Ok(None),
        }
    }

    fn claim_founder(&self, user: &str) -> Result<bool, Failure> {
        self.check("claim_founder")?;
        if self.state.borrow().founder.is_some() {
            return Ok(false);
        }
        self.state.borrow_mut().founder = Some(user.into());
        self.make_admin(user)?;
        Ok(true)
    }

    fn make_admin(&self, user: &str) -> Result<(), Failure> {
        self.check("make_admin")?;
        let mut state = self.state.borrow_mut();
        let all = access::PERMISSIONS.iter().map(|p| p.to_string()).collect();
        state.groups.insert(access::ADMIN_GROUP.into(), all);
        state
            .user_groups
            .insert(user.into(), access::ADMIN_GROUP.into());
        Ok(())
    }

    fn setting(&self, key: &str) -> Option<String> {
        self.state.borrow().settings.get(key).cloned()
    }

    fn now_ms(&self) -> u64 {
        self.state.borrow().now_ms
    }
}

/// What the messages actor makes of a removed message.
fn mask(message: &mut StoredMessage) {
    message.content = Value::Object(Default::default());
    message.event_type = wcc_interface::events::REMOVED_MESSAGE_TYPE.into();
    message.sender.clear();
}

impl FakeBackend {
    /// Applies `change` to message `event_id` of `room`.
    fn rewrite(
        &self,
        room: &str,
        event_id: u64,
        change: impl FnOnce(&mut StoredMessage),
    ) -> Result<StoredMessage, Failure> {
        self.room_must_exist(room)?;
        let mut state = self.state.borrow_mut();
        let found = state
            .messages
            .get_mut(room)
            .and_then(|m| m.iter_mut().find(|m| m.event_id == event_id))
            .ok_or_else(|| Failure::invalid(format!("no message {event_id} in {room}")))?;
        change(found);
        Ok(found.clone())
    }

    /// The user `id`, created with its direct room (member: itself) if new, and mapped from
    /// (`channel`, `client_id`).
    fn create_user(&self, channel: &str, client_id: &str, id: &str) -> User {
        let existing = self.state.borrow().users.get(id).cloned();
        let user = existing.unwrap_or_else(|| User {
            id: id.into(),
            profile: None,
        });
        let mut state = self.state.borrow_mut();
        state.users.insert(id.into(), user.clone());
        state
            .logins
            .insert((channel.into(), client_id.into()), id.into());
        if !state.rooms.contains_key(id) {
            let direct = Room {
                id: id.into(),
                name: id.into(),
                kind: "direct".into(),
            };
            state.rooms.insert(id.into(), direct);
            state.members.entry(id.into()).or_default().push(id.into());
        }
        user
    }

    /// Removes a membership behind this connection's back, as a leave elsewhere would.
    pub fn leave_as_core(&self, room: &str, user: &str) {
        if let Some(members) = self.state.borrow_mut().members.get_mut(room) {
            members.retain(|u| u != user);
        }
    }
}
