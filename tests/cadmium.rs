//! Cadmium private chats end to end on a real lattice: sign-up and sign-in, every message type,
//! replies, read receipts, typing, bans, bad input, and direct messages crossing to a venueless
//! user and back.

mod common;

use common::cadmium::{
    AUDIO, BAN, GENERAL, GEOLOCATION, LOGIN, MESSAGE, READ, REGISTER, TYPING, UNBAN,
};
use common::Wcc;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

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
        json!({"errID": "banned", "errText": "The user banned you"})
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
    assert_eq!(err_id(&reply), "unknown_type");
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
