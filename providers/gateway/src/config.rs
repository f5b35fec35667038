//! The gateway's settings: the provider's own config (wadm.yaml `config:` on the provider) and,
//! per linked channel actor, the path it serves and optionally a TCP line address (the link's
//! source config).

use std::{collections::HashMap, net::SocketAddr, time::Duration};

use anyhow::{Context, Result};

/// Provider-wide settings.
#[derive(Clone, Debug, PartialEq)]
pub struct GatewayConfig {
    /// Where the websocket listener binds (`listen_addr`, default `127.0.0.1:8080`).
    pub listen_addr: SocketAddr,
    /// NATS for room events and login events (`nats_url`, default `nats://127.0.0.1:4222`).
    pub nats_url: String,
    /// Largest inbound frame handed to a channel actor (`max_frame_bytes`, default 1 MiB);
    /// larger ones are answered with the protocol's error and the connection stays open.
    pub max_frame_bytes: usize,
    /// Frames queued for one connection before it counts as a slow consumer and is closed
    /// (`send_queue_frames`, default 1024). Bounds memory under overload.
    pub send_queue_frames: usize,
    /// How long one call into a channel actor may take (`call_timeout_ms`, default 10000).
    pub call_timeout: Duration,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            nats_url: "nats://127.0.0.1:4222".into(),
            max_frame_bytes: 1024 * 1024,
            send_queue_frames: 1024,
            call_timeout: Duration::from_secs(10),
        }
    }
}

impl GatewayConfig {
    /// Reads the keys above from `values`; unknown keys are ignored, bad values are errors.
    pub fn from_map(values: &HashMap<String, String>) -> Result<Self> {
        let mut config = Self::default();
        if let Some(addr) = values.get("listen_addr") {
            config.listen_addr = addr
                .parse()
                .with_context(|| format!("bad listen_addr `{addr}`"))?;
        }
        if let Some(url) = values.get("nats_url") {
            config.nats_url = url.clone();
        }
        if let Some(n) = values.get("max_frame_bytes") {
            config.max_frame_bytes = n
                .parse()
                .with_context(|| format!("bad max_frame_bytes `{n}`"))?;
        }
        if let Some(n) = values.get("send_queue_frames") {
            config.send_queue_frames = n
                .parse()
                .with_context(|| format!("bad send_queue_frames `{n}`"))?;
        }
        if let Some(ms) = values.get("call_timeout_ms") {
            let ms: u64 = ms
                .parse()
                .with_context(|| format!("bad call_timeout_ms `{ms}`"))?;
            config.call_timeout = Duration::from_millis(ms);
        }
        Ok(config)
    }
}

/// A channel actor linked to the gateway, the websocket path it answers and, optionally, the
/// address of its own TCP line listener.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    /// `path` in the link's source config, e.g. `/venueless`.
    pub path: String,
    /// The protocol's name, used in events (`protocol`, default: the path without `/`).
    pub protocol: String,
    /// The component id wadm gave the actor.
    pub component: String,
    /// `line_addr` in the link's source config, e.g. `127.0.0.1:5000`: the gateway also serves
    /// this actor to plain TCP clients there, one frame per line.
    pub line_addr: Option<SocketAddr>,
}

impl Route {
    pub fn from_link(component: &str, values: &HashMap<String, String>) -> Result<Self> {
        let path = values
            .get("path")
            .context("link to a channel actor needs `path` in its source config")?;
        let path = if path.starts_with('/') {
            path.clone()
        } else {
            format!("/{path}")
        };
        let protocol = values
            .get("protocol")
            .cloned()
            .unwrap_or_else(|| path.trim_start_matches('/').to_string());
        // An empty value is no listener (handy for templated configs).
        let line_addr = values
            .get("line_addr")
            .filter(|addr| !addr.trim().is_empty())
            .map(|addr| {
                addr.trim()
                    .parse()
                    .with_context(|| format!("bad line_addr `{addr}` (want ip:port)"))
            })
            .transpose()?;
        Ok(Self {
            path,
            protocol,
            component: component.to_string(),
            line_addr,
        })
    }
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
    fn defaults_and_overrides() {
        assert_eq!(
            GatewayConfig::from_map(&HashMap::new()).unwrap(),
            GatewayConfig::default()
        );
        let c = GatewayConfig::from_map(&map(&[
            ("listen_addr", "0.0.0.0:9000"),
            ("max_frame_bytes", "10"),
            ("send_queue_frames", "5"),
            ("call_timeout_ms", "250"),
        ]))
        .unwrap();
        assert_eq!(c.listen_addr.port(), 9000);
        assert_eq!((c.max_frame_bytes, c.send_queue_frames), (10, 5));
        assert_eq!(c.call_timeout, Duration::from_millis(250));
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(GatewayConfig::from_map(&map(&[("listen_addr", "nowhere")])).is_err());
        assert!(GatewayConfig::from_map(&map(&[("max_frame_bytes", "-1")])).is_err());
    }

    #[test]
    fn routes_need_a_path() {
        let r = Route::from_link("c1", &map(&[("path", "venueless")])).unwrap();
        assert_eq!(
            (r.path.as_str(), r.protocol.as_str()),
            ("/venueless", "venueless")
        );
        assert_eq!(r.line_addr, None);
        assert!(Route::from_link("c1", &HashMap::new()).is_err());
    }

    #[test]
    fn routes_may_have_a_line_address() {
        let r = Route::from_link(
            "c2",
            &map(&[
                ("path", "/actionhero"),
                ("protocol", "actionhero"),
                ("line_addr", "127.0.0.1:5000"),
            ]),
        )
        .unwrap();
        assert_eq!(r.line_addr, Some(SocketAddr::from(([127, 0, 0, 1], 5000))));
        assert_eq!(
            (r.path.as_str(), r.component.as_str()),
            ("/actionhero", "c2")
        );
        let v6 = Route::from_link("c2", &map(&[("path", "/a"), ("line_addr", "[::1]:5001")]));
        assert_eq!(v6.unwrap().line_addr.map(|a| a.port()), Some(5001));
        let none = Route::from_link("c2", &map(&[("path", "/a"), ("line_addr", "")]));
        assert_eq!(none.unwrap().line_addr, None);
        for bad in ["5000", "localhost:5000", "127.0.0.1"] {
            let r = Route::from_link("c2", &map(&[("path", "/a"), ("line_addr", bad)]));
            assert!(r.is_err(), "{bad}");
        }
    }
}
