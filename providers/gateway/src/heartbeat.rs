//! The gateway's heartbeat: `GatewayAlive` on `wcc.events`, once before the first connection
//! and then every [`GATEWAY_ALIVE_INTERVAL_MS`] until the gateway stops.
//!
//! A gateway killed outright never publishes the logouts of its connections. Presence hears the
//! heartbeats of every gateway and ends the sessions of one it has not heard from for three
//! intervals (see the presence actor's `gateways` module). A gateway that stops cleanly has
//! logged every connection out already and simply falls silent.

use std::{sync::Arc, time::Duration};

use tokio::{sync::watch, time::MissedTickBehavior};
use tracing::warn;
use wcc_interface::{
    clock::now_ms,
    events::{self, GatewayStats, GATEWAY_ALIVE_INTERVAL_MS},
    Envelope, Event,
};

use crate::{connection::Server, stats::Stats};

/// The heartbeat of gateway `instance` at `now_ms`, as published. It carries the gateway's
/// figures, so an operator's console charts every gateway without asking each one.
pub fn alive(instance: &str, stats: GatewayStats, now_ms: u64) -> Envelope {
    Envelope::new(
        Event::GatewayAlive {
            gateway: instance.to_owned(),
            interval_ms: GATEWAY_ALIVE_INTERVAL_MS,
            stats: Some(stats),
        },
        now_ms,
    )
}

/// Publishes one heartbeat. On the connection the session events use, so NATS delivers it
/// before any login this gateway publishes afterwards.
pub async fn beat(nats: &async_nats::Client, instance: &str, stats: &Stats) {
    let body = alive(instance, stats.snapshot(), now_ms()).to_json();
    if let Err(e) = nats.publish(events::GLOBAL_SUBJECT, body.into()).await {
        warn!("failed to publish the gateway heartbeat: {e}");
    }
}

/// Beats every interval until `shutdown` turns true (or its sender is gone). The first beat is
/// the caller's ([`beat`] before serving connections), so this one waits an interval first.
pub async fn serve(server: Arc<Server>, mut shutdown: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(Duration::from_millis(GATEWAY_ALIVE_INTERVAL_MS));
    // After a stall, beat once and keep the rhythm; a burst of late beats tells presence nothing.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticks.tick().await; // the first tick completes at once
    loop {
        tokio::select! {
            _ = ticks.tick() => beat(&server.nats, &server.instance, server.fanout.stats()).await,
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heartbeat_names_the_gateway_and_its_interval() {
        let stats = GatewayStats {
            connections: 3,
            deliveries: 40,
            rss_bytes: 1 << 20,
            ..GatewayStats::default()
        };
        let json = alive("0123456789ab", stats.clone(), 1_700_000_000_000).to_json();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["v"], 1);
        assert_eq!(value["at"], 1_700_000_000_000u64);
        assert_eq!(value["type"], "GatewayAlive");
        assert_eq!(value["data"]["gateway"], "0123456789ab");
        assert_eq!(value["data"]["interval_ms"], GATEWAY_ALIVE_INTERVAL_MS);
        assert_eq!(value["data"]["stats"]["connections"], 3);
        assert_eq!(value["data"]["stats"]["deliveries"], 40);
        assert_eq!(
            Envelope::parse(json.as_bytes()).map(|e| e.event),
            Some(Event::GatewayAlive {
                gateway: "0123456789ab".into(),
                interval_ms: 5_000,
                stats: Some(stats),
            })
        );
    }

    #[test]
    fn connection_ids_lead_back_to_the_gateway_that_beats() {
        let instance = "0123456789ab";
        let id = events::connection_id(instance, 17);
        assert_eq!(events::connection_gateway(&id), instance);
    }
}
