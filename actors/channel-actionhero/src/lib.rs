//! The actionhero front door of wcc: the chat verbs of actionhero's socket and websocket
//! servers, per the seed `actionhero-chat.md` ("telnet into a chat room").
//!
//! Socket clients connect over plain TCP (the gateway's line listener) and type one verb per
//! line; websocket clients send the same verbs as frames. Every answer is one JSON line. A
//! connection is in at most one room, where `say` goes, and may listen to any number more.
//! Rooms and messages are wcc's, so a `say` reaches the room's members on every protocol.
//!
//! - [`codec`]: line text -> [`codec::Request`]; responses, chat lines and the greeting,
//! - [`handler`]: the verbs and actions: (session, line, backend) -> outcome,
//! - [`render`]: room events and operator notes -> chat lines,
//! - [`session`]: what a connection remembers between lines.

pub mod codec;
pub mod handler;
pub mod render;
pub mod session;

#[cfg(test)]
mod ratelimit_tests;
#[cfg(test)]
mod tests;

use channel_kit::{Backend, Channel, Frame, Outcome, Session};

/// The name this protocol goes by in the core (`channel` of logins and messages).
pub const CHANNEL: &str = "actionhero";
/// Setting: the room every connection starts in (default `defaultRoom`; empty: none).
pub const DEFAULT_ROOM_KEY: &str = "default_room";
/// Setting: the greeting's `welcome` text.
pub const WELCOME_KEY: &str = "welcome";
pub const DEFAULT_WELCOME: &str = "Hello! Welcome to the wcc actionhero chat";

/// actionhero as the gateway drives it.
pub struct Actionhero;

impl Channel for Actionhero {
    fn opened(session: Session, backend: &impl Backend) -> Outcome {
        handler::opened(session, backend)
    }

    fn received(session: Session, frame: Frame, backend: &impl Backend) -> Outcome {
        handler::received(session, frame, backend)
    }

    fn notified(session: Session, note: &str, backend: &impl Backend) -> Outcome {
        handler::notified(session, note, backend)
    }

    fn closed(session: Session, backend: &impl Backend) {
        handler::closed(session, backend)
    }

    fn render(event: &str, _backend: &impl Backend) -> Option<String> {
        render::render(event)
    }
}

#[cfg(target_arch = "wasm32")]
channel_kit::export_channel!(Actionhero);
