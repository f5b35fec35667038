//! venueless chat end to end on a real lattice: three websocket clients, the admin API, a plain
//! NATS observer, and every kind of bad input.

mod common;

use common::{Observer, Venueless, Wcc};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

fn code(reply: &Value) -> &str {
    assert_eq!(reply[0], "error", "expected an error, got {reply}");
    reply[2]["code"].as_str().unwrap_or_default()
}

fn ok(reply: &Value) -> &Value {
    assert_eq!(reply[0], "success", "expected success, got {reply}");
    &reply[2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn venueless_chat_end_to_end() -> anyhow::Result<()> {
    let wcc = common::run_once(|wcc| Box::pin(scenario(wcc))).await?;
    wcc.lattice.shutdown().await?;
    Ok(())
}

async fn scenario(wcc: &Wcc) -> anyhow::Result<()> {
    let nats = wcc.nats().await?;
    let mut observer = Observer::start(&nats).await?;

    // The admin API is closed without the token and creates rooms with it.
    let (status, _) =
        tokio::task::block_in_place(|| wcc.admin_request("GET", "/rooms", None, false))?;
    assert_eq!(status, 401);
    wcc.create_room("lobby").await?;
    wcc.create_room("side").await?;
    let (status, body) = wcc
        .admin("POST", "/rooms", Some(json!({"id": "lobby"})))
        .await?;
    assert_eq!(
        (status, &body["created"]),
        (200, &json!(false)),
        "second create reports the room existed"
    );

    let mut alice = wcc.venueless().await?;
    let mut bob = wcc.venueless().await?;
    let mut carol = wcc.venueless().await?;

    // Before authenticating only ping works.
    let reply = alice
        .request("chat.join", json!({"channel": "lobby"}))
        .await?;
    assert_eq!(code(&reply), "protocol.unauthenticated");
    alice.send_raw(Message::text(r#"["ping", 12345]"#)).await?;
    assert_eq!(alice.push("pong").await?, json!(["pong", 12345]));

    // Joining needs a profile.
    let alice_id = alice.login("client-alice", None).await?;
    let reply = alice
        .request("chat.join", json!({"channel": "lobby"}))
        .await?;
    assert_eq!(code(&reply), "channel.join.missing_profile");
    ok(&alice
        .request("user.update", json!({"profile": {"display_name": "Alice"}}))
        .await?);
    let bob_id = bob.login("client-bob", Some("Bob")).await?;
    let carol_id = carol.login("client-carol", Some("Carol")).await?;
    assert!(alice_id != bob_id && bob_id != carol_id);

    let joined = alice
        .request("chat.join", json!({"channel": "lobby"}))
        .await?;
    let joined = ok(&joined);
    assert_eq!(joined["state"]["id"], "lobby");
    assert_eq!(joined["next_event_id"], 1);
    assert!(joined["members"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["id"] == alice_id.as_str()));
    ok(&bob
        .request("chat.join", json!({"channel": "lobby"}))
        .await?);
    // Carol only subscribes: she reads but may not send.
    let subscribed = carol
        .request("chat.subscribe", json!({"channel": "lobby"}))
        .await?;
    let subscribed = ok(&subscribed);
    assert_eq!(
        subscribed["members"].as_array().unwrap().len(),
        2,
        "{subscribed}"
    );
    assert!(subscribed.get("next_event_id").is_some());

    // Alice sees Bob join as a channel.member event.
    let member = alice
        .chat_event(|e| e["event_type"] == "channel.member" && e["sender"] == bob_id.as_str())
        .await?;
    assert_eq!(member["content"]["membership"], "join");
    assert_eq!(member["content"]["user"]["profile"]["display_name"], "Bob");

    // Three messages reach all three subscribers, the sender included, in order.
    for n in 1..=3 {
        let reply = alice
            .request("chat.send", json!({"channel": "lobby", "event_type": "channel.message", "content": {"type": "text", "body": format!("hello {n}")}}))
            .await?;
        ok(&reply);
    }
    for client in [&mut alice, &mut bob, &mut carol] {
        let mut last = 0;
        for n in 1..=3 {
            let event = client
                .chat_event(|e| e["event_type"] == "channel.message")
                .await?;
            assert_eq!(event["channel"], "lobby");
            assert_eq!(event["sender"], alice_id.as_str());
            assert_eq!(
                event["content"],
                json!({"type": "text", "body": format!("hello {n}")})
            );
            let id = event["event_id"].as_u64().unwrap();
            assert!(id > last, "event ids increase: {id} after {last}");
            last = id;
        }
    }

    // Sending to a room not joined is refused, whether subscribed or not.
    let reply = carol
        .request("chat.send", json!({"channel": "lobby", "event_type": "channel.message", "content": {"type": "text", "body": "hi"}}))
        .await?;
    assert_eq!(code(&reply), "chat.denied");
    let reply = bob
        .request("chat.send", json!({"channel": "side", "event_type": "channel.message", "content": {"type": "text", "body": "hi"}}))
        .await?;
    assert_eq!(code(&reply), "chat.denied");
    let reply = bob
        .request("chat.join", json!({"channel": "no-such-room"}))
        .await?;
    assert_eq!(code(&reply), "channel.unknown");

    // Malformed frames get errors and the connection stays usable.
    bob.send_raw(Message::text("this is not json")).await?;
    assert_eq!(bob.push("error").await?[1]["code"], "protocol.invalid_json");
    bob.send_raw(Message::text(r#"{"action": "chat.send"}"#))
        .await?;
    assert_eq!(bob.push("error").await?[1]["code"], "protocol.malformed");
    let reply = bob.request("chat.explode", json!({})).await?;
    assert_eq!(code(&reply), "protocol.unknown_action");
    let reply = bob
        .request("chat.send", json!({"channel": 5, "content": "x"}))
        .await?;
    assert!(
        code(&reply).starts_with("protocol.") || code(&reply).starts_with("chat."),
        "{reply}"
    );
    bob.send_raw(Message::text("x".repeat(2 * 1024 * 1024)))
        .await?;
    assert_eq!(
        bob.push("error").await?[1]["code"],
        "protocol.frame_too_large"
    );
    bob.send_raw(Message::binary(vec![0xff, 0x00, 0x13]))
        .await?;
    assert_eq!(
        bob.push("error").await?[1]["code"],
        "protocol.unsupported_encoding"
    );
    bob.send_raw(Message::text(r#"["ping", 7]"#)).await?;
    assert_eq!(bob.push("pong").await?, json!(["pong", 7]));
    ok(&bob.request("chat.send", json!({"channel": "lobby", "event_type": "channel.message", "content": {"type": "text", "body": "still here"}})).await?);
    let event = alice
        .chat_event(|e| e["content"]["body"] == "still here")
        .await?;
    assert_eq!(event["sender"], bob_id.as_str());
    assert_eq!(event["event_id"], 4);

    // History survives in order.
    let history = alice
        .request(
            "chat.fetch",
            json!({"channel": "lobby", "count": 10, "before_id": 5}),
        )
        .await?;
    let bodies: Vec<_> = ok(&history)["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["content"]["body"].clone())
        .collect();
    assert_eq!(
        bodies,
        vec![
            json!("hello 1"),
            json!("hello 2"),
            json!("hello 3"),
            json!("still here")
        ]
    );

    // Leaving is seen by the others; unsubscribing stops delivery.
    ok(&bob
        .request("chat.leave", json!({"channel": "lobby"}))
        .await?);
    let left = alice
        .chat_event(|e| {
            e["event_type"] == "channel.member" && e["content"]["membership"] == "leave"
        })
        .await?;
    assert_eq!(left["sender"], bob_id.as_str());
    ok(&carol
        .request("chat.unsubscribe", json!({"channel": "lobby"}))
        .await?);

    // Presence counts the three sessions, then forgets a closed one.
    let (_, online) = wcc.admin("GET", "/online", None).await?;
    for id in [&alice_id, &bob_id, &carol_id] {
        assert!(
            online
                .as_array()
                .unwrap()
                .iter()
                .any(|u| u["user"] == id.as_str()),
            "{id} online: {online}"
        );
    }
    // The gateway reports its connections and deliveries to operators over NATS.
    let stats = nats.request("wcc.gateway.stats", "".into()).await?;
    let stats: serde_json::Value = serde_json::from_slice(&stats.payload)?;
    assert_eq!(stats["connections"], 3, "gateway stats: {stats}");
    assert!(
        stats["deliveries"].as_u64().unwrap() >= 9,
        "gateway stats: {stats}"
    );
    assert!(
        stats["rss_bytes"].as_u64().unwrap() > 0,
        "gateway stats: {stats}"
    );

    carol.close().await?;
    observer
        .wait_for("UserLoggedOut", |e| e["data"]["user"] == carol_id.as_str())
        .await?;
    let deadline = tokio::time::Instant::now() + common::REPLY_TIMEOUT;
    loop {
        let (_, online) = wcc.admin("GET", "/online", None).await?;
        if !online
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["user"] == carol_id.as_str())
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "carol still online: {online}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    // Any NATS client saw the six event kinds of the seed.
    observer
        .wait_for("UserLoggedIn", |e| {
            e["data"]["user"] == alice_id.as_str() && e["subject"] == "wcc.events"
        })
        .await?;
    observer
        .wait_for("UserJoined", |e| {
            e["data"]["room"] == "lobby" && e["subject"] == "wcc.events.rooms.lobby"
        })
        .await?;
    let published = observer
        .wait_for("MessagePublished", |e| {
            e["data"]["message"]["content"]["body"] == "hello 1"
        })
        .await?;
    assert_eq!(published["subject"], "wcc.events.rooms.lobby");
    observer
        .wait_for("MessageDelivered", |e| {
            e["data"]["event_id"] == 1 && e["data"]["channel"] == "venueless"
        })
        .await?;
    observer
        .wait_for("UserLeft", |e| e["data"]["user"] == bob_id.as_str())
        .await?;

    let _ = Venueless::close(alice).await;
    Ok(())
}
