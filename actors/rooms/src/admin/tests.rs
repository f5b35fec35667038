//! Unit tests of the admin API: the fixture and auth here, every route in [`routes`].

use serde_json::{json, Value};
use wcc_interface::Failure;
use wcc_kv::MemoryStore;

use super::*;
use crate::fakes::{RecordingAnnouncer, RecordingPublisher};

const TOKEN: &str = "s3cret";

struct FakePresence(Vec<OnlineUser>);

impl Presence for FakePresence {
    fn online_users(&self) -> Result<Vec<OnlineUser>, Failure> {
        Ok(self.0.clone())
    }
}

type TestAdmin<'a> = Admin<'a, MemoryStore, RecordingPublisher, FakePresence, RecordingAnnouncer>;

struct World {
    store: MemoryStore,
    publisher: RecordingPublisher,
    presence: FakePresence,
    announcer: RecordingAnnouncer,
}

impl World {
    fn new() -> Self {
        let online = OnlineUser {
            user: "ada".into(),
            channels: vec!["venueless".into()],
        };
        Self {
            store: MemoryStore::new(),
            publisher: RecordingPublisher::default(),
            presence: FakePresence(vec![online]),
            announcer: RecordingAnnouncer::default(),
        }
    }

    fn admin(&self, token: Option<&str>) -> TestAdmin<'_> {
        Admin {
            store: &self.store,
            publisher: &self.publisher,
            presence: &self.presence,
            announcer: &self.announcer,
            token: Ok(token.map(String::from)),
        }
    }

    /// Sends an authorized request; returns status and parsed body (`Null` when none).
    fn call(&self, method: &str, target: &str, body: &str) -> (u16, Value) {
        self.send(
            Some(TOKEN),
            method,
            target,
            &bearer(&format!("Bearer {TOKEN}")),
            body,
        )
    }

    fn send(
        &self,
        token: Option<&str>,
        method: &str,
        target: &str,
        headers: &[(String, Vec<u8>)],
        body: &str,
    ) -> (u16, Value) {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let req = Request {
            method,
            path,
            query,
            headers,
            body: body.as_bytes(),
        };
        let res = self.admin(token).handle(&req, 1000);
        let body = res
            .body
            .map(|b| serde_json::from_slice(&b).unwrap())
            .unwrap_or(Value::Null);
        (res.status, body)
    }

    fn add_user(&self, id: &str) {
        Users::new(&self.store, &self.publisher)
            .login("venueless", id, 1, || id.to_string())
            .unwrap();
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
        assert_eq!(
            (status, body),
            (
                503,
                json!({"error": "admin API disabled: no admin_token configured"})
            )
        );
        assert_eq!(world.send(token, "GET", "/health", &[], "").0, 200);
    }
}

#[test]
fn a_wrong_or_missing_token_is_unauthorized() {
    let world = World::new();
    for headers in [
        vec![],
        bearer("Bearer nope"),
        bearer(TOKEN),
        bearer("Bearer s3cret2"),
        bearer("Basic s3cret"),
    ] {
        let (status, body) = world.send(Some(TOKEN), "GET", "/rooms", &headers, "");
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("unauthorized"))
        );
    }
    assert_eq!(
        world
            .send(Some(TOKEN), "GET", "/rooms", &bearer("Bearer s3cret"), "")
            .0,
        200
    );
    assert_eq!(world.send(Some(TOKEN), "GET", "/health", &[], "").0, 200);
}

#[test]
fn unreadable_config_is_unavailable() {
    let world = World::new();
    let admin = Admin {
        token: Err(Failure::unavailable("config down")),
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

mod routes;
