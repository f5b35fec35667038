//! The console's files: served without a token, with their type and safety headers.

use serde_json::json;

use super::{sha256_hex, World, FEED, TOKEN};
use crate::admin::console::CONSOLE_CSP;
use crate::admin::Admin;
use wcc_interface::Failure;

#[test]
fn the_root_and_console_lead_to_the_console_page() {
    let world = World::new();
    for path in ["/", "/console"] {
        let reply = world.anonymous("GET", path);
        assert_eq!(reply.status, 302, "{path}");
        assert_eq!(reply.header("location"), Some("/console/"), "{path}");
        assert!(reply.bytes.is_empty());
    }
}

#[test]
fn console_files_are_served_without_a_token_and_never_cached_stale() {
    let world = World::new();
    let page = world.anonymous("GET", "/console/");
    assert_eq!(page.status, 200);
    assert_eq!(page.bytes, b"<!doctype html>console");
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    assert_eq!(page.header("content-security-policy"), Some(CONSOLE_CSP));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(
        CONSOLE_CSP,
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'"
    );

    // A query string (a cache buster) names the same file.
    let script = world.anonymous("GET", "/console/console.js?v=2");
    assert_eq!(script.status, 200);
    assert_eq!(
        script.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );

    let missing = world.anonymous("GET", "/console/secrets.txt");
    assert_eq!(
        (missing.status, missing.json["error"].as_str()),
        (404, Some("not_found"))
    );
    let sideways = world.anonymous("GET", "/console/../rooms");
    assert_eq!(sideways.status, 404);
}

#[test]
fn the_console_config_names_the_live_feed() {
    let world = World::new();
    let reply = world.anonymous("GET", "/console/config.json");
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!((reply.status, reply.json), (200, json!({"feed": FEED})));

    let hash = sha256_hex(TOKEN);
    for unset in [None, Some("  ")] {
        let admin = Admin {
            console_feed_url: Ok(unset.map(String::from)),
            ..world.admin(Some(&hash))
        };
        let reply = world.reply(&admin, "GET", "/console/config.json", &[], "");
        assert_eq!(
            (reply.status, reply.json["error"].as_str()),
            (503, Some("unavailable"))
        );
        assert!(reply.json["message"]
            .as_str()
            .unwrap()
            .contains("console_feed_url"));
    }
    let admin = Admin {
        console_feed_url: Err(Failure::unavailable("config down")),
        ..world.admin(Some(&hash))
    };
    assert_eq!(
        world
            .reply(&admin, "GET", "/console/config.json", &[], "")
            .status,
        503
    );
}

#[test]
fn the_console_is_served_even_while_the_api_is_off() {
    let world = World::new();
    let admin = world.admin(None);
    assert_eq!(world.reply(&admin, "GET", "/console/", &[], "").status, 200);
    assert_eq!(world.reply(&admin, "GET", "/rooms", &[], "").status, 503);
}

#[test]
fn console_paths_take_only_get() {
    let world = World::new();
    for (method, path) in [
        ("POST", "/console/"),
        ("PUT", "/console/config.json"),
        ("DELETE", "/"),
    ] {
        let reply = world.anonymous(method, path);
        assert_eq!(
            (reply.status, reply.json["error"].as_str()),
            (405, Some("method_not_allowed")),
            "{method} {path}"
        );
    }
}

#[test]
fn every_answer_says_nosniff() {
    let world = World::new();
    for (method, path) in [
        ("GET", "/health"),
        ("GET", "/rooms"),
        ("DELETE", "/rooms/nope"),
        ("GET", "/"),
        ("GET", "/console/config.json"),
        ("GET", "/console/nope"),
    ] {
        let reply = world.anonymous(method, path);
        assert_eq!(
            reply.header("x-content-type-options"),
            Some("nosniff"),
            "{method} {path}"
        );
    }
}
