//! Who may do what: the core's one decision point.
//!
//! The messages and rooms actors ask these functions before they read or change anything a user
//! can see, with the acting [`Principal`] that every core call carries. Channels translate their
//! protocol onto those calls and hold no policy of their own: a channel that forgets a check
//! cannot leak, because the core refuses.
//!
//! | room kind | read (live, history, one message, reactions, read pointer) | join | write | react |
//! |---|---|---|---|---|
//! | `text`, `voice` | any user | any user, as themselves | members | members |
//! | `private` | members | only the operator adds members | members | members |
//! | `direct` (named by its owner's id) | the owner only | the owner only | the owner, and anyone the owner has not banned (a DM) | the owner only |
//! | the `everyone` feed | any user | no one (it is no room) | signals only, any user | no one |
//!
//! The operator and the server read every room and join anyone to any room but a direct one.
//! Reacting needs reading and writing ([`may_react`]): a reaction is shown to the room's readers
//! under a user's name, so it takes a user who may both see the message and speak there. In a
//! direct room that is its owner alone: a DM's sender writes there but cannot read the room, so
//! cannot react (they react to replies in their own direct room). A read pointer is kept for a
//! user in any room they may read ([`may_mark_read`]); the operator and the server have none.
//!
//! Administration follows the permissions of a user's group (`wcc_interface::access`): rooms are
//! created, renamed and removed with `createRoom`, `renameRoom`, `removeRoom`; groups changed with
//! `setGroupPerm`; users placed in groups with `setUserGroup` (or, for an account without a group
//! yet, `createUser`); invites made with `inviteUserAny` (or `inviteUser` into one's own group);
//! another user's profile changed with `renameUser` or `suppressUser`, and removed with
//! `removeUser`. The operator and the server may do all of it; only they appoint administrators.
//! Editing and removing a message: its sender while they may still write there (so a DM's sender
//! can change it), the operator, or a user who may read the room and whose group holds
//! `changeMessage`.

pub mod admin_token;

use std::collections::BTreeSet;

use serde::Deserialize;
use wcc_interface::{access, ids, Failure, FailureCode, Principal, StoredMessage};
use wcc_kv::{keys, Store};

/// What a room record tells the policy: only its kind matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `text` and `voice`: public rooms.
    Public,
    /// Members only; membership is given by the operator.
    Private,
    /// The room named by its owner's user id.
    Direct,
}

/// The room kinds a room record may have.
pub const TEXT: &str = "text";
pub const VOICE: &str = "voice";
pub const PRIVATE: &str = "private";
pub const DIRECT: &str = "direct";

impl Kind {
    pub fn parse(kind: &str) -> Self {
        match kind {
            DIRECT => Kind::Direct,
            PRIVATE => Kind::Private,
            _ => Kind::Public,
        }
    }
}

/// The kind of `room`; `unknown_room` if there is no such room.
pub fn room_kind<S: Store>(store: &S, room: &str) -> Result<Kind, Failure> {
    kind_of(room, store.get(&keys::room(room))?)
}

/// The kind in a room record as read from the store (`None`: no such room).
pub fn kind_of(room: &str, record: Option<Vec<u8>>) -> Result<Kind, Failure> {
    let record = record
        .ok_or_else(|| Failure::new(FailureCode::UnknownRoom, format!("no room {room:?}")))?;
    #[derive(Deserialize)]
    struct Record {
        #[serde(default)]
        kind: String,
    }
    // Only the rooms actor writes room records; the policy reads the one field it needs.
    let record: Record = serde_json::from_slice(&record)
        .map_err(|e| Failure::unavailable(format!("corrupt room record {room:?}: {e}")))?;
    Ok(Kind::parse(&record.kind))
}

fn check_id(what: &str, id: &str) -> Result<(), Failure> {
    if ids::is_valid_id(id) {
        Ok(())
    } else {
        Err(Failure::invalid(format!("invalid {what} id {id:?}")))
    }
}

fn denied(principal: &Principal, what: &str, room: &str) -> Failure {
    Failure::denied(format!("{principal} may not {what} {room}"))
}

/// Whether `principal` may hear `room`'s live events and read its messages.
pub fn may_read<S: Store>(store: &S, principal: &Principal, room: &str) -> Result<(), Failure> {
    may_read_each(store, principal, &[room.to_owned()])?
        .pop()
        .expect("one answer per room")
}

/// [`may_read`] for each of `rooms`, in order, with one read of the store for all of them: a
/// sign-in follows every room its user belongs to, and each store call is a hop through the
/// host. The outer error is the store's; the inner ones are each room's answer.
pub fn may_read_each<S: Store>(
    store: &S,
    principal: &Principal,
    rooms: &[String],
) -> Result<Vec<Result<(), Failure>>, Failure> {
    let asked = |room: &&String| ids::is_valid_id(room) && room.as_str() != ids::EVERYONE;
    let Principal::User(user) = principal else {
        return Ok(rooms
            .iter()
            .map(|room| {
                check_id("room", room)?;
                if !asked(&room) {
                    return Ok(());
                }
                room_kind(store, room).map(drop)
            })
            .collect());
    };
    // Each room's record and the user's membership flag, all in one read.
    let keys: Vec<String> = rooms
        .iter()
        .filter(asked)
        .flat_map(|room| [keys::room(room), keys::member_flag(room, user)])
        .collect();
    let found = if keys.is_empty() {
        Vec::new()
    } else {
        store.get_each(&keys)?
    };
    let mut found = found.into_iter();
    Ok(rooms
        .iter()
        .map(|room| {
            check_id("room", room)?;
            if !asked(&room) {
                return Ok(());
            }
            let (record, flag) = (found.next().flatten(), found.next().flatten());
            let kind = kind_of(room, record)?;
            if user_reads(kind, room, user, || Ok(flag.is_some()))? {
                Ok(())
            } else {
                Err(denied(principal, "read", room))
            }
        })
        .collect())
}

/// Whether `principal` may add or withdraw a reaction in `room`: a user who may read the room
/// and write to it. The write part is reported as `denied` too: not being a member is, for a
/// reaction, plainly not being allowed.
pub fn may_react<S: Store>(store: &S, principal: &Principal, room: &str) -> Result<(), Failure> {
    let Principal::User(user) = principal else {
        return Err(Failure::denied(format!(
            "{principal} is no user and cannot react"
        )));
    };
    may_read(store, principal, room)?;
    may_write(store, user, room).map_err(|refused| match refused.code {
        FailureCode::NotMember | FailureCode::Banned => denied(principal, "react in", room),
        _ => refused,
    })
}

/// Whether `principal` may keep a read pointer in `room`: a user who may read it.
pub fn may_mark_read<S: Store>(
    store: &S,
    principal: &Principal,
    room: &str,
) -> Result<(), Failure> {
    if principal.as_user().is_none() {
        return Err(Failure::denied(format!(
            "{principal} is no user and has no read pointers"
        )));
    }
    may_read(store, principal, room)
}

/// Which of `rooms` `principal` may read ([`may_read`]), in order, in one read of the store
/// for all of them: for listing many rooms at once (unread counts). An invalid id, an unknown
/// room, a refused one and the `everyone` feed (no room: it has no history) are `false`.
pub fn readable_rooms<S: Store>(
    store: &S,
    principal: &Principal,
    rooms: &[String],
) -> Result<Vec<bool>, Failure> {
    let valid: Vec<&String> = rooms
        .iter()
        .filter(|room| ids::is_valid_id(room) && room.as_str() != ids::EVERYONE)
        .collect();
    let user = principal.as_user();
    let mut keys: Vec<String> = valid.iter().map(|room| keys::room(room)).collect();
    if let Some(user) = user {
        keys.extend(valid.iter().map(|room| keys::member_flag(room, user)));
    }
    let mut values = store.get_many(&keys)?;
    if values.len() != keys.len() {
        return Err(Failure::unavailable(
            "key-value store answered the wrong number of keys",
        ));
    }
    let members = values.split_off(valid.len());
    let mut readable = std::collections::BTreeMap::new();
    for (i, (room, record)) in valid.iter().zip(values).enumerate() {
        let allowed = match kind_of(room, record) {
            Err(e) if e.code == FailureCode::UnknownRoom => false,
            Err(e) => return Err(e),
            Ok(kind) => match user {
                None => true,
                Some(user) => user_reads(kind, room, user, || {
                    Ok(members.get(i).is_some_and(Option::is_some))
                })?,
            },
        };
        readable.insert(room.as_str(), allowed);
    }
    Ok(rooms
        .iter()
        .map(|room| readable.get(room.as_str()).copied().unwrap_or(false))
        .collect())
}

/// The read rule for a user: public rooms, their own direct room, private rooms they belong to
/// (`member` is asked only then).
fn user_reads(
    kind: Kind,
    room: &str,
    user: &str,
    member: impl FnOnce() -> Result<bool, Failure>,
) -> Result<bool, Failure> {
    match kind {
        Kind::Public => Ok(true),
        Kind::Direct => Ok(room == user),
        Kind::Private => member(),
    }
}

/// Whether `principal` may read one message: where they may read the room, and their own
/// message anywhere (a DM they sent sits in the recipient's direct room).
pub fn may_read_message<S: Store>(
    store: &S,
    principal: &Principal,
    message: &StoredMessage,
) -> Result<(), Failure> {
    match principal {
        Principal::User(user) if !message.sender.is_empty() && message.sender == *user => Ok(()),
        _ => may_read(store, principal, &message.room),
    }
}

/// Whether `principal` may make `user` a member of `room`.
pub fn may_join<S: Store>(
    store: &S,
    principal: &Principal,
    room: &str,
    user: &str,
) -> Result<(), Failure> {
    check_id("room", room)?;
    if !principal.acts_for(user) {
        return Err(Failure::denied(format!(
            "{principal} may not join {user} to {room}"
        )));
    }
    if room == ids::EVERYONE {
        return Err(Failure::denied(format!("{room} is not a room to join")));
    }
    let allowed = match room_kind(store, room)? {
        Kind::Public => true,
        // Not even the operator puts someone in another user's direct room: it is their inbox.
        Kind::Direct => room == user,
        Kind::Private => principal.as_user().is_none(),
    };
    if allowed {
        Ok(())
    } else {
        Err(denied(principal, "join", room))
    }
}

/// Whether `principal` may end `user`'s membership of a room: their own, or anyone's for the
/// operator and the server.
pub fn may_leave(principal: &Principal, user: &str) -> Result<(), Failure> {
    if principal.acts_for(user) {
        Ok(())
    } else {
        Err(Failure::denied(format!(
            "{principal} may not remove {user}"
        )))
    }
}

/// Keys whose presence alone lets `sender` write to `room`: the room's record and the sender's
/// membership. The message path hands them to the store as the condition of the write
/// (`Store::append_if_present`), so it need not read them first; when one is missing,
/// [`may_write`] says why, or finds the other right (a direct message).
pub fn write_proof(sender: &str, room: &str) -> Result<[String; 2], Failure> {
    check_id("room", room)?;
    Ok([keys::room(room), keys::member_flag(room, sender)])
}

/// Whether `sender` may write to `room`: members may; anyone may write to another user's direct
/// room (that is a direct message) unless its owner banned them.
pub fn may_write<S: Store>(store: &S, sender: &str, room: &str) -> Result<(), Failure> {
    let keys = write_proof(sender, room)?;
    let [record, member]: [Option<Vec<u8>>; 2] = store
        .get_many(&keys)?
        .try_into()
        .map_err(|_| Failure::unavailable("key-value store answered the wrong number of keys"))?;
    let kind = kind_of(room, record)?;
    if member.is_some() {
        return Ok(());
    }
    if kind != Kind::Direct {
        return Err(Failure::new(
            FailureCode::NotMember,
            format!("{sender} is not a member of {room}"),
        ));
    }
    if store.get(&keys::ban(room, sender))?.is_some() {
        return Err(Failure::new(
            FailureCode::Banned,
            format!("{room} banned {sender}"),
        ));
    }
    Ok(())
}

/// Whether `principal` may signal to `room` (typing, receipts): as writing, and any user may
/// signal to the `everyone` feed.
pub fn may_signal<S: Store>(store: &S, sender: &str, room: &str) -> Result<(), Failure> {
    if room == ids::EVERYONE {
        return Ok(());
    }
    may_write(store, sender, room)
}

/// Whether `principal` may edit or remove `message`.
pub fn may_change<S: Store>(
    store: &S,
    principal: &Principal,
    message: &StoredMessage,
) -> Result<(), Failure> {
    let Principal::User(user) = principal else {
        return may_read(store, principal, &message.room);
    };
    // Your own message, where you may still write: a DM you sent, into a room you cannot read.
    if !message.sender.is_empty()
        && message.sender == *user
        && may_write(store, user, &message.room).is_ok()
    {
        return Ok(());
    }
    may_read(store, principal, &message.room)?;
    if holds(store, user, "changeMessage")? {
        return Ok(());
    }
    Err(Failure::denied(format!(
        "{principal} may not change message {} of {}",
        message.event_id, message.room
    )))
}

/// Whether `principal` may mask every message of another user (removing a user "with
/// vengeance").
pub fn may_remove_messages_of<S: Store>(
    store: &S,
    principal: &Principal,
    sender: &str,
) -> Result<(), Failure> {
    match principal {
        Principal::Operator | Principal::Server => Ok(()),
        Principal::User(user) if holds(store, user, "removeUser")? => Ok(()),
        Principal::User(_) => Err(Failure::denied(format!(
            "{principal} may not remove the messages of {sender}"
        ))),
    }
}

/// Whether `principal` may administer what `permission` names (rooms, groups): the operator
/// and the server always; a user whose group grants it.
pub fn may_administer<S: Store>(
    store: &S,
    principal: &Principal,
    permission: &str,
) -> Result<(), Failure> {
    match principal {
        Principal::Operator | Principal::Server => Ok(()),
        Principal::User(user) if holds(store, user, permission)? => Ok(()),
        Principal::User(_) => Err(missing(principal, permission)),
    }
}

fn missing(principal: &Principal, permission: &str) -> Failure {
    Failure::denied(format!("{principal} lacks the permission {permission}"))
}

/// Whether `principal` may change `target`'s profile: their own; another's with `renameUser`
/// (its name) or `suppressUser` (its voice state, a server mute).
pub fn may_change_profile<S: Store>(
    store: &S,
    principal: &Principal,
    target: &str,
) -> Result<(), Failure> {
    if principal.acts_for(target) {
        return Ok(());
    }
    may_administer(store, principal, "renameUser")
        .or_else(|_| may_administer(store, principal, "suppressUser"))
}

/// Whether `principal` may delete user `target`: themselves, or anyone with `removeUser`.
pub fn may_delete_user<S: Store>(
    store: &S,
    principal: &Principal,
    target: &str,
) -> Result<(), Failure> {
    if principal.acts_for(target) {
        return Ok(());
    }
    may_administer(store, principal, "removeUser")
}

/// Whether `principal` may put `target` in a group: with `setUserGroup`; with `createUser` a
/// user who has no group yet (the account they just created).
pub fn may_set_group<S: Store>(
    store: &S,
    principal: &Principal,
    target: &str,
) -> Result<(), Failure> {
    may_administer(store, principal, "setUserGroup").or_else(|denied| {
        let fresh = store.get(&keys::user_group(target))?.is_none();
        if fresh && may_administer(store, principal, "createUser").is_ok() {
            Ok(())
        } else {
            Err(denied)
        }
    })
}

/// Whether `principal` may make an invite into `group`: into any group with `inviteUserAny`,
/// into their own with `inviteUser`.
pub fn may_invite<S: Store>(store: &S, principal: &Principal, group: &str) -> Result<(), Failure> {
    may_administer(store, principal, "inviteUserAny").or_else(|denied| match principal {
        Principal::User(user)
            if holds(store, user, "inviteUser")?
                && store.get(&keys::user_group(user))?.as_deref() == Some(group.as_bytes()) =>
        {
            Ok(())
        }
        _ => Err(denied),
    })
}

/// Whether `principal` may make someone an administrator outright (the bootstrap from the
/// server's configuration, a founder's claim): the server and the operator only.
pub fn may_appoint(principal: &Principal) -> Result<(), Failure> {
    match principal {
        Principal::Operator | Principal::Server => Ok(()),
        Principal::User(_) => Err(Failure::denied(format!(
            "{principal} may not appoint administrators"
        ))),
    }
}

/// Whether the group of `user` grants `permission` (`wcc_interface::access::PERMISSIONS`).
pub fn holds<S: Store>(store: &S, user: &str, permission: &str) -> Result<bool, Failure> {
    debug_assert!(access::is_permission(permission), "{permission}");
    let Some(group) = store.get(&keys::user_group(user))? else {
        return Ok(false);
    };
    let group = String::from_utf8_lossy(&group);
    #[derive(Deserialize)]
    struct Group {
        permissions: BTreeSet<String>,
    }
    let group: Option<Group> = store.get_json(&keys::group(&group))?;
    Ok(group.is_some_and(|g| g.permissions.contains(permission)))
}

#[cfg(test)]
mod tests;
