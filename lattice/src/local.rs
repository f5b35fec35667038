//! A whole local lattice as child processes: nats-server with JetStream, one or more wasmCloud
//! hosts, and wadm, with `wadm.yaml` deployed onto it.
//!
//! `wcc-lattice up`, the end-to-end tests and the benchmarks all start the product through this
//! one type, so they run exactly what a user runs. Every child is killed when the value drops.
//! It also fills the secrets the manifest needs ([`secrets::fill`]): the admin token and the
//! subscription key from the caller's vars, or generated once into the state folder.

use std::{
    collections::HashMap,
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use anyhow::{bail, Context, Result};
use nix::{sys::signal, unistd::Pid};
use tokio::process::{Child, Command};

use crate::{deploy, manifest, secrets};

/// Where `wcc-lattice up` keeps its state unless told otherwise (`make run` uses it too).
pub const DEFAULT_STATE_DIR: &str = ".wcc/state";

/// Everything needed to start a local lattice.
#[derive(Clone, Debug)]
pub struct LocalOptions {
    /// JetStream data, provider cache and logs live here; keep it to keep the data.
    pub state_dir: PathBuf,
    /// The `nats-server` binary (2.10 or newer: wadm needs subject transforms).
    pub nats_server: PathBuf,
    /// The `wcc-lattice` binary, started again as `host` and `wadm` children.
    pub launcher: PathBuf,
    /// The manifest template, normally the repository's `wadm.yaml`.
    pub manifest: PathBuf,
    /// Values for the manifest's `${NAME}` placeholders, on top of `WCC_NATS_URL`. Without
    /// `WCC_ADMIN_TOKEN` / `WCC_SUBSCRIPTION_KEY` the lattice uses (or creates) the files in
    /// `state_dir/secrets`.
    pub vars: HashMap<String, String>,
    /// NATS client port; 0 picks a free one.
    pub nats_port: u16,
    /// The address nats-server listens on: loopback unless hosts on other machines must join
    /// (there is no NATS authentication, so only on a network you trust).
    pub nats_host: String,
    pub lattice: String,
    /// Print children's output to this process's stdout/stderr instead of log files.
    pub inherit_output: bool,
}

/// A running local lattice.
pub struct LocalLattice {
    options: LocalOptions,
    nats_url: String,
    nats_port: u16,
    /// `None` only between [`Self::kill_nats`] and [`Self::restart_nats`].
    nats: Option<Process>,
    wadm: Process,
    hosts: Vec<Option<Process>>,
    app: Option<String>,
    /// Which secrets came from the state folder.
    secrets: secrets::Sources,
}

impl LocalLattice {
    /// Fills the secrets, starts nats-server, one host and wadm, and waits until NATS answers.
    pub async fn start(mut options: LocalOptions) -> Result<Self> {
        std::fs::create_dir_all(options.state_dir.join("logs"))?;
        let secrets = secrets::fill(&mut options.vars, &options.state_dir)?;
        let nats_port = if options.nats_port == 0 {
            free_port()?
        } else {
            options.nats_port
        };
        // Local clients always reach it on loopback, whatever else it listens on.
        let nats_url = format!("nats://127.0.0.1:{nats_port}");
        let nats = spawn_nats(&options, nats_port).await?;
        let wadm = spawn(
            &options,
            "wadm",
            Command::new(&options.launcher).args(["wadm", "--nats-url", &nats_url]),
        )?;
        let mut lattice = Self {
            options,
            nats_url,
            nats_port,
            nats: Some(nats),
            wadm,
            hosts: Vec::new(),
            app: None,
            secrets,
        };
        lattice.add_host().await?;
        Ok(lattice)
    }

    pub fn nats_url(&self) -> &str {
        &self.nats_url
    }

    /// The admin API's bearer token: the caller's `WCC_ADMIN_TOKEN` or the generated one.
    pub fn admin_token(&self) -> &str {
        self.options
            .vars
            .get(secrets::ADMIN_TOKEN)
            .map_or("", String::as_str)
    }

    /// The file the admin token is kept in; `None` when the caller passed it.
    pub fn admin_token_file(&self) -> Option<&Path> {
        self.secrets.admin_token.as_deref()
    }

    /// Starts one more host on the lattice and returns its index.
    pub async fn add_host(&mut self) -> Result<usize> {
        let index = self.hosts.len();
        let child = self.spawn_host(index)?;
        self.hosts.push(Some(child));
        Ok(index)
    }

    fn spawn_host(&self, index: usize) -> Result<Process> {
        spawn(
            &self.options,
            &format!("host-{index}"),
            Command::new(&self.options.launcher)
                .args([
                    "host",
                    "--nats-url",
                    &self.nats_url,
                    "--lattice",
                    &self.options.lattice,
                ])
                .arg("--label")
                .arg(format!("wcc-host={index}"))
                .arg("--manifest")
                .arg(&self.options.manifest)
                // Providers unpack their archives under TMPDIR; keep that inside the state folder.
                .env("TMPDIR", self.options.state_dir.join("tmp")),
        )
    }

    /// Renders the manifest, puts and deploys it, and waits until wadm reports it deployed.
    pub async fn deploy(&mut self, timeout: Duration) -> Result<()> {
        let yaml = self.rendered_manifest()?;
        let client = async_nats::connect(&self.nats_url).await?;
        // wadm may still be creating its streams; retry the put until it answers.
        let deadline = tokio::time::Instant::now() + timeout;
        let app = loop {
            match deploy::put_and_deploy(&client, &self.options.lattice, &yaml).await {
                Ok(app) => break app,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    tracing::debug!("wadm not ready yet: {e:#}");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => return Err(e),
            }
        };
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        deploy::wait_deployed(&client, &self.options.lattice, &app, left).await?;
        self.app = Some(app);
        Ok(())
    }

    /// The manifest with every placeholder filled in, as wadm receives it.
    pub fn rendered_manifest(&self) -> Result<String> {
        let template = std::fs::read_to_string(&self.options.manifest)
            .with_context(|| format!("cannot read {}", self.options.manifest.display()))?;
        let mut vars = self.options.vars.clone();
        vars.insert("WCC_NATS_URL".into(), self.nats_url.clone());
        manifest::render(&template, &vars)
    }

    /// How many host slots there are (running or stopped).
    pub fn host_count(&self) -> usize {
        self.hosts.len()
    }

    /// The process id of host `index`, if it runs (for fault tests that kill it outright).
    pub fn host_pid(&self, index: usize) -> Option<u32> {
        self.hosts.get(index)?.as_ref()?.child.id()
    }

    /// Hosts that exited on their own since the last look: each one's process group is killed
    /// (whatever it left behind) and its slot freed for [`Self::restart_host`]. `up` calls
    /// this every second and starts a replacement for each.
    pub fn reap_dead_hosts(&mut self) -> Vec<(usize, std::process::ExitStatus)> {
        let mut dead = Vec::new();
        for (index, slot) in self.hosts.iter_mut().enumerate() {
            let exited = match slot {
                Some(host) => host.child.try_wait().ok().flatten(),
                None => None,
            };
            if let Some(status) = exited {
                *slot = None; // dropping the process kills its group
                dead.push((index, status));
            }
        }
        dead
    }

    /// Stops host `index` the way an operator would (SIGTERM: it stops its providers first).
    pub async fn stop_host(&mut self, index: usize) -> Result<()> {
        let Some(host) = self.hosts.get_mut(index).and_then(Option::take) else {
            bail!("host {index} is not running");
        };
        terminate(host, Duration::from_secs(20)).await
    }

    /// Starts host `index` again after [`Self::stop_host`].
    pub async fn restart_host(&mut self, index: usize) -> Result<()> {
        if self.hosts.get(index).is_some_and(Option::is_some) {
            bail!("host {index} is still running");
        }
        let child = self.spawn_host(index)?;
        self.hosts[index] = Some(child);
        Ok(())
    }

    /// Stops everything in reverse order of start: hosts (and their providers), wadm, NATS.
    pub async fn shutdown(self) -> Result<()> {
        for host in self.hosts.into_iter().flatten() {
            terminate(host, Duration::from_secs(20)).await?;
        }
        terminate(self.wadm, Duration::from_secs(10)).await?;
        match self.nats {
            Some(nats) => terminate(nats, Duration::from_secs(10)).await,
            None => Ok(()),
        }
    }

    /// The process id of nats-server, if it runs (for fault tests that stop it).
    pub fn nats_pid(&self) -> Option<u32> {
        self.nats.as_ref()?.child.id()
    }

    /// Kills nats-server outright (SIGKILL), as a fault test does.
    pub fn kill_nats(&mut self) {
        self.nats = None; // dropping the process kills its group
    }

    /// Starts nats-server again on the same port and JetStream store; fails if it still runs.
    pub async fn restart_nats(&mut self) -> Result<()> {
        if self
            .nats
            .as_mut()
            .is_some_and(|n| n.child.try_wait().ok().flatten().is_none())
        {
            bail!("nats-server is still running");
        }
        self.nats = None;
        self.nats = Some(spawn_nats(&self.options, self.nats_port).await?);
        Ok(())
    }

    /// Whether nats-server has exited since it was started.
    pub fn nats_died(&mut self) -> bool {
        match self.nats.as_mut() {
            Some(nats) => nats.child.try_wait().ok().flatten().is_some(),
            None => true,
        }
    }

    /// Keeps the lattice whole until the future is dropped: a nats-server that died is started
    /// again on its store at once; a host that died has its leftovers killed with its process
    /// group and a new host takes its place, where wadm places the manifest's components and
    /// providers again. A host that keeps dying is started at most once per [`RESTART_PAUSE`],
    /// so a crash loop cannot spin.
    pub async fn supervise(&mut self) {
        let mut last_start: HashMap<usize, tokio::time::Instant> = HashMap::new();
        let mut waiting: Vec<usize> = Vec::new();
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if self.nats_died() {
                eprintln!("nats-server died; starting it again on its store");
                if let Err(e) = self.restart_nats().await {
                    eprintln!("nats-server could not start again: {e:#}");
                }
            }
            for (index, status) in self.reap_dead_hosts() {
                eprintln!("host {index} died ({status}); starting a new one");
                waiting.push(index);
            }
            let now = tokio::time::Instant::now();
            let mut still_waiting = Vec::new();
            for index in waiting.drain(..) {
                if last_start
                    .get(&index)
                    .is_some_and(|at| now - *at < RESTART_PAUSE)
                {
                    still_waiting.push(index);
                    continue;
                }
                last_start.insert(index, now);
                if let Err(e) = self.restart_host(index).await {
                    eprintln!("host {index} could not start again: {e:#}");
                    still_waiting.push(index);
                }
            }
            waiting = still_waiting;
        }
    }
}

/// The least time between two starts of one host by [`LocalLattice::supervise`].
pub const RESTART_PAUSE: Duration = Duration::from_secs(5);

/// nats-server with JetStream on `port`, its store in the state folder; returns once it listens.
async fn spawn_nats(options: &LocalOptions, port: u16) -> Result<Process> {
    let nats = spawn(
        options,
        "nats",
        Command::new(&options.nats_server).args([
            "-js",
            "-sd",
            &options.state_dir.join("jetstream").to_string_lossy(),
            "-a",
            &options.nats_host,
            "-p",
            &port.to_string(),
        ]),
    )?;
    wait_for_port(
        SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(20),
    )
    .await
    .context("nats-server did not start")?;
    Ok(nats)
}

/// A child started in a process group of its own, with everything it starts in turn (a host's
/// providers inherit its group). Whatever way the child ends (stopped, crashed, or the lattice
/// dropped by a failing test), its whole group is killed with it, so no provider outlives the
/// host that started it.
struct Process {
    child: Child,
    group: Pid,
}

impl Drop for Process {
    fn drop(&mut self) {
        // The group may be gone already; then there is nothing to do.
        let _ = signal::killpg(self.group, signal::Signal::SIGKILL);
    }
}

fn spawn(options: &LocalOptions, name: &str, command: &mut Command) -> Result<Process> {
    command
        .kill_on_drop(true)
        .stdin(Stdio::null())
        .process_group(0);
    // A launcher killed outright (SIGKILL) runs no drop: the kernel then kills its children.
    // The signal follows the thread that spawned, and the runtime's threads live as long as
    // the launcher. A host's providers watch their own parent (`wcc-parent-watch`).
    // SAFETY: prctl is async-signal-safe and touches only the child being started.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    if !options.inherit_output {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(options.state_dir.join("logs").join(format!("{name}.log")))?;
        command.stdout(log.try_clone()?).stderr(log);
    }
    let child = command
        .spawn()
        .with_context(|| format!("failed to start {name}"))?;
    let pid = child.id().context("a child just started has no pid")?;
    Ok(Process {
        child,
        group: Pid::from_raw(pid as i32),
    })
}

/// SIGTERM (a host stops its providers first), then SIGKILL if the child has not exited
/// within `grace`; dropping the process then ends whatever is left of its group.
async fn terminate(mut process: Process, grace: Duration) -> Result<()> {
    let child = &mut process.child;
    if let Some(pid) = child.id() {
        let _ = signal::kill(Pid::from_raw(pid as i32), signal::Signal::SIGTERM);
        if tokio::time::timeout(grace, child.wait()).await.is_ok() {
            return Ok(());
        }
    }
    child.kill().await.context("failed to kill child")
}

/// A TCP port that was free a moment ago.
///
/// Ports are picked below Linux's default ephemeral range (32768 and up). A port the kernel
/// hands out for `:0` can be handed out again as the source port of an outgoing connection
/// (the host opens many to NATS) before the product binds it, and the bind then fails; ports
/// outside that range only ever go to listeners.
pub fn free_port() -> Result<u16> {
    use std::sync::atomic::{AtomicU16, Ordering};
    const FIRST: u16 = 20_000;
    const COUNT: u16 = 12_000;
    // Each call in this process takes the next port after a per-process starting point, so
    // two calls never answer the same port (each listener here is dropped at once).
    static NEXT: AtomicU16 = AtomicU16::new(u16::MAX);
    let _ = NEXT.compare_exchange(
        u16::MAX,
        (process_seed() % u32::from(COUNT)) as u16,
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    for _ in 0..COUNT {
        let offset = NEXT.fetch_add(1, Ordering::Relaxed) % COUNT;
        let port = FIRST + offset;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Spreads processes over the port range without a random-number crate.
fn process_seed() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.subsec_nanos());
    nanos ^ std::process::id().wrapping_mul(2_654_435_761)
}

/// Waits until something accepts connections on `addr`.
pub async fn wait_for_port(addr: SocketAddr, timeout: Duration) -> Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("nothing listens on {addr} after {timeout:?}")
}
