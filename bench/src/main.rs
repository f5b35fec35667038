//! `wcc-bench`: starts wcc as `make run` does (real nats-server, host, wadm, providers,
//! components), then drives it with venueless websocket clients and prints what it measured.
//!
//! Scenario `fanout`: N subscribers in one room, one publisher; each message carries its send
//! time, every subscriber records send→deliver latency, and missing or duplicate deliveries are
//! counted. Runs paced by acks (send the next message when the previous one is acknowledged) and
//! at fixed offered rates.

mod fanout;
mod stats;

use std::{net::TcpListener, path::PathBuf, process::Stdio, time::Duration};

use anyhow::{bail, Context, Result};
use clap::Parser;
use tokio::io::{AsyncBufReadExt, BufReader};

#[derive(Parser)]
struct Args {
    /// Subscribers in the room.
    #[arg(long, default_value_t = 100)]
    subscribers: usize,
    /// Messages per run.
    #[arg(long, default_value_t = 500)]
    messages: usize,
    /// Offered rates (msgs/s) to run after the ack-paced run; empty for none.
    #[arg(long, value_delimiter = ',', default_value = "200")]
    rates: Vec<u32>,
    /// Write the results here as JSON.
    #[arg(long, default_value = "build/bench.json")]
    out: PathBuf,
    #[arg(long, env = "NATS_SERVER")]
    nats_server: PathBuf,
    #[arg(long, env = "WCC_LATTICE_BIN")]
    launcher: PathBuf,
    #[arg(long, env = "WCC_ARTIFACTS")]
    artifacts: PathBuf,
    #[arg(long, env = "WCC_MANIFEST", default_value = "wadm.yaml")]
    manifest: PathBuf,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    // Kept after the run: the lattice logs are part of the result.
    let state = tempfile::Builder::new()
        .prefix("wcc-bench-")
        .tempdir()?
        .keep();
    let gateway = format!("127.0.0.1:{}", free_port()?);
    let admin = format!("127.0.0.1:{}", free_port()?);
    let token = "bench-token";
    // The product exactly as `make run` starts it.
    let mut lattice = tokio::process::Command::new(&args.launcher)
        .arg("up")
        .arg("--state-dir")
        .arg(state.as_path())
        .arg("--artifacts")
        .arg(&args.artifacts)
        .arg("--manifest")
        .arg(&args.manifest)
        .args(["--nats-port", &free_port()?.to_string()])
        .args(["--var", &format!("WCC_GATEWAY_ADDR={gateway}")])
        .args(["--var", &format!("WCC_ADMIN_ADDR={admin}")])
        .args(["--var", &format!("WCC_ADMIN_TOKEN={token}")])
        // The benchmark measures the hot path, not the slow-consumer policy.
        .args(["--var", "WCC_SEND_QUEUE_FRAMES=65536"])
        .env("NATS_SERVER", &args.nats_server)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start wcc-lattice up")?;
    let stdout = lattice.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    loop {
        match tokio::time::timeout(Duration::from_secs(300), lines.next_line()).await {
            Ok(Ok(Some(line))) if line.starts_with("wcc is up") => break,
            Ok(Ok(Some(_))) => continue,
            _ => bail!(
                "wcc did not come up; logs in {}",
                state.as_path().join("logs").display()
            ),
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    create_room(&admin, token, "bench").await?;
    println!("{}", stats::machine());

    let mut results = Vec::new();
    let run = fanout::Run {
        gateway: gateway.clone(),
        room: "bench".into(),
        subscribers: args.subscribers,
        messages: args.messages,
    };
    results.push(fanout::run(&run, None).await?);
    for rate in &args.rates {
        results.push(fanout::run(&run, Some(*rate)).await?);
    }
    println!("{}", stats::table(&results));
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let json = serde_json::json!({"machine": stats::machine(), "fanout": results.iter().map(stats::Summary::json).collect::<Vec<_>>()});
    std::fs::write(&args.out, serde_json::to_string_pretty(&json)?)?;
    println!("results written to {}", args.out.display());
    if let Some(pid) = lattice.id() {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGINT,
        );
    }
    let _ = tokio::time::timeout(Duration::from_secs(30), lattice.wait()).await;
    Ok(())
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

async fn create_room(admin: &str, token: &str, room: &str) -> Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let attempt = ureq::post(&format!("http://{admin}/rooms"))
            .set("Authorization", &format!("Bearer {token}"))
            .set("Content-Type", "application/json")
            .send_string(&serde_json::json!({"id": room}).to_string());
        match attempt {
            Ok(_) => return Ok(()),
            Err(e) if tokio::time::Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e).context("admin API never answered"),
        }
    }
}
