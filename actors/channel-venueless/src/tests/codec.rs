//! Decoding and encoding of frames, without a backend.

use serde_json::{json, Value};

use crate::codec::*;
use crate::codes;

fn err(text: &str) -> ProtocolError {
    decode(text).unwrap_err()
}

#[test]
fn decodes_requests() {
    assert_eq!(
        decode(r#"["chat.join", 1234, {"channel": "room_0"}]"#),
        Ok(Request::Join {
            id: json!(1234),
            channel: "room_0".into()
        })
    );
    assert_eq!(
        decode(r#"["ping", 17.5]"#),
        Ok(Request::Ping { ts: json!(17.5) })
    );
    assert_eq!(
        decode(r#"["authenticate", {"client_id": "c1"}]"#),
        Ok(Request::Authenticate {
            id: None,
            client_id: Some("c1".into()),
            token: None
        })
    );
    assert_eq!(
        decode(r#"["authenticate", "a", {"token": "t"}]"#),
        Ok(Request::Authenticate {
            id: Some(json!("a")),
            client_id: None,
            token: Some("t".into())
        })
    );
    assert_eq!(
        decode(r#"["chat.fetch", 1, {"channel": "r", "count": 1000, "before_id": 7}]"#),
        Ok(Request::Fetch {
            id: json!(1),
            channel: "r".into(),
            count: MAX_FETCH_COUNT,
            before_id: Some(7)
        })
    );
    assert_eq!(
        decode(r#"["chat.fetch", 1, {"channel": "r"}]"#),
        Ok(Request::Fetch {
            id: json!(1),
            channel: "r".into(),
            count: DEFAULT_FETCH_COUNT,
            before_id: None
        })
    );
    let send = decode(r#"["chat.send", 2, {"channel": "r", "event_type": "channel.message"}]"#);
    assert_eq!(
        send,
        Ok(Request::Send {
            id: json!(2),
            channel: "r".into(),
            event_type: Some("channel.message".into()),
            content: Value::Null,
            replaces: None
        })
    );
    let edit = decode(r#"["chat.send", 3, {"channel": "r", "replaces": 4, "content": {}}]"#);
    assert!(matches!(edit, Ok(Request::Send { replaces: Some(ref r), .. }) if *r == json!(4)));
}

#[test]
fn not_json_is_invalid_json_without_id() {
    let e = err("[\"chat.join\", 1, ");
    assert_eq!((e.code, e.id), (codes::PROTOCOL_INVALID_JSON, None));
    assert_eq!(err("").code, codes::PROTOCOL_INVALID_JSON);
}

#[test]
fn wrong_shapes_are_malformed() {
    for (text, id) in [
        (r#"{"action": "chat.join"}"#, None),
        ("[]", None),
        ("[1, 2, {}]", Some(json!(2))),
        (r#"["chat.join", {"channel": "r"}]"#, None),
        (r#"["chat.join", 1, {"channel": "r"}, 4]"#, None),
        (r#"["chat.join", null, {"channel": "r"}]"#, None),
        (r#"["chat.join", {}, {"channel": "r"}]"#, None),
        (r#"["chat.join", 1, ["r"]]"#, Some(json!(1))),
        (r#"["chat.join", 1, {}]"#, Some(json!(1))),
        (r#"["chat.join", 1, {"channel": 5}]"#, Some(json!(1))),
        (r#"["user.update", 1, {"profile": "x"}]"#, Some(json!(1))),
        (r#"["user.fetch", 1, {}]"#, Some(json!(1))),
        (
            r#"["chat.fetch", 1, {"channel": "r", "count": -1}]"#,
            Some(json!(1)),
        ),
        (
            r#"["chat.fetch", 1, {"channel": "r", "before_id": "x"}]"#,
            Some(json!(1)),
        ),
        (r#"["ping"]"#, None),
        (r#"["authenticate", 5]"#, None),
        (r#"["authenticate", 5, 6]"#, Some(json!(5))),
    ] {
        let e = err(text);
        assert_eq!((e.code, e.id), (codes::PROTOCOL_MALFORMED, id), "{text}");
    }
}

#[test]
fn unknown_actions_keep_their_id() {
    let e = err(r#"["chat.react", "x", {}]"#);
    assert_eq!(
        (e.code, e.id),
        (codes::PROTOCOL_UNKNOWN_ACTION, Some(json!("x")))
    );
    assert_eq!(err(r#"["nope"]"#).code, codes::PROTOCOL_UNKNOWN_ACTION);
}

#[test]
fn encodes_replies_pushes_and_both_error_forms() {
    assert_eq!(success(&json!(1), json!({})), r#"["success",1,{}]"#);
    assert_eq!(push("pong", json!(3)), r#"["pong",3]"#);
    assert_eq!(
        error(Some(&json!("a")), "c", "m"),
        r#"["error","a",{"code":"c","message":"m"}]"#
    );
    assert_eq!(
        error(None, "c", "m"),
        r#"["error",{"code":"c","message":"m"}]"#
    );
}
