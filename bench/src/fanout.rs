//! The fan-out scenario: one publisher, N subscribers in one room.

use std::{
    collections::HashSet,
    sync::OnceLock,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use futures::{stream::FuturesUnordered, SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::{tungstenite::Message, MaybeTlsStream, WebSocketStream};

use crate::stats::Summary;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Subscribers connecting at once: each first login creates a user, which contends on the
/// room index counter (see docs/design.md, LogSet).
const CONNECT_BATCH: usize = 5;

/// A subscriber gives up this long after its last frame.
const IDLE: Duration = Duration::from_secs(10);

pub struct Run {
    pub gateway: String,
    pub room: String,
    pub subscribers: usize,
    pub messages: usize,
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_us() -> u64 {
    epoch().elapsed().as_micros() as u64
}

/// One fan-out run; `rate` None means paced by acks.
pub async fn run(run: &Run, rate: Option<u32>) -> Result<Summary> {
    let label = rate.map_or("ack-paced".to_string(), |r| format!("{r} msg/s"));
    let tag = format!("{}-{}", label.replace([' ', '/'], "_"), now_us());
    // Connect the subscribers, a few at a time so the handshakes do not all time out at once.
    let mut subscribers = Vec::with_capacity(run.subscribers);
    for chunk in (0..run.subscribers)
        .collect::<Vec<_>>()
        .chunks(CONNECT_BATCH)
    {
        let connecting: FuturesUnordered<_> = chunk
            .iter()
            .map(|i| subscriber(&run.gateway, &run.room, format!("sub-{tag}-{i}")))
            .collect();
        for ws in connecting.collect::<Vec<_>>().await {
            subscribers.push(ws?);
        }
    }
    let readers: Vec<_> = subscribers
        .into_iter()
        .map(|ws| tokio::spawn(read_events(ws, run.messages)))
        .collect();

    let mut publisher = connect(&run.gateway).await?;
    login(&mut publisher, &format!("pub-{tag}")).await?;
    request(
        &mut publisher,
        2,
        "user.update",
        json!({"profile": {"display_name": "bench"}}),
    )
    .await?;
    request(&mut publisher, 3, "chat.join", json!({"channel": run.room})).await?;

    let started = Instant::now();
    let interval = rate.map(|r| Duration::from_secs_f64(1.0 / f64::from(r)));
    let mut next_send = Instant::now();
    let mut in_flight = 0usize;
    for seq in 0..run.messages {
        let id = 100 + seq as u64;
        let body = format!("{seq}:{}", now_us());
        let frame = json!(["chat.send", id, {"channel": run.room, "event_type": "channel.message", "content": {"type": "text", "body": body}}]);
        publisher.send(Message::text(frame.to_string())).await?;
        match interval {
            None => wait_reply(&mut publisher, id).await?,
            Some(interval) => {
                in_flight += 1;
                next_send += interval;
                tokio::time::sleep_until(next_send.into()).await;
            }
        }
    }
    // Collect the acks of a paced run so the publisher's socket is drained.
    let last_id = 100 + run.messages as u64 - 1;
    if in_flight > 0 {
        wait_reply(&mut publisher, last_id).await?;
    }

    let mut delivered = 0u64;
    let mut duplicates = 0u64;
    let mut latencies = Vec::new();
    let mut last_delivery = started;
    for reader in readers {
        let got = reader.await??;
        delivered += got.seqs.len() as u64;
        duplicates += got.duplicates;
        latencies.extend(got.latencies_us);
        last_delivery = last_delivery.max(got.last);
    }
    latencies.sort_unstable();
    let _ = publisher.close(None).await;
    Ok(Summary {
        label,
        subscribers: run.subscribers,
        messages: run.messages,
        expected: (run.subscribers * run.messages) as u64,
        delivered,
        duplicates,
        elapsed: last_delivery.saturating_duration_since(started),
        latencies_us: latencies,
    })
}

async fn connect(gateway: &str) -> Result<Ws> {
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{gateway}/venueless")).await?;
    Ok(ws)
}

async fn subscriber(gateway: &str, room: &str, client_id: String) -> Result<Ws> {
    let mut ws = connect(gateway).await?;
    login(&mut ws, &client_id).await?;
    request(&mut ws, 1, "chat.subscribe", json!({"channel": room})).await?;
    Ok(ws)
}

async fn login(ws: &mut Ws, client_id: &str) -> Result<()> {
    ws.send(Message::text(
        json!(["authenticate", {"client_id": client_id}]).to_string(),
    ))
    .await?;
    loop {
        let frame = next_json(ws).await?;
        if frame[0] == "authenticated" {
            return Ok(());
        }
        if frame[0] == "error" {
            bail!("authenticate failed: {frame}");
        }
    }
}

async fn request(ws: &mut Ws, id: u64, action: &str, payload: Value) -> Result<()> {
    ws.send(Message::text(json!([action, id, payload]).to_string()))
        .await?;
    wait_reply(ws, id).await
}

async fn wait_reply(ws: &mut Ws, id: u64) -> Result<()> {
    loop {
        let frame = next_json(ws).await?;
        if frame[1].as_u64() == Some(id) && frame.as_array().is_some_and(|a| a.len() == 3) {
            if frame[0] != "success" {
                bail!("request {id} failed: {frame}");
            }
            return Ok(());
        }
    }
}

async fn next_json(ws: &mut Ws) -> Result<Value> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .context("server silent")?
            .context("closed")??;
        if let Message::Text(text) = message {
            return Ok(serde_json::from_str(text.as_str())?);
        }
    }
}

struct Received {
    seqs: HashSet<u64>,
    duplicates: u64,
    latencies_us: Vec<u64>,
    last: Instant,
}

async fn read_events(mut ws: Ws, expected: usize) -> Result<Received> {
    let mut got = Received {
        seqs: HashSet::new(),
        duplicates: 0,
        latencies_us: Vec::new(),
        last: Instant::now(),
    };
    while got.seqs.len() < expected {
        let Ok(Some(Ok(message))) = tokio::time::timeout(IDLE, ws.next()).await else {
            break;
        };
        let Message::Text(text) = message else {
            continue;
        };
        let received_us = now_us();
        let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        if frame[0] != "chat.event" || frame[1]["event_type"] != "channel.message" {
            continue;
        }
        let Some((seq, sent)) = frame[1]["content"]["body"]
            .as_str()
            .and_then(|b| b.split_once(':'))
        else {
            continue;
        };
        let (Ok(seq), Ok(sent)) = (seq.parse::<u64>(), sent.parse::<u64>()) else {
            continue;
        };
        if got.seqs.insert(seq) {
            got.latencies_us.push(received_us.saturating_sub(sent));
            got.last = Instant::now();
        } else {
            got.duplicates += 1;
        }
    }
    let _ = ws.close(None).await;
    Ok(got)
}
