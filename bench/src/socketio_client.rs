//! Just enough of a Socket.IO 5 client (Engine.IO 4, websocket transport only) to put the same
//! load on the Socket.IO peer server (`bench/socketio/server.js`) as on the others: connect,
//! `join` a room, `say` with an acknowledgement, read `said` broadcasts, and answer every ping
//! (the server closes a connection that misses one).
//!
//! Subscribers read their own socket and answer pings inline ([`pong_for`]). A publisher runs
//! a [`Session`]: a task of its own reads the socket, so pings are answered between runs too,
//! when nobody waits for anything on it.

mod packet;

use std::net::SocketAddr;

use anyhow::{bail, Context, Result};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::{sync::mpsc, task::JoinHandle};
use tokio_tungstenite::tungstenite::{protocol::frame::Utf8Bytes, Message};

pub use packet::{EnginePacket, SocketPacket};

use crate::client::{self, Ws, ANSWER_TIMEOUT};

/// The Socket.IO endpoint, websocket straight away (no long-polling first).
pub const ENDPOINT: &str = "socket.io/?EIO=4&transport=websocket";

/// Frames a publisher may have queued for its socket before sending waits.
const QUEUED_FRAMES: usize = 1024;

/// Acks a publisher's reader may lag behind. Past it an ack is dropped rather than blocking the
/// socket's reader (which must keep answering pings): only late acks of a finished run, that no
/// one reads, ever fill it.
const ACK_BACKLOG: usize = 16_384;

/// Connects to the Socket.IO server at `addr`: the open packet, then `40` answered by `40{sid}`.
pub async fn connect(addr: SocketAddr) -> Result<Ws> {
    let mut ws = client::connect_to(addr, None, ENDPOINT).await?;
    let open = next_text(&mut ws).await?;
    match EnginePacket::decode(open.as_str())? {
        EnginePacket::Open(handshake) => packet::handshake_sid(handshake)?,
        other => bail!("expected the Engine.IO open packet, got {other:?}"),
    };
    ws.send(Message::text(SocketPacket::Connect(None).frame()))
        .await?;
    loop {
        match next_packet(&mut ws).await? {
            SocketPacket::Connect(_) => return Ok(ws),
            SocketPacket::ConnectError(error) => bail!("Socket.IO refused to connect: {error}"),
            _ => {}
        }
    }
}

/// Emits `name` with `data` and ack id `id`; the ack's arguments (pings answered meanwhile).
pub async fn call(ws: &mut Ws, id: u64, name: &str, data: Value) -> Result<Vec<Value>> {
    ws.send(Message::text(event_with_ack(id, name, data)))
        .await?;
    loop {
        match next_packet(ws).await? {
            SocketPacket::Ack { id: got, args } if got == id => return Ok(args),
            SocketPacket::Disconnect => bail!("the server disconnected during {name}"),
            _ => {}
        }
    }
}

/// Joins `room` (ack id 1; a [`Session`] started afterwards numbers its acks from 2).
pub async fn join(ws: &mut Ws, room: &str) -> Result<()> {
    let args = call(ws, 1, "join", json!(room)).await?;
    if !is_ok(&args) {
        bail!("join {room} refused: {args:?}");
    }
    Ok(())
}

/// `say` of a stamped body to `room`, asking for ack `id`.
pub fn say(id: u64, room: &str, body: String) -> String {
    event_with_ack(id, "say", json!({"room": room, "body": body}))
}

fn event_with_ack(id: u64, name: &str, data: Value) -> String {
    SocketPacket::Event {
        ack: Some(id),
        name: name.to_string(),
        args: vec![data],
    }
    .frame()
}

/// An ack says ok unless its first argument is `{"error": ...}` (how the peer server refuses).
fn is_ok(args: &[Value]) -> bool {
    args.first().is_none_or(|a| a.get("error").is_none())
}

/// `(run, seq, sent_us)` of a `said` broadcast, found without parsing the whole frame.
pub fn said_stamp(text: &str) -> Option<(u32, u64, u64)> {
    if !text.starts_with("42[\"said\"") {
        return None;
    }
    client::parse_stamp(text)
}

/// The pong to send if `text` is an Engine.IO ping.
pub fn pong_for(text: &str) -> Option<Message> {
    match EnginePacket::decode(text) {
        Ok(EnginePacket::Ping(data)) => Some(Message::text(EnginePacket::Pong(data).encode())),
        _ => None,
    }
}

async fn next_text(ws: &mut Ws) -> Result<Utf8Bytes> {
    loop {
        let message = tokio::time::timeout(ANSWER_TIMEOUT, ws.next())
            .await
            .context("server silent")?
            .context("connection closed")??;
        match message {
            Message::Text(text) => return Ok(text),
            Message::Close(frame) => bail!("connection closed by server: {frame:?}"),
            _ => {}
        }
    }
}

/// The next Socket.IO packet, answering pings on the way.
async fn next_packet(ws: &mut Ws) -> Result<SocketPacket> {
    loop {
        let text = next_text(ws).await?;
        match EnginePacket::decode(text.as_str())? {
            EnginePacket::Ping(data) => {
                let pong = EnginePacket::Pong(data).encode();
                ws.send(Message::text(pong)).await?;
            }
            EnginePacket::Message(data) => return Ok(SocketPacket::decode(data)?),
            EnginePacket::Close => bail!("the server closed the Engine.IO session"),
            _ => {}
        }
    }
}

/// An acknowledgement from the server.
#[derive(Debug)]
pub struct Ack {
    pub id: u64,
    pub ok: bool,
}

/// A connected client whose socket a task of its own reads and writes.
pub struct Session {
    pub emitter: Emitter,
    pub acks: Acks,
    driver: JoinHandle<()>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

impl Session {
    /// Takes over `ws`, which [`join`] already used ack id 1 on.
    pub fn start(ws: Ws) -> Self {
        let (frames, queued) = mpsc::channel(QUEUED_FRAMES);
        let (acked, acks) = mpsc::channel(ACK_BACKLOG);
        Self {
            emitter: Emitter { frames, next_id: 2 },
            acks: Acks(acks),
            driver: tokio::spawn(drive(ws, queued, acked)),
        }
    }
}

/// Sends on a [`Session`]'s socket.
pub struct Emitter {
    frames: mpsc::Sender<Message>,
    next_id: u64,
}

impl Emitter {
    /// The ack id the next emit will ask for.
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Queues `frame(id)` for the socket under the next ack id; returns that id.
    pub async fn emit_with_ack(&mut self, frame: impl FnOnce(u64) -> String) -> Result<u64> {
        let id = self.next_id;
        self.next_id += 1;
        self.frames
            .send(Message::text(frame(id)))
            .await
            .context("the Socket.IO connection is closed")?;
        Ok(id)
    }
}

/// Receives a [`Session`]'s acks.
pub struct Acks(mpsc::Receiver<Ack>);

impl Acks {
    /// The next ack; None once the connection ended or nothing came for [`ANSWER_TIMEOUT`].
    pub async fn next(&mut self) -> Option<Ack> {
        tokio::time::timeout(ANSWER_TIMEOUT, self.0.recv())
            .await
            .ok()?
    }

    /// Whether ack `id` came and said ok; earlier ids are late acks of a past run.
    pub async fn wait_for(&mut self, id: u64) -> bool {
        while let Some(ack) = self.next().await {
            if ack.id == id {
                return ack.ok;
            }
        }
        false
    }
}

/// Writes queued frames, answers pings, hands acks on; ends when either side closes.
async fn drive(mut ws: Ws, mut queued: mpsc::Receiver<Message>, acked: mpsc::Sender<Ack>) {
    loop {
        tokio::select! {
            frame = queued.recv() => {
                let Some(frame) = frame else { break };
                if ws.send(frame).await.is_err() {
                    break;
                }
            }
            message = ws.next() => {
                let text = match message {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(_)) => continue,
                };
                if let Some(pong) = pong_for(text.as_str()) {
                    if ws.send(pong).await.is_err() {
                        break;
                    }
                    continue;
                }
                // Broadcasts and anything unexpected are not the publisher's business; a lost
                // ack shows up as unacked in the results.
                let Ok(EnginePacket::Message(data)) = EnginePacket::decode(text.as_str()) else {
                    continue;
                };
                if let Ok(SocketPacket::Ack { id, args }) = SocketPacket::decode(data) {
                    let _ = acked.try_send(Ack { id, ok: is_ok(&args) });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_said_broadcast_yields_its_stamp_and_other_frames_do_not() {
        let body = client::stamped_body(4, 9, 0);
        let said = SocketPacket::Event {
            ack: None,
            name: "said".into(),
            args: vec![json!({"room": "r", "from": "abc", "id": 3, "body": body})],
        }
        .frame();
        let (run, seq, _) = said_stamp(&said).unwrap();
        assert_eq!((run, seq), (4, 9));
        assert_eq!(said_stamp(&say(2, "r", body)), None);
        assert_eq!(said_stamp("2"), None);
    }

    #[test]
    fn only_pings_get_a_pong() {
        assert_eq!(pong_for("2"), Some(Message::text("3")));
        assert_eq!(pong_for("42[\"said\",{}]"), None);
        assert_eq!(pong_for("3"), None);
        assert_eq!(pong_for(""), None);
    }

    #[test]
    fn a_say_asks_for_its_ack_and_an_error_answer_is_not_ok() {
        let frame = say(7, "room-1", "1:2:3:".into());
        let EnginePacket::Message(data) = EnginePacket::decode(&frame).unwrap() else {
            panic!("not a message")
        };
        let SocketPacket::Event { ack, name, args } = SocketPacket::decode(data).unwrap() else {
            panic!("not an event")
        };
        assert_eq!((ack, name.as_str()), (Some(7), "say"));
        assert_eq!(args, vec![json!({"room": "room-1", "body": "1:2:3:"})]);
        assert!(is_ok(&[json!({"id": 1})]));
        assert!(!is_ok(&[json!({"error": "join room-1 first"})]));
    }
}
