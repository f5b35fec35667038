//! Unit tests of the admin API: the fixture and auth here, the routes in [`routes`] (rooms,
//! members, join rules, broadcasts), [`messages`] (history and removals), [`people`] (users,
//! sessions, disconnects, bans) and [`console`] (the console's files).

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use wcc_interface::Failure;
use wcc_kv::MemoryStore;

use super::*;
use crate::fakes::{Core, RecordingPublisher, MESSAGES_NOW_MS};

const TOKEN: &str = "s3cret";

/// Lowercase hex SHA-256, as the launcher writes `admin_token_sha256`.
fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Presence as the presence actor answers: `ada` online on venueless with one connection.
struct FakePresence {
    online: Vec<OnlineUser>,
    sessions: Vec<(String, UserSession)>,
}

impl Presence for FakePresence {
    fn online_users(&self) -> Result<Vec<OnlineUser>, Failure> {
        Ok(self.online.clone())
    }

    fn user_sessions(&self, user: &str) -> Result<Vec<UserSession>, Failure> {
        Ok(self
            .sessions
            .iter()
            .filter(|(of, _)| of == user)
            .map(|(_, session)| session.clone())
            .collect())
    }
}

/// The console's files as the test serves them.
fn test_console_files(path: &str) -> Option<(&'static str, &'static [u8])> {
    match path {
        "/console/" => Some(("text/html; charset=utf-8", b"<!doctype html>console")),
        "/console/console.js" => Some(("text/javascript; charset=utf-8", b"// js")),
        _ => None,
    }
}

const FEED: &str = "ws://127.0.0.1:8080/console";

type TestAdmin<'a> = Admin<'a, MemoryStore, RecordingPublisher, FakePresence, Core>;

/// A response as a client reads it: status, headers by lowercase name, body as JSON (`Null`
/// when none or not JSON) and as bytes.
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    json: Value,
    bytes: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The rooms core's store and publisher, with the real messages core over them, and presence.
struct World {
    core: Core,
    presence: FakePresence,
}

impl World {
    fn new() -> Self {
        let online = OnlineUser {
            user: "ada".into(),
            channels: vec!["venueless".into(), "cadmium".into()],
        };
        let session = |connection: &str, channel: &str| {
            let session = UserSession {
                connection: connection.into(),
                channel: channel.into(),
            };
            ("ada".to_string(), session)
        };
        Self {
            core: Core::default(),
            presence: FakePresence {
                online: vec![online],
                sessions: vec![
                    session("gw-a1b2-7", "venueless"),
                    session("gwc3-12", "cadmium"),
                ],
            },
        }
    }

    /// The API with `hash` as its configured `admin_token_sha256`.
    fn admin(&self, hash: Option<&str>) -> TestAdmin<'_> {
        Admin {
            store: &self.core.store,
            publisher: &self.core.publisher,
            presence: &self.presence,
            messages: &self.core,
            token_sha256: Ok(hash.map(String::from)),
            console_feed_url: Ok(Some(FEED.into())),
            console_files: test_console_files,
        }
    }

    /// Sends an authorized request; returns status and parsed body (`Null` when none).
    fn call(&self, method: &str, target: &str, body: &str) -> (u16, Value) {
        self.send(
            Some(&sha256_hex(TOKEN)),
            method,
            target,
            &bearer(&format!("Bearer {TOKEN}")),
            body,
        )
    }

    /// Sends a request to the API configured with `hash`.
    fn send(
        &self,
        hash: Option<&str>,
        method: &str,
        target: &str,
        headers: &[(String, Vec<u8>)],
        body: &str,
    ) -> (u16, Value) {
        let reply = self.reply(&self.admin(hash), method, target, headers, body);
        (reply.status, reply.json)
    }

    /// Sends a request to `admin`; the whole reply.
    fn reply(
        &self,
        admin: &TestAdmin<'_>,
        method: &str,
        target: &str,
        headers: &[(String, Vec<u8>)],
        body: &str,
    ) -> Reply {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let req = Request {
            method,
            path,
            query,
            headers,
            body: body.as_bytes(),
        };
        let res = admin.handle(&req, MESSAGES_NOW_MS);
        let headers = res.all_headers();
        let bytes = res.body.unwrap_or_default();
        let json = match res.content_type {
            JSON if !bytes.is_empty() => serde_json::from_slice(&bytes).expect("a JSON body"),
            _ => Value::Null,
        };
        Reply {
            status: res.status,
            headers,
            json,
            bytes,
        }
    }

    /// Sends a request without a token to the API configured with the test token.
    fn anonymous(&self, method: &str, target: &str) -> Reply {
        let hash = sha256_hex(TOKEN);
        self.reply(&self.admin(Some(&hash)), method, target, &[], "")
    }

    fn add_user(&self, id: &str) {
        Users::new(&self.core.store, &self.core.publisher)
            .login("venueless", id, 1, || id.to_string())
            .unwrap();
    }
}

fn bearer(value: &str) -> Vec<(String, Vec<u8>)> {
    vec![("authorization".to_string(), value.as_bytes().to_vec())]
}

#[test]
fn no_hash_configured_refuses_everything_but_health() {
    let world = World::new();
    for hash in [None, Some(""), Some("  ")] {
        let (status, body) = world.send(hash, "GET", "/rooms", &bearer("Bearer "), "");
        assert_eq!(
            (status, body),
            (
                503,
                json!({"error": "operator access disabled: no admin_token_sha256 configured"})
            )
        );
        assert_eq!(world.send(hash, "GET", "/health", &[], "").0, 200);
    }
}

#[test]
fn a_hash_that_is_not_sha256_hex_disables_the_api() {
    let world = World::new();
    let hash = sha256_hex(TOKEN);
    let auth = bearer(&format!("Bearer {TOKEN}"));
    // The plain token (what an old manifest held), a short hash, a non-hex digit.
    let plus = format!("+{}", &hash[1..]);
    for configured in [TOKEN, &hash[..62], &format!("{}zz", &hash[..62]), &plus] {
        let (status, body) = world.send(Some(configured), "GET", "/rooms", &auth, "");
        assert_eq!(status, 503, "{configured}");
        assert_eq!(
            body["error"],
            "operator access disabled: admin_token_sha256 is not 64 hex digits"
        );
    }
}

#[test]
fn the_right_token_passes() {
    let world = World::new();
    let auth = bearer(&format!("Bearer {TOKEN}"));
    // Upper-case hex and surrounding blanks are the same hash.
    for hash in [
        sha256_hex(TOKEN),
        sha256_hex(TOKEN).to_uppercase(),
        format!(" {}\n", sha256_hex(TOKEN)),
    ] {
        assert_eq!(world.send(Some(&hash), "GET", "/rooms", &auth, "").0, 200);
    }
    // The header name is case-insensitive.
    let headers = vec![(
        "Authorization".to_string(),
        format!("Bearer {TOKEN}").into_bytes(),
    )];
    let hash = sha256_hex(TOKEN);
    assert_eq!(
        world.send(Some(&hash), "GET", "/rooms", &headers, "").0,
        200
    );
    assert_eq!(world.send(Some(&hash), "GET", "/health", &[], "").0, 200);
}

#[test]
fn a_wrong_or_missing_token_is_unauthorized() {
    let world = World::new();
    let hash = sha256_hex(TOKEN);
    for headers in [
        vec![],
        bearer("Bearer nope"),
        bearer(TOKEN),
        bearer("Bearer s3cret2"),
        bearer("Basic s3cret"),
        bearer("bearer s3cret"),
        bearer("Bearer  s3cret"),
        // The configured hash is not a way in.
        bearer(&format!("Bearer {hash}")),
        vec![(
            "x-token".to_string(),
            format!("Bearer {TOKEN}").into_bytes(),
        )],
    ] {
        let (status, body) = world.send(Some(&hash), "GET", "/rooms", &headers, "");
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("unauthorized")),
            "{headers:?}"
        );
    }
}

#[test]
fn an_empty_token_never_passes() {
    let world = World::new();
    // Even where the configured hash is the hash of nothing.
    let hash = sha256_hex("");
    for headers in [bearer("Bearer "), vec![]] {
        assert_eq!(
            world.send(Some(&hash), "GET", "/rooms", &headers, "").0,
            401
        );
    }
}

#[test]
fn unreadable_config_is_unavailable() {
    let world = World::new();
    let admin = Admin {
        token_sha256: Err(Failure::unavailable("config down")),
        ..world.admin(None)
    };
    let req = Request {
        method: "GET",
        path: "/rooms",
        query: "",
        headers: &bearer("Bearer x"),
        body: b"",
    };
    assert_eq!(admin.handle(&req, 1).status, 503);
}

#[test]
fn every_route_but_health_and_the_console_needs_the_token() {
    let world = World::new();
    world.add_user("ada");
    world.call("POST", "/rooms", r#"{"id":"lobby"}"#);
    world.call("POST", "/rooms/lobby/broadcast", r#"{"message":"hi"}"#);
    let published = world.core.publisher.sent.borrow().len();
    for (method, target) in [
        ("GET", "/rooms"),
        ("PATCH", "/rooms/lobby"),
        ("GET", "/rooms/lobby/messages"),
        ("DELETE", "/rooms/lobby/messages/1"),
        ("GET", "/users"),
        ("GET", "/users/ada"),
        ("GET", "/users/ada/rooms"),
        ("GET", "/users/ada/sessions"),
        ("POST", "/users/ada/disconnect"),
        ("GET", "/users/ada/ban"),
        ("PUT", "/users/ada/ban"),
        ("DELETE", "/users/ada/ban"),
        ("DELETE", "/users/ada"),
        ("GET", "/online"),
        ("GET", "/nope"),
    ] {
        let reply = world.anonymous(method, target);
        assert_eq!(
            (reply.status, reply.json["error"].as_str()),
            (401, Some("unauthorized")),
            "{method} {target}"
        );
    }
    // Nothing happened on the way.
    assert_eq!(world.core.publisher.sent.borrow().len(), published);
    assert!(world.core.readers.borrow().is_empty());
    assert_eq!(world.call("GET", "/users/ada", "").0, 200);
    assert_eq!(world.call("GET", "/users/ada/ban", "").1["banned"], false);
    assert_eq!(world.core.stored("lobby")[0].event_type, "channel.message");
}

mod console;
mod messages;
mod people;
mod routes;
