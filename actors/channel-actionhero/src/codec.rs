//! actionhero lines: client text -> [`Request`], and the JSON lines the server writes.
//!
//! A line is a verb and its words (`roomChange lobby`, `say hello there`), or a JSON object:
//! `{"action": "login", "params": {...}}` runs an action, and `{"event": "say", "room": ...,
//! "message": ...}` (the shape actionhero's websocket client sends) is a verb. A word that is
//! no verb names an action run with the connection's params, as upstream does. Websocket
//! frames are read exactly like lines.

use serde_json::{json, Map, Value};

/// What one line asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    Verb(Verb),
    /// `params`: `None` for a bare word, which runs with the connection's stored params.
    Action {
        name: String,
        params: Option<Map<String, Value>>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Verb {
    RoomChange(String),
    RoomLeave,
    RoomView,
    ListenToRoom(String),
    SilenceRoom(String),
    Say(String),
    DetailsView,
    ParamAdd { key: String, value: String },
    ParamView(String),
    ParamsView,
    ParamDelete(String),
    ParamsDelete,
    Quit,
}

/// Why a line could not be read; the text is what the client sees.
#[derive(Clone, Debug, PartialEq)]
pub struct Unreadable(pub String);

fn unreadable(text: impl Into<String>) -> Unreadable {
    Unreadable(text.into())
}

/// Whether a line is blank: telnet's Enter, which asks nothing and gets no answer.
pub fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// Reads one line (without its line end).
pub fn decode(line: &str) -> Result<Request, Unreadable> {
    let line = line.trim();
    if line.is_empty() {
        return Err(unreadable("an empty line asks for nothing"));
    }
    if line.starts_with(['{', '[']) {
        return decode_json(line);
    }
    let (word, rest) = match line.split_once(char::is_whitespace) {
        Some((word, rest)) => (word, rest.trim_start()),
        None => (line, ""),
    };
    let first = rest.split_whitespace().next().map(str::to_owned);
    match verb(word, first, rest)? {
        Some(verb) => Ok(Request::Verb(verb)),
        None => Ok(Request::Action {
            name: word.to_owned(),
            params: None,
        }),
    }
}

/// The verb `name` with its argument; `None` if `name` is not a verb. `first` is the first word
/// after the verb, `rest` everything after it.
fn verb(name: &str, first: Option<String>, rest: &str) -> Result<Option<Verb>, Unreadable> {
    let needs = |what: &str| unreadable(format!("{name} needs {what}"));
    let room = || first.clone().ok_or_else(|| needs("a room"));
    let key = || first.clone().ok_or_else(|| needs("a key"));
    let verb = match name {
        "roomChange" => Verb::RoomChange(room()?),
        "roomLeave" => Verb::RoomLeave,
        "roomView" => Verb::RoomView,
        "listenToRoom" => Verb::ListenToRoom(room()?),
        "silenceRoom" => Verb::SilenceRoom(room()?),
        "say" if rest.is_empty() => return Err(needs("a message")),
        "say" => Verb::Say(rest.to_owned()),
        "detailsView" => Verb::DetailsView,
        "paramAdd" => {
            // `paramAdd key=value` or `paramAdd key value`.
            let (key, value) = match rest.split_once('=') {
                Some((key, value)) => (key.trim(), value.trim()),
                None => match rest.split_once(char::is_whitespace) {
                    Some((key, value)) => (key, value.trim()),
                    None => (rest, ""),
                },
            };
            if key.is_empty() {
                return Err(needs("key=value"));
            }
            Verb::ParamAdd {
                key: key.to_owned(),
                value: value.to_owned(),
            }
        }
        "paramView" => Verb::ParamView(key()?),
        "paramsView" => Verb::ParamsView,
        "paramDelete" => Verb::ParamDelete(key()?),
        "paramsDelete" => Verb::ParamsDelete,
        "quit" | "exit" => Verb::Quit,
        _ => return Ok(None),
    };
    Ok(Some(verb))
}

fn decode_json(line: &str) -> Result<Request, Unreadable> {
    let value: Value =
        serde_json::from_str(line).map_err(|e| unreadable(format!("malformed JSON: {e}")))?;
    let Value::Object(mut object) = value else {
        return Err(unreadable("a JSON line must be an object"));
    };
    if let Some(action) = object.get("action") {
        let name = action
            .as_str()
            .filter(|name| !name.is_empty())
            .ok_or_else(|| unreadable("`action` must be a non-empty string"))?
            .to_owned();
        let params = match object.remove("params") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(params)) => params,
            Some(_) => return Err(unreadable("`params` must be an object")),
        };
        return Ok(Request::Action {
            name,
            params: Some(params),
        });
    }
    let Some(event) = object.get("event").and_then(Value::as_str) else {
        return Err(unreadable("a JSON line needs `action` or `event`"));
    };
    let field = |name: &str| match object.get(name) {
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    };
    // The websocket client names a verb's argument by what it is.
    let rest = field("message").unwrap_or_default();
    let first = field("room").or_else(|| field("key"));
    let verb = match event {
        "paramAdd" => Some(Verb::ParamAdd {
            key: first.ok_or_else(|| unreadable("paramAdd needs a key"))?,
            value: field("value").unwrap_or_default(),
        }),
        event => verb(event, first, &rest)?,
    };
    verb.map(Request::Verb)
        .ok_or_else(|| unreadable(format!("unknown event `{event}`")))
}

/// The greeting written when a connection opens.
pub fn welcome(text: &str, room: Option<&str>) -> String {
    json!({"welcome": text, "room": room, "context": "api"}).to_string()
}

/// A verb's success.
pub fn ok(data: Value, message_count: u64) -> String {
    json!({"status": "OK", "context": "response", "data": data, "messageCount": message_count})
        .to_string()
}

/// A refused verb or an unreadable line.
pub fn error(text: &str, message_count: u64) -> String {
    json!({
        "status": "error",
        "error": text,
        "context": "response",
        "data": null,
        "messageCount": message_count,
    })
    .to_string()
}

/// An action's answer: its fields, plus `error` when it failed.
pub fn action_response(
    mut fields: Map<String, Value>,
    error: Option<&str>,
    message_count: u64,
) -> String {
    if let Some(error) = error {
        fields.insert("error".into(), json!(error));
    }
    fields.insert("context".into(), json!("response"));
    fields.insert("messageCount".into(), json!(message_count));
    Value::Object(fields).to_string()
}

/// The answer to `quit`, written just before the server closes the connection.
pub fn bye(message_count: u64) -> String {
    json!({"status": "Bye!", "context": "response", "messageCount": message_count}).to_string()
}

/// A chat line as every member of a room sees it.
pub fn chat(message: &Value, room: Option<&str>, from: &str, sent_at: u64) -> String {
    json!({"message": message, "room": room, "from": from, "context": "user", "sentAt": sent_at})
        .to_string()
}

/// Something the server tells this connection about itself (an operator moved it).
pub fn api_event(event: &str, room: &str) -> String {
    json!({"context": "api", "event": event, "room": room}).to_string()
}
