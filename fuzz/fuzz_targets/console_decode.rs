//! The operators' console feed: `codec::decode` on any frame, and `codec::event` on any text.
//!
//! - an accepted frame is a JSON object of exactly `type` and the command's one field, with the
//!   same values,
//! - a refused frame's answer is a JSON `{type: "error", code, message}`,
//! - an event frame is `{type: "event", event}` holding exactly the JSON object it was given,
//!   and nothing else becomes one.
#![no_main]

use channel_console::codec::{self, Command};
use channel_kit::Frame;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let frame = match std::str::from_utf8(data) {
        Ok(text) => Frame::Text(text.to_owned()),
        Err(_) => Frame::Binary(data.to_vec()),
    };
    let json: Option<Value> = std::str::from_utf8(data)
        .ok()
        .and_then(|t| serde_json::from_str(t).ok());
    match codec::decode(&frame) {
        Ok(command) => {
            let object = json
                .as_ref()
                .and_then(Value::as_object)
                .expect("accepted a frame that is no JSON object");
            assert_eq!(object.len(), 2, "accepted extra fields");
            let (kind, field, value) = match &command {
                Command::Auth { token } => ("auth", "token", token),
                Command::Watch { room } => ("watch", "room", room),
                Command::Unwatch { room } => ("unwatch", "room", room),
            };
            assert_eq!(object["type"], kind);
            assert_eq!(object[field], value.as_str());
        }
        Err(refusal) => {
            let answer: Value =
                serde_json::from_str(&codec::error(&refusal)).expect("error answer is JSON");
            assert_eq!(answer["type"], "error");
            assert_eq!(answer["code"], refusal.code);
            assert_eq!(answer["message"], refusal.message.as_str());
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        match codec::event(text) {
            Some(frame) => {
                let frame: Value = serde_json::from_str(&frame).expect("event frame is JSON");
                assert_eq!(frame["type"], "event");
                assert_eq!(Some(&frame["event"]), json.as_ref());
                assert!(frame["event"].is_object());
            }
            None => assert!(!json.as_ref().is_some_and(Value::is_object)),
        }
    }
});
