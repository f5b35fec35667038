//! A request's meaning: its `type`, `to` and payload read into a [`Command`].
//!
//! Each documented spelling of a request becomes the same command: login as
//! `urn:cadmium:profile:login` or `profile:login`, registration likewise, and the core document's
//! `urn:cadmium:auth` by password or token.

use serde::Deserialize;
use serde_json::Value;

use super::{Error, Request};
use super::{
    AUTH, AUTH_LOGIN_PASSWORD, AUTH_TOKEN, BAN, DELETE, EDIT, LOGIN, LOGIN_SHORT, MESSAGE, READ,
    REGISTER, REGISTER_SHORT, TYPING, UNBAN,
};
use crate::content::{self, SendMessage};
use crate::errors;

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Signing in and registration: the only requests that need no signed-in connection.
    SignIn(SignIn),
    /// Everything else: on behalf of the user the `authToken` (or the connection) stands for.
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
    /// `urn:cadmium:auth`: answered in its own shape (`token`, not `authToken`).
    Auth(Auth),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Auth {
    LoginPassword { username: String, password: String },
    Token { token: String },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Chat {
    Message {
        to: String,
        message: SendMessage,
    },
    Read {
        message_id: String,
    },
    Typing {
        to: String,
    },
    Ban {
        user: String,
    },
    Unban {
        user: String,
    },
    /// New content for a message; it keeps its Cadmium type, so `content` is read against that.
    Edit {
        message_id: String,
        content: Value,
    },
    Delete {
        message_id: String,
    },
}

/// Login payload of the login document: a username or a third-party id, and the password.
#[derive(Deserialize)]
struct LoginPayload {
    #[serde(default)]
    username: Option<String>,
    #[serde(default, rename = "thirdPID")]
    third_pid: Option<String>,
    password: String,
}

/// Registration payload. The documents' `thirdPIDs` (unverified email addresses and phone
/// numbers) are not kept: wcc names accounts by username only.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegisterPayload {
    #[serde(default)]
    username: Option<String>,
    password: String,
    #[serde(default)]
    login_on_success: bool,
}

#[derive(Deserialize)]
struct AuthPayload {
    #[serde(rename = "type")]
    kind: String,
    fields: Value,
}

#[derive(Deserialize)]
struct PasswordFields {
    username: String,
    password: String,
}

#[derive(Deserialize)]
struct TokenFields {
    token: String,
}

#[derive(Deserialize)]
struct ReadPayload {
    #[serde(rename = "messageID")]
    message_id: String,
}

#[derive(Deserialize)]
struct UserPayload {
    user: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EditPayload {
    #[serde(rename = "eventID")]
    event_id: String,
    updated_content: Value,
}

#[derive(Deserialize)]
struct DeletePayload {
    #[serde(rename = "eventID")]
    event_id: String,
}

impl Command {
    pub fn parse(request: &Request) -> Result<Command, Error> {
        let payload = request.payload.clone();
        Ok(match request.kind.as_str() {
            LOGIN | LOGIN_SHORT => Command::SignIn(login(payload_of(payload)?)?),
            REGISTER | REGISTER_SHORT => {
                let r: RegisterPayload = payload_of(payload)?;
                let Some(username) = r.username else {
                    return Err(invalid("wcc registers accounts by `username`"));
                };
                Command::SignIn(SignIn::Register {
                    username,
                    password: r.password,
                    login_on_success: r.login_on_success,
                })
            }
            AUTH => Command::SignIn(SignIn::Auth(auth(payload_of(payload)?)?)),
            MESSAGE => Command::Chat(Chat::Message {
                to: one_recipient(request)?,
                message: content::parse(payload)?,
            }),
            READ => Command::Chat(Chat::Read {
                message_id: payload_of::<ReadPayload>(payload)?.message_id,
            }),
            TYPING => Command::Chat(Chat::Typing {
                to: one_recipient(request)?,
            }),
            BAN => Command::Chat(Chat::Ban {
                user: payload_of::<UserPayload>(payload)?.user,
            }),
            UNBAN => Command::Chat(Chat::Unban {
                user: payload_of::<UserPayload>(payload)?.user,
            }),
            EDIT => {
                let edit: EditPayload = payload_of(payload)?;
                Command::Chat(Chat::Edit {
                    message_id: edit.event_id,
                    content: edit.updated_content,
                })
            }
            DELETE => Command::Chat(Chat::Delete {
                message_id: payload_of::<DeletePayload>(payload)?.event_id,
            }),
            other => {
                return Err(Error::new(
                    errors::UNKNOWN_TYPE,
                    format!(
                    "Incorrect type of message {other:?} (type isn't implemented in the server)"
                ),
                ))
            }
        })
    }
}

fn login(login: LoginPayload) -> Result<SignIn, Error> {
    match (login.username, login.third_pid) {
        (Some(username), _) => Ok(SignIn::Login {
            username,
            password: login.password,
        }),
        // Registration keeps no third-party ids, so none can sign in.
        (None, Some(_)) => Err(Error::new(
            errors::INVALID_CREDS,
            "no account here has a third-party ID: sign in with your username",
        )),
        (None, None) => Err(invalid("a login names a `username`")),
    }
}

fn auth(auth: AuthPayload) -> Result<Auth, Error> {
    match auth.kind.as_str() {
        AUTH_LOGIN_PASSWORD => {
            let fields: PasswordFields = payload_of(auth.fields)?;
            Ok(Auth::LoginPassword {
                username: fields.username,
                password: fields.password,
            })
        }
        AUTH_TOKEN => Ok(Auth::Token {
            token: payload_of::<TokenFields>(auth.fields)?.token,
        }),
        other => Err(invalid(format!(
            "unsupported authorization type {other:?}: use {AUTH_LOGIN_PASSWORD} or {AUTH_TOKEN}"
        ))),
    }
}

fn invalid(text: impl Into<String>) -> Error {
    Error::new(errors::INVALID_REQUEST, text)
}

fn payload_of<T: serde::de::DeserializeOwned>(payload: Value) -> Result<T, Error> {
    serde_json::from_value(payload).map_err(|e| invalid(format!("bad payload: {e}")))
}

/// Private chats have exactly one other side.
fn one_recipient(request: &Request) -> Result<String, Error> {
    match request.to.as_slice() {
        [to] => Ok(to.clone()),
        _ => Err(invalid("a private chat message goes `to` exactly one user")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::codec::decode;

    fn parse(text: &str) -> Result<Command, Error> {
        Command::parse(&decode(text).unwrap())
    }

    /// The login document's request, verbatim.
    #[test]
    fn the_login_documents_request_is_a_login() {
        let command = parse(
            r#"{"id":"abcd","type":"profile:login","to":"cadmium.org",
                "payload":{"username":"juliet","password":"romeo1"}}"#,
        );
        assert_eq!(
            command,
            Ok(Command::SignIn(SignIn::Login {
                username: "juliet".into(),
                password: "romeo1".into()
            }))
        );
        let by_third_party = parse(
            r#"{"id":"a","type":"profile:login","payload":{"thirdPID":"juliet@capulett.com","password":"romeo1"}}"#,
        );
        assert_eq!(by_third_party.unwrap_err().err_id, errors::INVALID_CREDS);
        let nameless = parse(r#"{"id":"a","type":"profile:login","payload":{"password":"x"}}"#);
        assert_eq!(nameless.unwrap_err().err_id, errors::INVALID_REQUEST);
    }

    /// The registration document's request (without its trailing comma, which is no JSON).
    #[test]
    fn the_registration_documents_request_is_a_registration() {
        let command = parse(
            r#"{"id":"abcd","type":"profile:register","to":"cadmium.org",
                "payload":{"username":"juliet",
                           "thirdPIDs":[{"type":"email","value":"juliet@capulett.com"},
                                        {"type":"msisdn","value":"+1234567890"}],
                           "password":"romeo1","loginOnSuccess":false}}"#,
        );
        assert_eq!(
            command,
            Ok(Command::SignIn(SignIn::Register {
                username: "juliet".into(),
                password: "romeo1".into(),
                login_on_success: false
            }))
        );
        let nameless = parse(
            r#"{"id":"a","type":"urn:cadmium:profile:register","payload":{"thirdPIDs":[],"password":"spam"}}"#,
        );
        assert_eq!(nameless.unwrap_err().err_id, errors::INVALID_REQUEST);
    }

    /// The core document's `urn:cadmium:auth`, both kinds.
    #[test]
    fn the_core_documents_auth_requests() {
        let password = parse(
            r#"{"id":"abcd","type":"urn:cadmium:auth","to":["cadmium.org"],
                "payload":{"type":"urn:cadmium:auth:login_password",
                           "fields":{"username":"juliet","password":"romeo1"}}}"#,
        );
        assert_eq!(
            password,
            Ok(Command::SignIn(SignIn::Auth(Auth::LoginPassword {
                username: "juliet".into(),
                password: "romeo1".into()
            })))
        );
        let token = parse(
            r#"{"id":"abcd","type":"urn:cadmium:auth","to":["cadmium.org"],
                "payload":{"type":"urn:cadmium:auth:token","fields":{"token":"3b51"}}}"#,
        );
        assert_eq!(
            token,
            Ok(Command::SignIn(SignIn::Auth(Auth::Token {
                token: "3b51".into()
            })))
        );
        for bad in [
            json!({"type": "urn:cadmium:auth:oauth", "fields": {}}),
            json!({"type": AUTH_TOKEN, "fields": {"token": 5}}),
            json!({"type": AUTH_LOGIN_PASSWORD}),
        ] {
            let request = json!({"id": "a", "type": AUTH, "payload": bad}).to_string();
            assert_eq!(parse(&request).unwrap_err().err_id, errors::INVALID_REQUEST);
        }
    }

    #[test]
    fn a_private_message_may_name_its_one_recipient_as_a_string() {
        let text = r#"{"id":"abcd","type":"urn:cadmium:chats:private:message","to":"@user2@cadmium.org",
            "payload":{"type":"urn:cadmium:chats:message-types:general","content":{"text":"hello world"}}}"#;
        let Ok(Command::Chat(Chat::Message { to, .. })) = parse(text) else {
            panic!("{text} is no message");
        };
        assert_eq!(to, "@user2@cadmium.org");
    }

    #[test]
    fn edits_and_deletions_of_the_chats_proposal() {
        let edit = parse(
            r#"{"id":"e","type":"urn:cadmium:chat:message:edit",
                "payload":{"eventID":"3b51","updatedContent":{"text":"fixed"}}}"#,
        );
        assert_eq!(
            edit,
            Ok(Command::Chat(Chat::Edit {
                message_id: "3b51".into(),
                content: json!({"text": "fixed"})
            }))
        );
        let delete = parse(
            r#"{"id":"d","type":"urn:cadmium:chat:message:delete","payload":{"eventID":"3b51"}}"#,
        );
        assert_eq!(
            delete,
            Ok(Command::Chat(Chat::Delete {
                message_id: "3b51".into()
            }))
        );
        let no_content = parse(
            r#"{"id":"e","type":"urn:cadmium:chat:message:edit","payload":{"eventID":"3b51"}}"#,
        );
        assert_eq!(no_content.unwrap_err().err_id, errors::INVALID_REQUEST);
    }

    #[test]
    fn an_unknown_type_is_unhandled() {
        let error =
            parse(r#"{"id":"abcd","type":"incorrectMessageType","payload":{"test":"test"}}"#)
                .unwrap_err();
        assert_eq!(error.err_id, "unhandled");
    }
}
