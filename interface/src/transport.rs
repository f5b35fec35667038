//! How a client is connected, as the gateway writes it into every session (`session.transport`)
//! and channels read it (actionhero's connection `type`).

/// A websocket connection.
pub const WEBSOCKET: &str = "websocket";
/// A TCP line socket: one frame per line.
pub const TCP: &str = "tcp";
/// A single plain HTTP request on a route that allows them (Faye's handshake): one request is a
/// whole connection, and what the actor sends is the response.
pub const HTTP: &str = "http";
