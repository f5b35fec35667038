//! The Cadmium core on the real core (`channel_kit::core`): requests in, replies and actions out.

use channel_kit::core::CoreBackend;
use channel_kit::{Action, Backend, Frame, Session};
use serde_json::{json, Value};
use wcc_interface::{Envelope, Event, StoredMessage};

use crate::{codec, errors, handler, render};

pub(crate) const SERVER: &str = "wcc.local";

pub(crate) fn fresh(connection: &str) -> Session {
    Session {
        connection_id: connection.into(),
        ..Session::default()
    }
}

/// Sends `request`, returns the new session, the reply, and the other actions.
pub(crate) fn send(
    backend: &CoreBackend,
    session: &Session,
    request: Value,
) -> (Session, Value, Vec<Action>) {
    send_text(backend, session, &request.to_string())
}

pub(crate) fn send_text(
    backend: &CoreBackend,
    session: &Session,
    text: &str,
) -> (Session, Value, Vec<Action>) {
    let outcome = handler::received(session.clone(), Frame::Text(text.into()), backend);
    let mut actions = outcome.actions;
    let Some(Action::Send(reply)) = actions.pop() else {
        panic!("no reply last in {actions:?}");
    };
    (
        outcome.session,
        serde_json::from_str(&reply).unwrap(),
        actions,
    )
}

/// A password the core accepts (8 characters or more).
pub(crate) const PW: &str = "pw-secret";

/// What the `Subscribe` actions grant to the session's user, as the gateway checks them.
pub(crate) fn subscribed(
    backend: &CoreBackend,
    session: &Session,
    actions: &[Action],
) -> Vec<String> {
    backend.subscribed(actions, session.user.as_deref())
}

pub(crate) fn err_id(reply: &Value) -> &str {
    assert_eq!(reply["ok"], false, "{reply}");
    reply["payload"]["errID"].as_str().unwrap()
}

/// Registers and logs in `name` (password [`PW`]); returns the signed-in session and its token.
pub(crate) fn signed_in(backend: &CoreBackend, name: &str) -> (Session, String) {
    let (session, reply, _) = send(
        backend,
        &fresh(&format!("gw/{name}")),
        json!({"id": "r", "type": codec::REGISTER,
               "payload": {"username": name, "password": PW, "loginOnSuccess": true}}),
    );
    assert_eq!(reply["ok"], true, "{reply}");
    let token = reply["payload"]["authToken"].as_str().unwrap().to_owned();
    (session, token)
}

pub(crate) fn message(to: &str, token: &str, payload: Value) -> Value {
    json!({"id": "m1", "type": codec::MESSAGE, "to": [to], "authToken": token, "payload": payload})
}

pub(crate) fn hello(to: &str, token: &str) -> Value {
    message(
        to,
        token,
        json!({"type": "urn:cadmium:chats:message-types:general", "content": {"text": "hello world"}}),
    )
}

/// Passwords are the core's now: at least 8 characters (the old fake took any).
#[test]
fn register_then_login_issues_a_token_and_subscribes_the_direct_room() {
    let backend = CoreBackend::new();
    let (_, reply, _) = send(
        &backend,
        &fresh("gw/1"),
        json!({"id": "a", "type": codec::REGISTER, "payload": {"username": "alice", "password": "pw"}}),
    );
    assert_eq!(err_id(&reply), errors::INVALID_REQUEST, "too short");
    let (_, reply, _) = send(
        &backend,
        &fresh("gw/1"),
        json!({"id": "a", "type": codec::REGISTER, "payload": {"username": "alice", "password": PW}}),
    );
    assert_eq!(
        reply,
        json!({"id": "a", "type": codec::REGISTER, "from": SERVER, "ok": true,
               "payload": {"userID": "@alice@wcc.local"}})
    );
    let (session, reply, actions) = send(
        &backend,
        &fresh("gw/2"),
        json!({"id": "b", "type": codec::LOGIN, "payload": {"username": "alice", "password": PW}}),
    );
    assert_eq!(reply["ok"], true, "{reply}");
    assert_eq!(reply["payload"]["deviceID"], "gw/2");
    assert!(reply["payload"]["authToken"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));
    assert_eq!(session.user.as_deref(), Some("alice"));
    assert_eq!(actions.len(), 1);
    assert_eq!(subscribed(&backend, &session, &actions), ["alice"]);

    let (session, reply, _) = send(
        &backend,
        &fresh("gw/3"),
        json!({"id": "c", "type": codec::LOGIN, "payload": {"username": "alice", "password": "no"}}),
    );
    assert_eq!(err_id(&reply), errors::INVALID_CREDS);
    assert_eq!(session.user, None);
    let (_, reply, _) = send(
        &backend,
        &fresh("gw/4"),
        json!({"id": "d", "type": codec::REGISTER, "payload": {"username": "alice", "password": PW}}),
    );
    assert_eq!(err_id(&reply), errors::ID_EXISTS);
}

#[test]
fn registration_can_be_disabled() {
    let backend = CoreBackend::new();
    backend.set_setting(crate::REGISTRATION_KEY, "false");
    let (_, reply, _) = send(
        &backend,
        &fresh("gw/1"),
        json!({"id": "a", "type": codec::REGISTER, "payload": {"username": "alice", "password": PW}}),
    );
    assert_eq!(err_id(&reply), errors::REG_DISABLED);
}

#[test]
fn chat_requests_need_a_valid_token() {
    let backend = CoreBackend::new();
    let (_, token) = signed_in(&backend, "alice");
    signed_in(&backend, "bob");
    let anonymous = fresh("gw/9");
    let (_, reply, _) = send(&backend, &anonymous, hello("@bob@wcc.local", "forged"));
    assert_eq!(err_id(&reply), errors::UNAUTHORIZED);
    let mut no_token = hello("@bob@wcc.local", "");
    no_token.as_object_mut().unwrap().remove("authToken");
    let (_, reply, _) = send(&backend, &anonymous, no_token);
    assert_eq!(err_id(&reply), errors::UNAUTHORIZED);
    assert!(backend.messages("bob").is_empty());

    // A token from another connection signs this one in, once.
    let (session, reply, actions) = send(&backend, &anonymous, hello("@bob@wcc.local", &token));
    assert_eq!(reply["ok"], true, "{reply}");
    assert_eq!(session.user.as_deref(), Some("alice"));
    assert_eq!(actions.len(), 1);
    assert_eq!(subscribed(&backend, &session, &actions), ["alice"]);
    let (_, _, actions) = send(&backend, &session, hello("@bob@wcc.local", &token));
    assert!(actions.is_empty());
}

#[test]
fn a_message_is_stored_in_the_recipients_direct_room_and_answered_with_its_id() {
    let backend = CoreBackend::new();
    backend.set_now(1_599_327_584_123);
    let (alice, token) = signed_in(&backend, "alice");
    signed_in(&backend, "bob");
    let (_, reply, _) = send(&backend, &alice, hello("@bob@cadmium.org", &token));
    let stored = &backend.messages("bob")[0];
    assert_eq!(stored.sent_at, 1_599_327_584_123, "the core's clock");
    assert_eq!(
        reply,
        json!({"id": "m1", "type": codec::MESSAGE, "from": SERVER, "ok": true,
               "payload": {"messageID": stored.id, "originServerTimestamp": stored.sent_at / 1000}})
    );
    assert_eq!(stored.sender, "alice");
    assert_eq!(stored.channel, "cadmium");
    assert_eq!(
        stored.content,
        json!({"type": "text", "body": "hello world"})
    );
}

#[test]
fn every_content_type_is_checked_and_stored_neutrally() {
    let backend = CoreBackend::new();
    let (alice, token) = signed_in(&backend, "alice");
    signed_in(&backend, "bob");
    let accepted = [
        (
            json!({"type": "urn:cadmium:chats:message-types:general",
                   "content": {"text": "", "media": [{"url": "https://u/1", "mimeType": "image/jpeg"}]}}),
            json!({"type": "text", "body": "", "media": [{"url": "https://u/1", "mimeType": "image/jpeg"}]}),
        ),
        (
            json!({"type": "urn:cadmium:chats:message-types:audio", "content": {"url": "https://u/a.ogg"}}),
            json!({"type": "audio", "url": "https://u/a.ogg", "body": "https://u/a.ogg"}),
        ),
        (
            json!({"type": "urn:cadmium:chats:message-types:geolocation", "content": {"lat": 52.5, "lon": -13.25}}),
            json!({"type": "geolocation", "lat": 52.5, "lon": -13.25, "body": "geo:52.5,-13.25"}),
        ),
    ];
    for (i, (payload, stored)) in accepted.into_iter().enumerate() {
        let (_, reply, _) = send(&backend, &alice, message("@bob", &token, payload));
        assert_eq!(reply["ok"], true, "{reply}");
        assert_eq!(backend.messages("bob")[i].content, stored);
    }
    let refused = [
        json!({"type": "urn:cadmium:chats:message-types:general", "content": {"text": "  "}}),
        json!({"type": "urn:cadmium:chats:message-types:general", "content": {"text": 5}}),
        json!({"type": "urn:cadmium:chats:message-types:general",
               "content": {"text": "x", "media": [{"url": "https://u", "mimeType": "jpeg"}]}}),
        json!({"type": "urn:cadmium:chats:message-types:audio", "content": {"url": ""}}),
        json!({"type": "urn:cadmium:chats:message-types:geolocation", "content": {"lat": 91, "lon": 0}}),
        json!({"type": "urn:cadmium:chats:message-types:geolocation", "content": {"lat": 0, "lon": -180.5}}),
        json!({"type": "urn:cadmium:chats:message-types:geolocation", "content": {"lat": "north", "lon": 0}}),
        json!({"type": "urn:cadmium:chats:message-types:sticker", "content": {}}),
        json!({"content": {"text": "no type"}}),
        json!("text"),
    ];
    for payload in refused {
        let (_, reply, _) = send(&backend, &alice, message("@bob", &token, payload.clone()));
        assert_eq!(err_id(&reply), errors::INVALID_REQUEST, "{payload}");
    }
    assert_eq!(backend.messages("bob").len(), 3);
}

#[test]
fn replies_must_name_a_message_of_the_same_chat() {
    let backend = CoreBackend::new();
    let (alice, a_token) = signed_in(&backend, "alice");
    let (bob, b_token) = signed_in(&backend, "bob");
    let (carol, c_token) = signed_in(&backend, "carol");
    send(&backend, &alice, hello("@bob", &a_token));
    let original = backend.messages("bob")[0].id.clone();
    // Carol cannot read bob's direct room, so the core does not even show her the message.
    let reply_to = |id: &str| json!({"type": "urn:cadmium:chats:message-types:general", "reply": id, "content": {"text": "re"}});
    let (_, reply, _) = send(
        &backend,
        &bob,
        message("@alice", &b_token, reply_to(&original)),
    );
    assert_eq!(reply["ok"], true, "{reply}");
    assert_eq!(
        backend.messages("alice")[0].content["reply"],
        json!(original)
    );

    let (_, reply, _) = send(
        &backend,
        &carol,
        message("@alice", &c_token, reply_to(&original)),
    );
    assert_eq!(err_id(&reply), errors::MESSAGE_NOT_FOUND);
    let (_, reply, _) = send(
        &backend,
        &bob,
        message("@alice", &b_token, reply_to("nope")),
    );
    assert_eq!(err_id(&reply), errors::MESSAGE_NOT_FOUND);
}

#[test]
fn unknown_recipients_and_bad_addresses() {
    let backend = CoreBackend::new();
    let (alice, token) = signed_in(&backend, "alice");
    let (_, reply, _) = send(&backend, &alice, hello("@ghost@wcc.local", &token));
    assert_eq!(err_id(&reply), errors::USER_NOT_FOUND);
    let (_, reply, _) = send(&backend, &alice, hello("ghost", &token));
    assert_eq!(err_id(&reply), errors::INVALID_REQUEST);
    let mut two = hello("@alice", &token);
    two["to"] = json!(["@a", "@b"]);
    let (_, reply, _) = send(&backend, &alice, two);
    assert_eq!(err_id(&reply), errors::INVALID_REQUEST);
}

#[test]
fn users_of_other_protocols_are_addressed_by_their_id() {
    let backend = CoreBackend::new();
    let (alice, token) = signed_in(&backend, "alice");
    let venueless = backend.login("venueless", "v-client").unwrap();
    let (_, reply, _) = send(
        &backend,
        &alice,
        hello(&format!("@{}@wcc.local", venueless.id), &token),
    );
    assert_eq!(reply["ok"], true, "{reply}");
    assert_eq!(backend.messages(&venueless.id).len(), 1);
}

#[test]
fn a_banned_sender_is_told_so() {
    let backend = CoreBackend::new();
    let (alice, a_token) = signed_in(&backend, "alice");
    let (bob, b_token) = signed_in(&backend, "bob");
    let ban = json!({"id": "x", "type": codec::BAN, "authToken": b_token, "payload": {"user": "@alice@wcc.local"}});
    let (_, reply, _) = send(&backend, &bob, ban);
    assert_eq!(reply["ok"], true, "{reply}");
    let (_, reply, _) = send(&backend, &alice, hello("@bob", &a_token));
    assert_eq!(
        reply["payload"],
        json!({"errID": "banned", "errText": "The user banned you", "errPayload": {}})
    );
    let typing = json!({"id": "t", "type": codec::TYPING, "to": ["@bob"], "authToken": a_token, "payload": {}});
    let (_, reply, _) = send(&backend, &alice, typing);
    assert_eq!(err_id(&reply), errors::BANNED);

    let unban = json!({"id": "y", "type": codec::UNBAN, "authToken": b_token, "payload": {"user": "@alice"}});
    send(&backend, &bob, unban);
    let (_, reply, _) = send(&backend, &alice, hello("@bob", &a_token));
    assert_eq!(reply["ok"], true, "{reply}");
}

#[test]
fn read_receipts_go_to_the_sender_and_only_for_received_messages() {
    let backend = CoreBackend::new();
    let (alice, a_token) = signed_in(&backend, "alice");
    let (bob, b_token) = signed_in(&backend, "bob");
    send(&backend, &alice, hello("@bob", &a_token));
    let id = backend.messages("bob")[0].id.clone();
    let read = |token: &str| json!({"id": "r1", "type": codec::READ, "to": ["@alice"], "authToken": token, "payload": {"messageID": id}});
    let (_, reply, _) = send(&backend, &bob, read(&b_token));
    assert_eq!(reply["payload"], json!({}));
    assert_eq!(reply["ok"], true);
    let signals = backend.signals();
    assert_eq!(signals.len(), 1);
    assert_eq!(
        (signals[0].room.as_str(), signals[0].sender.as_str()),
        ("alice", "bob")
    );
    assert_eq!(signals[0].kind, "read");

    // Alice did not receive it: she cannot mark it read.
    let (_, reply, _) = send(&backend, &alice, read(&a_token));
    assert_eq!(err_id(&reply), errors::MESSAGE_NOT_FOUND);
    assert_eq!(backend.signals().len(), 1);
}

#[test]
fn typing_is_relayed_and_never_stored() {
    let backend = CoreBackend::new();
    let (alice, token) = signed_in(&backend, "alice");
    signed_in(&backend, "bob");
    let typing = json!({"id": "t1", "type": codec::TYPING, "to": ["@bob@wcc.local"], "authToken": token, "payload": {}});
    let (_, reply, _) = send(&backend, &alice, typing);
    assert_eq!(reply["ok"], true, "{reply}");
    assert!(backend.messages("bob").is_empty());
    assert_eq!(backend.signals()[0].kind, "typing");
    assert_eq!(backend.signals()[0].room, "bob");
}

#[test]
fn bad_input_gets_an_error_and_the_session_survives() {
    let backend = CoreBackend::new();
    let (alice, token) = signed_in(&backend, "alice");
    for text in [
        "not json",
        "[1,2]",
        r#"{"id":"q"}"#,
        r#"{"id":"q","type":7}"#,
    ] {
        let (session, reply, _) = send_text(&backend, &alice, text);
        assert_eq!(err_id(&reply), errors::MALFORMED_MESSAGE, "{text}");
        assert_eq!(session, alice);
    }
    let (_, reply, _) = send_text(&backend, &alice, r#"{"id":"q","type":"urn:x"}"#);
    assert_eq!(
        (reply["id"].as_str(), err_id(&reply)),
        (Some("q"), errors::UNKNOWN_TYPE)
    );
    for frame in [Frame::Binary(vec![0xff, 0]), Frame::Oversize(1 << 20)] {
        let outcome = handler::received(alice.clone(), frame, &backend);
        let [Action::Send(reply)] = outcome.actions.as_slice() else {
            panic!("{:?}", outcome.actions);
        };
        let reply: Value = serde_json::from_str(reply).unwrap();
        assert_eq!(err_id(&reply), errors::MALFORMED_MESSAGE);
    }
    let (_, reply, _) = send(
        &backend,
        &alice,
        json!({"id": "r", "type": codec::READ, "authToken": token, "payload": {}}),
    );
    assert_eq!(err_id(&reply), errors::INVALID_REQUEST);
}

#[test]
fn the_rate_limiter_answers_with_retry_after_when_on() {
    let backend = CoreBackend::new();
    let (alice, token) = signed_in(&backend, "alice");
    signed_in(&backend, "bob");
    backend.set_setting(crate::RATE_LIMIT_KEY, "1");
    backend.set_setting(crate::RATE_BURST_KEY, "2");
    backend.set_now(10_000);
    let (alice, first, _) = send(&backend, &alice, hello("@bob", &token));
    let (alice, second, _) = send(&backend, &alice, hello("@bob", &token));
    let (alice, third, _) = send(&backend, &alice, hello("@bob", &token));
    assert_eq!(
        (first["ok"].clone(), second["ok"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(err_id(&third), errors::RATELIMIT_EXCEED);
    assert_eq!(third["payload"]["errPayload"], json!({"retryAfter": 1000}));
    backend.set_now(11_000);
    let (_, fourth, _) = send(&backend, &alice, hello("@bob", &token));
    assert_eq!(fourth["ok"], true);
    assert_eq!(backend.messages("bob").len(), 3);
}

pub(crate) fn envelope(event: Event) -> String {
    Envelope::new(event, 1).to_json()
}

#[test]
fn renders_messages_from_any_protocol_as_private_messages() {
    let message = StoredMessage {
        id: "3b5135a5".into(),
        room: "bob".into(),
        event_id: 4,
        sender: "alice".into(),
        channel: "cadmium".into(),
        event_type: "channel.message".into(),
        content: json!({"type": "text", "body": "hi", "reply": "0a1b"}),
        sent_at: 1_599_327_584_999,
    };
    let pushed: Value = serde_json::from_str(
        &render::render(
            &envelope(Event::MessagePublished {
                message: message.clone(),
                author: None,
            }),
            SERVER,
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        pushed,
        json!({"id": "3b5135a5", "type": codec::MESSAGE, "from": "@alice@wcc.local", "to": ["@bob@wcc.local"],
               "ok": true, "payload": {"messageID": "3b5135a5", "originServerTimestamp": 1_599_327_584u64,
               "type": "urn:cadmium:chats:message-types:general", "content": {"text": "hi"}, "reply": "0a1b"}})
    );
    let geo = StoredMessage {
        content: json!({"type": "geolocation", "lat": 1.5, "lon": 2.5, "body": "geo:1.5,2.5"}),
        ..message
    };
    let pushed: Value = serde_json::from_str(
        &render::render(
            &envelope(Event::MessagePublished {
                message: geo,
                author: None,
            }),
            SERVER,
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        pushed["payload"]["type"],
        "urn:cadmium:chats:message-types:geolocation"
    );
    assert_eq!(
        pushed["payload"]["content"],
        json!({"lat": 1.5, "lon": 2.5})
    );
}

#[test]
fn renders_typing_and_read_signals_and_skips_the_rest() {
    let signal = |kind: &str, content: Value| {
        envelope(Event::Signal {
            room: "alice".into(),
            sender: "bob".into(),
            channel: "venueless".into(),
            kind: kind.into(),
            content,
        })
    };
    let typing: Value = serde_json::from_str(
        &render::render(&signal("typing", json!({"id": "t"})), SERVER).unwrap(),
    )
    .unwrap();
    assert_eq!(
        typing,
        json!({"id": "t", "type": codec::TYPING, "from": "@bob@wcc.local", "ok": true, "payload": {}})
    );
    let read: Value = serde_json::from_str(
        &render::render(
            &signal("read", json!({"id": "r", "message_id": "m9"})),
            SERVER,
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(read["payload"], json!({"messageID": "m9"}));
    assert_eq!(read["type"], codec::READ);
    assert_eq!(render::render(&signal("video", json!({})), SERVER), None);
    let joined = envelope(Event::UserJoined {
        room: "alice".into(),
        user: "bob".into(),
        channel: "x".into(),
    });
    assert_eq!(render::render(&joined, SERVER), None);
}

/// A stranger gets nothing of another user's direct room: the core does not show her its
/// messages (to reply to or mark read), she is subscribed to nothing, and no signal goes out.
#[test]
fn a_stranger_cannot_reach_into_another_users_direct_room() {
    let backend = CoreBackend::new();
    let (alice, a_token) = signed_in(&backend, "alice");
    signed_in(&backend, "bob");
    let (carol, c_token) = signed_in(&backend, "carol");
    send(&backend, &alice, hello("@bob", &a_token));
    let dm = backend.messages("bob")[0].id.clone();
    let requests = [
        json!({"id": "r", "type": codec::READ, "to": ["@alice"], "authToken": c_token,
               "payload": {"messageID": dm}}),
        message(
            "@bob",
            &c_token,
            json!({"type": "urn:cadmium:chats:message-types:general", "reply": dm,
                   "content": {"text": "re"}}),
        ),
    ];
    for request in requests {
        let (after, reply, actions) = send(&backend, &carol, request.clone());
        assert_eq!(err_id(&reply), errors::MESSAGE_NOT_FOUND, "{request}");
        assert!(actions.is_empty(), "{request}: {actions:?}");
        assert_eq!(after.user, carol.user);
    }
    assert!(backend.signals().is_empty());
    assert_eq!(backend.messages("bob").len(), 1);
}
