//! Provider binary: started by the wasmCloud host, which passes host data on
//! stdin; serves key-value calls until the host asks it to shut down or is gone.

use anyhow::Context as _;
use keyvalue::{bindings, KeyValueProvider};
use tracing_subscriber::EnvFilter;
use wasmcloud_provider_sdk::{get_connection, run_provider};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // RUST_LOG reaches providers through the host.
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let provider = KeyValueProvider::default();
    // Handles init, links and health; resolves when the host says shut down.
    let shutdown = run_provider(provider.clone(), "wcc-keyvalue")
        .await
        .context("failed to start provider")?;
    let connection = get_connection();
    let wrpc = connection
        .get_wrpc_client(connection.provider_key())
        .await
        .context("failed to create wRPC client")?;
    // A host killed outright never says shut down: stop serving when it is gone all the same.
    let stop = async {
        tokio::select! {
            () = shutdown => {}
            () = wcc_parent_watch::parent_gone() => tracing::warn!("host gone: stopping"),
        }
    };
    let exports = bindings::serve(&wrpc, provider)
        .await
        .context("failed to serve exports")?;
    keyvalue::invocations::serve(exports, stop).await;
    Ok(())
}
