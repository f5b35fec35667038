//! Each admin route, called with a valid token.

use serde_json::{json, Value};
use wcc_interface::Event;

use super::World;
use crate::admin::ADMIN_CHANNEL;

#[test]
fn rooms_are_created_listed_got_and_deleted() {
    let world = World::new();
    let (status, body) = world.call("POST", "/rooms", r#"{"id":"lobby"}"#);
    let lobby = json!({"id": "lobby", "name": "lobby", "kind": "text", "created_at": 1000});
    assert_eq!(
        (status, body),
        (201, json!({"created": true, "room": lobby}))
    );
    let (status, body) = world.call(
        "POST",
        "/rooms",
        r#"{"id":"lobby","name":"Other","kind":"voice"}"#,
    );
    assert_eq!(
        (status, body),
        (200, json!({"created": false, "room": lobby}))
    );
    let (status, body) = world.call(
        "POST",
        "/rooms",
        r#"{"id":"talk","name":"Talk","kind":"voice"}"#,
    );
    assert_eq!(
        (status, body["room"]["kind"].as_str()),
        (201, Some("voice"))
    );

    let (status, body) = world.call("GET", "/rooms", "");
    assert_eq!((status, body.as_array().map(Vec::len)), (200, Some(2)));
    assert_eq!(world.call("GET", "/rooms/lobby", ""), (200, lobby));
    assert_eq!(world.call("DELETE", "/rooms/lobby", ""), (204, Value::Null));
    let (status, body) = world.call("GET", "/rooms/lobby", "");
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("unknown_room"))
    );
    assert_eq!(world.call("DELETE", "/rooms/lobby", "").0, 404);
}

#[test]
fn bad_room_bodies_are_rejected() {
    let world = World::new();
    for body in [
        "",
        "[]",
        r#"{"name":"x"}"#,
        r#"{"id":"a b"}"#,
        r#"{"id":"a","kind":"forum"}"#,
        r#"{"id":"a","extra":1}"#,
    ] {
        let (status, reply) = world.call("POST", "/rooms", body);
        assert_eq!(
            (status, reply["error"].as_str()),
            (400, Some("invalid")),
            "{body}"
        );
    }
}

#[test]
fn members_are_added_listed_and_removed() {
    let world = World::new();
    world.add_user("ada");
    world.call("POST", "/rooms", r#"{"id":"lobby"}"#);
    assert_eq!(
        world.call("PUT", "/rooms/lobby/members/ada", ""),
        (200, json!({"joined": true}))
    );
    assert_eq!(
        world.call("PUT", "/rooms/lobby/members/ada", ""),
        (200, json!({"joined": false}))
    );
    assert_eq!(
        world.call("GET", "/rooms/lobby/members", ""),
        (200, json!([{"user": "ada", "joined_at": 1000}]))
    );
    let (_, mine) = world.call("GET", "/rooms?member=ada", "");
    let ids: Vec<&str> = mine
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(ids, ["ada", "lobby"]);
    assert_eq!(world.call("GET", "/rooms?member=a%2Fb", "").0, 400);

    assert_eq!(
        world.call("DELETE", "/rooms/lobby/members/ada", ""),
        (200, json!({"left": true}))
    );
    assert_eq!(
        world.call("DELETE", "/rooms/lobby/members/ada", ""),
        (200, json!({"left": false}))
    );
    let events: Vec<Event> = world
        .publisher
        .envelopes()
        .into_iter()
        .map(|(_, e)| e.event)
        .skip(1)
        .collect();
    assert_eq!(
        events,
        [
            Event::UserJoined {
                room: "lobby".into(),
                user: "ada".into(),
                channel: ADMIN_CHANNEL.into()
            },
            Event::UserLeft {
                room: "lobby".into(),
                user: "ada".into(),
                channel: ADMIN_CHANNEL.into()
            },
        ]
    );
    assert_eq!(world.call("PUT", "/rooms/lobby/members/ghost", "").0, 404);
    assert_eq!(world.call("GET", "/rooms/nope/members", "").0, 404);
}

#[test]
fn users_and_online_users_are_shown() {
    let world = World::new();
    world.add_user("ada");
    assert_eq!(
        world.call("GET", "/users/ada", ""),
        (200, json!({"id": "ada", "profile": null, "created_at": 1}))
    );
    let (status, body) = world.call("GET", "/users/ghost", "");
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("unknown_user"))
    );
    assert_eq!(
        world.call("GET", "/online", ""),
        (200, json!([{"user": "ada", "channels": ["venueless"]}]))
    );
}

#[test]
fn unknown_routes_and_methods() {
    let world = World::new();
    assert_eq!(world.call("GET", "/nope", "").0, 404);
    assert_eq!(world.call("PATCH", "/rooms", "").0, 405);
    assert_eq!(world.call("POST", "/rooms/x/members", "").0, 405);
    assert_eq!(
        world.call("GET", "/rooms/", "").0,
        200,
        "a trailing slash names the same resource"
    );
}
