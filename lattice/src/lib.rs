//! The wcc launcher: a local wasmCloud 1.x lattice built only from crates.io parts.
//!
//! - [`host`]: a wasmCloud host (the `wasmcloud-host` library),
//! - [`wadm`]: the deployment manager (the `wadm` library),
//! - [`deploy`]: wadm's NATS API for putting and deploying a manifest,
//! - [`manifest`]: filling `wadm.yaml`'s placeholders,
//! - [`readiness`]: which providers a host waits for before it takes component calls,
//! - [`local`]: all of it as child processes, for `up`, the tests and the benchmarks,
//! - [`secrets`]: the admin token and the subscription key, kept in the state folder,
//! - [`admin`]: `wcc-lattice admin`, the operator's commands over the admin HTTP API.

pub mod admin;
pub mod deploy;
#[cfg(feature = "runtime")]
pub mod host;
pub mod local;
pub mod manifest;
pub mod package;
pub mod readiness;
pub mod secrets;
#[cfg(feature = "runtime")]
pub mod wadm;

/// Resolves on Ctrl-C or SIGTERM, whichever comes first.
pub async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
