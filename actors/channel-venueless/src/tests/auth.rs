//! authenticate, ping and user.*.

use wcc_interface::FailureCode;

use super::*;
use crate::codes;
use crate::handler::opened;

#[test]
fn opened_does_not_greet() {
    let outcome = opened(fresh());
    assert!(outcome.actions.is_empty());
    assert_eq!(outcome.session, fresh());
}

#[test]
fn ping_pongs_before_auth() {
    let backend = CoreBackend::new();
    let (_, actions) = send(&backend, &fresh(), json!(["ping", 1700000000]));
    assert_eq!(only(&actions), json!(["pong", 1700000000]));
}

#[test]
fn authenticate_logs_in_and_lists_channels() {
    let backend = CoreBackend::new();
    backend.add_room("room_0", "text");
    with_profile(&backend, "alice", r#"{"display_name":"Alice"}"#);
    backend.add_member("room_0", "alice");
    let (session, actions) = send(
        &backend,
        &fresh(),
        json!(["authenticate", {"client_id": "alice"}]),
    );
    assert_eq!(session.user.as_deref(), Some("alice"));
    // Direct messages reach every session of the user without a subscribe: the core granted
    // this connection alice's direct room. It hears her rooms too, for the unread marker.
    assert_eq!(
        subscribed(&backend, &session, &actions),
        ["alice", "room_0"]
    );
    let frame = only(&actions);
    assert_eq!(frame[0], "authenticated");
    let alice = json!({"id": "alice", "profile": {"display_name": "Alice"}});
    assert_eq!(frame[1]["user.config"], alice);
    assert_eq!(frame[1]["user"], alice, "what wcc's own clients read");
    // The direct room is an inbox, not a channel the webapp could show.
    assert_eq!(
        frame[1]["chat.channels"],
        json!([{"id": "room_0", "unread_pointer": 0}])
    );
    assert_eq!(frame[1]["chat.read_pointers"], json!({}));
    assert_eq!(frame[1]["chat.notification_counts"], json!({}));
    let data = data(&session);
    assert!(data.profile);
    assert_eq!(data.joined, vec!["alice", "room_0"]);
    assert_eq!(data.subscribed, vec!["alice", "room_0"]);
}

#[test]
fn a_connection_hears_at_most_so_many_joined_rooms_from_sign_in() {
    let backend = CoreBackend::new();
    with_profile(&backend, "alice", r#"{"display_name":"Alice"}"#);
    let rooms = crate::auth::MAX_FOLLOWED_ROOMS + 5;
    for n in 0..rooms {
        let room = format!("room_{n:03}");
        backend.add_room(&room, "text");
        backend.add_member(&room, "alice");
    }
    let (session, actions) = send(
        &backend,
        &fresh(),
        json!(["authenticate", {"client_id": "alice"}]),
    );
    let heard = subscribed(&backend, &session, &actions);
    assert_eq!(heard.len(), 1 + crate::auth::MAX_FOLLOWED_ROOMS);
    // Its own room's grant and the joined rooms' came from one call to the core.
    assert_eq!(backend.calls("grant_subscriptions"), 1);
    assert_eq!(backend.calls("grant_subscription"), 0);
    assert!(heard.iter().all(|room| !room.starts_with('<')), "{heard:?}");
    // Every joined room is still listed, and may be sent to.
    let frame = frames(&actions).remove(0);
    assert_eq!(frame[1]["chat.channels"].as_array().unwrap().len(), rooms);
    assert_eq!(data(&session).joined.len(), 1 + rooms);
}

#[test]
fn new_user_gets_its_direct_room() {
    let backend = CoreBackend::new();
    let (session, actions) = send(
        &backend,
        &fresh(),
        json!(["authenticate", {"client_id": "bob"}]),
    );
    assert_eq!(subscribed(&backend, &session, &actions), ["bob"]);
    let frame = only(&actions);
    assert_eq!(frame[1]["user.config"], json!({"id": "bob", "profile": {}}));
    assert_eq!(frame[1]["chat.channels"], json!([]));
    assert_eq!(data(&session).joined, ["bob"]);
    assert!(!data(&session).profile);
}

#[test]
fn authenticate_with_id_also_answers_success() {
    let backend = CoreBackend::new();
    let (_, actions) = send(
        &backend,
        &fresh(),
        json!(["authenticate", 5, {"client_id": "bob"}]),
    );
    let sent = frames(&actions);
    assert_eq!(sent[0][0], "authenticated");
    assert_eq!(sent[1], json!(["success", 5, {}]));
}

#[test]
fn authenticate_errors() {
    let backend = CoreBackend::new();
    let (session, actions) = send(&backend, &fresh(), json!(["authenticate", {}]));
    assert_eq!(
        only(&actions),
        json!(["error", {"code": "auth.missing_id_or_token", "message": "client_id is required"}])
    );
    assert_eq!(session.user, None);
    let (_, actions) = send(
        &backend,
        &fresh(),
        json!(["authenticate", 3, {"client_id": ""}]),
    );
    assert_eq!(only(&actions)[1], 3);
    assert_eq!(error_code(&actions), codes::AUTH_MISSING_ID_OR_TOKEN);
    let (_, actions) = send(
        &backend,
        &fresh(),
        json!(["authenticate", {"token": "eyJ..."}]),
    );
    assert_eq!(error_code(&actions), codes::AUTH_INVALID_TOKEN);
    backend.fail("login", FailureCode::Invalid);
    let (_, actions) = send(
        &backend,
        &fresh(),
        json!(["authenticate", {"client_id": "x"}]),
    );
    assert_eq!(error_code(&actions), codes::AUTH_DENIED);
    backend.fail("login", FailureCode::Unavailable);
    let (session, actions) = send(
        &backend,
        &fresh(),
        json!(["authenticate", {"client_id": "x"}]),
    );
    assert_eq!(error_code(&actions), codes::SERVER_UNAVAILABLE);
    assert_eq!(session.user, None);
}

#[test]
fn second_authenticate_is_refused_and_changes_nothing() {
    let (backend, session) = setup(true);
    let (after, actions) = send(
        &backend,
        &session,
        json!(["authenticate", 2, {"client_id": "mallory"}]),
    );
    assert_eq!(error_code(&actions), codes::AUTH_ALREADY_AUTHENTICATED);
    assert_unchanged(&after, &session, "a refused authenticate");
}

#[test]
fn everything_else_needs_auth() {
    let backend = CoreBackend::new();
    backend.add_room("room_0", "text");
    for frame in [
        json!(["chat.join", 1, {"channel": "room_0"}]),
        json!(["chat.leave", 1, {"channel": "room_0"}]),
        json!(["chat.subscribe", 1, {"channel": "room_0"}]),
        json!(["chat.unsubscribe", 1, {"channel": "room_0"}]),
        json!(["chat.fetch", 1, {"channel": "room_0"}]),
        hello("room_0"),
        json!(["user.update", 1, {"profile": {}}]),
        json!(["user.fetch", 1, {"id": "x"}]),
    ] {
        let (session, actions) = send(&backend, &fresh(), frame.clone());
        assert_eq!(
            error_code(&actions),
            codes::PROTOCOL_UNAUTHENTICATED,
            "{frame}"
        );
        assert!(only(&actions)[1].is_number(), "error carries the id");
        assert_eq!(session.user, None);
    }
    assert!(backend.log().is_empty());
}

#[test]
fn user_update_sets_profile() {
    let (backend, session) = setup(false);
    let (session, actions) = send(
        &backend,
        &session,
        json!(["user.update", 4, {"profile": {"display_name": "A"}}]),
    );
    assert_eq!(only(&actions), json!(["success", 4, {}]));
    assert!(data(&session).profile);
    let (_, actions) = send(
        &backend,
        &session,
        json!(["user.fetch", 5, {"id": "alice"}]),
    );
    assert_eq!(
        only(&actions),
        json!(["success", 5, {"id": "alice", "profile": {"display_name": "A"}}])
    );
}

#[test]
fn user_update_failure_codes() {
    let (backend, session) = setup(false);
    backend.fail("set_profile", FailureCode::Invalid);
    let (session, actions) = send(
        &backend,
        &session,
        json!(["user.update", 4, {"profile": {"display_name": "A"}}]),
    );
    assert_eq!(error_code(&actions), codes::USER_INVALID);
    assert!(!data(&session).profile);
}

#[test]
fn user_fetch_unknown_user() {
    let (backend, session) = setup(true);
    let (_, actions) = send(
        &backend,
        &session,
        json!(["user.fetch", 5, {"id": "nobody"}]),
    );
    assert_eq!(only(&actions)[1], 5);
    assert_eq!(error_code(&actions), codes::USER_NOT_FOUND);
}
