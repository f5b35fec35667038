//! venueless: `codec::decode` on any text, checked against the frame read as plain JSON.
//!
//! - an accepted frame is a JSON array whose first element names the request's action, with
//!   the 2-element form only for `ping` and `authenticate`, and the request's id is the
//!   frame's own (a number or a string, at index 1 of a 3-element frame),
//! - a refused frame never carries an invented id: an error's id is the frame's own, and
//!   its answer (`to_frame`) is a JSON `["error", (id,) {code, message}]`,
//! - `chat.fetch` pages stay within 1..=MAX_FETCH_COUNT; `user.fetch` asks for the frame's
//!   `ids` (the strings among them, at most MAX_FETCH_USERS) or else its `id`,
//! - `chat.react` names the frame's `event` and `reaction`; `chat.mark_read` the frame's `id`
//!   when it is a positive integer.
#![no_main]

use channel_venueless::codec::{self, Request, Wanted, MAX_FETCH_COUNT, MAX_FETCH_USERS};
use channel_venueless::codes;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    // The gateway hands the actor text only (a non-UTF-8 frame is `Frame::Binary`); invalid
    // bytes still make text here so that no input is wasted.
    let text = String::from_utf8_lossy(data);
    let decoded = codec::decode(&text);
    let json: Option<Value> = serde_json::from_str(&text).ok();
    let items = match &json {
        Some(Value::Array(items)) => Some(items.as_slice()),
        _ => None,
    };
    match decoded {
        Ok(request) => accepted(
            &request,
            items.expect("accepted a frame that is no JSON array"),
        ),
        Err(error) => {
            if json.is_none() {
                assert_eq!(error.code, codes::PROTOCOL_INVALID_JSON);
            } else {
                assert_ne!(error.code, codes::PROTOCOL_INVALID_JSON, "{text:?} is JSON");
            }
            if let Some(id) = &error.id {
                let items = items.expect("an error id from a frame that is no array");
                assert!(matches!(id, Value::Number(_) | Value::String(_)), "{id}");
                assert_eq!(items.len(), 3, "an id from a frame not of 3 elements");
                assert_eq!(&items[1], id, "an invented id");
            }
            let frame = error.to_frame();
            let answer: Value = serde_json::from_str(&frame).expect("error frame");
            let answer = answer.as_array().expect("error frame is an array");
            assert_eq!(answer[0], "error");
            assert_eq!(answer.len(), if error.id.is_some() { 3 } else { 2 });
            if let Some(id) = &error.id {
                // As written, not as read back: a float id beyond f64's precision reads back
                // as a neighbour (serde_json without `float_roundtrip`).
                assert!(frame.starts_with(&format!("[\"error\",{id},")), "{frame}");
            }
            let body = answer.last().unwrap();
            assert_eq!(body["code"], error.code);
            assert_eq!(body["message"], error.message.as_str());
        }
    }
});

fn accepted(request: &Request, items: &[Value]) {
    let action = match request {
        Request::Authenticate { .. } => "authenticate",
        Request::Ping { .. } => "ping",
        Request::UserUpdate { .. } => "user.update",
        Request::UserFetch { .. } => "user.fetch",
        Request::Join { .. } => "chat.join",
        Request::Leave { .. } => "chat.leave",
        Request::Subscribe { .. } => "chat.subscribe",
        Request::Unsubscribe { .. } => "chat.unsubscribe",
        Request::Send { .. } => "chat.send",
        Request::Fetch { .. } => "chat.fetch",
        Request::React { .. } => "chat.react",
        Request::MarkRead { .. } => "chat.mark_read",
    };
    assert_eq!(items[0], action, "decoded as the wrong action");
    match request.id() {
        None => assert_eq!(items.len(), 2, "an id-less request from {items:?}"),
        Some(id) => {
            assert_eq!(items.len(), 3);
            assert!(matches!(id, Value::Number(_) | Value::String(_)), "{id}");
            assert_eq!(&items[1], id);
            assert!(items[2].is_object(), "a payload that is no object");
        }
    }
    let payload = items.last().unwrap();
    match request {
        Request::Ping { ts } => assert_eq!(ts, &items[1]),
        Request::Authenticate {
            client_id, token, ..
        } => {
            assert_eq!(client_id.as_deref(), payload["client_id"].as_str());
            assert_eq!(token.as_deref(), payload["token"].as_str());
        }
        Request::UserUpdate { profile, .. } => {
            assert_eq!(Some(profile), payload["profile"].as_object())
        }
        Request::UserFetch { wanted, .. } => match wanted {
            Wanted::One(user) => {
                assert!(payload.get("ids").is_none(), "ids ignored");
                assert_eq!(payload["id"], user.as_str());
            }
            Wanted::Many(users) => {
                let asked: Vec<&str> = payload["ids"]
                    .as_array()
                    .expect("ids taken from no list")
                    .iter()
                    .filter_map(Value::as_str)
                    .take(MAX_FETCH_USERS)
                    .collect();
                assert_eq!(asked, *users);
            }
        },
        Request::React {
            event_id,
            reaction,
            delete,
            channel,
            ..
        } => {
            assert_eq!(payload["channel"], channel.as_str());
            assert_eq!(payload["event"].as_u64(), Some(*event_id));
            assert_eq!(payload["reaction"], reaction.as_str());
            assert_eq!(payload["delete"] == true, *delete);
        }
        Request::MarkRead {
            event_id, channel, ..
        } => {
            assert_eq!(payload["channel"], channel.as_str());
            assert_eq!(payload["id"].as_u64().filter(|&n| n > 0), *event_id);
        }
        Request::Join { channel, .. }
        | Request::Leave { channel, .. }
        | Request::Subscribe { channel, .. }
        | Request::Unsubscribe { channel, .. } => assert_eq!(payload["channel"], channel.as_str()),
        Request::Send {
            channel, replaces, ..
        } => {
            assert_eq!(payload["channel"], channel.as_str());
            assert!(!matches!(replaces, Some(Value::Null)));
        }
        Request::Fetch {
            channel,
            count,
            before_id,
            ..
        } => {
            assert_eq!(payload["channel"], channel.as_str());
            assert!((1..=MAX_FETCH_COUNT).contains(count), "count {count}");
            if let Some(before) = before_id {
                assert_eq!(payload["before_id"].as_u64(), Some(*before));
            }
        }
    }
}
