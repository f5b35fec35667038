//! Cadmium: `codec::decode` and then `Command::parse` on any text, checked against the frame
//! read as plain JSON.
//!
//! - an accepted envelope is a JSON object whose `type` is the request's kind, and whose `id`,
//!   `to` (one address or a list) and `payload` are the request's; an empty `authToken` is no
//!   token,
//! - a refused frame echoes exactly the `id` and `type` strings the frame has (or nothing),
//! - a command's kind matches the request's `type` (login and registration have two); a
//!   private chat message or typing
//!   notification goes to the one address in `to`,
//! - message content survives storage: parse -> stored -> Cadmium content -> parse is the
//!   same content (what a Cadmium recipient reads is what the sender wrote),
//! - every error answer is a JSON
//!   `{id, type, from, ok: false, payload: {errID, errText, errPayload: {..}}}`.
#![no_main]

use channel_cadmium::codec::{self, Auth, Chat, Command, SignIn};
use channel_cadmium::content::{self, Content};
use channel_cadmium::errors;
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

const SERVER: &str = "wcc.local";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let json: Option<Value> = serde_json::from_str(&text).ok();
    let echo = |key: &str| {
        json.as_ref()
            .and_then(|v| v.get(key))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let request = match codec::decode(&text) {
        Ok(request) => request,
        Err((id, kind, error)) => {
            assert_eq!(error.err_id, errors::MALFORMED_MESSAGE);
            assert_eq!(id, echo("id"), "echoed another id");
            assert_eq!(kind, echo("type"), "echoed another type");
            check_error(&id, &kind, &error);
            return;
        }
    };
    let object = json
        .as_ref()
        .and_then(Value::as_object)
        .expect("accepted a frame that is no JSON object");
    assert_eq!(
        object.get("type").and_then(Value::as_str),
        Some(&*request.kind)
    );
    assert_eq!(request.id, echo("id"));
    let to: Vec<&str> = match object.get("to") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(to)) => vec![to.as_str()],
        Some(to) => to
            .as_array()
            .expect("`to` is an address or a list")
            .iter()
            .map(|a| a.as_str().expect("addresses are strings"))
            .collect(),
    };
    assert_eq!(request.to, to);
    assert_eq!(
        request.auth_token.as_deref(),
        object
            .get("authToken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
    );
    assert_eq!(
        &request.payload,
        object.get("payload").unwrap_or(&Value::Null)
    );

    let command = match Command::parse(&request) {
        Ok(command) => command,
        Err(error) => {
            let kind = request.kind.as_str();
            let expected = if !codec::TYPES.contains(&kind) {
                errors::UNKNOWN_TYPE
            } else if [codec::LOGIN, codec::LOGIN_SHORT].contains(&kind)
                && error.err_id == errors::INVALID_CREDS
            {
                // A login by third-party id: wcc keeps none.
                assert!(field_of(&request.payload, "username").is_null());
                errors::INVALID_CREDS
            } else {
                errors::INVALID_REQUEST
            };
            assert_eq!(error.err_id, expected);
            check_error(&request.id, &request.kind, &error);
            return;
        }
    };
    // Fields are compared with the payload only where it is an object: serde also reads a
    // payload struct from a JSON array, by position (left as it is; see fuzz/README.md).
    let null = Value::Null;
    let field = |key: &str| match &request.payload {
        Value::Object(payload) => payload.get(key).unwrap_or(&null),
        _ => &null,
    };
    let object = request.payload.is_object();
    let kinds: &[&str] = match &command {
        Command::SignIn(SignIn::Login { username, password }) => {
            if object {
                assert_eq!(field("username"), username.as_str());
                assert_eq!(field("password"), password.as_str());
            }
            &[codec::LOGIN, codec::LOGIN_SHORT]
        }
        Command::SignIn(SignIn::Register {
            username,
            password,
            login_on_success,
        }) => {
            if object {
                assert_eq!(field("username"), username.as_str());
                assert_eq!(field("password"), password.as_str());
                assert_eq!(field("loginOnSuccess") == true, *login_on_success);
            }
            &[codec::REGISTER, codec::REGISTER_SHORT]
        }
        Command::SignIn(SignIn::Auth(auth)) => {
            if object && field("fields").is_object() {
                match auth {
                    Auth::LoginPassword { username, password } => {
                        assert_eq!(field("type"), codec::AUTH_LOGIN_PASSWORD);
                        assert_eq!(field("fields")["username"], username.as_str());
                        assert_eq!(field("fields")["password"], password.as_str());
                    }
                    Auth::Token { token } => {
                        assert_eq!(field("type"), codec::AUTH_TOKEN);
                        assert_eq!(field("fields")["token"], token.as_str());
                    }
                }
            }
            &[codec::AUTH]
        }
        Command::Chat(Chat::Message { to, message }) => {
            assert_eq!(request.to, [to.as_str()]);
            if object {
                assert_eq!(message.reply.as_deref(), field("reply").as_str());
            }
            if let Content::Geolocation { lat, lon } = message.content {
                assert!((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon));
            }
            // The content as stored, read back for a Cadmium recipient, is what was sent.
            let stored = content::to_stored(message);
            assert!(stored["body"].is_string(), "stored content without a body");
            let (kind, shown) = content::from_stored(&stored);
            let again = content::parse(json!({ "type": kind, "content": shown }))
                .expect("stored content does not read back");
            assert_eq!(again.content, message.content, "content changed in storage");
            &[codec::MESSAGE]
        }
        Command::Chat(Chat::Read { message_id }) => {
            if object {
                assert_eq!(field("messageID"), message_id.as_str());
            }
            &[codec::READ]
        }
        Command::Chat(Chat::Typing { to }) => {
            assert_eq!(request.to, [to.as_str()]);
            &[codec::TYPING]
        }
        Command::Chat(Chat::Ban { user }) => {
            if object {
                assert_eq!(field("user"), user.as_str());
            }
            &[codec::BAN]
        }
        Command::Chat(Chat::Unban { user }) => {
            if object {
                assert_eq!(field("user"), user.as_str());
            }
            &[codec::UNBAN]
        }
        Command::Chat(Chat::Edit {
            message_id,
            content,
        }) => {
            if object {
                assert_eq!(field("eventID"), message_id.as_str());
                assert_eq!(field("updatedContent"), content);
            }
            &[codec::EDIT]
        }
        Command::Chat(Chat::Delete { message_id }) => {
            if object {
                assert_eq!(field("eventID"), message_id.as_str());
            }
            &[codec::DELETE]
        }
    };
    assert!(
        kinds.contains(&request.kind.as_str()),
        "parsed as another command"
    );
});

/// `key` of `payload` where it is an object (null otherwise).
fn field_of<'a>(payload: &'a Value, key: &str) -> &'a Value {
    payload
        .as_object()
        .and_then(|p| p.get(key))
        .unwrap_or(&Value::Null)
}

fn check_error(id: &str, kind: &str, error: &codec::Error) {
    let answer: Value =
        serde_json::from_str(&codec::error(id, kind, SERVER, error)).expect("error answer is JSON");
    assert_eq!(answer["id"], id);
    assert_eq!(answer["type"], kind);
    assert_eq!(answer["from"], SERVER);
    assert_eq!(answer["ok"], false);
    assert_eq!(answer["payload"]["errID"], error.err_id);
    assert_eq!(answer["payload"]["errText"], error.text.as_str());
    assert!(answer["payload"]["errPayload"].is_object());
}
