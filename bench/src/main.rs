//! `wcc-bench`: measures wcc as `make run` starts it (real nats-server, host, wadm, providers,
//! components) with the project's own venueless load generator, next to a native broadcast
//! baseline and a stock Socket.IO 4.x server measured in the same run. Prints tables and
//! writes JSON.
//!
//! Scenarios (docs/benchmarks.md has results and analysis):
//! - fanout: N subscribers in one room, one publisher, paced by acks and at offered rates;
//!   the same load against the baseline and Socket.IO (`--servers`), with ratios,
//! - ingest: many senders in many rooms; persisted messages/s and ack latency,
//! - connections: idle websocket connections on one gateway; memory per connection,
//! - overload: more than wcc can take, with stalled readers; memory stays bounded,
//! - login-storm: chat users' ack latency, idle and while 50 clients send wrong passwords
//!   (sign-in throttling must keep password hashing from starving chat),
//! - hops: one message at a time on the idle server, its calls timed one by one (also a
//!   command of its own, `wcc-bench hops`, for a wcc that `make run` started).
//!
//! `wcc-bench soak` (a command of its own, long): many short connections over every protocol,
//! proving the bucket and the processes' memory stay bounded (soak.rs).

mod baseline;
mod client;
mod connections;
mod fanout;
mod hops;
mod ingest;
mod login_storm;
mod overload;
mod publisher;
mod report;
mod soak;
mod socketio_client;
mod socketio_server;
mod stats;
mod system;
mod target;

use std::{net::SocketAddr, path::PathBuf};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

/// A server the benchmark can measure; only wcc runs the scenarios other than fan-out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ServerKind {
    /// The native broadcast server (baseline.rs).
    Baseline,
    /// Socket.IO 4.x on node (bench/socketio/server.js).
    Socketio,
    /// wcc as `make run` starts it.
    Wcc,
}

impl ServerKind {
    /// Its name on the command line and in the result rows.
    pub fn name(self) -> &'static str {
        match self {
            Self::Baseline => "baseline",
            Self::Socketio => "socketio",
            Self::Wcc => "wcc",
        }
    }
}

#[derive(Parser)]
#[command(about = "Benchmarks wcc against a native baseline and Socket.IO")]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Which scenarios to run.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "fanout,ingest,overload,login-storm,connections,hops"
    )]
    scenarios: Vec<String>,
    /// Which servers to measure (run in the order baseline, socketio, wcc).
    #[arg(long, value_delimiter = ',', default_value = "baseline,socketio,wcc")]
    servers: Vec<ServerKind>,
    /// The Socket.IO server's folder (server.js, package-lock.json); default bench/socketio.
    #[arg(long)]
    socketio_dir: Option<PathBuf>,
    /// Fan-out room sizes.
    #[arg(long, value_delimiter = ',', default_value = "1000,5000")]
    subscribers: Vec<usize>,
    /// Fan-out offered rates (msgs/s), after the run paced by acks.
    #[arg(long, value_delimiter = ',', default_value = "200,500,1000,2000")]
    rates: Vec<u32>,
    /// Messages in each fan-out run at an offered rate.
    #[arg(long, default_value_t = 2000)]
    messages: usize,
    /// Messages in the fan-out run paced by acks.
    #[arg(long, default_value_t = 300)]
    paced_messages: usize,
    #[arg(long, default_value_t = 100)]
    ingest_senders: usize,
    #[arg(long, default_value_t = 20)]
    ingest_rooms: usize,
    /// Messages per sender in each ingest run.
    #[arg(long, default_value_t = 50)]
    ingest_messages: usize,
    /// Offered ingest rate (msgs/s, all senders together) for the ack-latency run.
    #[arg(long, default_value_t = 1000)]
    ingest_rate: u32,
    /// Idle connections to hold for the connection-capacity scenario.
    #[arg(long, default_value_t = 50_000)]
    connections: usize,
    #[arg(long, default_value_t = 10)]
    overload_seconds: u64,
    /// Login storm: clients sending wrong passwords, each from its own loopback address.
    #[arg(long, default_value_t = 50)]
    storm_clients: usize,
    /// Login storm: length of the idle phase and of the storm.
    #[arg(long, default_value_t = 20)]
    storm_seconds: u64,
    /// Login storm: venueless users chatting meanwhile.
    #[arg(long, default_value_t = 5)]
    storm_chatters: usize,
    /// Login storm: their messages per second, all together.
    #[arg(long, default_value_t = 50)]
    storm_rate: u32,
    /// A wadm.yaml placeholder for `wcc-lattice up`, `NAME=value` (repeatable; over the
    /// benchmark's own, e.g. `--var WCC_CADMIUM_RATE_LIMIT=20` keeps the product's default).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    vars: Vec<String>,
    /// wasmCloud hosts in wcc's lattice (`wcc-lattice up --hosts`); their gateways share the
    /// address, so more hosts use more cores.
    #[arg(long, default_value_t = 1)]
    hosts: u16,
    /// Per-connection send queue of the gateway (frames) for the whole benchmark.
    #[arg(long, default_value_t = 8192)]
    send_queue_frames: usize,
    /// Everything tiny: checks the benchmark itself works (part of `make test`).
    #[arg(long)]
    smoke: bool,
    /// Do not pin servers and load generator to separate cores.
    #[arg(long)]
    no_pin: bool,
    /// Keep the lattice's logs after a run that succeeded (a failed run always keeps them).
    #[arg(long)]
    keep_logs: bool,
    #[arg(long, default_value = "build/bench.json")]
    out: PathBuf,
    #[arg(long, env = "NATS_SERVER")]
    nats_server: Option<PathBuf>,
    #[arg(long, env = "WCC_LATTICE_BIN")]
    launcher: Option<PathBuf>,
    #[arg(long, env = "WCC_ARTIFACTS")]
    artifacts: Option<PathBuf>,
    #[arg(long, env = "WCC_MANIFEST", default_value = "wadm.yaml")]
    manifest: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the native baseline (started by the benchmark itself).
    Baseline {
        #[arg(long)]
        addr: SocketAddr,
    },
    /// Where one message's time goes, call by call, on a running wcc (`make run`).
    Hops {
        #[arg(long, default_value = "nats://127.0.0.1:4222")]
        nats_url: String,
        /// The gateway's websocket listener.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        #[arg(long, env = "WCC_ADMIN_ADDR", default_value = "127.0.0.1:8081")]
        admin: String,
        /// The admin token; by default the one in `<state-dir>/secrets/admin-token`.
        #[arg(long, env = "WCC_ADMIN_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// The state folder of the `wcc-lattice up` to measure (`make run` uses `.wcc/state`).
        #[arg(long, default_value = ".wcc/state")]
        state_dir: PathBuf,
        #[arg(long, default_value = "hops")]
        room: String,
        #[arg(long, default_value_t = 50)]
        messages: usize,
    },
    /// Connect, sign in, join, say, leave, disconnect, N times over every protocol: the bucket
    /// and every lattice process must stay within a constant of the baseline.
    Soak(soak::SoakArgs),
}

impl Args {
    /// How wcc is started for this run: `vars` are the scenario's own `up --var`s (the
    /// command line's come after them, so they win).
    pub fn wcc_options<'a>(
        &'a self,
        state: &'a std::path::Path,
        pinning: Option<&'a system::Pinning>,
        vars: &'a [String],
    ) -> Result<target::WccOptions<'a>> {
        Ok(target::WccOptions {
            launcher: self.launcher.as_deref().context("set WCC_LATTICE_BIN")?,
            nats_server: self.nats_server.as_deref().context("set NATS_SERVER")?,
            artifacts: self.artifacts.as_deref().context("set WCC_ARTIFACTS")?,
            manifest: &self.manifest,
            state,
            send_queue_frames: self.send_queue_frames,
            hosts: self.hosts,
            pinning,
            vars,
        })
    }

    fn shrink_for_smoke(&mut self) {
        self.subscribers = vec![20];
        self.rates = vec![100];
        self.messages = 50;
        self.paced_messages = 20;
        self.ingest_senders = 5;
        self.ingest_rooms = 2;
        self.ingest_messages = 10;
        self.ingest_rate = 50;
        self.connections = 200;
        self.overload_seconds = 2;
        self.storm_clients = 5;
        self.storm_seconds = 2;
        self.storm_chatters = 2;
        self.storm_rate = 10;
    }
}

fn main() -> Result<()> {
    let mut args = Args::parse();
    match &args.command {
        Some(Command::Baseline { addr }) => {
            return tokio::runtime::Runtime::new()?.block_on(baseline::serve(*addr));
        }
        Some(Command::Hops {
            nats_url,
            addr,
            admin,
            token,
            state_dir,
            room,
            messages,
        }) => {
            let token = target::admin_token(token.clone(), state_dir)?;
            target::create_room_at(admin, &token, room)?;
            return tokio::runtime::Runtime::new()?.block_on(async {
                let nats = async_nats::connect(nats_url.as_str())
                    .await
                    .with_context(|| format!("cannot reach NATS at {nats_url}"))?;
                hops::run(&nats, *addr, room, *messages).await.map(drop)
            });
        }
        Some(Command::Soak(_)) | None => {}
    }
    if args.smoke {
        args.shrink_for_smoke();
    }
    let machine = system::Machine::detect();
    let pinning = system::Pinning::plan(&machine.core_ids, !args.no_pin);
    // Pin before the runtime starts so every load-generator thread inherits it.
    if let Some(p) = &pinning {
        system::pin_current_thread(&p.load).context("cannot pin the load generator")?;
    }
    let open_files = system::raise_open_files();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if let Some(Command::Soak(soak)) = &args.command {
        return runtime.block_on(soak::run(&args, soak, machine, pinning));
    }
    runtime.block_on(report::run_all(args, machine, pinning, open_files))
}
