//! The wasmCloud side: config at start, links to channel actors as routes (a websocket path and
//! maybe a TCP line listener), clean shutdown.

use std::sync::{atomic::AtomicU64, Arc};

use anyhow::Context;
use tokio::sync::{watch, OnceCell};
use tracing::{info, warn};
use tracing_subscriber::EnvFilter;
use wasmcloud_provider_sdk::{
    run_provider, LinkConfig, LinkDeleteInfo, Provider, ProviderInitConfig,
};

use crate::{
    channels::Channels,
    config::{GatewayConfig, Route},
    connection::Server,
    fanout::Fanout,
    heartbeat,
    limits::ConnectionLimits,
    lines, listen, listener, missed_links, notes, stats,
};

#[derive(Clone)]
struct Gateway {
    server: Arc<OnceCell<Arc<Server>>>,
    stop: Arc<watch::Sender<bool>>,
}

impl Gateway {
    /// Starts serving the channel a link names: its websocket path and, if asked, a line listener.
    async fn serve_link(&self, link: LinkConfig<'_>) -> anyhow::Result<()> {
        let route = Route::from_link(link.target_id, link.config)?;
        let server = self.server.get().context("link before init")?;
        info!(path = %route.path, component = %route.component, line_addr = ?route.line_addr, "serving channel");
        server
            .routes
            .write()
            .await
            .insert(route.path.clone(), route.clone());
        server
            .lines
            .link(&route, |socket, route| {
                tokio::spawn(lines::serve(socket, route, Arc::clone(server)))
            })
            .await
    }
}

/// Runs the provider until the host stops it.
pub async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let (stop, _) = watch::channel(false);
    let gateway = Gateway {
        server: Arc::default(),
        stop: Arc::new(stop),
    };
    let done = run_provider(gateway.clone(), "wcc-gateway")
        .await
        .context("provider failed to start")?;
    let recovering = gateway.clone();
    tokio::spawn(async move { missed_links::recover(&recovering).await });
    tokio::select! {
        () = done => {}
        // A host killed outright never says shut down; its gateway must not live on holding the
        // port. Stopping the same way still publishes every logout and closes sockets with 1001.
        () = wcc_parent_watch::parent_gone() => {
            warn!("host gone: stopping");
            gateway.shutdown().await?;
        }
    }
    Ok(())
}

impl Provider for Gateway {
    async fn init(&self, init: impl ProviderInitConfig) -> anyhow::Result<()> {
        let config = GatewayConfig::from_map(init.get_config())?;
        let nats = async_nats::connect(&config.nats_url)
            .await
            .with_context(|| format!("cannot reach NATS at {}", config.nats_url))?;
        let port = listen::shared(config.listen_addr)
            .with_context(|| format!("cannot listen on {}", config.listen_addr))?;
        info!(
            addr = %config.listen_addr,
            max_connections = config.max_connections,
            max_connections_per_address = config.max_connections_per_address,
            "gateway listening"
        );
        // Subscribed before any connection exists, so no connection can miss a note.
        let note_subscription = nats
            .subscribe(wcc_interface::notes::SUBJECT_WILDCARD)
            .await
            .context("cannot subscribe to notes")?;
        let channels = Channels::new(&config.nats_url, config.call_timeout).await?;
        let server = Arc::new(Server {
            fanout: Fanout::new(nats.clone(), channels.clone()),
            channels,
            limits: ConnectionLimits::new(
                config.max_connections,
                config.max_connections_per_address,
            ),
            nats,
            routes: Default::default(),
            lines: Default::default(),
            notes: Default::default(),
            instance: uuid::Uuid::new_v4().simple().to_string()[..12].to_string(),
            next_connection: AtomicU64::new(1),
            shutdown: self.stop.subscribe(),
            config,
        });
        // Presence learns of this gateway before any of its logins (same NATS connection), and
        // from then on every interval until the stop, so a gateway that dies without logging its
        // connections out has them expired.
        heartbeat::beat(&server.nats, &server.instance, server.fanout.stats()).await;
        self.server
            .set(Arc::clone(&server))
            .ok()
            .context("gateway initialised twice")?;
        tokio::spawn(heartbeat::serve(Arc::clone(&server), self.stop.subscribe()));
        let stats_server = Arc::clone(&server);
        tokio::spawn(async move {
            let s = &stats_server;
            stats::serve(s.nats.clone(), s.fanout.stats(), &s.instance).await;
        });
        let notes_server = Arc::clone(&server);
        tokio::spawn(async move { notes::serve(note_subscription, &notes_server.notes).await });
        tokio::spawn(listener::serve(port, server));
        Ok(())
    }

    async fn receive_link_config_as_source(&self, link: LinkConfig<'_>) -> anyhow::Result<()> {
        // wadm does not put a refused link again (`missed_links` retries it for a while after
        // start, no more), so an unserved channel must show where operators look.
        let target = link.target_id.to_owned();
        let served = self.serve_link(link).await;
        if let Err(e) = &served {
            warn!(component = %target, "channel link refused, its path is not served: {e:#}");
        }
        served
    }

    async fn delete_link_as_source(&self, info: impl LinkDeleteInfo) -> anyhow::Result<()> {
        if let Some(server) = self.server.get() {
            let target = info.get_target_id();
            server
                .routes
                .write()
                .await
                .retain(|_, route| route.component != target);
            server.lines.unlink(target).await;
        }
        Ok(())
    }

    async fn shutdown(&self) -> anyhow::Result<()> {
        // Connections publish their logouts and close with 1001 "going away"; the heartbeat
        // stops, and presence forgets this gateway once it is overdue (nothing left to expire).
        let _ = self.stop.send(true);
        if let Some(server) = self.server.get() {
            server.lines.stop_all().await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        Ok(())
    }
}
