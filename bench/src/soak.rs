//! Soak: many short-lived connections over every protocol and transport, proving that what
//! wcc keeps grows with what was said and with nothing else. `wcc-bench soak --cycles N`.
//!
//! wcc starts as in every scenario (`wcc-lattice up`, target.rs), with the per-connection rate
//! limits off (a cycle sends a few frames in a burst) and the actionhero line listener on a
//! port of the soak's choosing. The warm-up makes the fixed identities (`--users` per protocol:
//! venueless client ids, Cadmium and actionhero accounts, Rebuttal accounts invited into a
//! group), the text rooms and one voice room, then runs two passes of cycles over every
//! identity (the priming: the state a user's first cycle makes, such as its room sets or a
//! Cadmium direct room, is made there). Then the baseline is measured and the N cycles run,
//! `--concurrency` at a time: connect, sign in, join a room, say one message and wait for its
//! acknowledgement, leave, disconnect (cycle.rs has each protocol's). Users are persistent;
//! connections, sessions and anonymous actionhero guests must not be.
//!
//! Measured at the baseline, every 10 % of the cycles and at the end (after the lattice has
//! been idle for `--settle-seconds`): the `wcc` bucket (measure.rs: its stream's counts and a
//! census of its keys by pattern), the RSS of every process of the lattice, the gateway's open
//! connections, the users the core lists online, cycles/s and failures. The verdicts compare
//! the end with the baseline against the limits below; any exceeded limit, failures over
//! [`MAX_FAILED_FRACTION`] or cycles left when `--max-minutes` runs out fail the run. Samples
//! go to `build/soak.json`.

mod cycle;
mod measure;

use std::{
    collections::BTreeMap,
    ops::Range,
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use tokio::time::Instant;

use self::{
    cycle::{Cast, Kind, Plan, Steps},
    measure::{Bucket, Class, Process},
};
use crate::{
    stats::{ms, table, Latencies},
    system::{Machine, Pinning},
    target::{self, Probe, Server},
    Args,
};

/// Growth allowed, from the baseline to the end, of the bucket's state keys: every key but the
/// history (`room/*/msg/*`, `msgid/*`) and log-set slots (`*/log/*`).
pub const MAX_STATE_KEYS_GROWTH: i64 = 1_000;
/// Slots a log set may hold at the end. Compaction (actors/kv/src/log_set.rs, every 64 slots)
/// keeps up to 64 unfolded slots, the 64 retired one generation late, and gaps.
pub const MAX_LOG_SLOTS_PER_SET: u64 = 4 * 64;
/// Growth allowed of the bucket's bytes without the history: the stream's `state.bytes` less
/// the stored size of every history key.
pub const MAX_BYTES_GROWTH: i64 = 16 << 20;
/// Growth allowed of each process's RSS: the larger of these two.
pub const MAX_RSS_GROWTH_BYTES: i64 = 64 << 20;
pub const MAX_RSS_GROWTH_FRACTION: f64 = 0.25;
/// nats-server keeps an index entry in memory for every subject of a stream, and every key of
/// the history is a subject: a bare KV bucket grew 0.31 KiB of RSS per key from 25,000 to
/// 200,000 keys (docs/reliability.md, "nats-server's memory and the history"). So nats-server
/// may also grow this much per history key added, as the history itself is counted, not limited.
pub const NATS_INDEX_BYTES_PER_HISTORY_KEY: i64 = 512;
/// Cycles that may fail (a refusal, a lost answer, a timeout), as a fraction of those run.
pub const MAX_FAILED_FRACTION: f64 = 0.001;
/// The longest a cycle may take before it counts as failed.
const CYCLE_TIMEOUT: Duration = Duration::from_secs(90);

#[derive(clap::Args, Clone, Debug)]
pub struct SoakArgs {
    /// Cycles to run after the warm-up.
    #[arg(long, default_value_t = 100_000)]
    cycles: u64,
    /// Stop the cycles after this long (the warm-up not counted) and fail if any are left.
    /// At the 10-20 cycles a second measured on 2 cores (docs/reliability.md), 100,000 cycles
    /// take 85 to 170 minutes.
    #[arg(long, default_value_t = 180.0)]
    max_minutes: f64,
    /// Cycles in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Identities per protocol (at most 249).
    #[arg(long, default_value_t = 50)]
    users: usize,
    /// Text rooms (plus one voice room for Rebuttal).
    #[arg(long, default_value_t = 10)]
    rooms: usize,
    /// Idle time before the baseline and before the end is measured.
    #[arg(long, default_value_t = 10)]
    settle_seconds: u64,
    #[arg(long, default_value = "build/soak.json")]
    out: PathBuf,
}

pub async fn run(
    args: &Args,
    soak: &SoakArgs,
    machine: Machine,
    pinning: Option<Pinning>,
) -> Result<()> {
    if soak.users == 0 || soak.users > cycle::MAX_USERS || soak.rooms == 0 {
        bail!(
            "--users must be 1..={} and --rooms at least 1",
            cycle::MAX_USERS
        );
    }
    let header = format!(
        "machine: {} cores, {:.1} GiB memory; {}",
        machine.cores,
        machine.memory_gib,
        Pinning::describe(pinning.as_ref())
    );
    println!("{header}");
    print_limits();
    let state = tempfile::Builder::new().prefix("wcc-soak-").tempdir()?;
    let lines = format!("127.0.0.1:{}", target::free_port()?);
    let mut vars = vec![
        format!("WCC_ACTIONHERO_LINE_ADDR={lines}"),
        "WCC_ACTIONHERO_RATE_LIMIT=0".to_string(),
        "WCC_REBUTTAL_RATE_LIMIT=0".to_string(),
        format!("WCC_REBUTTAL_ADMIN_EMAIL={}", cycle::REBUTTAL_ADMIN),
    ];
    vars.extend(args.vars.iter().cloned());
    let wcc = target::start_wcc(args.wcc_options(state.path(), pinning.as_ref(), &vars)?).await?;
    println!(
        "wcc is up (lattice logs in {})",
        state.path().join("logs").display()
    );
    let context = Run {
        server: &wcc,
        state: state.path().to_string_lossy().into_owned(),
        lines: lines.parse()?,
        spec: soak,
    };
    let outcome = soak_run(&context).await;
    wcc.stop().await;
    let (report, passed) = match outcome {
        Ok(done) => done,
        Err(e) => {
            let kept = state.keep();
            eprintln!("lattice logs kept in {}", kept.join("logs").display());
            return Err(e);
        }
    };
    let mut report = report;
    report["machine"] = json!(header);
    report["vars"] = json!(vars);
    if let Some(dir) = soak.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&soak.out, serde_json::to_string_pretty(&report)?)?;
    println!("samples written to {}", soak.out.display());
    if !passed || args.keep_logs {
        let kept = state.keep();
        eprintln!("lattice logs kept in {}", kept.join("logs").display());
    }
    if !passed {
        bail!("soak failed: see the verdicts above");
    }
    Ok(())
}

fn print_limits() {
    println!(
        "soak limits, end (after settling) against the baseline (after the warm-up):\n  \
         state keys +{MAX_STATE_KEYS_GROWTH} at most (every key of bucket `{}` but history \
         and log-set slots)\n  \
         log-set slots: at most {MAX_LOG_SLOTS_PER_SET} in any one set\n  \
         bucket bytes without history +{} MiB at most (stream KV_wcc state.bytes less the \
         stored size of the history keys)\n  \
         RSS of each lattice process +{} MiB or +{:.0} % at most, whichever is larger, and \
         nats-server {} bytes more per history key added (its index); none may restart\n  \
         failed cycles at most {:.1} %; gateway connections and online users 0 at the end; \
         every cycle done within --max-minutes\n  \
         history (room/*/msg/*, msgid/*: what was said) is counted and shown, not limited",
        measure::BUCKET,
        MAX_BYTES_GROWTH >> 20,
        MAX_RSS_GROWTH_BYTES >> 20,
        MAX_RSS_GROWTH_FRACTION * 100.0,
        NATS_INDEX_BYTES_PER_HISTORY_KEY,
        MAX_FAILED_FRACTION * 100.0,
    );
}

struct Run<'a> {
    server: &'a Server,
    state: String,
    lines: std::net::SocketAddr,
    spec: &'a SoakArgs,
}

/// What the cycles did, shared by the workers.
#[derive(Default)]
struct Progress {
    next: AtomicU64,
    end: AtomicU64,
    stop: AtomicBool,
    running: AtomicUsize,
    done: AtomicU64,
    failed: AtomicU64,
    by_kind: Mutex<BTreeMap<Kind, KindStats>>,
    errors: Mutex<BTreeMap<String, u64>>,
    examples: Mutex<Vec<String>>,
}

#[derive(Default)]
struct KindStats {
    done: u64,
    failed: u64,
    micros: Vec<u64>,
    /// Each step's share of the cycles that succeeded, in the order the steps first ran.
    steps: Vec<(&'static str, Vec<u64>)>,
}

impl Progress {
    fn finished(&self) -> u64 {
        self.done.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed)
    }

    fn record(&self, kind: Kind, took: Duration, steps: Steps, result: Result<()>) {
        let mut by_kind = self.by_kind.lock().unwrap();
        let stats = by_kind.entry(kind).or_default();
        match result {
            Ok(()) => {
                stats.done += 1;
                stats.micros.push(took.as_micros() as u64);
                for (step, share) in steps.took {
                    let micros = share.as_micros() as u64;
                    match stats.steps.iter_mut().find(|(name, _)| *name == step) {
                        Some((_, all)) => all.push(micros),
                        None => stats.steps.push((step, vec![micros])),
                    }
                }
                self.done.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                stats.failed += 1;
                self.failed.fetch_add(1, Ordering::Relaxed);
                let step: String = e.to_string().chars().take(60).collect();
                *self
                    .errors
                    .lock()
                    .unwrap()
                    .entry(format!("{}: {step}", kind.name()))
                    .or_default() += 1;
                let mut examples = self.examples.lock().unwrap();
                if examples.len() < 20 {
                    eprintln!("cycle failed ({}): {e:#}", kind.name());
                    examples.push(format!("{}: {e:#}", kind.name()));
                }
            }
        }
    }

    /// What the cycles so far did; starts the counts afresh.
    fn take(&self) -> Tally {
        Tally {
            done: self.done.swap(0, Ordering::Relaxed),
            failed: self.failed.swap(0, Ordering::Relaxed),
            by_kind: std::mem::take(&mut *self.by_kind.lock().unwrap()),
            errors: std::mem::take(&mut *self.errors.lock().unwrap()),
            examples: std::mem::take(&mut *self.examples.lock().unwrap()),
        }
    }
}

struct Tally {
    done: u64,
    failed: u64,
    by_kind: BTreeMap<Kind, KindStats>,
    errors: BTreeMap<String, u64>,
    examples: Vec<String>,
}

/// Starts `concurrency` workers over the cycles in `range` (stopped early by `progress.stop`).
fn start_cycles(cast: &Arc<Cast>, progress: &Arc<Progress>, range: Range<u64>, concurrency: usize) {
    progress.next.store(range.start, Ordering::SeqCst);
    progress.end.store(range.end, Ordering::SeqCst);
    progress.stop.store(false, Ordering::SeqCst);
    for _ in 0..concurrency {
        let (cast, progress) = (Arc::clone(cast), Arc::clone(progress));
        progress.running.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            loop {
                if progress.stop.load(Ordering::SeqCst) {
                    break;
                }
                let n = progress.next.fetch_add(1, Ordering::SeqCst);
                if n >= progress.end.load(Ordering::SeqCst) {
                    break;
                }
                let plan = Plan::of(n, cast.users, cast.text_rooms.len());
                let began = Instant::now();
                let mut steps = Steps::start();
                let cycle = cast.cycle(n, plan, &mut steps);
                let result = match tokio::time::timeout(CYCLE_TIMEOUT, cycle).await {
                    Ok(result) => result,
                    Err(_) => Err(anyhow::anyhow!("timeout")),
                };
                progress.record(plan.kind, began.elapsed(), steps, result);
            }
            progress.running.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

async fn wait_idle(progress: &Progress) {
    while progress.running.load(Ordering::SeqCst) > 0 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One measuring point.
struct Point {
    label: String,
    /// Seconds since the measured cycles began (0 for the baseline).
    seconds: f64,
    cycles: u64,
    failed: u64,
    /// Cycles/s since the previous point.
    rate: f64,
    bucket: Bucket,
    processes: Vec<Process>,
    gateway_connections: u64,
    gateway_rss: u64,
    online: u64,
    online_by_channel: BTreeMap<String, u64>,
}

impl Point {
    fn json(&self) -> Value {
        let processes: Vec<Value> = self
            .processes
            .iter()
            .map(|p| {
                json!({"label": p.label, "pid": p.pid, "rss_bytes": p.rss_bytes,
                       "cpu_seconds": p.cpu_seconds})
            })
            .collect();
        json!({
            "label": self.label, "seconds": self.seconds, "cycles": self.cycles,
            "failed": self.failed, "cycles_per_sec": self.rate, "bucket": self.bucket.json(),
            "processes": processes, "gateway_connections": self.gateway_connections,
            "gateway_rss_bytes": self.gateway_rss, "online_users": self.online,
            "online_by_channel": self.online_by_channel,
        })
    }
}

async fn measure(
    ctx: &Run<'_>,
    label: String,
    seconds: f64,
    cycles: u64,
    failed: u64,
    rate: f64,
) -> Result<Point> {
    let Probe::Gateway(nats) = &ctx.server.probe else {
        bail!("the soak needs the lattice's NATS");
    };
    let processes = measure::processes(&ctx.state)?;
    let bucket = measure::bucket(nats)
        .await
        .context("cannot read the wcc bucket")?;
    let gateway = ctx.server.probe.sample().await?;
    let (admin, token) = ctx.server.admin.clone().context("no admin API")?;
    let (online, online_by_channel) =
        tokio::task::spawn_blocking(move || measure::online_users(&admin, &token))
            .await?
            .context("GET /online")?;
    Ok(Point {
        label,
        seconds,
        cycles,
        failed,
        rate,
        bucket,
        processes,
        gateway_connections: gateway.connections,
        gateway_rss: gateway.rss_bytes,
        online,
        online_by_channel,
    })
}

fn create_room(server: &Server, id: &str, kind: &str) -> Result<()> {
    let (admin, token) = server.admin.as_ref().context("no admin API")?;
    let response = ureq::post(&format!("http://{admin}/rooms"))
        .set("Authorization", &format!("Bearer {token}"))
        .set("Content-Type", "application/json")
        .timeout(Duration::from_secs(20))
        .send_string(&json!({"id": id, "name": id, "kind": kind}).to_string());
    match response {
        Ok(_) | Err(ureq::Error::Status(409, _)) => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot create room {id}")),
    }
}

async fn soak_run(ctx: &Run<'_>) -> Result<(Value, bool)> {
    let spec = ctx.spec;
    let began = Instant::now();
    let text_rooms: Vec<String> = (0..spec.rooms).map(|k| format!("soak-text-{k}")).collect();
    let voice_room = "soak-voice".to_string();
    for room in &text_rooms {
        create_room(ctx.server, room, "text")?;
    }
    create_room(ctx.server, &voice_room, "voice")?;
    let cast = Arc::new(
        Cast::warm_up(
            ctx.server.addr,
            ctx.lines,
            text_rooms,
            voice_room,
            spec.users,
        )
        .await
        .context("warm-up")?,
    );
    println!(
        "warm-up: {} identities per protocol and {} rooms made in {:.1} s",
        spec.users,
        spec.rooms + 1,
        began.elapsed().as_secs_f64()
    );

    // Priming: two passes over every identity (every kind of the mix for every user).
    let progress = Arc::new(Progress::default());
    let priming = 10 * spec.users as u64;
    let primed_at = Instant::now();
    start_cycles(&cast, &progress, 0..priming, spec.concurrency);
    wait_idle(&progress).await;
    let Tally {
        done: p_done,
        failed: p_failed,
        errors: p_errors,
        ..
    } = progress.take();
    println!(
        "priming: {p_done} cycles done, {p_failed} failed, in {:.1} s{}",
        primed_at.elapsed().as_secs_f64(),
        if p_errors.is_empty() {
            String::new()
        } else {
            format!(" ({p_errors:?})")
        }
    );

    tokio::time::sleep(Duration::from_secs(spec.settle_seconds)).await;
    let mut points = vec![measure(ctx, "baseline".into(), 0.0, 0, 0, f64::NAN).await?];
    print_point(&points[0]);

    let run_start = Instant::now();
    let deadline = run_start + Duration::from_secs_f64(spec.max_minutes * 60.0);
    start_cycles(
        &cast,
        &progress,
        priming..priming + spec.cycles,
        spec.concurrency,
    );
    let mut mark = 1;
    let mut timed_out = false;
    let (mut last_cycles, mut last_at) = (0u64, run_start);
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if !timed_out && Instant::now() >= deadline {
            timed_out = true;
            progress.stop.store(true, Ordering::SeqCst);
            eprintln!(
                "--max-minutes {} reached after {} of {} cycles: stopping",
                spec.max_minutes,
                progress.finished(),
                spec.cycles
            );
        }
        let finished = progress.finished();
        if mark < 10 && !timed_out && finished >= spec.cycles * mark / 10 {
            let now = Instant::now();
            let rate = (finished - last_cycles) as f64 / (now - last_at).as_secs_f64();
            let point = measure(
                ctx,
                format!("{}%", mark * 10),
                (now - run_start).as_secs_f64(),
                finished,
                progress.failed.load(Ordering::Relaxed),
                rate,
            )
            .await?;
            print_point(&point);
            points.push(point);
            (last_cycles, last_at) = (finished, now);
            mark += 1;
        }
        if progress.running.load(Ordering::SeqCst) == 0 {
            break;
        }
    }
    let run_seconds = run_start.elapsed().as_secs_f64();
    let finished = progress.finished();
    let rate = (finished - last_cycles) as f64 / last_at.elapsed().as_secs_f64();
    let failed = progress.failed.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(spec.settle_seconds)).await;
    let end = measure(
        ctx,
        if timed_out {
            "stopped".into()
        } else {
            "end".into()
        },
        run_seconds,
        finished,
        failed,
        rate,
    )
    .await?;
    print_point(&end);
    points.push(end);
    let Tally {
        by_kind,
        errors,
        examples,
        ..
    } = progress.take();

    println!(
        "\nsoak (wcc; {} of {} cycles in {:.0} s, {:.1} cycles/s, {} at a time; {} users per \
         protocol, {} text rooms + 1 voice room)",
        finished,
        spec.cycles,
        run_seconds,
        finished as f64 / run_seconds.max(1e-9),
        spec.concurrency,
        spec.users,
        spec.rooms
    );
    print_points(&points);
    let last = &points[points.len() - 1].bucket;
    println!(
        "the census (every live key's last message, sized as the file store counts it) adds up \
         to {} of the stream's {} bytes at the end",
        last.history.bytes + last.log_slots.bytes + last.state.bytes,
        last.bytes
    );
    print_rss(&points);
    print_kinds(&by_kind);
    let growth = pattern_growth(&points[0].bucket, &points[points.len() - 1].bucket);
    print_patterns(&growth, finished);
    if !errors.is_empty() {
        println!("\nfailed cycles by protocol and step:");
        for (what, n) in &errors {
            println!("  {n:>6}  {what}");
        }
    }
    let verdicts = verdicts(&points, spec.cycles, finished, failed, timed_out);
    println!("\nverdicts (baseline -> end):");
    for v in &verdicts {
        println!("  {} {}", if v.pass { "PASS" } else { "FAIL" }, v.line);
    }
    let passed = verdicts.iter().all(|v| v.pass);
    println!("soak {}", if passed { "passed" } else { "FAILED" });

    let kinds: BTreeMap<&str, Value> = by_kind
        .iter()
        .map(|(kind, s)| {
            let latency = Latencies::from_micros(s.micros.clone());
            let steps: BTreeMap<&str, Value> = s
                .steps
                .iter()
                .map(|(step, micros)| (*step, Latencies::from_micros(micros.clone()).json()))
                .collect();
            (
                kind.name(),
                json!({"done": s.done, "failed": s.failed, "cycle_ms": latency.json(),
                       "step_ms": steps}),
            )
        })
        .collect();
    let report = json!({
        "config": {"cycles": spec.cycles, "max_minutes": spec.max_minutes,
                   "concurrency": spec.concurrency, "users_per_protocol": spec.users,
                   "text_rooms": spec.rooms, "voice_rooms": 1,
                   "settle_seconds": spec.settle_seconds, "priming_cycles": priming},
        "limits": {"state_keys_growth": MAX_STATE_KEYS_GROWTH,
                   "log_slots_per_set": MAX_LOG_SLOTS_PER_SET,
                   "bytes_without_history_growth": MAX_BYTES_GROWTH,
                   "rss_growth_bytes": MAX_RSS_GROWTH_BYTES,
                   "rss_growth_fraction": MAX_RSS_GROWTH_FRACTION,
                   "failed_fraction": MAX_FAILED_FRACTION},
        "counted": {
            "history": "keys room/*/msg/* and msgid/*: one per message said",
            "log_slots": "keys */log/*: slots of log sets, bounded per set by compaction",
            "state": "every other key of the bucket",
            "bytes": "as nats-server's file store counts a message: 22 + subject + value + 8 \
                      (+ 4 + headers); bytes_without_history = stream state.bytes - history bytes",
        },
        "priming": {"done": p_done, "failed": p_failed, "errors": p_errors},
        "run": {"finished": finished, "failed": failed, "seconds": run_seconds,
                "cycles_per_sec": finished as f64 / run_seconds.max(1e-9),
                "stopped_by_max_minutes": timed_out},
        "kinds": kinds,
        "errors": errors,
        "error_examples": examples,
        "growth_by_pattern": growth_json(&growth, finished),
        "samples": points.iter().map(Point::json).collect::<Vec<_>>(),
        "verdicts": verdicts.iter().map(|v| json!({"pass": v.pass, "what": v.line})).collect::<Vec<_>>(),
        "passed": passed,
    });
    Ok((report, passed))
}

fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / 1_048_576.0)
}

fn signed_mib(bytes: i64) -> String {
    format!("{:+.1}", bytes as f64 / 1_048_576.0)
}

fn print_point(p: &Point) {
    eprintln!(
        "soak {}: {} cycles ({} failed), {} keys ({} state, {} log slots, {} history), {} MiB \
         without history, gateway {} connections, {} online",
        p.label,
        p.cycles,
        p.failed,
        p.bucket.keys(),
        p.bucket.state.keys,
        p.bucket.log_slots.keys,
        p.bucket.history.keys,
        mib(p.bucket.bytes_without_history()),
        p.gateway_connections,
        p.online
    );
}

fn print_points(points: &[Point]) {
    let rows: Vec<Vec<String>> = points
        .iter()
        .map(|p| {
            let b = &p.bucket;
            vec![
                p.label.clone(),
                format!("{:.0}", p.seconds),
                p.cycles.to_string(),
                p.failed.to_string(),
                if p.rate.is_nan() {
                    "-".into()
                } else {
                    format!("{:.1}", p.rate)
                },
                b.subjects.to_string(),
                b.state.keys.to_string(),
                b.log_slots.keys.to_string(),
                b.largest_log.1.to_string(),
                b.history.keys.to_string(),
                mib(b.bytes),
                mib(b.bytes_without_history()),
                mib(b.history.bytes),
                p.gateway_connections.to_string(),
                p.online.to_string(),
                format!("{:.1}", b.census_seconds),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "point",
                "s",
                "cycles",
                "failed",
                "cycles/s",
                "keys",
                "state keys",
                "log slots",
                "max/set",
                "history keys",
                "bucket MiB",
                "w/o history MiB",
                "history MiB",
                "gw conns",
                "online",
                "census s",
            ],
            &rows
        )
    );
    println!(
        "keys: the stream's num_subjects (one per live key: deletes purge); state, log slots, \
         history: the census of every key's last message; bucket MiB: stream state.bytes; \
         history MiB: the stored size of room/*/msg/* and msgid/* keys"
    );
}

/// Every lattice process's RSS at every point (MiB).
fn print_rss(points: &[Point]) {
    let mut labels: Vec<String> = Vec::new();
    for p in points {
        for proc_ in &p.processes {
            if !labels.contains(&proc_.label) {
                labels.push(proc_.label.clone());
            }
        }
    }
    let rows: Vec<Vec<String>> = points
        .iter()
        .map(|p| {
            let mut row = vec![p.label.clone()];
            for label in &labels {
                row.push(
                    p.processes
                        .iter()
                        .find(|x| &x.label == label)
                        .map_or("-".into(), |x| mib(x.rss_bytes)),
                );
            }
            row
        })
        .collect();
    let mut header = vec!["RSS MiB"];
    header.extend(labels.iter().map(String::as_str));
    println!();
    print!("{}", table(&header, &rows));
}

fn print_kinds(by_kind: &BTreeMap<Kind, KindStats>) {
    let rows: Vec<Vec<String>> = by_kind
        .iter()
        .map(|(kind, s)| {
            let l = Latencies::from_micros(s.micros.clone());
            vec![
                kind.name().to_string(),
                s.done.to_string(),
                s.failed.to_string(),
                ms(l.p50),
                ms(l.p99),
                ms(l.max),
            ]
        })
        .collect();
    println!();
    print!(
        "{}",
        table(
            &["kind", "done", "failed", "cycle p50 ms", "p99 ms", "max ms"],
            &rows
        )
    );
    let rows: Vec<Vec<String>> = by_kind
        .iter()
        .flat_map(|(kind, s)| {
            s.steps.iter().map(|(step, micros)| {
                let l = Latencies::from_micros(micros.clone());
                vec![
                    kind.name().to_string(),
                    step.to_string(),
                    ms(l.p50),
                    ms(l.p99),
                    ms(l.max),
                ]
            })
        })
        .collect();
    println!("\nwhere a cycle's time goes (cycles that succeeded):");
    print!(
        "{}",
        table(&["kind", "step", "p50 ms", "p99 ms", "max ms"], &rows)
    );
}

/// Keys and bytes by pattern, baseline against end, the largest changes first (by class).
type Growth<'a> = Vec<(&'a String, Class, (u64, u64), (u64, u64))>;

fn pattern_growth<'a>(start: &'a Bucket, end: &'a Bucket) -> Growth<'a> {
    let mut all: Growth<'a> = Vec::new();
    for (pattern, (class, t)) in &end.patterns {
        let before = start
            .patterns
            .get(pattern)
            .map_or((0, 0), |(_, b)| (b.keys, b.bytes));
        all.push((pattern, *class, before, (t.keys, t.bytes)));
    }
    for (pattern, (class, t)) in &start.patterns {
        if !end.patterns.contains_key(pattern) {
            all.push((pattern, *class, (t.keys, t.bytes), (0, 0)));
        }
    }
    all.sort_by_key(|(p, class, b, e)| {
        (
            *class,
            std::cmp::Reverse((e.0 as i64 - b.0 as i64).abs()),
            (*p).clone(),
        )
    });
    all
}

fn growth_json(growth: &Growth<'_>, cycles: u64) -> Value {
    let rows: BTreeMap<&str, Value> = growth
        .iter()
        .map(|(p, class, b, e)| {
            let keys = e.0 as i64 - b.0 as i64;
            (
                p.as_str(),
                json!({"class": class.name(), "keys": [b.0, e.0], "bytes": [b.1, e.1],
                       "keys_growth": keys, "bytes_growth": e.1 as i64 - b.1 as i64,
                       "keys_per_1000_cycles": keys as f64 * 1000.0 / cycles.max(1) as f64}),
            )
        })
        .collect();
    json!(rows)
}

fn print_patterns(growth: &Growth<'_>, cycles: u64) {
    let rows: Vec<Vec<String>> = growth
        .iter()
        .map(|(p, class, b, e)| {
            vec![
                (*p).clone(),
                class.name().to_string(),
                b.0.to_string(),
                e.0.to_string(),
                format!("{:+}", e.0 as i64 - b.0 as i64),
                format!(
                    "{:+.1}",
                    (e.0 as i64 - b.0 as i64) as f64 * 1000.0 / cycles.max(1) as f64
                ),
                format!("{:.1}", b.1 as f64 / 1024.0),
                format!("{:.1}", e.1 as f64 / 1024.0),
                format!("{:+.1}", (e.1 as i64 - b.1 as i64) as f64 / 1024.0),
            ]
        })
        .collect();
    println!("\nbucket keys by pattern (ids and numbers as *), baseline -> end");
    print!(
        "{}",
        table(
            &[
                "pattern",
                "class",
                "keys",
                "end",
                "growth",
                "per 1k cycles",
                "KiB",
                "end KiB",
                "growth KiB"
            ],
            &rows
        )
    );
}

struct Verdict {
    pass: bool,
    line: String,
}

fn verdicts(
    points: &[Point],
    cycles: u64,
    finished: u64,
    failed: u64,
    timed_out: bool,
) -> Vec<Verdict> {
    let (start, end) = (&points[0], &points[points.len() - 1]);
    let mut out = Vec::new();
    let mut check = |pass: bool, line: String| out.push(Verdict { pass, line });
    check(
        !timed_out && finished >= cycles,
        format!(
            "cycles: {finished} of {cycles} done{}",
            if timed_out {
                " before --max-minutes ran out"
            } else {
                ""
            }
        ),
    );
    let fraction = failed as f64 / finished.max(1) as f64;
    check(
        fraction <= MAX_FAILED_FRACTION,
        format!(
            "failed cycles: {failed} ({:.3} %, limit {:.1} %)",
            fraction * 100.0,
            MAX_FAILED_FRACTION * 100.0
        ),
    );
    let (b, e) = (&start.bucket, &end.bucket);
    let grew = e.state.keys as i64 - b.state.keys as i64;
    check(
        grew <= MAX_STATE_KEYS_GROWTH,
        format!(
            "state keys: {} -> {} ({grew:+}, limit +{MAX_STATE_KEYS_GROWTH})",
            b.state.keys, e.state.keys
        ),
    );
    check(
        e.largest_log.1 <= MAX_LOG_SLOTS_PER_SET,
        format!(
            "log-set slots: {} in all, the largest set {} holds {} (limit {MAX_LOG_SLOTS_PER_SET})",
            e.log_slots.keys,
            if e.largest_log.0.is_empty() {
                "-"
            } else {
                e.largest_log.0.as_str()
            },
            e.largest_log.1
        ),
    );
    let grew = e.bytes_without_history() as i64 - b.bytes_without_history() as i64;
    check(
        grew <= MAX_BYTES_GROWTH,
        format!(
            "bucket bytes without history: {} -> {} MiB ({} MiB, limit +{} MiB)",
            mib(b.bytes_without_history()),
            mib(e.bytes_without_history()),
            signed_mib(grew),
            MAX_BYTES_GROWTH >> 20
        ),
    );
    // Every cycle that succeeded said one message.
    let said = finished.saturating_sub(failed);
    check(
        true,
        format!(
            "history (not limited): {} -> {} keys, {} -> {} MiB: {:.2} keys and {} bytes per \
             message said ({said})",
            b.history.keys,
            e.history.keys,
            mib(b.history.bytes),
            mib(e.history.bytes),
            e.history.keys.saturating_sub(b.history.keys) as f64 / said.max(1) as f64,
            e.history.bytes.saturating_sub(b.history.bytes) / said.max(1)
        ),
    );
    for p in &start.processes {
        let later = end.processes.iter().find(|x| x.label == p.label);
        match later {
            Some(l) if l.pid == p.pid => {
                let grew = l.rss_bytes as i64 - p.rss_bytes as i64;
                let mut limit =
                    MAX_RSS_GROWTH_BYTES.max((p.rss_bytes as f64 * MAX_RSS_GROWTH_FRACTION) as i64);
                let mut why = String::new();
                if p.label == "nats-server" {
                    let keys = e.history.keys.saturating_sub(b.history.keys) as i64;
                    limit += keys * NATS_INDEX_BYTES_PER_HISTORY_KEY;
                    why = format!(
                        ", with {NATS_INDEX_BYTES_PER_HISTORY_KEY} bytes for each of the {keys} \
                         history keys added"
                    );
                }
                check(
                    grew <= limit,
                    format!(
                        "RSS {} (pid {}): {} -> {} MiB ({} MiB, limit +{:.0} MiB{why})",
                        p.label,
                        p.pid,
                        mib(p.rss_bytes),
                        mib(l.rss_bytes),
                        signed_mib(grew),
                        limit as f64 / 1_048_576.0
                    ),
                );
            }
            Some(l) => check(
                false,
                format!("{}: restarted (pid {} -> {})", p.label, p.pid, l.pid),
            ),
            None => check(
                false,
                format!("{} (pid {}): gone by the end", p.label, p.pid),
            ),
        }
    }
    check(
        end.gateway_connections == 0,
        format!(
            "gateway connections at the end: {} (baseline {})",
            end.gateway_connections, start.gateway_connections
        ),
    );
    check(
        end.online == 0,
        format!(
            "users online at the end: {} {:?} (baseline {} {:?})",
            end.online, end.online_by_channel, start.online, start.online_by_channel
        ),
    );
    out
}
