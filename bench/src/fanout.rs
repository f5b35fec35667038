//! Fan-out: N subscribers in one room, one publisher; send→deliver latency, deliveries/s,
//! missing and duplicate deliveries. The subscribers connect once and stay for every run at
//! that size (each run numbers its messages, so late frames of one run never count in another).

use std::{
    sync::{
        atomic::{AtomicU32, AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use futures::{stream::FuturesUnordered, SinkExt, StreamExt};
use serde_json::json;
use tokio::{
    sync::{mpsc, oneshot},
    task::JoinHandle,
};
use tokio_tungstenite::tungstenite::Message;

use crate::{
    client::{self, now_us, Ws},
    publisher::Publisher,
    socketio_client,
    stats::{Latencies, Usage},
    target::{Protocol, Server},
};

/// Subscribers connecting at once: a first login creates a user (several writes).
const CONNECT_BATCH: usize = 25;

/// A run is over when every delivery arrived or none arrived for this long.
const SETTLE: Duration = Duration::from_secs(5);

/// What every subscriber shares: the progress of the current run.
#[derive(Default)]
struct Progress {
    run: AtomicU32,
    delivered: AtomicU64,
    last_delivery_us: AtomicU64,
}

/// What one subscriber saw of one run.
#[derive(Default)]
struct Seen {
    run: u32,
    seqs: Vec<bool>,
    delivered: u64,
    duplicates: u64,
    latencies_us: Vec<u64>,
}

/// The subscribers of one room, connected and reading.
pub struct Audience {
    pub size: usize,
    pub connect_seconds: f64,
    pub connect_retries: u64,
    progress: Arc<Progress>,
    reports: Vec<mpsc::Sender<(u32, oneshot::Sender<Seen>)>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Audience {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Audience {
    pub async fn connect(server: &Server, room: &str, size: usize, tag: &str) -> Result<Self> {
        let started = Instant::now();
        let progress = Arc::new(Progress::default());
        let mut reports = Vec::with_capacity(size);
        let mut tasks = Vec::with_capacity(size);
        let mut retries = 0;
        let indexes: Vec<usize> = (0..size).collect();
        for chunk in indexes.chunks(CONNECT_BATCH) {
            let connecting: FuturesUnordered<_> = chunk
                .iter()
                .map(|i| subscriber(server, room, format!("sub-{tag}-{i}")))
                .collect();
            for (ws, tries) in connecting
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .collect::<Result<Vec<_>>>()?
            {
                retries += tries;
                let (report_tx, report_rx) = mpsc::channel(1);
                reports.push(report_tx);
                tasks.push(tokio::spawn(read_events(
                    ws,
                    server.protocol,
                    Arc::clone(&progress),
                    report_rx,
                )));
            }
        }
        Ok(Self {
            size,
            connect_seconds: started.elapsed().as_secs_f64(),
            connect_retries: retries,
            progress,
            reports,
            tasks,
        })
    }
}

/// A subscribed client; a lost answer (see docs/design.md) is retried with a new client.
async fn subscriber(server: &Server, room: &str, client_id: String) -> Result<(Ws, u64)> {
    let mut last_error = None;
    for attempt in 0..3u64 {
        let connected = async {
            match server.protocol {
                Protocol::Venueless => {
                    let mut ws = client::connect(server.addr, None).await?;
                    client::authenticate(&mut ws, &format!("{client_id}-{attempt}")).await?;
                    client::request(&mut ws, 1, "chat.subscribe", json!({"channel": room})).await?;
                    anyhow::Ok(ws)
                }
                Protocol::SocketIo => {
                    let mut ws = socketio_client::connect(server.addr).await?;
                    socketio_client::join(&mut ws, room).await?;
                    Ok(ws)
                }
            }
        };
        match connected.await {
            Ok(ws) => return Ok((ws, attempt)),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap()).with_context(|| format!("{client_id} could not subscribe"))
}

async fn read_events(
    mut ws: Ws,
    protocol: Protocol,
    progress: Arc<Progress>,
    mut reports: mpsc::Receiver<(u32, oneshot::Sender<Seen>)>,
) {
    let mut seen = Seen::default();
    loop {
        tokio::select! {
            message = ws.next() => {
                let Some(Ok(message)) = message else { break };
                let Message::Text(text) = message else { continue };
                let received = now_us();
                let stamp = match protocol {
                    Protocol::Venueless => client::parse_event(text.as_str()),
                    Protocol::SocketIo => socketio_client::said_stamp(text.as_str()),
                };
                let Some((run, seq, sent)) = stamp else {
                    // Socket.IO closes a connection that misses a ping.
                    if protocol == Protocol::SocketIo {
                        if let Some(pong) = socketio_client::pong_for(text.as_str()) {
                            if ws.send(pong).await.is_err() {
                                break;
                            }
                        }
                    }
                    continue;
                };
                if run != progress.run.load(Ordering::Relaxed) {
                    continue; // a straggler of an earlier run
                }
                if seen.run != run {
                    seen = Seen { run, ..Seen::default() };
                }
                let seq = seq as usize;
                if seen.seqs.len() <= seq {
                    seen.seqs.resize(seq + 1, false);
                }
                if seen.seqs[seq] {
                    seen.duplicates += 1;
                } else {
                    seen.seqs[seq] = true;
                    seen.delivered += 1;
                    seen.latencies_us.push(received.saturating_sub(sent));
                    progress.delivered.fetch_add(1, Ordering::Relaxed);
                    progress.last_delivery_us.fetch_max(received, Ordering::Relaxed);
                }
            }
            report = reports.recv() => {
                let Some((run, answer)) = report else { break };
                let mine = if seen.run == run { std::mem::take(&mut seen) } else { Seen::default() };
                let _ = answer.send(mine);
            }
        }
    }
}

/// One fan-out run's result.
pub struct FanoutRun {
    pub server: &'static str,
    pub label: String,
    pub subscribers: usize,
    pub messages: usize,
    pub expected: u64,
    pub delivered: u64,
    pub duplicates: u64,
    /// Sends the server never acknowledged within the answer timeout.
    pub unacked: u64,
    pub seconds: f64,
    pub latency: Latencies,
    pub usage: Usage,
}

impl FanoutRun {
    pub fn deliveries_per_sec(&self) -> f64 {
        self.delivered as f64 / self.seconds.max(1e-9)
    }
}

/// Sends `messages` to the room (paced by acks when `rate` is None) and collects deliveries.
pub async fn run(
    server: &Server,
    audience: &Audience,
    publisher: &mut Publisher,
    room: &str,
    run: u32,
    rate: Option<u32>,
    messages: usize,
) -> Result<FanoutRun> {
    let progress = &audience.progress;
    progress.run.store(run, Ordering::Relaxed);
    progress.delivered.store(0, Ordering::Relaxed);
    let label = rate.map_or("ack-paced".to_string(), |r| format!("{r} msg/s"));
    let before = Usage::sample(server).await?;
    let started = Instant::now();
    let started_us = now_us();
    let unacked = match rate {
        None => publisher.send_paced_by_acks(room, run, messages).await?,
        Some(rate) => publisher.send_at_rate(room, run, messages, rate).await?,
    };
    let expected = (audience.size * messages) as u64;
    let mut last = (0, Instant::now());
    while progress.delivered.load(Ordering::Relaxed) < expected {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = progress.delivered.load(Ordering::Relaxed);
        if now != last.0 {
            last = (now, Instant::now());
        } else if last.1.elapsed() > SETTLE {
            break;
        }
    }
    let wall = started.elapsed();
    let after = Usage::sample(server).await?;
    let mut delivered = 0;
    let mut duplicates = 0;
    let mut latencies = Vec::with_capacity(expected as usize);
    for report in &audience.reports {
        let (tx, rx) = oneshot::channel();
        if report.send((run, tx)).await.is_ok() {
            if let Ok(seen) = rx.await {
                delivered += seen.delivered;
                duplicates += seen.duplicates;
                latencies.extend(seen.latencies_us);
            }
        }
    }
    let last_delivery = progress.last_delivery_us.load(Ordering::Relaxed);
    let seconds = if last_delivery > started_us {
        (last_delivery - started_us) as f64 / 1e6
    } else {
        wall.as_secs_f64()
    };
    Ok(FanoutRun {
        server: server.name,
        label,
        subscribers: audience.size,
        messages,
        expected,
        delivered,
        duplicates,
        unacked,
        seconds,
        latency: Latencies::from_micros(latencies),
        usage: after.since(&before, wall),
    })
}
