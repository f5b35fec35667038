//! Puts a manifest into wadm and waits until wadm reports it deployed.
//!
//! This is the NATS request/reply API that `wash app deploy` uses, spoken directly so that the
//! launcher needs no wash binary.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use wadm_types::api::{StatusResponse, StatusType};

/// Puts `manifest` (YAML) into wadm on `lattice`, deploys it and returns the application name.
pub async fn put_and_deploy(
    nats: &async_nats::Client,
    lattice: &str,
    manifest: &str,
) -> Result<String> {
    let put = request(
        nats,
        format!("wadm.api.{lattice}.model.put"),
        manifest.as_bytes().to_vec(),
    )
    .await
    .context("wadm did not accept the manifest")?;
    let name = put["name"]
        .as_str()
        .context("wadm's put reply has no application name")?
        .to_string();
    request(
        nats,
        format!("wadm.api.{lattice}.model.deploy.{name}"),
        b"{}".to_vec(),
    )
    .await
    .context("wadm did not deploy the application")?;
    Ok(name)
}

/// Polls wadm until `app` is deployed, failing after `timeout` with wadm's last status message.
pub async fn wait_deployed(
    nats: &async_nats::Client,
    lattice: &str,
    app: &str,
    timeout: Duration,
) -> Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last = String::from("no status yet");
    while tokio::time::Instant::now() < deadline {
        let reply = nats
            .request(
                format!("wadm.api.{lattice}.model.status.{app}"),
                Vec::new().into(),
            )
            .await;
        if let Ok(reply) = reply {
            if let Ok(status) = serde_json::from_slice::<StatusResponse>(&reply.payload) {
                if let Some(status) = status.status {
                    if status.info.status_type == StatusType::Deployed {
                        return Ok(());
                    }
                    last = format!("{:?}: {}", status.info.status_type, status.info.message);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    bail!("application {app} not deployed after {timeout:?}; last status: {last}")
}

/// One wadm API call: wadm answers every call with JSON whose `result` says how it went.
async fn request(
    nats: &async_nats::Client,
    subject: String,
    body: Vec<u8>,
) -> Result<serde_json::Value> {
    let reply = nats
        .request(subject.clone(), body.into())
        .await
        .with_context(|| format!("no reply on {subject}"))?;
    let value: serde_json::Value =
        serde_json::from_slice(&reply.payload).context("wadm reply is not JSON")?;
    if value["result"] == "error" {
        bail!(
            "{}",
            value["message"].as_str().unwrap_or("unknown wadm error")
        );
    }
    Ok(value)
}
