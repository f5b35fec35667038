//! Bayeux framing, as Faye 1.0 (the library under actionhero's browser client) speaks it over a
//! websocket: a frame -> typed [`Message`]s, and the messages the server writes.
//!
//! A frame is a JSON array of messages (a lone object reads as one); `[]` is Faye's keep-alive
//! ping. Every message names a `channel`: the `/meta/*` channels run the session (handshake,
//! connect, subscribe, unsubscribe, disconnect), any other channel is a publish of `data`. A
//! message missing what its channel needs is read as the Bayeux error it gets
//! (`code:arguments:text`, in a reply with `successful: false`), with Faye's server's codes.

use serde_json::{json, Map, Value};

pub const HANDSHAKE: &str = "/meta/handshake";
pub const CONNECT: &str = "/meta/connect";
pub const SUBSCRIBE: &str = "/meta/subscribe";
pub const UNSUBSCRIBE: &str = "/meta/unsubscribe";
pub const DISCONNECT: &str = "/meta/disconnect";

/// The Bayeux version Faye speaks.
pub const VERSION: &str = "1.0";
/// The only connection type served: the socket this frame came on.
pub const WEBSOCKET: &str = "websocket";
/// Faye's connection types; a handshake must offer one of them (Faye's own check). The client
/// offers the transport it handshakes over, which need not be this one.
const CONNECTION_TYPES: [&str; 6] = [
    "long-polling",
    "cross-origin-long-polling",
    "callback-polling",
    "websocket",
    "eventsource",
    "in-process",
];
/// Messages one frame may carry. Faye's websocket transport sends one per frame; its HTTP
/// transports batch up to 2 KiB of them.
pub const MAX_MESSAGES: usize = 32;

/// actionhero's refusal of a subscription pattern (its Faye extension's words).
pub const NO_WILDCARDS: &str = "actionhero does not allow wildcard subscriptions";

/// What a client message asks for, once read.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Handshake,
    Connect,
    Subscribe(Vec<String>),
    Unsubscribe(Vec<String>),
    Disconnect,
    Publish { channel: String, data: Value },
}

/// One client message: what its reply must carry, and what it asks for or the Bayeux error
/// it gets.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub reply: Reply,
    pub command: Result<Command, String>,
}

/// The fields a reply echoes from the message it answers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reply {
    pub id: Option<Value>,
    pub channel: Option<String>,
    pub client_id: Option<String>,
    /// `subscription` as the client wrote it (a channel or a list of them).
    pub subscription: Option<Value>,
}

/// A frame that is no Bayeux at all; answered with [`bad_request`].
#[derive(Clone, Debug, PartialEq)]
pub struct BadFrame(pub String);

/// How a client is told to pace its `/meta/connect`s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Advice {
    /// How long the client waits after a connect's reply before the next.
    pub interval_ms: u64,
    /// Faye pings (`[]`) every half of it and gives a reply up after 1.2 times it.
    pub timeout_ms: u64,
}

/// Reads one frame.
pub fn decode(text: &str) -> Result<Vec<Message>, BadFrame> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| BadFrame(format!("malformed JSON: {e}")))?;
    let items = match value {
        Value::Array(items) => items,
        object @ Value::Object(_) => vec![object],
        _ => {
            return Err(BadFrame(
                "a frame must be a message or a list of them".into(),
            ))
        }
    };
    if items.len() > MAX_MESSAGES {
        return Err(BadFrame(format!(
            "a frame may carry {MAX_MESSAGES} messages"
        )));
    }
    Ok(items.into_iter().map(read).collect())
}

fn read(item: Value) -> Message {
    let Value::Object(mut fields) = item else {
        return Message {
            reply: Reply::default(),
            command: Err(error(400, &[], "Bad request")),
        };
    };
    let text = |fields: &Map<String, Value>, name: &str| {
        fields
            .get(name)
            .and_then(Value::as_str)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    };
    let channel = text(&fields, "channel");
    let mut reply = Reply {
        id: fields.remove("id").filter(|id| !id.is_null()),
        channel: channel.clone(),
        client_id: text(&fields, "clientId"),
        subscription: None,
    };
    let needs_client = |reply: &Reply| match reply.client_id {
        Some(_) => Ok(()),
        None => Err(missing("clientId")),
    };
    let command = match channel.as_deref() {
        None => Err(error(405, &[], "Invalid channel")),
        Some(HANDSHAKE) => handshake(&fields),
        Some(CONNECT) => needs_client(&reply).and_then(|()| connection_type(&fields)),
        Some(DISCONNECT) => needs_client(&reply).map(|()| Command::Disconnect),
        Some(meta @ (SUBSCRIBE | UNSUBSCRIBE)) => {
            reply.subscription = fields.remove("subscription");
            needs_client(&reply)
                .and_then(|()| subscriptions(reply.subscription.as_ref()))
                .map(|channels| match meta {
                    SUBSCRIBE => Command::Subscribe(channels),
                    _ => Command::Unsubscribe(channels),
                })
        }
        Some(meta) if meta.starts_with("/meta/") => Err(error(403, &[meta], "Forbidden channel")),
        Some(name) if !is_channel_name(name) => Err(error(405, &[name], "Invalid channel")),
        Some(name) => {
            // Faye's server answers a publish without the client id.
            reply.client_id = None;
            match fields.remove("data") {
                Some(data) => Ok(Command::Publish {
                    channel: name.to_owned(),
                    data,
                }),
                None => Err(missing("data")),
            }
        }
    };
    Message { reply, command }
}

fn handshake(fields: &Map<String, Value>) -> Result<Command, String> {
    if !fields.get("version").is_some_and(Value::is_string) {
        return Err(missing("version"));
    }
    let Some(offered) = fields
        .get("supportedConnectionTypes")
        .and_then(Value::as_array)
    else {
        return Err(missing("supportedConnectionTypes"));
    };
    let offered: Vec<&str> = offered.iter().filter_map(Value::as_str).collect();
    if offered.iter().any(|kind| CONNECTION_TYPES.contains(kind)) {
        Ok(Command::Handshake)
    } else {
        Err(error(301, &offered, "Connection types not supported"))
    }
}

fn connection_type(fields: &Map<String, Value>) -> Result<Command, String> {
    match fields.get("connectionType").and_then(Value::as_str) {
        None => Err(missing("connectionType")),
        Some(kind) if CONNECTION_TYPES.contains(&kind) => Ok(Command::Connect),
        Some(kind) => Err(error(301, &[kind], "Connection types not supported")),
    }
}

/// The channels of a (un)subscription: one name or a list of them, no patterns.
fn subscriptions(subscription: Option<&Value>) -> Result<Vec<String>, String> {
    let names: Vec<&Value> = match subscription {
        None | Some(Value::Null) => return Err(missing("subscription")),
        Some(Value::Array(names)) => names.iter().collect(),
        Some(name) => vec![name],
    };
    names
        .into_iter()
        .map(|name| {
            let name = name.as_str().unwrap_or_default();
            if is_channel_pattern(name) {
                Err(NO_WILDCARDS.to_owned())
            } else if !is_channel_name(name) {
                Err(error(405, &[name], "Invalid channel"))
            } else if name.starts_with("/meta/") || name.starts_with("/service/") {
                Err(error(403, &[name], "Forbidden channel"))
            } else {
                Ok(name.to_owned())
            }
        })
        .collect()
}

/// Bayeux's channel names: `/`-separated segments of letters, digits and `-_!~()$@`.
pub fn is_channel_name(name: &str) -> bool {
    name.strip_prefix('/')
        .is_some_and(|rest| rest.split('/').all(is_segment))
}

/// A subscription pattern: a channel name (or the root) ending in `/*` or `/**`.
fn is_channel_pattern(name: &str) -> bool {
    let Some(stem) = name.strip_suffix("/**").or_else(|| name.strip_suffix("/*")) else {
        return false;
    };
    stem.is_empty() || is_channel_name(stem)
}

fn is_segment(segment: &str) -> bool {
    !segment.is_empty()
        && segment
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_!~()$@".contains(c))
}

/// A Bayeux error, `code:arguments:text`. Arguments are left out when they hold characters
/// the error grammar has no room for (Faye's client would not read the error otherwise).
pub fn error(code: u16, arguments: &[&str], text: &str) -> String {
    let readable = |argument: &&str| {
        argument
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_!~()$@ /*.".contains(c))
    };
    let arguments = if arguments.iter().all(readable) {
        arguments.join(",")
    } else {
        String::new()
    };
    format!("{code}:{arguments}:{text}")
}

fn missing(parameter: &str) -> String {
    error(402, &[parameter], "Missing required parameter")
}

/// A refusal of a publish or subscription to a channel this server does not serve.
pub fn forbidden(channel: &str) -> String {
    error(403, &[channel], "Forbidden channel")
}

impl Reply {
    fn fields(self, successful: bool) -> Map<String, Value> {
        let mut fields = Map::new();
        if let Some(id) = self.id {
            fields.insert("id".into(), id);
        }
        if let Some(client_id) = self.client_id {
            fields.insert("clientId".into(), json!(client_id));
        }
        if let Some(channel) = self.channel {
            fields.insert("channel".into(), json!(channel));
        }
        if let Some(subscription) = self.subscription {
            fields.insert("subscription".into(), subscription);
        }
        fields.insert("successful".into(), json!(successful));
        fields
    }

    /// Done as asked.
    pub fn ok(self) -> Value {
        Value::Object(self.fields(true))
    }

    /// Refused with `error`. A failed handshake or connect also advises a new handshake, as
    /// Faye's server does.
    pub fn refused(self, error: &str) -> Value {
        let advise = matches!(self.channel.as_deref(), Some(HANDSHAKE | CONNECT));
        let mut fields = self.fields(false);
        fields.insert("error".into(), json!(error));
        if advise {
            fields.insert("advice".into(), json!({"reconnect": "handshake"}));
        }
        Value::Object(fields)
    }

    /// A successful handshake: the client's id, and the one connection type it may use next.
    pub fn handshaken(self, client_id: &str, advice: Advice) -> Value {
        let mut fields = self.fields(true);
        fields.insert("clientId".into(), json!(client_id));
        fields.insert("version".into(), json!(VERSION));
        fields.insert("supportedConnectionTypes".into(), json!([WEBSOCKET]));
        fields.insert("advice".into(), advice.to_json());
        Value::Object(fields)
    }

    /// A successful connect, with the pace of the next.
    pub fn connected(self, advice: Advice) -> Value {
        let mut fields = self.fields(true);
        fields.insert("advice".into(), advice.to_json());
        Value::Object(fields)
    }
}

impl Advice {
    fn to_json(self) -> Value {
        json!({"reconnect": "retry", "interval": self.interval_ms, "timeout": self.timeout_ms})
    }
}

/// `data` delivered on `channel`.
pub fn delivery(channel: &str, data: Value) -> Value {
    json!({"channel": channel, "data": data})
}

/// The answer to a frame that could not be read at all.
pub fn bad_request() -> Value {
    json!({"successful": false, "error": error(400, &[], "Bad request")})
}

/// One frame of messages.
pub fn encode(messages: Vec<Value>) -> String {
    Value::Array(messages).to_string()
}
