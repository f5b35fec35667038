//! Login storm: password hashing must not starve chat traffic. A few venueless users send at a
//! steady, modest rate, first on an idle server, then while many Cadmium clients send wrong
//! passwords (`urn:cadmium:profile:login`) as fast as their answers come back, to a few real and
//! a few unknown accounts, each client from its own loopback address (so the per-address
//! throttle alone does not stop them). The core throttles sign-in per account and per address
//! before hashing: an attempt that must wait is refused (`ratelimit_exceed`) without argon2, so
//! only a few attempts per real account are ever hashed. The users' ack latency in both phases
//! shows what the storm costs them. Nothing is asserted, but a chat message that is refused or
//! never acknowledged, or a wrong password that is accepted, fails the run.
//!
//! `chat.rs` drives the users and times their acks; `storm.rs` drives the clients and counts
//! their answers.

mod chat;
mod storm;

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use tokio::{task::JoinSet, time::Instant};

use crate::{
    client,
    stats::{ms, table, Latencies, Usage},
    target::{self, Server},
};

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
    /// How long each real account's registration took on the idle server (ms): about one
    /// argon2id hash, what each hashed attempt of the storm costs the host too.
    pub register_ms: Vec<f64>,
    pub idle: Phase,
    pub storm: Phase,
    pub logins: Logins,
}

impl StormRun {
    /// Storm p99 over idle p99.
    pub fn p99_ratio(&self) -> f64 {
        self.storm.latency.p99 / self.idle.latency.p99
    }

    /// The table and a line of ratios, as the other scenarios print theirs.
    pub fn print(&self, spec: &StormSpec) {
        println!(
            "\nlogin-storm (wcc; {} venueless users send {} msg/s in all for {} s, idle, then \
             beside {} Cadmium clients sending wrong passwords, each from its own address, to {} \
             real and {} unknown accounts)",
            spec.chatters,
            spec.rate,
            spec.seconds,
            spec.clients,
            spec.real_targets,
            spec.unknown_targets
        );
        let cpu = |v: f64| {
            if v.is_nan() {
                "-".into()
            } else {
                format!("{v:.0}")
            }
        };
        let row = |name: &str, p: &Phase, logins: Option<&Logins>| {
            let count = |f: fn(&Logins) -> u64| logins.map_or("-".into(), |l| f(l).to_string());
            vec![
                name.to_string(),
                format!("{}/{}", p.latency.count, p.sent),
                ms(p.latency.p50),
                ms(p.latency.p99),
                ms(p.latency.max),
                format!("{:.2}", p.latency.p99 / self.idle.latency.p99),
                count(|l| l.answered),
                count(|l| l.invalid_creds),
                count(|l| l.hashed),
                count(|l| l.ratelimit_exceed),
                count(|l| l.limiter),
                count(|l| l.other.values().sum::<u64>() + l.unanswered),
                cpu(p.host_cpu),
                cpu(p.usage.server_cpu),
                cpu(p.usage.load_cpu),
            ]
        };
        let header = [
            "phase",
            "acked",
            "ack p50 ms",
            "p99 ms",
            "max ms",
            "p99 vs idle",
            "logins answered",
            "invalid_creds",
            "hashed",
            "ratelimit_exceed",
            "of them limiter",
            "other",
            "host cpu%",
            "gw cpu%",
            "lg cpu%",
        ];
        let rows = [
            row("idle", &self.idle, None),
            row("storm", &self.storm, Some(&self.logins)),
        ];
        print!("{}", table(&header, &rows));
        println!("{}", self.summary(spec));
    }

    /// The line under the table: the ratios, the answer rate, and anything unexpected.
    fn summary(&self, spec: &StormSpec) -> String {
        let l = &self.logins;
        // Every hashed attempt falls in the storm's first second; after it, only refusals.
        let settled = if self.storm.settled.count == 0 {
            String::new()
        } else {
            format!(
                "; from the third second on {:.2} ({} / {} ms)",
                self.storm.settled.p99 / self.idle.settled.p99,
                ms(self.storm.settled.p99),
                ms(self.idle.settled.p99)
            )
        };
        let register: Vec<String> = self.register_ms.iter().map(|v| format!("{v:.0}")).collect();
        let trouble = if l.other.is_empty() && l.unanswered == 0 {
            String::new()
        } else {
            format!(
                "; other answers: {:?}, unanswered {}",
                l.other, l.unanswered
            )
        };
        format!(
            "p99 storm/idle {:.2} (the issue's target: within 2x){settled}; {:.0} logins \
             answered/s; hashed = invalid_creds for a real account (one argon2 verification \
             each; a registration, about one hash, took {} ms idle){trouble}",
            self.p99_ratio(),
            l.answered as f64 / spec.seconds.max(1) as f64,
            register.join("/"),
        )
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
            "unknown_targets": spec.unknown_targets, "register_ms": self.register_ms,
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
    let (mut targets, mut register_ms) = (Vec::new(), Vec::new());
    let mut registrar = storm::cadmium_ready(server.addr).await?;
    for i in 0..spec.real_targets {
        let name = match i {
            0 => format!("victim-{tag}"),
            _ => format!("storm-{tag}-user{i}"),
        };
        let payload = json!({"username": name, "password": PASSWORD, "loginOnSuccess": false});
        let began = Instant::now();
        let reply = storm::cadmium(&mut registrar, &format!("r{i}"), REGISTER, payload).await?;
        register_ms.push(began.elapsed().as_secs_f64() * 1000.0);
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
    let host = chat::host_pid(server);

    let start = Instant::now() + Duration::from_millis(100);
    let idle = chat::phase(server, host, &mut chatters, &room, spec, start, 1_000).await?;

    let mut clients = Vec::with_capacity(spec.clients);
    for i in 0..spec.clients {
        let ws = client::connect_to(server.addr, Some(storm::source(i)), "cadmium")
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
        .map(|(i, ws)| storm::attacker(server.addr, i, ws, Arc::clone(&targets), start, until))
        .collect();
    let busy = chat::phase(server, host, &mut chatters, &room, spec, start, 1_000_000).await?;
    let mut logins = Logins::default();
    while let Some(done) = storm.join_next().await {
        logins.add(done??);
    }
    Ok(StormRun {
        register_ms,
        idle,
        storm: busy,
        logins,
    })
}
