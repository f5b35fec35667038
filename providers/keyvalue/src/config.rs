//! Typed provider settings.
//!
//! The provider's own config map (given to `init`) supplies the defaults for
//! every component; each component's link config may override any of them.
//! Keys are matched case-insensitively because wasmCloud config is often
//! written in environment-variable style (`NATS_URL`). Unknown keys are
//! ignored: named configs are shared between providers and may carry keys
//! meant for someone else.

use std::collections::HashMap;

use anyhow::{bail, Context as _};

/// Config key: NATS server URL(s) the JetStream KV lives on.
pub const NATS_URL: &str = "nats_url";
/// Config key: prepended to the bucket identifier a component opens.
pub const BUCKET_PREFIX: &str = "bucket_prefix";
/// Config key: JetStream replicas for buckets this provider creates.
pub const REPLICAS: &str = "replicas";
/// Config key: largest value a component may store, in bytes.
pub const MAX_VALUE_BYTES: &str = "max_value_bytes";

/// JetStream refuses more than five replicas for a stream.
const MAX_REPLICAS: usize = 5;

/// Effective settings for one component (or the provider-wide defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub nats_url: String,
    pub bucket_prefix: String,
    pub replicas: usize,
    pub max_value_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            nats_url: "nats://127.0.0.1:4222".to_string(),
            bucket_prefix: String::new(),
            replicas: 1,
            max_value_bytes: 1_048_576,
        }
    }
}

/// Everything the store layer needs to serve one call against one bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// JetStream KV bucket name: prefix + the identifier the component opened.
    pub bucket: String,
    pub replicas: usize,
    pub max_value_bytes: usize,
}

impl Settings {
    /// Defaults overlaid by the provider's config map.
    pub fn from_map(map: &HashMap<String, String>) -> anyhow::Result<Self> {
        Self::default().overlay(map)
    }

    /// These settings with any keys present in `map` replacing them.
    pub fn overlay(&self, map: &HashMap<String, String>) -> anyhow::Result<Self> {
        let mut out = self.clone();
        for (key, value) in map {
            let value = value.trim();
            match key.to_ascii_lowercase().as_str() {
                NATS_URL => {
                    if value.is_empty() {
                        bail!("{NATS_URL} must not be empty");
                    }
                    out.nats_url = value.to_string();
                }
                BUCKET_PREFIX => {
                    if !value.bytes().all(is_bucket_byte) {
                        bail!("{BUCKET_PREFIX} {value:?} may only contain [A-Za-z0-9_-]");
                    }
                    out.bucket_prefix = value.to_string();
                }
                REPLICAS => {
                    let n: usize = value
                        .parse()
                        .with_context(|| format!("{REPLICAS} {value:?} is not a number"))?;
                    if !(1..=MAX_REPLICAS).contains(&n) {
                        bail!("{REPLICAS} must be between 1 and {MAX_REPLICAS}, got {n}");
                    }
                    out.replicas = n;
                }
                MAX_VALUE_BYTES => {
                    let n: usize = value
                        .parse()
                        .with_context(|| format!("{MAX_VALUE_BYTES} {value:?} is not a number"))?;
                    if n == 0 {
                        bail!("{MAX_VALUE_BYTES} must be positive");
                    }
                    out.max_value_bytes = n;
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// Resolve the bucket a component named `identifier` under these settings.
    ///
    /// The identifier is not escaped: bucket names are chosen by developers,
    /// not users, so a bad one is a configuration error worth surfacing.
    pub fn target(&self, identifier: &str) -> anyhow::Result<Target> {
        if identifier.is_empty() || !identifier.bytes().all(is_bucket_byte) {
            bail!("invalid bucket name {identifier:?}: use only [A-Za-z0-9_-]");
        }
        Ok(Target {
            bucket: format!("{}{identifier}", self.bucket_prefix),
            replicas: self.replicas,
            max_value_bytes: self.max_value_bytes,
        })
    }
}

/// Characters JetStream accepts in a KV bucket name.
fn is_bucket_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults() {
        let s = Settings::from_map(&HashMap::new()).expect("defaults parse");
        assert_eq!(s.nats_url, "nats://127.0.0.1:4222");
        assert_eq!(s.bucket_prefix, "");
        assert_eq!(s.replicas, 1);
        assert_eq!(s.max_value_bytes, 1_048_576);
    }

    #[test]
    fn provider_map_sets_every_key_and_ignores_others() {
        let s = Settings::from_map(&map(&[
            ("nats_url", "nats://kv:4222"),
            ("BUCKET_PREFIX", "wcc_"),
            ("Replicas", " 3 "),
            ("max_value_bytes", "4096"),
            ("unrelated", "x"),
        ]))
        .expect("valid");
        assert_eq!(
            s,
            Settings {
                nats_url: "nats://kv:4222".into(),
                bucket_prefix: "wcc_".into(),
                replicas: 3,
                max_value_bytes: 4096,
            }
        );
    }

    #[test]
    fn link_overlay_replaces_only_given_keys() {
        let base = Settings::from_map(&map(&[("bucket_prefix", "prod-"), ("replicas", "3")]))
            .expect("valid");
        let link = base.overlay(&map(&[("replicas", "1")])).expect("valid");
        assert_eq!(link.bucket_prefix, "prod-");
        assert_eq!(link.replicas, 1);
        assert_eq!(link.nats_url, base.nats_url);
        assert_eq!(base.overlay(&HashMap::new()).expect("valid"), base);
    }

    #[test]
    fn rejects_bad_values() {
        for (k, v) in [
            ("replicas", "0"),
            ("replicas", "6"),
            ("replicas", "two"),
            ("max_value_bytes", "0"),
            ("max_value_bytes", "-1"),
            ("nats_url", " "),
            ("bucket_prefix", "a.b"),
        ] {
            assert!(Settings::from_map(&map(&[(k, v)])).is_err(), "{k}={v}");
        }
    }

    #[test]
    fn target_prepends_prefix_and_validates_identifier() {
        let s = Settings::from_map(&map(&[("bucket_prefix", "wcc_")])).expect("valid");
        let t = s.target("rooms").expect("valid");
        assert_eq!(t.bucket, "wcc_rooms");
        assert_eq!((t.replicas, t.max_value_bytes), (1, 1_048_576));
        for bad in ["", "a.b", "a b", "*", "ü"] {
            assert!(s.target(bad).is_err(), "{bad:?}");
        }
    }
}
