//! Groups, permissions and invites: who may administer what (Rebuttal's model, kept
//! protocol-neutral). Every user is in at most one group; a group grants a set of permissions
//! named in `wcc_interface::access`. Channels ask [`Access::permissions`] and decide.
//!
//! Without compare-and-swap, the two things that must happen once (an invite redeemed, the
//! founder named) are decided by the store's atomic `increment`: the caller that makes the
//! counter 1 wins.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use wcc_interface::access::{is_permission, is_valid_group_name, ADMIN_GROUP, PERMISSIONS};
pub use wcc_interface::access::{Group, GroupChange};
use wcc_interface::events::directory;
use wcc_interface::{ids, Failure, FailureCode, Note};
use wcc_kv::{keys, LogSet, Store};

use crate::Publisher;

// Groups are stored as JSON at `keys::group(name)`.

/// An invite record at `keys::invite(code)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Invite {
    group: String,
    by: String,
    created_at: u64,
}

pub struct Access<'a, S: Store, P: Publisher> {
    store: &'a S,
    publisher: &'a P,
}

impl<'a, S: Store, P: Publisher> Access<'a, S, P> {
    pub fn new(store: &'a S, publisher: &'a P) -> Self {
        Self { store, publisher }
    }

    /// Every group, by name; groups whose record is gone are skipped.
    pub fn list_groups(&self) -> Result<Vec<Group>, Failure> {
        let names: BTreeMap<String, u64> = self.index().entries()?;
        let group_keys: Vec<String> = names.keys().map(|n| keys::group(n)).collect();
        let mut groups = Vec::with_capacity(group_keys.len());
        for (key, bytes) in group_keys.iter().zip(self.store.get_many(&group_keys)?) {
            let Some(bytes) = bytes else { continue };
            let group = serde_json::from_slice(&bytes)
                .map_err(|e| Failure::unavailable(format!("corrupt value at {key}: {e}")))?;
            groups.push(group);
        }
        Ok(groups)
    }

    pub fn get_group(&self, name: &str) -> Result<Option<Group>, Failure> {
        if !is_valid_group_name(name) {
            return Ok(None);
        }
        self.store.get_json(&keys::group(name))
    }

    /// Creates an empty group; `false` if it exists.
    pub fn create_group(&self, name: &str, now_ms: u64) -> Result<bool, Failure> {
        check_group_name(name)?;
        if self.get_group(name)?.is_some() {
            return Ok(false);
        }
        self.save(
            &Group {
                name: name.into(),
                permissions: Vec::new(),
            },
            now_ms,
        )?;
        crate::directory_changed(self.store, self.publisher, directory::GROUPS);
        Ok(true)
    }

    /// Applies `changes` in order, creating the group if needed. Nothing is stored if any
    /// change names an unknown permission.
    pub fn update_group(
        &self,
        name: &str,
        changes: &[GroupChange],
        now_ms: u64,
    ) -> Result<Group, Failure> {
        check_group_name(name)?;
        let named = changes.iter().flat_map(|c| c.add.iter().chain(&c.remove));
        for permission in named {
            if !is_permission(permission) {
                return Err(Failure::invalid(format!(
                    "unknown permission {permission:?}"
                )));
            }
        }
        let mut group = self.get_group(name)?.unwrap_or_else(|| Group {
            name: name.into(),
            permissions: Vec::new(),
        });
        for change in changes {
            if let Some(add) = &change.add {
                group.permissions.push(add.clone());
            }
            if let Some(remove) = &change.remove {
                group.permissions.retain(|p| p != remove);
            }
            group.permissions.sort();
            group.permissions.dedup();
        }
        self.save(&group, now_ms)?;
        crate::directory_changed(self.store, self.publisher, directory::GROUPS);
        self.tell_members(name)?;
        Ok(group)
    }

    /// Deletes the group; its users keep its name and lose its permissions.
    pub fn remove_group(&self, name: &str, now_ms: u64) -> Result<bool, Failure> {
        if self.get_group(name)?.is_none() {
            return Ok(false);
        }
        self.store.delete(&keys::group(name))?;
        self.index().remove(name, now_ms)?;
        crate::directory_changed(self.store, self.publisher, directory::GROUPS);
        self.tell_members(name)?;
        Ok(true)
    }

    pub fn user_group(&self, user: &str) -> Result<Option<String>, Failure> {
        if !ids::is_valid_id(user) {
            return Ok(None);
        }
        match self.store.get(&keys::user_group(user))? {
            None => Ok(None),
            Some(bytes) => String::from_utf8(bytes).map(Some).map_err(|_| {
                Failure::unavailable(format!("corrupt value at {}", keys::user_group(user)))
            }),
        }
    }

    /// Puts `user` in `group`; the group need not exist (Rebuttal: never refuse the name).
    pub fn set_user_group(&self, user: &str, group: &str) -> Result<(), Failure> {
        check_group_name(group)?;
        self.require_user(user)?;
        self.store.set(&keys::user_group(user), group.as_bytes())?;
        self.publisher.note(user, &Note::PermissionsChanged);
        crate::directory_changed(self.store, self.publisher, directory::USERS);
        Ok(())
    }

    /// The permissions of the user's group, sorted; none without a group or if it is gone.
    pub fn permissions(&self, user: &str) -> Result<Vec<String>, Failure> {
        let Some(group) = self.user_group(user)? else {
            return Ok(Vec::new());
        };
        Ok(self
            .get_group(&group)?
            .map(|g| g.permissions)
            .unwrap_or_default())
    }

    /// Records a single-use invite `code` (the caller's randomness) into `group`, made by `by`.
    pub fn create_invite(
        &self,
        group: &str,
        by: &str,
        code: &str,
        now_ms: u64,
    ) -> Result<String, Failure> {
        check_group_name(group)?;
        // The code becomes a key segment, and redeem takes only valid ids.
        if !ids::is_valid_id(code) {
            return Err(Failure::invalid("an invite code is a valid id"));
        }
        let invite = Invite {
            group: group.into(),
            by: by.into(),
            created_at: now_ms,
        };
        self.store.set_json(&keys::invite(code), &invite)?;
        Ok(code.to_owned())
    }

    /// Uses up `code`: its group for the first caller, `None` afterwards or for unknown codes.
    pub fn redeem_invite(&self, code: &str) -> Result<Option<String>, Failure> {
        // Codes are UUIDs: anything else names no invite and must not reach a key.
        if !ids::is_valid_id(code) {
            return Ok(None);
        }
        let Some(invite) = self.store.get_json::<Invite>(&keys::invite(code))? else {
            return Ok(None);
        };
        if self.store.increment(&keys::invite_uses(code), 1)? != 1 {
            return Ok(None);
        }
        Ok(Some(invite.group))
    }

    /// Makes `user` an administrator if no one has claimed before; `true` for that one caller.
    pub fn claim_founder(&self, user: &str, now_ms: u64) -> Result<bool, Failure> {
        self.require_user(user)?;
        if self.store.increment(keys::FOUNDER_CLAIMS, 1)? != 1 {
            return Ok(false);
        }
        self.make_admin(user, now_ms)?;
        Ok(true)
    }

    /// Puts `user` in the administrators' group and gives that group every permission.
    pub fn make_admin(&self, user: &str, now_ms: u64) -> Result<(), Failure> {
        self.require_user(user)?;
        let admins = Group {
            name: ADMIN_GROUP.into(),
            permissions: sorted_permissions(),
        };
        if self.get_group(ADMIN_GROUP)?.as_ref() != Some(&admins) {
            self.save(&admins, now_ms)?;
            crate::directory_changed(self.store, self.publisher, directory::GROUPS);
        }
        if self.user_group(user)?.as_deref() != Some(ADMIN_GROUP) {
            self.set_user_group(user, ADMIN_GROUP)?;
        }
        Ok(())
    }

    fn save(&self, group: &Group, now_ms: u64) -> Result<(), Failure> {
        self.store.set_json(&keys::group(&group.name), group)?;
        self.index().add(&group.name, &now_ms, now_ms)
    }

    fn index(&self) -> LogSet<'a, S> {
        LogSet::new(self.store, keys::GROUP_INDEX)
    }

    /// Notes `PermissionsChanged` to every user in `group`. A scan of all users: group edits
    /// are rare administrator actions, and an index per group would cost a write per change.
    fn tell_members(&self, group: &str) -> Result<(), Failure> {
        let users: BTreeMap<String, serde_json::Value> =
            LogSet::new(self.store, keys::USER_INDEX).entries()?;
        let group_keys: Vec<String> = users.keys().map(|u| keys::user_group(u)).collect();
        for (user, value) in users.keys().zip(self.store.get_many(&group_keys)?) {
            if value.as_deref() == Some(group.as_bytes()) {
                self.publisher.note(user, &Note::PermissionsChanged);
            }
        }
        Ok(())
    }

    fn require_user(&self, user: &str) -> Result<(), Failure> {
        if ids::is_valid_id(user) && self.store.get(&keys::user(user))?.is_some() {
            Ok(())
        } else {
            Err(Failure::new(
                FailureCode::UnknownUser,
                format!("no user {user:?}"),
            ))
        }
    }
}

fn sorted_permissions() -> Vec<String> {
    let mut all: Vec<String> = PERMISSIONS.iter().map(|p| p.to_string()).collect();
    all.sort();
    all
}

fn check_group_name(name: &str) -> Result<(), Failure> {
    if is_valid_group_name(name) {
        Ok(())
    } else {
        Err(Failure::invalid(format!(
            "a group name is 1 to {} printable characters",
            wcc_interface::access::MAX_GROUP_NAME_CHARS
        )))
    }
}

#[cfg(test)]
mod tests;
