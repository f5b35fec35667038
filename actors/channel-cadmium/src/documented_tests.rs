//! The requests of the Cadmium protocol documents (cadmium-docs-legacy `protocol-spec/` at
//! 9dfea26 and its newest core document), sent as the documents write them, on the real core;
//! each answer checked against the documented shape. Only the examples' trailing commas are
//! taken out: they are no JSON, and no client's serializer writes them.

use channel_kit::core::CoreBackend;
use channel_kit::Backend;
use serde_json::{json, Value};
use wcc_interface::Principal;

use crate::codec;
use crate::tests::{err_id, fresh, hello, send, signed_in, subscribed, PW, SERVER};

/// A frame as the documents write it, `id` "abcd" and all.
fn documented(frame: &str) -> Value {
    serde_json::from_str(frame).unwrap()
}

#[test]
fn register_with_login_on_success_signs_in() {
    let backend = CoreBackend::new();
    let (session, reply, actions) = send(
        &backend,
        &fresh("gw/1"),
        json!({"id": "abcd", "type": "profile:register", "to": "cadmium.org",
               "payload": {"username": "juliet", "thirdPIDs": [], "password": PW,
                           "loginOnSuccess": true}}),
    );
    let payload = &reply["payload"];
    assert_eq!(payload["userID"], "@juliet@wcc.local", "{reply}");
    let login = &payload["loginPayload"];
    assert_eq!(login["deviceID"], "gw/1");
    let token = login["authToken"].as_str().unwrap();
    assert_eq!(backend.token_user(token), Ok(Some("juliet".to_owned())));
    assert_eq!(session.user.as_deref(), Some("juliet"));
    assert_eq!(subscribed(&backend, &session, &actions), ["juliet"]);

    // The token works on a connection of its own.
    signed_in(&backend, "romeo");
    let (_, reply, _) = send(&backend, &fresh("gw/2"), hello("@romeo", token));
    assert_eq!(reply["ok"], true, "{reply}");
}

#[test]
fn registration_without_login_on_success_answers_only_the_user_id() {
    let backend = CoreBackend::new();
    let request = documented(&format!(
        r#"{{"id": "abcd", "type": "profile:register", "to": "cadmium.org",
            "payload": {{"username": "juliet",
                         "thirdPIDs": [{{"type":"email", "value":"juliet@capulett.com"}},
                                       {{"type":"msisdn", "value":"+1234567890"}}],
                         "password": "{PW}", "loginOnSuccess": false}}}}"#
    ));
    let (session, reply, actions) = send(&backend, &fresh("gw/1"), request);
    assert_eq!(
        reply,
        json!({"id": "abcd", "type": "profile:register", "from": SERVER, "ok": true,
               "payload": {"userID": "@juliet@wcc.local"}})
    );
    assert_eq!((session.user, actions), (None, Vec::new()));
    let (_, reply, _) = send(
        &backend,
        &fresh("gw/2"),
        json!({"id": "abcd", "type": "profile:register", "to": "cadmium.org",
               "payload": {"username": "juliet", "thirdPIDs": [], "password": PW}}),
    );
    assert_eq!(
        reply["payload"]["errID"], "id_exists",
        "the documented error: {reply}"
    );
}

#[test]
fn the_login_documents_request_answers_auth_token_and_device_id() {
    let backend = CoreBackend::new();
    signed_in(&backend, "juliet");
    let request = documented(&format!(
        r#"{{"id": "abcd", "type": "profile:login", "to": "cadmium.org",
            "payload": {{"username": "juliet", "password": "{PW}"}}}}"#
    ));
    let (session, reply, actions) = send(&backend, &fresh("gw/7"), request);
    assert_eq!(reply["type"], "profile:login");
    assert_eq!(reply["from"], SERVER);
    assert_eq!(reply["payload"]["deviceID"], "gw/7", "{reply}");
    assert!(reply["payload"]["authToken"].is_string());
    assert_eq!(subscribed(&backend, &session, &actions), ["juliet"]);

    let (_, reply, _) = send(
        &backend,
        &fresh("gw/8"),
        json!({"id": "abcd", "type": "profile:login", "to": "cadmium.org",
               "payload": {"username": "juliet", "password": "romeo1"}}),
    );
    assert_eq!(reply["payload"]["errID"], "invalid_creds", "{reply}");
    assert_eq!(reply["payload"]["errPayload"], json!({}));
    // wcc keeps no third-party ids, so a login by one matches no account.
    let (_, reply, _) = send(
        &backend,
        &fresh("gw/9"),
        json!({"id": "abcd", "type": "profile:login",
               "payload": {"thirdPID": "juliet@capulett.com", "password": PW}}),
    );
    assert_eq!(err_id(&reply), "invalid_creds");
}

#[test]
fn auth_by_login_password_answers_token_and_authorizes_the_session() {
    let backend = CoreBackend::new();
    signed_in(&backend, "juliet");
    signed_in(&backend, "romeo");
    let request = documented(&format!(
        r#"{{"id": "abcd", "type": "urn:cadmium:auth", "to": ["cadmium.org"],
            "payload": {{"type": "urn:cadmium:auth:login_password",
                         "fields": {{"username": "juliet", "password": "{PW}"}}}}}}"#
    ));
    let (session, reply, actions) = send(&backend, &fresh("gw/3"), request);
    assert_eq!(reply["type"], "urn:cadmium:auth");
    assert_eq!(reply["payload"]["deviceID"], "gw/3", "{reply}");
    let token = reply["payload"]["token"].as_str().unwrap();
    assert_eq!(backend.token_user(token), Ok(Some("juliet".to_owned())));
    assert_eq!(subscribed(&backend, &session, &actions), ["juliet"]);

    // The core document's requests carry no authToken once the session is authorized.
    let mut tokenless = hello("@romeo", "");
    tokenless.as_object_mut().unwrap().remove("authToken");
    let (_, reply, _) = send(&backend, &session, tokenless.clone());
    assert_eq!(reply["ok"], true, "{reply}");
    assert_eq!(backend.messages("romeo")[0].sender, "juliet");
    // A connection that never signed in still needs one.
    let (_, reply, _) = send(&backend, &fresh("gw/4"), tokenless);
    assert_eq!(err_id(&reply), "unauthorized");

    let wrong = json!({"id": "abcd", "type": "urn:cadmium:auth", "to": ["cadmium.org"],
                       "payload": {"type": "urn:cadmium:auth:login_password",
                                   "fields": {"username": "juliet", "password": "romeo1"}}});
    let (session, reply, _) = send(&backend, &fresh("gw/5"), wrong);
    assert_eq!(err_id(&reply), "invalid_creds");
    assert_eq!(session.user, None);
}

#[test]
fn auth_by_token_authorizes_a_new_session() {
    let backend = CoreBackend::new();
    let (_, token) = signed_in(&backend, "juliet");
    signed_in(&backend, "romeo");
    let request = json!({"id": "abcd", "type": "urn:cadmium:auth", "to": ["cadmium.org"],
                         "payload": {"type": "urn:cadmium:auth:token", "fields": {"token": token}}});
    let (session, reply, actions) = send(&backend, &fresh("gw/6"), request);
    assert_eq!(
        reply,
        json!({"id": "abcd", "type": "urn:cadmium:auth", "from": SERVER, "ok": true, "payload": {}})
    );
    assert_eq!(subscribed(&backend, &session, &actions), ["juliet"]);
    let mut tokenless = hello("@romeo", "");
    tokenless.as_object_mut().unwrap().remove("authToken");
    let (_, reply, _) = send(&backend, &session, tokenless);
    assert_eq!(reply["ok"], true, "{reply}");

    let forged = json!({"id": "abcd", "type": "urn:cadmium:auth",
                        "payload": {"type": "urn:cadmium:auth:token", "fields": {"token": "forged"}}});
    let (session, reply, actions) = send(&backend, &fresh("gw/7"), forged);
    assert_eq!(err_id(&reply), "unauthorized");
    assert_eq!((session.user, actions), (None, Vec::new()));
}

#[test]
fn an_unknown_type_is_unhandled_with_an_err_payload() {
    let backend = CoreBackend::new();
    let request = documented(
        r#"{"id": "abcd", "type": "incorrectMessageType", "from": "@juliet@cadmium.im",
            "to": "cadmium.im", "payload": {"test": "test"}}"#,
    );
    let (_, reply, _) = send(&backend, &fresh("gw/1"), request);
    assert_eq!(reply["id"], "abcd");
    assert_eq!(reply["type"], "incorrectMessageType");
    assert_eq!(reply["from"], SERVER);
    assert_eq!(reply["ok"], false);
    assert_eq!(reply["payload"]["errID"], "unhandled");
    assert_eq!(reply["payload"]["errPayload"], json!({}));
    assert!(reply["payload"]["errText"]
        .as_str()
        .unwrap()
        .contains("isn't implemented"));
}

#[test]
fn a_private_message_goes_to_a_recipient_written_as_one_string() {
    let backend = CoreBackend::new();
    let (juliet, token) = signed_in(&backend, "juliet");
    signed_in(&backend, "romeo");
    let mut request = hello("@romeo@cadmium.org", &token);
    request["to"] = json!("@romeo@cadmium.org");
    let (_, reply, _) = send(&backend, &juliet, request);
    assert_eq!(reply["ok"], true, "{reply}");
    assert_eq!(backend.messages("romeo").len(), 1);
    let typing = json!({"id": "abcd", "type": codec::TYPING, "to": "@romeo@cadmium.org",
                        "authToken": token, "payload": {}});
    let (_, reply, _) = send(&backend, &juliet, typing);
    assert_eq!(reply["ok"], true, "{reply}");
    assert_eq!(backend.signals()[0].room, "romeo");
}

#[test]
fn a_banned_sender_gets_the_documented_error_with_an_err_payload() {
    let backend = CoreBackend::new();
    let (juliet, j_token) = signed_in(&backend, "juliet");
    let (romeo, r_token) = signed_in(&backend, "romeo");
    let ban = json!({"id": "b", "type": codec::BAN, "authToken": r_token,
                     "payload": {"user": "@juliet@wcc.local"}});
    send(&backend, &romeo, ban);
    let (_, reply, _) = send(&backend, &juliet, hello("@romeo@cadmium.org", &j_token));
    assert_eq!(
        reply,
        json!({"id": "m1", "type": codec::MESSAGE, "from": SERVER, "ok": false,
               "payload": {"errID": "banned", "errText": "The user banned you", "errPayload": {}}})
    );
}

/// The core document's message ids are entity ids (`&<uuid>@server`); the chat documents use the
/// bare id. Replies and receipts take either.
#[test]
fn message_ids_may_be_written_as_entity_ids() {
    let backend = CoreBackend::new();
    let (juliet, j_token) = signed_in(&backend, "juliet");
    let (romeo, r_token) = signed_in(&backend, "romeo");
    send(&backend, &juliet, hello("@romeo", &j_token));
    let id = backend.messages("romeo")[0].id.clone();
    let read = json!({"id": "r", "type": codec::READ, "to": ["@juliet@cadmium.org"],
                      "authToken": r_token, "payload": {"messageID": format!("&{id}@cadmium.org")}});
    let (_, reply, _) = send(&backend, &romeo, read);
    assert_eq!(reply["payload"], json!({}), "{reply}");
    let answer = json!({"type": "urn:cadmium:chats:message-types:general",
                        "reply": format!("&msg:{id}@cadmium.org"), "content": {"text": "re"}});
    let (_, reply, _) = send(
        &backend,
        &romeo,
        crate::tests::message("@juliet", &r_token, answer),
    );
    assert_eq!(reply["ok"], true, "{reply}");
    assert_eq!(backend.messages("juliet")[0].content["reply"], json!(id));
}

/// A read receipt also moves the reader's read pointer in their inbox, which the core keeps for
/// every protocol (venueless shows it as unread counts).
#[test]
fn reading_a_message_moves_the_readers_read_pointer() {
    let backend = CoreBackend::new();
    let (juliet, j_token) = signed_in(&backend, "juliet");
    let (romeo, r_token) = signed_in(&backend, "romeo");
    for _ in 0..3 {
        send(&backend, &juliet, hello("@romeo", &j_token));
    }
    let second = backend.messages("romeo")[1].clone();
    let read = json!({"id": "r", "type": codec::READ, "to": ["@juliet"], "authToken": r_token,
                      "payload": {"messageID": second.id}});
    let (_, reply, _) = send(&backend, &romeo, read);
    assert_eq!(reply["ok"], true, "{reply}");
    let state = backend
        .read_state(&Principal::user("romeo"), &["romeo".to_owned()])
        .unwrap();
    assert_eq!(
        (state[0].pointer, state[0].unread),
        (second.event_id, 1),
        "{state:?}"
    );
    assert_eq!(
        backend.signals()[0].room,
        "juliet",
        "the receipt still goes out"
    );
}
