//! Every principal against every room kind, for every decision.

use serde_json::json;
use wcc_interface::{Failure, FailureCode, Principal, StoredMessage};
use wcc_kv::{keys, MemoryStore, Store};

use super::*;

/// alice owns her direct room; `lobby` is public with alice in it; `staff` is private with
/// alice in it; mallory is a member of nothing; bob moderates (his group holds changeMessage).
fn world() -> MemoryStore {
    let store = MemoryStore::default();
    for (id, kind) in [
        ("alice", DIRECT),
        ("bob", DIRECT),
        ("mallory", DIRECT),
        ("lobby", TEXT),
        ("voice", VOICE),
        ("staff", PRIVATE),
    ] {
        store
            .set_json(
                &keys::room(id),
                &json!({"id": id, "name": id, "kind": kind}),
            )
            .unwrap();
    }
    for (room, user) in [
        ("alice", "alice"),
        ("bob", "bob"),
        ("mallory", "mallory"),
        ("lobby", "alice"),
        ("staff", "alice"),
    ] {
        store.set(&keys::member_flag(room, user), b"1").unwrap();
    }
    store.set(&keys::user_group("bob"), b"mods").unwrap();
    store
        .set_json(
            &keys::group("mods"),
            &json!({"name": "mods", "permissions": ["changeMessage"]}),
        )
        .unwrap();
    store
}

fn user(id: &str) -> Principal {
    Principal::user(id)
}

fn code(result: Result<(), Failure>) -> Option<FailureCode> {
    result.err().map(|f| f.code)
}

#[test]
fn reading_follows_the_room_kind() {
    let store = world();
    let denied = Some(FailureCode::Denied);
    // A direct room: its owner only, however the stranger asks.
    assert_eq!(code(may_read(&store, &user("alice"), "alice")), None);
    assert_eq!(code(may_read(&store, &user("mallory"), "alice")), denied);
    // A private room: members only.
    assert_eq!(code(may_read(&store, &user("alice"), "staff")), None);
    assert_eq!(code(may_read(&store, &user("mallory"), "staff")), denied);
    // Public rooms and the everyone feed: any user.
    for room in ["lobby", "voice", ids::EVERYONE] {
        assert_eq!(code(may_read(&store, &user("mallory"), room)), None);
    }
    // The operator and the server read everything that exists.
    for who in [Principal::Operator, Principal::Server] {
        for room in ["alice", "staff", "lobby"] {
            assert_eq!(code(may_read(&store, &who, room)), None);
        }
    }
    assert_eq!(
        code(may_read(&store, &user("alice"), "nowhere")),
        Some(FailureCode::UnknownRoom)
    );
    assert_eq!(
        code(may_read(&store, &user("alice"), "a.b")),
        Some(FailureCode::Invalid)
    );
}

/// The check runs on every subscription and history page: one call to the store, member or
/// not, whatever the room's kind.
#[test]
fn a_read_check_is_one_call_to_the_store() {
    let store = wcc_kv::CountingStore::new(world());
    for (who, room) in [("alice", "staff"), ("mallory", "staff"), ("bob", "lobby")] {
        store.reset();
        let _ = may_read(&store, &user(who), room);
        assert_eq!(store.calls(), 1, "{who} reading {room}");
    }
}

#[test]
fn joining_needs_the_kind_and_the_principal_to_allow_it() {
    let store = world();
    let denied = Some(FailureCode::Denied);
    assert_eq!(
        code(may_join(&store, &user("mallory"), "lobby", "mallory")),
        None
    );
    // Nobody joins for someone else, except the operator and the server.
    assert_eq!(
        code(may_join(&store, &user("mallory"), "lobby", "bob")),
        denied
    );
    assert_eq!(
        code(may_join(&store, &Principal::Operator, "lobby", "bob")),
        None
    );
    // A direct room takes its owner only, whoever asks.
    assert_eq!(
        code(may_join(&store, &user("alice"), "alice", "alice")),
        None
    );
    assert_eq!(
        code(may_join(&store, &user("mallory"), "alice", "mallory")),
        denied
    );
    assert_eq!(
        code(may_join(&store, &Principal::Operator, "alice", "mallory")),
        denied
    );
    // A private room takes whom the operator adds.
    assert_eq!(
        code(may_join(&store, &user("mallory"), "staff", "mallory")),
        denied
    );
    assert_eq!(
        code(may_join(&store, &Principal::Operator, "staff", "mallory")),
        None
    );
    // The everyone feed is no room.
    assert_eq!(
        code(may_join(&store, &user("alice"), ids::EVERYONE, "alice")),
        denied
    );
    assert_eq!(code(may_leave(&user("mallory"), "alice")), denied);
    assert_eq!(code(may_leave(&user("alice"), "alice")), None);
    assert_eq!(code(may_leave(&Principal::Operator, "alice")), None);
}

#[test]
fn writing_needs_membership_except_a_direct_message() {
    let store = world();
    assert_eq!(code(may_write(&store, "alice", "lobby")), None);
    assert_eq!(
        code(may_write(&store, "mallory", "lobby")),
        Some(FailureCode::NotMember)
    );
    assert_eq!(
        code(may_write(&store, "mallory", "staff")),
        Some(FailureCode::NotMember)
    );
    assert_eq!(code(may_write(&store, "mallory", "alice")), None);
    store.set(&keys::ban("alice", "mallory"), b"1").unwrap();
    assert_eq!(
        code(may_write(&store, "mallory", "alice")),
        Some(FailureCode::Banned)
    );
    assert_eq!(code(may_signal(&store, "mallory", ids::EVERYONE)), None);
    assert_eq!(
        code(may_signal(&store, "mallory", "lobby")),
        Some(FailureCode::NotMember)
    );
}

fn message(room: &str, sender: &str) -> StoredMessage {
    StoredMessage {
        id: "m1".into(),
        room: room.into(),
        event_id: 1,
        sender: sender.into(),
        channel: "venueless".into(),
        event_type: "channel.message".into(),
        content: json!({"body": "hi"}),
        sent_at: 0,
    }
}

#[test]
fn changing_a_message_needs_reading_and_authorship_or_the_permission() {
    let store = world();
    let denied = Some(FailureCode::Denied);
    let in_lobby = message("lobby", "alice");
    assert_eq!(code(may_change(&store, &user("alice"), &in_lobby)), None);
    assert_eq!(
        code(may_change(&store, &user("mallory"), &in_lobby)),
        denied
    );
    assert_eq!(code(may_change(&store, &user("bob"), &in_lobby)), None);
    assert_eq!(
        code(may_change(&store, &Principal::Operator, &in_lobby)),
        None
    );
    // A moderator cannot touch a conversation he cannot read: alice's direct room.
    let dm = message("alice", "mallory");
    assert_eq!(code(may_change(&store, &user("bob"), &dm)), denied);
    // Its sender can, though he cannot read alice's inbox: he may still write there.
    assert_eq!(code(may_change(&store, &user("mallory"), &dm)), None);
    // Once banned, he cannot even change his own.
    store.set(&keys::ban("alice", "mallory"), b"1").unwrap();
    assert_eq!(code(may_change(&store, &user("mallory"), &dm)), denied);
    // Nobody else's message in alice's inbox is his to change.
    let to_alice = message("alice", "bob");
    assert_eq!(
        code(may_change(&store, &user("mallory"), &to_alice)),
        denied
    );
    // A removed message has no sender: nobody "wrote" it any more.
    let removed = message("lobby", "");
    assert_eq!(code(may_change(&store, &user("mallory"), &removed)), denied);
}

#[test]
fn removing_a_users_messages_is_for_the_operator_and_removeuser_holders() {
    let store = world();
    assert_eq!(
        code(may_remove_messages_of(&store, &Principal::Operator, "x")),
        None
    );
    assert_eq!(
        code(may_remove_messages_of(&store, &user("bob"), "x")),
        Some(FailureCode::Denied)
    );
    store
        .set_json(
            &keys::group("mods"),
            &json!({"name": "mods", "permissions": ["changeMessage", "removeUser"]}),
        )
        .unwrap();
    assert_eq!(
        code(may_remove_messages_of(&store, &user("bob"), "x")),
        None
    );
}

#[test]
fn one_message_is_readable_by_its_sender_and_by_readers_of_its_room() {
    let store = world();
    let dm = message("alice", "mallory");
    assert_eq!(code(may_read_message(&store, &user("mallory"), &dm)), None);
    assert_eq!(code(may_read_message(&store, &user("alice"), &dm)), None);
    assert_eq!(
        code(may_read_message(&store, &user("bob"), &dm)),
        Some(FailureCode::Denied)
    );
}

#[test]
fn administration_follows_the_groups_permissions() {
    let store = world();
    let denied = Some(FailureCode::Denied);
    // bob's group holds changeMessage only.
    for permission in ["createRoom", "renameRoom", "removeRoom", "setGroupPerm"] {
        assert_eq!(
            code(may_administer(&store, &user("bob"), permission)),
            denied
        );
        assert_eq!(
            code(may_administer(&store, &Principal::Operator, permission)),
            None
        );
    }
    store
        .set_json(
            &keys::group("mods"),
            &json!({"name": "mods", "permissions": ["createRoom", "inviteUser", "createUser"]}),
        )
        .unwrap();
    assert_eq!(
        code(may_administer(&store, &user("bob"), "createRoom")),
        None
    );
    // Profiles: one's own, or another's with renameUser or suppressUser.
    assert_eq!(
        code(may_change_profile(&store, &user("alice"), "alice")),
        None
    );
    assert_eq!(
        code(may_change_profile(&store, &user("bob"), "alice")),
        denied
    );
    assert_eq!(code(may_delete_user(&store, &user("bob"), "alice")), denied);
    assert_eq!(code(may_delete_user(&store, &user("alice"), "alice")), None);
    // Invites: into one's own group with inviteUser, into any with inviteUserAny.
    assert_eq!(code(may_invite(&store, &user("bob"), "mods")), None);
    assert_eq!(code(may_invite(&store, &user("bob"), "admin")), denied);
    // createUser places only a user without a group.
    assert_eq!(code(may_set_group(&store, &user("bob"), "mallory")), None);
    store.set(&keys::user_group("mallory"), b"mods").unwrap();
    assert_eq!(code(may_set_group(&store, &user("bob"), "mallory")), denied);
    // Nobody appoints administrators but the server and the operator.
    assert_eq!(code(may_appoint(&user("bob"))), denied);
    assert_eq!(code(may_appoint(&Principal::Server)), None);
}

#[test]
fn reacting_needs_reading_and_writing_so_a_direct_room_is_its_owners() {
    let store = world();
    let denied = Some(FailureCode::Denied);
    // Members of public and private rooms react; a reader who is no member does not.
    assert_eq!(code(may_react(&store, &user("alice"), "lobby")), None);
    assert_eq!(code(may_react(&store, &user("alice"), "staff")), None);
    assert_eq!(code(may_react(&store, &user("mallory"), "lobby")), denied);
    assert_eq!(code(may_react(&store, &user("mallory"), "staff")), denied);
    // A direct room: its owner; a DM's sender writes there but cannot read it, so cannot react.
    assert_eq!(code(may_react(&store, &user("alice"), "alice")), None);
    assert_eq!(code(may_write(&store, "mallory", "alice")), None);
    assert_eq!(code(may_react(&store, &user("mallory"), "alice")), denied);
    // A reaction is a user's: the operator and the server have none to give.
    for who in [Principal::Operator, Principal::Server] {
        assert_eq!(code(may_react(&store, &who, "lobby")), denied);
    }
    // The everyone feed is no room: nothing there to react to.
    assert!(may_react(&store, &user("alice"), ids::EVERYONE).is_err());
    assert_eq!(
        code(may_react(&store, &user("alice"), "nowhere")),
        Some(FailureCode::UnknownRoom)
    );
}

#[test]
fn read_pointers_are_for_users_who_may_read_the_room() {
    let store = world();
    let denied = Some(FailureCode::Denied);
    // Reading is enough: a public room's reader keeps a pointer without joining.
    assert_eq!(code(may_mark_read(&store, &user("mallory"), "lobby")), None);
    assert_eq!(code(may_mark_read(&store, &user("alice"), "alice")), None);
    assert_eq!(
        code(may_mark_read(&store, &user("mallory"), "alice")),
        denied
    );
    assert_eq!(
        code(may_mark_read(&store, &user("mallory"), "staff")),
        denied
    );
    assert_eq!(
        code(may_mark_read(&store, &Principal::Operator, "lobby")),
        denied
    );
}

#[test]
fn readable_rooms_answers_as_may_read_does_for_each_room() {
    let store = world();
    let rooms: Vec<String> = [
        "alice",
        "bob",
        "staff",
        "lobby",
        "voice",
        "nowhere",
        "a.b",
        ids::EVERYONE,
        "lobby",
    ]
    .map(String::from)
    .to_vec();
    assert_eq!(
        readable_rooms(&store, &user("alice"), &rooms).unwrap(),
        [true, false, true, true, true, false, false, false, true]
    );
    assert_eq!(
        readable_rooms(&store, &user("mallory"), &rooms).unwrap(),
        [false, false, false, true, true, false, false, false, true]
    );
    // Every real room agrees with the one-room rule.
    for who in [
        user("alice"),
        user("mallory"),
        user("bob"),
        Principal::Operator,
    ] {
        let batch = readable_rooms(&store, &who, &rooms).unwrap();
        for (room, readable) in rooms.iter().zip(batch) {
            if room != ids::EVERYONE && room != "nowhere" && room != "a.b" {
                assert_eq!(
                    may_read(&store, &who, room).is_ok(),
                    readable,
                    "{who} {room}"
                );
            }
        }
    }
}
