//! Overload: offer more than wcc can take and watch memory. Some subscribers never read, so
//! their sockets and then their bounded send queues fill; the gateway must close them (1008,
//! counted as shed) instead of buffering without end, while readers keep receiving.

use std::time::{Duration, Instant};

use anyhow::Result;
use futures::{stream::FuturesUnordered, SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{protocol::frame::coding::CloseCode, Message};

use crate::{
    client::{self, Ws},
    target::{self, Server},
};

pub struct OverloadRun {
    pub server: &'static str,
    pub publishers: usize,
    pub offered_per_sec: u32,
    pub seconds: f64,
    pub acked: u64,
    pub stalled: usize,
    pub evicted: usize,
    pub readers: usize,
    pub reader_deliveries: u64,
    pub shed: u64,
    pub rss_start_mib: f64,
    pub rss_max_mib: f64,
    pub rss_end_mib: f64,
    pub queue_frames: usize,
    pub frame_bytes: usize,
}

impl OverloadRun {
    pub fn json(&self) -> Value {
        json!({
            "server": self.server, "publishers": self.publishers, "offered_per_sec": self.offered_per_sec,
            "seconds": self.seconds, "acked": self.acked, "stalled_subscribers": self.stalled,
            "evicted_1008": self.evicted, "readers": self.readers, "reader_deliveries": self.reader_deliveries,
            "shed_deliveries": self.shed, "rss_mib": {"start": self.rss_start_mib, "max": self.rss_max_mib, "end": self.rss_end_mib},
            "send_queue_frames": self.queue_frames, "frame_bytes": self.frame_bytes,
        })
    }
}

pub struct OverloadSpec {
    pub stalled: usize,
    pub readers: usize,
    pub publishers: usize,
    pub rate_per_publisher: u32,
    pub seconds: u64,
    pub padding: usize,
    pub queue_frames: usize,
}

pub async fn run(server: &Server, spec: &OverloadSpec, tag: &str) -> Result<OverloadRun> {
    let room = format!("overload-{tag}");
    target::create_room(server, &room)?;
    let stalled =
        connect_many(server, &room, spec.stalled, &format!("{tag}-stalled"), true).await?;
    let readers = connect_many(server, &room, spec.readers, &format!("{tag}-reader"), true).await?;
    let publishers =
        connect_many(server, &room, spec.publishers, &format!("{tag}-pub"), false).await?;
    let start = server.probe.sample().await?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(spec.seconds);

    // Readers count what reaches them; stalled subscribers never poll their socket.
    let reading: Vec<_> = readers
        .into_iter()
        .map(|mut ws| {
            tokio::spawn(async move {
                let mut n = 0u64;
                while let Ok(Some(Ok(m))) =
                    tokio::time::timeout(Duration::from_secs(5), ws.next()).await
                {
                    if matches!(&m, Message::Text(t) if t.as_str().starts_with("[\"chat.event\"")) {
                        n += 1;
                    }
                }
                n
            })
        })
        .collect();
    let interval = Duration::from_secs_f64(1.0 / f64::from(spec.rate_per_publisher.max(1)));
    let publishing: Vec<_> = publishers
        .into_iter()
        .map(|ws| {
            let room = room.clone();
            let padding = spec.padding;
            tokio::spawn(async move {
                let (mut sink, mut stream) = ws.split();
                let acks = tokio::spawn(async move {
                    let mut n = 0u64;
                    while let Ok(Some(Ok(m))) =
                        tokio::time::timeout(Duration::from_secs(5), stream.next()).await
                    {
                        if matches!(&m, Message::Text(t) if t.as_str().starts_with("[\"success\""))
                        {
                            n += 1;
                        }
                    }
                    n
                });
                let mut next = tokio::time::Instant::now();
                let mut seq = 0u64;
                while Instant::now() < deadline {
                    let frame = client::message(1000 + seq, &room, 0, seq, padding);
                    if sink.send(Message::text(frame.to_string())).await.is_err() {
                        break;
                    }
                    seq += 1;
                    next += interval;
                    tokio::time::sleep_until(next).await;
                }
                acks.await.unwrap_or(0)
            })
        })
        .collect();
    let mut rss_max = start.rss_bytes;
    while Instant::now() < deadline + Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if let Ok(sample) = server.probe.sample().await {
            rss_max = rss_max.max(sample.rss_bytes);
        }
    }
    let mut acked = 0;
    for p in publishing {
        acked += p.await.unwrap_or(0);
    }
    let mut reader_deliveries = 0;
    for r in reading {
        reader_deliveries += r.await.unwrap_or(0);
    }
    let seconds = started.elapsed().as_secs_f64();
    let end = server.probe.sample().await?;
    let mut evicted = 0;
    for mut ws in stalled {
        if was_evicted(&mut ws).await {
            evicted += 1;
        }
    }
    Ok(OverloadRun {
        server: server.name,
        publishers: spec.publishers,
        offered_per_sec: spec.rate_per_publisher * spec.publishers as u32,
        seconds,
        acked,
        stalled: spec.stalled,
        evicted,
        readers: spec.readers,
        reader_deliveries,
        shed: end.shed.saturating_sub(start.shed),
        rss_start_mib: start.rss_bytes as f64 / 1_048_576.0,
        rss_max_mib: rss_max.max(end.rss_bytes) as f64 / 1_048_576.0,
        rss_end_mib: end.rss_bytes as f64 / 1_048_576.0,
        queue_frames: spec.queue_frames,
        frame_bytes: spec.padding,
    })
}

async fn connect_many(
    server: &Server,
    room: &str,
    n: usize,
    tag: &str,
    subscribe: bool,
) -> Result<Vec<Ws>> {
    let mut all = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(25) {
        let joining: FuturesUnordered<_> = chunk
            .iter()
            .map(|i| client::member(server.addr, format!("{tag}-{i}"), room, subscribe))
            .collect();
        all.extend(
            joining
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .collect::<Result<Vec<_>>>()?,
        );
    }
    Ok(all)
}

/// Drains what the gateway sent a stalled subscriber; true if it ends in a 1008 close.
async fn was_evicted(ws: &mut Ws) -> bool {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Close(Some(frame))))) => return frame.code == CloseCode::Policy,
            Ok(Some(Ok(_))) => continue,
            _ => return false,
        }
    }
}
