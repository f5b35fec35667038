//! Strangers on every protocol, end to end on a real lattice: a user's direct room (their
//! inbox) and a private room they are not in can be neither heard, joined, listened to, paged,
//! fetched by id, edited nor cleared by anyone else, over venueless, Cadmium, actionhero (TCP
//! lines and websocket) and Rebuttal — not even by a Rebuttal administrator who holds every
//! permission. Each attempt gets its protocol's own refusal; nothing private arrives live, and
//! every stored message is still there, unchanged, for its owner.

mod common;

use anyhow::{ensure, Context, Result};
use common::cadmium::{MESSAGE, READ};
use common::rebuttal::ADMIN_EMAIL;
use common::Wcc;
use serde_json::{json, Value};

/// Every private message carries this; no stranger's socket may ever show it.
const SECRET: &str = "secret";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_see_nothing_private_on_any_protocol() -> Result<()> {
    let wcc = Wcc::start().await?;
    let result = scenario(&wcc).await;
    if result.is_err() {
        eprintln!("lattice logs kept at {}", wcc.keep_logs()?.display());
    }
    result
}

async fn scenario(wcc: &Wcc) -> Result<()> {
    // The victim reads on venueless; `staff` is a private room the operator put them in;
    // `lobby` is public, where strangers legitimately are.
    let mut victim = wcc.venueless().await?;
    let victim_id = victim.login("victim", Some("Victim")).await?;
    wcc.create_room("lobby").await?;
    let (status, body) = wcc
        .admin(
            "POST",
            "/rooms",
            Some(json!({"id": "staff", "name": "Staff", "kind": "private"})),
        )
        .await?;
    ensure!(status == 201, "private room not created: {status} {body}");
    let (status, body) = wcc
        .admin("PUT", &format!("/rooms/staff/members/{victim_id}"), None)
        .await?;
    ensure!(status == 200, "victim not added to staff: {status} {body}");

    // bob writes to the victim's inbox over Cadmium; the victim writes in staff.
    let mut bob = wcc.cadmium().await?;
    bob.register("bob", "battery staple").await?;
    let victim_address = format!("@{victim_id}@wcc.local");
    let reply = bob.say(&victim_address, "secret one").await?;
    let dm_id = reply["payload"]["messageID"]
        .as_str()
        .with_context(|| format!("DM not sent: {reply}"))?
        .to_owned();
    victim
        .chat_event(|e| e["content"]["body"] == "secret one")
        .await?;
    let reply = victim
        .request("chat.subscribe", json!({"channel": "staff"}))
        .await?;
    ensure!(
        reply[0] == "success",
        "the member cannot watch staff: {reply}"
    );
    let reply = victim
        .request(
            "chat.send",
            json!({"channel": "staff", "event_type": "channel.message",
                   "content": {"type": "text", "body": "secret staff"}}),
        )
        .await?;
    ensure!(
        reply[0] == "success",
        "the member cannot write in staff: {reply}"
    );

    let private = [victim_id.as_str(), "staff"];

    // venueless: every chat action on both rooms is `chat.denied`.
    let mut v_stranger = wcc.venueless().await?;
    v_stranger.login("v-stranger", Some("Stranger")).await?;
    ensure!(
        v_stranger
            .request("chat.join", json!({"channel": "lobby"}))
            .await?[0]
            == "success"
    );
    for room in private {
        for (action, payload) in [
            ("chat.subscribe", json!({"channel": room})),
            ("chat.join", json!({"channel": room})),
            ("chat.fetch", json!({"channel": room, "count": 50})),
            (
                "chat.send",
                json!({"channel": room, "event_type": "channel.message",
                       "content": {"type": "text", "body": "edited"}, "replaces": 1}),
            ),
            (
                "chat.send",
                json!({"channel": room, "event_type": "channel.message",
                       "content": {"type": "deleted"}, "replaces": 1}),
            ),
            // Reactions and read pointers are the core's: a stranger neither reacts to a
            // private message (which would tell it the message exists) nor keeps a pointer.
            (
                "chat.react",
                json!({"channel": room, "event": 1, "reaction": "👍"}),
            ),
            ("chat.mark_read", json!({"channel": room, "id": 1})),
        ] {
            let reply = v_stranger.request(action, payload.clone()).await?;
            ensure!(
                reply[0] == "error" && reply[2]["code"] == "chat.denied",
                "venueless {action} {payload} on {room}: {reply}"
            );
        }
    }
    // Writing into staff is refused too (a DM into the inbox is not: that is what inboxes are).
    let reply = v_stranger
        .request(
            "chat.send",
            json!({"channel": "staff", "event_type": "channel.message",
                   "content": {"type": "text", "body": "let me in"}}),
        )
        .await?;
    ensure!(
        reply[2]["code"] == "chat.denied",
        "venueless send to staff: {reply}"
    );

    // actionhero, both transports: no room change into them, no listening to them.
    let mut a_lines = wcc.actionhero_lines().await?;
    let mut a_ws = wcc.actionhero_websocket().await?;
    for (transport, client) in [("lines", &mut a_lines), ("websocket", &mut a_ws)] {
        for room in private {
            for verb in ["roomChange", "listenToRoom"] {
                let reply = client.request(&format!("{verb} {room}")).await?;
                // Upstream puts a refused verb's reason in `status`, with `data: false`.
                ensure!(
                    reply["status"] != "OK"
                        && reply["status"].is_string()
                        && reply["data"] == false,
                    "actionhero {transport} {verb} {room}: {reply}"
                );
            }
        }
        let reply = client.request("roomView").await?;
        ensure!(
            reply["data"]["room"] == "defaultRoom",
            "actionhero {transport} left its own room: {reply}"
        );
    }

    // Cadmium: a message id of someone else's conversation names nothing, for reading or
    // replying.
    let mut c_stranger = wcc.cadmium().await?;
    c_stranger.register("mallory", "mallory's password").await?;
    let reply = c_stranger
        .request(READ, &[], json!({"messageID": dm_id}))
        .await?;
    ensure!(
        reply["payload"]["errID"] == "message_not_found",
        "Cadmium read receipt for another's DM: {reply}"
    );
    let reply = c_stranger
        .request(
            MESSAGE,
            &["@bob@wcc.local"],
            json!({"type": common::cadmium::GENERAL, "content": {"text": "re"}, "reply": dm_id}),
        )
        .await?;
    ensure!(
        reply["payload"]["errID"] == "message_not_found",
        "Cadmium reply to another's DM: {reply}"
    );

    // Rebuttal: an administrator with every permission is still a stranger to these rooms.
    let mut admin = wcc.rebuttal().await?;
    admin.signup("Root", ADMIN_EMAIL, "signup").await?;
    for room in private {
        for packet in [
            json!({"type": "getmessages", "roomid": room, "segment": 0}),
            json!({"type": "updatemessage", "roomid": room, "messageid": 1,
                   "message": {"text": "edited"}}),
            json!({"type": "removemessage", "roomid": room, "messageid": 1}),
            json!({"type": "joinroom", "roomid": room}),
        ] {
            let error = admin.refused(packet.clone()).await?;
            ensure!(!error.is_empty(), "Rebuttal {packet}: no refusal");
        }
    }

    // Live: new private messages reach the victim, and only the victim.
    let reply = bob.say(&victim_address, "secret two").await?;
    ensure!(reply["ok"] == true, "second DM refused: {reply}");
    victim
        .chat_event(|e| e["content"]["body"] == "secret two")
        .await?;
    let reply = victim
        .request(
            "chat.send",
            json!({"channel": "staff", "event_type": "channel.message",
                   "content": {"type": "text", "body": "secret staff two"}}),
        )
        .await?;
    ensure!(reply[0] == "success", "{reply}");

    // A marker sent after them reaches each stranger where it legitimately listens; anything
    // private would have arrived before it.
    let (status, _) = wcc
        .admin(
            "POST",
            "/rooms/lobby/broadcast",
            Some(json!({"message": "marker"})),
        )
        .await?;
    ensure!(status == 201);
    let (status, _) = wcc
        .admin(
            "POST",
            "/rooms/defaultRoom/broadcast",
            Some(json!({"message": "marker"})),
        )
        .await?;
    ensure!(status == 201);
    v_stranger
        .chat_event(|e| e["content"]["body"] == "marker")
        .await?;
    ensure!(!v_stranger.saw(SECRET), "venueless stranger heard a secret");
    for (transport, client) in [("lines", &mut a_lines), ("websocket", &mut a_ws)] {
        client.chat("marker").await?;
        ensure!(
            !client.saw(SECRET),
            "actionhero {transport} stranger heard a secret"
        );
    }
    admin
        .expect("sendMessage", |p| p["message"]["text"] == "marker")
        .await?;
    ensure!(!admin.saw(SECRET), "Rebuttal admin heard a secret");
    bob.say("@mallory@wcc.local", "marker").await?;
    c_stranger
        .push(MESSAGE, |p| p["payload"]["content"]["text"] == "marker")
        .await?;
    ensure!(!c_stranger.saw(SECRET), "Cadmium stranger heard a secret");

    // Stored: everything is still there, unedited, for its owner.
    for (room, expected) in [
        (victim_id.as_str(), ["secret one", "secret two"]),
        ("staff", ["secret staff", "secret staff two"]),
    ] {
        let page = victim
            .request("chat.fetch", json!({"channel": room, "count": 50}))
            .await?;
        let bodies: Vec<&Value> = page[2]["results"]
            .as_array()
            .with_context(|| format!("no history of {room}: {page}"))?
            .iter()
            .map(|event| &event["content"]["body"])
            .collect();
        ensure!(
            bodies == expected.map(Value::from).iter().collect::<Vec<_>>(),
            "history of {room} changed: {page}"
        );
    }
    Ok(())
}
