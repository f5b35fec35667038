//! The presence actor: who is online, counted per user and per channel.
//!
//! Gateways publish UserLoggedIn/UserLoggedOut once per connection; this actor keeps one session
//! per connection in a [`wcc_kv::LogSet`] (concurrent instances cannot lose each other's
//! updates) and answers queries by folding it. A user is online while any session remains, so
//! closing one tab or one protocol does not hide a user still connected elsewhere.
//!
//! The logic in [`sessions`] is plain Rust over [`wcc_kv::Store`], unit-tested natively; the wasm
//! shell (`component.rs`) only converts WIT values and supplies the real store and clock.

pub mod sessions;

#[cfg(target_arch = "wasm32")]
mod component;

pub use sessions::{handle_event, is_online, online_users, OnlineUser, Session};
