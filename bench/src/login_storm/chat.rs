//! The chat users' side of the login storm: steady `chat.send`s, every ack timed, and the
//! host's CPU over the phase.

use std::{collections::HashMap, time::Duration};

use anyhow::{bail, Context, Result};
use futures::{future, StreamExt};
use serde_json::Value;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::{Phase, StormSpec};
use crate::{
    client::{self, now_us, Ws},
    stats::{Latencies, Usage},
    system,
    target::{Probe, Server},
};

/// Every chatter sends at its share of the rate from `start` for the phase's length, then waits
/// for its last acks. Message ids start at `first_id`.
pub(super) async fn phase(
    server: &Server,
    host: Option<u32>,
    chatters: &mut [Ws],
    room: &str,
    spec: &StormSpec,
    start: Instant,
    first_id: u64,
) -> Result<Phase> {
    let until = start + Duration::from_secs(spec.seconds);
    let interval = Duration::from_secs_f64(spec.chatters as f64 / f64::from(spec.rate.max(1)));
    let count = chatters.len() as u32;
    let before = Usage::sample(server).await?;
    let host_before = host.and_then(|pid| system::process_usage(&pid.to_string()));
    let started_us = now_us() + start.saturating_duration_since(Instant::now()).as_micros() as u64;
    let sending = chatters.iter_mut().enumerate().map(|(i, ws)| {
        // Spread over one interval, so the offered load is even.
        let first = start + interval * i as u32 / count;
        chat(ws, room, interval, first, until, first_id)
    });
    let samples: Vec<(u64, u64)> = future::try_join_all(sending)
        .await
        .with_context(|| format!("a chat message was lost (room {room})"))?
        .into_iter()
        .flatten()
        .collect();
    let wall = start.elapsed();
    let usage = Usage::sample(server).await?.since(&before, wall);
    let host_cpu = match (
        host_before,
        host.and_then(|p| system::process_usage(&p.to_string())),
    ) {
        (Some((_, a)), Some((_, b))) => 100.0 * (b - a) / wall.as_secs_f64(),
        _ => f64::NAN,
    };
    let seconds = spec.seconds.max(1) as usize;
    let mut max_by_second = vec![0.0; seconds];
    for (sent_us, latency) in &samples {
        let second = (sent_us.saturating_sub(started_us) / 1_000_000) as usize;
        let slot = &mut max_by_second[second.min(seconds - 1)];
        *slot = f64::max(*slot, *latency as f64 / 1000.0);
    }
    let settled = samples
        .iter()
        .filter(|(sent_us, _)| *sent_us >= started_us + 2_000_000)
        .map(|(_, latency)| *latency)
        .collect();
    Ok(Phase {
        sent: samples.len() as u64,
        settled: Latencies::from_micros(settled),
        latency: Latencies::from_micros(samples.into_iter().map(|(_, l)| l).collect()),
        max_by_second,
        host_cpu,
        usage,
    })
}

/// One chatter: a `chat.send` every `interval` from `first` until `until`, then every ack.
/// Returns (sent at, ack latency) in µs per message; an error if one was refused or unanswered.
async fn chat(
    ws: &mut Ws,
    room: &str,
    interval: Duration,
    first: Instant,
    until: Instant,
    first_id: u64,
) -> Result<Vec<(u64, u64)>> {
    let mut pending: HashMap<u64, u64> = HashMap::new();
    let mut acked = Vec::new();
    let (mut next, mut id) = (first, first_id);
    while next < until || !pending.is_empty() {
        tokio::select! {
            () = tokio::time::sleep_until(next), if next < until => {
                pending.insert(id, now_us());
                client::send(ws, client::message(id, room, 0, id, 0)).await?;
                id += 1;
                next += interval;
            }
            message = tokio::time::timeout(client::ANSWER_TIMEOUT, ws.next()) => {
                let Ok(Some(Ok(message))) = message else {
                    bail!(
                        "{} messages never acknowledged (connection silent or closed)",
                        pending.len()
                    );
                };
                let Message::Text(text) = message else { continue };
                let frame: Value = serde_json::from_str(text.as_str())?;
                let Some(sent) = frame[1].as_u64().and_then(|i| pending.remove(&i)) else {
                    continue;
                };
                if frame[0] != "success" {
                    bail!("message refused: {frame}");
                }
                acked.push((sent, now_us().saturating_sub(sent)));
            }
        }
    }
    Ok(acked)
}

/// The lattice's wasm host: the `wcc-lattice host` process on this lattice's NATS.
pub(super) fn host_pid(server: &Server) -> Option<u32> {
    let Probe::Gateway(nats) = &server.probe else {
        return None;
    };
    let url = format!("nats://127.0.0.1:{}", nats.server_info().port);
    system::find_process(&["host", "--nats-url", &url])
}
