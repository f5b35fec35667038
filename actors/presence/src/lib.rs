//! The presence actor: who is online, counted per user and per channel.
//!
//! Gateways publish UserLoggedIn/UserLoggedOut once per connection; this actor keeps one session
//! per connection in a [`wcc_kv::LogSet`] (concurrent instances cannot lose each other's
//! updates) and answers queries by folding it. A user is online while any session remains, so
//! closing one tab or one protocol does not hide a user still connected elsewhere.
//!
//! A gateway killed outright publishes no logouts, so gateways also publish a heartbeat
//! (`GatewayAlive`, every 5 s). Each heartbeat makes this actor check the other gateways: the
//! sessions of one that fell silent are ended, with one UserLoggedOut each, and the gateway is
//! forgotten ([`gateways`]). Queries leave such sessions out as soon as their gateway is overdue,
//! before that sweep has run.
//!
//! Who is online is part of what Rebuttal's user list shows, so a user's first session starting
//! and last one ending (sweeps included) are announced as a change of the directory's users
//! ([`directory`]); other sessions are not.
//!
//! The logic in [`sessions`] and [`gateways`] is plain Rust over [`wcc_kv::Store`] and
//! [`Publisher`], unit-tested natively; the wasm shell (`component.rs`) only converts WIT values
//! and supplies the real store, NATS and clock.

pub mod directory;
pub mod gateways;
pub mod sessions;

#[cfg(target_arch = "wasm32")]
mod component;

#[cfg(test)]
mod test_support;

pub use sessions::{is_online, online_users, user_sessions, OnlineUser, Session, UserSession};

use wcc_interface::{ids, Envelope, Event, Failure};
use wcc_kv::Store;

/// Where logouts and directory changes go: on the lattice in the component, recorded in tests.
pub use wcc_bus::Publisher;

/// Applies one NATS message body. Logins, logouts and heartbeats matter; anything else,
/// including bodies that are not envelopes, is ignored because other events share subjects.
/// `clock` gives unix milliseconds; a sweep reads it again as it goes, to stop in time.
///
/// Every event may arrive more than once, and a connection's login may be handled after its
/// logout; so each is idempotent, a logout is remembered for a minute to outweigh a late login
/// ([`sessions::ended`]), and a heartbeat's sweep is claimed (see [`gateways`]).
pub fn handle_event<S: Store, P: Publisher>(
    store: &S,
    publisher: &P,
    body: &[u8],
    clock: &impl Fn() -> u64,
) -> Result<(), Failure> {
    let Some(envelope) = Envelope::parse(body) else {
        return Ok(());
    };
    match envelope.event {
        Event::UserLoggedIn {
            user,
            channel,
            connection,
            gateway,
        } => {
            let session = Session {
                user,
                channel,
                since: clock(),
                gateway: valid_gateway(gateway),
            };
            if sessions::login(store, &connection, &session)? {
                directory::users_changed(store, publisher, session.since);
            }
            Ok(())
        }
        // Keyed by connection alone: the connection id is unique across the lattice.
        Event::UserLoggedOut { connection, .. } => {
            let now = clock();
            if sessions::logout(store, &connection, now)? {
                directory::users_changed(store, publisher, now);
            }
            Ok(())
        }
        Event::GatewayAlive {
            gateway,
            interval_ms,
            ..
        } => {
            let gateway = valid_gateway(gateway);
            if gateway.is_empty() {
                return Ok(());
            }
            gateways::heartbeat(store, publisher, &gateway, interval_ms, clock)?;
            sessions::forget_old_logouts(store, clock())
        }
        _ => Ok(()),
    }
}

/// A gateway id goes into store keys: one that could not name a room or a user is treated as
/// none (its sessions then never expire, like those of gateways without heartbeats).
fn valid_gateway(gateway: String) -> String {
    if ids::is_valid_id(&gateway) {
        gateway
    } else {
        String::new()
    }
}
