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
fn decodes_what_the_webapp_sends_beyond_the_seed() {
    assert_eq!(
        decode(r#"["chat.react", 4, {"channel": "r", "event": 7, "reaction": "👍"}]"#),
        Ok(Request::React {
            id: json!(4),
            channel: "r".into(),
            event_id: 7,
            reaction: "👍".into(),
            delete: false
        })
    );
    let withdraw = decode(
        r#"["chat.react", 5, {"channel": "r", "event": 7, "reaction": "👍", "delete": true}]"#,
    );
    assert!(matches!(withdraw, Ok(Request::React { delete: true, .. })));
    assert_eq!(
        decode(r#"["chat.mark_read", 6, {"channel": "r", "id": 12}]"#),
        Ok(Request::MarkRead {
            id: json!(6),
            channel: "r".into(),
            event_id: Some(12)
        })
    );
    // Without a usable id the handler answers upstream's `chat.invalid_body`.
    for payload in [
        r#"{"channel": "r"}"#,
        r#"{"channel": "r", "id": 0}"#,
        r#"{"channel": "r", "id": "7"}"#,
    ] {
        let frame = format!(r#"["chat.mark_read", 6, {payload}]"#);
        assert!(
            matches!(decode(&frame), Ok(Request::MarkRead { event_id: None, .. })),
            "{payload}"
        );
    }
    assert_eq!(
        decode(r#"["user.fetch", 7, {"ids": ["a", null, 3, "b"]}]"#),
        Ok(Request::UserFetch {
            id: json!(7),
            wanted: Wanted::Many(vec!["a".into(), "b".into()])
        })
    );
    assert_eq!(
        decode(r#"["user.fetch", 8, {"id": "a"}]"#),
        Ok(Request::UserFetch {
            id: json!(8),
            wanted: Wanted::One("a".into())
        })
    );
    let many: Vec<String> = (0..150).map(|n| format!("u{n}")).collect();
    let frame = json!(["user.fetch", 9, {"ids": many}]).to_string();
    let Ok(Request::UserFetch {
        wanted: Wanted::Many(ids),
        ..
    }) = decode(&frame)
    else {
        panic!("user.fetch with ids")
    };
    assert_eq!(ids.len(), MAX_FETCH_USERS);
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
        (r#"["user.fetch", 1, {"ids": "a"}]"#, Some(json!(1))),
        (
            r#"["chat.react", 1, {"channel": "r", "reaction": "x"}]"#,
            Some(json!(1)),
        ),
        (
            r#"["chat.react", 1, {"channel": "r", "event": 1}]"#,
            Some(json!(1)),
        ),
        (r#"["chat.mark_read", 1, {"id": 1}]"#, Some(json!(1))),
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
    let e = err(r#"["chat.explode", "x", {}]"#);
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
