//! Cadmium frames: the base message `{id, type, from, to, ok, authToken, payload}`.
//!
//! [`decode`] reads a request's envelope, [`Command::parse`] its typed payload; both fail with an
//! [`Error`] that already names the `errID` to answer with. [`ok`] and [`error`] build replies,
//! which echo the request's `id` and `type` and come `from` the server.
//!
//! The protocol documents (cadmium-docs-legacy `protocol-spec/`) write `to` both as a list of
//! entity ids and as one id (`"to": "cadmium.org"`); both are read, as a list.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::errors;

mod command;

pub use command::{Auth, Chat, Command, SignIn};

pub const LOGIN: &str = "urn:cadmium:profile:login";
pub const REGISTER: &str = "urn:cadmium:profile:register";
/// Login and registration as the login and registration documents name them, without `urn:`.
pub const LOGIN_SHORT: &str = "profile:login";
pub const REGISTER_SHORT: &str = "profile:register";
/// The core document's sign-in (`urn:cadmium:auth`), by password or by token.
pub const AUTH: &str = "urn:cadmium:auth";
pub const AUTH_LOGIN_PASSWORD: &str = "urn:cadmium:auth:login_password";
pub const AUTH_TOKEN: &str = "urn:cadmium:auth:token";
pub const MESSAGE: &str = "urn:cadmium:chats:private:message";
pub const READ: &str = "urn:cadmium:chats:private:read";
pub const TYPING: &str = "urn:cadmium:chats:private:typing";
/// wcc's additions for the seed's bans (the seed names the refusal, not the request).
pub const BAN: &str = "urn:cadmium:chats:private:ban";
pub const UNBAN: &str = "urn:cadmium:chats:private:unban";
/// Editing and deleting a message, as the chats proposal (CPE#4) names them; the same types
/// tell the recipient.
pub const EDIT: &str = "urn:cadmium:chat:message:edit";
pub const DELETE: &str = "urn:cadmium:chat:message:delete";

/// Every request type wcc reads; anything else is `unhandled`.
pub const TYPES: [&str; 12] = [
    LOGIN,
    LOGIN_SHORT,
    REGISTER,
    REGISTER_SHORT,
    AUTH,
    MESSAGE,
    READ,
    TYPING,
    BAN,
    UNBAN,
    EDIT,
    DELETE,
];

/// A request's envelope; `payload` is read per type by [`Command::parse`].
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub id: String,
    pub kind: String,
    /// The recipients, however the frame wrote them (one id or a list).
    pub to: Vec<String>,
    pub auth_token: Option<String>,
    pub payload: Value,
}

impl Request {
    /// Whether this asks to send a private message: such requests that arrive together are
    /// stored with one call to the core.
    pub fn is_private_message(&self) -> bool {
        self.kind == MESSAGE
    }
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
    to: Option<Recipients>,
    #[serde(default)]
    auth_token: Option<String>,
    #[serde(default)]
    payload: Value,
}

/// `to`: one entity id or a list of them.
#[derive(Deserialize)]
#[serde(untagged, expecting = "`to` is an entity id or a list of entity ids")]
enum Recipients {
    One(String),
    Many(Vec<String>),
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
        to: match envelope.to {
            None => Vec::new(),
            Some(Recipients::One(to)) => vec![to],
            Some(Recipients::Many(to)) => to,
        },
        auth_token: envelope.auth_token.filter(|t| !t.is_empty()),
        payload: envelope.payload,
    })
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

/// The wcc message id a client's message id names: the bare id the chat documents use, or the
/// core document's entity id `&<id>@server` (also `&msg:<id>@server`).
pub fn message_local_part(id: &str) -> &str {
    let Some(rest) = id.strip_prefix('&') else {
        return id;
    };
    let rest = rest.strip_prefix("msg:").unwrap_or(rest);
    rest.split_once('@').map_or(rest, |(local, _)| local)
}

/// A successful reply (or push) `from` the server or a user.
pub fn ok(id: &str, kind: &str, from: &str, payload: Value) -> String {
    json!({ "id": id, "type": kind, "from": from, "ok": true, "payload": payload }).to_string()
}

/// An error reply in the documents' shape: `ok: false`,
/// `payload: {errID, errText, errPayload}` (`errPayload` is `{}` when the error has nothing
/// more to say, as in the protocol errors document).
pub fn error(id: &str, kind: &str, from: &str, error: &Error) -> String {
    let extra = error.payload.clone().unwrap_or_else(|| json!({}));
    let payload = json!({ "errID": error.err_id, "errText": error.text, "errPayload": extra });
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

    /// The login and registration documents address the server with a plain string.
    #[test]
    fn to_is_one_entity_id_or_a_list() {
        let one = decode(r#"{"id":"a","type":"profile:login","to":"cadmium.org"}"#).unwrap();
        assert_eq!(one.to, ["cadmium.org"]);
        let many = decode(r#"{"id":"a","type":"x","to":["@a@s","@b@s"]}"#).unwrap();
        assert_eq!(many.to, ["@a@s", "@b@s"]);
        for absent in [r#"{"type":"x"}"#, r#"{"type":"x","to":null}"#] {
            assert!(decode(absent).unwrap().to.is_empty(), "{absent}");
        }
        for bad in [
            r#"{"id":"a","type":"x","to":5}"#,
            r#"{"id":"a","type":"x","to":[5]}"#,
            r#"{"id":"a","type":"x","to":{"id":"@a@s"}}"#,
        ] {
            let Err((id, _, error)) = decode(bad) else {
                panic!("{bad} was read");
            };
            assert_eq!(
                (id.as_str(), error.err_id),
                ("a", errors::MALFORMED_MESSAGE)
            );
            assert!(
                error.text.contains("`to` is an entity id"),
                "{}",
                error.text
            );
        }
    }

    /// The protocol errors document's request carries `from`; it is not the client's to say.
    #[test]
    fn a_from_in_a_request_is_ignored() {
        let request = decode(
            r#"{"id":"abcd","type":"incorrectMessageType","from":"@juliet@cadmium.im","to":"cadmium.im","payload":{"test":"test"}}"#,
        )
        .unwrap();
        assert_eq!(request.kind, "incorrectMessageType");
        assert_eq!(request.to, ["cadmium.im"]);
    }

    #[test]
    fn message_ids_are_bare_or_entity_ids() {
        let id = "3b5135a5-aff5-4396-a629-a254f383e82f";
        for form in [
            id.to_owned(),
            format!("&{id}@cadmium.org"),
            format!("&msg:{id}@cadmium.org"),
            format!("&{id}"),
        ] {
            assert_eq!(message_local_part(&form), id, "{form}");
        }
    }

    #[test]
    fn every_error_has_an_err_payload() {
        let plain: Value =
            serde_json::from_str(&error("a", "t", "s", &Error::new("x", "why"))).unwrap();
        assert_eq!(
            plain["payload"],
            json!({"errID": "x", "errText": "why", "errPayload": {}})
        );
        let mut retry = Error::new(errors::RATELIMIT_EXCEED, "slow down");
        retry.payload = Some(json!({"retryAfter": 1000}));
        let retry: Value = serde_json::from_str(&error("a", "t", "s", &retry)).unwrap();
        assert_eq!(retry["payload"]["errPayload"], json!({"retryAfter": 1000}));
    }
}
