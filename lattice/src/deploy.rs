//! Puts a manifest into wadm and waits until wadm reports it deployed.
//!
//! This is the NATS request/reply API that `wash app deploy` uses, spoken directly so that the
//! launcher needs no wash binary.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use wadm_types::api::{StatusResponse, StatusType};

/// Puts `manifest` (YAML) into wadm on `lattice`, deploys it and returns the application name.
///
/// wadm keeps every version it was given and refuses a version twice, so a second start on the
/// same JetStream data (`make run` again) would fail with the manifest's fixed version. The
/// version put is therefore the manifest's own plus a digest of the rendered text: the same
/// manifest is the same version (already stored: it is simply deployed again), a changed one
/// (other artifacts, addresses or secrets) a new one.
pub async fn put_and_deploy(
    nats: &async_nats::Client,
    lattice: &str,
    manifest: &str,
) -> Result<String> {
    let (manifest, name, version) = versioned(manifest)?;
    put_configs(nats, lattice, &manifest, &name).await?;
    let put = request(
        nats,
        format!("wadm.api.{lattice}.model.put"),
        manifest.into_bytes(),
    )
    .await;
    match put {
        Ok(_) => {}
        Err(e) if format!("{e:#}").contains("already exists") => {}
        Err(e) => return Err(e.context("wadm did not accept the manifest")),
    }
    request(
        nats,
        format!("wadm.api.{lattice}.model.deploy.{name}"),
        serde_json::to_vec(&serde_json::json!({ "version": version }))?,
    )
    .await
    .context("wadm did not deploy the application")?;
    Ok(name)
}

/// Puts every named config the manifest defines into the lattice's config store, under the
/// name wadm gives it (`<app>-<name>`, sanitized as wadm does), before wadm sees the manifest.
///
/// wadm puts a link's config and the link itself as separate commands that can run in either
/// order; a host refuses a link whose config it cannot find yet ("Failed to validate
/// configuration"), and wadm did not put that link again: the app stayed "Reconciling" for
/// good, about once in a few dozen deploys. With every config in place first, no link can
/// arrive before its config. wadm's own later put of the same values changes nothing.
async fn put_configs(
    nats: &async_nats::Client,
    lattice: &str,
    manifest: &str,
    app: &str,
) -> Result<()> {
    let doc: serde_yaml::Value = serde_yaml::from_str(manifest)?;
    for (config_name, properties) in named_configs(&doc) {
        let id = wadm_config_id(app, &config_name);
        let body = serde_json::to_vec(&properties)?;
        let reply = nats
            .request(
                format!("wasmbus.ctl.v1.{lattice}.config.put.{id}"),
                body.into(),
            )
            .await
            .with_context(|| format!("no host answered the put of config {id}"))?;
        let reply: serde_json::Value = serde_json::from_slice(&reply.payload)
            .with_context(|| format!("the put of config {id} got no JSON reply"))?;
        if reply["success"] != true {
            bail!("config {id} not stored: {reply}");
        }
    }
    Ok(())
}

/// Every `config: [{name, properties}]` entry anywhere in the manifest, with its properties as
/// strings (the config store holds string values).
fn named_configs(
    doc: &serde_yaml::Value,
) -> Vec<(String, serde_json::Map<String, serde_json::Value>)> {
    let mut found = Vec::new();
    let mut stack = vec![doc];
    while let Some(value) = stack.pop() {
        match value {
            serde_yaml::Value::Mapping(map) => {
                if let Some(serde_yaml::Value::Sequence(configs)) = map.get("config") {
                    for config in configs {
                        let (Some(name), Some(serde_yaml::Value::Mapping(properties))) =
                            (config["name"].as_str(), config.get("properties"))
                        else {
                            continue;
                        };
                        let properties = properties
                            .iter()
                            .filter_map(|(key, value)| {
                                let key = key.as_str()?.to_owned();
                                let value = match value {
                                    serde_yaml::Value::String(text) => text.clone(),
                                    other => serde_yaml::to_string(other).ok()?.trim().to_owned(),
                                };
                                Some((key, serde_json::Value::String(value)))
                            })
                            .collect();
                        found.push((name.to_owned(), properties));
                    }
                }
                stack.extend(map.values());
            }
            serde_yaml::Value::Sequence(items) => stack.extend(items),
            _ => {}
        }
    }
    found
}

/// The name wadm stores a manifest's named config under (wadm 0.21 `compute_component_id`).
fn wadm_config_id(app: &str, name: &str) -> String {
    let sanitize = |text: &str| {
        text.to_lowercase()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    };
    format!("{}-{}", sanitize(app), sanitize(name))
}

/// The manifest with its version made `<version>-<digest>`, its application name, and that
/// version.
fn versioned(manifest: &str) -> Result<(String, String, String)> {
    use sha2::{Digest, Sha256};
    let mut doc: serde_yaml::Value =
        serde_yaml::from_str(manifest).context("the manifest is not YAML")?;
    let digest = Sha256::digest(manifest.as_bytes());
    let digest: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    let metadata = doc
        .get_mut("metadata")
        .context("the manifest has no metadata")?;
    let name = metadata["name"]
        .as_str()
        .context("the manifest has no metadata.name")?
        .to_owned();
    let annotations = metadata
        .get_mut("annotations")
        .and_then(serde_yaml::Value::as_mapping_mut)
        .context("the manifest has no metadata.annotations")?;
    let base = annotations
        .get("version")
        .and_then(serde_yaml::Value::as_str)
        .unwrap_or("v0")
        .to_owned();
    let version = format!("{base}-{digest}");
    annotations.insert("version".into(), version.clone().into());
    Ok((serde_yaml::to_string(&doc)?, name, version))
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

#[cfg(test)]
mod tests {
    use super::versioned;

    const MANIFEST: &str = "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: wcc\n  annotations:\n    version: v0.1.0\nspec:\n  components: []\n";

    #[test]
    fn named_configs_are_found_everywhere_and_named_as_wadm_names_them() {
        let doc: serde_yaml::Value = serde_yaml::from_str(
            "spec:\n  components:\n    - name: a\n      properties:\n        config:\n          - name: wcc-a\n            properties:\n              n: 5\n              s: \"x\"\n      traits:\n        - properties:\n            source:\n              config:\n                - name: wcc-presence-subscription\n                  properties:\n                    subscriptions: wcc.events\n                - name: named-elsewhere\n",
        )
        .unwrap();
        let mut found = super::named_configs(&doc);
        found.sort_by(|a, b| a.0.cmp(&b.0));
        let names: Vec<&str> = found.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["wcc-a", "wcc-presence-subscription"]);
        assert_eq!(found[0].1["n"], "5");
        assert_eq!(found[0].1["s"], "x");
        assert_eq!(
            super::wadm_config_id("wcc", "wcc-presence-subscription"),
            "wcc-wcc_presence_subscription"
        );
    }

    #[test]
    fn the_version_follows_the_content() {
        let (text, name, version) = versioned(MANIFEST).unwrap();
        assert_eq!(name, "wcc");
        assert!(version.starts_with("v0.1.0-"), "{version}");
        assert!(text.contains(&version));
        assert_eq!(
            versioned(MANIFEST).unwrap().2,
            version,
            "same text, same version"
        );
        let other = MANIFEST.replace("components: []", "components: [] # changed");
        assert_ne!(versioned(&other).unwrap().2, version);
    }
}
