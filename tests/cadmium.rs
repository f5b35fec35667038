//! Cadmium private chats end to end on a real lattice: sign-up and sign-in, every message type,
//! replies, read receipts, typing, bans, bad input, and direct messages crossing to a venueless
//! user and back; then each request form of the Cadmium protocol documents
//! (cadmium-docs-legacy `protocol-spec/`, and the chats proposal's edits and deletions), sent as
//! the documents write it, one named step per documented behaviour.

mod common;

use anyhow::Context;
use common::cadmium::{
    Cadmium, AUDIO, BAN, GENERAL, GEOLOCATION, LOGIN, MESSAGE, READ, REGISTER, TYPING, UNBAN,
};
use common::Wcc;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// The chats proposal's (CPE#4) edit and delete, request and push alike.
const EDIT: &str = "urn:cadmium:chat:message:edit";
const DELETE: &str = "urn:cadmium:chat:message:delete";

fn err_id(reply: &Value) -> &str {
    assert_eq!(reply["ok"], false, "expected an error, got {reply}");
    reply["payload"]["errID"].as_str().unwrap_or_default()
}

fn ok(reply: &Value) -> &Value {
    assert_eq!(reply["ok"], true, "expected ok, got {reply}");
    &reply["payload"]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cadmium_private_chats_end_to_end() -> anyhow::Result<()> {
    common::run_once(|wcc| Box::pin(scenario(wcc)))
        .await
        .map(drop)
}

async fn scenario(wcc: &Wcc) -> anyhow::Result<()> {
    private_chats(wcc).await.context("private_chats")?;
    // One account every documented step writes to.
    let mut romeo = wcc.cadmium().await?;
    romeo.register("romeo", "wherefore art thou").await?;
    register_with_login_on_success_signs_in(wcc, &mut romeo)
        .await
        .context("register_with_login_on_success_signs_in")?;
    the_login_documents_request_answers_auth_token_and_device_id(wcc)
        .await
        .context("the_login_documents_request_answers_auth_token_and_device_id")?;
    auth_by_password_or_token_authorizes_the_session(wcc, &mut romeo)
        .await
        .context("auth_by_password_or_token_authorizes_the_session")?;
    an_unknown_type_is_unhandled_with_an_err_payload(wcc)
        .await
        .context("an_unknown_type_is_unhandled_with_an_err_payload")?;
    the_sender_edits_and_deletes_and_the_recipient_is_told(wcc, &mut romeo)
        .await
        .context("the_sender_edits_and_deletes_and_the_recipient_is_told")?;
    a_client_that_sends_without_waiting_gets_each_answer_in_order(wcc)
        .await
        .context("a_client_that_sends_without_waiting_gets_each_answer_in_order")?;
    Ok(())
}

/// A client that sends many private messages without waiting: they queue while the first is
/// stored and the channel stores them together (`channel_kit::send_run`). Each is answered in
/// the order sent, with its own id, and the recipient gets them in that order. Within the rate
/// limit's burst (60), so none is refused.
async fn a_client_that_sends_without_waiting_gets_each_answer_in_order(
    wcc: &Wcc,
) -> anyhow::Result<()> {
    const PIPELINED: usize = 30;
    let mut tybalt = wcc.cadmium().await?;
    tybalt.register("tybalt", "prince of cats").await?;
    let mut mercutio = wcc.cadmium().await?;
    mercutio.register("mercutio", "queen mab hath been").await?;
    for k in 0..PIPELINED {
        let frame = tokenless_message(&format!("p{k}"), "@mercutio", &format!("pipelined {k}"));
        tybalt.send_raw(Message::text(frame.to_string())).await?;
    }
    let mut ids = Vec::new();
    for k in 0..PIPELINED {
        let reply = tybalt.reply_to(&format!("p{k}")).await?;
        ids.push(ok(&reply)["messageID"].as_str().unwrap().to_owned());
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), PIPELINED, "each message has its own id");
    for (k, id) in ids.iter().enumerate() {
        let push = mercutio
            .push(MESSAGE, |p| p["from"] == "@tybalt@wcc.local")
            .await?;
        assert_eq!(
            (
                push["payload"]["messageID"].as_str(),
                &push["payload"]["content"]["text"]
            ),
            (Some(id.as_str()), &json!(format!("pipelined {k}"))),
            "delivered in the order sent"
        );
    }
    Ok(())
}

/// The seed's private chats, with wcc's bans, bad input and a venueless user.
async fn private_chats(wcc: &Wcc) -> anyhow::Result<()> {
    // Sign-up, sign-in, and what needs a token.
    let mut alice = wcc.cadmium().await?;
    let reply = alice.register("alice", "correct horse").await?;
    assert_eq!(reply["from"], "wcc.local");
    assert_eq!(ok(&reply)["userID"], "@alice@wcc.local");
    let mut bob = wcc.cadmium().await?;
    bob.register("bob", "battery staple").await?;
    let mut bob_phone = wcc.cadmium().await?;
    assert_eq!(
        err_id(&bob_phone.login("bob", "wrong").await?),
        "invalid_creds"
    );
    let reply = bob_phone.say("@alice@wcc.local", "before login").await?;
    assert_eq!(err_id(&reply), "unauthorized");
    ok(&bob_phone.login("bob", "battery staple").await?);
    let mut mallory = wcc.cadmium().await?;
    let register = |name: &str, password: &str| json!({"username": name, "password": password});
    let reply = mallory
        .request(REGISTER, &[], register("mallory", "short"))
        .await?;
    assert_eq!(
        err_id(&reply),
        "invalid_request",
        "passwords have 8 characters or more"
    );
    let reply = mallory
        .request(REGISTER, &[], register("alice", "a long enough one"))
        .await?;
    assert_eq!(err_id(&reply), "id_exists");

    // A general message: acknowledged with its id, delivered to every session of bob.
    let reply = alice.say("@bob@wcc.local", "hello world").await?;
    let sent = ok(&reply).clone();
    let message_id = sent["messageID"].as_str().unwrap().to_owned();
    assert_eq!(message_id.len(), 36, "a UUID: {message_id}");
    assert!(sent["originServerTimestamp"].as_u64().unwrap() > 1_600_000_000);
    for session in [&mut bob, &mut bob_phone] {
        let push = session
            .push(MESSAGE, |p| {
                p["payload"]["messageID"] == message_id.as_str()
            })
            .await?;
        assert_eq!(push["from"], "@alice@wcc.local");
        assert_eq!(
            push["payload"],
            json!({"messageID": message_id, "originServerTimestamp": sent["originServerTimestamp"],
                   "type": GENERAL, "content": {"text": "hello world"}})
        );
    }

    // Media, audio and a location arrive typed as they were sent.
    let typed = [
        json!({"type": GENERAL, "content": {"text": "", "media": [{"url": "https://upload.example/4a77", "mimeType": "image/jpeg"}]}}),
        json!({"type": AUDIO, "content": {"url": "https://upload.example/voice.ogg"}}),
        json!({"type": GEOLOCATION, "content": {"lat": 59.437, "lon": 24.7536}}),
    ];
    for payload in typed {
        let reply = alice.request(MESSAGE, &["@bob"], payload.clone()).await?;
        let id = ok(&reply)["messageID"].as_str().unwrap().to_owned();
        let push = bob
            .push(MESSAGE, |p| p["payload"]["messageID"] == id.as_str())
            .await?;
        assert_eq!(push["payload"]["type"], payload["type"]);
        assert_eq!(push["payload"]["content"], payload["content"]);
    }

    // A reply names the message it answers; one naming nothing is refused.
    let reply = bob
        .request(
            MESSAGE,
            &["@alice@wcc.local"],
            json!({"type": GENERAL, "reply": message_id, "content": {"text": "hi back"}}),
        )
        .await?;
    let answer_id = ok(&reply)["messageID"].as_str().unwrap().to_owned();
    let push = alice
        .push(MESSAGE, |p| p["payload"]["messageID"] == answer_id.as_str())
        .await?;
    assert_eq!(push["from"], "@bob@wcc.local");
    assert_eq!(push["payload"]["reply"], message_id.as_str());
    let reply = bob
        .request(
            MESSAGE,
            &["@alice"],
            json!({"type": GENERAL, "reply": "00000000-0000-0000-0000-000000000000", "content": {"text": "?"}}),
        )
        .await?;
    assert_eq!(err_id(&reply), "message_not_found");

    // Read receipt: alice (the sender) hears that bob read it.
    let reply = bob
        .request(READ, &["@alice"], json!({"messageID": message_id}))
        .await?;
    assert_eq!(ok(&reply), &json!({}));
    let receipt = alice.push(READ, |_| true).await?;
    assert_eq!(receipt["from"], "@bob@wcc.local");
    assert_eq!(receipt["payload"], json!({"messageID": message_id}));

    // Typing is relayed to the other side.
    ok(&alice.request(TYPING, &["@bob"], json!({})).await?);
    let typing = bob.push(TYPING, |_| true).await?;
    assert_eq!(typing["from"], "@alice@wcc.local");
    assert_eq!(typing["payload"], json!({}));

    // Bans: a banned sender is told so, until the ban is lifted.
    ok(&bob.request(BAN, &[], json!({"user": "@alice"})).await?);
    let reply = alice.say("@bob", "let me in").await?;
    assert_eq!(
        reply["payload"],
        json!({"errID": "banned", "errText": "The user banned you", "errPayload": {}})
    );
    ok(&bob.request(UNBAN, &[], json!({"user": "@alice"})).await?);
    ok(&alice.say("@bob", "thanks").await?);

    // Bad input is answered and the connection keeps working.
    alice.send_raw(Message::text("{not json")).await?;
    assert_eq!(err_id(&alice.recv().await?), "malformed_message");
    alice
        .send_raw(Message::binary(vec![0xde, 0xad, 0xbe, 0xef]))
        .await?;
    assert_eq!(err_id(&alice.recv().await?), "malformed_message");
    let reply = alice
        .request(
            MESSAGE,
            &["@bob"],
            json!({"type": GEOLOCATION, "content": {"lat": 123.0, "lon": 0}}),
        )
        .await?;
    assert_eq!(err_id(&reply), "invalid_request");
    let reply = alice.request("urn:cadmium:nope", &[], json!({})).await?;
    assert_eq!(err_id(&reply), "unhandled");
    let reply = alice.say("@nobody@wcc.local", "hello?").await?;
    assert_eq!(err_id(&reply), "user_not_found");

    // The token works on a fresh connection without logging in again.
    let mut alice_laptop = wcc.cadmium().await?;
    alice_laptop.token = alice.token.clone();
    ok(&alice_laptop.say("@bob", "from my laptop").await?);
    let reply = alice_laptop
        .request(LOGIN, &[], json!({"username": "alice", "password": "nope"}))
        .await?;
    assert_eq!(err_id(&reply), "invalid_creds");

    // A direct message to a venueless user, and their answer back.
    let mut vera = wcc.venueless().await?;
    let vera_id = vera.login("client-vera", Some("Vera")).await?;
    let reply = alice
        .say(&format!("@{vera_id}@wcc.local"), "hi Vera, from Cadmium")
        .await?;
    ok(&reply);
    let event = vera
        .chat_event(|e| e["channel"] == vera_id.as_str() && e["sender"] == "alice")
        .await?;
    assert_eq!(
        event["content"],
        json!({"type": "text", "body": "hi Vera, from Cadmium"})
    );
    let reply = vera
        .request(
            "chat.send",
            json!({"channel": "alice", "event_type": "channel.message",
                   "content": {"type": "text", "body": "hi Alice, from venueless"}}),
        )
        .await?;
    assert_eq!(reply[0], "success", "{reply}");
    let push = alice
        .push(MESSAGE, |p| p["from"] == format!("@{vera_id}@wcc.local"))
        .await?;
    assert_eq!(
        push["payload"]["content"],
        json!({"text": "hi Alice, from venueless"})
    );
    assert_eq!(push["payload"]["type"], GENERAL);
    Ok(())
}

/// Sends `frame` as it is (no token added) and returns the server's reply to its `id`.
async fn documented(client: &mut Cadmium, frame: Value) -> anyhow::Result<Value> {
    let id = frame["id"].as_str().unwrap_or_default().to_owned();
    client.send_raw(Message::text(frame.to_string())).await?;
    client.reply_to(&id).await
}

/// A general text message `to` one user written as a plain string, with no `authToken`: what a
/// client whose session is authorized sends.
fn tokenless_message(id: &str, to: &str, text: &str) -> Value {
    json!({"id": id, "type": MESSAGE, "to": to,
           "payload": {"type": GENERAL, "content": {"text": text}}})
}

/// The message `text` as `recipient` receives it, from `from`.
async fn received(recipient: &mut Cadmium, from: &str, text: &str) -> anyhow::Result<Value> {
    let push = recipient
        .push(MESSAGE, |p| p["payload"]["content"]["text"] == text)
        .await?;
    assert_eq!(push["from"], from);
    Ok(push)
}

/// Registration document: `profile:register` to the server as a string, with `thirdPIDs` and
/// `loginOnSuccess`, answers `{userID, loginPayload: {authToken, deviceID}}` and signs the
/// connection in: its next request needs no token, and the token works elsewhere.
async fn register_with_login_on_success_signs_in(
    wcc: &Wcc,
    romeo: &mut Cadmium,
) -> anyhow::Result<()> {
    let mut juliet = wcc.cadmium().await?;
    let reply = documented(
        &mut juliet,
        json!({"id": "abcd", "type": "profile:register", "to": "cadmium.org",
               "payload": {"username": "juliet",
                           "thirdPIDs": [{"type": "email", "value": "juliet@capulett.com"},
                                         {"type": "msisdn", "value": "+1234567890"}],
                           "password": "romeo, romeo", "loginOnSuccess": true}}),
    )
    .await?;
    assert_eq!(reply["type"], "profile:register");
    assert_eq!(reply["from"], "wcc.local");
    let payload = ok(&reply);
    assert_eq!(payload["userID"], "@juliet@wcc.local");
    let token = payload["loginPayload"]["authToken"]
        .as_str()
        .context("no loginPayload.authToken")?
        .to_owned();
    assert!(payload["loginPayload"]["deviceID"].is_string(), "{reply}");

    let reply = documented(
        &mut juliet,
        tokenless_message("m1", "@romeo@cadmium.org", "signed in by registering"),
    )
    .await?;
    ok(&reply);
    received(romeo, "@juliet@wcc.local", "signed in by registering").await?;

    let mut juliet_phone = wcc.cadmium().await?;
    juliet_phone.token = Some(token);
    ok(&juliet_phone
        .say("@romeo", "the same token, elsewhere")
        .await?);
    received(romeo, "@juliet@wcc.local", "the same token, elsewhere").await?;
    Ok(())
}

/// Login document: `profile:login` to the server as a string answers `{authToken, deviceID}`;
/// a wrong password `invalid_creds` with an `errPayload`.
async fn the_login_documents_request_answers_auth_token_and_device_id(
    wcc: &Wcc,
) -> anyhow::Result<()> {
    let mut juliet = wcc.cadmium().await?;
    let login = |password: &str| {
        json!({"id": "abcd", "type": "profile:login", "to": "cadmium.org",
               "payload": {"username": "juliet", "password": password}})
    };
    let reply = documented(&mut juliet, login("romeo1")).await?;
    assert_eq!(
        reply["payload"]["errID"], "invalid_creds",
        "the documented error: {reply}"
    );
    assert_eq!(reply["payload"]["errPayload"], json!({}));
    let reply = documented(&mut juliet, login("romeo, romeo")).await?;
    assert_eq!(reply["type"], "profile:login");
    let payload = ok(&reply);
    assert!(payload["authToken"].is_string() && payload["deviceID"].is_string());
    Ok(())
}

/// Core document: `urn:cadmium:auth` by `login_password` answers `{token, deviceID}`; by
/// `token`, on another connection, `ok`; either way the session is authorized and its requests
/// carry no `authToken`.
async fn auth_by_password_or_token_authorizes_the_session(
    wcc: &Wcc,
    romeo: &mut Cadmium,
) -> anyhow::Result<()> {
    let mut juliet = wcc.cadmium().await?;
    let reply = documented(
        &mut juliet,
        json!({"id": "abcd", "type": "urn:cadmium:auth", "to": ["cadmium.org"],
               "payload": {"type": "urn:cadmium:auth:login_password",
                           "fields": {"username": "juliet", "password": "romeo, romeo"}}}),
    )
    .await?;
    assert_eq!(reply["type"], "urn:cadmium:auth");
    let token = ok(&reply)["token"].as_str().context("no token")?.to_owned();
    assert!(reply["payload"]["deviceID"].is_string(), "{reply}");
    let reply = documented(
        &mut juliet,
        tokenless_message("m2", "@romeo@cadmium.org", "authorized by password"),
    )
    .await?;
    ok(&reply);
    received(romeo, "@juliet@wcc.local", "authorized by password").await?;

    let mut juliet_tablet = wcc.cadmium().await?;
    let reply = documented(
        &mut juliet_tablet,
        json!({"id": "abcd", "type": "urn:cadmium:auth", "to": ["cadmium.org"],
               "payload": {"type": "urn:cadmium:auth:token", "fields": {"token": token}}}),
    )
    .await?;
    assert_eq!(
        reply,
        json!({"id": "abcd", "type": "urn:cadmium:auth", "from": "wcc.local", "ok": true,
               "payload": {}})
    );
    let reply = documented(
        &mut juliet_tablet,
        tokenless_message("m3", "@romeo@cadmium.org", "authorized by token"),
    )
    .await?;
    ok(&reply);
    received(romeo, "@juliet@wcc.local", "authorized by token").await?;
    // Messages to juliet reach the session the token authorized.
    ok(&romeo.say("@juliet@wcc.local", "goodnight").await?);
    received(&mut juliet_tablet, "@romeo@wcc.local", "goodnight").await?;

    // A connection that never signed in is still refused.
    let mut stranger = wcc.cadmium().await?;
    let reply = documented(
        &mut stranger,
        tokenless_message("m4", "@romeo@cadmium.org", "who goes there"),
    )
    .await?;
    assert_eq!(err_id(&reply), "unauthorized");
    Ok(())
}

/// Protocol errors document: its request, `from` and all, answers exactly its response's error.
async fn an_unknown_type_is_unhandled_with_an_err_payload(wcc: &Wcc) -> anyhow::Result<()> {
    let mut client = wcc.cadmium().await?;
    let reply = documented(
        &mut client,
        json!({"id": "abcd", "type": "incorrectMessageType", "from": "@juliet@cadmium.im",
               "to": "cadmium.im", "payload": {"test": "test"}}),
    )
    .await?;
    assert_eq!(reply["type"], "incorrectMessageType");
    assert_eq!(reply["from"], "wcc.local");
    assert_eq!(err_id(&reply), "unhandled");
    assert_eq!(reply["payload"]["errPayload"], json!({}));
    // The connection carries on.
    let reply = documented(
        &mut client,
        json!({"id": "abce", "type": "profile:login", "to": "cadmium.org",
               "payload": {"thirdPID": "juliet@capulett.com", "password": "romeo, romeo"}}),
    )
    .await?;
    assert_eq!(
        err_id(&reply),
        "invalid_creds",
        "wcc keeps no third-party ids"
    );
    Ok(())
}

/// Chats proposal: the sender edits (`eventID`, `updatedContent`) and deletes (`eventID`) a
/// message; the recipient gets each as the same type. Someone else cannot.
async fn the_sender_edits_and_deletes_and_the_recipient_is_told(
    wcc: &Wcc,
    romeo: &mut Cadmium,
) -> anyhow::Result<()> {
    let mut juliet = wcc.cadmium().await?;
    ok(&juliet.login("juliet", "romeo, romeo").await?);
    let reply = juliet.say("@romeo@wcc.local", "parting is such").await?;
    let id = ok(&reply)["messageID"]
        .as_str()
        .context("no messageID")?
        .to_owned();
    received(romeo, "@juliet@wcc.local", "parting is such").await?;

    let edited = json!({"text": "parting is such sweet sorrow"});
    let reply = juliet
        .request(EDIT, &[], json!({"eventID": id, "updatedContent": edited}))
        .await?;
    assert_eq!(ok(&reply), &json!({}));
    let push = romeo
        .push(EDIT, |p| p["payload"]["eventID"] == id.as_str())
        .await?;
    assert_eq!(push["from"], "@juliet@wcc.local");
    assert_eq!(push["payload"]["updatedContent"], edited);
    assert_eq!(push["payload"]["type"], GENERAL);

    // The recipient may not change what juliet wrote.
    let reply = romeo.request(DELETE, &[], json!({"eventID": id})).await?;
    assert_eq!(err_id(&reply), "unauthorized");

    let reply = juliet
        .request(
            DELETE,
            &[],
            json!({"eventID": format!("&msg:{id}@wcc.local")}),
        )
        .await?;
    assert_eq!(ok(&reply), &json!({}));
    let push = romeo
        .push(DELETE, |p| p["payload"]["eventID"] == id.as_str())
        .await?;
    assert_eq!(push["from"], "wcc.local");
    let reply = juliet
        .request(EDIT, &[], json!({"eventID": id, "updatedContent": edited}))
        .await?;
    assert_eq!(
        err_id(&reply),
        "message_not_found",
        "a deleted message is gone"
    );
    Ok(())
}
