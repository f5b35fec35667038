//! What every wcc channel actor shares, so that a channel crate holds only its protocol.
//!
//! - [`session`]: the gateway's records (session, frames, actions, outcome) as plain Rust,
//! - [`backend`]: the core-actor operations a channel may use, as a trait ([`Backend`]),
//! - [`ratelimit`]: the per-connection token bucket every channel uses, and its settings (on by
//!   default),
//! - [`send_run`]: sends that arrived together, stored with one call to the core,
//! - `core` (feature `core`): [`Backend`] over the real messages, rooms and presence actors'
//!   logic on an in-memory store, for channels' unit tests,
//! - `component` (wasm32 only): the `wcc:chat` bindings, [`Backend`] over the imported core
//!   actors, and [`export_channel!`], which turns a [`Channel`] into the exported interface.
//!
//! A channel crate implements [`Channel`] with pure functions and calls
//! `channel_kit::export_channel!(MyChannel)` in its wasm build; nothing else touches bindings.

pub mod backend;
pub mod ratelimit;
pub mod send_run;
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

use wcc_interface::Note;

/// The websocket close code an operator's disconnect (or ban) ends a connection with: policy
/// violation, which clients show as "closed by the server" rather than retrying at once.
pub const OPERATOR_CLOSE_CODE: u16 = 1008;

/// Longest close reason a websocket close frame holds, in bytes (RFC 6455: 125 minus the code).
pub const MAX_CLOSE_REASON_BYTES: usize = 123;

/// Hands a note to the protocol (`protocol`, i.e. [`Channel::notified`]) unless the core ended
/// the session: a `Note::Disconnect` closes the connection with [`OPERATOR_CLOSE_CODE`] and its
/// reason, and the protocol never sees it. Every protocol, present and future, obeys an
/// operator's disconnect this way without code of its own.
pub fn dispatch_note(
    session: Session,
    note: &str,
    protocol: impl FnOnce(Session, &str) -> Outcome,
) -> Outcome {
    match Note::parse(note) {
        Some(Note::Disconnect { reason }) => Outcome {
            session,
            actions: vec![Action::Close(OPERATOR_CLOSE_CODE, close_reason(&reason))],
        },
        _ => protocol(session, note),
    }
}

/// `reason` cut to [`MAX_CLOSE_REASON_BYTES`] at a character boundary: a longer one would make
/// the close frame itself invalid.
fn close_reason(reason: &str) -> String {
    let mut end = reason.len().min(MAX_CLOSE_REASON_BYTES);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_owned()
}

/// One client protocol, as the gateway drives it. Every call gets the connection's session and
/// returns the new one; nothing is remembered between calls except what the session carries.
pub trait Channel {
    /// A connection opened: greet it if the protocol greets.
    fn opened(session: Session, backend: &impl Backend) -> Outcome;
    /// One frame (or line) arrived.
    fn received(session: Session, frame: Frame, backend: &impl Backend) -> Outcome;
    /// Frames that arrived together (they queued while the connection's previous call was in
    /// flight), in order. Each is handled with the session the one before it left, and none
    /// after one that closes the connection ([`Outcome::of_frames`]); a protocol may override
    /// this to hand the core several frames' work in one call (every channel stores a run of
    /// sends with one call through [`send_run::received_together`]).
    fn received_frames(session: Session, frames: Vec<Frame>, backend: &impl Backend) -> Outcome {
        Outcome::of_frames(session, frames, |session, frame| {
            Self::received(session, frame, backend)
        })
    }
    /// A note for this connection from elsewhere on the lattice (JSON of
    /// `wcc_interface::Note`, e.g. an operator added its user to a room). Protocols without a
    /// way to show it ignore it. A `Note::Disconnect` never arrives here: [`dispatch_note`]
    /// closes the connection first.
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
    /// A batch of one room's events, in NATS order (the gateway sends a busy room's events
    /// together): each one's frames. A protocol whose later events make earlier ones redundant
    /// (Rebuttal's whole lists) overrides this to skip them.
    fn render_batch(events: &[String], backend: &impl Backend) -> Vec<Vec<String>> {
        events
            .iter()
            .map(|event| Self::render_all(event, backend))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        Session {
            connection_id: "gw1-7".into(),
            user: Some("ada".into()),
            data: r#"{"rooms":["lobby"]}"#.into(),
            ..Session::default()
        }
    }

    /// A protocol that answers every note it is handed by echoing it.
    fn echo(session: Session, note: &str) -> Outcome {
        Outcome {
            session,
            actions: vec![Action::Send(format!("saw {note}"))],
        }
    }

    #[test]
    fn a_disconnect_closes_with_1008_and_its_reason_before_the_protocol_sees_it() {
        let note = Note::Disconnect {
            reason: "banned by an operator".into(),
        };
        let out = dispatch_note(session(), &note.to_json(), |_, _| {
            panic!("the protocol must not see a disconnect")
        });
        assert_eq!(
            out,
            Outcome {
                session: session(),
                actions: vec![Action::Close(1008, "banned by an operator".into())],
            }
        );
    }

    #[test]
    fn other_notes_reach_the_protocol() {
        for note in [
            Note::Joined {
                room: "lobby".into(),
            }
            .to_json(),
            Note::AccountRemoved.to_json(),
            // Unknown and broken notes are the protocol's to ignore.
            r#"{"type":"teleported"}"#.to_string(),
            "not json".to_string(),
        ] {
            let out = dispatch_note(session(), &note, echo);
            assert_eq!(out.actions, vec![Action::Send(format!("saw {note}"))]);
            assert_eq!(out.session, session());
        }
    }

    #[test]
    fn a_long_reason_is_cut_to_fit_a_close_frame_at_a_character_boundary() {
        // 2-byte characters: 123 bytes would split one.
        let reason = "é".repeat(100);
        let note = Note::Disconnect { reason }.to_json();
        let out = dispatch_note(session(), &note, echo);
        let [Action::Close(1008, cut)] = out.actions.as_slice() else {
            panic!("expected one close, got {:?}", out.actions);
        };
        assert_eq!(cut.len(), 122);
        assert_eq!(*cut, "é".repeat(61));
    }
}
