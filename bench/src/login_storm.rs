//! Login storm: password hashing must not starve chat traffic. A few venueless users send at a
//! steady, modest rate, first on an idle server, then while many Cadmium clients send wrong
//! passwords (`urn:cadmium:profile:login`) as fast as their answers come back, to a few real and
//! a few unknown accounts, each client from its own loopback address (so the per-address
//! throttle alone does not stop them). The core throttles sign-in per account and per address
//! before hashing: an attempt that must wait is refused (`ratelimit_exceed`) without argon2, so
//! only a few attempts per real account are ever hashed. The users' ack latency in both phases
//! shows what the storm costs them. Nothing is asserted, but a chat message that is refused or
//! never acknowledged, or a wrong password that is accepted, fails the run.

use std::{
    collections::{BTreeMap, HashMap},
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use anyhow::{bail, Context, Result};
use futures::{future, StreamExt};
use serde_json::{json, Value};
use tokio::{task::JoinSet, time::Instant};
use tokio_tungstenite::tungstenite::Message;

use crate::{
    client::{self, now_us, Ws},
    stats::{Latencies, Usage},
    system,
    target::{self, Probe, Server},
};

const LOGIN: &str = "urn:cadmium:profile:login";
const REGISTER: &str = "urn:cadmium:profile:register";
/// The real accounts' password; the storm never sends it.
const PASSWORD: &str = "correct horse battery staple";

pub struct StormSpec {
    /// Venueless users sending messages in one room.
    pub chatters: usize,
    /// Their messages per second, all together.
    pub rate: u32,
    /// Length of each phase.
    pub seconds: u64,
    /// Cadmium clients sending wrong passwords during the storm.
    pub clients: usize,
    /// Registered accounts attacked (the first is "the victim"), and names nobody has.
    pub real_targets: usize,
    pub unknown_targets: usize,
}

/// The chat users' side of one phase.
pub struct Phase {
    pub sent: u64,
    pub latency: Latencies,
    /// The messages sent from the phase's third second on: in the storm, after the accounts'
    /// free attempts were hashed (they all are in its first second).
    pub settled: Latencies,
    /// The slowest ack of the messages sent in each second of the phase (ms).
    pub max_by_second: Vec<f64>,
    /// The lattice's wasm host (every component runs there), percent of one core.
    pub host_cpu: f64,
    pub usage: Usage,
}

/// The answers the storm's clients got.
#[derive(Default)]
pub struct Logins {
    pub answered: u64,
    pub invalid_creds: u64,
    /// `invalid_creds` for a real account: each one cost an argon2 verification.
    pub hashed: u64,
    pub ratelimit_exceed: u64,
    /// `ratelimit_exceed` from the connection's request limiter (with `retryAfter`) rather
    /// than the core's sign-in throttle; 0 unless `--var WCC_CADMIUM_RATE_LIMIT=...` turns the
    /// limiter on (the benchmark turns it off).
    pub limiter: u64,
    /// Any other answer, by `errID`.
    pub other: BTreeMap<String, u64>,
    /// Attempts never answered (the client then reconnects).
    pub unanswered: u64,
    /// Hashed attempts in each second of the storm.
    pub hashed_by_second: Vec<u64>,
}

pub struct StormRun {
    pub idle: Phase,
    pub storm: Phase,
    pub logins: Logins,
}

impl StormRun {
    /// Storm p99 over idle p99.
    pub fn p99_ratio(&self) -> f64 {
        self.storm.latency.p99 / self.idle.latency.p99
    }

    pub fn json(&self, spec: &StormSpec) -> Value {
        let phase = |p: &Phase| {
            json!({"sent": p.sent, "acked": p.latency.count, "ack_latency_ms": p.latency.json(),
                   "from_second_2_ms": p.settled.json(),
                   "max_ms_by_second": p.max_by_second, "host_cpu_percent": p.host_cpu,
                   "usage": p.usage.json()})
        };
        let l = &self.logins;
        json!({
            "chatters": spec.chatters, "rate": spec.rate, "seconds": spec.seconds,
            "clients": spec.clients, "real_targets": spec.real_targets,
            "unknown_targets": spec.unknown_targets,
            "idle": phase(&self.idle), "storm": phase(&self.storm), "p99_ratio": self.p99_ratio(),
            "logins": {"answered": l.answered, "per_sec": l.answered as f64 / spec.seconds as f64,
                       "invalid_creds": l.invalid_creds, "hashed": l.hashed,
                       "ratelimit_exceed": l.ratelimit_exceed, "limiter": l.limiter,
                       "other": l.other,
                       "unanswered": l.unanswered, "hashed_by_second": l.hashed_by_second},
        })
    }
}

pub async fn run(server: &Server, spec: &StormSpec, tag: &str) -> Result<StormRun> {
    let room = format!("storm-{tag}");
    target::create_room(server, &room)?;
    let mut targets = Vec::new();
    let mut registrar = client::connect_to(server.addr, None, "cadmium").await?;
    for i in 0..spec.real_targets {
        let name = match i {
            0 => format!("victim-{tag}"),
            _ => format!("storm-{tag}-user{i}"),
        };
        let payload = json!({"username": name, "password": PASSWORD, "loginOnSuccess": false});
        let reply = cadmium(&mut registrar, &format!("r{i}"), REGISTER, payload).await?;
        if reply["ok"] != true {
            bail!("registration of {name} failed: {reply}");
        }
        targets.push((name, true));
    }
    drop(registrar);
    targets.extend((0..spec.unknown_targets).map(|i| (format!("nobody-{tag}-{i}"), false)));
    let targets = Arc::new(targets);

    let mut chatters = Vec::with_capacity(spec.chatters);
    for i in 0..spec.chatters {
        chatters.push(client::member(server.addr, format!("storm-{tag}-{i}"), &room, false).await?);
    }
    let host = host_pid(server);

    let start = Instant::now() + Duration::from_millis(100);
    let idle = phase(server, host, &mut chatters, &room, spec, start, 1_000).await?;

    let mut clients = Vec::with_capacity(spec.clients);
    for i in 0..spec.clients {
        let ws = client::connect_to(server.addr, Some(source(i)), "cadmium")
            .await
            .with_context(|| format!("storm client {i} cannot connect"))?;
        clients.push(ws);
    }
    let start = Instant::now() + Duration::from_millis(100);
    let until = start + Duration::from_secs(spec.seconds);
    // Dropping the set (on an error below) stops every client.
    let mut storm: JoinSet<Result<Logins>> = clients
        .into_iter()
        .enumerate()
        .map(|(i, ws)| attacker(server.addr, i, ws, Arc::clone(&targets), start, until))
        .collect();
    let busy = phase(server, host, &mut chatters, &room, spec, start, 1_000_000).await?;
    let mut logins = Logins::default();
    while let Some(done) = storm.join_next().await {
        logins.add(done??);
    }
    Ok(StormRun {
        idle,
        storm: busy,
        logins,
    })
}

/// Every chatter sends at its share of the rate from `start` for the phase's length, then waits
/// for its last acks. Message ids start at `first_id`.
async fn phase(
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
                    bail!("{} messages never acknowledged (connection silent or closed)", pending.len());
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

/// One storm client: wrong passwords, one at a time, from `start` until `until`, cycling over
/// the targets; reconnects if the server closes the connection.
async fn attacker(
    addr: SocketAddr,
    index: usize,
    ws: Ws,
    targets: Arc<Vec<(String, bool)>>,
    start: Instant,
    until: Instant,
) -> Result<Logins> {
    let mut logins = Logins::default();
    let mut ws = Some(ws);
    tokio::time::sleep_until(start).await;
    let mut attempt = 0;
    while Instant::now() < until {
        if ws.is_none() {
            match client::connect_to(addr, Some(source(index)), "cadmium").await {
                Ok(socket) => ws = Some(socket),
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            }
        }
        let Some(socket) = ws.as_mut() else { continue };
        let (name, real) = &targets[(index + attempt) % targets.len()];
        attempt += 1;
        let payload = json!({"username": name, "password": format!("wrong-{index}-{attempt}")});
        let second = start.elapsed().as_secs() as usize;
        let Ok(reply) = cadmium(socket, &format!("a{attempt}"), LOGIN, payload).await else {
            logins.unanswered += 1;
            ws = None;
            continue;
        };
        if reply["ok"] == true {
            bail!("a wrong password for {name} was accepted: {reply}");
        }
        logins.answered += 1;
        match reply["payload"]["errID"].as_str().unwrap_or("(none)") {
            "invalid_creds" => {
                logins.invalid_creds += 1;
                if *real {
                    logins.hashed += 1;
                    if logins.hashed_by_second.len() <= second {
                        logins.hashed_by_second.resize(second + 1, 0);
                    }
                    logins.hashed_by_second[second] += 1;
                }
            }
            "ratelimit_exceed" => {
                logins.ratelimit_exceed += 1;
                if !reply["payload"]["retryAfter"].is_null() {
                    logins.limiter += 1;
                }
            }
            other => *logins.other.entry(other.to_owned()).or_default() += 1,
        }
    }
    Ok(logins)
}

impl Logins {
    fn add(&mut self, other: Logins) {
        self.answered += other.answered;
        self.invalid_creds += other.invalid_creds;
        self.hashed += other.hashed;
        self.ratelimit_exceed += other.ratelimit_exceed;
        self.limiter += other.limiter;
        self.unanswered += other.unanswered;
        for (id, n) in other.other {
            *self.other.entry(id).or_default() += n;
        }
        if self.hashed_by_second.len() < other.hashed_by_second.len() {
            self.hashed_by_second
                .resize(other.hashed_by_second.len(), 0);
        }
        for (mine, theirs) in self.hashed_by_second.iter_mut().zip(other.hashed_by_second) {
            *mine += theirs;
        }
    }
}

/// Sends a Cadmium request without a token and returns the answer carrying its id.
async fn cadmium(ws: &mut Ws, id: &str, kind: &str, payload: Value) -> Result<Value> {
    client::send(
        ws,
        json!({"id": id, "type": kind, "to": [], "payload": payload}),
    )
    .await?;
    loop {
        let frame = client::next_json(ws).await?;
        if frame["id"] == id {
            return Ok(frame);
        }
    }
}

/// Storm client `i`'s own loopback address: 127.0.3.1 and up.
fn source(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(
        127,
        0,
        3 + (i / 250) as u8,
        1 + (i % 250) as u8,
    ))
}

/// The lattice's wasm host: the `wcc-lattice host` process on this lattice's NATS.
fn host_pid(server: &Server) -> Option<u32> {
    let Probe::Gateway(nats) = &server.probe else {
        return None;
    };
    let url = format!("nats://127.0.0.1:{}", nats.server_info().port);
    system::find_process(&["host", "--nats-url", &url])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_client_has_its_own_loopback_address() {
        let addresses: std::collections::HashSet<IpAddr> = (0..600).map(source).collect();
        assert_eq!(addresses.len(), 600);
        assert!(addresses.iter().all(|a| a.is_loopback()));
        assert_eq!(source(0), IpAddr::V4(Ipv4Addr::new(127, 0, 3, 1)));
    }

    #[test]
    fn answers_add_up_second_by_second() {
        let mut all = Logins {
            answered: 3,
            hashed_by_second: vec![1],
            ..Logins::default()
        };
        let mut other = Logins {
            answered: 2,
            hashed_by_second: vec![0, 2],
            unanswered: 1,
            ..Logins::default()
        };
        other.other.insert("server_error".into(), 1);
        all.add(other);
        assert_eq!((all.answered, all.unanswered), (5, 1));
        assert_eq!(all.hashed_by_second, vec![1, 2]);
        assert_eq!(all.other["server_error"], 1);
    }
}
