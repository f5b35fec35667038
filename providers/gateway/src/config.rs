//! The gateway's settings: the provider's own config (wadm.yaml `config:` on the provider) and,
//! per linked channel actor, the path it serves, optionally a TCP line address, and whether it
//! answers plain HTTP requests (the link's source config).

use std::{collections::HashMap, fmt, net::SocketAddr, time::Duration};

use anyhow::{bail, Context, Result};
use wcc_interface::grant::MIN_KEY_BYTES;

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
    /// How long a client may take to send its HTTP request: a websocket upgrade's head, or an
    /// HTTP exchange's head and body (`request_timeout_ms`, default 10000). Also how long a
    /// response may take to be written. A client that is slower is dropped.
    pub request_timeout: Duration,
    /// The key subscription grants are signed with (`subscription_key`, required): the same
    /// as the rooms actor's. The gateway subscribes a connection to a room only on a grant that
    /// verifies under it (see `session.rs`).
    pub subscription_key: SubscriptionKey,
    /// Client connections held at once, websocket and TCP lines together (`max_connections`,
    /// default 10000); more are refused (see `limits.rs`).
    pub max_connections: usize,
    /// Client connections held at once from one remote IP (`max_connections_per_address`,
    /// default 64).
    pub max_connections_per_address: usize,
}

impl GatewayConfig {
    /// Every setting at its default, with the one setting that has none.
    pub fn with_key(subscription_key: SubscriptionKey) -> Self {
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            nats_url: "nats://127.0.0.1:4222".into(),
            max_frame_bytes: 1024 * 1024,
            send_queue_frames: 1024,
            call_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(10),
            subscription_key,
            max_connections: 10_000,
            max_connections_per_address: 64,
        }
    }

    /// Reads the keys above from `values`; unknown keys are ignored, bad or missing required
    /// values are errors (the provider then does not start).
    pub fn from_map(values: &HashMap<String, String>) -> Result<Self> {
        let key = values.get("subscription_key").context(
            "the gateway needs `subscription_key` in its config (the rooms actor's grant key)",
        )?;
        let mut config = Self::with_key(SubscriptionKey::new(key)?);
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
        if let Some(ms) = values.get("request_timeout_ms") {
            let ms = at_least_one("request_timeout_ms", ms)?;
            config.request_timeout = Duration::from_millis(ms as u64);
        }
        if let Some(n) = values.get("max_connections") {
            config.max_connections = at_least_one("max_connections", n)?;
        }
        if let Some(n) = values.get("max_connections_per_address") {
            config.max_connections_per_address = at_least_one("max_connections_per_address", n)?;
        }
        Ok(config)
    }
}

fn at_least_one(name: &str, value: &str) -> Result<usize> {
    match value.parse() {
        Ok(0) | Err(_) => bail!("bad {name} `{value}` (want a whole number, at least 1)"),
        Ok(n) => Ok(n),
    }
}

/// The HMAC key of subscription grants: the UTF-8 bytes of `subscription_key`. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SubscriptionKey(Vec<u8>);

impl SubscriptionKey {
    /// Refuses keys shorter than `wcc_interface::grant::MIN_KEY_BYTES`.
    pub fn new(text: &str) -> Result<Self> {
        if text.len() < MIN_KEY_BYTES {
            bail!(
                "`subscription_key` is {} bytes; it needs at least {MIN_KEY_BYTES} \
                 (the launcher makes 64 hex digits)",
                text.len()
            );
        }
        Ok(Self(text.as_bytes().to_vec()))
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SubscriptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SubscriptionKey(..)")
    }
}

/// A channel actor linked to the gateway, the websocket path it answers, optionally the address
/// of its own TCP line listener, and whether plain HTTP requests at its path reach it.
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
    /// `http` in the link's source config (`true` or `false`, default `false`): a plain HTTP
    /// request at this path (no websocket upgrade) is one exchange with the actor, and CORS
    /// preflights are answered (see `exchange.rs`). Off, such a request gets 426 Upgrade
    /// Required. Faye's clients send their handshake over HTTP; no other client needs this.
    pub http: bool,
    /// `echo_to_sender` in the link's source config (default `true`): `false` for protocols
    /// whose clients show their own messages themselves (actionhero's chat page): an event a
    /// connection caused (its envelope's `origin`) is not sent back to that connection.
    pub echo_to_sender: bool,
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
        let http = match values.get("http").map(|value| value.trim()) {
            None | Some("" | "false") => false,
            Some("true") => true,
            Some(other) => bail!("bad http `{other}` (want true or false)"),
        };
        let echo_to_sender = match values.get("echo_to_sender").map(|value| value.trim()) {
            None | Some("" | "true") => true,
            Some("false") => false,
            Some(other) => bail!("bad echo_to_sender `{other}` (want true or false)"),
        };
        Ok(Self {
            path,
            protocol,
            component: component.to_string(),
            line_addr,
            http,
            echo_to_sender,
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

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn defaults_and_overrides() {
        let defaults = GatewayConfig::from_map(&map(&[("subscription_key", KEY)])).unwrap();
        let key = SubscriptionKey::new(KEY).unwrap();
        assert_eq!(defaults, GatewayConfig::with_key(key));
        assert_eq!(
            (
                defaults.max_connections,
                defaults.max_connections_per_address
            ),
            (10_000, 64)
        );
        assert_eq!(defaults.subscription_key.bytes(), KEY.as_bytes());
        let c = GatewayConfig::from_map(&map(&[
            ("subscription_key", KEY),
            ("listen_addr", "0.0.0.0:9000"),
            ("max_frame_bytes", "10"),
            ("send_queue_frames", "5"),
            ("call_timeout_ms", "250"),
            ("request_timeout_ms", "1500"),
            ("max_connections", "100"),
            ("max_connections_per_address", "3"),
        ]))
        .unwrap();
        assert_eq!(c.listen_addr.port(), 9000);
        assert_eq!((c.max_frame_bytes, c.send_queue_frames), (10, 5));
        assert_eq!(c.call_timeout, Duration::from_millis(250));
        assert_eq!(defaults.request_timeout, Duration::from_secs(10));
        assert_eq!(c.request_timeout, Duration::from_millis(1500));
        assert_eq!((c.max_connections, c.max_connections_per_address), (100, 3));
    }

    #[test]
    fn bad_values_are_errors() {
        for (name, value) in [
            ("listen_addr", "nowhere"),
            ("max_frame_bytes", "-1"),
            ("max_connections", "0"),
            ("max_connections", "many"),
            ("max_connections_per_address", "0"),
            ("request_timeout_ms", "0"),
        ] {
            let c = GatewayConfig::from_map(&map(&[("subscription_key", KEY), (name, value)]));
            assert!(c.is_err(), "{name} = {value}");
        }
    }

    #[test]
    fn the_subscription_key_is_required_long_enough_and_never_printed() {
        let missing = GatewayConfig::from_map(&HashMap::new()).unwrap_err();
        assert!(
            format!("{missing:#}").contains("subscription_key"),
            "{missing:#}"
        );
        let short = "x".repeat(MIN_KEY_BYTES - 1);
        let short = GatewayConfig::from_map(&map(&[("subscription_key", &short)])).unwrap_err();
        assert!(format!("{short:#}").contains("at least"), "{short:#}");
        assert!(GatewayConfig::from_map(&map(&[("subscription_key", "")])).is_err());
        let c = GatewayConfig::from_map(&map(&[("subscription_key", KEY)])).unwrap();
        assert!(!format!("{c:?}").contains(KEY));
    }

    #[test]
    fn routes_need_a_path() {
        let r = Route::from_link("c1", &map(&[("path", "venueless")])).unwrap();
        assert_eq!(
            (r.path.as_str(), r.protocol.as_str()),
            ("/venueless", "venueless")
        );
        assert_eq!(r.line_addr, None);
        assert!(!r.http, "plain HTTP is off unless a link asks for it");
        assert!(
            r.echo_to_sender,
            "a sender hears its own messages unless a link says not"
        );
        assert!(Route::from_link("c1", &HashMap::new()).is_err());
    }

    #[test]
    fn a_route_may_keep_a_senders_own_messages_from_it() {
        let route = |value: &str| {
            Route::from_link(
                "c4",
                &map(&[("path", "/actionhero"), ("echo_to_sender", value)]),
            )
        };
        assert!(!route("false").unwrap().echo_to_sender);
        assert!(route("true").unwrap().echo_to_sender);
        assert!(route("").unwrap().echo_to_sender);
        assert!(route("no").is_err());
    }

    #[test]
    fn a_route_may_answer_plain_http() {
        let route =
            |value: &str| Route::from_link("c3", &map(&[("path", "/faye"), ("http", value)]));
        assert!(route("true").unwrap().http);
        assert!(!route("false").unwrap().http);
        assert!(!route("").unwrap().http);
        for bad in ["yes", "1", "TRUE"] {
            assert!(route(bad).is_err(), "{bad}");
        }
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
