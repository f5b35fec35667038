//! Connection capacity: ramp up idle websocket connections on one gateway, from several
//! loopback source addresses (one address has ~28k ephemeral ports), then check that chat
//! still works at that size. Reports the gateway's resident memory per connection.

use std::{
    net::{IpAddr, Ipv4Addr},
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use futures::{stream::FuturesUnordered, StreamExt};
use serde_json::{json, Value};

use crate::{
    client::{self, Ws},
    target::{self, Server},
};

/// Connections opened concurrently while ramping.
const RAMP_BATCH: usize = 200;

/// Source addresses 127.0.0.2 and up take turns.
const SOURCES: u8 = 8;

pub struct ConnectionsRun {
    pub server: &'static str,
    pub asked: usize,
    pub open: usize,
    /// Connections the gateway itself counts as open at the peak.
    pub gateway_open: u64,
    pub failed: usize,
    pub ramp_seconds: f64,
    pub rss_before_mib: f64,
    pub rss_after_mib: f64,
    pub chat_works: bool,
    pub chat_ms: f64,
    pub limit_note: Option<String>,
}

impl ConnectionsRun {
    pub fn bytes_per_connection(&self) -> f64 {
        (self.rss_after_mib - self.rss_before_mib) * 1_048_576.0 / self.open.max(1) as f64
    }

    pub fn json(&self) -> Value {
        json!({
            "server": self.server, "asked": self.asked, "open": self.open, "gateway_open": self.gateway_open, "failed": self.failed,
            "ramp_seconds": self.ramp_seconds, "rss_before_mib": self.rss_before_mib,
            "rss_after_mib": self.rss_after_mib, "bytes_per_connection": self.bytes_per_connection(),
            "chat_works_at_size": self.chat_works, "chat_round_trip_ms": self.chat_ms,
            "limit": self.limit_note,
        })
    }
}

pub async fn run(server: &Server, asked: usize, open_files_limit: u64) -> Result<ConnectionsRun> {
    // Each connection costs one descriptor in the gateway and one here; keep room for the rest.
    let ceiling = open_files_limit.saturating_sub(2000) as usize;
    let target = asked.min(ceiling);
    let limit_note = (target < asked).then(|| {
        format!(
            "open-file hard limit {open_files_limit} (not raisable here) caps one process at ~{ceiling} sockets"
        )
    });
    let before = server.probe.sample().await?;
    let started = Instant::now();
    let mut held: Vec<Ws> = Vec::with_capacity(target);
    let mut failed = 0;
    let mut next = 0usize;
    while next < target {
        let batch: FuturesUnordered<_> = (next..(next + RAMP_BATCH).min(target))
            .map(|i| {
                let source = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + (i % SOURCES as usize) as u8));
                client::connect(server.addr, Some(source))
            })
            .collect();
        for connected in batch.collect::<Vec<_>>().await {
            match connected {
                Ok(ws) => held.push(ws),
                Err(_) => failed += 1,
            }
        }
        next += RAMP_BATCH;
    }
    let ramp_seconds = started.elapsed().as_secs_f64();
    // Let the gateway settle (its `opened` calls, allocator) before reading its memory.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = server.probe.sample().await?;
    let (chat_works, chat_ms) = match chat_round_trip(server).await {
        Ok(ms) => (true, ms),
        Err(e) => {
            eprintln!("chat at size failed: {e:#}");
            (false, f64::NAN)
        }
    };
    let open = held.len();
    drop(held);
    Ok(ConnectionsRun {
        server: server.name,
        asked,
        open,
        gateway_open: after.connections,
        failed,
        ramp_seconds,
        rss_before_mib: before.rss_bytes as f64 / 1_048_576.0,
        rss_after_mib: after.rss_bytes as f64 / 1_048_576.0,
        chat_works,
        chat_ms,
        limit_note,
    })
}

/// Two new clients in a new room: one sends, the other must receive it.
async fn chat_round_trip(server: &Server) -> Result<f64> {
    let room = format!("capacity-{}", client::now_us());
    target::create_room(server, &room)?;
    let mut reader = client::member(server.addr, format!("{room}-reader"), &room, true).await?;
    let mut writer = client::member(server.addr, format!("{room}-writer"), &room, false).await?;
    let started = Instant::now();
    client::send(&mut writer, client::message(100, &room, 0, 0, 0)).await?;
    loop {
        let frame = client::next_json(&mut reader)
            .await
            .context("no delivery")?;
        if frame[0] == "chat.event" {
            return Ok(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
}
