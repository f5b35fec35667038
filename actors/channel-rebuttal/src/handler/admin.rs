//! Administration: rooms, other users, groups and invites. The core decides each (its refusal
//! is worded as the permission that would have allowed it); the lists every client keeps come
//! from the core's announcement of the change, not from here.

use channel_kit::{Backend, Principal};
use serde_json::json;

use super::{denied_as, listed_room, say, Refusal, Turn};
use crate::handler::MAX_NAME_CHARS;
use crate::{codec, directory};
use wcc_interface::access;

/// `invite`: a single-use code for `group`.
pub(super) fn invite(
    turn: &mut Turn,
    me: &str,
    group: &str,
    backend: &impl Backend,
) -> Result<(), Refusal> {
    let group = check_group(group)?;
    let code = backend
        .create_invite(&Principal::user(me), group)
        .map_err(denied_as("inviteUserAny"))?;
    let mut reply = json!({ "invite_code": code });
    if let Some(url) = invite_url(backend, &code) {
        reply["url"] = url.into();
    }
    turn.send(codec::packet("invite", reply));
    Ok(())
}

/// The link the web client's invite popup shows: its page with the code as `invite`, which
/// the client reads when it opens. `None` without a page configured, or with one that has a
/// query already (a code appended to it would not be read).
fn invite_url(backend: &impl Backend, code: &str) -> Option<String> {
    let page = backend.setting(crate::INVITE_PAGE_KEY)?;
    let page = page.trim();
    if page.is_empty() || page.contains(['?', '#']) {
        return None;
    }
    Some(format!("{page}?invite={code}"))
}

/// `createroom`; its creator follows a new text room at once.
pub(super) fn create_room(
    turn: &mut Turn,
    me: &str,
    kind: &str,
    name: &str,
    backend: &impl Backend,
) -> Result<(), Refusal> {
    if !directory::KINDS.contains(&kind) {
        return Err("A room is text or voice".into());
    }
    let name = check_name("room name", name)?;
    let id = uuid::Uuid::new_v4().to_string();
    backend
        .create_room(&Principal::user(me), &id, name, kind)
        .map_err(denied_as("createRoom"))?;
    if kind == "text" {
        turn.follow(backend, me, &id)?;
    }
    Ok(())
}

pub(super) fn rename_room(
    me: &str,
    room: &str,
    name: &str,
    backend: &impl Backend,
) -> Result<(), Refusal> {
    listed_room(backend, room)?;
    let name = check_name("room name", name)?;
    backend
        .rename_room(&Principal::user(me), room, name)
        .map(drop)
        .map_err(denied_as("renameRoom"))
}

pub(super) fn remove_room(me: &str, room: &str, backend: &impl Backend) -> Result<(), Refusal> {
    listed_room(backend, room)?;
    backend
        .delete_room(&Principal::user(me), room)
        .map_err(denied_as("removeRoom"))
}

/// `updateuser`: renaming yourself needs no permission; another, `renameUser`.
pub(super) fn rename_user(
    me: &str,
    user: &str,
    name: &str,
    backend: &impl Backend,
) -> Result<(), Refusal> {
    let name = check_name("user name", name)?;
    let found = backend.get_user(user).map_err(say)?;
    let found = found.ok_or("No such user")?;
    directory::set_name(backend, &Principal::user(me), &found, name)
        .map_err(denied_as("renameUser"))
}

/// `removeuser`; `withvengence` masks their messages first.
pub(super) fn remove_user(
    me: &str,
    user: &str,
    vengeance: bool,
    backend: &impl Backend,
) -> Result<(), Refusal> {
    if backend.get_user(user).map_err(say)?.is_none() {
        return Err("No such user".into());
    }
    let actor = Principal::user(me);
    if vengeance {
        backend
            .remove_messages_by(&actor, user)
            .map_err(denied_as("removeUser"))?;
    }
    // The core tells the user's sessions (`Note::AccountRemoved`); they close.
    backend
        .delete_user(&actor, user)
        .map(drop)
        .map_err(denied_as("removeUser"))
}

pub(super) fn create_group(me: &str, group: &str, backend: &impl Backend) -> Result<(), Refusal> {
    backend
        .create_group(&Principal::user(me), check_group(group)?)
        .map(drop)
        .map_err(denied_as("setGroupPerm"))
}

pub(super) fn update_group(
    me: &str,
    group: &str,
    changes: Vec<codec::GroupChange>,
    backend: &impl Backend,
) -> Result<(), Refusal> {
    let group = check_group(group)?;
    let changes: Vec<channel_kit::GroupChange> = changes
        .into_iter()
        .map(|c| channel_kit::GroupChange {
            add: c.add,
            remove: c.remove,
        })
        .collect();
    backend
        .update_group(&Principal::user(me), group, &changes)
        .map(drop)
        .map_err(denied_as("setGroupPerm"))
}

pub(super) fn remove_group(me: &str, group: &str, backend: &impl Backend) -> Result<(), Refusal> {
    backend
        .remove_group(&Principal::user(me), check_group(group)?)
        .map(drop)
        .map_err(denied_as("setGroupPerm"))
}

pub(super) fn set_user_group(
    me: &str,
    user: &str,
    group: &str,
    backend: &impl Backend,
) -> Result<(), Refusal> {
    let group = check_group(group)?;
    if backend.get_user(user).map_err(say)?.is_none() {
        return Err("No such user".into());
    }
    backend
        .set_user_group(&Principal::user(me), user, group)
        .map_err(denied_as("setUserGroup"))
}

pub(super) fn check_name<'a>(what: &str, name: &'a str) -> Result<&'a str, Refusal> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(format!(
            "A {what} is 1 to {MAX_NAME_CHARS} printable characters"
        ));
    }
    Ok(name)
}

pub(super) fn check_group(group: &str) -> Result<&str, Refusal> {
    if access::is_valid_group_name(group) {
        Ok(group)
    } else {
        Err(format!(
            "A group name is 1 to {} printable characters",
            access::MAX_GROUP_NAME_CHARS
        ))
    }
}
