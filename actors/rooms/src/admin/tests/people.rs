//! People: the user directory, a user's rooms and sessions, disconnects, bans and deletions.

use serde_json::{json, Value};
use wcc_interface::{FailureCode, Note};
use wcc_kv::{keys, Store};

use super::World;
use crate::{Accounts, Users};

fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|entry| entry["id"].as_str().unwrap())
        .collect()
}

/// The notes published so far, as (subject, note).
fn notes(world: &World) -> Vec<(String, Note)> {
    world.core.publisher.notes()
}

fn disconnect(reason: &str) -> (String, Note) {
    (
        "wcc.sessions.user.ada".to_string(),
        Note::Disconnect {
            reason: reason.into(),
        },
    )
}

#[test]
fn the_directory_lists_accounts_oldest_first_up_to_the_limit() {
    let world = World::new();
    for (n, id) in ["ada", "bob", "cy"].iter().enumerate() {
        Users::new(&world.core.store, &world.core.publisher)
            .login("venueless", id, n as u64, || id.to_string())
            .unwrap();
    }
    Users::new(&world.core.store, &world.core.publisher)
        .guest("gw1-9", 5)
        .unwrap();
    let (status, list) = world.call("GET", "/users", "");
    assert_eq!(status, 200);
    assert_eq!(
        ids(&list),
        ["ada", "bob", "cy"],
        "guests are in no directory"
    );
    assert_eq!(
        list[0],
        json!({"id": "ada", "profile": null, "created_at": 0})
    );
    assert_eq!(
        ids(&world.call("GET", "/users?limit=2", "").1),
        ["ada", "bob"]
    );
    assert_eq!(ids(&world.call("GET", "/users?limit=5000", "").1).len(), 3);
    for query in ["limit=0", "limit=x", "limit=-2"] {
        let (status, reply) = world.call("GET", &format!("/users?{query}"), "");
        assert_eq!(
            (status, reply["error"].as_str()),
            (400, Some("invalid")),
            "{query}"
        );
    }
}

#[test]
fn a_users_rooms_are_listed() {
    let world = World::new();
    world.add_user("ada");
    world.call("POST", "/rooms", r#"{"id":"lobby","name":"Lobby"}"#);
    world.call("POST", "/rooms", r#"{"id":"quiet"}"#);
    world.call("PUT", "/rooms/lobby/members/ada", "");
    let (status, rooms) = world.call("GET", "/users/ada/rooms", "");
    assert_eq!(status, 200);
    assert_eq!(
        ids(&rooms),
        ["ada", "lobby"],
        "its direct room and the room it joined"
    );
    assert_eq!(rooms[1]["name"], "Lobby");
    let (status, reply) = world.call("GET", "/users/ghost/rooms", "");
    assert_eq!(
        (status, reply["error"].as_str()),
        (404, Some("unknown_user"))
    );
    assert_eq!(world.call("GET", "/users/a.b/rooms", "").0, 400);
}

#[test]
fn a_users_sessions_name_their_gateway() {
    let world = World::new();
    world.add_user("ada");
    world.add_user("bob");
    assert_eq!(
        world.call("GET", "/users/ada/sessions", ""),
        (
            200,
            json!([
                {"connection": "gw-a1b2-7", "channel": "venueless", "gateway": "gw-a1b2"},
                {"connection": "gwc3-12", "channel": "cadmium", "gateway": "gwc3"},
            ])
        )
    );
    assert_eq!(
        world.call("GET", "/users/bob/sessions", ""),
        (200, json!([]))
    );
    assert_eq!(world.call("GET", "/users/ghost/sessions", "").0, 404);
    assert_eq!(world.call("GET", "/users/a%20b/sessions", "").0, 400);
}

#[test]
fn a_disconnect_is_a_note_to_every_session_of_the_user() {
    let world = World::new();
    world.add_user("ada");
    world.core.publisher.sent.borrow_mut().clear();
    assert_eq!(
        world.call("POST", "/users/ada/disconnect", ""),
        (202, json!({"disconnected": true}))
    );
    assert_eq!(notes(&world), [disconnect("disconnected by an operator")]);
    // Nothing is stored: the user may sign in again.
    Users::new(&world.core.store, &world.core.publisher)
        .login("venueless", "ada", 2, || unreachable!())
        .unwrap();

    let (status, reply) = world.call("POST", "/users/ghost/disconnect", "");
    assert_eq!(
        (status, reply["error"].as_str()),
        (404, Some("unknown_user"))
    );
    assert_eq!(world.call("POST", "/users/a.b/disconnect", "").0, 400);
    assert_eq!(notes(&world).len(), 1);
}

#[test]
fn a_ban_is_stored_then_disconnects_and_refuses_sign_in_until_lifted() {
    let world = World::new();
    world.add_user("ada");
    world.core.publisher.sent.borrow_mut().clear();
    let banned = json!({"user": "ada", "banned": true});
    let free = json!({"user": "ada", "banned": false});
    assert_eq!(world.call("GET", "/users/ada/ban", ""), (200, free.clone()));
    assert_eq!(
        world.call("PUT", "/users/ada/ban", ""),
        (200, banned.clone())
    );
    assert_eq!(
        world.call("GET", "/users/ada/ban", ""),
        (200, banned.clone())
    );
    assert_eq!(notes(&world), [disconnect("banned by an operator")]);
    let users = Users::new(&world.core.store, &world.core.publisher);
    let refused = users
        .login("venueless", "ada", 2, || unreachable!())
        .unwrap_err();
    assert_eq!(refused.code, FailureCode::Suspended);

    // Banning again closes whatever signed in meanwhile, again.
    assert_eq!(world.call("PUT", "/users/ada/ban", ""), (200, banned));
    assert_eq!(notes(&world).len(), 2);

    assert_eq!(
        world.call("DELETE", "/users/ada/ban", ""),
        (200, free.clone())
    );
    assert_eq!(
        world.call("DELETE", "/users/ada/ban", ""),
        (200, free.clone())
    );
    assert_eq!(world.call("GET", "/users/ada/ban", ""), (200, free));
    assert_eq!(
        users
            .login("venueless", "ada", 3, || unreachable!())
            .unwrap()
            .id,
        "ada"
    );
    assert!(!world
        .core
        .store
        .keys()
        .iter()
        .any(|k| k.starts_with("banned/")));
}

#[test]
fn an_id_without_a_user_can_be_banned_but_not_a_guest_or_the_server() {
    let world = World::new();
    // Kept from registration before anyone takes it.
    assert_eq!(world.call("PUT", "/users/mallory/ban", "").0, 200);
    let accounts = Accounts::new(&world.core.store, &world.core.publisher);
    let who = crate::accounts::Credentials {
        channel: "cadmium",
        client_id: "mallory",
        password: "long enough pw",
        remote: "192.0.2.9:1",
    };
    let policy = crate::PasswordPolicy::with_params(argon2::Params::new(8, 1, 1, None).unwrap());
    let refused = accounts
        .register(
            &policy,
            &who,
            Some("mallory"),
            5,
            [1; 16],
            || unreachable!(),
        )
        .unwrap_err();
    assert_eq!(refused.code, FailureCode::Suspended);
    assert!(world
        .core
        .store
        .get(&keys::user("mallory"))
        .unwrap()
        .is_none());

    for id in ["guest-gw1-3", "server", "everyone", "a.b"] {
        for method in ["PUT", "GET", "DELETE"] {
            let (status, reply) = world.call(method, &format!("/users/{id}/ban"), "");
            assert_eq!(
                (status, reply["error"].as_str()),
                (400, Some("invalid")),
                "{method} {id}"
            );
        }
    }
}

#[test]
fn a_user_is_deleted_as_the_operator_and_stays_banned() {
    let world = World::new();
    world.add_user("ada");
    world.call("POST", "/rooms", r#"{"id":"lobby"}"#);
    world.call("PUT", "/rooms/lobby/members/ada", "");
    world.call("PUT", "/users/ada/ban", "");
    world.core.publisher.sent.borrow_mut().clear();

    assert_eq!(world.call("DELETE", "/users/ada", ""), (204, Value::Null));
    assert_eq!(world.call("GET", "/users/ada", "").0, 404);
    assert_eq!(
        world.call("GET", "/rooms/lobby/members", ""),
        (200, json!([]))
    );
    let told: Vec<(String, Note)> = notes(&world).into_iter().rev().take(2).rev().collect();
    assert_eq!(
        told,
        [
            ("wcc.sessions.user.ada".to_string(), Note::AccountRemoved),
            disconnect("account removed by an operator"),
        ],
        "its sessions hear why, then end on every protocol"
    );
    assert_eq!(world.call("GET", "/users/ada/ban", "").1["banned"], true);

    let told = notes(&world).len();
    let (status, reply) = world.call("DELETE", "/users/ada", "");
    assert_eq!(
        (status, reply["error"].as_str()),
        (404, Some("unknown_user"))
    );
    assert_eq!(world.call("DELETE", "/users/a.b", "").0, 400);
    assert_eq!(notes(&world).len(), told, "no one left to tell");
}
