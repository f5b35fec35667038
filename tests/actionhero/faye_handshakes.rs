//! The era's browser client (actionheroClient.js on Faye 1.0.4) connecting: its Bayeux
//! handshake over the websocket, over an HTTP `POST`, and across origins (JSONP and CORS).

use anyhow::Result;
use serde_json::{json, Value};

use crate::common::{self, Wcc};
use crate::faye::{self, Faye, SETUP};
use crate::support::assert_ok;

/// `the_era_browser_client_handshakes_over_faye`.
pub(crate) async fn handshakes(wcc: &Wcc) -> Result<()> {
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

/// `the_era_browser_client_handshakes_over_http_post`.
pub(crate) async fn handshakes_over_http(wcc: &Wcc) -> Result<()> {
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

/// `the_era_browser_client_handshakes_across_origins_with_jsonp_and_cors`.
pub(crate) async fn handshakes_across_origins(wcc: &Wcc) -> Result<()> {
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
