//! A room's stored messages: renaming, history pages and removals, all as the operator.

use serde_json::{json, Value};
use wcc_interface::{Event, Principal, StoredMessage};

use super::World;

/// Room `lobby` with broadcasts "m1" … "m{count}" (event ids 1 … count).
fn lobby_with(count: usize) -> World {
    let world = World::new();
    world.call("POST", "/rooms", r#"{"id":"lobby","name":"Lobby"}"#);
    for n in 1..=count {
        let body = json!({ "message": format!("m{n}") }).to_string();
        assert_eq!(world.call("POST", "/rooms/lobby/broadcast", &body).0, 201);
    }
    world
}

/// The `body` texts of a page, in order.
fn bodies(page: &Value) -> Vec<String> {
    page.as_array()
        .expect("a list")
        .iter()
        .map(|m| m["content"]["body"].as_str().unwrap_or("").to_owned())
        .collect()
}

fn texts(range: std::ops::RangeInclusive<usize>) -> Vec<String> {
    range.map(|n| format!("m{n}")).collect()
}

#[test]
fn a_room_is_renamed_by_the_operator() {
    let world = lobby_with(0);
    let (status, room) = world.call("PATCH", "/rooms/lobby", r#"{"name": "Main hall"}"#);
    assert_eq!(status, 200);
    assert_eq!(
        (
            room["id"].as_str(),
            room["name"].as_str(),
            room["kind"].as_str()
        ),
        (Some("lobby"), Some("Main hall"), Some("text"))
    );
    assert_eq!(world.call("GET", "/rooms/lobby", "").1["name"], "Main hall");
    assert_eq!(
        world
            .core
            .publisher
            .directory_parts()
            .last()
            .map(String::as_str),
        Some("rooms"),
        "room lists are told"
    );

    for body in [
        "",
        "{}",
        r#"{"name": 5}"#,
        r#"{"name": "x", "kind": "voice"}"#,
        r#"{"name": ""}"#,
    ] {
        let (status, reply) = world.call("PATCH", "/rooms/lobby", body);
        assert_eq!(
            (status, reply["error"].as_str()),
            (400, Some("invalid")),
            "{body}"
        );
    }
    let (status, reply) = world.call("PATCH", "/rooms/nope", r#"{"name": "x"}"#);
    assert_eq!(
        (status, reply["error"].as_str()),
        (404, Some("unknown_room"))
    );
    assert_eq!(world.call("PATCH", "/rooms/a.b", r#"{"name": "x"}"#).0, 400);
    assert_eq!(world.call("GET", "/rooms/lobby", "").1["name"], "Main hall");
}

#[test]
fn history_is_the_newest_page_oldest_first() {
    let world = lobby_with(60);
    let (status, page) = world.call("GET", "/rooms/lobby/messages", "");
    assert_eq!(status, 200);
    assert_eq!(bodies(&page), texts(11..=60), "50 by default");
    let first: StoredMessage = serde_json::from_value(page[0].clone()).unwrap();
    assert_eq!((first.event_id, first.room.as_str()), (11, "lobby"));

    let (_, page) = world.call("GET", "/rooms/lobby/messages?limit=3", "");
    assert_eq!(bodies(&page), texts(58..=60));
    let (_, page) = world.call("GET", "/rooms/lobby/messages?before=11&limit=4", "");
    assert_eq!(bodies(&page), texts(7..=10));
    let (_, page) = world.call("GET", "/rooms/lobby/messages?limit=5&before=3", "");
    assert_eq!(bodies(&page), texts(1..=2));
    let (_, page) = world.call("GET", "/rooms/lobby/messages?before=1", "");
    assert_eq!(page, json!([]));

    let readers = world.core.readers.borrow();
    assert!(readers
        .iter()
        .all(|(who, room)| *who == Principal::Operator && room == "lobby"));
}

#[test]
fn a_page_is_at_most_200_messages() {
    let world = lobby_with(205);
    let (status, page) = world.call("GET", "/rooms/lobby/messages?limit=5000", "");
    assert_eq!(status, 200);
    assert_eq!(bodies(&page), texts(6..=205));
}

#[test]
fn bad_history_requests_are_refused() {
    let world = lobby_with(1);
    for query in [
        "limit=0",
        "limit=-1",
        "limit=ten",
        "limit=",
        "before=0",
        "before=x",
        "limit=2&before=1.5",
        "limit=99999999999999999999",
    ] {
        let (status, reply) = world.call("GET", &format!("/rooms/lobby/messages?{query}"), "");
        assert_eq!(
            (status, reply["error"].as_str()),
            (400, Some("invalid")),
            "{query}"
        );
    }
    let (status, reply) = world.call("GET", "/rooms/nope/messages", "");
    assert_eq!(
        (status, reply["error"].as_str()),
        (404, Some("unknown_room"))
    );
    assert_eq!(world.call("GET", "/rooms/a%2Fb/messages", "").0, 400);
    assert!(
        world.core.readers.borrow().is_empty(),
        "the actor was never asked"
    );
}

#[test]
fn a_removed_message_is_masked_for_everyone() {
    let world = lobby_with(3);
    let (status, removed) = world.call("DELETE", "/rooms/lobby/messages/2", "");
    assert_eq!(status, 200);
    assert_eq!(
        (
            removed["event_id"].as_u64(),
            removed["event_type"].as_str(),
            removed["content"].clone(),
            removed["sender"].as_str()
        ),
        (Some(2), Some("message.removed"), json!({}), Some(""))
    );
    // Every protocol hears of it.
    let (subject, last) = world.core.publisher.envelopes().pop().expect("a publish");
    assert_eq!(subject, "wcc.events.rooms.lobby");
    match last.event {
        Event::MessageUpdated { message } => {
            assert_eq!(serde_json::to_value(message).unwrap(), removed)
        }
        other => panic!("published {other:?}"),
    }
    let (_, page) = world.call("GET", "/rooms/lobby/messages", "");
    let types: Vec<&str> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["channel.message", "message.removed", "channel.message"]
    );
    assert_eq!(
        world.core.readers.borrow()[0],
        (Principal::Operator, "lobby".to_string())
    );
}

#[test]
fn bad_removals_are_refused() {
    let world = lobby_with(1);
    for target in [
        "/rooms/lobby/messages/0",
        "/rooms/lobby/messages/x",
        "/rooms/lobby/messages/-1",
        "/rooms/lobby/messages/1.0",
        "/rooms/a.b/messages/1",
    ] {
        let (status, reply) = world.call("DELETE", target, "");
        assert_eq!(
            (status, reply["error"].as_str()),
            (400, Some("invalid")),
            "{target}"
        );
    }
    let (status, reply) = world.call("DELETE", "/rooms/nope/messages/1", "");
    assert_eq!(
        (status, reply["error"].as_str()),
        (404, Some("unknown_room"))
    );
    assert!(world.core.readers.borrow().is_empty());
    // A message the room does not have is the messages actor's to refuse.
    assert_eq!(world.call("DELETE", "/rooms/lobby/messages/9", "").0, 400);
    assert_eq!(world.core.stored("lobby")[0].event_type, "channel.message");
}
