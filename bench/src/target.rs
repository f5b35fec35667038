//! The servers under test, each a child process: wcc as `make run` starts it (`wcc-lattice up`),
//! the native baseline (`wcc-bench baseline`) and the Socket.IO peer (socketio_server.rs). All
//! are stopped with SIGINT when dropped, so a failed run leaves no orphaned server behind.

use std::{
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use anyhow::{bail, Context, Result};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

use crate::system::{self, Pinning};

pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Where a server's memory and CPU can be read.
pub enum Probe {
    /// The wcc gateway answers `wcc.gateway.stats` on NATS.
    Gateway(async_nats::Client),
    /// The baseline and the Socket.IO server are one process each.
    Process(u32),
}

/// One sample of the server's usage.
#[derive(Clone, Copy, Default, Debug)]
pub struct Sample {
    pub rss_bytes: u64,
    pub cpu_seconds: f64,
    /// Deliveries the gateway shed as slow consumers (0 for the baseline and Socket.IO, which
    /// count none).
    pub shed: u64,
    pub connections: u64,
    /// Room events the gateway handled, and the render calls it made for them (wcc only).
    pub events: u64,
    pub renders: u64,
}

impl Probe {
    pub async fn sample(&self) -> Result<Sample> {
        match self {
            Probe::Gateway(nats) => {
                let reply = tokio::time::timeout(
                    Duration::from_secs(5),
                    nats.request("wcc.gateway.stats", "".into()),
                )
                .await
                .context("gateway stats: no answer")??;
                let stats: serde_json::Value = serde_json::from_slice(&reply.payload)?;
                Ok(Sample {
                    rss_bytes: stats["rss_bytes"].as_u64().unwrap_or(0),
                    cpu_seconds: stats["cpu_seconds"].as_f64().unwrap_or(0.0),
                    shed: stats["shed"].as_u64().unwrap_or(0),
                    connections: stats["connections"].as_u64().unwrap_or(0),
                    events: stats["events"].as_u64().unwrap_or(0),
                    renders: stats["renders"].as_u64().unwrap_or(0),
                })
            }
            Probe::Process(pid) => {
                let (rss_bytes, cpu_seconds) =
                    system::process_usage(&pid.to_string()).context("the server exited")?;
                Ok(Sample {
                    rss_bytes,
                    cpu_seconds,
                    ..Sample::default()
                })
            }
        }
    }
}

/// Which client protocol the load speaks to a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// wcc's venueless channel, and the baseline that mimics it.
    Venueless,
    /// Socket.IO 5 over Engine.IO 4 (socketio_client.rs).
    SocketIo,
}

/// A running server: its websocket address and how to observe it.
pub struct Server {
    pub name: &'static str,
    pub addr: SocketAddr,
    pub protocol: Protocol,
    pub admin: Option<(String, String)>,
    pub probe: Probe,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGINT,
            );
        }
    }
}

impl Server {
    /// A server that is one process, observed through `/proc`.
    pub fn process(
        name: &'static str,
        addr: SocketAddr,
        protocol: Protocol,
        child: Child,
    ) -> Result<Self> {
        let pid = child.id().with_context(|| format!("{name} has no pid"))?;
        Ok(Self {
            name,
            addr,
            protocol,
            admin: None,
            probe: Probe::Process(pid),
            child,
        })
    }

    /// Stops the server and waits for it (children of `up` included).
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGINT,
            );
        }
        if tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

pub struct WccOptions<'a> {
    pub launcher: &'a Path,
    pub nats_server: &'a Path,
    pub artifacts: &'a Path,
    pub manifest: &'a Path,
    pub state: &'a Path,
    pub send_queue_frames: usize,
    /// wasmCloud hosts (`up --hosts`).
    pub hosts: u16,
    pub pinning: Option<&'a Pinning>,
    /// More `NAME=value` placeholders for `up --var`, after (so over) the ones set here.
    pub vars: &'a [String],
}

/// Starts wcc and waits until it is deployed and its admin API answers.
pub async fn start_wcc(options: WccOptions<'_>) -> Result<Server> {
    let gateway: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
    let admin = format!("127.0.0.1:{}", free_port()?);
    let nats_port = free_port()?;
    let mut command = Command::new(options.launcher);
    system::die_with_parent(&mut command);
    command
        .arg("up")
        .arg("--state-dir")
        .arg(options.state)
        .arg("--artifacts")
        .arg(options.artifacts)
        .arg("--manifest")
        .arg(options.manifest)
        .args(["--nats-port", &nats_port.to_string()])
        .args(["--hosts", &options.hosts.to_string()])
        .args(["--var", &format!("WCC_GATEWAY_ADDR={gateway}")])
        .args(["--var", &format!("WCC_ADMIN_ADDR={admin}")])
        // Not the default 5000: another lattice on this machine (`make run`, a test) may hold it.
        .args([
            "--var",
            &format!("WCC_ACTIONHERO_LINE_ADDR=127.0.0.1:{}", free_port()?),
        ])
        // The load generators send far faster than a person on one connection: the
        // per-connection rate limit (on by default) would measure itself, not the system (and
        // the login storm means to reach the core's own sign-in throttle).
        .args(["--var", "WCC_VENUELESS_RATE_LIMIT=0"])
        .args(["--var", "WCC_CADMIUM_RATE_LIMIT=0"])
        // Every load client connects from 127.0.0.1, up to 50,000 of them (the idle scenario):
        // the connection caps are for real clients, not the load generator.
        .args(["--var", "WCC_MAX_CONNECTIONS=200000"])
        .args(["--var", "WCC_MAX_CONNECTIONS_PER_ADDRESS=200000"])
        .args([
            "--var",
            &format!("WCC_SEND_QUEUE_FRAMES={}", options.send_queue_frames),
        ])
        .args(options.vars.iter().flat_map(|var| ["--var", var]))
        .env("NATS_SERVER", options.nats_server)
        .stdout(Stdio::piped())
        .kill_on_drop(false);
    if let Some(pinning) = options.pinning {
        system::pin_child(&mut command, &pinning.servers)?;
    }
    let mut child = command.spawn().context("cannot start wcc-lattice up")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    loop {
        match tokio::time::timeout(Duration::from_secs(300), lines.next_line()).await {
            Ok(Ok(Some(line))) if line.starts_with("wcc is up") => break,
            Ok(Ok(Some(_))) => continue,
            _ => bail!(
                "wcc did not come up; logs in {}",
                options.state.join("logs").display()
            ),
        }
    }
    // `up` generated the admin token into the state folder, as it does for `make run`.
    let token = admin_token(None, options.state)?;
    // Keep draining stdout so `up` never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let nats = async_nats::connect(format!("nats://127.0.0.1:{nats_port}")).await?;
    let server = Server {
        name: "wcc",
        addr: gateway,
        protocol: Protocol::Venueless,
        admin: Some((admin, token)),
        probe: Probe::Gateway(nats),
        child,
    };
    wait_for_admin(&server).await?;
    wait_for_routes(gateway).await?;
    Ok(server)
}

/// Waits until the gateway serves every channel's websocket path. `up` reports wcc up when wadm
/// has deployed it, which can be a moment before the gateway has taken each channel's link (a
/// scenario starting then got 404 on `/venueless`).
async fn wait_for_routes(gateway: SocketAddr) -> Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    for path in ["venueless", "cadmium", "actionhero", "rebuttal"] {
        loop {
            match crate::client::connect_to(gateway, None, path).await {
                Ok(mut ws) => {
                    let _ = ws.close(None).await;
                    break;
                }
                Err(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                Err(e) => return Err(e.context(format!("the gateway never served /{path}"))),
            }
        }
    }
    Ok(())
}

async fn wait_for_admin(server: &Server) -> Result<()> {
    let Some((admin, token)) = &server.admin else {
        return Ok(());
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let attempt = ureq::get(&format!("http://{admin}/health"))
            .set("Authorization", &format!("Bearer {token}"))
            .call();
        match attempt {
            Ok(_) => return Ok(()),
            Err(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e).context("admin API never answered"),
        }
    }
}

/// The admin token: `given` if set, else the one `wcc-lattice up` keeps in its state folder
/// (`<state>/secrets/admin-token`, lattice/src/secrets.rs). There is no default token.
pub fn admin_token(given: Option<String>, state: &Path) -> Result<String> {
    if let Some(token) = given.filter(|t| !t.is_empty()) {
        return Ok(token);
    }
    let path = state.join("secrets").join("admin-token");
    let token = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "no admin token: pass --token or set WCC_ADMIN_TOKEN, or point --state-dir at the \
             state folder of `wcc-lattice up` (cannot read {})",
            path.display()
        )
    })?;
    let token = token.trim();
    if token.is_empty() {
        bail!("{} is empty", path.display());
    }
    Ok(token.to_string())
}

/// Creates `room` through the admin API (wcc) — the baseline and Socket.IO have every room.
pub fn create_room(server: &Server, room: &str) -> Result<()> {
    match &server.admin {
        Some((admin, token)) => create_room_at(admin, token, room),
        None => Ok(()),
    }
}

/// Creates `room` through the admin API at `admin`; a room that exists is fine.
pub fn create_room_at(admin: &str, token: &str, room: &str) -> Result<()> {
    let response = ureq::post(&format!("http://{admin}/rooms"))
        .set("Authorization", &format!("Bearer {token}"))
        .set("Content-Type", "application/json")
        .send_string(&serde_json::json!({"id": room}).to_string());
    match response {
        Ok(_) | Err(ureq::Error::Status(409, _)) => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot create room {room}")),
    }
}

/// Starts the native baseline server (this same binary, subcommand `baseline`).
pub async fn start_baseline(pinning: Option<&Pinning>) -> Result<Server> {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
    let exe: PathBuf = std::env::current_exe()?;
    let mut command = Command::new(exe);
    system::die_with_parent(&mut command);
    command
        .arg("baseline")
        .arg("--addr")
        .arg(addr.to_string())
        .kill_on_drop(false);
    if let Some(pinning) = pinning {
        system::pin_child(&mut command, &pinning.servers)?;
    }
    let mut child = command.spawn().context("cannot start the baseline")?;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Server::process("baseline", addr, Protocol::Venueless, child);
        }
        if let Some(status) = child.try_wait()? {
            bail!("the baseline exited ({status}) before listening on {addr}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Not a Server yet, so nothing else would stop it.
    let _ = child.kill().await;
    bail!("baseline did not start listening on {addr}")
}
