//! How the core actors (messages, rooms, presence) publish events and notes on the lattice.
//!
//! Their logic takes any [`Publisher`], so unit tests record what would be published; inside a
//! component it is [`NatsPublisher`], the host's link to its NATS messaging provider. The
//! bindings are generated here, once, so that every actor that links this crate imports
//! `wasmcloud:messaging/consumer` without naming it in its own world.

use wcc_interface::Failure;

/// Sends one body to a NATS subject, fire and forget (no reply subject).
pub trait Publisher {
    fn publish(&self, subject: &str, body: &[u8]) -> Result<(), Failure>;
}

#[cfg(target_arch = "wasm32")]
mod bindings {
    wit_bindgen::generate!({
        inline: "
            package wcc:bus;
            world publisher {
                import wasmcloud:messaging/consumer@0.2.0;
            }
        ",
        path: "../../interface/wit/deps/messaging",
        generate_all,
    });
}

/// Publishes through the host's link to the NATS messaging provider.
#[cfg(target_arch = "wasm32")]
pub struct NatsPublisher;

#[cfg(target_arch = "wasm32")]
impl Publisher for NatsPublisher {
    fn publish(&self, subject: &str, body: &[u8]) -> Result<(), Failure> {
        use bindings::wasmcloud::messaging::{consumer, types::BrokerMessage};
        let msg = BrokerMessage {
            subject: subject.to_string(),
            body: body.to_vec(),
            reply_to: None,
        };
        consumer::publish(&msg)
            .map_err(|e| Failure::unavailable(format!("publish to {subject}: {e}")))
    }
}
