//! A wasmCloud 1.x host process: the `wasmcloud-host` library with the settings wcc needs.

use std::{collections::HashMap, sync::Arc, time::Duration};

use anyhow::{Context, Result};
use wasmcloud_host::{
    url::Url,
    wasmbus::{Features, Host, HostConfig},
};

/// What a host needs to join a lattice.
pub struct HostOptions {
    pub nats_url: String,
    pub lattice: String,
    pub labels: HashMap<String, String>,
}

/// Runs a host until `shutdown` resolves or the lattice tells it to stop.
pub async fn run(
    options: HostOptions,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<()> {
    let nats = Url::parse(&options.nats_url).context("invalid NATS URL")?;
    let config = HostConfig {
        ctl_nats_url: nats.clone(),
        rpc_nats_url: nats,
        lattice: Arc::from(options.lattice.as_str()),
        labels: options.labels,
        // Our components and provider archives are local files, not OCI images.
        allow_file_load: true,
        // wadm places work at host heartbeats; a short interval makes deploys and restarts quick.
        heartbeat_interval: Some(Duration::from_secs(2)),
        // A chat send crosses several actors; give each hop room under load.
        rpc_timeout: Duration::from_secs(10),
        // No chat call legitimately runs this long. wrpc-transport-nats 0.29 (the version this
        // host pins) can drop a reply under load, leaving its caller waiting forever; bounding
        // every invocation lets such a call fail and the chain above it unwind (docs/design.md).
        max_execution_time: Duration::from_secs(15),
        experimental_features: Features::new()
            .enable_builtin_http_server()
            .enable_builtin_messaging_nats(),
        ..HostConfig::default()
    };
    let (host, stop_host) = Host::new(config)
        .await
        .context("failed to start the wasmCloud host")?;
    tokio::select! {
        () = shutdown => {}
        stopped = host.stopped() => { stopped.context("host stop channel closed")?; }
    }
    stop_host.await.context("host did not shut down cleanly")
}
