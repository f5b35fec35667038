//! The wasm shell: NATS messages and WIT queries in, the real store, NATS and clock supplied.
//!
//! Nothing here decides anything; it converts and delegates so the logic stays testable natively.

use wcc_interface::clock::now_ms;

use wcc_interface::Failure as DomainFailure;
use wcc_kv::{keys, WasiStore};

use wcc_bus::NatsPublisher;

wit_bindgen::generate!({
    world: "presence-actor",
    path: "../../interface/wit",
    generate_all,
});

use exports::wasmcloud::messaging::handler::Guest as HandlerGuest;
use exports::wcc::chat::presence::{Guest as PresenceGuest, UserSession};
use wasmcloud::messaging::types::BrokerMessage;
use wcc::chat::types::{Failure, OnlineUser};

struct Component;

impl HandlerGuest for Component {
    fn handle_message(msg: BrokerMessage) -> Result<(), String> {
        // An error makes the host log it; the message is not redelivered either way.
        let store = WasiStore::open(keys::BUCKET).map_err(|e| e.to_string())?;
        crate::handle_event(&store, &NatsPublisher, &msg.body, &now_ms).map_err(|e| e.to_string())
    }
}

impl PresenceGuest for Component {
    fn online_users() -> Result<Vec<OnlineUser>, Failure> {
        let store = open_store()?;
        let users = crate::online_users(&store, now_ms()).map_err(to_wit_failure)?;
        Ok(users
            .into_iter()
            .map(|u| OnlineUser {
                user: u.user,
                channels: u.channels,
            })
            .collect())
    }

    fn is_online(user: String) -> Result<bool, Failure> {
        let store = open_store()?;
        crate::is_online(&store, &user, now_ms()).map_err(to_wit_failure)
    }

    fn user_sessions(user: String) -> Result<Vec<UserSession>, Failure> {
        let store = open_store()?;
        let sessions = crate::user_sessions(&store, &user, now_ms()).map_err(to_wit_failure)?;
        Ok(sessions
            .into_iter()
            .map(|s| UserSession {
                connection: s.connection,
                channel: s.channel,
            })
            .collect())
    }
}

fn open_store() -> Result<WasiStore, Failure> {
    WasiStore::open(keys::BUCKET).map_err(to_wit_failure)
}

fn to_wit_failure(f: DomainFailure) -> Failure {
    Failure {
        code: f.code.as_str().to_string(),
        message: f.message,
    }
}

export!(Component);
