//! Unit tests of [`Access`] on a `MemoryStore` and a recording publisher.

use wcc_interface::access::PERMISSIONS;
use wcc_interface::Note;
use wcc_kv::MemoryStore;

use super::*;
use crate::fakes::RecordingPublisher;
use crate::users::Users;

fn with_users(names: &[&str]) -> (MemoryStore, RecordingPublisher) {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let users = Users::new(&store, &publisher);
    for name in names {
        users.login("test", name, 1, || name.to_string()).unwrap();
    }
    (store, publisher)
}

fn change(add: Option<&str>, remove: Option<&str>) -> GroupChange {
    GroupChange {
        add: add.map(str::to_owned),
        remove: remove.map(str::to_owned),
    }
}

fn group_changes(publisher: &RecordingPublisher) -> usize {
    let parts = publisher.directory_parts();
    parts.iter().filter(|part| *part == "groups").count()
}

fn permission_notes(publisher: &RecordingPublisher) -> Vec<String> {
    publisher
        .notes()
        .into_iter()
        .filter(|(_, note)| *note == Note::PermissionsChanged)
        .map(|(subject, _)| subject)
        .collect()
}

#[test]
fn changes_apply_in_order_and_unknown_permissions_change_nothing() {
    let (store, publisher) = with_users(&[]);
    let access = Access::new(&store, &publisher);
    assert!(access.create_group("mods", 1).unwrap());
    assert!(!access.create_group("mods", 2).unwrap());
    let changes = [
        change(Some("renameRoom"), None),
        change(Some("removeRoom"), Some("renameRoom")),
        change(Some("createRoom"), None),
    ];
    let group = access.update_group("mods", &changes, 3).unwrap();
    assert_eq!(group.permissions, ["createRoom", "removeRoom"]);

    let bad = [
        change(Some("sendMessage"), None),
        change(Some("rootShell"), None),
    ];
    let refused = access.update_group("mods", &bad, 4).unwrap_err();
    assert_eq!(refused.code, FailureCode::Invalid);
    assert_eq!(access.get_group("mods").unwrap().unwrap(), group);
    assert_eq!(group_changes(&publisher), 2);

    // update creates a missing group; list shows both, by name.
    access
        .update_group("crew", &[change(Some("sendMessage"), None)], 5)
        .unwrap();
    let names: Vec<String> = access
        .list_groups()
        .unwrap()
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(names, ["crew", "mods"]);
}

#[test]
fn a_removed_group_leaves_its_name_on_users_and_takes_its_permissions() {
    let (store, publisher) = with_users(&["ann", "bob"]);
    let access = Access::new(&store, &publisher);
    access
        .update_group("mods", &[change(Some("renameRoom"), None)], 1)
        .unwrap();
    access.set_user_group("ann", "mods").unwrap();
    assert_eq!(access.permissions("ann").unwrap(), ["renameRoom"]);
    assert_eq!(access.permissions("bob").unwrap(), Vec::<String>::new());

    assert!(access.remove_group("mods", 9).unwrap());
    assert!(!access.remove_group("mods", 9).unwrap());
    assert_eq!(access.user_group("ann").unwrap().as_deref(), Some("mods"));
    assert!(access.permissions("ann").unwrap().is_empty());
    // Ann heard of the group assignment and of the removal; Bob of nothing.
    let notes = permission_notes(&publisher);
    assert_eq!(notes, ["wcc.sessions.user.ann", "wcc.sessions.user.ann"]);
}

#[test]
fn editing_a_group_tells_its_members_only() {
    let (store, publisher) = with_users(&["ann", "bob"]);
    let access = Access::new(&store, &publisher);
    access.set_user_group("ann", "mods").unwrap();
    access.set_user_group("bob", "guests").unwrap();
    publisher.sent.borrow_mut().clear();
    access
        .update_group("mods", &[change(Some("suppressUser"), None)], 1)
        .unwrap();
    assert_eq!(permission_notes(&publisher), ["wcc.sessions.user.ann"]);
}

#[test]
fn setting_a_group_never_refuses_an_unknown_name_but_needs_a_user() {
    let (store, publisher) = with_users(&["ann"]);
    let access = Access::new(&store, &publisher);
    access.set_user_group("ann", "nobody-made-this").unwrap();
    assert_eq!(
        access.user_group("ann").unwrap().as_deref(),
        Some("nobody-made-this")
    );
    let refused = access.set_user_group("ghost", "mods").unwrap_err();
    assert_eq!(refused.code, FailureCode::UnknownUser);
    assert_eq!(
        access.set_user_group("ann", "").unwrap_err().code,
        FailureCode::Invalid
    );
}

#[test]
fn an_invite_is_redeemed_once() {
    let (store, publisher) = with_users(&[]);
    let access = Access::new(&store, &publisher);
    let code = access.create_invite("guests", "ann", "c0de", 1).unwrap();
    assert_eq!(
        access.redeem_invite(&code).unwrap().as_deref(),
        Some("guests")
    );
    assert_eq!(access.redeem_invite(&code).unwrap(), None);
    assert_eq!(access.redeem_invite("unknown").unwrap(), None);
    assert_eq!(access.redeem_invite("../x").unwrap(), None);
    let refused = access
        .create_invite("guests", "ann", "../x", 2)
        .unwrap_err();
    assert_eq!(refused.code, FailureCode::Invalid);
}

#[test]
fn only_the_first_claim_founds_and_admins_hold_every_permission() {
    let (store, publisher) = with_users(&["ann", "bob"]);
    let access = Access::new(&store, &publisher);
    assert!(access.claim_founder("ann", 1).unwrap());
    assert!(!access.claim_founder("bob", 2).unwrap());
    assert_eq!(access.permissions("ann").unwrap().len(), PERMISSIONS.len());
    assert!(access.permissions("bob").unwrap().is_empty());
    // The configured admin joins them; admin rights survive a tampered admin group.
    access
        .update_group(ADMIN_GROUP, &[change(None, Some("removeUser"))], 3)
        .unwrap();
    access.make_admin("bob", 4).unwrap();
    assert_eq!(access.permissions("bob").unwrap().len(), PERMISSIONS.len());
}

#[test]
fn group_and_assignment_changes_are_announced() {
    let (store, publisher) = with_users(&["ann"]);
    let access = Access::new(&store, &publisher);
    publisher.sent.borrow_mut().clear();
    access.create_group("mods", 1).unwrap();
    access.create_group("mods", 2).unwrap();
    access.set_user_group("ann", "mods").unwrap();
    access.remove_group("mods", 9).unwrap();
    access.remove_group("mods", 9).unwrap();
    assert_eq!(
        publisher.directory_parts(),
        ["groups", "users", "groups"],
        "one per change, none for what changed nothing"
    );
    assert_eq!(
        permission_notes(&publisher),
        ["wcc.sessions.user.ann", "wcc.sessions.user.ann"],
        "set-user-group and remove-group"
    );
}

#[test]
fn a_broker_outage_does_not_undo_a_stored_change() {
    let (store, _) = with_users(&["ann"]);
    let down = RecordingPublisher {
        fail: true,
        ..Default::default()
    };
    let access = Access::new(&store, &down);
    assert!(access.create_group("mods", 1).unwrap());
    access
        .update_group("mods", &[change(Some("sendMessage"), None)], 2)
        .unwrap();
    access.set_user_group("ann", "mods").unwrap();
    assert_eq!(access.permissions("ann").unwrap(), ["sendMessage"]);
    assert!(access.claim_founder("ann", 3).unwrap());
    assert!(access.remove_group("mods", 9).unwrap());
}
