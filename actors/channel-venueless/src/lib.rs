//! The venueless chat front door of wcc.
//!
//! venueless clients speak JSON arrays over a websocket (`[action, id, payload]` requests,
//! `["success"|"error", id, {...}]` replies, `[name, payload]` pushes). The gateway provider holds
//! the socket and calls this component once per frame; everything here is a pure translation
//! between those frames and wcc's core actors (messages, rooms, users).
//!
//! The core is written without bindings so it is unit-tested natively:
//! - [`codec`]: frame text -> [`codec::Request`] or a protocol error; replies -> frame text,
//! - [`session`]: what this protocol remembers about one connection, carried by the gateway,
//! - [`handler`]: the state machine (session, request, backend) -> outcome; its `chat.*`
//!   actions live in `chat`,
//! - [`render`]: room events -> `chat.event` pushes, once for every subscriber,
//! - [`backend`]: the core-actor operations the handler needs, as a trait,
//! - [`codes`]: the venueless error codes and how core failures map to them.
//!
//! Only `component` (wasm32 only) touches the generated WIT bindings.

pub mod backend;
mod chat;
pub mod codec;
pub mod codes;
pub mod handler;
pub mod render;
pub mod session;

#[cfg(target_arch = "wasm32")]
mod component;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

/// The name this protocol goes by in the core (`channel` of logins, joins and messages).
pub const CHANNEL: &str = "venueless";
