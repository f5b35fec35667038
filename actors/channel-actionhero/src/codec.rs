//! actionhero requests and replies: client text -> [`Request`], and the JSON messages the
//! server writes, in the shapes of actionhero v7.6.5 (`servers/socket.js`,
//! `servers/websocket.js`, `initializers/connections.js`).
//!
//! A line is a verb and its words (`roomChange lobby`, `say hello there`), or a JSON object:
//! `{"action": "login", "params": {...}}` runs an action, and `{"event": "say", "message": ...}`
//! (what actionhero's websocket client sends) is a verb, or with `"event": "action"` an action.
//! Any other line names an action, run with the connection's params, as upstream does.

use serde_json::{json, Map, Value};

/// What one line (or websocket event) asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    Verb(Verb),
    /// `params`: `None` for a bare word, which runs with the connection's stored params. An
    /// empty `name` is a request that named no action.
    Action {
        name: String,
        params: Option<Map<String, Value>>,
    },
}

/// A verb and its words. A missing room or key is an empty string, which upstream also lets
/// through to the verb (and the verb refuses).
#[derive(Clone, Debug, PartialEq)]
pub enum Verb {
    RoomChange(String),
    RoomLeave,
    RoomView,
    ListenToRoom(String),
    SilenceRoom(String),
    Say(String),
    DetailsView,
    Documentation,
    ParamAdd { key: String, value: String },
    ParamView(String),
    ParamsView,
    ParamDelete(String),
    ParamsDelete,
    Quit,
    Exit,
}

/// Which verbs a connection may use: upstream's websocket server has no param verbs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verbs {
    Socket,
    Websocket,
}

/// Why a request could not be read; the text is what the client sees.
#[derive(Clone, Debug, PartialEq)]
pub enum Unreadable {
    /// A verb that cannot run as written: answered like a refused verb (in `status`).
    Verb(String),
    /// Input that is no request at all: answered like a failed action (in `error`).
    Line(String),
}

/// Upstream's answer to an event that names no verb the connection may use.
pub const VERB_NOT_FOUND: &str = "verb not found or not allowed";

/// Whether a line is blank: telnet's Enter, which asks nothing and gets no answer.
pub fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// Reads one line (without its line end).
pub fn decode(line: &str) -> Result<Request, Unreadable> {
    let line = line.trim();
    if line.starts_with('{') {
        // Upstream tries JSON only after the first word proved no verb; a line that is not a
        // JSON object falls through to the words, and so names an action.
        if let Ok(Value::Object(object)) = serde_json::from_str(line) {
            return decode_object(object);
        }
    }
    let (name, rest) = match line.split_once(char::is_whitespace) {
        Some((name, rest)) => (name, rest.trim_start()),
        None => (line, ""),
    };
    if name.is_empty() {
        return Err(Unreadable::Line("an empty line asks for nothing".into()));
    }
    let words: Vec<String> = rest.split_whitespace().map(str::to_owned).collect();
    match verb(name, &words, rest, Verbs::Socket)? {
        Some(verb) => Ok(Request::Verb(verb)),
        None => Ok(Request::Action {
            name: name.to_owned(),
            params: None,
        }),
    }
}

/// A JSON line: an action with its own params, or a websocket client's event.
fn decode_object(mut object: Map<String, Value>) -> Result<Request, Unreadable> {
    if let Some(action) = object.remove("action") {
        return Ok(Request::Action {
            name: action_name(action),
            params: Some(params_of(object.remove("params"))),
        });
    }
    if object.contains_key("event") {
        return decode_event(Value::Object(object), Verbs::Socket);
    }
    Ok(Request::Action {
        name: String::new(),
        params: Some(Map::new()),
    })
}

/// Reads one event of actionhero's websocket client (`{event: "say", message: "hi"}`,
/// `{event: "action", params: {action: "login", ...}}`). As upstream does, the values of the
/// fields besides `event` are the verb's words.
pub fn decode_event(data: Value, verbs: Verbs) -> Result<Request, Unreadable> {
    let not_found = || Unreadable::Verb(VERB_NOT_FOUND.into());
    let Value::Object(mut data) = data else {
        return Err(not_found());
    };
    let Some(Value::String(event)) = data.remove("event") else {
        return Err(not_found());
    };
    if event == "action" {
        let params = params_of(data.remove("params"));
        let name = params.get("action").cloned().map(action_name);
        return Ok(Request::Action {
            name: name.unwrap_or_default(),
            params: Some(params),
        });
    }
    let words: Vec<String> = data.into_values().map(word).collect();
    let rest = words.join(" ");
    verb(&event, &words, &rest, verbs)?
        .map(Request::Verb)
        .ok_or_else(not_found)
}

/// The verb `name` with its words; `None` if `name` is no verb this connection may use. `rest`
/// is everything after the verb, spacing kept (what `say` says).
fn verb(
    name: &str,
    words: &[String],
    rest: &str,
    verbs: Verbs,
) -> Result<Option<Verb>, Unreadable> {
    let first = || words.first().cloned().unwrap_or_default();
    let socket_only = matches!(
        name,
        "paramAdd" | "paramView" | "paramsView" | "paramDelete" | "paramsDelete"
    );
    if socket_only && verbs == Verbs::Websocket {
        return Ok(None);
    }
    let verb = match name {
        "roomChange" => Verb::RoomChange(first()),
        "roomLeave" => Verb::RoomLeave,
        "roomView" => Verb::RoomView,
        "listenToRoom" => Verb::ListenToRoom(first()),
        "silenceRoom" => Verb::SilenceRoom(first()),
        "say" if rest.trim().is_empty() => {
            return Err(Unreadable::Verb("say needs a message".into()))
        }
        "say" => Verb::Say(rest.to_owned()),
        "detailsView" => Verb::DetailsView,
        "documentation" => Verb::Documentation,
        "paramAdd" => param_add(rest)?,
        "paramView" => Verb::ParamView(first()),
        "paramsView" => Verb::ParamsView,
        "paramDelete" => Verb::ParamDelete(first()),
        "paramsDelete" => Verb::ParamsDelete,
        "quit" => Verb::Quit,
        "exit" => Verb::Exit,
        _ => return Ok(None),
    };
    Ok(Some(verb))
}

/// `paramAdd key=value` or `paramAdd key value`.
fn param_add(rest: &str) -> Result<Verb, Unreadable> {
    let (key, value) = match rest.split_once('=') {
        Some((key, value)) => (key.trim(), value.trim()),
        None => match rest.split_once(char::is_whitespace) {
            Some((key, value)) => (key, value.trim()),
            None => (rest, ""),
        },
    };
    if key.is_empty() {
        return Err(Unreadable::Verb("paramAdd needs key=value".into()));
    }
    Ok(Verb::ParamAdd {
        key: key.to_owned(),
        value: value.to_owned(),
    })
}

/// An action's name as the client gave it (upstream takes any value).
fn action_name(value: Value) -> String {
    match value {
        Value::String(name) => name,
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// An action's `params`; anything but an object gives none, as upstream reads it.
fn params_of(params: Option<Value>) -> Map<String, Value> {
    match params {
        Some(Value::Object(params)) => params,
        _ => Map::new(),
    }
}

/// One word of a websocket event.
fn word(value: Value) -> String {
    match value {
        Value::String(text) => text,
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The greeting. Upstream's is `{welcome, context}`; wcc adds the room every connection
/// starts in.
pub fn welcome(text: &str, room: Option<&str>) -> Value {
    json!({"welcome": text, "room": room, "context": "api"})
}

/// A verb's reply: `status` is `OK` or the refusal; `data` is left out where upstream's is
/// undefined (`say`, `paramView` of a key never added).
pub fn verb_reply(status: &str, data: Option<Value>, message_count: u64) -> Value {
    let mut reply = Map::new();
    reply.insert("status".into(), json!(status));
    reply.insert("context".into(), json!("response"));
    if let Some(data) = data {
        reply.insert("data".into(), data);
    }
    reply.insert("messageCount".into(), json!(message_count));
    Value::Object(reply)
}

/// An action's reply: its fields, plus `error` when it failed.
pub fn action_reply(mut fields: Map<String, Value>, error: Option<&str>, count: u64) -> Value {
    if let Some(error) = error {
        fields.insert("error".into(), json!(error));
    }
    fields.insert("context".into(), json!("response"));
    fields.insert("messageCount".into(), json!(count));
    Value::Object(fields)
}

/// The goodbye written just before the server closes the connection (`reason`: `quit
/// requested`).
pub fn bye(reason: &str) -> Value {
    json!({"status": "Bye!", "context": "api", "reason": reason})
}

/// A chat message as every member of a room sees it.
pub fn chat(message: &Value, room: Option<&str>, from: &str, sent_at: u64) -> Value {
    json!({"message": message, "room": room, "from": from, "context": "user", "sentAt": sent_at})
}

/// Something the server tells this connection about itself (an operator moved it).
pub fn api_event(event: &str, room: &str) -> Value {
    json!({"context": "api", "event": event, "room": room})
}
