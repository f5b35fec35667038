//! The Rebuttal front door of wcc: text and voice rooms, users, groups and permissions, per the
//! seed `rebuttal-protocol.md` and PROTOCOLS.md section 2.
//!
//! A client connects by websocket, is greeted with `connect`, logs in (or signs up with an
//! invite), and from then on sends JSON packets with a `type`. Rooms, users and messages are
//! wcc's, so Rebuttal users share rooms with every other protocol; groups, permissions and
//! invites are the core's `access` interface. Voice, webcam and screen data never pass through
//! the server: it relays the WebRTC signalling (`video`, `letmesee`) and the state packets.
//!
//! - [`codec`]: frame text -> [`codec::Packet`] (or why it is malformed); server packets,
//! - [`handler`]: one packet: (session, packet, backend) -> outcome, with permission checks,
//! - [`directory`]: the room, user and group lists every client keeps, built from the core (who
//!   is connected, their `status`, from presence),
//! - [`image`]: the check an uploaded image must pass, judged from its bytes,
//! - [`render`]: room events, the `everyone` feed and notes -> server packets,
//! - [`hooks`]: where `contextoption` and `windowinput` go,
//! - [`session`]: what a connection remembers between packets.

pub mod codec;
pub mod directory;
pub mod handler;
pub mod hooks;
pub mod image;
pub mod render;
pub mod session;

#[cfg(test)]
mod ratelimit_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod together_tests;
#[cfg(test)]
mod web_client_tests;

use channel_kit::{Backend, Channel, Frame, Outcome, Session};

/// The name this protocol goes by in the core (`channel` of logins and messages).
pub const CHANNEL: &str = "rebuttal";

/// Setting: the greeting's `message`.
pub const WELCOME_KEY: &str = "welcome";
pub const DEFAULT_WELCOME: &str = "Welcome to wcc";
/// Setting: the email of the bootstrap administrator. Whoever signs up or logs in with it is
/// put in the `admin` group, which holds every permission.
pub const ADMIN_EMAIL_KEY: &str = "admin_email";
/// Setting: `true` lets anyone sign up without an invite (`signUp: "signup"`).
pub const OPEN_SIGNUP_KEY: &str = "open_signup";
/// Setting: the web client's page (`https://chat.example.org/`). An invite then also carries
/// `url`, that page with `?invite=<code>`, which the web client shows, copies and draws as a QR
/// code; empty: only the code, as upstream's server sends.
pub const INVITE_PAGE_KEY: &str = "invite_page";
/// Setting: the largest image upload, in bytes once decoded.
pub const MAX_IMAGE_BYTES_KEY: &str = "max_image_bytes";
pub const DEFAULT_MAX_IMAGE_BYTES: usize = 256 * 1024;

/// Rebuttal as the gateway drives it.
pub struct Rebuttal;

impl Channel for Rebuttal {
    fn opened(session: Session, backend: &impl Backend) -> Outcome {
        handler::opened(session, backend)
    }

    fn received(session: Session, frame: Frame, backend: &impl Backend) -> Outcome {
        handler::received(session, frame, backend)
    }

    fn received_frames(session: Session, frames: Vec<Frame>, backend: &impl Backend) -> Outcome {
        handler::received_frames(session, frames, backend)
    }

    fn notified(session: Session, note: &str, backend: &impl Backend) -> Outcome {
        render::notified(session, note, backend)
    }

    fn closed(session: Session, backend: &impl Backend) {
        handler::closed(session, backend)
    }

    fn render(event: &str, backend: &impl Backend) -> Option<String> {
        render::render(event, backend)
    }

    /// A new message is two packets: the segment to draw, then the notification.
    fn render_all(event: &str, backend: &impl Backend) -> Vec<String> {
        render::render_all(event, backend)
    }

    /// A list changed twice in one batch is built once, for the later change.
    fn render_batch(events: &[String], backend: &impl Backend) -> Vec<Vec<String>> {
        render::render_batch(events, backend)
    }
}

#[cfg(target_arch = "wasm32")]
channel_kit::export_channel!(Rebuttal);
