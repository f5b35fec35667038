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
    stats::{Latencies, Usage},
    target::Server,
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
            let mut ws = client::connect(server.addr, None).await?;
            client::authenticate(&mut ws, &format!("{client_id}-{attempt}")).await?;
            client::request(&mut ws, 1, "chat.subscribe", json!({"channel": room})).await?;
            anyhow::Ok(ws)
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
                let Some((run, seq, sent)) = client::parse_event(text.as_str()) else { continue };
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
    publisher: &mut Ws,
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
        None => send_paced_by_acks(publisher, room, run, messages).await?,
        Some(rate) => send_at_rate(publisher, room, run, messages, rate).await?,
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

async fn send_paced_by_acks(
    publisher: &mut Ws,
    room: &str,
    run: u32,
    messages: usize,
) -> Result<u64> {
    let mut unacked = 0;
    for seq in 0..messages {
        let id = 1000 + seq as u64;
        client::send(publisher, client::message(id, room, run, seq as u64, 0)).await?;
        if client::wait_reply(publisher, id).await.is_err() {
            unacked += 1;
        }
    }
    Ok(unacked)
}

async fn send_at_rate(
    publisher: &mut Ws,
    room: &str,
    run: u32,
    messages: usize,
    rate: u32,
) -> Result<u64> {
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let (mut sink, mut stream) = publisher.split();
    let reading = async {
        let mut acked = 0usize;
        while acked < messages {
            match tokio::time::timeout(client::ANSWER_TIMEOUT, stream.next()).await {
                Ok(Some(Ok(Message::Text(text)))) if text.as_str().starts_with("[\"success\"") => {
                    acked += 1
                }
                Ok(Some(Ok(_))) => {}
                _ => break,
            }
        }
        acked
    };
    let sending = async {
        let mut next = tokio::time::Instant::now();
        for seq in 0..messages {
            let frame = client::message(1000 + seq as u64, room, run, seq as u64, 0);
            sink.send(Message::text(frame.to_string())).await?;
            next += interval;
            tokio::time::sleep_until(next).await;
        }
        anyhow::Ok(())
    };
    let (acked, sent) = tokio::join!(reading, sending);
    sent?;
    Ok((messages - acked) as u64)
}

/// The publisher: joined to the room, not subscribed (its own events would only add load).
pub async fn publisher(server: &Server, room: &str, tag: &str) -> Result<Ws> {
    client::member(server.addr, format!("pub-{tag}"), room, false).await
}
