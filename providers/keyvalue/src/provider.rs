//! Provider lifecycle: configuration from the host and per-link settings.
//!
//! The host hands us the provider's config once at `init`, then a link config
//! for every component linked to us. A call only tells us the calling
//! component and link name (via the wRPC invocation context), so settings are
//! kept per `(source component, link name)` and looked up on every call;
//! calls without a matching link use the provider-wide settings.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::RwLock;
use tracing::{debug, info};
use wasmcloud_provider_sdk::{
    Context, LinkConfig, LinkDeleteInfo, Provider, ProviderConfigUpdate, ProviderInitConfig,
};

use crate::config::{Settings, Target};
use crate::store::{KvStore, Pool};

/// `(source component id, link name)`.
type LinkKey = (String, String);

/// A link's raw config, kept so provider config updates can be re-applied.
struct LinkState {
    raw: HashMap<String, String>,
    settings: Settings,
}

/// The provider; cheap to clone, all clones share state.
#[derive(Clone, Default)]
pub struct KeyValueProvider {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    defaults: RwLock<Settings>,
    links: RwLock<HashMap<LinkKey, LinkState>>,
    pool: Pool,
}

impl KeyValueProvider {
    /// The store and bucket a call from `cx` naming `bucket` should use.
    pub async fn resolve(
        &self,
        cx: Option<&Context>,
        bucket: &str,
    ) -> anyhow::Result<(Arc<KvStore>, Target)> {
        let settings = self.settings_for(cx).await;
        let target = settings.target(bucket)?;
        let store = self.inner.pool.get(&settings.nats_url).await?;
        Ok((store, target))
    }

    async fn settings_for(&self, cx: Option<&Context>) -> Settings {
        if let Some(cx) = cx {
            if let Some(source) = cx.component.as_deref() {
                let key = (source.to_string(), cx.link_name().to_string());
                if let Some(link) = self.inner.links.read().await.get(&key) {
                    return link.settings.clone();
                }
            }
        }
        self.inner.defaults.read().await.clone()
    }
}

impl Provider for KeyValueProvider {
    async fn init(&self, config: impl ProviderInitConfig) -> anyhow::Result<()> {
        let settings =
            Settings::from_map(config.get_config()).context("invalid provider config")?;
        info!(nats_url = %settings.nats_url, prefix = %settings.bucket_prefix, "keyvalue provider configured");
        *self.inner.defaults.write().await = settings;
        Ok(())
    }

    /// New provider config: rebuild the defaults and every link derived from them.
    async fn on_config_update(&self, update: impl ProviderConfigUpdate) -> anyhow::Result<()> {
        let defaults =
            Settings::from_map(update.get_values()).context("invalid provider config update")?;
        let mut links = self.inner.links.write().await;
        let mut rebuilt = HashMap::with_capacity(links.len());
        for (key, link) in links.iter() {
            let settings = defaults
                .overlay(&link.raw)
                .with_context(|| format!("link from {} no longer valid", key.0))?;
            rebuilt.insert(key.clone(), settings);
        }
        for (key, settings) in rebuilt {
            if let Some(link) = links.get_mut(&key) {
                link.settings = settings;
            }
        }
        *self.inner.defaults.write().await = defaults;
        Ok(())
    }

    async fn receive_link_config_as_target(&self, link: LinkConfig<'_>) -> anyhow::Result<()> {
        let defaults = self.inner.defaults.read().await.clone();
        let settings = defaults
            .overlay(link.config)
            .with_context(|| format!("invalid link config from {}", link.source_id))?;
        debug!(
            source = link.source_id,
            link = link.link_name,
            ?settings,
            "link received"
        );
        let state = LinkState {
            raw: link.config.clone(),
            settings,
        };
        self.inner.links.write().await.insert(
            (link.source_id.to_string(), link.link_name.to_string()),
            state,
        );
        Ok(())
    }

    async fn delete_link_as_target(&self, info: impl LinkDeleteInfo) -> anyhow::Result<()> {
        let key = (
            info.get_source_id().to_string(),
            info.get_link_name().to_string(),
        );
        self.inner.links.write().await.remove(&key);
        debug!(source = key.0, link = key.1, "link deleted");
        Ok(())
    }

    async fn shutdown(&self) -> anyhow::Result<()> {
        self.inner.links.write().await.clear();
        Ok(())
    }
}
