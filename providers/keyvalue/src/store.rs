//! The JetStream KV operations behind the key-value interfaces.
//!
//! Kept free of wRPC and provider-sdk types so the integration tests can
//! drive it against a real nats-server. Keys arrive as arbitrary component
//! strings and are escaped here ([`crate::keys`]); errors are `anyhow` and the
//! service layer turns their message into `store::error::other`.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context as _};
use async_nats::jetstream::{self, kv, stream::StorageType};
use bytes::Bytes;
use futures::{StreamExt as _, TryStreamExt as _};
use tokio::sync::{Mutex, RwLock};
use tracing::{debug, warn};

use wcc_interface::numbered;

use crate::config::Target;
use crate::counters::Counters;
use crate::keys;
use crate::multi_get;

/// `list-keys` page size; the cursor is the offset of the next page.
pub const PAGE_SIZE: usize = 1000;

/// How many writes of a `set-many` are in flight at once.
const BATCH_CONCURRENCY: usize = 16;

/// How many purges of one `delete-many` are in flight at once. Log
/// compaction deletes many slots per call, and each purge is one small
/// JetStream API request.
const DELETE_CONCURRENCY: usize = 32;

/// One JetStream context plus the buckets already opened through it.
///
/// Buckets are cached because opening one costs a stream-info round trip,
/// and every call names its bucket.
pub struct KvStore {
    client: async_nats::Client,
    js: jetstream::Context,
    buckets: RwLock<HashMap<String, kv::Store>>,
    counters: Counters,
}

/// One write of [`KvStore::append`]: it carries one of the reserved numbers, in decimal
/// (`wcc_interface::numbered`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// Which of the reserved numbers: 0 for the first.
    pub offset: u32,
    pub key: String,
    /// Whether the number ends the key.
    pub key_ends_with_number: bool,
    pub value: Bytes,
    /// The byte of `value` before which the number goes, if it goes in at all.
    pub value_number_at: Option<u32>,
}

impl Write {
    fn render(&self, first: u64) -> (String, Bytes) {
        let number = first + u64::from(self.offset);
        (
            numbered::key(&self.key, self.key_ends_with_number, number),
            Bytes::from(numbered::value(&self.value, self.value_number_at, number)),
        )
    }
}

impl KvStore {
    /// Wrap an existing NATS connection.
    pub fn new(client: async_nats::Client) -> Self {
        Self {
            js: jetstream::new(client.clone()),
            client,
            buckets: RwLock::default(),
            counters: Counters::default(),
        }
    }

    /// Connect to `url` (a comma-separated list of servers is allowed).
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let client = async_nats::ConnectOptions::new()
            .name("wcc-keyvalue-provider")
            .connect(url)
            .await
            .with_context(|| format!("failed to connect to NATS at {url}"))?;
        Ok(Self::new(client))
    }

    /// Open the target's bucket, creating it on first use.
    async fn bucket(&self, target: &Target) -> anyhow::Result<kv::Store> {
        if let Some(store) = self.buckets.read().await.get(&target.bucket) {
            return Ok(store.clone());
        }
        let store = match self.js.get_key_value(target.bucket.as_str()).await {
            Ok(store) => {
                self.keep_age_limit(target).await?;
                store
            }
            Err(_) => self.create_bucket(target).await?,
        };
        self.buckets
            .write()
            .await
            .insert(target.bucket.clone(), store.clone());
        Ok(store)
    }

    async fn create_bucket(&self, target: &Target) -> anyhow::Result<kv::Store> {
        debug!(bucket = %target.bucket, replicas = target.replicas, "creating bucket");
        let config = kv::Config {
            bucket: target.bucket.clone(),
            description: "wcc key-value store".to_string(),
            history: 1,
            storage: StorageType::File,
            num_replicas: target.replicas,
            max_age: target.max_age.unwrap_or_default(),
            ..Default::default()
        };
        match self.js.create_key_value(config).await {
            Ok(store) => Ok(store),
            // Another caller may have created it (with other settings) meanwhile.
            Err(create_err) => self
                .js
                .get_key_value(target.bucket.as_str())
                .await
                .map_err(|_| anyhow!(create_err))
                .with_context(|| format!("failed to create bucket {}", target.bucket)),
        }
    }

    /// An expiring bucket made before its age limit was configured (or with another one) gets
    /// the configured limit; other buckets are left as they are.
    async fn keep_age_limit(&self, target: &Target) -> anyhow::Result<()> {
        let Some(max_age) = target.max_age else {
            return Ok(());
        };
        let name = format!("KV_{}", target.bucket);
        let mut stream = self
            .js
            .get_stream(&name)
            .await
            .with_context(|| format!("failed to read stream {name}"))?;
        let mut config = stream.info().await?.config.clone();
        if config.max_age != max_age {
            config.max_age = max_age;
            // JetStream refuses a duplicates window longer than the age limit.
            config.duplicate_window = config.duplicate_window.min(max_age);
            self.js
                .update_stream(&config)
                .await
                .with_context(|| format!("failed to set the age limit of {name}"))?;
        }
        Ok(())
    }

    pub async fn get(&self, target: &Target, key: &str) -> anyhow::Result<Option<Bytes>> {
        let kv = self.bucket(target).await?;
        kv.get(keys::escape(key))
            .await
            .with_context(|| format!("failed to get {key:?}"))
    }

    /// Store `value`; returns once JetStream acknowledged (persisted) it.
    pub async fn set(&self, target: &Target, key: &str, value: Bytes) -> anyhow::Result<()> {
        if value.len() > target.max_value_bytes {
            bail!("value too large");
        }
        let kv = self.bucket(target).await?;
        kv.put(keys::escape(key), value)
            .await
            .with_context(|| format!("failed to set {key:?}"))?;
        Ok(())
    }

    /// Remove `key` without leaving anything behind; deleting a missing key
    /// succeeds.
    ///
    /// A KV delete (or KV purge) would publish a marker message that the
    /// stream keeps forever as the subject's latest message, so a bucket whose
    /// callers delete ever-new keys (compacted logs: `log/1`, `log/2`, ...)
    /// would grow by one marker per deleted key without bound. Instead this
    /// purges the key's subject from the bucket's stream: one JetStream API
    /// request that removes every message of the subject, the marker-free
    /// equivalent of "the key was never written". Afterwards `get` returns
    /// `None`, a later `set` writes normally, and `increment` starts from 0
    /// (the subject has no last sequence, so "expect revision 0" holds again).
    ///
    /// Concurrency: the stream applies publishes and purges in one order, so
    /// a `set` racing a `delete` of the same key ends as one of the two
    /// serial orders: set-then-delete (key gone) or delete-then-set (the new
    /// value stays), exactly as with a delete marker. A caller that awaited
    /// its `set` before calling `delete` always sees the key gone. An
    /// `increment` that read the value before a racing purge fails its
    /// conditional write (the subject's last sequence changed) and retries
    /// from 0, so a deleted counter is never resurrected with its old count.
    /// What changes: nothing is published on the key's subject, so a KV
    /// watcher (none of our components can open one) sees no delete event.
    pub async fn delete(&self, target: &Target, key: &str) -> anyhow::Result<()> {
        let kv = self.bucket(target).await?;
        purge_key(&kv, key)
            .await
            .with_context(|| format!("failed to delete {key:?}"))
    }

    pub async fn exists(&self, target: &Target, key: &str) -> anyhow::Result<bool> {
        Ok(self.get(target, key).await?.is_some())
    }

    /// Atomically add `delta` to the decimal counter at `key` (missing = 0).
    ///
    /// Concurrent increments of one counter share one conditional write ([`Counters`]).
    pub async fn increment(&self, target: &Target, key: &str, delta: u64) -> anyhow::Result<u64> {
        let kv = self.bucket(target).await?;
        self.counters
            .add(&kv, &target.bucket, &keys::escape(key), delta)
            .await
    }

    /// If every key in `present` exists, reserve the next `count` numbers of the counter at
    /// `counter` and write every entry with its number ([`Write`]); returns the first number
    /// and the values of `present` in order, or `None` (nothing reserved or written) when a key
    /// in `present` is missing.
    ///
    /// The keys are read before the numbers are reserved, as a read before a write: not
    /// atomically with it. The writes go once the numbers are reserved, all at once, and this
    /// returns when all are persisted. A value too large once numbered spends its numbers and
    /// writes nothing, as a failed `set-many` after an `increment` would.
    pub async fn append(
        &self,
        target: &Target,
        present: Vec<String>,
        counter: &str,
        count: u32,
        writes: Vec<Write>,
    ) -> anyhow::Result<Option<(u64, Vec<Bytes>)>> {
        if count == 0 {
            bail!("append reserves at least one number");
        }
        if writes.iter().any(|w| w.offset >= count) {
            bail!("append writes beyond the numbers it reserves");
        }
        let found = self.get_many(target, present).await?;
        let Some(values) = found
            .into_iter()
            .map(|entry| entry.map(|(_, value)| value))
            .collect::<Option<Vec<Bytes>>>()
        else {
            return Ok(None);
        };
        let last = self.increment(target, counter, u64::from(count)).await?;
        let first = last - u64::from(count) + 1;
        let pairs = writes.iter().map(|w| w.render(first)).collect();
        self.set_many(target, pairs).await?;
        Ok(Some((first, values)))
    }

    /// How many counters the store remembers ([`Counters`]), for tests of the bound.
    pub fn counters_kept(&self) -> usize {
        self.counters.kept()
    }

    /// Values for `keys` in the same order; `Some((key, value))` where found. One request
    /// however many keys ([`multi_get`]).
    pub async fn get_many(
        &self,
        target: &Target,
        keys: Vec<String>,
    ) -> anyhow::Result<Vec<Option<(String, Bytes)>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let kv = self.bucket(target).await?;
        let subjects: Vec<String> = keys
            .iter()
            .map(|key| format!("{}{}", kv.prefix, keys::escape(key)))
            .collect();
        let values = multi_get::latest(&self.client, &kv.stream_name, &subjects)
            .await
            .with_context(|| format!("failed to get {} keys", keys.len()))?;
        Ok(keys
            .into_iter()
            .zip(values)
            .map(|(key, value)| value.map(|value| (key, value)))
            .collect())
    }

    /// Set every pair; sizes are checked first so an oversized value writes nothing.
    pub async fn set_many(
        &self,
        target: &Target,
        pairs: Vec<(String, Bytes)>,
    ) -> anyhow::Result<()> {
        if pairs.iter().any(|(_, v)| v.len() > target.max_value_bytes) {
            bail!("value too large");
        }
        futures::stream::iter(pairs)
            .map(|(key, value)| async move { self.set(target, &key, value).await })
            .buffer_unordered(BATCH_CONCURRENCY)
            .try_collect()
            .await
    }

    /// [`Self::delete`] every key, up to [`DELETE_CONCURRENCY`] at once.
    ///
    /// Not atomic: on error some keys may already be gone (as before).
    pub async fn delete_many(&self, target: &Target, keys: Vec<String>) -> anyhow::Result<()> {
        let kv = self.bucket(target).await?;
        let kv = &kv;
        futures::stream::iter(keys)
            .map(|key| async move {
                purge_key(kv, &key)
                    .await
                    .with_context(|| format!("failed to delete {key:?}"))
            })
            .buffer_unordered(DELETE_CONCURRENCY)
            .try_collect()
            .await
    }

    /// One page of the bucket's keys, sorted, starting at offset `cursor`.
    ///
    /// Returns the page and the cursor of the next one (`None` at the end).
    /// JetStream has no ordered key index, so each page re-reads all keys;
    /// the sort makes offsets stable between calls when nothing changed.
    pub async fn list_keys(
        &self,
        target: &Target,
        cursor: Option<u64>,
    ) -> anyhow::Result<(Vec<String>, Option<u64>)> {
        let kv = self.bucket(target).await?;
        let stored: Vec<String> = kv
            .keys()
            .await
            .context("failed to list keys")?
            .try_collect()
            .await
            .context("failed to list keys")?;
        let mut all: Vec<String> = stored
            .iter()
            .filter_map(|k| match keys::unescape(k) {
                Ok(key) => Some(key),
                Err(err) => {
                    warn!(bucket = %target.bucket, %err, "skipping key not written by this provider");
                    None
                }
            })
            .collect();
        all.sort_unstable();
        let start = cursor.map_or(0, |c| usize::try_from(c).unwrap_or(usize::MAX));
        let end = start.saturating_add(PAGE_SIZE).min(all.len());
        let page = all
            .get(start..end)
            .map(<[String]>::to_vec)
            .unwrap_or_default();
        let next = (end < all.len()).then_some(end as u64);
        Ok((page, next))
    }
}

/// Remove every message of `key`'s subject from the bucket's stream.
///
/// One `STREAM.PURGE` request with the subject as filter; a subject with no
/// messages purges nothing and succeeds.
async fn purge_key(kv: &kv::Store, key: &str) -> anyhow::Result<()> {
    let stored = keys::escape(key);
    // The filter is a subject pattern: a `*`, `>` or `.` in it could purge
    // other keys, or the whole bucket. escape() never produces them; check
    // anyway, since the cost of being wrong is everyone's data.
    if !stored
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/' | b'='))
    {
        bail!("escaped key {stored:?} is not a literal subject token");
    }
    let subject = format!("{}{stored}", kv.prefix);
    let response = kv.stream.purge().filter(subject).await?;
    if !response.success {
        bail!("JetStream refused the purge");
    }
    Ok(())
}

/// Shared [`KvStore`]s, one per distinct NATS URL.
#[derive(Default)]
pub struct Pool {
    stores: Mutex<HashMap<String, Arc<KvStore>>>,
}

impl Pool {
    /// The store for `url`, connecting on first use. Failed connections are
    /// not cached, so the next call tries again.
    pub async fn get(&self, url: &str) -> anyhow::Result<Arc<KvStore>> {
        let mut stores = self.stores.lock().await;
        if let Some(store) = stores.get(url) {
            return Ok(Arc::clone(store));
        }
        let store = Arc::new(KvStore::connect(url).await?);
        stores.insert(url.to_string(), Arc::clone(&store));
        Ok(store)
    }
}
