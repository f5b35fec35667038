//! The permissions a group can grant. The names are Rebuttal's (the protocol that brought
//! groups), kept protocol-neutral: any channel with user administration checks these.

use serde::{Deserialize, Serialize};

/// A named set of permissions; every user is in at most one group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub name: String,
    /// Sorted, without duplicates.
    pub permissions: Vec<String>,
}

/// One step of a group update: grant `add`, then take away `remove`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupChange {
    pub add: Option<String>,
    pub remove: Option<String>,
}

/// Every permission, in the order Rebuttal lists them.
pub const PERMISSIONS: [&str; 16] = [
    "createRoom",
    "renameRoom",
    "removeRoom",
    "createUser",
    "renameUser",
    "removeUser",
    "renameServer",
    "inviteUser",
    "inviteUserAny",
    "joinVoiceRoom",
    "sendMessage",
    "changeMessage",
    "setUserGroup",
    "setGroupPerm",
    "suppressUser",
    "noInviteFor",
];

/// The group of administrators: the founder and the configured bootstrap admin are put in
/// it, and it is given every permission when they are.
pub const ADMIN_GROUP: &str = "admin";

/// Whether `name` is a permission.
pub fn is_permission(name: &str) -> bool {
    PERMISSIONS.contains(&name)
}

/// Longest group name, in characters.
pub const MAX_GROUP_NAME_CHARS: usize = 64;

/// Whether `name` can name a group: 1 to [`MAX_GROUP_NAME_CHARS`] printable characters.
pub fn is_valid_group_name(name: &str) -> bool {
    let chars = name.chars().count();
    (1..=MAX_GROUP_NAME_CHARS).contains(&chars) && !name.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_are_known_by_name() {
        assert!(is_permission("inviteUserAny"));
        assert!(!is_permission("rootShell"));
        assert!(!is_permission("createroom"), "names are case-sensitive");
    }

    #[test]
    fn group_names_are_short_and_printable() {
        assert!(is_valid_group_name("moderators"));
        assert!(is_valid_group_name("Gäste 2"));
        assert!(!is_valid_group_name(""));
        assert!(!is_valid_group_name("a\nb"));
        assert!(!is_valid_group_name(&"g".repeat(MAX_GROUP_NAME_CHARS + 1)));
    }
}
