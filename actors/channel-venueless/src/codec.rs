//! venueless frames <-> typed values, as pure functions.
//!
//! Requests are `[action, id, payload]` with a number or string correlation id and an object
//! payload. Two actions also come id-less, as upstream clients send them: `["ping", ts]` and
//! `["authenticate", {...}]` (the 3-element form of `authenticate` is accepted too).
//!
//! Error shape, chosen once for every error: when the request carried a usable correlation id the
//! error is a reply, `["error", id, {"code", "message"}]`; when it did not (unparseable frame, no
//! id in the frame, id of the wrong type) it is a push, `["error", {"code", "message"}]` - the
//! form upstream itself uses for id-less `authenticate` errors. A client therefore never sees a
//! reply with an invented id.

use serde_json::{json, Map, Value};

use crate::codes;
use crate::payloads;

/// Default and largest page size of `chat.fetch`; upstream clients ask for 25-50.
pub const DEFAULT_FETCH_COUNT: u32 = 50;
pub const MAX_FETCH_COUNT: u32 = 100;
/// Most profiles one `user.fetch {ids}` answers; upstream cuts the list at 100 as well.
pub const MAX_FETCH_USERS: usize = 100;

/// One decoded client request.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    /// `id` is `None` for the upstream 2-element form.
    Authenticate {
        id: Option<Value>,
        client_id: Option<String>,
        token: Option<String>,
    },
    /// Echoed back as `["pong", ts]`; `ts` is whatever the client sent.
    Ping {
        ts: Value,
    },
    UserUpdate {
        id: Value,
        profile: Map<String, Value>,
    },
    UserFetch {
        id: Value,
        wanted: Wanted,
    },
    Join {
        id: Value,
        channel: String,
    },
    Leave {
        id: Value,
        channel: String,
    },
    Subscribe {
        id: Value,
        channel: String,
    },
    Unsubscribe {
        id: Value,
        channel: String,
    },
    /// Semantics (event type, content type, body) are checked by the handler, which owns the
    /// `chat.*` codes; the codec only insists on a channel.
    Send {
        id: Value,
        channel: String,
        event_type: Option<String>,
        content: Value,
        /// The event id of the message this edits or deletes, as the client wrote it.
        replaces: Option<Value>,
    },
    Fetch {
        id: Value,
        channel: String,
        count: u32,
        before_id: Option<u64>,
    },
    /// `chat.react`: add (or with `delete: true` withdraw) a reaction on message `event`.
    React {
        id: Value,
        channel: String,
        event_id: u64,
        reaction: String,
        delete: bool,
    },
    /// `chat.mark_read`: the user has read `channel` up to event `id` (the payload's `id`;
    /// `None` when it is missing, not a positive integer, which upstream refuses as
    /// `chat.invalid_body`).
    MarkRead {
        id: Value,
        channel: String,
        event_id: Option<u64>,
    },
}

/// Whom `user.fetch` asks for: upstream's `{id}` (one profile, or `user.not_found`) or the
/// webapp's `{ids: [...]}` (a map of the profiles found).
#[derive(Clone, Debug, PartialEq)]
pub enum Wanted {
    One(String),
    /// At most [`MAX_FETCH_USERS`] ids; entries that are no strings (the webapp asks for the
    /// sender `null` of a removed message) are dropped, as upstream finds no user for them.
    Many(Vec<String>),
}

impl Request {
    /// The correlation id to answer with, if the client gave one.
    pub fn id(&self) -> Option<&Value> {
        match self {
            Request::Authenticate { id, .. } => id.as_ref(),
            Request::Ping { .. } => None,
            Request::UserUpdate { id, .. }
            | Request::UserFetch { id, .. }
            | Request::Join { id, .. }
            | Request::Leave { id, .. }
            | Request::Subscribe { id, .. }
            | Request::Unsubscribe { id, .. }
            | Request::Send { id, .. }
            | Request::Fetch { id, .. }
            | Request::React { id, .. }
            | Request::MarkRead { id, .. } => Some(id),
        }
    }
}

/// A frame that could not become a [`Request`]; answered with [`error`], connection kept.
#[derive(Clone, Debug, PartialEq)]
pub struct ProtocolError {
    pub id: Option<Value>,
    pub code: &'static str,
    pub message: String,
}

impl ProtocolError {
    pub fn new(id: Option<Value>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            id,
            code,
            message: message.into(),
        }
    }

    /// The frame text answering this error.
    pub fn to_frame(&self) -> String {
        error(self.id.as_ref(), self.code, &self.message)
    }
}

const ACTIONS: [&str; 12] = [
    "authenticate",
    "ping",
    "user.update",
    "user.fetch",
    "chat.join",
    "chat.leave",
    "chat.subscribe",
    "chat.unsubscribe",
    "chat.send",
    "chat.fetch",
    "chat.react",
    "chat.mark_read",
];

/// Decodes one text frame.
pub fn decode(text: &str) -> Result<Request, ProtocolError> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        ProtocolError::new(None, codes::PROTOCOL_INVALID_JSON, format!("not JSON: {e}"))
    })?;
    let Value::Array(items) = value else {
        return Err(malformed(None, "a frame is a JSON array"));
    };
    // The id is usable only where the 3-element form puts it, and only as a number or string.
    let id = match items.as_slice() {
        [_, id @ (Value::Number(_) | Value::String(_)), _] => Some(id.clone()),
        _ => None,
    };
    let Some(action) = items.first().and_then(Value::as_str) else {
        return Err(malformed(id, "the first element must be the action name"));
    };
    if !ACTIONS.contains(&action) {
        return Err(ProtocolError::new(
            id,
            codes::PROTOCOL_UNKNOWN_ACTION,
            format!("unknown action {action:?}"),
        ));
    }
    match (action, items.len()) {
        ("ping", 2) => Ok(Request::Ping {
            ts: items[1].clone(),
        }),
        ("ping", _) => Err(malformed(id, "ping is [\"ping\", timestamp]")),
        ("authenticate", 2) => payloads::authenticate(None, &items[1]),
        (_, 3) => {
            let Some(id) = id else {
                return Err(malformed(
                    None,
                    "the correlation id must be a number or a string",
                ));
            };
            let Value::Object(payload) = &items[2] else {
                return Err(malformed(Some(id), "the payload must be a JSON object"));
            };
            payloads::request(action, id, payload)
        }
        _ => Err(malformed(
            None,
            format!("{action} is [action, id, payload]"),
        )),
    }
}

pub(crate) fn malformed(id: Option<Value>, message: impl Into<String>) -> ProtocolError {
    ProtocolError::new(id, codes::PROTOCOL_MALFORMED, message)
}

/// `["success", id, payload]`.
pub fn success(id: &Value, payload: Value) -> String {
    json!(["success", id, payload]).to_string()
}

/// `["error", id, {code, message}]`, or the push form `["error", {code, message}]` without an id.
pub fn error(id: Option<&Value>, code: &str, message: &str) -> String {
    let body = json!({ "code": code, "message": message });
    match id {
        Some(id) => json!(["error", id, body]),
        None => json!(["error", body]),
    }
    .to_string()
}

/// A server push, `[name, payload]`.
pub fn push(name: &str, payload: Value) -> String {
    json!([name, payload]).to_string()
}
