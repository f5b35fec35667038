//! What every wcc channel actor shares, so that a channel crate holds only its protocol.
//!
//! - [`session`]: the gateway's records (session, frames, actions, outcome) as plain Rust,
//! - [`backend`]: the core-actor operations a channel may use, as a trait ([`Backend`]),
//! - [`ratelimit`]: the per-connection token bucket every channel uses, and its settings (on by
//!   default),
//! - `core` (feature `core`): [`Backend`] over the real messages, rooms and presence actors'
//!   logic on an in-memory store, for channels' unit tests,
//! - `component` (wasm32 only): the `wcc:chat` bindings, [`Backend`] over the imported core
//!   actors, and [`export_channel!`], which turns a [`Channel`] into the exported interface.
//!
//! A channel crate implements [`Channel`] with pure functions and calls
//! `channel_kit::export_channel!(MyChannel)` in its wasm build; nothing else touches bindings.

pub mod backend;
pub mod ratelimit;
pub mod session;
pub mod user_cache;

#[cfg(feature = "core")]
pub mod core;

#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod component;

pub use backend::{
    Backend, Group, GroupChange, JoinRule, Member, NewMessage, OnlineUser, Principal, Reactions,
    ReadState, Room, Signal, User, UserSession, UserSignal,
};
pub use session::{Action, Frame, Outcome, Session};

/// One client protocol, as the gateway drives it. Every call gets the connection's session and
/// returns the new one; nothing is remembered between calls except what the session carries.
pub trait Channel {
    /// A connection opened: greet it if the protocol greets.
    fn opened(session: Session, backend: &impl Backend) -> Outcome;
    /// One frame (or line) arrived.
    fn received(session: Session, frame: Frame, backend: &impl Backend) -> Outcome;
    /// A note for this connection from elsewhere on the lattice (JSON of
    /// `wcc_interface::Note`, e.g. an operator added its user to a room). Protocols without a
    /// way to show it ignore it.
    fn notified(session: Session, _note: &str, _backend: &impl Backend) -> Outcome {
        Outcome::nothing(session)
    }
    /// The connection is gone.
    fn closed(session: Session, backend: &impl Backend);
    /// One room event envelope (JSON) as this protocol shows it to every local subscriber;
    /// `None` if it shows nothing.
    fn render(event: &str, backend: &impl Backend) -> Option<String>;
    /// Every frame this protocol sends each local subscriber for one event, in order. Most
    /// protocols answer an event with one frame ([`Channel::render`]); one that follows it with
    /// more (Rebuttal sends a room's newest segment before the new message) overrides this.
    fn render_all(event: &str, backend: &impl Backend) -> Vec<String> {
        Self::render(event, backend).into_iter().collect()
    }
}
