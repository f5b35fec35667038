//! When a host may take calls for wcc's components.
//!
//! wadm places a manifest's components and providers on a new host independently, and on a
//! replacement host it placed the components ~40 s before the providers. Calls that NATS queue
//! groups handed to those early components failed (the host had no `messaging-nats` yet), about
//! one send in five while it lasted. So every component in `wadm.yaml` is spread only to hosts
//! labelled [`READY_LABEL`], and `wcc-lattice host` puts that label on itself once it runs every
//! provider the manifest places on every host.

use std::collections::{BTreeSet, HashMap};

use anyhow::{Context, Result};
use wadm_types::{Manifest, Properties, TraitProperty};

/// The label a host carries once its providers run; `wadm.yaml` spreads components to it only.
pub const READY_LABEL: &str = "wcc-ready";
pub const READY_VALUE: &str = "true";

/// The provider ids (as wadm names them) that a host with `labels` must run before it is
/// ready: every capability whose daemonscaler places it on each host these labels match.
/// Capabilities that run once somewhere (a spreadscaler, like the admin API) are not waited
/// for; nor are requirements on [`READY_LABEL`] itself, which the host does not carry yet.
pub fn providers_every_host_runs(
    manifest_yaml: &str,
    labels: &HashMap<String, String>,
) -> Result<BTreeSet<String>> {
    let manifest: Manifest =
        serde_yaml::from_str(manifest_yaml).context("wadm.yaml is not a valid manifest")?;
    let mut ids = BTreeSet::new();
    for component in &manifest.spec.components {
        if !matches!(component.properties, Properties::Capability { .. }) {
            continue;
        }
        let on_this_host = component.traits.iter().flatten().any(|t| {
            let TraitProperty::SpreadScaler(scaler) = &t.properties else {
                return false;
            };
            t.trait_type == "daemonscaler"
                && (scaler.spread.is_empty()
                    || scaler.spread.iter().any(|spread| {
                        spread.requirements.iter().all(|(key, value)| {
                            key == READY_LABEL || labels.get(key) == Some(value)
                        })
                    }))
        });
        if on_this_host {
            ids.insert(provider_id(&manifest.metadata.name, &component.name));
        }
    }
    Ok(ids)
}

/// The id wadm gives a manifest's provider: `<manifest>-<component>`, each lowercased with
/// anything but ASCII letters and digits as `_` (wadm's `compute_component_id`).
fn provider_id(manifest: &str, component: &str) -> String {
    let clean = |s: &str| {
        s.to_lowercase()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    };
    format!("{}-{}", clean(manifest), clean(component))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: wcc
  annotations:
    version: v0.1.0
spec:
  components:
    - name: messages
      type: component
      properties:
        image: file://${WCC_ARTIFACTS}/messages.wasm
      traits:
        - type: daemonscaler
          properties:
            instances: 4
            spread:
              - name: ready
                requirements:
                  wcc-ready: "true"
    - name: gateway
      type: capability
      properties:
        image: file://${WCC_ARTIFACTS}/gateway.par.gz
      traits:
        - type: daemonscaler
          properties:
            instances: 1
    - name: messaging-nats
      type: capability
      properties:
        image: wasmcloud+builtin://messaging-nats
      traits:
        - type: daemonscaler
          properties:
            instances: 1
            spread:
              - name: edge
                requirements:
                  zone: edge
    - name: admin-http
      type: capability
      properties:
        image: wasmcloud+builtin://http-server
      traits:
        - type: spreadscaler
          properties:
            instances: 1
"#;

    fn labels(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn waits_for_the_providers_placed_on_every_host() {
        let ids = providers_every_host_runs(MANIFEST, &labels(&[])).unwrap();
        // Not the components, not a provider placed once somewhere, not one for other hosts.
        assert_eq!(ids, BTreeSet::from(["wcc-gateway".to_string()]));
    }

    #[test]
    fn a_spread_the_host_matches_counts() {
        let ids = providers_every_host_runs(MANIFEST, &labels(&[("zone", "edge")])).unwrap();
        assert_eq!(
            ids,
            BTreeSet::from(["wcc-gateway".to_string(), "wcc-messaging_nats".to_string()])
        );
    }

    #[test]
    fn the_shipped_manifest_holds_components_back_and_waits_for_its_providers() {
        let shipped = include_str!("../../wadm.yaml");
        let ids = providers_every_host_runs(shipped, &labels(&[])).unwrap();
        assert_eq!(
            ids,
            BTreeSet::from([
                "wcc-gateway".to_string(),
                "wcc-keyvalue".to_string(),
                "wcc-messaging".to_string()
            ])
        );
        let manifest: Manifest = serde_yaml::from_str(shipped).unwrap();
        for component in &manifest.spec.components {
            if !matches!(component.properties, Properties::Component { .. }) {
                continue;
            }
            let held = component
                .traits
                .iter()
                .flatten()
                .all(|t| match &t.properties {
                    TraitProperty::SpreadScaler(s) => {
                        s.spread.iter().all(|spread| {
                            spread.requirements.get(READY_LABEL).map(String::as_str)
                                == Some(READY_VALUE)
                        }) && !s.spread.is_empty()
                    }
                    _ => true,
                });
            assert!(
                held,
                "{} must be spread to ready hosts only",
                component.name
            );
        }
    }

    #[test]
    fn a_manifest_that_is_not_one_is_an_error() {
        assert!(providers_every_host_runs("spec: [", &labels(&[])).is_err());
    }
}
