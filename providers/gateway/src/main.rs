//! The gateway provider binary, started by a wasmCloud host from its provider archive.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    gateway::run().await
}
