//! Unit tests of the admin API: the fixture and auth here, every route in [`routes`].

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use wcc_interface::Failure;
use wcc_kv::MemoryStore;

use super::*;
use crate::fakes::{RecordingAnnouncer, RecordingPublisher};

const TOKEN: &str = "s3cret";

/// Lowercase hex SHA-256, as the launcher writes `admin_token_sha256`.
fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

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

    /// The API with `hash` as its configured `admin_token_sha256`.
    fn admin(&self, hash: Option<&str>) -> TestAdmin<'_> {
        Admin {
            store: &self.store,
            publisher: &self.publisher,
            presence: &self.presence,
            announcer: &self.announcer,
            token_sha256: Ok(hash.map(String::from)),
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
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let req = Request {
            method,
            path,
            query,
            headers,
            body: body.as_bytes(),
        };
        let res = self.admin(hash).handle(&req, 1000);
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
fn no_hash_configured_refuses_everything_but_health() {
    let world = World::new();
    for hash in [None, Some(""), Some("  ")] {
        let (status, body) = world.send(hash, "GET", "/rooms", &bearer("Bearer "), "");
        assert_eq!(
            (status, body),
            (
                503,
                json!({"error": "admin API disabled: no admin_token_sha256 configured"})
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
            "admin API disabled: admin_token_sha256 is not 64 hex digits"
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

mod routes;
