//! The era's browser client in a room with a telnet client: chat both ways, actions, listening,
//! leaving, and carrying on over a new socket after its old one dropped.

use anyhow::{ensure, Result};
use serde_json::json;

use crate::common::Wcc;
use crate::faye::{self, Faye};
use crate::support::{assert_ok, details, guest_of};

/// `the_era_browser_client_chats_runs_actions_and_hears_its_room`.
pub(crate) async fn chats(wcc: &Wcc) -> Result<()> {
    faye::wait_ready(&wcc.gateway).await?;
    wcc.create_room("lobby").await?;
    wcc.create_room("news").await?;
    let mut tel = wcc.actionhero_lines().await?;
    assert_ok(&tel.request("roomChange lobby").await?);
    let tel_user = guest_of(&details(&mut tel).await?);

    let mut client = Faye::open(&wcc.gateway).await?;
    client.connect_client().await?;
    let browser = client.request(json!({"event": "detailsView"})).await?;
    let browser_user = guest_of(&browser["data"]);

    // client.roomChange('lobby')
    assert_eq!(
        client
            .request(json!({"event": "roomChange", "room": "lobby"}))
            .await?,
        json!({"status": "OK", "context": "response", "data": true, "messageCount": 2})
    );
    let entered = tel
        .push(|v| v["message"] == "I have entered the room" && v["room"] == "lobby")
        .await?;
    assert_eq!(entered["from"], browser_user.as_str());

    // client.say(...) reaches telnet; telnet's say reaches the browser on its channel.
    assert_eq!(
        client
            .request(json!({"event": "say", "message": "hello from the browser"}))
            .await?,
        json!({"status": "OK", "context": "response", "messageCount": 3})
    );
    assert_eq!(
        tel.chat("hello from the browser").await?["from"],
        browser_user.as_str()
    );
    assert_ok(&tel.request("say hello from telnet").await?);
    let heard = client.chat("hello from telnet").await?;
    assert_eq!(heard["from"], tel_user.as_str());
    // Its own line never came back (chat.html prints it itself): the room's events arrive in
    // order, so it would have come before telnet's.
    ensure!(
        !client.saw("hello from the browser"),
        "the browser client got its own say back"
    );
    assert_eq!(heard["room"], "lobby");
    assert!(heard["sentAt"].as_u64().unwrap() > 0, "{heard}");

    // client.action('register', ...) and client.action('login', ...).
    let registered = client
        .request(json!({"event": "action", "params": {"login": "grace", "password": "correct horse", "action": "register"}}))
        .await?;
    assert_eq!(registered["user"]["login"], "grace", "{registered}");
    let login = client
        .request(json!({"event": "action", "params": {"login": "grace", "password": "correct horse", "action": "login"}}))
        .await?;
    assert_eq!(login["authenticated"], true, "{login}");
    let grace = login["user"]["id"].as_str().unwrap().to_owned();
    let unknown = client
        .request(json!({"event": "action", "params": {"action": "fly"}}))
        .await?;
    assert_eq!(
        unknown["error"],
        "Error: fly is not a known action or that is not a valid apiVersion."
    );
    let view = client.request(json!({"event": "roomView"})).await?;
    assert_eq!(view["data"]["membersCount"], 2, "{view}");
    assert!(view["data"]["members"].get(&grace).is_some(), "{view}");

    // client.listenToRoom('news'): the operator's broadcast there reaches it.
    assert_eq!(
        client
            .request(json!({"event": "listenToRoom", "room": "news"}))
            .await?["data"],
        true
    );
    let (status, body) = wcc
        .admin(
            "POST",
            "/rooms/news/broadcast",
            Some(json!({"message": "extra, extra"})),
        )
        .await?;
    assert_eq!(status, 201, "{body}");
    let extra = client.chat("extra, extra").await?;
    assert_eq!(
        (extra["from"].as_str(), extra["room"].as_str()),
        (Some("server"), Some("news"))
    );

    // client.roomLeave()
    assert_eq!(
        client.request(json!({"event": "roomLeave"})).await?["data"],
        true
    );
    let left = tel
        .push(|v| v["message"] == "I have left the room" && v["from"] == grace.as_str())
        .await?;
    assert_eq!(left["room"], "lobby");

    // The socket drops; Faye opens a new one and goes on with its client id and channel: no
    // handshake, no setup. Its first request starts the new connection.
    let (client_id, channel) = (client.client_id.clone(), client.channel.clone());
    drop(client);
    let mut again = Faye::open(&wcc.gateway).await?;
    again.client_id = client_id;
    again.channel = channel;
    let connected = again.connect().await?;
    assert_eq!(connected["successful"], true, "{connected}");
    let details = again.request(json!({"event": "detailsView"})).await?;
    assert_eq!(details["data"]["room"], "defaultRoom", "{details}");
    assert_ok(
        &again
            .request(json!({"event": "roomChange", "room": "lobby"}))
            .await?,
    );
    assert_ok(&tel.request("say welcome back").await?);
    assert_eq!(again.chat("welcome back").await?["from"], tel_user.as_str());
    Ok(())
}
