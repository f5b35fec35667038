//! wadm, the lattice's deployment manager, run from the `wadm` library crate.

use anyhow::{Context, Result};
use clap::Parser;

/// Runs wadm against `nats_url` until `shutdown` resolves or one of its tasks fails.
pub async fn run(nats_url: &str, shutdown: impl std::future::Future<Output = ()>) -> Result<()> {
    let config = wadm::config::WadmConfig::parse_from(["wadm", "--nats-server", nats_url]);
    let mut tasks = wadm::start_wadm(config)
        .await
        .context("failed to start wadm")?;
    tokio::select! {
        () = shutdown => Ok(()),
        Some(done) = tasks.join_next() => {
            done.context("wadm task panicked")?.context("wadm task failed")
        }
    }
}
