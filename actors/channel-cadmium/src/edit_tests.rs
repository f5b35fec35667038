//! Edits and deletions (the chats proposal's `urn:cadmium:chat:message:edit` / `:delete`) on the
//! real core: who may change what is the core's decision, and the recipient's sessions get the
//! change rendered from the event the core published.

use channel_kit::core::CoreBackend;
use serde_json::{json, Value};
use wcc_interface::{Envelope, Event};

use crate::codec;
use crate::errors;
use crate::render;
use crate::tests::{err_id, hello, message, send, signed_in, SERVER};

fn edit(token: &str, id: &str, content: Value) -> Value {
    json!({"id": "e1", "type": codec::EDIT, "authToken": token,
           "payload": {"eventID": id, "updatedContent": content}})
}

fn delete(token: &str, id: &str) -> Value {
    json!({"id": "d1", "type": codec::DELETE, "authToken": token, "payload": {"eventID": id}})
}

/// What the recipient's sessions get for the last `MessageUpdated` the core published.
fn last_update_pushed(backend: &CoreBackend) -> Value {
    let event = backend
        .events()
        .into_iter()
        .rev()
        .find_map(|(_, event)| matches!(event, Event::MessageUpdated { .. }).then_some(event))
        .expect("no MessageUpdated published");
    let pushed = render::render(&Envelope::new(event, 1).to_json(), SERVER).unwrap();
    serde_json::from_str(&pushed).unwrap()
}

#[test]
fn the_sender_edits_a_message_and_the_recipient_is_told() {
    let backend = CoreBackend::new();
    let (juliet, token) = signed_in(&backend, "juliet");
    signed_in(&backend, "romeo");
    send(&backend, &juliet, hello("@romeo", &token));
    let original = backend.messages("romeo")[0].clone();

    let (_, reply, _) = send(
        &backend,
        &juliet,
        edit(&token, &original.id, json!({"text": "hello, fair world"})),
    );
    assert_eq!(reply["ok"], true, "{reply}");
    assert_eq!(reply["payload"], json!({}));
    let stored = &backend.messages("romeo")[0];
    assert_eq!(
        stored.content,
        json!({"type": "text", "body": "hello, fair world"})
    );
    assert_eq!(
        (stored.id.as_str(), stored.sender.as_str()),
        (original.id.as_str(), "juliet")
    );
    assert_eq!(
        last_update_pushed(&backend),
        json!({"id": original.id, "type": codec::EDIT, "from": "@juliet@wcc.local",
               "to": ["@romeo@wcc.local"], "ok": true,
               "payload": {"eventID": original.id, "type": "urn:cadmium:chats:message-types:general",
                           "updatedContent": {"text": "hello, fair world"}}})
    );
}

#[test]
fn an_edit_keeps_the_messages_type_and_reply() {
    let backend = CoreBackend::new();
    let (juliet, j_token) = signed_in(&backend, "juliet");
    let (romeo, r_token) = signed_in(&backend, "romeo");
    send(&backend, &juliet, hello("@romeo", &j_token));
    let first = backend.messages("romeo")[0].id.clone();
    let location = json!({"type": "urn:cadmium:chats:message-types:geolocation", "reply": first,
                          "content": {"lat": 45.4, "lon": 10.99}});
    send(&backend, &romeo, message("@juliet", &r_token, location));
    let sent = backend.messages("juliet")[0].id.clone();

    // A location is edited with a location; text does not fit it.
    let (_, reply, _) = send(
        &backend,
        &romeo,
        edit(&r_token, &sent, json!({"text": "x"})),
    );
    assert_eq!(err_id(&reply), errors::INVALID_REQUEST);
    let (_, reply, _) = send(
        &backend,
        &romeo,
        edit(&r_token, &sent, json!({"lat": 45.44, "lon": 10.99})),
    );
    assert_eq!(reply["ok"], true, "{reply}");
    let stored = &backend.messages("juliet")[0].content;
    assert_eq!(stored["lat"], 45.44);
    assert_eq!(stored["reply"], json!(first));
}

#[test]
fn only_the_core_lets_someone_change_a_message() {
    let backend = CoreBackend::new();
    let (juliet, j_token) = signed_in(&backend, "juliet");
    let (romeo, r_token) = signed_in(&backend, "romeo");
    let (tybalt, t_token) = signed_in(&backend, "tybalt");
    send(&backend, &juliet, hello("@romeo", &j_token));
    let id = backend.messages("romeo")[0].id.clone();
    // The recipient sees it but did not write it.
    let (_, reply, _) = send(
        &backend,
        &romeo,
        edit(&r_token, &id, json!({"text": "mine"})),
    );
    assert_eq!(err_id(&reply), errors::UNAUTHORIZED);
    let (_, reply, _) = send(&backend, &romeo, delete(&r_token, &id));
    assert_eq!(err_id(&reply), errors::UNAUTHORIZED);
    // A stranger does not even see it.
    let (_, reply, _) = send(&backend, &tybalt, edit(&t_token, &id, json!({"text": "x"})));
    assert_eq!(err_id(&reply), errors::MESSAGE_NOT_FOUND);
    let (_, reply, _) = send(&backend, &tybalt, delete(&t_token, &id));
    assert_eq!(err_id(&reply), errors::MESSAGE_NOT_FOUND);
    assert_eq!(
        backend.messages("romeo")[0].content,
        json!({"type": "text", "body": "hello world"})
    );
    assert!(!backend
        .events()
        .iter()
        .any(|(_, e)| matches!(e, Event::MessageUpdated { .. })));
}

#[test]
fn the_sender_deletes_a_message_and_the_recipient_is_told() {
    let backend = CoreBackend::new();
    let (juliet, token) = signed_in(&backend, "juliet");
    signed_in(&backend, "romeo");
    send(&backend, &juliet, hello("@romeo", &token));
    let id = backend.messages("romeo")[0].id.clone();
    let (_, reply, _) = send(
        &backend,
        &juliet,
        delete(&token, &format!("&msg:{id}@cadmium.org")),
    );
    assert_eq!(reply["ok"], true, "{reply}");
    let stored = &backend.messages("romeo")[0];
    assert_eq!((stored.sender.as_str(), &stored.content), ("", &json!({})));
    assert_eq!(
        last_update_pushed(&backend),
        json!({"id": id, "type": codec::DELETE, "from": SERVER, "to": ["@romeo@wcc.local"],
               "ok": true, "payload": {"eventID": id}})
    );
    // Gone: neither edited back nor deleted again, nor read.
    let (_, reply, _) = send(
        &backend,
        &juliet,
        edit(&token, &id, json!({"text": "back"})),
    );
    assert_eq!(err_id(&reply), errors::MESSAGE_NOT_FOUND);
    let (_, reply, _) = send(&backend, &juliet, delete(&token, &id));
    assert_eq!(err_id(&reply), errors::MESSAGE_NOT_FOUND);
}

#[test]
fn a_removed_message_gets_no_read_receipt() {
    let backend = CoreBackend::new();
    let (juliet, j_token) = signed_in(&backend, "juliet");
    let (romeo, r_token) = signed_in(&backend, "romeo");
    send(&backend, &juliet, hello("@romeo", &j_token));
    let id = backend.messages("romeo")[0].id.clone();
    send(&backend, &juliet, delete(&j_token, &id));
    let read = json!({"id": "r", "type": codec::READ, "authToken": r_token,
                      "payload": {"messageID": id}});
    let (_, reply, _) = send(&backend, &romeo, read);
    assert_eq!(err_id(&reply), errors::MESSAGE_NOT_FOUND);
    assert!(backend.signals().is_empty());
}

#[test]
fn reactions_are_not_shown() {
    let event = Event::ReactionsChanged {
        room: "romeo".into(),
        event_id: 1,
        message_id: "3b51".into(),
        user: "juliet".into(),
        reaction: "+1".into(),
        added: true,
        reactions: [("+1".to_owned(), vec!["juliet".to_owned()])].into(),
    };
    assert_eq!(
        render::render(&Envelope::new(event, 1).to_json(), SERVER),
        None
    );
}
