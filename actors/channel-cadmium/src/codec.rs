//! Cadmium frames: the base message `{id, type, from, to, ok, authToken, payload}`.
//!
//! [`decode`] reads a request's envelope, [`Command::parse`] its typed payload; both fail with an
//! [`Error`] that already names the `errID` to answer with. [`ok`] and [`error`] build replies,
//! which echo the request's `id` and `type` and come `from` the server.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::content::{self, SendMessage};
use crate::errors;

pub const LOGIN: &str = "urn:cadmium:profile:login";
pub const REGISTER: &str = "urn:cadmium:profile:register";
pub const MESSAGE: &str = "urn:cadmium:chats:private:message";
pub const READ: &str = "urn:cadmium:chats:private:read";
pub const TYPING: &str = "urn:cadmium:chats:private:typing";
/// wcc's additions for the seed's bans (the seed names the refusal, not the request).
pub const BAN: &str = "urn:cadmium:chats:private:ban";
pub const UNBAN: &str = "urn:cadmium:chats:private:unban";

/// A request's envelope; `payload` is read per type by [`Command::parse`].
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub id: String,
    pub kind: String,
    pub to: Vec<String>,
    pub auth_token: Option<String>,
    pub payload: Value,
}

/// Why a request is refused: what to put in `errID` and `errText` (and `errPayload`).
#[derive(Clone, Debug, PartialEq)]
pub struct Error {
    pub err_id: &'static str,
    pub text: String,
    pub payload: Option<Value>,
}

impl Error {
    pub fn new(err_id: &'static str, text: impl Into<String>) -> Self {
        Self {
            err_id,
            text: text.into(),
            payload: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    #[serde(default)]
    id: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    to: Vec<String>,
    #[serde(default)]
    auth_token: Option<String>,
    #[serde(default)]
    payload: Value,
}

/// Reads a request envelope. On failure, returns the id and type to echo, as far as they could
/// be read, with the error.
pub fn decode(text: &str) -> Result<Request, (String, String, Error)> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        let error = Error::new(errors::MALFORMED_MESSAGE, format!("not JSON: {e}"));
        (String::new(), String::new(), error)
    })?;
    // Echo what we can even when the rest is wrong, so the client can match the error.
    let id = value["id"].as_str().unwrap_or_default().to_owned();
    let kind = value["type"].as_str().unwrap_or_default().to_owned();
    // serde reads a struct from a JSON array too, field by position: refuse that shape here.
    if !value.is_object() {
        let error = Error::new(errors::MALFORMED_MESSAGE, "a message is a JSON object");
        return Err((id, kind, error));
    }
    let envelope: Envelope = serde_json::from_value(value).map_err(|e| {
        let error = Error::new(errors::MALFORMED_MESSAGE, format!("bad message: {e}"));
        (id.clone(), kind.clone(), error)
    })?;
    Ok(Request {
        id: envelope.id.unwrap_or_default(),
        kind: envelope.kind,
        to: envelope.to,
        auth_token: envelope.auth_token.filter(|t| !t.is_empty()),
        payload: envelope.payload,
    })
}

/// A request's meaning, read from its type, `to` and payload.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Login and registration: the only requests without an auth token.
    SignIn(SignIn),
    /// Everything else: on behalf of the user the token names.
    Chat(Chat),
}

#[derive(Clone, Debug, PartialEq)]
pub enum SignIn {
    Login {
        username: String,
        password: String,
    },
    Register {
        username: String,
        password: String,
        login_on_success: bool,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Chat {
    Message { to: String, message: SendMessage },
    Read { message_id: String },
    Typing { to: String },
    Ban { user: String },
    Unban { user: String },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    username: String,
    password: String,
    #[serde(default)]
    login_on_success: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReadPayload {
    #[serde(rename = "messageID")]
    message_id: String,
}

#[derive(Deserialize)]
struct UserPayload {
    user: String,
}

impl Command {
    pub fn parse(request: &Request) -> Result<Command, Error> {
        let payload = request.payload.clone();
        Ok(match request.kind.as_str() {
            LOGIN => {
                let c: Credentials = payload_of(payload)?;
                Command::SignIn(SignIn::Login {
                    username: c.username,
                    password: c.password,
                })
            }
            REGISTER => {
                let c: Credentials = payload_of(payload)?;
                Command::SignIn(SignIn::Register {
                    username: c.username,
                    password: c.password,
                    login_on_success: c.login_on_success,
                })
            }
            MESSAGE => Command::Chat(Chat::Message {
                to: one_recipient(request)?,
                message: content::parse(payload)?,
            }),
            READ => {
                let read: ReadPayload = payload_of(payload)?;
                Command::Chat(Chat::Read {
                    message_id: read.message_id,
                })
            }
            TYPING => Command::Chat(Chat::Typing {
                to: one_recipient(request)?,
            }),
            BAN => Command::Chat(Chat::Ban {
                user: payload_of::<UserPayload>(payload)?.user,
            }),
            UNBAN => Command::Chat(Chat::Unban {
                user: payload_of::<UserPayload>(payload)?.user,
            }),
            other => {
                return Err(Error::new(
                    errors::UNKNOWN_TYPE,
                    format!("unknown message type {other:?}"),
                ))
            }
        })
    }
}

fn payload_of<T: serde::de::DeserializeOwned>(payload: Value) -> Result<T, Error> {
    serde_json::from_value(payload)
        .map_err(|e| Error::new(errors::INVALID_REQUEST, format!("bad payload: {e}")))
}

/// Private chats have exactly one other side.
fn one_recipient(request: &Request) -> Result<String, Error> {
    match request.to.as_slice() {
        [to] => Ok(to.clone()),
        _ => Err(Error::new(
            errors::INVALID_REQUEST,
            "a private chat message goes `to` exactly one user",
        )),
    }
}

/// `@local@server`.
pub fn address(local: &str, server: &str) -> String {
    format!("@{local}@{server}")
}

/// The local part of a user address `@local@server` (or of a bare `@local`). The server part
/// is not checked: wcc is one server, and clients disagree on the name (the seed itself mixes
/// `cadmium.org` and `cadmium.im`).
pub fn user_local_part(address: &str) -> Option<&str> {
    let rest = address.strip_prefix('@')?;
    let local = rest.split_once('@').map_or(rest, |(local, _)| local);
    (!local.is_empty()).then_some(local)
}

/// A successful reply (or push) `from` the server or a user.
pub fn ok(id: &str, kind: &str, from: &str, payload: Value) -> String {
    json!({ "id": id, "type": kind, "from": from, "ok": true, "payload": payload }).to_string()
}

/// An error reply in the seed's shape: `ok: false`, `payload: {errID, errText[, errPayload]}`.
pub fn error(id: &str, kind: &str, from: &str, error: &Error) -> String {
    let mut payload = json!({ "errID": error.err_id, "errText": error.text });
    if let Some(extra) = &error.payload {
        payload["errPayload"] = extra.clone();
    }
    json!({ "id": id, "type": kind, "from": from, "ok": false, "payload": payload }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzzing (fuzz/fuzz_targets/cadmium_decode.rs): a JSON array with the envelope's
    /// fields in order was read as a request.
    #[test]
    fn an_array_is_no_message() {
        for text in [
            r#"["t1","urn:cadmium:chats:private:typing",["@bob"],"token"]"#,
            r#"[null,"urn:cadmium:profile:login",[],null,{"username":"a","password":"b"}]"#,
        ] {
            let Err((id, kind, error)) = decode(text) else {
                panic!("{text} was read as a request");
            };
            assert_eq!((id.as_str(), kind.as_str()), ("", ""));
            assert_eq!(error.err_id, errors::MALFORMED_MESSAGE);
        }
    }
}
