//! Users: created on a client's first login, each with a direct room named by its id.

use std::collections::BTreeMap;

use wcc_interface::events::directory;
use wcc_interface::{ids, Envelope, Event, Failure, FailureCode, Note};
use wcc_kv::{keys, LogSet, Store};

use crate::accounts::{erase_token_ring, revoke_all_tokens, server_ban};
use crate::model::{parse_profile, User, MAX_CLIENT_ID_BYTES};
use crate::operator::ADMIN_CHANNEL;
use crate::{Publisher, Rooms};

/// The kind of a user's own room, named by its id.
const DIRECT: &str = "direct";

/// A fresh user id: a random (v4) UUID in its 32-hex-digit simple form, which is a valid id.
pub fn new_user_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The user operations; they share the store and publisher of the room operations.
pub struct Users<'a, S: Store, P: Publisher> {
    rooms: Rooms<'a, S, P>,
    publisher: &'a P,
}

impl<'a, S: Store, P: Publisher> Users<'a, S, P> {
    pub fn new(store: &'a S, publisher: &'a P) -> Self {
        Self {
            rooms: Rooms::new(store, publisher),
            publisher,
        }
    }

    /// The user `client_id` names on `channel`, created on first sight with id `new_id()`.
    ///
    /// A sign-in never goes on without the user's direct room: a known user whose room is gone
    /// gets it again, and if it cannot be had the login fails. A known user an operator banned
    /// is refused (`suspended`); a new one has a new id, which no ban names.
    pub fn login(
        &self,
        channel: &str,
        client_id: &str,
        now_ms: u64,
        new_id: impl FnOnce() -> String,
    ) -> Result<User, Failure> {
        check_login_args(channel, client_id)?;
        let login_key = keys::login(channel, client_id);
        if let Some(bytes) = self.store().get(&login_key)? {
            let id = String::from_utf8(bytes)
                .map_err(|_| Failure::unavailable(format!("corrupt value at {login_key}")))?;
            server_ban::refuse_banned(self.store(), &id)?;
            let user = self.get_user(&id)?.ok_or_else(|| {
                Failure::unavailable(format!("{login_key} maps to missing user {id:?}"))
            })?;
            match self.rooms.get_room(&id)? {
                Some(room) if room.kind == DIRECT => {}
                Some(_) => {
                    return Err(Failure::unavailable(format!(
                        "{id:?} names a room that is not their direct room: an operator must \
                         delete it"
                    )))
                }
                None => self.direct_room(&id, channel, now_ms)?,
            }
            return Ok(user);
        }
        self.create(channel, client_id, &new_id(), now_ms)
    }

    /// Creates the user `id`, with its direct room, as the one `client_id` names on `channel`
    /// (whoever that named before). `exists` if `id` names a room other than its direct room.
    ///
    /// The login mapping is written last: a crash before it leaves at most an unreachable user,
    /// never a client mapped to a user without its record or direct room. The next login then
    /// starts over with a new id.
    pub(crate) fn create(
        &self,
        channel: &str,
        client_id: &str,
        id: &str,
        now_ms: u64,
    ) -> Result<User, Failure> {
        check_login_args(channel, client_id)?;
        if !ids::is_valid_id(id) || ids::is_reserved(id) {
            return Err(Failure::unavailable(format!(
                "generated user id {id:?} is not a valid id"
            )));
        }
        // Checked before anything is written, so a taken id leaves no user record behind.
        if self
            .rooms
            .get_room(id)?
            .is_some_and(|room| room.kind != DIRECT)
        {
            return Err(names_a_room(id));
        }
        let user = User {
            id: id.to_owned(),
            profile: None,
            created_at: now_ms,
            guest: false,
        };
        self.store().set_json(&keys::user(id), &user)?;
        LogSet::new(self.store(), keys::USER_INDEX).add(id, &now_ms, now_ms)?;
        self.direct_room(id, channel, now_ms)?;
        let login_key = keys::login(channel, client_id);
        LogSet::new(self.store(), keys::user_logins(id)).add(&login_key, &now_ms, now_ms)?;
        self.store().set(&login_key, id.as_bytes())?;
        crate::directory_changed(self.store(), self.publisher, directory::USERS);
        Ok(user)
    }

    /// The guest of `connection` (a gateway connection id): the user a connection that has not
    /// signed in acts as, id `guest-<connection>` ([`ids::guest_id`]), created on first call.
    ///
    /// A guest is its user record and nothing else: no direct room (no one writes to it
    /// directly), no login mapping (the connection's session carries its id), no entry in the
    /// user list, no directory change. So a connection that opens and closes leaves no key behind
    /// once the guest is deleted, by its channel when the connection closes or by
    /// [`Self::session_ended`] when the gateway says its session is over.
    pub fn guest(&self, connection: &str, now_ms: u64) -> Result<User, Failure> {
        let id = ids::guest_id(connection).ok_or_else(|| {
            Failure::invalid(format!("connection id {connection:?} makes no user id"))
        })?;
        if let Some(user) = self.get_user(&id)? {
            if user.guest {
                return Ok(user);
            }
            // Ids of this shape are reserved, so only data from before guests can get here.
            return Err(Failure::unavailable(format!(
                "{id:?} is an account, not a guest: an operator must delete it"
            )));
        }
        let user = User {
            id: id.clone(),
            profile: None,
            created_at: now_ms,
            guest: true,
        };
        self.store().set_json(&keys::user(&id), &user)?;
        Ok(user)
    }

    /// A session ended (UserLoggedOut: the connection closed, signed in as someone else, or its
    /// gateway died): if `user` is the guest of `connection`, it is deleted. `false` if there was
    /// no such guest (an account, or a guest its channel deleted already).
    pub fn session_ended(
        &self,
        user: &str,
        connection: &str,
        now_ms: u64,
    ) -> Result<bool, Failure> {
        if ids::guest_id(connection).as_deref() != Some(user) {
            return Ok(false);
        }
        match self.get_user(user)? {
            Some(found) if found.guest => self.delete(&found, now_ms),
            _ => Ok(false),
        }
    }

    /// One message of `wcc.events` (the gateways' session events and heartbeats): the logout
    /// of a guest's session ends the guest ([`Self::session_ended`]); everything else is not
    /// this actor's.
    pub fn on_event(&self, body: &[u8], now_ms: u64) -> Result<(), Failure> {
        if let Some((user, connection)) = guest_logout(body) {
            self.session_ended(&user, &connection, now_ms)?;
        }
        Ok(())
    }

    /// Creates `id`'s direct room (unless a half-done earlier attempt did) and puts `id` in it.
    /// Only the core makes direct rooms, so one of that id is this user's.
    fn direct_room(&self, id: &str, channel: &str, now_ms: u64) -> Result<(), Failure> {
        if !self.rooms.create_room(id, id, DIRECT, now_ms)?
            && self
                .rooms
                .get_room(id)?
                .is_none_or(|room| room.kind != DIRECT)
        {
            return Err(names_a_room(id));
        }
        self.rooms.join(id, id, channel, now_ms)?;
        Ok(())
    }

    /// The user `client_id` names on `channel`, if one does; never creates one.
    pub fn find_login(&self, channel: &str, client_id: &str) -> Result<Option<User>, Failure> {
        if check_login_args(channel, client_id).is_err() {
            return Ok(None);
        }
        let login_key = keys::login(channel, client_id);
        let Some(bytes) = self.store().get(&login_key)? else {
            return Ok(None);
        };
        let id = String::from_utf8(bytes)
            .map_err(|_| Failure::unavailable(format!("corrupt value at {login_key}")))?;
        self.get_user(&id)
    }

    pub fn get_user(&self, id: &str) -> Result<Option<User>, Failure> {
        if !ids::is_valid_id(id) {
            return Ok(None);
        }
        self.store().get_json(&keys::user(id))
    }

    /// The users of `ids` that exist, in the order asked: one read for all of them.
    pub fn get_users(&self, ids: &[String]) -> Result<Vec<User>, Failure> {
        self.read_users(
            ids.iter()
                .map(String::as_str)
                .filter(|id| ids::is_valid_id(id)),
        )
    }

    /// Replaces the user's profile with `profile`, a JSON object. The same profile again changes
    /// nothing and is not announced; nor is a guest's, which no directory lists.
    pub fn set_profile(&self, id: &str, profile: &str) -> Result<User, Failure> {
        let profile = parse_profile(profile)?;
        let mut user = self
            .get_user(id)?
            .ok_or_else(|| Failure::new(FailureCode::UnknownUser, format!("no user {id:?}")))?;
        if user.profile.as_ref() == Some(&profile) {
            return Ok(user);
        }
        user.profile = Some(profile);
        self.store().set_json(&keys::user(id), &user)?;
        if !user.guest {
            crate::directory_changed(self.store(), self.publisher, directory::USERS);
        }
        Ok(user)
    }

    /// Every user, oldest first (users created before the index existed are not listed).
    pub fn list_users(&self) -> Result<Vec<User>, Failure> {
        self.first_users(usize::MAX)
    }

    /// The `limit` oldest users of [`Self::list_users`]; only their records are read.
    pub fn first_users(&self, limit: usize) -> Result<Vec<User>, Failure> {
        let index: BTreeMap<String, u64> = LogSet::new(self.store(), keys::USER_INDEX).entries()?;
        let mut ids: Vec<(u64, String)> = index.into_iter().map(|(id, at)| (at, id)).collect();
        ids.sort();
        ids.truncate(limit);
        self.read_users(ids.iter().map(|(_, id)| id.as_str()))
    }

    /// The records of `ids` that exist, in order, with one `get-many`.
    fn read_users<'i>(&self, ids: impl Iterator<Item = &'i str>) -> Result<Vec<User>, Failure> {
        let user_keys: Vec<String> = ids.map(keys::user).collect();
        let mut users = Vec::with_capacity(user_keys.len());
        for (key, bytes) in user_keys.iter().zip(self.store().get_many(&user_keys)?) {
            let Some(bytes) = bytes else { continue };
            let user = serde_json::from_slice(&bytes)
                .map_err(|e| Failure::unavailable(format!("corrupt value at {key}: {e}")))?;
            users.push(user);
        }
        Ok(users)
    }

    /// Deletes the user; `false` if there is none. It leaves every room first (each room is
    /// told, as by an operator), then its logins and tokens go, so no client can reach it, and
    /// its record goes last: until then a failed delete can be retried. Tokens must go: a later
    /// registration may take the same id, and must not be reachable with the old tokens. They
    /// end by moving the user's token epoch on, which outlives the user for that reason. The
    /// user's own lists (its rooms, its logins) are erased, not just emptied.
    ///
    /// A guest has only its record, its memberships and perhaps a group: no direct room, login,
    /// password or tokens, and as its id never comes back, no token epoch is left behind. It is
    /// in no directory and its one session is ending, so nothing is announced but its leaving
    /// rooms.
    pub fn delete_user(&self, id: &str, now_ms: u64) -> Result<bool, Failure> {
        match self.get_user(id)? {
            Some(user) => self.delete(&user, now_ms),
            None => Ok(false),
        }
    }

    fn delete(&self, user: &User, now_ms: u64) -> Result<bool, Failure> {
        let (store, id) = (self.store(), user.id.as_str());
        let rooms: BTreeMap<String, serde_json::Value> =
            LogSet::new(store, keys::user_rooms(id)).entries()?;
        for room in rooms.keys() {
            // A room deleted meanwhile has nothing left to leave.
            match self.rooms.leave(room, id, ADMIN_CHANNEL, now_ms) {
                Err(f) if f.code == FailureCode::UnknownRoom => {}
                other => drop(other?),
            }
        }
        LogSet::new(store, keys::user_rooms(id)).clear()?;
        // Its read pointers (kept by the messages actor) go with it, guests' too.
        LogSet::new(store, keys::read_pointers(id)).clear()?;
        if !user.guest {
            self.forget_account(id, now_ms)?;
        }
        store.delete(&keys::user_group(id))?;
        store.delete(&keys::user(id))?;
        if !user.guest {
            crate::directory_changed(store, self.publisher, directory::USERS);
            // Every live session of the user, on any protocol, learns that it is over.
            self.publisher.note(id, &Note::AccountRemoved);
        }
        Ok(true)
    }

    /// What only an account has, gone: its direct room, its logins, its tokens, its password and
    /// its place in the user list.
    fn forget_account(&self, id: &str, now_ms: u64) -> Result<(), Failure> {
        let store = self.store();
        if self.rooms.get_room(id)?.is_some_and(|r| r.kind == "direct") {
            self.rooms.delete_room(id, now_ms)?;
        }
        let logins = keys::user_logins(id);
        for login_key in LogSet::new(store, &logins)
            .entries::<serde_json::Value>()?
            .keys()
        {
            store.delete(login_key)?;
        }
        LogSet::new(store, logins).clear()?;
        revoke_all_tokens(store, id)?;
        erase_token_ring(store, id)?;
        // Tokens issued before they were hashed are listed; erase them too.
        let tokens = keys::user_tokens(id);
        for token in LogSet::new(store, &tokens)
            .entries::<serde_json::Value>()?
            .keys()
        {
            store.delete(&keys::token(token))?;
        }
        LogSet::new(store, tokens).clear()?;
        store.delete(&keys::password(id))?;
        LogSet::new(store, keys::USER_INDEX).remove(id, now_ms)
    }

    /// The room operations on the same store and publisher.
    pub(crate) fn rooms(&self) -> &Rooms<'a, S, P> {
        &self.rooms
    }

    fn store(&self) -> &'a S {
        self.rooms.store()
    }
}

/// The guest and connection of a UserLoggedOut of a guest's own session in a `wcc.events`
/// message; `None` for anything else (logins, heartbeats, accounts' logouts), which needs no
/// store to tell.
pub fn guest_logout(body: &[u8]) -> Option<(String, String)> {
    match Envelope::parse(body)?.event {
        Event::UserLoggedOut {
            user, connection, ..
        } if ids::guest_id(&connection).as_deref() == Some(user.as_str()) => {
            Some((user, connection))
        }
        _ => None,
    }
}

/// `invalid` unless `channel` is an id (it becomes a key segment: a `/` in it could reach another
/// channel's mappings) and `client_id` is 1 to [`MAX_CLIENT_ID_BYTES`] bytes.
pub(crate) fn check_login_args(channel: &str, client_id: &str) -> Result<(), Failure> {
    if !ids::is_valid_id(channel) {
        return Err(Failure::invalid(format!("invalid channel {channel:?}")));
    }
    if client_id.is_empty() || client_id.len() > MAX_CLIENT_ID_BYTES {
        return Err(Failure::invalid(format!(
            "client id must be 1 to {MAX_CLIENT_ID_BYTES} bytes"
        )));
    }
    Ok(())
}

fn names_a_room(id: &str) -> Failure {
    Failure::new(FailureCode::Exists, format!("{id:?} names a room"))
}

#[cfg(test)]
mod tests;
