//! The actionhero channel on a real lattice: a TCP line client (what telnet does) and a
//! websocket client through every verb, answered in upstream's shapes, room join rules, room
//! deletion with members inside, the operator API (admin HTTP and the CLI), and chat crossing
//! to and from venueless; and the era's browser client (actionheroClient.js on Faye) frame for
//! frame over Bayeux at `/faye`.

mod common;
#[allow(dead_code)]
#[path = "common/faye.rs"]
mod faye;

use anyhow::{ensure, Result};
use common::{actionhero::Actionhero, Wcc};
use faye::{Faye, SETUP};
use serde_json::{json, Value};

fn assert_ok(response: &Value) {
    assert_eq!(response["status"], "OK", "{response}");
}

/// A refused verb: upstream puts the refusal in `status`.
fn assert_refused(response: &Value, text: &str) {
    assert_eq!(response["status"], text, "{response}");
    assert_eq!(response["context"], "response", "{response}");
}

/// A failed action (or a line that is no request): upstream puts the failure in `error`.
fn assert_failed(response: &Value, text: &str) {
    assert_eq!(response["error"], text, "{response}");
    assert_eq!(response["context"], "response", "{response}");
}

/// The user a connection acts as before it logs in: its guest, named after it.
fn guest_of(details: &Value) -> String {
    format!("guest-{}", details["id"].as_str().unwrap())
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
    assert_eq!(
        tel.request("say hello from telnet").await?,
        json!({"status": "OK", "context": "response", "messageCount": 3})
    );
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
    // The sender's own line is not sent back (upstream's chat page prints it itself). A room's
    // events reach each connection in order, so one that came back would be here already.
    ensure!(
        !tel.saw("hello from telnet"),
        "the telnet sender got its own say back"
    );
    // Nor its own entrance: `web` goes upstairs, listens to the lobby (so the lobby's events
    // reach it however the race with its subscription goes) and comes back. telnet sees it
    // leave and enter; `web` hears telnet's next line, so its own lines would be here by then.
    wcc.create_room("upstairs").await?;
    assert_ok(&web.request("roomChange upstairs").await?);
    assert_ok(&web.request("listenToRoom lobby").await?);
    assert_ok(&web.request("roomChange lobby").await?);
    for line in ["I have left the room", "I have entered the room"] {
        tel.push(|v| v["message"] == line && v["from"] == web_user.as_str())
            .await?;
    }
    assert_ok(&tel.request("say welcome back downstairs").await?);
    web.chat("welcome back downstairs").await?;
    let own = format!("\"from\":\"{web_user}\"");
    ensure!(
        !web.saw(&own),
        "the websocket client heard its own entrance"
    );
    assert_ok(&web.request("silenceRoom lobby").await?);

    // Listening hears a room without joining it; silencing stops it.
    wcc.create_room("news").await?;
    assert_ok(&tel.request("listenToRoom news").await?);
    let again = tel.request("listenToRoom news").await?;
    assert_refused(&again, "connection already listening to this room");
    assert_eq!(again["data"], false);
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
    assert_refused(
        &tel.request("silenceRoom news").await?,
        "connection not listening to this room",
    );

    // Params.
    assert_ok(&tel.request("paramAdd colour=blue").await?);
    assert_ok(&tel.request("paramAdd size 10").await?);
    assert_eq!(tel.request("paramView colour").await?["data"], "blue");
    assert_eq!(
        tel.request("paramsView").await?["data"],
        json!({"colour": "blue", "size": "10", "limit": 100, "offset": 0})
    );
    assert_ok(&tel.request("paramDelete colour").await?);
    // Upstream's `data` for a key never added is undefined: no `data` at all.
    assert!(tel.request("paramView colour").await?.get("data").is_none());
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
    assert_refused(
        &tel.request("roomChange vip").await?,
        "not authorized to join room",
    );
    let registered = tel
        .request(r#"{"action":"register","params":{"login":"ada","password":"correct horse"}}"#)
        .await?;
    assert!(registered.get("error").is_none(), "{registered}");
    assert_ok(&tel.request("paramAdd login=ada").await?);
    assert_ok(&tel.request("paramAdd password=wrong").await?);
    assert_failed(&tel.request("login").await?, "wrong login or password");
    let login = tel
        .request(r#"{"action":"login","params":{"login":"ada","password":"correct horse"}}"#)
        .await?;
    assert_eq!(login["authenticated"], true, "{login}");
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
    // `type`: a socket client is refused where a websocket client is admitted.
    wcc.create_room("webonly").await?;
    wcc.admin(
        "PUT",
        "/rooms/webonly/authentication",
        Some(json!({"key": "type", "value": "websocket"})),
    )
    .await?;
    assert_refused(
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
    let (status, body) = wcc
        .admin("DELETE", &format!("/rooms/news/members/{web_user}"), None)
        .await?;
    assert_eq!((status, body), (200, json!({"left": true})));
    assert_eq!(web.push(|v| v["event"] == "left").await?["room"], "news");
    assert_eq!(
        web.request("say anyone?").await?["status"],
        "connection not in a room"
    );
    // roomLeave, and the rest of the verbs in the websocket client's JSON form.
    assert_ok(
        &web.request(r#"{"event":"roomChange","room":"lobby"}"#)
            .await?,
    );
    assert_eq!(web.request(r#"{"event":"roomLeave"}"#).await?["data"], true);
    let view = web.request("roomView").await?;
    assert_refused(&view, "room is required");
    assert_eq!(view["data"], Value::Null);
    // Leaving no room is no error upstream; `data` says nothing was left.
    let leave = web.request("roomLeave").await?;
    assert_ok(&leave);
    assert_eq!(leave["data"], false);
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
        json!({"k": "v", "limit": 100, "offset": 0})
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
    assert_refused(&tel.request("say hello?").await?, "room does not exist");
    assert_eq!(details(&mut tel).await?["room"], "vip");

    // Bad lines get an error line; the connection survives them all.
    let unknown = tel.request("fly away").await?;
    assert_eq!(
        unknown.as_object().unwrap().len(),
        3,
        "error, context, messageCount: {unknown}"
    );
    assert_failed(
        &unknown,
        "Error: fly is not a known action or that is not a valid apiVersion.",
    );
    assert_failed(
        &tel.request(r#"{"action":"fly"}"#).await?,
        "Error: fly is not a known action or that is not a valid apiVersion.",
    );
    // A line that is neither a verb nor a JSON request names an action, as upstream reads it.
    assert_failed(
        &tel.request("{not json").await?,
        "Error: {not is not a known action or that is not a valid apiVersion.",
    );
    // Actions check their params with upstream's words; `status` answers with the server's id.
    assert_failed(
        &tel.request(r#"{"action":"register","params":{"login":"bo"}}"#)
            .await?,
        "Error: password is a required parameter for this action",
    );
    let status = tel.request("status").await?;
    assert!(
        tel_connection.starts_with(&format!("{}-", status["id"].as_str().unwrap())),
        "{status}"
    );
    let documented = tel.request("documentation").await?;
    assert_eq!(
        documented["data"]["login"]["1"]["inputs"]["required"],
        json!(["login", "password"])
    );
    tel.send_bytes(b"\xff\xfe garbage\r\n").await?;
    assert_failed(&tel.response().await?, "lines must be UTF-8 text");
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
    assert_failed(&web.response().await?, "lines must be UTF-8 text");
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

    // quit (and exit) say goodbye as upstream's socket server does, and the server closes.
    for (client, word) in [(&mut tel, "quit"), (&mut web, "exit")] {
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

/// `actionheroClient.connect()` against `/faye`: the handshake, the setup channel that names
/// the connection channel, a connect paced by its advice, the greeting on the connection
/// channel, and the `detailsView` the client sends once connected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_era_browser_client_handshakes_over_faye() -> Result<()> {
    common::run_once(|wcc| Box::pin(handshakes(wcc)))
        .await
        .map(drop)
}

async fn handshakes(wcc: &Wcc) -> Result<()> {
    faye::wait_ready(&wcc.gateway).await?;
    let mut client = Faye::open(&wcc.gateway).await?;
    // The probe's `[]` gets nothing back: the handshake's reply is the first frame.
    let handshake = client.handshake().await?;
    let advice = json!({"reconnect": "retry", "interval": 30_000, "timeout": 45_000});
    assert_eq!(
        handshake,
        json!({
            "id": "1",
            "channel": "/meta/handshake",
            "successful": true,
            "version": "1.0",
            "supportedConnectionTypes": ["websocket"],
            "clientId": client.client_id,
            "advice": advice,
        })
    );
    let client_id = client.client_id.clone();
    assert_eq!(
        client.subscribe(SETUP).await?,
        json!({"id": "2", "channel": "/meta/subscribe", "clientId": client_id, "subscription": SETUP, "successful": true})
    );
    assert_eq!(client.delivery(SETUP, |_| true).await?, json!({"id": "me"}));
    // Answered at once; the advice's interval keeps the client from asking again in a loop.
    assert_eq!(
        client.connect().await?,
        json!({"id": "3", "channel": "/meta/connect", "clientId": client_id, "successful": true, "advice": advice})
    );
    assert_eq!(
        client.unsubscribe(SETUP).await?,
        json!({"id": "4", "channel": "/meta/unsubscribe", "clientId": client_id, "subscription": SETUP, "successful": true})
    );
    let channel = "/client/websocket/connection/me";
    client.channel = channel.to_owned();
    assert_eq!(
        client.subscribe(channel).await?,
        json!({"id": "5", "channel": "/meta/subscribe", "clientId": client_id, "subscription": channel, "successful": true})
    );
    let greeting = client.delivery(channel, |_| true).await?;
    assert_eq!(greeting["context"], "api");
    assert_eq!(greeting["room"], "defaultRoom");
    assert!(greeting["welcome"].is_string(), "{greeting}");

    let details = client.request(json!({"event": "detailsView"})).await?;
    assert_eq!(details["status"], "OK", "{details}");
    assert_eq!(details["messageCount"], 1);
    assert_eq!(details["data"]["id"], client_id.as_str());
    assert_eq!(details["data"]["room"], "defaultRoom");
    assert_eq!(details["data"]["params"], json!({}));
    // A websocket client may not use the socket's param verbs, as upstream's server has it.
    assert_eq!(
        client.request(json!({"event": "paramsView"})).await?,
        json!({"status": "verb not found or not allowed", "context": "response", "data": null, "messageCount": 2})
    );
    // `client.disconnect()`: acknowledged, then the socket closes.
    let disconnected = client
        .call(json!({"channel": "/meta/disconnect", "clientId": client_id}))
        .await?;
    assert_eq!(disconnected["successful"], true, "{disconnected}");
    assert!(client.closed_by_server().await);
    Ok(())
}

/// `actionheroClient.connect()` in a browser on the server's own page: Faye 1.0.4 sends its
/// handshake over HTTP (a JSON `POST` to `/faye`, its `long-polling` transport), takes the
/// client id from the answer and the websocket it advises, and carries on there with that id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_era_browser_client_handshakes_over_http_post() -> Result<()> {
    common::run_once(|wcc| Box::pin(handshakes_over_http(wcc)))
        .await
        .map(drop)
}

async fn handshakes_over_http(wcc: &Wcc) -> Result<()> {
    faye::wait_ready(&wcc.gateway).await?;
    let mut observer = common::Observer::start(&wcc.nats().await?).await?;
    // Faye opens its websocket probe while the handshake is under way.
    let mut client = Faye::open(&wcc.gateway).await?;
    let body = faye::http_handshake("long-polling");
    let origin = format!("http://{}", wcc.gateway);
    let request = format!(
        "POST /faye HTTP/1.1\r\nHost: {}\r\nOrigin: {origin}\r\nContent-Type: application/json\r\n\
         Pragma: no-cache\r\nX-Requested-With: XMLHttpRequest\r\nContent-Length: {}\r\n\r\n{body}",
        wcc.gateway,
        body.len()
    );
    let answer = faye::http(&wcc.gateway, &request).await?;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        answer.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(answer.header("access-control-allow-origin"), Some(&*origin));
    let replies = answer.json()?;
    let client_id = replies[0]["clientId"]
        .as_str()
        .expect("a client id")
        .to_owned();
    assert_eq!(
        replies,
        json!([{
            "id": "1",
            "channel": "/meta/handshake",
            "successful": true,
            "version": "1.0",
            "supportedConnectionTypes": ["websocket"],
            "clientId": client_id,
            "advice": {"reconnect": "retry", "interval": 30_000, "timeout": 45_000},
        }])
    );

    // The rest goes over the websocket with that id, as Faye 1.0.4 under node goes on: its
    // connect first, then actionheroClient's setup subscription and the rest of `connect()`.
    client.handshaken_over_http(&client_id);
    assert_eq!(
        client.connect().await?,
        json!({"id": "2", "channel": "/meta/connect", "clientId": client_id, "successful": true,
               "advice": {"reconnect": "retry", "interval": 30_000, "timeout": 45_000}})
    );
    let greeting = client.join().await?;
    assert_eq!(greeting["context"], "api");
    assert_eq!(greeting["room"], "defaultRoom");
    let details = client.request(json!({"event": "detailsView"})).await?;
    assert_eq!(details["status"], "OK", "{details}");
    assert_eq!(details["data"]["room"], "defaultRoom");
    assert_ok(
        &client
            .request(json!({"event": "say", "message": "hello over the websocket"}))
            .await?,
    );
    // The websocket's connection acts as its guest, signed in like any session; the handshake's
    // exchange signed nobody in (the gateway publishes in order, so its login would come first).
    let socket = details["data"]["id"].as_str().expect("a connection id");
    assert_ne!(socket, client_id);
    observer
        .wait_for("UserLoggedIn", |e| e["data"]["connection"] == socket)
        .await?;
    let of_the_exchange: Vec<&Value> = observer
        .seen
        .iter()
        .filter(|e| e["data"]["connection"] == client_id.as_str())
        .collect();
    assert!(of_the_exchange.is_empty(), "{of_the_exchange:?}");

    // Only the path that answers HTTP does; the others still want a websocket, or nothing.
    let plain = |path: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let refused = faye::http(&wcc.gateway, &plain("/actionhero")).await?;
    assert_eq!(refused.status, 426, "{refused:?}");
    assert_eq!(refused.header("upgrade"), Some("websocket"));
    assert_eq!(refused.header("access-control-allow-origin"), None);
    let unknown = faye::http(&wcc.gateway, &plain("/nowhere")).await?;
    assert_eq!(unknown.status, 404, "{unknown:?}");
    Ok(())
}

/// The same client on a page of another origin: Faye 1.0.4's handshake goes out as a script
/// (`callback-polling`: JSONP, the only cross-origin transport its handshake may use), and a
/// cross-origin `POST` (its `cross-origin-long-polling`, a form after a CORS preflight) is
/// answered too, readable by that origin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_era_browser_client_handshakes_across_origins_with_jsonp_and_cors() -> Result<()> {
    common::run_once(|wcc| Box::pin(handshakes_across_origins(wcc)))
        .await
        .map(drop)
}

async fn handshakes_across_origins(wcc: &Wcc) -> Result<()> {
    faye::wait_ready(&wcc.gateway).await?;
    let gateway = &wcc.gateway;
    let page = "https://chat.example.test";
    let expected = |client_id: &str| {
        json!([{
            "id": "1",
            "channel": "/meta/handshake",
            "successful": true,
            "version": "1.0",
            "supportedConnectionTypes": ["websocket"],
            "clientId": client_id,
            "advice": {"reconnect": "retry", "interval": 30_000, "timeout": 45_000},
        }])
    };

    // A <script src> the page adds: the handshake in `message`, its callback in `jsonp`.
    let message = faye::uri_encoded(&faye::http_handshake("callback-polling"));
    let script = format!(
        "GET /faye?message={message}&jsonp=__jsonp1__ HTTP/1.1\r\nHost: {gateway}\r\n\
         Accept: */*\r\nReferer: {page}/chat\r\n\r\n"
    );
    let answer = faye::http(gateway, &script).await?;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        answer.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    let json = answer
        .body
        .strip_prefix("/**/__jsonp1__(")
        .and_then(|rest| rest.strip_suffix(");"))
        .unwrap_or_else(|| panic!("not a call of the callback: {}", answer.body));
    let replies: Value = serde_json::from_str(json)?;
    let client_id = replies[0]["clientId"].as_str().expect("a client id");
    assert_eq!(replies, expected(client_id));
    // A callback that is no JavaScript name is refused, never written into the script.
    let injected = format!("GET /faye?message={message}&jsonp=alert(1)// HTTP/1.1\r\n\r\n");
    let refused = faye::http(gateway, &injected).await?;
    assert_eq!(refused.status, 400, "{refused:?}");
    assert!(!refused.body.contains("alert"), "{refused:?}");

    // The preflight of a cross-origin POST carrying Faye's `Pragma`.
    let preflight = format!(
        "OPTIONS /faye HTTP/1.1\r\nHost: {gateway}\r\nOrigin: {page}\r\n\
         Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: pragma\r\n\r\n"
    );
    let allowed = faye::http(gateway, &preflight).await?;
    assert_eq!(allowed.status, 200, "{allowed:?}");
    assert_eq!(allowed.header("access-control-allow-origin"), Some(page));
    let methods = allowed
        .header("access-control-allow-methods")
        .unwrap_or_default();
    assert!(methods.contains("POST"), "{allowed:?}");
    let headers = allowed
        .header("access-control-allow-headers")
        .unwrap_or_default();
    assert!(
        headers.to_ascii_lowercase().contains("pragma"),
        "{allowed:?}"
    );
    assert_eq!(allowed.header("access-control-allow-credentials"), None);

    // The POST itself: a form, `message=<JSON>`, with the browser's default type.
    let form = format!(
        "message={}",
        faye::uri_encoded(&faye::http_handshake("cross-origin-long-polling"))
    );
    let post = format!(
        "POST /faye HTTP/1.1\r\nHost: {gateway}\r\nOrigin: {page}\r\nPragma: no-cache\r\n\
         Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    );
    let answer = faye::http(gateway, &post).await?;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.header("access-control-allow-origin"), Some(page));
    let replies = answer.json()?;
    let client_id = replies[0]["clientId"].as_str().expect("a client id");
    assert_eq!(replies, expected(client_id));
    Ok(())
}

/// The browser client in a room with a telnet client: `roomChange`, `say` both ways, actions
/// (`register`, `login`), listening to another room, `roomLeave`; then the same client on a new
/// socket after its old one dropped, with no handshake there, as Faye carries on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_era_browser_client_chats_runs_actions_and_hears_its_room() -> Result<()> {
    common::run_once(|wcc| Box::pin(chats(wcc))).await.map(drop)
}

async fn chats(wcc: &Wcc) -> Result<()> {
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
