//! The actionhero channel on a real lattice: a TCP line client (what telnet does) and a
//! websocket client through every verb, room join rules, room deletion with members inside,
//! the operator API (admin HTTP and the CLI), and chat crossing to and from venueless.

mod common;

use anyhow::Result;
use common::{actionhero::Actionhero, Wcc};
use serde_json::{json, Value};

fn assert_ok(response: &Value) {
    assert_eq!(response["status"], "OK", "{response}");
}

fn assert_error(response: &Value, text: &str) {
    assert_eq!(response["error"], text, "{response}");
    assert_eq!(response["context"], "response", "{response}");
}

/// Runs `wcc-lattice admin <args>` against this lattice's admin API.
fn admin_cli(wcc: &Wcc, args: &[&str]) -> Result<std::process::Output> {
    let launcher = std::env::var("WCC_LATTICE_BIN")?;
    let connection = [
        "admin",
        "--addr",
        &wcc.admin,
        "--token",
        common::ADMIN_TOKEN,
    ];
    Ok(std::process::Command::new(launcher)
        .args(connection)
        .args(args)
        .output()?)
}

async fn details(client: &mut Actionhero) -> Result<Value> {
    let response = client.request("detailsView").await?;
    assert_ok(&response);
    Ok(response["data"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actionhero_verbs_rooms_operator_api_and_cross_protocol_chat() -> Result<()> {
    common::run_once(|wcc| Box::pin(scenario(wcc)))
        .await
        .map(drop)
}

async fn scenario(wcc: &Wcc) -> Result<()> {
    // add: 1 created, 0 existed; exists.
    let (status, body) = wcc
        .admin("POST", "/rooms", Some(json!({"id": "lobby"})))
        .await?;
    assert_eq!((status, body["added"].clone()), (201, json!(1)), "{body}");
    let (status, body) = wcc
        .admin("POST", "/rooms", Some(json!({"id": "lobby"})))
        .await?;
    assert_eq!((status, body["added"].clone()), (200, json!(0)), "{body}");
    let (_, body) = wcc.admin("GET", "/rooms/lobby/exists", None).await?;
    assert_eq!(body, json!({"exists": true}));
    let (_, body) = wcc.admin("GET", "/rooms/nowhere/exists", None).await?;
    assert_eq!(body, json!({"exists": false}));

    // Greetings, on both transports, in the default room.
    let mut tel = wcc.actionhero_lines().await?;
    assert_eq!(tel.welcome["context"], "api");
    assert_eq!(tel.welcome["room"], "defaultRoom");
    assert!(tel.welcome["welcome"].is_string());
    let mut web = wcc.actionhero_websocket().await?;
    assert_eq!(web.welcome["room"], "defaultRoom");

    let response = tel.request("roomChange lobby").await?;
    assert_ok(&response);
    assert_eq!(response["messageCount"], 1);
    let tel_details = details(&mut tel).await?;
    assert_eq!(tel_details["type"], "socket");
    assert_eq!(tel_details["room"], "lobby");
    assert_eq!(tel_details["remoteIP"], "127.0.0.1");
    let tel_user = tel_details["user"].as_str().unwrap().to_owned();
    let tel_connection = tel_details["id"].as_str().unwrap().to_owned();

    assert_ok(
        &web.request(r#"{"event":"roomChange","room":"lobby"}"#)
            .await?,
    );
    let web_details = details(&mut web).await?;
    assert_eq!(web_details["type"], "websocket");
    let web_user = web_details["user"].as_str().unwrap().to_owned();
    let entered = tel
        .push(|v| v["message"] == "I have entered the room" && v["room"] == "lobby")
        .await?;
    assert_eq!(
        (entered["from"].as_str(), entered["room"].as_str()),
        (Some(web_user.as_str()), Some("lobby"))
    );

    // roomView and the admin's roomStatus agree.
    let view = web.request("roomView").await?;
    assert_ok(&view);
    assert_eq!(view["data"]["membersCount"], 2, "{view}");
    assert_eq!(view["data"]["members"][&tel_user]["id"], tel_user.as_str());
    let (status, body) = wcc.admin("GET", "/rooms/lobby/status", None).await?;
    assert_eq!(status, 200);
    assert_eq!(body["room"], "lobby");
    assert_eq!(body["membersCount"], 2);
    assert!(
        body["members"][&web_user]["joinedAt"].as_u64().unwrap() > 0,
        "{body}"
    );

    // say reaches the other transport and venueless; venueless reaches both.
    let mut vera = wcc.venueless().await?;
    let vera_id = vera.login("vera", Some("Vera")).await?;
    let joined = vera
        .request("chat.join", json!({"channel": "lobby"}))
        .await?;
    assert_eq!(joined[0], "success", "{joined}");
    assert_ok(&tel.request("say hello from telnet").await?);
    let line = web.chat("hello from telnet").await?;
    assert_eq!(line["from"], tel_user.as_str());
    assert_eq!(line["room"], "lobby");
    assert!(line["sentAt"].as_u64().unwrap() > 0);
    let event = vera
        .chat_event(|e| e["content"]["body"] == "hello from telnet")
        .await?;
    assert_eq!(event["sender"], tel_user.as_str());
    let sent = vera
        .request("chat.send", json!({"channel": "lobby", "event_type": "channel.message", "content": {"type": "text", "body": "hi from venueless"}}))
        .await?;
    assert_eq!(sent[0], "success", "{sent}");
    for client in [&mut tel, &mut web] {
        let line = client.chat("hi from venueless").await?;
        assert_eq!(line["from"], vera_id.as_str());
    }

    // Listening hears a room without joining it; silencing stops it.
    wcc.create_room("news").await?;
    assert_ok(&tel.request("listenToRoom news").await?);
    assert_error(
        &tel.request("listenToRoom news").await?,
        "connection already listening to this room",
    );
    let (status, body) = wcc
        .admin(
            "POST",
            "/rooms/news/broadcast",
            Some(json!({"message": "extra, extra"})),
        )
        .await?;
    assert_eq!(status, 201, "{body}");
    let line = tel.chat("extra, extra").await?;
    assert_eq!(
        (line["from"].as_str(), line["room"].as_str()),
        (Some("server"), Some("news"))
    );
    assert_ok(&tel.request("silenceRoom news").await?);
    assert_error(
        &tel.request("silenceRoom news").await?,
        "connection not listening to this room",
    );

    // Params.
    assert_ok(&tel.request("paramAdd colour=blue").await?);
    assert_ok(&tel.request("paramAdd size 10").await?);
    assert_eq!(tel.request("paramView colour").await?["data"], "blue");
    assert_eq!(
        tel.request("paramsView").await?["data"],
        json!({"colour": "blue", "size": "10"})
    );
    assert_ok(&tel.request("paramDelete colour").await?);
    assert_eq!(tel.request("paramView colour").await?["data"], Value::Null);
    assert_ok(&tel.request("paramsDelete").await?);
    assert_eq!(tel.request("paramsView").await?["data"], json!({}));

    // Join rules: `authenticated` admits after a login action and is not checked again.
    wcc.create_room("vip").await?;
    let (status, body) = wcc
        .admin(
            "PUT",
            "/rooms/vip/authentication",
            Some(json!({"key": "authenticated", "value": true})),
        )
        .await?;
    assert_eq!(status, 200, "{body}");
    let (_, body) = wcc.admin("GET", "/rooms/vip/authentication", None).await?;
    assert_eq!(
        (body["key"].clone(), body["value"].clone()),
        (json!("authenticated"), json!(true))
    );
    assert_error(
        &tel.request("roomChange vip").await?,
        "not authorized to join room",
    );
    let registered = tel
        .request(r#"{"action":"register","params":{"login":"ada","password":"correct horse"}}"#)
        .await?;
    assert!(registered.get("error").is_none(), "{registered}");
    assert_ok(&tel.request("paramAdd login=ada").await?);
    assert_ok(&tel.request("paramAdd password=wrong").await?);
    assert_error(&tel.request("login").await?, "wrong login or password");
    let login = tel
        .request(r#"{"action":"login","params":{"login":"ada","password":"correct horse"}}"#)
        .await?;
    assert_eq!(login["authenticated"], true, "{login}");
    let ada = login["user"]["id"].as_str().unwrap().to_owned();
    assert_ok(&tel.request("roomChange vip").await?);
    let (status, _) = wcc
        .admin(
            "PUT",
            "/rooms/vip/authentication",
            Some(json!({"key": "type", "value": "websocket"})),
        )
        .await?;
    assert_eq!(status, 200);
    assert_ok(&tel.request("say still inside").await?);
    assert_eq!(tel.chat("still inside").await?["from"], ada.as_str());
    // `type`: a socket client is refused where a websocket client is admitted.
    wcc.create_room("webonly").await?;
    wcc.admin(
        "PUT",
        "/rooms/webonly/authentication",
        Some(json!({"key": "type", "value": "websocket"})),
    )
    .await?;
    assert_error(
        &tel.request("listenToRoom webonly").await?,
        "not authorized to join room",
    );
    assert_ok(&web.request("listenToRoom webonly").await?);

    // The operator moves a member, and writes to one connection.
    let (status, body) = wcc
        .admin("PUT", &format!("/rooms/news/members/{web_user}"), None)
        .await?;
    assert_eq!((status, body), (200, json!({"joined": true})));
    let moved = web.push(|v| v["event"] == "joined").await?;
    assert_eq!(moved["room"], "news");
    assert_ok(&web.request("say in the news").await?);
    assert_eq!(web.chat("in the news").await?["room"], "news");
    let (status, body) = wcc
        .admin("DELETE", &format!("/rooms/news/members/{web_user}"), None)
        .await?;
    assert_eq!((status, body), (200, json!({"left": true})));
    assert_eq!(web.push(|v| v["event"] == "left").await?["room"], "news");
    assert_error(
        &web.request("say anyone?").await?,
        "connection not in a room",
    );
    // roomLeave, and the rest of the verbs in the websocket client's JSON form.
    assert_ok(
        &web.request(r#"{"event":"roomChange","room":"lobby"}"#)
            .await?,
    );
    assert_ok(&web.request(r#"{"event":"roomLeave"}"#).await?);
    assert_error(&web.request("roomView").await?, "connection not in a room");
    assert_error(&web.request("roomLeave").await?, "connection not in a room");
    let (status, body) = wcc.admin("GET", "/rooms/lobby/status", None).await?;
    assert_eq!(status, 200);
    assert!(body["members"].get(&web_user).is_none(), "{body}");
    assert_ok(
        &web.request(r#"{"event":"paramAdd","key":"k","value":"v"}"#)
            .await?,
    );
    assert_eq!(
        web.request(r#"{"event":"paramView","key":"k"}"#).await?["data"],
        "v"
    );
    assert_eq!(
        web.request(r#"{"event":"paramsView"}"#).await?["data"],
        json!({"k": "v"})
    );
    assert_ok(&web.request(r#"{"event":"paramDelete","key":"k"}"#).await?);
    assert_ok(&web.request(r#"{"event":"paramsDelete"}"#).await?);
    assert_eq!(
        web.request(r#"{"event":"paramsView"}"#).await?["data"],
        json!({})
    );
    let (status, body) = wcc
        .admin(
            "POST",
            &format!("/connections/{tel_connection}/messages"),
            Some(json!({"message": "psst"})),
        )
        .await?;
    assert_eq!(status, 202, "{body}");
    assert_eq!(tel.chat("psst").await?["from"], "server");

    // A deleted room leaves its members unable to send; the connection keeps its room.
    let (status, _) = wcc.admin("DELETE", "/rooms/vip", None).await?;
    assert_eq!(status, 204);
    assert_error(&tel.request("say hello?").await?, "room does not exist");
    assert_eq!(details(&mut tel).await?["room"], "vip");

    // Bad lines get an error line; the connection survives them all.
    assert_error(
        &tel.request("fly away").await?,
        "unknown action or invalid apiVersion",
    );
    assert_error(
        &tel.request(r#"{"action":"fly"}"#).await?,
        "unknown action or invalid apiVersion",
    );
    let broken = tel.request("{not json").await?;
    assert!(
        broken["error"]
            .as_str()
            .unwrap()
            .starts_with("malformed JSON"),
        "{broken}"
    );
    tel.send_bytes(b"\xff\xfe garbage\r\n").await?;
    assert_error(&tel.response().await?, "lines must be UTF-8 text");
    let long = "say ".to_owned() + &"x".repeat(1_100_000);
    let response = tel.request(&long).await?;
    assert!(
        response["error"]
            .as_str()
            .unwrap()
            .contains("over the server's limit"),
        "{response}"
    );
    web.send_bytes(&[0, 159, 146, 150]).await?;
    assert_error(&web.response().await?, "lines must be UTF-8 text");
    let response = tel.request("paramsView").await?;
    assert_ok(&response);
    assert!(
        response["messageCount"].as_u64().unwrap() > 20,
        "{response}"
    );

    // The admin CLI speaks the same API.
    let found = admin_cli(wcc, &["status", "lobby"])?;
    assert!(
        found.status.success(),
        "{}",
        String::from_utf8_lossy(&found.stderr)
    );
    let status: Value = serde_json::from_slice(&found.stdout)?;
    assert_eq!(status["room"], "lobby");
    let missing = admin_cli(wcc, &["status", "nowhere"])?;
    assert!(!missing.status.success());

    // quit says goodbye and the server closes the socket, on both transports.
    for client in [&mut tel, &mut web] {
        let bye = client.request("quit").await?;
        assert_eq!(bye["status"], "Bye!");
        assert!(client.closed_by_server().await);
    }
    Ok(())
}
