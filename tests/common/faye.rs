//! actionhero's browser client as the server sees it: Faye 1.0.4's websocket transport under
//! `actionheroClient.js` v7.6.5, frame for frame. Faye sends every message as a frame of its
//! own (`[{...}]`), numbers message ids in base 36, pings with `[]`, and hands every message
//! that is no reply (`channel` and `data`) to the channel's subscribers; the actionhero client
//! subscribes to its setup channel, then to its connection channel, and publishes requests
//! there.
//!
//! Before any of that, Faye sends its handshake over plain HTTP ([`HttpAnswer`], [`http`]): a
//! JSON `POST` from the page's own origin, a JSONP `GET` from another.

use anyhow::{bail, ensure, Context, Result};
use futures::SinkExt;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

use crate::common::{next_json, Socket, REPLY_TIMEOUT};

/// The setup channel a client announces itself on (`randomString()` picks the tail).
pub const SETUP: &str =
    "/client/websocket/_incoming/Zq3xW9aPLmKc8dRt2VbN7yHs4EuJ6fGo-1417046400000";
/// Where actionheroClient.js publishes once it knows its id.
pub const CONNECTION_PREFIX: &str = "/client/websocket/connection/";

pub struct Faye {
    ws: Socket,
    message_id: u64,
    /// From the handshake.
    pub client_id: String,
    /// `connectionPrefix + id`, once the setup channel said the id.
    pub channel: String,
    /// The client's own request count (`send()` numbers requests; replies carry it back).
    pub message_count: u64,
    /// Deliveries (`{channel, data}`) not asked for yet.
    deliveries: Vec<Value>,
}

impl Faye {
    /// Opens the socket at `/faye` (the client's default `fayePath`), as Faye's transport probe
    /// does, and sends the ping it sends on open.
    pub async fn open(gateway: &str) -> Result<Self> {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{gateway}/faye")).await?;
        let mut faye = Self {
            ws,
            message_id: 0,
            client_id: String::new(),
            channel: String::new(),
            message_count: 0,
            deliveries: Vec::new(),
        };
        faye.send_frame("[]").await?;
        Ok(faye)
    }

    pub async fn send_frame(&mut self, frame: &str) -> Result<()> {
        Ok(self.ws.send(Message::text(frame)).await?)
    }

    /// The next frame from the server: always a list of messages.
    pub async fn frame(&mut self) -> Result<Vec<Value>> {
        match next_json(&mut self.ws).await? {
            Value::Array(messages) => Ok(messages),
            other => bail!("a frame that is no list of messages: {other}"),
        }
    }

    /// Faye's next message id.
    fn next_id(&mut self) -> String {
        self.message_id += 1;
        let (mut n, mut id) = (self.message_id, Vec::new());
        while n > 0 {
            id.push(std::char::from_digit((n % 36) as u32, 36).unwrap_or('0'));
            n /= 36;
        }
        id.iter().rev().collect()
    }

    /// Sends `message` (given the next id) in a frame of its own and returns the reply to it;
    /// deliveries that arrive meanwhile are kept.
    pub async fn call(&mut self, mut message: Value) -> Result<Value> {
        let id = self.next_id();
        message["id"] = json!(id);
        let sent = json!([message]).to_string();
        self.send_frame(&sent).await?;
        let mut answer = None;
        while answer.is_none() {
            // A frame may carry deliveries after the reply: all of it is read.
            let frame = self
                .frame()
                .await
                .with_context(|| format!("waiting for the reply to {sent}"))?;
            for reply in frame {
                if reply.get("successful").is_some() && reply["id"] == id.as_str() {
                    answer = Some(reply);
                } else {
                    ensure!(reply.get("data").is_some(), "a stray reply: {reply}");
                    self.deliveries.push(reply);
                }
            }
        }
        answer.context("no reply")
    }

    /// `/meta/handshake` as Faye sends it; keeps the client id.
    pub async fn handshake(&mut self) -> Result<Value> {
        let reply = self
            .call(json!({
                "channel": "/meta/handshake",
                "version": "1.0",
                "supportedConnectionTypes": ["websocket"],
            }))
            .await?;
        self.client_id = reply["clientId"]
            .as_str()
            .context("a handshake without a client id")?
            .to_owned();
        Ok(reply)
    }

    pub async fn subscribe(&mut self, channel: &str) -> Result<Value> {
        let client_id = self.client_id.clone();
        self.call(
            json!({"channel": "/meta/subscribe", "clientId": client_id, "subscription": channel}),
        )
        .await
    }

    pub async fn unsubscribe(&mut self, channel: &str) -> Result<Value> {
        let client_id = self.client_id.clone();
        self.call(
            json!({"channel": "/meta/unsubscribe", "clientId": client_id, "subscription": channel}),
        )
        .await
    }

    pub async fn connect(&mut self) -> Result<Value> {
        let client_id = self.client_id.clone();
        self.call(json!({"channel": "/meta/connect", "clientId": client_id, "connectionType": "websocket"}))
            .await
    }

    /// The next delivery on `channel` whose data matches `pred` (kept or new).
    pub async fn delivery(
        &mut self,
        channel: &str,
        pred: impl Fn(&Value) -> bool,
    ) -> Result<Value> {
        let matches = |message: &Value| message["channel"] == channel && pred(&message["data"]);
        if let Some(pos) = self.deliveries.iter().position(matches) {
            return Ok(self.deliveries.remove(pos)["data"].clone());
        }
        loop {
            let frame = self
                .frame()
                .await
                .with_context(|| format!("waiting for a delivery on {channel}"))?;
            for message in frame {
                ensure!(
                    message.get("successful").is_none(),
                    "a stray reply: {message}"
                );
                if matches(&message) {
                    return Ok(message["data"].clone());
                }
                self.deliveries.push(message);
            }
        }
    }

    /// What `actionheroClient.connect()` does: handshake, the setup channel (whose message
    /// names the connection channel), the connect, the switch to the connection channel.
    /// Returns the greeting delivered there.
    pub async fn connect_client(&mut self) -> Result<Value> {
        self.handshake().await?;
        self.join().await
    }

    /// Takes the client id of a handshake sent over HTTP, which was Faye's first message.
    pub fn handshaken_over_http(&mut self, client_id: &str) {
        self.client_id = client_id.to_owned();
        self.message_id = 1;
    }

    /// What the client does once it has its client id (however it got it): the setup channel,
    /// the connect, the switch to the connection channel. Returns the greeting delivered there.
    pub async fn join(&mut self) -> Result<Value> {
        let subscribed = self.subscribe(SETUP).await?;
        ensure!(subscribed["successful"] == true, "{subscribed}");
        let setup = self.delivery(SETUP, |_| true).await?;
        let id = setup["id"].as_str().context("no id on the setup channel")?;
        self.channel = format!("{CONNECTION_PREFIX}{id}");
        let connected = self.connect().await?;
        ensure!(connected["successful"] == true, "{connected}");
        self.unsubscribe(SETUP).await?;
        let channel = self.channel.clone();
        let subscribed = self.subscribe(&channel).await?;
        ensure!(subscribed["successful"] == true, "{subscribed}");
        self.delivery(&channel, |data| data.get("welcome").is_some())
            .await
    }

    /// `client.send(args)`: publishes on the connection channel and returns the reply the
    /// client's callback gets (the response carrying its request's number).
    pub async fn request(&mut self, args: Value) -> Result<Value> {
        self.message_count += 1;
        let count = self.message_count;
        let (channel, client_id) = (self.channel.clone(), self.client_id.clone());
        let ack = self
            .call(json!({"channel": channel, "data": args, "clientId": client_id}))
            .await?;
        ensure!(ack["successful"] == true, "publish refused: {ack}");
        self.delivery(&channel, |data| {
            data["context"] == "response" && data["messageCount"] == count
        })
        .await
    }

    /// The next chat message (`context: user`) saying `message` on the connection channel.
    pub async fn chat(&mut self, message: &str) -> Result<Value> {
        let channel = self.channel.clone();
        self.delivery(&channel, |data| {
            data["context"] == "user" && data["message"] == message
        })
        .await
    }

    /// Whether any delivery kept so far (not asked for yet) contains `text`.
    pub fn saw(&self, text: &str) -> bool {
        self.deliveries
            .iter()
            .any(|delivery| delivery.to_string().contains(text))
    }

    /// Whether the server closes the socket (after any frames still in flight).
    pub async fn closed_by_server(&mut self) -> bool {
        loop {
            match next_json(&mut self.ws).await {
                Ok(_) => continue,
                Err(e) => return format!("{e:#}").contains("closed"),
            }
        }
    }
}

/// Waits until `/faye` answers a handshake, several rounds in a row, as `Wcc::wait_ready` does
/// for the other paths: the browser client's component is a component of its own, and wadm
/// reports "deployed" before its wRPC server is sure to listen. Readiness, not a retry: no
/// request of a test is sent before it.
pub async fn wait_ready(gateway: &str) -> Result<()> {
    const ROUNDS: u32 = 5;
    let deadline = tokio::time::Instant::now() + crate::common::DEPLOY_TIMEOUT;
    let mut ready_rounds = 0;
    while ready_rounds < ROUNDS {
        let probe = async {
            let mut client = Faye::open(gateway).await?;
            client.handshake().await
        };
        let answered = matches!(
            tokio::time::timeout(std::time::Duration::from_secs(3), probe).await,
            Ok(Ok(reply)) if reply["successful"] == true
        );
        ready_rounds = if answered { ready_rounds + 1 } else { 0 };
        ensure!(
            tokio::time::Instant::now() < deadline,
            "/faye never answered a handshake"
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    Ok(())
}

/// Faye 1.0.4's handshake as its HTTP transports send it: its first message, offering the one
/// transport it sends it with, in Faye's own field order.
pub fn http_handshake(connection_type: &str) -> String {
    format!(
        r#"[{{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["{connection_type}"],"id":"1"}}]"#
    )
}

/// `text` as `encodeURIComponent` leaves it (what Faye puts in a query or a form).
pub fn uri_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'!'
            | b'~'
            | b'*'
            | b'\''
            | b'('
            | b')' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An HTTP response as the client reads it.
#[derive(Debug)]
pub struct HttpAnswer {
    pub status: u16,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpAnswer {
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut found = self.headers.iter().filter(|(n, _)| n == name);
        found.next().map(|(_, value)| value.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> Result<Value> {
        serde_json::from_str(&self.body).with_context(|| format!("not JSON: {}", self.body))
    }
}

/// Sends `request` (head and body, as a browser writes it) to the gateway and reads the
/// response to the end: the gateway closes after each.
pub async fn http(gateway: &str, request: &str) -> Result<HttpAnswer> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(gateway).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).await?;
        Ok::<_, anyhow::Error>(bytes)
    };
    let bytes = tokio::time::timeout(REPLY_TIMEOUT, exchange)
        .await
        .context("no HTTP answer in time")??;
    let text = String::from_utf8(bytes).context("an answer that is not UTF-8")?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .with_context(|| format!("no complete head: {text:?}"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let answer = HttpAnswer {
        status,
        headers,
        body: body.to_owned(),
    };
    let length = answer.header("content-length").and_then(|n| n.parse().ok());
    ensure!(
        length == Some(answer.body.len()),
        "Content-Length {length:?} for a body of {}",
        answer.body.len()
    );
    Ok(answer)
}
