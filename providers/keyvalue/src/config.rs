//! Typed provider settings.
//!
//! The provider's own config map (given to `init`) supplies the defaults for
//! every component; each component's link config may override any of them.
//! Keys are matched case-insensitively because wasmCloud config is often
//! written in environment-variable style (`NATS_URL`). Unknown keys are
//! ignored: named configs are shared between providers and may carry keys
//! meant for someone else.

use std::{
    collections::{BTreeMap, HashMap},
    time::Duration,
};

use anyhow::{bail, Context as _};

/// Config key: NATS server URL(s) the JetStream KV lives on.
pub const NATS_URL: &str = "nats_url";
/// Config key: prepended to the bucket identifier a component opens.
pub const BUCKET_PREFIX: &str = "bucket_prefix";
/// Config key: JetStream replicas for buckets this provider creates.
pub const REPLICAS: &str = "replicas";
/// Config key: largest value a component may store, in bytes.
pub const MAX_VALUE_BYTES: &str = "max_value_bytes";
/// Config key: buckets whose entries JetStream removes by age, as `identifier=seconds` pairs
/// separated by commas (e.g. `wcc-throttle=3600`). For records that only matter for a while
/// (sign-in throttling): without it they would stay for every subject ever seen. Applied when
/// the provider creates the bucket, and to an existing bucket whose age limit differs.
pub const EXPIRING_BUCKETS: &str = "expiring_buckets";

/// JetStream refuses more than five replicas for a stream.
const MAX_REPLICAS: usize = 5;

/// Effective settings for one component (or the provider-wide defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub nats_url: String,
    pub bucket_prefix: String,
    pub replicas: usize,
    pub max_value_bytes: usize,
    /// Bucket identifier (before the prefix) → how long an entry lives after its last write.
    pub expiring: BTreeMap<String, Duration>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            nats_url: "nats://127.0.0.1:4222".to_string(),
            bucket_prefix: String::new(),
            replicas: 1,
            max_value_bytes: 1_048_576,
            expiring: BTreeMap::new(),
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
    /// Entries older than this (since their last write) are removed; `None`: kept.
    pub max_age: Option<Duration>,
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
                EXPIRING_BUCKETS => out.expiring = parse_expiring(value)?,
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
            max_age: self.expiring.get(identifier).copied(),
        })
    }
}

/// `identifier=seconds[,identifier=seconds…]`; blank means none.
fn parse_expiring(value: &str) -> anyhow::Result<BTreeMap<String, Duration>> {
    let mut out = BTreeMap::new();
    for pair in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((bucket, secs)) = pair.split_once('=') else {
            bail!("{EXPIRING_BUCKETS} entry {pair:?} is not identifier=seconds");
        };
        let bucket = bucket.trim();
        if bucket.is_empty() || !bucket.bytes().all(is_bucket_byte) {
            bail!("{EXPIRING_BUCKETS}: invalid bucket name {bucket:?}");
        }
        let secs: u64 = secs
            .trim()
            .parse()
            .ok()
            .filter(|&s| s > 0)
            .with_context(|| {
                format!("{EXPIRING_BUCKETS}: {pair:?} needs a positive number of seconds")
            })?;
        out.insert(bucket.to_string(), Duration::from_secs(secs));
    }
    Ok(out)
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
                expiring: BTreeMap::new(),
            }
        );
    }

    #[test]
    fn expiring_buckets_get_their_age_and_others_none() {
        let s = Settings::from_map(&map(&[
            ("bucket_prefix", "p_"),
            ("expiring_buckets", " wcc-throttle=3600 , short=5,"),
        ]))
        .expect("valid");
        let t = s.target("wcc-throttle").expect("valid");
        assert_eq!(t.bucket, "p_wcc-throttle");
        assert_eq!(t.max_age, Some(Duration::from_secs(3600)));
        assert_eq!(
            s.target("short").unwrap().max_age,
            Some(Duration::from_secs(5))
        );
        assert_eq!(s.target("wcc").unwrap().max_age, None);
        for bad in ["wcc", "wcc=", "wcc=0", "wcc=-3", "a.b=5", "=5"] {
            assert!(
                Settings::from_map(&map(&[("expiring_buckets", bad)])).is_err(),
                "{bad}"
            );
        }
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
