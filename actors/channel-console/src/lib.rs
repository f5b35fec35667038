//! The operators' console feed: what the admin console in the browser hears live.
//!
//! The console page (served by the admin HTTP API) opens a websocket to the gateway's `/console`
//! path and signs in with the admin token, the same token and the same check
//! (`wcc_policy::admin_token`) as the admin API. From then on the connection is the operator's
//! (session user `ids::OPERATOR`) and hears the lattice's events (logins, logouts, gateway
//! heartbeats with their figures), plus the rooms it asks to watch, as the core grants them to
//! `Principal::Operator`. The feed only reads: every change the console makes goes through the
//! admin API, so the console has no power `curl` has not.
//!
//! - [`codec`]: frame text -> [`codec::Command`]; answers and events -> frame text,
//! - [`handler`]: (session, command, backend) -> outcome,
//! - [`session`]: what a connection remembers between frames.

pub mod codec;
pub mod handler;
pub mod session;

#[cfg(test)]
mod tests;

use channel_kit::{Backend, Channel, Frame, Outcome, Session};

/// The name this protocol goes by in the core (`channel` of the console's login).
pub const CHANNEL: &str = "console";

/// The operators' console as the gateway drives it.
pub struct Console;

impl Channel for Console {
    /// The client speaks first (its token); there is no greeting.
    fn opened(session: Session, _backend: &impl Backend) -> Outcome {
        Outcome::nothing(session)
    }

    fn received(session: Session, frame: Frame, backend: &impl Backend) -> Outcome {
        handler::received(session, frame, backend)
    }

    /// Watching leaves nothing in the core: nothing to tidy up.
    fn closed(_session: Session, _backend: &impl Backend) {}

    fn render(event: &str, _backend: &impl Backend) -> Option<String> {
        codec::event(event)
    }
}

#[cfg(target_arch = "wasm32")]
channel_kit::export_channel!(Console);
