//! The gateway provider: the only part of wcc that holds client sockets.
//!
//! - [`config`]: typed settings from the provider config and the links to channel actors,
//! - [`session`]: what a channel actor's answer means for one connection (pure, tested),
//! - [`socket`]: the websocket listener and each connection's read and write loops,
//! - [`fanout`]: one NATS subscription per room with local subscribers; each event is rendered
//!   once per protocol by its channel actor and the same bytes go to every local subscriber,
//! - [`channels`]: the wRPC calls into channel actors,
//! - [`stats`]: counters and process usage, answered on NATS `wcc.gateway.stats`,
//! - [`provider`]: the wasmCloud provider lifecycle (config, links, shutdown).

pub mod channels;
pub mod config;
pub mod fanout;
pub mod provider;
pub mod session;
pub mod socket;
pub mod stats;

pub use provider::run;
