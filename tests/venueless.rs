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

    many_connections_at_once_each_get_their_own_answers(wcc).await?;

    let _ = Venueless::close(alice).await;
    Ok(())
}

/// Connections that send at the same moment, so their calls into the channel and the core are
/// in flight together, and one that sends without waiting: each connection gets the answers to
/// its own requests, in its own order, each message its own event id, and history holds every
/// message once.
async fn many_connections_at_once_each_get_their_own_answers(wcc: &Wcc) -> anyhow::Result<()> {
    const CROWD: usize = 20;
    const EACH: usize = 3;
    wcc.create_room("crowd").await?;
    let mut crowd = Vec::new();
    for n in 0..CROWD {
        let mut client = wcc.venueless().await?;
        let id = client
            .login(&format!("client-crowd-{n}"), Some(&format!("Crowd {n}")))
            .await?;
        ok(&client
            .request("chat.join", json!({"channel": "crowd"}))
            .await?);
        crowd.push((client, id));
    }
    let sent = futures::future::try_join_all(crowd.iter_mut().enumerate().map(
        |(n, (client, id))| async move {
            let mut event_ids = Vec::new();
            for k in 0..EACH {
                let body = format!("crowd {n}.{k}");
                let reply = client
                    .request("chat.send", json!({"channel": "crowd", "event_type": "channel.message", "content": {"type": "text", "body": body}}))
                    .await?;
                let event = &ok(&reply)["event"];
                assert_eq!(event["content"]["body"], body.as_str(), "{reply}");
                assert_eq!(event["sender"], id.as_str(), "{reply}");
                event_ids.push(event["event_id"].as_u64().unwrap());
            }
            anyhow::Ok(event_ids)
        },
    ))
    .await?;
    let mut all: Vec<u64> = Vec::new();
    for event_ids in &sent {
        assert!(
            event_ids.windows(2).all(|w| w[0] < w[1]),
            "one sender's messages keep their order: {event_ids:?}"
        );
        all.extend(event_ids);
    }
    all.sort_unstable();
    all.dedup();
    assert_eq!(
        all.len(),
        CROWD * EACH,
        "every message has its own event id"
    );

    // One client that does not wait for answers, in a room of its own: its frames queue while
    // its first call runs, and the gateway hands them to the channel in batches (more than 16
    // at once), which the channel stores together (`process-messages`). Each is answered in
    // order, and the room's history holds each once, in the order sent. Within the rate
    // limit's burst (60), so none is refused.
    const PIPELINED: usize = 40;
    wcc.create_room("pipeline").await?;
    let (eager, eager_id) = &mut crowd[1];
    ok(&eager
        .request("chat.join", json!({"channel": "pipeline"}))
        .await?);
    let first_request = eager.next_id;
    for k in 0..PIPELINED {
        let body = format!("pipelined {k}");
        let frame = json!(["chat.send", first_request + k as u64, {"channel": "pipeline", "event_type": "channel.message", "content": {"type": "text", "body": body}}]);
        eager.send_raw(Message::text(frame.to_string())).await?;
    }
    eager.next_id += PIPELINED as u64;
    let mut last = 0;
    for k in 0..PIPELINED {
        let reply = eager.reply_to(first_request + k as u64).await?;
        let event = &ok(&reply)["event"];
        assert_eq!(
            event["content"]["body"],
            format!("pipelined {k}"),
            "{reply}"
        );
        assert_eq!(event["sender"], eager_id.as_str(), "{reply}");
        let event_id = event["event_id"].as_u64().unwrap();
        assert!(
            event_id > last,
            "in the order sent: {event_id} after {last}"
        );
        last = event_id;
    }
    let history = eager
        .request("chat.fetch", json!({"channel": "pipeline", "count": 100}))
        .await?;
    let mut pipelined: Vec<(u64, String)> = ok(&history)["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == "channel.message")
        .map(|e| {
            let body = e["content"]["body"].as_str().unwrap_or_default();
            (e["event_id"].as_u64().unwrap(), body.to_owned())
        })
        .collect();
    pipelined.sort();
    let bodies: Vec<String> = pipelined.into_iter().map(|(_, body)| body).collect();
    let expected: Vec<String> = (0..PIPELINED).map(|k| format!("pipelined {k}")).collect();
    assert_eq!(bodies, expected, "stored once each, in the order sent");

    let (reader, _) = &mut crowd[0];
    let history = reader
        .request("chat.fetch", json!({"channel": "crowd", "count": 100}))
        .await?;
    let mut bodies: Vec<String> = ok(&history)["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == "channel.message")
        .map(|e| e["content"]["body"].as_str().unwrap_or_default().to_owned())
        .collect();
    bodies.sort();
    let mut expected: Vec<String> = (0..CROWD)
        .flat_map(|n| (0..EACH).map(move |k| format!("crowd {n}.{k}")))
        .collect();
    expected.sort();
    assert_eq!(bodies, expected, "every message is stored exactly once");
    for (client, _) in crowd {
        let _ = client.close().await;
    }
    Ok(())
}

/// The upstream webapp (venueless/venueless `webapp/`) against wcc: each step below is named
/// after what the webapp's store or components do with wcc's packets, and sends what the webapp
/// sends. One lattice serves every step; they run in order and build on each other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn venueless_webapp_end_to_end() -> anyhow::Result<()> {
    let wcc = common::run_once(|wcc| Box::pin(webapp(wcc))).await?;
    wcc.lattice.shutdown().await?;
    Ok(())
}

/// Who takes part: Ann on a laptop and a phone, Bob elsewhere.
struct Webapp {
    laptop: Venueless,
    phone: Venueless,
    bob: Venueless,
    ann: String,
    bob_id: String,
}

async fn webapp(wcc: &Wcc) -> anyhow::Result<()> {
    wcc.create_room("lobby").await?;
    let (laptop, state) = sign_in(wcc, "webapp-ann").await?;
    the_webapp_store_finds_world_config_in_authenticated(&state);
    let ann = state["user.config"]["id"].as_str().unwrap().to_owned();
    let (phone, _) = sign_in(wcc, "webapp-ann").await?;
    let (mut bob, bob_state) = sign_in(wcc, "webapp-bob").await?;
    let bob_id = bob_state["user.config"]["id"].as_str().unwrap().to_owned();
    ok(&bob
        .request("user.update", json!({"profile": {"display_name": "Bob"}}))
        .await?);
    ok(&bob
        .request("chat.join", json!({"channel": "lobby"}))
        .await?);
    let mut w = Webapp {
        laptop,
        phone,
        bob,
        ann,
        bob_id,
    };
    the_greeting_prompt_profile_reaches_the_other_session_as_user_updated(&mut w).await?;
    opening_a_room_subscribes_fetches_and_joins_with_unread_pointers(&mut w).await?;
    let (first, second) = a_message_arrives_as_a_whole_chat_event(&mut w).await?;
    chat_mark_read_is_answered_and_the_other_session_hears_read_pointers(&mut w, first, second)
        .await?;
    chat_react_is_answered_and_pushed_as_chat_event_reaction(&mut w, first).await?;
    an_edit_arrives_as_a_new_event_that_replaces_the_message(&mut w, first, second).await?;
    a_deletion_arrives_as_a_replacing_event_without_sender(&mut w, second).await?;
    user_fetch_with_ids_answers_a_map_of_profiles(&mut w).await?;
    a_new_sign_in_finds_the_read_state_and_hears_unread_pointers(wcc, &mut w, second).await?;
    leaving_a_room_by_showing_another_resends_the_channel_list(&mut w).await?;
    for client in [w.laptop, w.phone, w.bob] {
        let _ = client.close().await;
    }
    Ok(())
}

/// Connects and authenticates as `WebSocketClient._authenticate` does (`["authenticate",
/// {client_id}]`, no correlation id); returns the client and the `authenticated` payload.
async fn sign_in(wcc: &Wcc, client_id: &str) -> anyhow::Result<(Venueless, Value)> {
    let mut client = wcc.venueless().await?;
    client
        .send_raw(Message::text(
            json!(["authenticate", {"client_id": client_id}]).to_string(),
        ))
        .await?;
    let state = client.push("authenticated").await?[1].clone();
    Ok((client, state))
}

/// `store/index.js` on `joined`: `user.config`, `world.config.{world,permissions,rooms}`,
/// `chat.channels`, `chat.read_pointers`, `chat.notification_counts`, `exhibition` and
/// `announcements`, each read without a check.
fn the_webapp_store_finds_world_config_in_authenticated(state: &Value) {
    let user = &state["user.config"];
    assert!(user["id"].is_string(), "{state}");
    assert_eq!(user["profile"], json!({}), "{state}");
    let world = &state["world.config"];
    assert_eq!(world["world"]["title"], "wcc", "{state}");
    assert_eq!(world["world"]["social_logins"], json!([]), "{state}");
    assert_eq!(world["world"]["pretalx"], json!({}), "{state}");
    assert_eq!(world["permissions"], json!(["world:view"]), "{state}");
    let lobby = world["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|room| room["id"] == "lobby")
        .unwrap_or_else(|| panic!("no lobby in {state}"));
    assert_eq!(lobby["name"], "lobby");
    assert_eq!(
        lobby["modules"],
        json!([{"type": "chat.native", "channel_id": "lobby", "config": {"volatile": false}}])
    );
    assert_eq!(
        lobby["permissions"],
        json!([
            "room:view",
            "room:chat.read",
            "room:chat.join",
            "room:chat.send"
        ])
    );
    assert_eq!(state["chat.channels"], json!([]), "{state}");
    assert_eq!(state["chat.read_pointers"], json!({}), "{state}");
    assert_eq!(state["chat.notification_counts"], json!({}), "{state}");
    assert_eq!(
        state["exhibition"],
        json!({"exhibitors": [], "contact_requests": []})
    );
    assert_eq!(state["announcements"], json!([]));
}

/// The greeting prompt calls `user.update {profile}`; the store's `api::user.updated` on the
/// user's other sessions merges what upstream pushes them.
async fn the_greeting_prompt_profile_reaches_the_other_session_as_user_updated(
    w: &mut Webapp,
) -> anyhow::Result<()> {
    let profile = json!({"display_name": "Ann", "greeted": true});
    let reply = w
        .laptop
        .request("user.update", json!({ "profile": profile }))
        .await?;
    assert_eq!(ok(&reply), &json!({}));
    let updated = w.phone.push("user.updated").await?;
    assert_eq!(
        updated,
        json!(["user.updated", {"id": w.ann, "profile": profile}])
    );
    Ok(())
}

/// `chat/subscribe` reads `next_event_id`, `members` and `unread_pointer`, fetches 25 events
/// before the cursor, marks read; the join button's `chat/join` keeps `unread_pointer`.
async fn opening_a_room_subscribes_fetches_and_joins_with_unread_pointers(
    w: &mut Webapp,
) -> anyhow::Result<()> {
    let reply = w
        .laptop
        .request("chat.subscribe", json!({"channel": "lobby"}))
        .await?;
    let subscribed = ok(&reply);
    assert_eq!(subscribed["next_event_id"], 1, "{subscribed}");
    assert_eq!(subscribed["unread_pointer"], 0, "{subscribed}");
    assert_eq!(
        subscribed["members"],
        json!([{"id": w.bob_id, "profile": {"display_name": "Bob"}}])
    );
    let reply = w
        .laptop
        .request(
            "chat.fetch",
            json!({"channel": "lobby", "count": 25, "before_id": 1}),
        )
        .await?;
    assert_eq!(ok(&reply), &json!({"results": [], "users": {}}));
    let reply = w
        .laptop
        .request("chat.join", json!({"channel": "lobby"}))
        .await?;
    let joined = ok(&reply);
    assert_eq!(
        (&joined["next_event_id"], &joined["unread_pointer"]),
        (&json!(1), &json!(0)),
        "{joined}"
    );
    Ok(())
}

/// `api::chat.event` and `ChatMessage.vue` read `event_id`, `sender`, `timestamp` (moment),
/// `replaces`, `reactions` (`Object.keys`), and take profiles from `users`.
async fn a_message_arrives_as_a_whole_chat_event(w: &mut Webapp) -> anyhow::Result<(u64, u64)> {
    let mut ids = Vec::new();
    for body in ["first", "second"] {
        let reply = w
            .bob
            .request(
                "chat.send",
                json!({"channel": "lobby", "event_type": "channel.message",
                    "content": {"type": "text", "body": body}}),
            )
            .await?;
        ids.push(ok(&reply)["event"]["event_id"].as_u64().unwrap());
    }
    let event = w
        .laptop
        .chat_event(|e| e["content"]["body"] == "first")
        .await?;
    let timestamp = event["timestamp"].as_str().unwrap_or_default().to_owned();
    assert!(
        timestamp.len() == 29 && timestamp.ends_with("+00:00") && timestamp.starts_with("20"),
        "ISO 8601: {event}"
    );
    assert_eq!(
        event,
        json!({"channel": "lobby", "event_type": "channel.message", "event_id": ids[0],
            "sender": w.bob_id, "content": {"type": "text", "body": "first"},
            "timestamp": timestamp, "edited": null, "replaces": null, "reactions": {},
            "users": {&w.bob_id: {"id": w.bob_id, "profile": {"display_name": "Bob"}}}})
    );
    w.laptop
        .chat_event(|e| e["content"]["body"] == "second")
        .await?;
    Ok((ids[0], ids[1]))
}

/// `chat/markChannelRead` sends `chat.mark_read {channel, id}` after every event; upstream
/// then pushes the user's other sessions `chat.read_pointers` and `chat.notification_counts`.
async fn chat_mark_read_is_answered_and_the_other_session_hears_read_pointers(
    w: &mut Webapp,
    first: u64,
    second: u64,
) -> anyhow::Result<()> {
    let reply = w
        .laptop
        .request("chat.mark_read", json!({"channel": "lobby", "id": first}))
        .await?;
    assert_eq!(ok(&reply), &json!({}));
    assert_eq!(
        w.phone.push("chat.read_pointers").await?,
        json!(["chat.read_pointers", {"lobby": first}])
    );
    assert_eq!(
        w.phone.push("chat.notification_counts").await?,
        json!(["chat.notification_counts", {"lobby": second - first}])
    );
    let reply = w
        .laptop
        .request("chat.mark_read", json!({"channel": "lobby", "id": second}))
        .await?;
    assert_eq!(ok(&reply), &json!({}));
    assert_eq!(
        w.phone.push("chat.read_pointers").await?,
        json!(["chat.read_pointers", {"lobby": second}])
    );
    assert_eq!(
        w.phone.push("chat.notification_counts").await?,
        json!(["chat.notification_counts", {}])
    );
    Ok(())
}

/// `chat/addReaction` / `removeReaction` send `chat.react {channel, event, reaction, delete?}`;
/// `api::chat.event.reaction` reads `channel`, `event_id`, `reactions` and `users`.
async fn chat_react_is_answered_and_pushed_as_chat_event_reaction(
    w: &mut Webapp,
    first: u64,
) -> anyhow::Result<()> {
    let reply = w
        .laptop
        .request(
            "chat.react",
            json!({"channel": "lobby", "event": first, "reaction": "👍"}),
        )
        .await?;
    let tally = json!({"👍": [w.ann]});
    assert_eq!(
        ok(&reply),
        &json!({"channel": "lobby", "event_id": first, "reactions": tally})
    );
    assert_eq!(
        w.bob.push("chat.event.reaction").await?,
        json!(["chat.event.reaction", {"channel": "lobby", "event_id": first,
            "reactions": tally,
            "users": {&w.ann: {"id": w.ann, "profile": {"display_name": "Ann", "greeted": true}}}}])
    );
    let page = w
        .bob
        .request(
            "chat.fetch",
            json!({"channel": "lobby", "count": 25, "before_id": first + 1}),
        )
        .await?;
    assert_eq!(ok(&page)["results"][0]["reactions"], tally, "{page}");
    assert_eq!(ok(&page)["users"][&w.ann]["profile"]["display_name"], "Ann");
    let reply = w
        .laptop
        .request(
            "chat.react",
            json!({"channel": "lobby", "event": first, "reaction": "👍", "delete": true}),
        )
        .await?;
    assert_eq!(ok(&reply)["reactions"], json!({}));
    let withdrawn = w.bob.push("chat.event.reaction").await?;
    assert_eq!(withdrawn[1]["reactions"], json!({}), "{withdrawn}");
    Ok(())
}

/// `chat/editMessage` sends `chat.send {replaces, content}`; `api::chat.event` copies the
/// content of the event `replaces` names onto it and hides the replacing event, whose
/// `event_id` it then marks read (so it must not be older than what was read).
async fn an_edit_arrives_as_a_new_event_that_replaces_the_message(
    w: &mut Webapp,
    first: u64,
    second: u64,
) -> anyhow::Result<()> {
    let edited = json!({"type": "text", "body": "first, edited"});
    let reply = w
        .bob
        .request(
            "chat.send",
            json!({"channel": "lobby", "event_type": "channel.message", "replaces": first,
                "content": edited}),
        )
        .await?;
    ok(&reply);
    let event = w.laptop.chat_event(|e| e["replaces"] == first).await?;
    assert_eq!(event["event_id"], second, "the room's newest id: {event}");
    assert_eq!(event["content"], edited);
    assert_eq!(event["sender"], w.bob_id.as_str());
    assert!(
        event["edited"]
            .as_str()
            .is_some_and(|t| t.ends_with("+00:00")),
        "{event}"
    );
    let page = w
        .laptop
        .request(
            "chat.fetch",
            json!({"channel": "lobby", "count": 25, "before_id": second + 1}),
        )
        .await?;
    let results = &ok(&page)["results"];
    assert_eq!(
        (&results[0]["event_id"], &results[0]["content"]),
        (&json!(first), &edited),
        "history shows the message as it now is, under its own id: {page}"
    );
    Ok(())
}

/// `chat/deleteMessage` sends `chat.send {replaces, content: {type: deleted}}`; the timeline
/// hides deleted content. wcc forgets who wrote a removed message, so its `sender` is `null`.
async fn a_deletion_arrives_as_a_replacing_event_without_sender(
    w: &mut Webapp,
    second: u64,
) -> anyhow::Result<()> {
    let reply = w
        .bob
        .request(
            "chat.send",
            json!({"channel": "lobby", "event_type": "channel.message", "replaces": second,
                "content": {"type": "deleted"}}),
        )
        .await?;
    ok(&reply);
    let event = w
        .laptop
        .chat_event(|e| e["replaces"] == second && e["content"]["type"] == "deleted")
        .await?;
    assert_eq!(
        (&event["sender"], &event["event_id"]),
        (&Value::Null, &json!(second)),
        "{event}"
    );
    Ok(())
}

/// `chat/fetchUsers` asks `user.fetch {ids}` for senders it has no profile of (`null` for a
/// removed message's) and stores each value of the answer by its `id`.
async fn user_fetch_with_ids_answers_a_map_of_profiles(w: &mut Webapp) -> anyhow::Result<()> {
    let reply = w
        .laptop
        .request("user.fetch", json!({"ids": [w.bob_id, null]}))
        .await?;
    assert_eq!(
        ok(&reply),
        &json!({&w.bob_id: {"id": w.bob_id, "profile": {"display_name": "Bob"}}})
    );
    Ok(())
}

/// A reload: the sidebar's unread dot compares each channel's `unread_pointer` with
/// `chat.read_pointers`; `api::chat.unread_pointers` moves a joined channel's pointer live.
async fn a_new_sign_in_finds_the_read_state_and_hears_unread_pointers(
    wcc: &Wcc,
    w: &mut Webapp,
    second: u64,
) -> anyhow::Result<()> {
    let (mut tablet, state) = sign_in(wcc, "webapp-ann").await?;
    assert_eq!(state["user.config"]["id"], w.ann.as_str());
    assert_eq!(
        state["chat.channels"],
        json!([{"id": "lobby", "unread_pointer": second}])
    );
    assert_eq!(state["chat.read_pointers"], json!({"lobby": second}));
    assert_eq!(state["chat.notification_counts"], json!({}));
    let reply = w
        .bob
        .request(
            "chat.send",
            json!({"channel": "lobby", "event_type": "channel.message",
                "content": {"type": "text", "body": "third"}}),
        )
        .await?;
    let third = ok(&reply)["event"]["event_id"].clone();
    assert_eq!(
        tablet.push("chat.unread_pointers").await?,
        json!(["chat.unread_pointers", {"lobby": third}])
    );
    let _ = tablet.close().await;
    Ok(())
}

/// The seed makes `chat.unsubscribe` a leave, and the webapp unsubscribes whenever it shows
/// another room: `api::chat.channels` then replaces its channel list, so it offers to join again.
async fn leaving_a_room_by_showing_another_resends_the_channel_list(
    w: &mut Webapp,
) -> anyhow::Result<()> {
    let reply = w
        .laptop
        .request("chat.unsubscribe", json!({"channel": "lobby"}))
        .await?;
    assert_eq!(ok(&reply), &json!({}));
    assert_eq!(
        w.laptop.push("chat.channels").await?,
        json!(["chat.channels", {"channels": []}])
    );
    Ok(())
}
