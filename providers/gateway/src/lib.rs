//! The gateway provider: the only part of wcc that holds client sockets.
//!
//! - [`config`]: typed settings from the provider config and the links to channel actors,
//! - [`session`]: what a channel actor's answer means for one connection (pure, tested),
//! - [`connection`]: one connection's life whatever its transport: the read loop that calls
//!   its channel actor for each frame and note in order, and what the answers mean,
//! - [`listener`]: the HTTP port every client connects to, routed by path: a websocket, one
//!   plain HTTP exchange, or a refusal,
//! - [`http`]: the request heads and plain responses of that port (pure, tested),
//! - [`websocket`]: the websocket upgrade, its frames and writer,
//! - [`exchange`]: one plain HTTP request as a whole connection (Faye's handshake), with its
//!   JSON or JSONP answer and CORS,
//! - [`limits`]: the connection caps, in all and per remote address, and their RAII slots,
//! - [`lines`]: TCP line listeners for channels with a `line_addr`, one frame per line,
//! - [`outbound`]: the transport-neutral outbound frame and each connection's send queue,
//! - [`notes`]: notes for particular local sessions, by connection id or user,
//! - [`fanout`]: one NATS subscription per room with local subscribers; each event is rendered
//!   once per protocol by its channel actor and the same bytes go to every local subscriber,
//! - [`channels`]: the wRPC calls into channel actors,
//! - [`stats`]: counters and process usage, answered on NATS `wcc.gateway.stats`,
//! - [`heartbeat`]: `GatewayAlive` every 5 s, so presence can expire a dead gateway's sessions,
//! - [`provider`]: the wasmCloud provider lifecycle (config, links, shutdown),
//! - [`missed_links`]: links the host announced before the gateway could hear them.

pub mod channels;
pub mod config;
pub mod connection;
pub mod exchange;
pub mod fanout;
pub mod heartbeat;
pub mod http;
pub mod limits;
pub mod lines;
pub mod listen;
pub mod listener;
pub mod missed_links;
pub mod notes;
pub mod outbound;
pub mod provider;
pub mod session;
pub mod stats;
pub mod websocket;

pub use provider::run;
