//! Ingest: many senders in many rooms, nobody subscribed. Every acknowledged message was
//! validated and persisted by the messages actor, so acks/s is persisted messages/s; the ack
//! latency is what a sender waits.

use std::time::{Duration, Instant};

use anyhow::Result;
use futures::{stream::FuturesUnordered, SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::{
    client::{self, now_us},
    stats::{Latencies, Usage},
    target::{self, Server},
};

pub struct IngestRun {
    pub server: &'static str,
    pub label: String,
    pub senders: usize,
    pub rooms: usize,
    pub sent: u64,
    pub acked: u64,
    pub seconds: f64,
    pub ack_latency: Latencies,
    pub usage: Usage,
}

impl IngestRun {
    pub fn acked_per_sec(&self) -> f64 {
        self.acked as f64 / self.seconds.max(1e-9)
    }

    pub fn json(&self) -> Value {
        json!({
            "server": self.server, "run": self.label, "senders": self.senders, "rooms": self.rooms,
            "sent": self.sent, "acked": self.acked, "seconds": self.seconds,
            "persisted_per_sec": self.acked_per_sec(), "ack_latency_ms": self.ack_latency.json(),
            "usage": self.usage.json(),
        })
    }
}

/// Each sender sends `per_sender` messages, at `rate` msgs/s in total (spread evenly), or as
/// fast as its acks come back when `rate` is None.
pub async fn run(
    server: &Server,
    senders: usize,
    rooms: usize,
    per_sender: usize,
    rate: Option<u32>,
    tag: &str,
) -> Result<IngestRun> {
    let names: Vec<String> = (0..rooms).map(|r| format!("ingest-{tag}-{r}")).collect();
    for room in &names {
        target::create_room(server, room)?;
    }
    // (client, its room): joins finish in any order.
    let mut clients = Vec::with_capacity(senders);
    for chunk in (0..senders).collect::<Vec<_>>().chunks(25) {
        let joining: FuturesUnordered<_> = chunk
            .iter()
            .map(|i| {
                let room = names[i % rooms].clone();
                async move {
                    let ws = client::member(server.addr, format!("ingest-{tag}-{i}"), &room, false)
                        .await?;
                    anyhow::Ok((ws, room))
                }
            })
            .collect();
        clients.extend(
            joining
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .collect::<Result<Vec<_>>>()?,
        );
    }
    let before = Usage::sample(server).await?;
    let started = Instant::now();
    let per_sender_interval =
        rate.map(|r| Duration::from_secs_f64(senders as f64 / f64::from(r.max(1))));
    let sending: FuturesUnordered<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, (ws, room))| sender(ws, room, per_sender, per_sender_interval, i))
        .collect();
    let results: Vec<(u64, Vec<u64>)> = sending.collect().await;
    let wall = started.elapsed();
    let after = Usage::sample(server).await?;
    let acked = results.iter().map(|(n, _)| n).sum();
    let latencies = results.into_iter().flat_map(|(_, l)| l).collect();
    Ok(IngestRun {
        server: server.name,
        label: rate.map_or("ack-paced".into(), |r| format!("{r} msg/s")),
        senders,
        rooms,
        sent: (senders * per_sender) as u64,
        acked,
        seconds: wall.as_secs_f64(),
        ack_latency: Latencies::from_micros(latencies),
        usage: after.since(&before, wall),
    })
}

/// One sender; returns how many sends were acknowledged and their latencies (µs).
async fn sender(
    ws: client::Ws,
    room: String,
    count: usize,
    interval: Option<Duration>,
    index: usize,
) -> (u64, Vec<u64>) {
    let (mut sink, mut stream) = ws.split();
    let mut sent_at = vec![0u64; count];
    let mut latencies = Vec::with_capacity(count);
    match interval {
        None => {
            for seq in 0..count {
                sent_at[seq] = now_us();
                let frame = client::message(1000 + seq as u64, &room, 0, seq as u64, 0);
                if sink.send(Message::text(frame.to_string())).await.is_err() {
                    break;
                }
                if let Some(id) = next_ack(&mut stream).await {
                    latencies.push(now_us().saturating_sub(sent_at[(id - 1000) as usize]));
                }
            }
        }
        Some(interval) => {
            // Senders start spread over one interval so the offered load is even.
            let offset = interval.mul_f64(index as f64 / 64.0 % 1.0);
            let mut next = tokio::time::Instant::now() + offset;
            let sending = async {
                for (seq, slot) in sent_at.iter_mut().enumerate() {
                    tokio::time::sleep_until(next).await;
                    *slot = now_us();
                    let frame = client::message(1000 + seq as u64, &room, 0, seq as u64, 0);
                    if sink.send(Message::text(frame.to_string())).await.is_err() {
                        break;
                    }
                    next += interval;
                }
            };
            let reading = async {
                let mut acks = Vec::with_capacity(count);
                while acks.len() < count {
                    match next_ack(&mut stream).await {
                        Some(id) => acks.push((id, now_us())),
                        None => break,
                    }
                }
                acks
            };
            let ((), acks) = tokio::join!(sending, reading);
            for (id, at) in acks {
                latencies.push(at.saturating_sub(sent_at[(id - 1000) as usize]));
            }
        }
    }
    (latencies.len() as u64, latencies)
}

/// The id of the next `success` answer; None when the connection ends or stays silent.
async fn next_ack<S>(stream: &mut S) -> Option<u64>
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let message = tokio::time::timeout(client::ANSWER_TIMEOUT, stream.next())
            .await
            .ok()??
            .ok()?;
        if let Message::Text(text) = message {
            if text.as_str().starts_with("[\"success\"") {
                let frame: Value = serde_json::from_str(text.as_str()).ok()?;
                return frame[1].as_u64();
            }
        }
    }
}
