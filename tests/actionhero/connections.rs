//! Connections on both transports (TCP lines, as telnet sends them, and a websocket): the
//! greeting and a connection's details, and `quit`/`exit` closing it.

use anyhow::Result;
use serde_json::json;

use crate::common::Wcc;
use crate::support::{assert_ok, details, guest_of};
use crate::Clients;

/// Both transports greet in the default room, then enter the lobby: the line client's
/// details show it, and it sees the websocket client come in.
pub(crate) async fn both_transports_greet_then_enter_the_lobby(wcc: &Wcc) -> Result<Clients> {
    // Greetings, on both transports, in the default room.
    let mut tel = wcc.actionhero_lines().await?;
    assert_eq!(tel.welcome["context"], "api");
    assert_eq!(tel.welcome["room"], "defaultRoom");
    assert!(tel.welcome["welcome"].is_string());
    let mut web = wcc.actionhero_websocket().await?;
    assert_eq!(web.welcome["room"], "defaultRoom");

    let response = tel.request("roomChange lobby").await?;
    assert_eq!(
        response,
        json!({"status": "OK", "context": "response", "data": true, "messageCount": 1})
    );
    let tel_details = details(&mut tel).await?;
    let mut fields: Vec<&String> = tel_details.as_object().unwrap().keys().collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "connectedAt",
            "id",
            "params",
            "pendingActions",
            "remoteIP",
            "remotePort",
            "room",
            "totalActions"
        ]
    );
    assert_eq!(tel_details["room"], "lobby");
    assert_eq!(tel_details["remoteIP"], "127.0.0.1");
    assert_eq!(tel_details["params"], json!({"limit": 100, "offset": 0}));
    let tel_user = guest_of(&tel_details);
    let tel_connection = tel_details["id"].as_str().unwrap().to_owned();

    assert_ok(
        &web.request(r#"{"event":"roomChange","room":"lobby"}"#)
            .await?,
    );
    let web_details = details(&mut web).await?;
    let web_user = guest_of(&web_details);
    let entered = tel
        .push(|v| v["message"] == "I have entered the room" && v["room"] == "lobby")
        .await?;
    assert_eq!(
        (entered["from"].as_str(), entered["room"].as_str()),
        (Some(web_user.as_str()), Some("lobby"))
    );
    Ok(Clients {
        tel,
        tel_user,
        tel_connection,
        web,
        web_user,
    })
}

/// quit (and exit) say goodbye as upstream's socket server does, and the server closes.
pub(crate) async fn quit_and_exit_say_goodbye(clients: &mut Clients) -> Result<()> {
    let Clients { tel, web, .. } = clients;
    for (client, word) in [(tel, "quit"), (web, "exit")] {
        client.send(word).await?;
        let bye = client.push(|v| v["status"] == "Bye!").await?;
        assert_eq!(
            bye,
            json!({"status": "Bye!", "context": "api", "reason": format!("{word} requested")})
        );
        assert!(client.closed_by_server().await);
    }
    Ok(())
}
