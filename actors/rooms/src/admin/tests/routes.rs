//! Each admin route, called with a valid token.

use serde_json::{json, Value};
use wcc_interface::{ids, Event, Note};

use super::World;
use crate::admin::ADMIN_CHANNEL;

#[test]
fn rooms_are_created_listed_got_and_deleted() {
    let world = World::new();
    let (status, body) = world.call("POST", "/rooms", r#"{"id":"lobby"}"#);
    let lobby = json!({"id": "lobby", "name": "lobby", "kind": "text", "created_at": 1000});
    assert_eq!(
        (status, body),
        (201, json!({"created": true, "added": 1, "room": lobby}))
    );
    let (status, body) = world.call(
        "POST",
        "/rooms",
        r#"{"id":"lobby","name":"Other","kind":"voice"}"#,
    );
    assert_eq!(
        (status, body),
        (200, json!({"created": false, "added": 0, "room": lobby}))
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
        .core
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
    assert_eq!(
        world.core.publisher.notes(),
        [
            (
                "wcc.sessions.user.ada".to_string(),
                Note::Joined {
                    room: "lobby".into()
                }
            ),
            (
                "wcc.sessions.user.ada".to_string(),
                Note::Left {
                    room: "lobby".into()
                }
            ),
        ],
        "the user's sessions are told once per change"
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
        (
            200,
            json!([{"user": "ada", "channels": ["venueless", "cadmium"]}])
        )
    );
}

#[test]
fn existence_and_status_follow_the_seed() {
    let world = World::new();
    assert_eq!(
        world.call("GET", "/rooms/lobby/exists", ""),
        (200, json!({"exists": false}))
    );
    world.call("POST", "/rooms", r#"{"id":"lobby"}"#);
    assert_eq!(
        world.call("GET", "/rooms/lobby/exists", ""),
        (200, json!({"exists": true}))
    );
    assert_eq!(
        world.call("GET", "/rooms/a%2Fb/exists", ""),
        (200, json!({"exists": false}))
    );
    assert_eq!(
        world.call("GET", "/rooms/lobby/status", ""),
        (
            200,
            json!({"room": "lobby", "membersCount": 0, "members": {}})
        )
    );
    world.add_user("ada");
    world.add_user("bob");
    world.call("PUT", "/rooms/lobby/members/ada", "");
    world.call("PUT", "/rooms/lobby/members/bob", "");
    assert_eq!(
        world.call("GET", "/rooms/lobby/status", ""),
        (
            200,
            json!({"room": "lobby", "membersCount": 2, "members": {
                "ada": {"id": "ada", "joinedAt": 1000},
                "bob": {"id": "bob", "joinedAt": 1000},
            }})
        )
    );
    let (status, body) = world.call("GET", "/rooms/nope/status", "");
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("unknown_room"))
    );
}

#[test]
fn authentication_patterns_are_set_shown_and_cleared() {
    let world = World::new();
    world.call("POST", "/rooms", r#"{"id":"lobby"}"#);
    let none = json!({"room": "lobby", "key": null, "value": null});
    assert_eq!(
        world.call("GET", "/rooms/lobby/authentication", ""),
        (200, none.clone())
    );
    let websocket = json!({"room": "lobby", "key": "type", "value": "websocket"});
    assert_eq!(
        world.call(
            "PUT",
            "/rooms/lobby/authentication",
            r#"{"key": "type", "value": "websocket"}"#
        ),
        (200, websocket.clone())
    );
    assert_eq!(
        world.call("GET", "/rooms/lobby/authentication", ""),
        (200, websocket)
    );
    let flag = json!({"room": "lobby", "key": "authenticated", "value": true});
    assert_eq!(
        world.call(
            "PUT",
            "/rooms/lobby/authentication",
            r#"{"key": "authenticated", "value": true}"#
        ),
        (200, flag.clone())
    );
    assert_eq!(
        world.call("GET", "/rooms/lobby/authentication", ""),
        (200, flag)
    );
    assert_eq!(
        world.call("DELETE", "/rooms/lobby/authentication", ""),
        (204, Value::Null)
    );
    assert_eq!(
        world.call("GET", "/rooms/lobby/authentication", ""),
        (200, none)
    );

    for body in [
        "",
        r#"{"key": "type"}"#,
        r#"{"value": 1}"#,
        r#"{"key": "a b", "value": 1}"#,
        r#"{"key": "type", "value": 1, "extra": 2}"#,
    ] {
        let (status, reply) = world.call("PUT", "/rooms/lobby/authentication", body);
        assert_eq!(
            (status, reply["error"].as_str()),
            (400, Some("invalid")),
            "{body}"
        );
    }
    let body = r#"{"key": "type", "value": "tcp"}"#;
    assert_eq!(world.call("PUT", "/rooms/nope/authentication", body).0, 404);
    assert_eq!(world.call("GET", "/rooms/nope/authentication", "").0, 404);
}

#[test]
fn broadcasts_are_stored_messages_from_the_server() {
    let world = World::new();
    world.call("POST", "/rooms", r#"{"id":"lobby"}"#);
    let (status, body) = world.call(
        "POST",
        "/rooms/lobby/broadcast",
        r#"{"message": "closing at 5"}"#,
    );
    assert_eq!(status, 201);
    assert_eq!(
        body,
        json!({
            "id": "m1", "room": "lobby", "event_id": 1, "sender": ids::SERVER_USER,
            "channel": ADMIN_CHANNEL, "event_type": "channel.message",
            "content": {"type": "text", "body": "closing at 5"}, "sent_at": 1000,
        })
    );
    let stored = serde_json::to_value(world.core.stored("lobby")).unwrap();
    assert_eq!(stored, json!([body]), "the message as stored");
    assert_eq!(world.core.announced.borrow().len(), 1);
    for body in ["", r#"{"message": 5}"#, r#"{"text": "x"}"#] {
        let (status, reply) = world.call("POST", "/rooms/lobby/broadcast", body);
        assert_eq!(
            (status, reply["error"].as_str()),
            (400, Some("invalid")),
            "{body}"
        );
    }
    let (status, reply) = world.call("POST", "/rooms/nope/broadcast", r#"{"message": "x"}"#);
    assert_eq!(
        (status, reply["error"].as_str()),
        (404, Some("unknown_room"))
    );
    assert_eq!(world.core.announced.borrow().len(), 1);
}

#[test]
fn a_message_to_one_connection_is_sent_as_a_note() {
    let world = World::new();
    assert_eq!(
        world.call(
            "POST",
            "/connections/gw1-3/messages",
            r#"{"message": "hi"}"#
        ),
        (202, json!({"sent": true}))
    );
    assert_eq!(
        world.core.publisher.notes(),
        [(
            "wcc.sessions.connection.gw1-3".to_string(),
            Note::Message {
                content: json!({"message": "hi"}),
                sent_at: 1000
            }
        )]
    );
    for (target, body) in [
        ("/connections/gw1.3/messages", r#"{"message": "hi"}"#),
        ("/connections/gw1-3/messages", r#"{"msg": "hi"}"#),
    ] {
        let (status, reply) = world.call("POST", target, body);
        assert_eq!(
            (status, reply["error"].as_str()),
            (400, Some("invalid")),
            "{target} {body}"
        );
    }
    assert_eq!(world.core.publisher.notes().len(), 1);
}

#[test]
fn unknown_routes_and_methods() {
    let world = World::new();
    assert_eq!(world.call("GET", "/nope", "").0, 404);
    assert_eq!(world.call("PATCH", "/rooms", "").0, 405);
    assert_eq!(world.call("POST", "/rooms/x/members", "").0, 405);
    for (method, target) in [
        ("POST", "/rooms/x/exists"),
        ("PUT", "/rooms/x/status"),
        ("POST", "/rooms/x/authentication"),
        ("GET", "/rooms/x/broadcast"),
        ("GET", "/connections/c-1/messages"),
        ("PUT", "/rooms/x"),
        ("POST", "/rooms/x/messages"),
        ("GET", "/rooms/x/messages/1"),
        ("POST", "/users"),
        ("PUT", "/users/ada"),
        ("POST", "/users/ada/rooms"),
        ("DELETE", "/users/ada/sessions"),
        ("GET", "/users/ada/disconnect"),
        ("POST", "/users/ada/ban"),
    ] {
        assert_eq!(world.call(method, target, "").0, 405, "{method} {target}");
    }
    assert_eq!(world.call("GET", "/connections/c-1", "").0, 404);
    assert_eq!(world.call("GET", "/users/ada/friends", "").0, 404);
    assert_eq!(world.call("GET", "/rooms/x/messages/1/more", "").0, 404);
    assert_eq!(
        world.call("GET", "/rooms/", "").0,
        200,
        "a trailing slash names the same resource"
    );
}
