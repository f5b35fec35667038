//! The connection's params (`paramAdd`, `paramView`; a bare action word runs with them) and
//! what it knows about itself (`detailsView`, and the attributes join rules are checked
//! against).

use channel_kit::Backend;
use serde_json::{json, Map, Value};

use super::{Answer, Conn};

/// Params one connection may keep.
pub const MAX_PARAMS: usize = 64;
/// Bytes of one param, key and value together.
pub const MAX_PARAM_BYTES: usize = 4096;

impl<B: Backend> Conn<'_, B> {
    pub(super) fn param_add(&mut self, key: String, value: String) -> Answer {
        if key.len() + value.len() > MAX_PARAM_BYTES {
            return Answer::refused(
                format!("a param may hold {MAX_PARAM_BYTES} bytes"),
                Some(Value::Null),
            );
        }
        if !self.state.params.contains_key(&key) && self.state.params.len() >= MAX_PARAMS {
            return Answer::refused(
                format!("a connection may keep {MAX_PARAMS} params"),
                Some(Value::Null),
            );
        }
        self.state.params.insert(key, json!(value));
        Answer::ok(Value::Null)
    }

    /// A key never added has no `data` at all, as upstream's is undefined.
    pub(super) fn param_view(&self, key: &str) -> Answer {
        match self.state.params.get(key) {
            Some(value) => Answer::ok(value.clone()),
            None => Answer::done(),
        }
    }

    pub(super) fn stored_params(&self) -> Map<String, Value> {
        self.state
            .params
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// `detailsView`: upstream's eight fields.
    pub(super) fn details_view(&self) -> Value {
        let (ip, port) = split_address(&self.session.remote);
        json!({
            "id": self.session.connection_id,
            "remoteIP": ip,
            "remotePort": port,
            "params": self.state.params,
            "connectedAt": self.state.connected_at,
            "room": self.state.room,
            "totalActions": self.state.total_actions,
            "pendingActions": 0,
        })
    }

    /// The connection as upstream's connection object has it, which join rules are matched
    /// against (`type`, `authenticated`, `remoteIP`, ...), plus wcc's `user`.
    pub(super) fn attributes(&self) -> Value {
        let mut attributes = self.details_view();
        let kind = if self.session.transport == wcc_interface::transport::TCP {
            "socket"
        } else {
            "websocket"
        };
        let more = json!({
            "type": kind,
            "authenticated": self.state.authenticated,
            "user": self.session.user,
            "listeningRooms": self.state.listening,
            "messageCount": self.state.message_count,
            "canChat": true,
        });
        if let (Some(attributes), Value::Object(more)) = (attributes.as_object_mut(), more) {
            attributes.extend(more);
        }
        attributes
    }
}

/// `ip:port` (or `[v6]:port`) -> (ip, port).
fn split_address(remote: &str) -> (String, Option<u16>) {
    match remote.rsplit_once(':') {
        Some((ip, port)) => (
            ip.trim_start_matches('[').trim_end_matches(']').to_owned(),
            port.parse().ok(),
        ),
        None => (remote.to_owned(), None),
    }
}
