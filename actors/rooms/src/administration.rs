//! Administration asked by a principal: every entry asks the policy (`wcc_policy`) first and
//! only then makes the change through the room, user and access operations, which themselves
//! check nothing but their input. The component's exports come through here, so no channel can
//! create, rename or remove a room, change someone's profile or group, or make an invite
//! without the permission the policy names.

use wcc_interface::{Failure, Principal};
use wcc_kv::Store;
use wcc_policy as policy;

use crate::access::GroupChange;
use crate::{Access, Group, Publisher, Room, Rooms, User, Users};

pub struct Administration<'a, S: Store, P: Publisher> {
    store: &'a S,
    publisher: &'a P,
    actor: &'a Principal,
}

impl<'a, S: Store, P: Publisher> Administration<'a, S, P> {
    pub fn new(store: &'a S, publisher: &'a P, actor: &'a Principal) -> Self {
        Self {
            store,
            publisher,
            actor,
        }
    }

    fn rooms(&self) -> Rooms<'a, S, P> {
        Rooms::new(self.store, self.publisher)
    }

    fn access(&self) -> Access<'a, S, P> {
        Access::new(self.store, self.publisher)
    }

    fn may(&self, permission: &str) -> Result<(), Failure> {
        policy::may_administer(self.store, self.actor, permission)
    }

    pub fn create_room(&self, id: &str, name: &str, kind: &str, now: u64) -> Result<bool, Failure> {
        self.may("createRoom")?;
        self.rooms().create_shared_room(id, name, kind, now)
    }

    pub fn rename_room(&self, id: &str, name: &str) -> Result<Room, Failure> {
        self.may("renameRoom")?;
        self.rooms().rename_room(id, name)
    }

    pub fn delete_room(&self, id: &str, now: u64) -> Result<(), Failure> {
        self.may("removeRoom")?;
        self.rooms().delete_room(id, now)
    }

    pub fn set_profile(&self, id: &str, profile: &str) -> Result<User, Failure> {
        policy::may_change_profile(self.store, self.actor, id)?;
        Users::new(self.store, self.publisher).set_profile(id, profile)
    }

    pub fn delete_user(&self, id: &str, now: u64) -> Result<bool, Failure> {
        policy::may_delete_user(self.store, self.actor, id)?;
        Users::new(self.store, self.publisher).delete_user(id, now)
    }

    pub fn create_group(&self, name: &str, now: u64) -> Result<bool, Failure> {
        self.may("setGroupPerm")?;
        self.access().create_group(name, now)
    }

    pub fn update_group(
        &self,
        name: &str,
        changes: &[GroupChange],
        now: u64,
    ) -> Result<Group, Failure> {
        self.may("setGroupPerm")?;
        self.access().update_group(name, changes, now)
    }

    pub fn remove_group(&self, name: &str, now: u64) -> Result<bool, Failure> {
        self.may("setGroupPerm")?;
        self.access().remove_group(name, now)
    }

    pub fn set_user_group(&self, user: &str, group: &str) -> Result<(), Failure> {
        policy::may_set_group(self.store, self.actor, user)?;
        self.access().set_user_group(user, group)
    }

    /// An invite made by the actor (recorded as its user id, or `operator` / `server`).
    pub fn create_invite(&self, group: &str, code: &str, now: u64) -> Result<String, Failure> {
        policy::may_invite(self.store, self.actor, group)?;
        let by = match self.actor {
            Principal::User(id) => id.as_str(),
            Principal::Operator => "operator",
            Principal::Server => "server",
        };
        self.access().create_invite(group, by, code, now)
    }

    pub fn claim_founder(&self, user: &str, now: u64) -> Result<bool, Failure> {
        policy::may_appoint(self.actor)?;
        self.access().claim_founder(user, now)
    }

    pub fn make_admin(&self, user: &str, now: u64) -> Result<(), Failure> {
        policy::may_appoint(self.actor)?;
        self.access().make_admin(user, now)
    }
}

#[cfg(test)]
mod tests;
