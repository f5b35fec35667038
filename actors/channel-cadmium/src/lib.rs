//! The Cadmium front door of wcc: private chats (direct messages) with read receipts, typing
//! notifications and typed content, per the seed `cadmium-private-chats.md`, in the forms the
//! Cadmium protocol documents (cadmium-docs-legacy `protocol-spec/`) write them.
//!
//! Cadmium clients send JSON objects `{id, type, to, authToken, payload}` over a websocket and get
//! `{id, type, from, ok, payload}` back. A private chat with a user is that user's direct room
//! (named by their wcc user id), so a message sent here reaches every session of the recipient
//! on every protocol, and their replies from anywhere reach every Cadmium session of ours.
//! Edits and deletions follow the chats proposal (CPE#4); the documents have no reactions.
//!
//! - [`codec`]: frame text -> [`codec::Request`] -> [`codec::Command`]; replies and errors ->
//!   frame text; addresses and message ids,
//! - [`content`]: Cadmium message payloads <-> wcc's protocol-neutral message content,
//! - [`handler`]: the state machine (session, request, backend) -> outcome,
//! - [`render`]: room events -> the pushes the recipient's sessions get,
//! - [`errors`]: the `errID`s a client can receive and how core failures map to them,
//! - [`session`]: what a connection remembers between frames.

pub mod codec;
pub mod content;
pub mod errors;
pub mod handler;
pub mod render;
pub mod session;

#[cfg(test)]
mod documented_tests;
#[cfg(test)]
mod edit_tests;
#[cfg(test)]
mod ratelimit_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod together_tests;

use channel_kit::ratelimit::Limit;
use channel_kit::{Backend, Channel, Frame, Outcome, Session};

/// The name this protocol goes by in the core (`channel` of logins and messages).
pub const CHANNEL: &str = "cadmium";

/// Setting: the server name in `from` and in addresses (`@user@<server>`).
pub const SERVER_NAME_KEY: &str = "server_name";
pub const DEFAULT_SERVER_NAME: &str = "wcc.local";
/// Setting: `false` turns registration off (`reg_disabled`).
pub const REGISTRATION_KEY: &str = "registration";
/// Settings of the shared rate limiter, on by default (`0` turns it off); read in channel-kit.
pub use channel_kit::ratelimit::{RATE_BURST_KEY, RATE_LIMIT_KEY};

/// Cadmium as the gateway drives it.
pub struct Cadmium;

impl Channel for Cadmium {
    /// Cadmium clients speak first (login or a request with a token); there is no greeting.
    fn opened(session: Session, _backend: &impl Backend) -> Outcome {
        Outcome::nothing(session)
    }

    fn received(session: Session, frame: Frame, backend: &impl Backend) -> Outcome {
        handler::received(session, frame, backend)
    }

    fn received_frames(session: Session, frames: Vec<Frame>, backend: &impl Backend) -> Outcome {
        handler::received_frames(session, frames, backend)
    }

    /// Tokens outlive connections and typing is never stored: nothing to tidy up.
    fn closed(_session: Session, _backend: &impl Backend) {}

    // `notified` stays the default: the documents have no packet for any note (a user's own
    // read pointer moving in another session included).

    fn render(event: &str, backend: &impl Backend) -> Option<String> {
        render::render(event, &server_name(backend))
    }
}

/// This channel's settings from wadm.yaml, read once per request.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub server_name: String,
    /// `false`: registration answers `reg_disabled`.
    pub registration: bool,
    pub limit: Limit,
}

impl Settings {
    pub fn read(backend: &impl Backend) -> Self {
        Self {
            server_name: server_name(backend),
            registration: backend
                .setting(REGISTRATION_KEY)
                .is_none_or(|v| v.trim() != "false"),
            limit: Limit::from_settings(backend),
        }
    }
}

/// The configured server name (all a render needs).
pub fn server_name(backend: &impl Backend) -> String {
    backend
        .setting(SERVER_NAME_KEY)
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| DEFAULT_SERVER_NAME.to_owned())
}

#[cfg(target_arch = "wasm32")]
channel_kit::export_channel!(Cadmium);
