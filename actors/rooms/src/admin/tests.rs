//! Unit tests of the admin API: auth first, then every route.

use serde_json::{json, Value};
use wcc_interface::{Event, Failure};
use wcc_kv::MemoryStore;

use super::*;
use crate::fakes::RecordingPublisher;

const TOKEN: &str = "s3cret";

struct FakePresence(Vec<OnlineUser>);

impl Presence for FakePresence {
    fn online_users(&self) -> Result<Vec<OnlineUser>, Failure> {
        Ok(self.0.clone())
    }
}

struct World {
    store: MemoryStore,
    publisher: RecordingPublisher,
    presence: FakePresence,
}

impl World {
    fn new() -> Self {
        let online = OnlineUser { user: "ada".into(), channels: vec!["venueless".into()] };
        Self { store: MemoryStore::new(), publisher: RecordingPublisher::default(), presence: FakePresence(vec![online]) }
    }

    fn admin(&self, token: Option<&str>) -> Admin<'_, MemoryStore, RecordingPublisher, FakePresence> {
        Admin { store: &self.store, publisher: &self.publisher, presence: &self.presence, token: Ok(token.map(String::from)) }
    }

    /// Sends an authorized request; returns status and parsed body (`Null` when none).
    fn call(&self, method: &str, target: &str, body: &str) -> (u16, Value) {
        let headers = [("Authorization".to_string(), format!("Bearer {TOKEN}").into_bytes())];
        self.send(Some(TOKEN), method, target, &headers, body)
    }

    fn send(&self, token: Option<&str>, method: &str, target: &str, headers: &[(String, Vec<u8>)], body: &str) -> (u16, Value) {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let req = Request { method, path, query, headers, body: body.as_bytes() };
        let res = self.admin(token).handle(&req, 1000);
        let body = res.body.map(|b| serde_json::from_slice(&b).unwrap()).unwrap_or(Value::Null);
        (res.status, body)
    }

    fn add_user(&self, id: &str) {
        Users::new(&self.store, &self.publisher).login("venueless", id, 1, || id.to_string()).unwrap();
    }
}

fn bearer(value: &str) -> Vec<(String, Vec<u8>)> {
    vec![("authorization".to_string(), value.as_bytes().to_vec())]
}

#[test]
fn no_token_configured_refuses_everything_but_health() {
    let world = World::new();
    for token in [None, Some("")] {
        let (status, body) = world.send(token, "GET", "/rooms", &bearer("Bearer "), "");
        assert_eq!((status, body), (503, json!({"error": "admin API disabled: no admin_token configured"})));
        assert_eq!(world.send(token, "GET", "/health", &[], "").0, 200);
    }
}

#[test]
fn a_wrong_or_missing_token_is_unauthorized() {
    let world = World::new();
    for headers in [vec![], bearer("Bearer nope"), bearer(TOKEN), bearer("Bearer s3cret2"), bearer("Basic s3cret")] {
        let (status, body) = world.send(Some(TOKEN), "GET", "/rooms", &headers, "");
        assert_eq!((status, body["error"].as_str()), (401, Some("unauthorized")));
    }
    assert_eq!(world.send(Some(TOKEN), "GET", "/rooms", &bearer("Bearer s3cret"), "").0, 200);
    assert_eq!(world.send(Some(TOKEN), "GET", "/health", &[], "").0, 200);
}

#[test]
fn unreadable_config_is_unavailable() {
    let world = World::new();
    let admin = Admin { token: Err(Failure::unavailable("config down")), ..world.admin(None) };
    let req = Request { method: "GET", path: "/rooms", query: "", headers: &bearer("Bearer x"), body: b"" };
    assert_eq!(admin.handle(&req, 1).status, 503);
}

#[test]
fn rooms_are_created_listed_got_and_deleted() {
    let world = World::new();
    let (status, body) = world.call("POST", "/rooms", r#"{"id":"lobby"}"#);
    let lobby = json!({"id": "lobby", "name": "lobby", "kind": "text", "created_at": 1000});
    assert_eq!((status, body), (201, json!({"created": true, "room": lobby})));
    let (status, body) = world.call("POST", "/rooms", r#"{"id":"lobby","name":"Other","kind":"voice"}"#);
    assert_eq!((status, body), (200, json!({"created": false, "room": lobby})));
    let (status, body) = world.call("POST", "/rooms", r#"{"id":"talk","name":"Talk","kind":"voice"}"#);
    assert_eq!((status, body["room"]["kind"].as_str()), (201, Some("voice")));

    let (status, body) = world.call("GET", "/rooms", "");
    assert_eq!((status, body.as_array().map(Vec::len)), (200, Some(2)));
    assert_eq!(world.call("GET", "/rooms/lobby", ""), (200, lobby));
    assert_eq!(world.call("DELETE", "/rooms/lobby", ""), (204, Value::Null));
    let (status, body) = world.call("GET", "/rooms/lobby", "");
    assert_eq!((status, body["error"].as_str()), (404, Some("unknown_room")));
    assert_eq!(world.call("DELETE", "/rooms/lobby", "").0, 404);
}

#[test]
fn bad_room_bodies_are_rejected() {
    let world = World::new();
    for body in ["", "[]", r#"{"name":"x"}"#, r#"{"id":"a b"}"#, r#"{"id":"a","kind":"forum"}"#, r#"{"id":"a","extra":1}"#] {
        let (status, reply) = world.call("POST", "/rooms", body);
        assert_eq!((status, reply["error"].as_str()), (400, Some("invalid")), "{body}");
    }
}

#[test]
fn members_are_added_listed_and_removed() {
    let world = World::new();
    world.add_user("ada");
    world.call("POST", "/rooms", r#"{"id":"lobby"}"#);
    assert_eq!(world.call("PUT", "/rooms/lobby/members/ada", ""), (200, json!({"joined": true})));
    assert_eq!(world.call("PUT", "/rooms/lobby/members/ada", ""), (200, json!({"joined": false})));
    assert_eq!(world.call("GET", "/rooms/lobby/members", ""), (200, json!([{"user": "ada", "joined_at": 1000}])));
    let (_, mine) = world.call("GET", "/rooms?member=ada", "");
    let ids: Vec<&str> = mine.as_array().unwrap().iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids, ["ada", "lobby"]);
    assert_eq!(world.call("GET", "/rooms?member=a%2Fb", "").0, 400);

    assert_eq!(world.call("DELETE", "/rooms/lobby/members/ada", ""), (200, json!({"left": true})));
    assert_eq!(world.call("DELETE", "/rooms/lobby/members/ada", ""), (200, json!({"left": false})));
    let events: Vec<Event> = world.publisher.envelopes().into_iter().map(|(_, e)| e.event).skip(1).collect();
    assert_eq!(
        events,
        [
            Event::UserJoined { room: "lobby".into(), user: "ada".into(), channel: ADMIN_CHANNEL.into() },
            Event::UserLeft { room: "lobby".into(), user: "ada".into(), channel: ADMIN_CHANNEL.into() },
        ]
    );
    assert_eq!(world.call("PUT", "/rooms/lobby/members/ghost", "").0, 404);
    assert_eq!(world.call("GET", "/rooms/nope/members", "").0, 404);
}

#[test]
fn users_and_online_users_are_shown() {
    let world = World::new();
    world.add_user("ada");
    assert_eq!(world.call("GET", "/users/ada", ""), (200, json!({"id": "ada", "profile": null, "created_at": 1})));
    let (status, body) = world.call("GET", "/users/ghost", "");
    assert_eq!((status, body["error"].as_str()), (404, Some("unknown_user")));
    assert_eq!(world.call("GET", "/online", ""), (200, json!([{"user": "ada", "channels": ["venueless"]}])));
}

#[test]
fn unknown_routes_and_methods() {
    let world = World::new();
    assert_eq!(world.call("GET", "/nope", "").0, 404);
    assert_eq!(world.call("PATCH", "/rooms", "").0, 405);
    assert_eq!(world.call("POST", "/rooms/x/members", "").0, 405);
    assert_eq!(world.call("GET", "/rooms/", "").0, 200, "a trailing slash names the same resource");
}
