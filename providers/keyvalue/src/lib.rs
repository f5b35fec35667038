//! wcc key-value capability provider: serves `wrpc:keyvalue@0.2.0-draft`
//! (the wRPC form of `wasi:keyvalue` that wasmCloud hosts forward component
//! imports to) and wcc's own `wcc:keyvalue/log` on NATS JetStream KV.
//!
//! Module map, from the wire inwards:
//! - [`bindings`]: server bindings generated from `wit/keyvalue.wit`.
//! - [`service`]: the wRPC handlers; convert types and map errors to
//!   `error::other(message)`.
//! - [`provider`]: the wasmCloud `Provider` lifecycle; keeps provider-wide and
//!   per-link [`config::Settings`] and the shared NATS connections.
//! - [`config`]: typed settings parsed from config maps.
//! - [`counters`]: group commit of increments, which `increment` and `append` number with.
//! - [`store`]: the JetStream KV operations (no wRPC types; integration-tested
//!   against a real nats-server).
//! - [`multi_get`]: `get-many` as one JetStream request (multi-subject direct get).
//! - [`keys`]: reversible escaping of arbitrary component keys into KV keys.
//! - [`invocations`]: runs each accepted call as a task and reaps it when it ends.

pub mod config;
pub mod counters;
pub mod invocations;
pub mod keys;
pub mod multi_get;
pub mod provider;
pub mod service;
pub mod store;

/// Generated wRPC server bindings; `bindings::serve` registers all exports.
pub mod bindings {
    wit_bindgen_wrpc::generate!({ world: "provider", path: "wit", generate_all });
}

pub use provider::KeyValueProvider;
