//! A wasmCloud 1.x host process: the `wasmcloud-host` library with the settings wcc needs.

use std::{
    collections::{BTreeSet, HashMap},
    sync::Arc,
    time::Duration,
};

use anyhow::{Context, Result};
use nkeys::KeyPair;
use wasmcloud_host::{
    url::Url,
    wasmbus::{Features, Host, HostConfig},
};

use crate::readiness::{READY_LABEL, READY_VALUE};

/// What a host needs to join a lattice.
pub struct HostOptions {
    pub nats_url: String,
    pub lattice: String,
    pub labels: HashMap<String, String>,
    /// Provider ids that must run here before the host labels itself ready for components
    /// (`readiness::providers_every_host_runs`).
    pub ready_after: BTreeSet<String>,
}

/// Runs a host until `shutdown` resolves or the lattice tells it to stop.
pub async fn run(
    options: HostOptions,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<()> {
    tokio::pin!(shutdown);
    let nats = Url::parse(&options.nats_url).context("invalid NATS URL")?;
    // Our own key, so we know our host id and can ask the lattice about ourselves.
    let host_key = Arc::new(KeyPair::new_server());
    let host_id = host_key.public_key();
    let config = HostConfig {
        host_key: Some(host_key),
        ctl_nats_url: nats.clone(),
        rpc_nats_url: nats,
        lattice: Arc::from(options.lattice.as_str()),
        labels: options.labels.clone(),
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
    let ready = announce_ready(&options, &host_id);
    tokio::pin!(ready);
    let mut announcing = true;
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            stopped = host.stopped() => { stopped.context("host stop channel closed")?; break; }
            result = &mut ready, if announcing => {
                announcing = false;
                if let Err(e) = result {
                    // Without the label wadm keeps components off this host; say so loudly.
                    tracing::error!("host {host_id} could not label itself ready: {e:#}");
                }
            }
        }
    }
    stop_host.await.context("host did not shut down cleanly")
}

/// Waits until this host runs every provider in `ready_after`, then puts [`READY_LABEL`] on it.
/// wadm sees the label at the next heartbeat and places the components here; until then the
/// host takes no component calls, so none can fail for want of a local provider.
async fn announce_ready(options: &HostOptions, host_id: &str) -> Result<()> {
    let nats = async_nats::connect(&options.nats_url)
        .await
        .context("cannot reach NATS to watch this host's providers")?;
    let ctl = wasmcloud_control_interface::ClientBuilder::new(nats)
        .lattice(&options.lattice)
        .build();
    let mut waiting_since = tokio::time::Instant::now();
    loop {
        let running: BTreeSet<String> = match ctl.get_host_inventory(host_id).await {
            Ok(answer) => answer
                .into_data()
                .map(|inventory| {
                    inventory
                        .providers()
                        .iter()
                        .map(|p| p.id().to_string())
                        .collect()
                })
                .unwrap_or_default(),
            // The host may not serve its control subjects yet.
            Err(e) => {
                tracing::debug!("inventory of {host_id} not available yet: {e:#}");
                BTreeSet::new()
            }
        };
        if options.ready_after.is_subset(&running) {
            break;
        }
        if waiting_since.elapsed() > Duration::from_secs(60) {
            let missing: Vec<_> = options.ready_after.difference(&running).collect();
            tracing::warn!("host {host_id} still waits for providers {missing:?}");
            waiting_since = tokio::time::Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let put = ctl
        .put_label(host_id, READY_LABEL, READY_VALUE)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    anyhow::ensure!(put.succeeded(), "label refused: {}", put.message());
    tracing::info!("host {host_id} runs its providers; labelled {READY_LABEL}={READY_VALUE}");
    Ok(())
}
