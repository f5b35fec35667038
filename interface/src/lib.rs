//! wcc's shared vocabulary, used natively by the providers and inside every actor.
//!
//! - [`access`]: the permission names groups grant, and the administrators' group,
//! - [`clock`]: unix milliseconds, the one timestamp format,
//! - [`events`]: the versioned JSON envelope published on NATS and the subjects it goes to,
//! - [`failure`]: the protocol-neutral failure codes the core actors return,
//! - [`grant`]: signed subscription grants, made by the core and checked by the gateway,
//! - [`ids`]: what a room or user id may look like (they become NATS subject tokens),
//! - [`notes`]: messages for particular live sessions (operator actions) and their subjects,
//! - [`numbered`]: keys and values that carry a number the store assigns (`wcc:keyvalue/log`),
//! - [`principal`]: who is asking the core (a user, the operator, the server),
//! - [`reactions`]: reactions on messages and users' read pointers, and their bounds,
//! - [`requests`]: what channels hand to the messages actor,
//! - [`transport`]: the names of the ways a client can be connected.
//!
//! The WIT package `wcc:chat` lives beside this crate in `wit/`.

pub mod access;
pub mod clock;
pub mod events;
pub mod failure;
pub mod grant;
pub mod ids;
pub mod notes;
pub mod numbered;
pub mod principal;
pub mod reactions;
pub mod requests;
pub mod transport;

pub use events::{Author, Envelope, Event, StoredMessage};
pub use failure::{Failure, FailureCode};
pub use notes::Note;
pub use principal::Principal;
pub use reactions::{Reactions, ReadState};
pub use requests::{NewMessage, Signal, UserSignal};
