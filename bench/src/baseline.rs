//! The native baseline: the smallest websocket broadcast server that answers the same venueless
//! frames the load generator sends. No wasm, no persistence, no NATS: a room is a list of
//! connection queues in memory and `chat.send` is rendered once and queued to each of them.
//! It has the gateway's shape (a bounded queue and a batching writer per connection), so the
//! ratio of wcc to it is the price of validating, persisting and routing through the lattice.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
};

use anyhow::Result;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::{net::TcpListener, sync::mpsc};
use tokio_tungstenite::tungstenite::{protocol::WebSocketConfig, Message};

/// The same per-connection queue bound the benchmark gives the gateway.
const QUEUE_FRAMES: usize = 8192;

/// A subscriber: its connection number and its outgoing queue.
type Subscriber = (u64, mpsc::Sender<Message>);

#[derive(Default)]
struct State {
    rooms: Mutex<HashMap<String, Vec<Subscriber>>>,
    next_event: AtomicU64,
    next_connection: AtomicU64,
}

pub async fn serve(addr: SocketAddr) -> Result<()> {
    let listener = TcpListener::bind(addr).await?;
    let state = Arc::new(State::default());
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(Arc::clone(&state), stream));
    }
}

async fn connection(state: Arc<State>, stream: tokio::net::TcpStream) {
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(16 * 1024);
    let Ok(ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else {
        return;
    };
    let id = state.next_connection.fetch_add(1, Ordering::Relaxed);
    let (mut sink, mut inbound) = ws.split();
    let (queue, mut outbound) = mpsc::channel::<Message>(QUEUE_FRAMES);
    let writer = tokio::spawn(async move {
        'write: while let Some(message) = outbound.recv().await {
            if sink.feed(message).await.is_err() {
                break;
            }
            while let Ok(message) = outbound.try_recv() {
                if sink.feed(message).await.is_err() {
                    break 'write;
                }
            }
            if sink.flush().await.is_err() {
                break;
            }
        }
    });
    let mut joined = Vec::new();
    while let Some(Ok(message)) = inbound.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        let reply = match frame[0].as_str() {
            Some("authenticate") => json!(["authenticated", {"user": {"id": id.to_string()}}]),
            Some("chat.subscribe") => {
                let room = frame[2]["channel"].as_str().unwrap_or_default().to_string();
                state
                    .rooms
                    .lock()
                    .unwrap()
                    .entry(room.clone())
                    .or_default()
                    .push((id, queue.clone()));
                joined.push(room);
                json!(["success", frame[1], {}])
            }
            Some("chat.send") => {
                let room = frame[2]["channel"].as_str().unwrap_or_default();
                let event_id = state.next_event.fetch_add(1, Ordering::Relaxed) + 1;
                let event = Message::text(
                    json!(["chat.event", {"channel": room, "event_id": event_id, "event_type": "channel.message", "sender": id.to_string(), "content": frame[2]["content"]}])
                        .to_string(),
                );
                if let Some(members) = state.rooms.lock().unwrap().get(room) {
                    for (_, member) in members {
                        // A full queue drops the event for that member, as a broadcast
                        // server without a slow-consumer policy would.
                        let _ = member.try_send(event.clone());
                    }
                }
                json!(["success", frame[1], {"event": {"event_id": event_id}}])
            }
            _ => json!(["success", frame[1], {}]),
        };
        if queue.send(Message::text(reply.to_string())).await.is_err() {
            break;
        }
    }
    {
        let mut rooms = state.rooms.lock().unwrap();
        for room in joined {
            if let Some(members) = rooms.get_mut(&room) {
                members.retain(|(member, _)| *member != id);
            }
        }
    }
    drop(queue);
    let _ = writer.await;
}
