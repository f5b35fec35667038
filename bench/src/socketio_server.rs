//! The Socket.IO 4.x peer server (`bench/socketio/server.js`, on node): installed with `npm ci`
//! from the committed lock when its `node_modules` is missing, started as a child process like
//! the baseline, pinned like every server, and stopped when dropped. It also exits when its
//! stdin (held by the benchmark) closes, so a benchmark killed outright leaves no node behind.

use std::{
    net::SocketAddr,
    os::fd::AsFd,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use anyhow::{bail, Context, Result};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::Command,
};

use crate::{
    system::{self, Pinning},
    target::{free_port, Protocol, Server},
};

/// How long node may take to start listening (pinned to one busy core, it is slower).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The folder of server.js, package.json and package-lock.json.
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("socketio")
}

/// Installs the locked dependencies unless they are there.
pub async fn install(dir: &Path) -> Result<()> {
    if dir.join("node_modules/socket.io/package.json").exists() {
        return Ok(());
    }
    eprintln!("installing Socket.IO: npm ci --prefix {}", dir.display());
    // npm talks on stdout, which holds the result tables.
    let npm_output = std::io::stderr().as_fd().try_clone_to_owned()?;
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--prefix"])
        .arg(dir)
        .stdout(Stdio::from(npm_output))
        .status()
        .await
        .context("cannot run npm: install node 20 and npm, or leave socketio out of --servers")?;
    if !status.success() {
        bail!("npm ci --prefix {} failed ({status})", dir.display());
    }
    Ok(())
}

/// Starts `node server.js` on a free port and waits until it listens.
pub async fn start(dir: &Path, pinning: Option<&Pinning>) -> Result<Server> {
    install(dir).await?;
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
    let mut command = Command::new("node");
    system::die_with_parent(&mut command);
    command
        .arg(dir.join("server.js"))
        .args(["--host", &addr.ip().to_string()])
        .args(["--port", &addr.port().to_string()])
        .arg("--exit-on-stdin-end")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(false);
    if let Some(pinning) = pinning {
        system::pin_child(&mut command, &pinning.servers)?;
    }
    let mut child = command
        .spawn()
        .context("cannot start node (is node 20 installed?)")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let listening = tokio::time::timeout(START_TIMEOUT, async {
        while let Some(line) = lines.next_line().await? {
            if line.starts_with("listening on") {
                return Ok(true);
            }
        }
        anyhow::Ok(false)
    })
    .await;
    if !matches!(listening, Ok(Ok(true))) {
        // Not a Server yet, so nothing else would stop it.
        let _ = child.kill().await;
        bail!("the Socket.IO server did not start listening on {addr} (its errors are above)");
    }
    // Keep draining stdout so node never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Server::process("socketio", addr, Protocol::SocketIo, child)
}
