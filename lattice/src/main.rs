//! `wcc-lattice`: run wcc on a local wasmCloud lattice, or one piece of such a lattice.

use std::{collections::HashMap, path::PathBuf, time::Duration};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use wcc_lattice::{admin, host, local, manifest, secrets, shutdown_signal, wadm};

#[derive(Parser)]
#[command(about = "Run wcc on a local wasmCloud 1.x lattice")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start nats-server, a host and wadm, deploy wadm.yaml, and serve until Ctrl-C.
    ///
    /// The admin token and the subscription key are `--var WCC_ADMIN_TOKEN=…` /
    /// `--var WCC_SUBSCRIPTION_KEY=…` if given, else generated once into `<state-dir>/secrets/`.
    Up {
        #[command(flatten)]
        app: AppArgs,
        /// Folder for JetStream data, provider cache, logs and generated secrets.
        #[arg(long, default_value = local::DEFAULT_STATE_DIR)]
        state_dir: PathBuf,
        #[arg(long, env = "NATS_SERVER", default_value = "nats-server")]
        nats_server: PathBuf,
        #[arg(long, default_value_t = 4222)]
        nats_port: u16,
        /// Where nats-server listens. Hosts on other machines join with
        /// `wcc-lattice host --nats-url nats://<this machine>:4222`; give `0.0.0.0` only on a
        /// network you trust (NATS runs without authentication here).
        #[arg(long, default_value = "127.0.0.1")]
        nats_host: String,
        /// wasmCloud hosts to run in the lattice; each runs every component and provider, and
        /// their gateways share the listening addresses (SO_REUSEPORT).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
        hosts: u16,
    },
    /// Run one wasmCloud host.
    Host {
        #[arg(long, default_value = "nats://127.0.0.1:4222")]
        nats_url: String,
        #[arg(long, default_value = "default")]
        lattice: String,
        /// Host labels, `key=value`.
        #[arg(long = "label", value_parser = key_value)]
        labels: Vec<(String, String)>,
        /// The manifest deployed to the lattice: the host takes calls for its components only
        /// once it runs every provider this manifest places on each host.
        #[arg(long, default_value = "wadm.yaml")]
        manifest: PathBuf,
    },
    /// Run wadm.
    Wadm {
        #[arg(long, default_value = "nats://127.0.0.1:4222")]
        nats_url: String,
    },
    /// Pack a provider binary into a provider archive (.par.gz) for this machine.
    Package {
        #[arg(long)]
        binary: PathBuf,
        #[arg(long)]
        name: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Print wadm.yaml with its placeholders filled, for `wash app deploy` on another lattice.
    ///
    /// Needs `--var WCC_ADMIN_TOKEN=…` (the output carries only its SHA-256); generates a fresh
    /// subscription key unless `--var WCC_SUBSCRIPTION_KEY=…` is given.
    Render {
        #[command(flatten)]
        app: AppArgs,
        #[arg(long, default_value = "nats://127.0.0.1:4222")]
        nats_url: String,
    },
    /// Operate a running wcc through the rooms actor's admin HTTP API.
    Admin(admin::AdminArgs),
}

#[derive(clap::Args)]
struct AppArgs {
    #[arg(long, default_value = "wadm.yaml")]
    manifest: PathBuf,
    /// Where the Makefile put the components (*.wasm) and provider archives (*.par.gz).
    #[arg(long, default_value = "build")]
    artifacts: PathBuf,
    #[arg(long, default_value = "default")]
    lattice: String,
    /// Extra manifest values, `NAME=value` (see wadm.yaml for the names and defaults). `WCC_*`
    /// environment variables fill them too (`WCC_VENUELESS_RATE_LIMIT=0 make run`); `--var` wins.
    #[arg(long = "var", value_parser = key_value)]
    vars: Vec<(String, String)>,
}

impl AppArgs {
    fn vars(&self) -> Result<HashMap<String, String>> {
        let artifacts = std::fs::canonicalize(&self.artifacts).with_context(|| {
            format!(
                "no artifacts at {} (run `make build`)",
                self.artifacts.display()
            )
        })?;
        let mut vars: HashMap<_, _> = std::env::vars()
            .filter(|(name, _)| name.starts_with("WCC_"))
            .collect();
        vars.extend(self.vars.iter().cloned());
        vars.insert(
            "WCC_ARTIFACTS".into(),
            artifacts.to_string_lossy().into_owned(),
        );
        Ok(vars)
    }
}

fn key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected key=value, got `{s}`"))
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    // One blocking HTTP call: no runtime needed.
    let command = match cli.command {
        Command::Admin(args) => std::process::exit(admin::run(&args)),
        command => command,
    };
    let runtime = match command {
        Command::Host { .. } => host_runtime(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    }
    .enable_all()
    .build()?;
    runtime.block_on(run(command))
}

/// The host runs on one thread unless `WCC_HOST_WORKER_THREADS` asks for a pool.
///
/// wasmcloud-host 0.27.1 makes a fresh wRPC client for every call a component makes, and that
/// client's reply router (wrpc-transport-nats 0.29) is a new task that picks at random between
/// "register this call's reply subject" and "route this reply". On a thread pool the new task
/// can wait in a queue while the request goes out and the reply comes back; then it has both at
/// once, routes the reply first, drops it, and the call hangs (fixed upstream in wrpc #1272, in no
/// release this host can use). On one thread tasks run in the order they were woken: the router,
/// spawned before the request is handed to the NATS connection task, always registers first.
/// Measured (docs/benchmarks.md): 50 senders lost 30 calls in 20,000 messages on 16 workers and
/// none on one thread, which also doubled the persisted messages/s on 2 cores.
fn host_runtime() -> tokio::runtime::Builder {
    let workers = std::env::var("WCC_HOST_WORKER_THREADS")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0);
    if workers == 0 {
        return tokio::runtime::Builder::new_current_thread();
    }
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.worker_threads(workers);
    runtime
}

async fn run(command: Command) -> Result<()> {
    match command {
        Command::Host {
            nats_url,
            lattice,
            labels,
            manifest,
        } => {
            let labels: HashMap<String, String> = labels.into_iter().collect();
            let yaml = std::fs::read_to_string(&manifest)
                .with_context(|| format!("cannot read {}", manifest.display()))?;
            let ready_after = wcc_lattice::readiness::providers_every_host_runs(&yaml, &labels)?;
            let options = host::HostOptions {
                nats_url,
                lattice,
                labels,
                ready_after,
            };
            host::run(options, shutdown_signal()).await
        }
        Command::Wadm { nats_url } => wadm::run(&nats_url, shutdown_signal()).await,
        Command::Render { app, nats_url } => {
            let mut vars = app.vars()?;
            secrets::fill_for_render(&mut vars)?;
            vars.insert("WCC_NATS_URL".into(), nats_url);
            let template = std::fs::read_to_string(&app.manifest)?;
            print!("{}", manifest::render(&template, &vars)?);
            Ok(())
        }
        Command::Package { binary, name, out } => {
            wcc_lattice::package::provider(&binary, &name, &out).await
        }
        Command::Up {
            app,
            state_dir,
            nats_server,
            nats_port,
            nats_host,
            hosts,
        } => {
            let listen = NatsListen {
                host: nats_host,
                port: nats_port,
            };
            up(app, state_dir, nats_server, listen, hosts).await
        }
        Command::Admin(_) => unreachable!("`admin` runs before the runtime starts"),
    }
}

/// Where `up` has nats-server listen.
struct NatsListen {
    host: String,
    port: u16,
}

async fn up(
    app: AppArgs,
    state_dir: PathBuf,
    nats_server: PathBuf,
    nats: NatsListen,
    hosts: u16,
) -> Result<()> {
    let vars = app.vars()?;
    let options = local::LocalOptions {
        state_dir,
        nats_server,
        launcher: std::env::current_exe()?,
        manifest: app.manifest,
        vars,
        nats_port: nats.port,
        nats_host: nats.host,
        lattice: app.lattice,
        inherit_output: false,
    };
    println!(
        "starting nats-server, {hosts} wasmCloud host(s) and wadm (logs in {}/logs)",
        options.state_dir.display()
    );
    let mut lattice = local::LocalLattice::start(options.clone()).await?;
    for _ in 1..hosts {
        lattice.add_host().await?;
    }
    let token_at = match lattice.admin_token_file() {
        Some(path) => path.display().to_string(),
        None => "the WCC_ADMIN_TOKEN you passed".to_string(),
    };
    println!("admin token: {token_at}");
    println!("deploying {} ...", options.manifest.display());
    let deployed = tokio::select! {
        deployed = lattice.deploy(Duration::from_secs(180)) => deployed,
        () = shutdown_signal() => return lattice.shutdown().await,
    };
    if let Err(e) = deployed {
        lattice.shutdown().await?;
        return Err(e);
    }
    let rendered = lattice.rendered_manifest()?;
    println!("wcc is up.");
    println!("  NATS:            {}", lattice.nats_url());
    for line in rendered
        .lines()
        .filter_map(|l| l.trim().strip_prefix("# endpoint: "))
    {
        println!("  {line}");
    }
    println!("  admin token           {token_at}");
    println!("Ctrl-C stops everything.");
    tokio::select! {
        () = shutdown_signal() => {}
        // A dead host or nats-server is replaced, whatever killed it.
        () = lattice.supervise() => {}
    }
    println!("stopping ...");
    lattice.shutdown().await
}
