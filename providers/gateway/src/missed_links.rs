//! Links the host announced while the gateway was still starting.
//!
//! wasmcloud-host 0.27 hands a provider the links that exist when it starts the process, and
//! tells it about later ones with a plain NATS publish on
//! `wasmbus.rpc.<lattice>.<provider>.linkdefs.put`. A link put in between (wadm puts links
//! while providers start, at first deploy and after a host restart) reaches no subscriber and
//! is never put again: that channel's path or line listener would stay unserved for good.
//!
//! So, after start, the gateway asks the lattice for its links a few times and serves each one
//! the SDK has not delivered. A link the gateway refused (say its line address was still held
//! by a process that was going away) is not recorded either, so the next look tries it again.

use std::{collections::HashMap, time::Duration};

use anyhow::anyhow;
use tracing::{info, warn};
use wasmcloud_control_interface::{Client as CtlClient, ClientBuilder, Link};
use wasmcloud_provider_sdk::{
    core::InterfaceLinkDefinition, get_connection, provider::receive_link_for_provider, Provider,
    ProviderConnection,
};

/// Pauses before each look. The first covers the start-up window itself; the later ones cover
/// a host whose copy of the lattice's links lags, and a listener address that frees up late.
const LOOKS: [Duration; 4] = [
    Duration::from_secs(1),
    Duration::from_secs(4),
    Duration::from_secs(10),
    Duration::from_secs(30),
];

/// Serves the links the lattice has for this provider that never arrived. Runs once the SDK
/// has delivered the links it had at start (`run_provider` returned).
pub async fn recover(provider: &impl Provider) {
    let connection = get_connection();
    let ctl = ClientBuilder::new((*connection.nats).clone())
        .lattice(&*connection.lattice)
        .build();
    for pause in LOOKS {
        tokio::time::sleep(pause).await;
        if let Err(e) = look(provider, connection, &ctl).await {
            warn!("cannot check the lattice for undelivered links: {e:#}");
        }
    }
}

async fn look(
    provider: &impl Provider,
    connection: &ProviderConnection,
    ctl: &CtlClient,
) -> anyhow::Result<()> {
    let links = ctl
        .get_links()
        .await
        .map_err(|e| anyhow!("{e}"))?
        .into_data()
        .unwrap_or_default();
    for link in links
        .iter()
        .filter(|link| link.source_id() == &*connection.provider_id)
    {
        let delivered = connection
            .is_linked(
                link.source_id(),
                link.target(),
                link.wit_namespace(),
                link.wit_package(),
                link.name(),
            )
            .await;
        // One link whose config cannot be read must not keep the others unserved.
        if !delivered {
            if let Err(e) = serve(provider, connection, ctl, link).await {
                warn!(
                    component = link.target(),
                    "cannot serve an undelivered link: {e:#}"
                );
            }
        }
    }
    Ok(())
}

/// Hands one undelivered link to the provider the way the SDK hands a put one, which also
/// records it once served, so that a late put of the same link is ignored as a duplicate.
async fn serve(
    provider: &impl Provider,
    connection: &ProviderConnection,
    ctl: &CtlClient,
    link: &Link,
) -> anyhow::Result<()> {
    // Named configs apply in order, later values over earlier ones, as the host merges them.
    let mut source_config = HashMap::new();
    for name in link.source_config() {
        let values = ctl
            .get_config(name)
            .await
            .map_err(|e| anyhow!("config {name}: {e}"))?
            .into_data()
            .unwrap_or_default();
        source_config.extend(values);
    }
    info!(
        component = link.target(),
        link = link.name(),
        "serving a link the host never delivered"
    );
    let definition = InterfaceLinkDefinition {
        source_id: link.source_id().to_owned(),
        target: link.target().to_owned(),
        name: link.name().to_owned(),
        wit_namespace: link.wit_namespace().to_owned(),
        wit_package: link.wit_package().to_owned(),
        interfaces: link.interfaces().clone(),
        source_config,
        target_config: HashMap::new(),
        source_secrets: None,
        target_secrets: None,
    };
    // A refusal is logged (by the SDK and by the gateway) and tried again at the next look.
    receive_link_for_provider(provider, connection, definition).await
}
