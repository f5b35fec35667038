//! wRPC handlers: translate `wrpc:keyvalue` calls into [`crate::store`] calls.
//!
//! Every handler resolves the caller's settings and bucket, runs the store
//! operation, and reports any failure as `error::other(message)`, since
//! JetStream failures do not map onto `no-such-store`/`access-denied` (buckets
//! are created on demand). Returning `Ok(Err(..))` rather than an `anyhow`
//! error keeps transport failures and store failures distinct for the host.

use std::future::Future;

use bytes::Bytes;
use wasmcloud_provider_sdk::Context;

use crate::bindings::exports::wcc::keyvalue::log;
use crate::bindings::exports::wrpc::keyvalue::{atomics, batch, store};
use crate::provider::KeyValueProvider;
use crate::store::{KvStore, Write};

type Reply<T> = anyhow::Result<Result<T, store::Error>>;

impl KeyValueProvider {
    /// Resolve the bucket for `cx` and run `op`, mapping every error to `other`.
    async fn call<T, F, Fut>(&self, cx: Option<Context>, bucket: String, op: F) -> Reply<T>
    where
        F: FnOnce(std::sync::Arc<KvStore>, crate::config::Target) -> Fut,
        Fut: Future<Output = anyhow::Result<T>>,
    {
        let result = match self.resolve(cx.as_ref(), &bucket).await {
            Ok((kv, target)) => op(kv, target).await,
            Err(err) => Err(err),
        };
        Ok(result.map_err(|err| {
            tracing::debug!(bucket, error = %format!("{err:#}"), "keyvalue call failed");
            store::Error::Other(format!("{err:#}"))
        }))
    }
}

impl store::Handler<Option<Context>> for KeyValueProvider {
    async fn get(&self, cx: Option<Context>, bucket: String, key: String) -> Reply<Option<Bytes>> {
        self.call(cx, bucket, |kv, t| async move { kv.get(&t, &key).await })
            .await
    }

    async fn set(
        &self,
        cx: Option<Context>,
        bucket: String,
        key: String,
        value: Bytes,
    ) -> Reply<()> {
        self.call(
            cx,
            bucket,
            |kv, t| async move { kv.set(&t, &key, value).await },
        )
        .await
    }

    async fn delete(&self, cx: Option<Context>, bucket: String, key: String) -> Reply<()> {
        self.call(cx, bucket, |kv, t| async move { kv.delete(&t, &key).await })
            .await
    }

    async fn exists(&self, cx: Option<Context>, bucket: String, key: String) -> Reply<bool> {
        self.call(cx, bucket, |kv, t| async move { kv.exists(&t, &key).await })
            .await
    }

    async fn list_keys(
        &self,
        cx: Option<Context>,
        bucket: String,
        cursor: Option<u64>,
    ) -> Reply<store::KeyResponse> {
        self.call(cx, bucket, |kv, t| async move {
            let (keys, cursor) = kv.list_keys(&t, cursor).await?;
            Ok(store::KeyResponse { keys, cursor })
        })
        .await
    }
}

impl atomics::Handler<Option<Context>> for KeyValueProvider {
    async fn increment(
        &self,
        cx: Option<Context>,
        bucket: String,
        key: String,
        delta: u64,
    ) -> Reply<u64> {
        self.call(cx, bucket, |kv, t| async move {
            kv.increment(&t, &key, delta).await
        })
        .await
    }
}

impl batch::Handler<Option<Context>> for KeyValueProvider {
    async fn get_many(
        &self,
        cx: Option<Context>,
        bucket: String,
        keys: Vec<String>,
    ) -> Reply<Vec<Option<(String, Bytes)>>> {
        self.call(
            cx,
            bucket,
            |kv, t| async move { kv.get_many(&t, keys).await },
        )
        .await
    }

    async fn set_many(
        &self,
        cx: Option<Context>,
        bucket: String,
        key_values: Vec<(String, Bytes)>,
    ) -> Reply<()> {
        self.call(cx, bucket, |kv, t| async move {
            kv.set_many(&t, key_values).await
        })
        .await
    }

    async fn delete_many(
        &self,
        cx: Option<Context>,
        bucket: String,
        keys: Vec<String>,
    ) -> Reply<()> {
        self.call(
            cx,
            bucket,
            |kv, t| async move { kv.delete_many(&t, keys).await },
        )
        .await
    }
}

impl log::Handler<Option<Context>> for KeyValueProvider {
    async fn append(
        &self,
        cx: Option<Context>,
        bucket: String,
        present: Vec<String>,
        counter: String,
        count: u32,
        writes: Vec<log::NumberedWrite>,
    ) -> anyhow::Result<Result<Option<log::Appended>, String>> {
        let writes = writes
            .into_iter()
            .map(|w| Write {
                offset: w.offset,
                key: w.key,
                key_ends_with_number: w.key_ends_with_number,
                value: w.value,
                value_number_at: w.value_number_at,
            })
            .collect();
        let result = self
            .call(cx, bucket, |kv, t| async move {
                let appended = kv.append(&t, present, &counter, count, writes).await?;
                Ok(appended.map(|(first, present)| log::Appended { first, present }))
            })
            .await?;
        // This interface's error is the reason alone.
        Ok(result.map_err(|e| match e {
            store::Error::Other(reason) => reason,
            other => format!("{other:?}"),
        }))
    }
}
