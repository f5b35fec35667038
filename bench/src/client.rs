//! A venueless client, just enough of one for load: connect (optionally from a given loopback
//! source address, and to another protocol's endpoint), authenticate, requests with ids, and
//! cheap parsing of `chat.event` bodies.

use std::{
    net::{IpAddr, SocketAddr},
    sync::OnceLock,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::{
    tungstenite::{protocol::WebSocketConfig, Message},
    WebSocketStream,
};

pub type Ws = WebSocketStream<TcpStream>;

/// How long a request may wait for its answer before the client counts it as lost.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Microseconds since the benchmark started; senders put it in message bodies.
pub fn now_us() -> u64 {
    epoch().elapsed().as_micros() as u64
}

/// Connects to `ws://{addr}/venueless`, from `source` if given.
pub async fn connect(addr: SocketAddr, source: Option<IpAddr>) -> Result<Ws> {
    connect_to(addr, source, "venueless").await
}

/// Connects to `ws://{addr}/{path}` (a protocol's endpoint), from `source` if given.
pub async fn connect_to(addr: SocketAddr, source: Option<IpAddr>, path: &str) -> Result<Ws> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(ip) = source {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    // Small buffers: the connection-capacity scenario holds tens of thousands of these.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (ws, _) = tokio_tungstenite::client_async_with_config(
        format!("ws://{addr}/{path}"),
        stream,
        Some(config),
    )
    .await?;
    Ok(ws)
}

pub async fn send(ws: &mut Ws, frame: Value) -> Result<()> {
    ws.send(Message::text(frame.to_string())).await?;
    Ok(())
}

/// The next text frame, parsed.
pub async fn next_json(ws: &mut Ws) -> Result<Value> {
    loop {
        let message = tokio::time::timeout(ANSWER_TIMEOUT, ws.next())
            .await
            .context("server silent")?
            .context("connection closed")??;
        match message {
            Message::Text(text) => return Ok(serde_json::from_str(text.as_str())?),
            Message::Close(frame) => bail!("connection closed by server: {frame:?}"),
            _ => {}
        }
    }
}

pub async fn authenticate(ws: &mut Ws, client_id: &str) -> Result<()> {
    send(ws, json!(["authenticate", {"client_id": client_id}])).await?;
    loop {
        let frame = next_json(ws).await?;
        match frame[0].as_str() {
            Some("authenticated") => return Ok(()),
            Some("error") => bail!("authenticate refused: {frame}"),
            _ => {}
        }
    }
}

/// Sends `[action, id, payload]` and waits for its `success`.
pub async fn request(ws: &mut Ws, id: u64, action: &str, payload: Value) -> Result<()> {
    send(ws, json!([action, id, payload])).await?;
    wait_reply(ws, id).await
}

pub async fn wait_reply(ws: &mut Ws, id: u64) -> Result<()> {
    loop {
        let frame = next_json(ws).await?;
        if is_reply_to(&frame, id) {
            if frame[0] != "success" {
                bail!("request {id} failed: {frame}");
            }
            return Ok(());
        }
    }
}

pub fn is_reply_to(frame: &Value, id: u64) -> bool {
    frame[1].as_u64() == Some(id) && frame.as_array().is_some_and(|a| a.len() == 3)
}

/// [`member`], tried up to three times with fresh client ids: wcc closes a connection whose
/// call it could not answer (docs/design.md), and setting up load should survive that.
pub async fn member(
    addr: SocketAddr,
    client_id: String,
    room: &str,
    subscribe: bool,
) -> Result<Ws> {
    let mut attempt = 0;
    loop {
        match member_once(addr, format!("{client_id}-{attempt}"), room, subscribe).await {
            Err(_) if attempt < 2 => attempt += 1,
            joined => return joined,
        }
    }
}

/// A logged-in client with a profile, joined to (and, if `subscribe`, subscribed to) `room`.
async fn member_once(
    addr: SocketAddr,
    client_id: String,
    room: &str,
    subscribe: bool,
) -> Result<Ws> {
    let mut ws = connect(addr, None).await?;
    authenticate(&mut ws, &client_id).await?;
    request(
        &mut ws,
        1,
        "user.update",
        json!({"profile": {"display_name": client_id}}),
    )
    .await?;
    request(&mut ws, 2, "chat.join", json!({"channel": room})).await?;
    if subscribe {
        request(&mut ws, 3, "chat.subscribe", json!({"channel": room})).await?;
    }
    Ok(ws)
}

/// A `chat.send` of a body that carries the run, sequence number and send time.
pub fn message(id: u64, room: &str, run: u32, seq: u64, padding: usize) -> Value {
    let body = stamped_body(run, seq, padding);
    json!(["chat.send", id, {"channel": room, "event_type": "channel.message", "content": {"type": "text", "body": body}}])
}

/// `run:seq:sent_us:padding`, the body every load generator sends, whatever the protocol: the
/// receiver reads its latency from it without a clock crossing a process.
pub fn stamped_body(run: u32, seq: u64, padding: usize) -> String {
    format!("{run}:{seq}:{}:{}", now_us(), "x".repeat(padding))
}

/// `(run, seq, sent_us)` from a `chat.event` frame, found without parsing the whole frame.
pub fn parse_event(text: &str) -> Option<(u32, u64, u64)> {
    if !text.starts_with("[\"chat.event\"") {
        return None;
    }
    parse_stamp(text)
}

/// `(run, seq, sent_us)` of the first `"body":"` string of a JSON text (see [`stamped_body`]).
pub fn parse_stamp(text: &str) -> Option<(u32, u64, u64)> {
    let start = text.find("\"body\":\"")? + 8;
    let mut parts = text[start..].splitn(4, ':');
    let run = parts.next()?.parse().ok()?;
    let seq = parts.next()?.parse().ok()?;
    let sent = parts.next()?.parse().ok()?;
    Some((run, seq, sent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_bodies_parse_without_a_json_parser() {
        let frame = json!(["chat.event", {"event_type": "channel.message", "content": {"type": "text", "body": "3:17:123456:xx"}}]);
        assert_eq!(parse_event(&frame.to_string()), Some((3, 17, 123456)));
        assert_eq!(parse_event("[\"success\",1,{}]"), None);
    }

    #[test]
    fn a_stamped_body_reads_back_as_its_run_sequence_and_send_time() {
        let body = stamped_body(7, 42, 3);
        let (run, seq, sent) = parse_stamp(&json!({"body": body}).to_string()).unwrap();
        assert_eq!((run, seq), (7, 42));
        assert!(sent <= now_us());
        assert!(body.ends_with(":xxx"));
        assert_eq!(parse_stamp(r#"{"body":"not a stamp"}"#), None);
    }
}
