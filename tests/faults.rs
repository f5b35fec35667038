//! Faults on a real lattice of two hosts, under a steady stream of acknowledged messages.
//!
//! Eight venueless clients send one message after another into one room, each waiting for its
//! acknowledgement; their gateways share one address, so the kernel spreads them over both
//! hosts. One after another the test kills a host outright, kills the gateway provider alone,
//! kills nats-server and starts it again on its store, and stops nats-server for ten seconds.
//! A client whose socket dies connects again and goes on, as a real client does; a send that got
//! no answer is "unsure" (it may or may not be stored). After every fault each client must have
//! its sends acknowledged again; at the end every acknowledged message is in history exactly
//! once, no unsure one twice, and a message sent live reaches a subscriber. The seconds each
//! fault cost are printed (docs/reliability.md keeps them).

mod common;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::{bail, ensure, Context, Result};
use common::{Venueless, Wcc, LATTICE};
use futures::StreamExt;
use nix::{sys::signal, unistd::Pid};
use serde_json::{json, Value};
use tokio::{sync::watch, time::Instant};

const SENDERS: usize = 8;
const ROOM: &str = "faults";
/// Between one client's acknowledgement and its next send.
const PAUSE: Duration = Duration::from_millis(100);
/// Longest wait for the service to come back after a fault: a hang, not a measurement.
const RECOVERY_BOUND: Duration = Duration::from_secs(120);
/// A send answered later than this during an outage counts as a hang.
const ANSWER_BOUND: Duration = Duration::from_secs(20);

/// What the clients saw, shared by their tasks.
#[derive(Default)]
struct Ledger {
    /// (client, body, when acknowledged)
    acked: Vec<(usize, String, Instant)>,
    /// Sends whose socket died or timed out before an answer.
    unsure: Vec<String>,
    /// Sends answered with the protocol's error, and when.
    refused: Vec<(String, Instant)>,
    /// When each unsure or refused send was sent.
    failed_sends: Vec<Instant>,
    /// The longest time any send waited for its answer (success, error or a closed socket).
    slowest_answer: Duration,
    /// Socket losses seen by the clients.
    reconnects: usize,
    /// The last thing that went wrong, for a failure's message.
    last_error: String,
}

impl Ledger {
    /// The moment every client has had a send acknowledged after `since`, if it has.
    fn all_acked_after(&self, since: Instant) -> Option<Instant> {
        let mut first: HashMap<usize, Instant> = HashMap::new();
        for (client, _, at) in &self.acked {
            if *at > since {
                let entry = first.entry(*client).or_insert(*at);
                *entry = (*entry).min(*at);
            }
        }
        (first.len() == SENDERS).then(|| first.into_values().max().unwrap())
    }

    /// Unsure or refused sends that were sent between `from` and `to`.
    fn failed_sent_between(&self, from: Instant, to: Instant) -> usize {
        self.failed_sends
            .iter()
            .filter(|sent| (from..=to).contains(*sent))
            .count()
    }
}

/// One client: connects (again after every loss), joins, and sends until told to stop.
async fn sender(
    addr: String,
    client: usize,
    ledger: Arc<Mutex<Ledger>>,
    stop: watch::Receiver<bool>,
) {
    let mut n = 0u64;
    while !*stop.borrow() {
        let mut socket = match joined(&addr, &format!("fault-sender-{client}")).await {
            Ok(socket) => socket,
            Err(e) => {
                ledger.lock().unwrap().last_error = format!("connect: {e:#}");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        while !*stop.borrow() {
            n += 1;
            let body = format!("c{client}-{n}");
            let started = Instant::now();
            let answer = socket
                .request(
                    "chat.send",
                    json!({"channel": ROOM, "event_type": "channel.message",
                           "content": {"type": "text", "body": body}}),
                )
                .await;
            let lost = answer.is_err();
            {
                let mut ledger = ledger.lock().unwrap();
                ledger.slowest_answer = ledger.slowest_answer.max(started.elapsed());
                match answer {
                    Ok(reply) if reply[0] == "success" => {
                        ledger.acked.push((client, body, Instant::now()))
                    }
                    Ok(reply) => {
                        ledger.last_error = format!("refused: {reply}");
                        ledger.refused.push((body, Instant::now()));
                        ledger.failed_sends.push(started);
                    }
                    Err(e) => {
                        ledger.last_error = format!("send: {e:#}");
                        ledger.unsure.push(body);
                        ledger.failed_sends.push(started);
                        ledger.reconnects += 1;
                    }
                }
            }
            if lost {
                break;
            }
            tokio::time::sleep(PAUSE).await;
        }
    }
}

/// A venueless client signed in as `client_id` and joined to the room.
async fn joined(addr: &str, client_id: &str) -> Result<Venueless> {
    let mut socket = Venueless::connect(addr).await?;
    socket.login(client_id, Some(client_id)).await?;
    let reply = socket
        .request("chat.join", json!({"channel": ROOM}))
        .await?;
    ensure!(reply[0] == "success", "join refused: {reply}");
    Ok(socket)
}

/// The stream of clients and what they saw.
struct Stream {
    ledger: Arc<Mutex<Ledger>>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Stream {
    fn start(wcc: &Wcc) -> Self {
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let (stop, stopped) = watch::channel(false);
        let tasks = (0..SENDERS)
            .map(|client| {
                tokio::spawn(sender(
                    wcc.gateway.clone(),
                    client,
                    Arc::clone(&ledger),
                    stopped.clone(),
                ))
            })
            .collect();
        Self {
            ledger,
            stop,
            tasks,
        }
    }

    /// Waits until every client has a send acknowledged after `since`; returns the seconds.
    async fn recovered_after(&self, since: Instant, fault: &str) -> Result<f64> {
        loop {
            if let Some(at) = self.ledger.lock().unwrap().all_acked_after(since) {
                return Ok((at - since).as_secs_f64());
            }
            if since.elapsed() > RECOVERY_BOUND {
                let ledger = self.ledger.lock().unwrap();
                bail!(
                    "after {fault}, not every client's sends were acknowledged again within \
                     {RECOVERY_BOUND:?} ({} acknowledged, {} unsure, {} refused; last: {})",
                    ledger.acked.len(),
                    ledger.unsure.len(),
                    ledger.refused.len(),
                    ledger.last_error
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn counts(&self) -> (usize, usize, usize) {
        let ledger = self.ledger.lock().unwrap();
        (
            ledger.acked.len(),
            ledger.unsure.len(),
            ledger.refused.len(),
        )
    }

    /// The last error since the previous call (empty if none).
    fn take_last_error(&self) -> String {
        std::mem::take(&mut self.ledger.lock().unwrap().last_error)
    }

    async fn finish(self) -> Result<Ledger> {
        self.stop.send_replace(true);
        for task in self.tasks {
            tokio::time::timeout(ANSWER_BOUND * 2, task)
                .await
                .context("a client hung after the stream was stopped")??;
        }
        Ok(Arc::try_unwrap(self.ledger)
            .map_err(|_| anyhow::anyhow!("ledger still shared"))?
            .into_inner()
            .unwrap())
    }
}

/// One printed row of the reliability table.
struct Row {
    fault: &'static str,
    recovered_s: f64,
    acked: usize,
    unsure: usize,
    refused: usize,
    note: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hosts_survive_kills_and_a_stalled_nats_without_losing_an_acknowledged_message(
) -> Result<()> {
    let mut wcc = Wcc::start_hosts(2).await?;
    if let Err(e) = faults(&mut wcc).await {
        let kept = wcc.keep_logs()?;
        bail!("{e:#}\n(logs kept in {})", kept.display());
    }
    wcc.lattice.shutdown().await
}

async fn faults(wcc: &mut Wcc) -> Result<()> {
    wcc.create_room(ROOM).await?;
    let nats = wcc.nats().await?;
    let gateways = gateway_connections(&nats).await?;
    ensure!(
        gateways.len() == 2,
        "two gateways answer stats: {gateways:?}"
    );

    let stream = Stream::start(wcc);
    let started = Instant::now();
    stream.recovered_after(started, "start").await?;
    eprintln!(
        "connections per gateway: {:?}",
        gateway_connections(&nats).await?
    );
    let mut rows = Vec::new();
    stream.take_last_error();

    // 1. A host killed outright: its providers must go with it, its clients move to the other.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = stream.counts();
    let host = wcc.lattice.host_pid(1).context("host 1 runs")?;
    let fault = Instant::now();
    signal::kill(Pid::from_raw(host as i32), signal::Signal::SIGKILL)?;
    let recovered_s = stream.recovered_after(fault, "kill -9 of a host").await?;
    let orphans_gone_s = group_gone(host, Duration::from_secs(10)).await?;
    let dead = wcc.lattice.reap_dead_hosts();
    ensure!(
        dead.iter().any(|(i, _)| *i == 1),
        "host 1 is reaped: {dead:?}"
    );
    let replaced = Instant::now();
    wcc.lattice.restart_host(1).await?;
    let serving_s = two_gateways_again(&nats, replaced).await?;
    let placed_s = components_placed_on_replacement(&nats, replaced).await?;
    // Its components now take half the calls; the joining must not have cost a single send.
    // (A send still in flight on the dead host when it was killed may fail later, after its
    // call timeout: it was sent before the replacement started, so it is not counted here.)
    tokio::time::sleep(Duration::from_secs(5)).await;
    let joined = Instant::now();
    tokio::time::sleep(ANSWER_BOUND).await;
    let failed = stream
        .ledger
        .lock()
        .unwrap()
        .failed_sent_between(replaced, joined);
    ensure!(
        failed == 0,
        "{failed} sends sent while the replacement host joined failed; last error: {}",
        stream.take_last_error()
    );
    rows.push(row(
        "kill -9 of one host (of two)",
        recovered_s,
        before,
        stream.counts(),
        format!(
            "its providers exited by themselves within {orphans_gone_s:.1} s; the replacement \
             host's gateway served after {serving_s:.1} s and its components after \
             {placed_s:.1} s, with no send failing while it joined; last error: {}",
            stream.take_last_error()
        ),
    ));

    // 2. The gateway provider alone killed outright: its host starts a new one.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = stream.counts();
    let host = wcc.lattice.host_pid(0).context("host 0 runs")?;
    let gateway = child_named(host, "gateway").context("host 0 runs a gateway")?;
    let mut events = nats.subscribe("wcc.events").await?;
    nats.flush().await?;
    let gateways_before = gateway_stats(&nats).await?;
    let fault = Instant::now();
    signal::kill(Pid::from_raw(gateway as i32), signal::Signal::SIGKILL)?;
    let recovered_s = stream
        .recovered_after(fault, "kill -9 of a gateway")
        .await?;
    let serving_s = two_gateways_again(&nats, fault).await?;
    // Its sessions never logged out; presence must end each once, within 30 s of the kill.
    let gateways_after = gateway_stats(&nats).await?;
    let (dead, held) = gateways_before
        .iter()
        .find(|(instance, _)| !gateways_after.iter().any(|(i, _)| i == instance))
        .context("the killed gateway still answers stats")?;
    let offline_s = logouts_of(&mut events, dead, *held as usize, fault).await?;
    rows.push(row(
        "kill -9 of one gateway provider",
        recovered_s,
        before,
        stream.counts(),
        format!(
            "two gateways answered again after {serving_s:.1} s; presence ended its {held} \
             sessions, one UserLoggedOut each, {offline_s:.1} s after the kill; last error: {}",
            stream.take_last_error()
        ),
    ));

    // 3. nats-server killed outright and started again on its store a second later.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = stream.counts();
    let fault = Instant::now();
    wcc.lattice.kill_nats();
    tokio::time::sleep(Duration::from_secs(1)).await;
    wcc.lattice.restart_nats().await?;
    let recovered_s = stream
        .recovered_after(fault, "kill -9 of nats-server")
        .await?;
    rows.push(row(
        "kill -9 of nats-server, started again after 1 s on its store",
        recovered_s,
        before,
        stream.counts(),
        format!("last error: {}", stream.take_last_error()),
    ));

    // 4. nats-server unreachable for ten seconds (stopped, so sockets stay open and silent).
    tokio::time::sleep(Duration::from_secs(3)).await;
    stream.ledger.lock().unwrap().slowest_answer = Duration::ZERO;
    let before = stream.counts();
    let pid = Pid::from_raw(wcc.lattice.nats_pid().context("nats runs")? as i32);
    let fault = Instant::now();
    signal::kill(pid, signal::Signal::SIGSTOP)?;
    tokio::time::sleep(Duration::from_secs(10)).await;
    signal::kill(pid, signal::Signal::SIGCONT)?;
    let recovered_s = stream
        .recovered_after(fault, "nats-server stopped for 10 s")
        .await?;
    let slowest = stream.ledger.lock().unwrap().slowest_answer;
    rows.push(row(
        "nats-server unreachable for 10 s (SIGSTOP, SIGCONT)",
        recovered_s,
        before,
        stream.counts(),
        format!(
            "slowest answer to a send: {:.1} s; last error: {}",
            slowest.as_secs_f64(),
            stream.take_last_error()
        ),
    ));
    ensure!(
        slowest < ANSWER_BOUND,
        "a send waited {slowest:?} for any answer while NATS was away"
    );

    tokio::time::sleep(Duration::from_secs(2)).await;
    let ledger = stream.finish().await?;
    let history = whole_history(wcc).await?;
    for (_, body, _) in &ledger.acked {
        let copies = history.get(body).copied().unwrap_or(0);
        ensure!(
            copies == 1,
            "acknowledged {body} is in history {copies} times"
        );
    }
    for body in ledger
        .unsure
        .iter()
        .chain(ledger.refused.iter().map(|(b, _)| b))
    {
        let copies = history.get(body).copied().unwrap_or(0);
        ensure!(
            copies <= 1,
            "unacknowledged {body} is in history {copies} times"
        );
    }
    live_delivery_works(wcc).await?;

    eprintln!(
        "\n| fault | clients saw | seconds to recover | acknowledged in the window | lost |\n|---|---|---|---|---|"
    );
    for row in &rows {
        eprintln!(
            "| {} | {} unsure, {} refused; {} | {:.1} | {} | 0 |",
            row.fault, row.unsure, row.refused, row.note, row.recovered_s, row.acked
        );
    }
    eprintln!(
        "in all: {} acknowledged, {} unsure, {} refused, {} reconnects; 0 lost, 0 duplicated",
        ledger.acked.len(),
        ledger.unsure.len(),
        ledger.refused.len(),
        ledger.reconnects
    );
    Ok(())
}

fn row(
    fault: &'static str,
    recovered_s: f64,
    before: (usize, usize, usize),
    after: (usize, usize, usize),
    note: String,
) -> Row {
    Row {
        fault,
        recovered_s,
        acked: after.0 - before.0,
        unsure: after.1 - before.1,
        refused: after.2 - before.2,
        note,
    }
}

/// Each gateway's open connections, from `wcc.gateway.stats` (every gateway answers).
async fn gateway_connections(nats: &async_nats::Client) -> Result<Vec<u64>> {
    Ok(gateway_stats(nats)
        .await?
        .into_iter()
        .map(|(_, connections)| connections)
        .collect())
}

/// Each gateway's instance id (the prefix of its connection ids) and open connections.
async fn gateway_stats(nats: &async_nats::Client) -> Result<Vec<(String, u64)>> {
    let inbox = nats.new_inbox();
    let mut replies = nats.subscribe(inbox.clone()).await?;
    nats.publish_with_reply("wcc.gateway.stats", inbox, "".into())
        .await?;
    nats.flush().await?;
    let deadline = Instant::now() + Duration::from_secs(1);
    let mut connections = Vec::new();
    while let Ok(Some(reply)) = tokio::time::timeout_at(deadline, replies.next()).await {
        let stats: Value = serde_json::from_slice(&reply.payload)?;
        connections.push((
            stats["instance"].as_str().unwrap_or_default().to_string(),
            stats["connections"].as_u64().unwrap_or(0),
        ));
    }
    Ok(connections)
}

/// Seconds from `since` until two gateways answer stats again.
async fn two_gateways_again(nats: &async_nats::Client, since: Instant) -> Result<f64> {
    while gateway_connections(nats).await?.len() < 2 {
        if since.elapsed() > RECOVERY_BOUND {
            bail!("a second gateway did not come back within {RECOVERY_BOUND:?}");
        }
    }
    Ok(since.elapsed().as_secs_f64())
}

/// Seconds from `since` until host 1 (the replacement) is labelled ready and runs as many
/// components as host 0, asked over the lattice's control subjects.
async fn components_placed_on_replacement(
    nats: &async_nats::Client,
    since: Instant,
) -> Result<f64> {
    loop {
        let hosts = ctl_gather(nats, "host.ping").await?;
        let host_labelled = |index: &str| {
            hosts
                .iter()
                .find(|h| h["response"]["labels"]["wcc-host"] == index)
                .cloned()
        };
        if let (Some(old), Some(new)) = (host_labelled("0"), host_labelled("1")) {
            let ready = new["response"]["labels"]["wcc-ready"] == "true";
            let (want, have) = (
                components_on(nats, &old).await?,
                components_on(nats, &new).await?,
            );
            if ready && want > 0 && have == want {
                return Ok(since.elapsed().as_secs_f64());
            }
        }
        if since.elapsed() > RECOVERY_BOUND {
            bail!("the replacement host had no components within {RECOVERY_BOUND:?}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// How many components the host in `ping` (its answer to `host.ping`) runs.
async fn components_on(nats: &async_nats::Client, ping: &Value) -> Result<usize> {
    let id = ping["response"]["id"]
        .as_str()
        .context("a host without an id")?;
    let subject = format!("wasmbus.ctl.v1.{LATTICE}.host.get.{id}");
    let answer = nats.request(subject, "".into()).await?;
    let inventory: Value = serde_json::from_slice(&answer.payload)?;
    Ok(inventory["response"]["components"]
        .as_array()
        .map_or(0, Vec::len))
}

/// Every host's answer to a control request that all hosts answer (e.g. `host.ping`).
async fn ctl_gather(nats: &async_nats::Client, what: &str) -> Result<Vec<Value>> {
    let inbox = nats.new_inbox();
    let mut replies = nats.subscribe(inbox.clone()).await?;
    nats.publish_with_reply(format!("wasmbus.ctl.v1.{LATTICE}.{what}"), inbox, "".into())
        .await?;
    nats.flush().await?;
    let mut answers = Vec::new();
    let window = tokio::time::sleep(Duration::from_secs(1));
    tokio::pin!(window);
    loop {
        tokio::select! {
            () = &mut window => return Ok(answers),
            reply = replies.next() => match reply {
                Some(reply) => answers.push(serde_json::from_slice(&reply.payload)?),
                None => return Ok(answers),
            },
        }
    }
}

/// Seconds from `since` until `sessions` distinct connections of gateway `instance` have each
/// had one UserLoggedOut on `events`; a second logout of one connection fails.
async fn logouts_of(
    events: &mut async_nats::Subscriber,
    instance: &str,
    sessions: usize,
    since: Instant,
) -> Result<f64> {
    const BOUND: Duration = Duration::from_secs(30);
    let mut ended = std::collections::HashSet::new();
    while ended.len() < sessions {
        let left = BOUND.saturating_sub(since.elapsed());
        let Ok(Some(message)) = tokio::time::timeout(left, events.next()).await else {
            bail!(
                "{} of {sessions} sessions of the killed gateway ended within {BOUND:?}",
                ended.len()
            );
        };
        let event: Value = serde_json::from_slice(&message.payload).unwrap_or_default();
        if event["type"] != "UserLoggedOut" {
            continue;
        }
        let connection = event["data"]["connection"].as_str().unwrap_or_default();
        if connection.rsplit_once('-').map(|(gateway, _)| gateway) == Some(instance) {
            ensure!(
                ended.insert(connection.to_string()),
                "{connection} logged out twice"
            );
        }
    }
    Ok(since.elapsed().as_secs_f64())
}

/// Seconds until no process is left in process group `group` (a host's, with its providers).
async fn group_gone(group: u32, bound: Duration) -> Result<f64> {
    let since = Instant::now();
    loop {
        // The killed host itself stays a zombie until reaped; only the living count.
        let left = processes()
            .filter(|p| p.group == group && !p.zombie)
            .count();
        if left == 0 {
            return Ok(since.elapsed().as_secs_f64());
        }
        if since.elapsed() > bound {
            bail!("{left} processes of the killed host still run after {bound:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A child of `parent` whose command line mentions `name`.
fn child_named(parent: u32, name: &str) -> Option<u32> {
    processes()
        .find(|p| p.parent == parent && p.command.contains(name))
        .map(|p| p.pid)
}

struct Process {
    pid: u32,
    zombie: bool,
    parent: u32,
    group: u32,
    command: String,
}

/// Every process on the machine, from /proc.
fn processes() -> impl Iterator<Item = Process> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // After "pid (name) ": state, parent, group.
            let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split_whitespace().collect();
            let command = std::fs::read(entry.path().join("cmdline")).ok()?;
            Some(Process {
                pid,
                zombie: fields.first() == Some(&"Z"),
                parent: fields.get(1)?.parse().ok()?,
                group: fields.get(2)?.parse().ok()?,
                command: String::from_utf8_lossy(&command).replace('\0', " "),
            })
        })
}

/// How many times each body is in the room's history (read page by page, newest first).
async fn whole_history(wcc: &Wcc) -> Result<HashMap<String, usize>> {
    let mut reader = joined(&wcc.gateway, "fault-reader").await?;
    let mut copies = HashMap::new();
    let mut before: Option<u64> = None;
    loop {
        let mut payload = json!({"channel": ROOM, "count": 200});
        if let Some(id) = before {
            payload["before_id"] = json!(id);
        }
        let page = reader.request("chat.fetch", payload).await?;
        ensure!(page[0] == "success", "fetch refused: {page}");
        let results = page[2]["results"].as_array().context("no results")?;
        if results.is_empty() {
            return Ok(copies);
        }
        for event in results {
            if let Some(body) = event["content"]["body"].as_str() {
                *copies.entry(body.to_string()).or_insert(0) += 1;
            }
        }
        let oldest = results[0]["event_id"].as_u64().context("no event id")?;
        if oldest <= 1 {
            return Ok(copies);
        }
        before = Some(oldest);
        // Paced as a polite client pages: past its burst a connection gets the channel's
        // default rate, and a page of history comes back in a few milliseconds.
        tokio::time::sleep(page_interval()).await;
    }
}

/// Just over the time between requests that the channels' default limit allows.
fn page_interval() -> Duration {
    Duration::from_secs_f64(1.0 / channel_kit::ratelimit::Limit::DEFAULT.per_second)
        + Duration::from_millis(10)
}

/// A message sent now reaches another client live.
async fn live_delivery_works(wcc: &Wcc) -> Result<()> {
    let mut listener = joined(&wcc.gateway, "fault-listener").await?;
    let mut speaker = joined(&wcc.gateway, "fault-speaker").await?;
    let reply = speaker
        .request(
            "chat.send",
            json!({"channel": ROOM, "event_type": "channel.message",
                   "content": {"type": "text", "body": "live after the faults"}}),
        )
        .await?;
    ensure!(reply[0] == "success", "{reply}");
    listener
        .chat_event(|e| e["content"]["body"] == "live after the faults")
        .await?;
    Ok(())
}
