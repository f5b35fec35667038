//! Rooms and membership.
//!
//! Membership is kept three ways, each for one reader: the member flag (`keys::member_flag`,
//! the single read the messages actor makes before accepting a message), the room's member
//! [`LogSet`] (query-members) and the user's room [`LogSet`] (query-rooms for a member). The
//! key-value interface has no transactions, so every write sequence below is ordered such that a
//! crash half-way leaves something a retry completes rather than something that grants access.

use std::collections::BTreeMap;

use wcc_interface::events::directory;
use wcc_interface::{clock, grant, ids, Envelope, Event, Failure, FailureCode, Principal};
use wcc_kv::{keys, LogSet, Store};

use crate::model::{validate_join_rule, validate_room, validate_room_name, JoinRule, Member, Room};
use crate::Publisher;

/// Value of a member flag; only its presence matters.
const FLAG: &[u8] = b"1";

/// Most rooms one `grant_subscriptions` call decides: more than any sign-in follows (venueless
/// follows at most 100 rooms, Rebuttal its server's text rooms).
pub const MAX_GRANTS_AT_ONCE: usize = 256;

/// The room operations, over one store and one publisher.
pub struct Rooms<'a, S: Store, P: Publisher> {
    store: &'a S,
    publisher: &'a P,
}

impl<'a, S: Store, P: Publisher> Rooms<'a, S, P> {
    pub fn new(store: &'a S, publisher: &'a P) -> Self {
        Self { store, publisher }
    }

    pub(crate) fn store(&self) -> &'a S {
        self.store
    }

    /// Creates a room; `false` if it already exists (it is left unchanged).
    ///
    /// Two concurrent creations of one id may both answer `true`; the later record wins, which
    /// is harmless because both asked for a room of that id.
    pub fn create_room(
        &self,
        id: &str,
        name: &str,
        kind: &str,
        now_ms: u64,
    ) -> Result<bool, Failure> {
        validate_room(id, name, kind)?;
        if self.get_room(id)?.is_some() {
            return Ok(false);
        }
        // A room named like a user would be taken for their direct room by every protocol.
        if kind != "direct" && self.store.get(&keys::user(id))?.is_some() {
            return Err(Failure::new(
                FailureCode::Exists,
                format!("{id:?} names a user"),
            ));
        }
        let room = Room {
            id: id.into(),
            name: name.into(),
            kind: kind.into(),
            created_at: now_ms,
        };
        self.store.set_json(&keys::room(id), &room)?;
        // Direct rooms are no one's list entry; they come and go with users. Kept out of the
        // index, a listing (every venueless sign-in makes one) costs a read per shared room,
        // not one per user.
        if kind != "direct" {
            LogSet::new(self.store, keys::ROOM_INDEX).add(id, &now_ms, now_ms)?;
            crate::directory_changed(self.store, self.publisher, directory::ROOMS);
        }
        Ok(true)
    }

    /// [`Self::create_room`] as channels and operators ask for it: any kind but `direct`, which
    /// the core alone makes, with the user it belongs to.
    pub fn create_shared_room(
        &self,
        id: &str,
        name: &str,
        kind: &str,
        now_ms: u64,
    ) -> Result<bool, Failure> {
        if kind == wcc_policy::DIRECT {
            return Err(Failure::invalid("direct rooms come with their users"));
        }
        self.create_room(id, name, kind, now_ms)
    }

    /// Gives the room a new name.
    pub fn rename_room(&self, id: &str, name: &str) -> Result<Room, Failure> {
        validate_room_name(name)?;
        let mut room = self.require_room(id)?;
        room.name = name.into();
        self.store.set_json(&keys::room(id), &room)?;
        crate::directory_changed(self.store, self.publisher, directory::ROOMS);
        Ok(room)
    }

    /// All shared rooms (a direct room is its user's, found by the user's id), or every room
    /// `member` belongs to; rooms whose record is gone are skipped.
    pub fn query_rooms(&self, member: Option<&str>) -> Result<Vec<Room>, Failure> {
        let index = match member {
            None => keys::ROOM_INDEX.to_string(),
            // An id that cannot exist names no rooms; checking it keeps it out of key paths.
            Some(user) if !ids::is_valid_id(user) => return Ok(Vec::new()),
            Some(user) => keys::user_rooms(user),
        };
        let ids: BTreeMap<String, serde_json::Value> = LogSet::new(self.store, index).entries()?;
        let room_keys: Vec<String> = ids.keys().map(|id| keys::room(id)).collect();
        let mut rooms: Vec<Room> = Vec::with_capacity(room_keys.len());
        for (key, bytes) in room_keys.iter().zip(self.store.get_many(&room_keys)?) {
            if let Some(bytes) = bytes {
                let room = serde_json::from_slice(&bytes)
                    .map_err(|e| Failure::unavailable(format!("corrupt value at {key}: {e}")))?;
                rooms.push(room);
            }
        }
        if member.is_none() {
            self.drop_direct_rooms_from_index(&mut rooms);
        }
        Ok(rooms)
    }

    /// Builds before 2026-12-02 listed direct rooms in the room index too: the first listing
    /// takes them out (once; a failure to is logged, the next listing tries again).
    fn drop_direct_rooms_from_index(&self, rooms: &mut Vec<Room>) {
        let index = LogSet::new(self.store, keys::ROOM_INDEX);
        rooms.retain(|room| {
            if room.kind != "direct" {
                return true;
            }
            if let Err(e) = index.remove(&room.id, clock::now_ms()) {
                eprintln!("rooms: direct room {} stays in the index: {e}", room.id);
            }
            false
        });
    }

    pub fn get_room(&self, id: &str) -> Result<Option<Room>, Failure> {
        if !ids::is_valid_id(id) {
            return Ok(None);
        }
        self.store.get_json(&keys::room(id))
    }

    /// Deletes a room and every membership in it.
    ///
    /// The record goes last: until then a failed delete can simply be retried, and every member
    /// flag and the join rule are gone before the id becomes free for a new room that must not
    /// inherit them.
    pub fn delete_room(&self, id: &str, now_ms: u64) -> Result<(), Failure> {
        let room = self.require_room(id)?;
        let members = keys::room_members(id);
        for user in LogSet::new(self.store, &members)
            .entries::<serde_json::Value>()?
            .keys()
        {
            self.store.delete(&keys::member_flag(id, user))?;
            LogSet::new(self.store, keys::user_rooms(user)).remove(id, now_ms)?;
        }
        // The member list goes whole: a room of the same id later starts a list of its own.
        LogSet::new(self.store, members).clear()?;
        self.store.delete(&keys::join_rule(id))?;
        LogSet::new(self.store, keys::ROOM_INDEX).remove(id, now_ms)?;
        self.store.delete(&keys::room(id))?;
        if room.kind != "direct" {
            crate::directory_changed(self.store, self.publisher, directory::ROOMS);
        }
        Ok(())
    }

    /// [`Self::query_members`] for `actor`, who must be able to read the room.
    pub fn query_members_as(&self, actor: &Principal, room: &str) -> Result<Vec<Member>, Failure> {
        wcc_policy::may_read(self.store, actor, room)?;
        self.query_members(room)
    }

    /// [`Self::join`] asked by `actor` (from connection `origin`, if a channel names it): only
    /// if the policy lets `actor` put `user` there.
    pub fn join_as(
        &self,
        actor: &Principal,
        room: &str,
        user: &str,
        channel: &str,
        origin: Option<&str>,
        now_ms: u64,
    ) -> Result<bool, Failure> {
        wcc_policy::may_join(self.store, actor, room, user)?;
        self.join_from(room, user, channel, origin, now_ms)
    }

    /// [`Self::leave`] asked by `actor`: `user` themselves, the operator or the server.
    pub fn leave_as(
        &self,
        actor: &Principal,
        room: &str,
        user: &str,
        channel: &str,
        origin: Option<&str>,
        now_ms: u64,
    ) -> Result<bool, Failure> {
        wcc_policy::may_leave(actor, user)?;
        self.leave_from(room, user, channel, origin, now_ms)
    }

    /// A grant that lets the gateway deliver `room`'s live events to a connection of `actor`,
    /// if `actor` is a user who may read the room (`wcc_interface::grant`). The operator's
    /// console (signed in as `ids::OPERATOR`) hears any room that exists, and the lattice feed.
    pub fn grant_subscription(
        &self,
        actor: &Principal,
        room: &str,
        key: &[u8],
        now_ms: u64,
    ) -> Result<String, Failure> {
        self.grant_subscriptions(actor, &[room.to_owned()], key, now_ms)?
            .pop()
            .expect("one answer per room")
    }

    /// [`Self::grant_subscription`] for each of `rooms` (at most [`MAX_GRANTS_AT_ONCE`]), in
    /// order, deciding them all with one read of the store: what a sign-in that follows every
    /// room of its user asks. The outer error refuses the whole call; the inner ones are each
    /// room's refusal.
    pub fn grant_subscriptions(
        &self,
        actor: &Principal,
        rooms: &[String],
        key: &[u8],
        now_ms: u64,
    ) -> Result<Vec<Result<String, Failure>>, Failure> {
        if rooms.len() > MAX_GRANTS_AT_ONCE {
            return Err(Failure::invalid(format!(
                "{} rooms asked at once; at most {MAX_GRANTS_AT_ONCE}",
                rooms.len()
            )));
        }
        let (user, allowed) = match actor {
            Principal::User(user) => (
                user.as_str(),
                wcc_policy::may_read_each(self.store, actor, rooms)?,
            ),
            Principal::Operator => (
                ids::OPERATOR,
                rooms
                    .iter()
                    .map(|room| match room.as_str() {
                        ids::OPERATOR => Ok(()),
                        room => self.require_room(room).map(drop),
                    })
                    .collect(),
            ),
            Principal::Server => {
                return Err(Failure::denied(
                    "only a user's or the operator's connection hears rooms",
                ))
            }
        };
        let sign = |room: &String| {
            grant::sign(
                key,
                &grant::Grant {
                    room: room.clone(),
                    user: user.to_owned(),
                    expires_ms: now_ms + grant::GRANT_TTL_MS,
                },
            )
        };
        Ok(rooms
            .iter()
            .zip(allowed)
            .map(|(room, allowed)| allowed.map(|()| sign(room)))
            .collect())
    }

    pub fn query_members(&self, room: &str) -> Result<Vec<Member>, Failure> {
        self.require_room(room)?;
        let members: BTreeMap<String, u64> =
            LogSet::new(self.store, keys::room_members(room)).entries()?;
        Ok(members
            .into_iter()
            .map(|(user, joined_at)| Member { user, joined_at })
            .collect())
    }

    pub fn is_member(&self, room: &str, user: &str) -> Result<bool, Failure> {
        if !ids::is_valid_id(room) || !ids::is_valid_id(user) {
            return Ok(false);
        }
        Ok(self.store.get(&keys::member_flag(room, user))?.is_some())
    }

    /// Adds `user` to `room` and publishes UserJoined; `false` if already a member.
    ///
    /// The flag is written last so that a crash never grants the right to send to someone the
    /// member lists do not show. If publishing fails the membership stands and the failure is
    /// returned, so the caller knows the room was not told.
    pub fn join(
        &self,
        room: &str,
        user: &str,
        channel: &str,
        now_ms: u64,
    ) -> Result<bool, Failure> {
        self.join_from(room, user, channel, None, now_ms)
    }

    /// [`Self::join`] with the UserJoined envelope naming connection `origin`.
    fn join_from(
        &self,
        room: &str,
        user: &str,
        channel: &str,
        origin: Option<&str>,
        now_ms: u64,
    ) -> Result<bool, Failure> {
        let kind = self.require_room(room)?.kind;
        self.require_user(user)?;
        if self.is_member(room, user)? {
            return Ok(false);
        }
        LogSet::new(self.store, keys::room_members(room)).add(user, &now_ms, now_ms)?;
        LogSet::new(self.store, keys::user_rooms(user)).add(room, &now_ms, now_ms)?;
        self.store.set(&keys::member_flag(room, user), FLAG)?;
        self.voice_changed(&kind, user);
        self.publish(
            Event::UserJoined {
                room: room.into(),
                user: user.into(),
                channel: channel.into(),
            },
            origin,
            now_ms,
        )?;
        Ok(true)
    }

    /// Removes `user` from `room` and publishes UserLeft; `false` if not a member.
    ///
    /// The flag goes first: the right to send ends before the lists change.
    pub fn leave(
        &self,
        room: &str,
        user: &str,
        channel: &str,
        now_ms: u64,
    ) -> Result<bool, Failure> {
        self.leave_from(room, user, channel, None, now_ms)
    }

    /// [`Self::leave`] with the UserLeft envelope naming connection `origin`.
    fn leave_from(
        &self,
        room: &str,
        user: &str,
        channel: &str,
        origin: Option<&str>,
        now_ms: u64,
    ) -> Result<bool, Failure> {
        let kind = self.require_room(room)?.kind;
        self.require_user(user)?;
        if !self.is_member(room, user)? {
            return Ok(false);
        }
        self.store.delete(&keys::member_flag(room, user))?;
        LogSet::new(self.store, keys::room_members(room)).remove(user, now_ms)?;
        LogSet::new(self.store, keys::user_rooms(user)).remove(room, now_ms)?;
        self.voice_changed(&kind, user);
        self.publish(
            Event::UserLeft {
                room: room.into(),
                user: user.into(),
                channel: channel.into(),
            },
            origin,
            now_ms,
        )?;
        Ok(true)
    }

    /// Sets the room's join rule, or with `None` clears it. Only joining checks it (in the
    /// channel that knows the connection's details), so changing it removes no one.
    pub fn set_join_rule(&self, room: &str, rule: Option<&JoinRule>) -> Result<(), Failure> {
        self.require_room(room)?;
        match rule {
            Some(rule) => {
                validate_join_rule(rule)?;
                self.store.set_json(&keys::join_rule(room), rule)
            }
            None => self.store.delete(&keys::join_rule(room)),
        }
    }

    /// The room's join rule, if it has one.
    pub fn get_join_rule(&self, room: &str) -> Result<Option<JoinRule>, Failure> {
        self.require_room(room)?;
        self.store.get_json(&keys::join_rule(room))
    }

    /// Who is in a voice room is part of the room list; guests are on no list.
    fn voice_changed(&self, kind: &str, user: &str) {
        if kind == "voice" && !ids::is_guest(user) {
            crate::directory_changed(self.store, self.publisher, directory::ROOMS);
        }
    }

    fn publish(&self, event: Event, origin: Option<&str>, now_ms: u64) -> Result<(), Failure> {
        let subject = event.subject();
        let envelope = Envelope::from_connection(event, now_ms, origin.map(str::to_owned));
        self.publisher
            .publish(&subject, envelope.to_json().as_bytes())
    }

    pub(crate) fn require_room(&self, id: &str) -> Result<Room, Failure> {
        self.get_room(id)?
            .ok_or_else(|| Failure::new(FailureCode::UnknownRoom, format!("no room {id:?}")))
    }

    fn require_user(&self, id: &str) -> Result<(), Failure> {
        let exists = ids::is_valid_id(id) && self.store.get(&keys::user(id))?.is_some();
        if exists {
            Ok(())
        } else {
            Err(Failure::new(
                FailureCode::UnknownUser,
                format!("no user {id:?}"),
            ))
        }
    }
}

#[cfg(test)]
mod tests;
