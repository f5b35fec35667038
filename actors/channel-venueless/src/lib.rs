//! The venueless chat front door of wcc.
//!
//! venueless clients speak JSON arrays over a websocket (`[action, id, payload]` requests,
//! `["success"|"error", id, {...}]` replies, `[name, payload]` pushes). The gateway provider holds
//! the socket and calls this component once per frame; everything here is a pure translation
//! between those frames and wcc's core actors (messages, rooms, users).
//!
//! The core is written without bindings so it is unit-tested natively:
//! - [`codec`]: frame text -> [`codec::Request`] or a protocol error (each action's payload in
//!   `payloads`); replies -> frame text,
//! - [`session`]: what this protocol remembers about one connection, carried by the gateway,
//! - [`handler`]: the state machine (session, request, backend) -> outcome, dispatching to
//!   `auth` (`authenticate`, `user.*`), `chat` (joining, sending, history) and `reactions`
//!   (`chat.react`, `chat.mark_read`),
//! - [`world`]: what `authenticated` tells the webapp (the world, channels, read state),
//! - [`render`]: room events -> `chat.event` / `chat.event.reaction` / `chat.unread_pointers`
//!   pushes, once for every subscriber, in the shapes of [`views`] (timestamps from [`time`]),
//! - [`notified`]: notes to the user's sessions (read pointers, profile changes, operator
//!   joins) as pushes,
//! - [`codes`]: the venueless error codes and how core failures map to them.
//!
//! The core actors are reached through `channel_kit`'s `Backend`; `channel_kit` also holds the
//! bindings, so this crate never touches generated types.

pub use channel_kit::backend;

mod auth;
mod chat;
pub mod codec;
pub mod codes;
pub mod handler;
pub mod notified;
mod payloads;
mod reactions;
pub mod render;
pub mod session;
pub mod time;
pub mod views;
pub mod world;

#[cfg(test)]
mod ratelimit_tests;
#[cfg(test)]
mod tests;

/// The name this protocol goes by in the core (`channel` of logins, joins and messages).
pub const CHANNEL: &str = "venueless";

/// venueless as the gateway drives it.
pub struct Venueless;

impl channel_kit::Channel for Venueless {
    fn opened(session: session::Session, _backend: &impl backend::Backend) -> session::Outcome {
        handler::opened(session)
    }

    fn received(
        session: session::Session,
        frame: session::Frame,
        backend: &impl backend::Backend,
    ) -> session::Outcome {
        handler::received(session, frame, backend)
    }

    fn received_frames(
        session: session::Session,
        frames: Vec<session::Frame>,
        backend: &impl backend::Backend,
    ) -> session::Outcome {
        handler::received_frames(session, frames, backend)
    }

    /// Membership outlives the connection in venueless and the gateway publishes the logout, so
    /// there is nothing to tidy up.
    fn notified(
        session: session::Session,
        note: &str,
        backend: &impl backend::Backend,
    ) -> session::Outcome {
        notified::notified(session, note, backend)
    }

    fn closed(_session: session::Session, _backend: &impl backend::Backend) {}

    fn render(event: &str, backend: &impl backend::Backend) -> Option<String> {
        render::render(event, backend)
    }

    fn render_all(event: &str, backend: &impl backend::Backend) -> Vec<String> {
        render::render_all(event, backend)
    }

    fn render_batch(events: &[String], backend: &impl backend::Backend) -> Vec<Vec<String>> {
        render::render_batch(events, backend)
    }
}

#[cfg(target_arch = "wasm32")]
channel_kit::export_channel!(Venueless);
