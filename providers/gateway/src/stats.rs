//! The gateway's counters, readable by operators and the benchmarks over NATS.
//!
//! A request on [`STATS_SUBJECT`] is answered by every gateway on the lattice (use a
//! request-many client, or `nats req` for one) with a JSON object: its instance id, open
//! connections, room events handled, render calls made for them (fewer than events when a busy
//! room's events are rendered in batches), deliveries queued, deliveries shed as slow consumers,
//! connections refused over the connection caps, subscriptions refused for want of a valid
//! grant, and the process's resident memory and CPU time from `/proc`.

use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;
use tracing::warn;
use wcc_interface::events::GatewayStats;

pub const STATS_SUBJECT: &str = "wcc.gateway.stats";

#[derive(Default)]
pub struct Stats {
    pub connections: AtomicU64,
    pub events: AtomicU64,
    /// Render calls to channel actors (one per protocol per batch of a room's events).
    pub renders: AtomicU64,
    pub deliveries: AtomicU64,
    pub shed: AtomicU64,
    /// Connections turned away over `max_connections` or `max_connections_per_address`.
    pub refused_connections: AtomicU64,
    /// Subscribe actions whose grant did not verify (nothing was subscribed).
    pub refused_subscriptions: AtomicU64,
}

impl Stats {
    /// The counters now, with the process's memory and CPU time.
    pub fn snapshot(&self) -> GatewayStats {
        let (rss_bytes, cpu_seconds) = process_usage().unwrap_or_default();
        GatewayStats {
            connections: self.connections.load(Ordering::Relaxed),
            events: self.events.load(Ordering::Relaxed),
            renders: self.renders.load(Ordering::Relaxed),
            deliveries: self.deliveries.load(Ordering::Relaxed),
            shed: self.shed.load(Ordering::Relaxed),
            refused_connections: self.refused_connections.load(Ordering::Relaxed),
            refused_subscriptions: self.refused_subscriptions.load(Ordering::Relaxed),
            rss_bytes,
            cpu_seconds,
        }
    }

    /// The answer to a stats request: the snapshot and the gateway's `instance` id.
    pub fn to_json(&self, instance: &str) -> serde_json::Value {
        let mut value = serde_json::to_value(self.snapshot()).unwrap_or_default();
        value["instance"] = instance.into();
        value
    }
}

/// Answers stats requests until the NATS connection ends.
pub async fn serve(nats: async_nats::Client, stats: &Stats, instance: &str) {
    let mut requests = match nats.subscribe(STATS_SUBJECT).await {
        Ok(requests) => requests,
        Err(e) => return warn!("cannot serve {STATS_SUBJECT}: {e}"),
    };
    while let Some(request) = requests.next().await {
        if let Some(reply) = request.reply {
            let body = stats.to_json(instance).to_string();
            let _ = nats.publish(reply, body.into()).await;
        }
    }
}

/// Resident set size in bytes and user+system CPU seconds of this process (Linux).
fn process_usage() -> Option<(u64, f64)> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let resident_pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // Linux reports CPU time in USER_HZ, which is 100 on every platform Linux supports.
    Some((resident_pages * 4096, ticks as f64 / 100.0))
}
