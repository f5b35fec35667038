//! The actionhero front door of wcc: the chat verbs of actionhero's socket and websocket
//! servers, per the seed `actionhero-chat.md` ("telnet into a chat room"), answered as
//! actionhero v7.6.5 answers them.
//!
//! Socket clients connect over plain TCP (the gateway's line listener) and type one verb per
//! line; plain websocket clients send the same lines as frames. The era's browser client
//! (`actionheroClient.js`) speaks Faye's Bayeux over its websocket instead: a component
//! configured with `framing: bayeux` answers it (see [`faye`]). Every answer is one JSON
//! message. A connection is in at most one room, where `say` goes, and may listen to any number
//! more. Rooms and messages are wcc's, so a `say` reaches the room's members on every protocol.
//!
//! - [`codec`]: line text (or a websocket client's event) -> [`codec::Request`]; the replies,
//! - [`bayeux`]: Bayeux frames -> typed messages, and the Bayeux messages the server writes,
//! - [`handler`]: the verbs and actions: (session, request, backend) -> outcome,
//! - [`faye`]: the Bayeux conversation of the browser client around those verbs,
//! - [`render`]: room events and operator notes -> chat messages,
//! - [`session`]: what a connection remembers between calls.

pub mod bayeux;
pub mod codec;
pub mod faye;
pub mod handler;
pub mod render;
pub mod session;

#[cfg(test)]
mod faye_tests;
#[cfg(test)]
mod ratelimit_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod together_tests;

use channel_kit::{Backend, Channel, Frame, Outcome, Session};
use serde_json::Value;

/// The name this protocol goes by in the core (`channel` of logins and messages).
pub const CHANNEL: &str = "actionhero";
/// Setting: the room every connection starts in (default `defaultRoom`; empty: none).
pub const DEFAULT_ROOM_KEY: &str = "default_room";
/// Setting: the greeting's `welcome` text.
pub const WELCOME_KEY: &str = "welcome";
pub const DEFAULT_WELCOME: &str = "Hello! Welcome to the wcc actionhero chat";
/// Setting: how this component's connections frame messages, `lines` (the default) or
/// `bayeux`. A room event is rendered once per component for all its connections, so the two
/// framings are two components of this one actor, each linked to its own gateway path.
pub const FRAMING_KEY: &str = "framing";

/// How a connection's messages travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// One JSON message per line (TCP) or per websocket frame.
    Lines,
    /// Bayeux messages over a websocket: each message to the client is delivered on its
    /// connection channel ([`faye::CONNECTION_CHANNEL`]).
    Bayeux,
}

impl Framing {
    /// This component's framing, from its settings.
    pub fn of(backend: &impl Backend) -> Self {
        match backend.setting(FRAMING_KEY).as_deref().map(str::trim) {
            Some("bayeux") => Framing::Bayeux,
            _ => Framing::Lines,
        }
    }

    /// An actionhero message as this framing sends it: as it is, or delivered on the
    /// connection's Bayeux channel.
    pub fn deliverable(self, message: Value) -> Value {
        match self {
            Framing::Lines => message,
            Framing::Bayeux => bayeux::delivery(faye::CONNECTION_CHANNEL, message),
        }
    }

    /// One actionhero message as one frame.
    pub fn encode(self, message: Value) -> String {
        match self {
            Framing::Lines => message.to_string(),
            Framing::Bayeux => bayeux::encode(vec![self.deliverable(message)]),
        }
    }
}

/// actionhero as the gateway drives it.
pub struct Actionhero;

impl Channel for Actionhero {
    fn opened(session: Session, backend: &impl Backend) -> Outcome {
        match Framing::of(backend) {
            Framing::Lines => handler::opened(session, backend),
            Framing::Bayeux => faye::opened(session, backend),
        }
    }

    fn received(session: Session, frame: Frame, backend: &impl Backend) -> Outcome {
        match Framing::of(backend) {
            Framing::Lines => handler::received(session, frame, backend),
            Framing::Bayeux => faye::received(session, frame, backend),
        }
    }

    /// A line connection's `say`s that arrive together are stored with one call; a Bayeux
    /// frame already carries its messages together, so Bayeux frames go one by one.
    fn received_frames(session: Session, frames: Vec<Frame>, backend: &impl Backend) -> Outcome {
        match Framing::of(backend) {
            Framing::Lines => handler::received_frames(session, frames, backend),
            Framing::Bayeux => Outcome::of_frames(session, frames, |session, frame| {
                faye::received(session, frame, backend)
            }),
        }
    }

    fn notified(session: Session, note: &str, backend: &impl Backend) -> Outcome {
        handler::notified(session, note, backend, Framing::of(backend))
    }

    fn closed(session: Session, backend: &impl Backend) {
        handler::closed(session, backend)
    }

    fn render(event: &str, backend: &impl Backend) -> Option<String> {
        render::render(event, Framing::of(backend))
    }
}

#[cfg(target_arch = "wasm32")]
channel_kit::export_channel!(Actionhero);
