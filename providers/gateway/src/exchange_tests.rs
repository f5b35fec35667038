//! The pure parts of an HTTP exchange: what a request asks for, the frame it carries, and the
//! response a channel's frames make, as Faye 1.0.4's HTTP transports send and read them.

use super::*;
use crate::http::parse_head;

fn request(text: &str) -> Request<()> {
    parse_head(text.as_bytes()).unwrap().unwrap().request
}

fn text(value: &str) -> Outbound {
    Outbound::Text(value.to_owned().into())
}

fn header_of<'a>(response: &'a Response, name: &header::HeaderName) -> Option<&'a str> {
    let mut values = response.headers.iter().filter(|(n, _)| n == name);
    values.next().map(|(_, value)| value.to_str().unwrap())
}

/// Faye's handshake, URL-encoded as its JSONP transport puts it in the query.
const HANDSHAKE: &str = r#"[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["callback-polling"],"id":"1"}]"#;

fn encoded(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[test]
fn a_jsonp_get_carries_its_message_and_callback() {
    let target = format!("/faye?message={}&jsonp=__jsonp1__", encoded(HANDSHAKE));
    let asked = ask(&request(&format!("GET {target} HTTP/1.1\r\n\r\n")), 1024);
    assert_eq!(
        asked,
        Ok(Ask::Frame {
            frame: Frame::Text(HANDSHAKE.into()),
            jsonp: Some("__jsonp1__".into())
        })
    );
    // Without a callback the answer is plain JSON.
    let target = format!("/faye?message={}", encoded("[]"));
    let asked = ask(&request(&format!("GET {target} HTTP/1.1\r\n\r\n")), 1024);
    let expected = Ask::Frame {
        frame: Frame::Text("[]".into()),
        jsonp: None,
    };
    assert_eq!(asked, Ok(expected));
}

#[test]
fn a_get_without_a_message_or_with_a_bad_callback_is_400() {
    let status = |target: &str| {
        ask(&request(&format!("GET {target} HTTP/1.1\r\n\r\n")), 1024)
            .unwrap_err()
            .status
    };
    assert_eq!(status("/faye"), StatusCode::BAD_REQUEST);
    assert_eq!(status("/faye?jsonp=cb"), StatusCode::BAD_REQUEST);
    for callback in ["alert(1)", "a-b", "1a", "a..b", "", "%3Cscript%3E"] {
        assert_eq!(
            status(&format!("/faye?message=%5B%5D&jsonp={callback}")),
            StatusCode::BAD_REQUEST,
            "{callback}"
        );
    }
}

#[test]
fn callbacks_are_javascript_names() {
    for good in ["cb", "__jsonp12__", "$", "a.b_c.$d", "jQuery123"] {
        assert!(valid_callback(good), "{good}");
    }
    for bad in ["", "a.", ".a", "a b", "a(1)", "é", "a;b"] {
        assert!(!valid_callback(bad), "{bad}");
    }
    assert!(!valid_callback(&"a".repeat(MAX_CALLBACK_BYTES + 1)));
}

#[test]
fn a_post_is_read_as_json_or_as_a_form_as_fayes_server_reads_it() {
    let post = |headers: &str| {
        let text = format!("POST /faye HTTP/1.1\r\n{headers}\r\n");
        ask(&request(&text), 100)
    };
    assert_eq!(
        post("Content-Type: application/json\r\nContent-Length: 12\r\n"),
        Ok(Ask::Body {
            length: 12,
            form: false
        })
    );
    assert_eq!(
        post("Content-Type: Application/JSON; charset=utf-8\r\nContent-Length: 2\r\n"),
        Ok(Ask::Body {
            length: 2,
            form: false
        })
    );
    // The CORS transport sets no type: the browser's `text/plain` goes with `message=`.
    assert_eq!(
        post("Content-Type: text/plain;charset=UTF-8\r\nContent-Length: 9\r\n"),
        Ok(Ask::Body {
            length: 9,
            form: true
        })
    );
    assert_eq!(
        body_frame(format!("message={}", encoded(HANDSHAKE)).into_bytes(), true),
        Ok(Frame::Text(HANDSHAKE.into()))
    );
    assert_eq!(
        body_frame(HANDSHAKE.as_bytes().to_vec(), false),
        Ok(Frame::Text(HANDSHAKE.into()))
    );
    assert_eq!(
        body_frame(vec![0xff, 0xfe], false),
        Ok(Frame::Binary(vec![0xff, 0xfe]))
    );
    let missing = body_frame(b"other=1".to_vec(), true).unwrap_err();
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
}

#[test]
fn a_body_over_the_frame_limit_reaches_the_actor_as_oversize_unread() {
    let text =
        "POST /faye HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 101\r\n\r\n";
    assert_eq!(
        ask(&request(text), 100),
        Ok(Ask::Frame {
            frame: Frame::Oversize(101),
            jsonp: None
        })
    );
    let long = "x".repeat(101);
    let text = format!("GET /faye?message={long} HTTP/1.1\r\n\r\n");
    assert_eq!(
        ask(&request(&text), 100),
        Ok(Ask::Frame {
            frame: Frame::Oversize(101),
            jsonp: None
        })
    );
}

#[test]
fn a_body_needs_its_length_and_other_methods_are_405() {
    let status = |text: &str| ask(&request(text), 100).unwrap_err().status;
    assert_eq!(
        status("POST /faye HTTP/1.1\r\n\r\n"),
        StatusCode::LENGTH_REQUIRED
    );
    assert_eq!(
        status("POST /faye HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
        StatusCode::LENGTH_REQUIRED
    );
    assert_eq!(
        status("POST /faye HTTP/1.1\r\nContent-Length: many\r\n\r\n"),
        StatusCode::BAD_REQUEST
    );
    let refused = ask(&request("PUT /faye HTTP/1.1\r\n\r\n"), 100).unwrap_err();
    assert_eq!(refused.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header_of(&refused, &header::ALLOW), Some(ALLOWED_METHODS));
    assert_eq!(
        ask(&request("OPTIONS /faye HTTP/1.1\r\n\r\n"), 100),
        Ok(Ask::Preflight)
    );
}

#[test]
fn the_body_is_one_array_of_every_message_sent() {
    // A Bayeux actor's one frame is the body as it is.
    let reply = r#"[{"id":"1","successful":true}]"#;
    assert_eq!(json_body(&[text(reply)]).unwrap(), reply);
    // Batches are joined, single messages added, empty batches and closes left out.
    let frames = [
        text(r#"{"welcome":"hi"}"#),
        text(" [ {\"a\":1}, {\"b\":[2]} ] "),
        text("[]"),
        Outbound::Close(1000, "bye".into()),
    ];
    assert_eq!(
        json_body(&frames).unwrap(),
        r#"[{"welcome":"hi"},{"a":1}, {"b":[2]}]"#
    );
    assert_eq!(json_body(&[]).unwrap(), "[]");
    assert_eq!(json_body(&[text("not json")]), Err(NotJson));
    assert_eq!(
        json_body(&[Outbound::Binary(bytes::Bytes::from_static(b"[]"))]),
        Err(NotJson)
    );
}

#[test]
fn the_answer_is_json_or_a_script_calling_back() {
    let collected = Collected {
        frames: vec![text(r#"[{"id":"1","successful":true}]"#)],
        overflow: false,
    };
    let json = answer(Ended::ClientDone, &collected, None);
    assert_eq!(json.status, StatusCode::OK);
    assert_eq!(
        header_of(&json, &header::CONTENT_TYPE),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(
        header_of(&json, &header::CACHE_CONTROL),
        Some("no-cache, no-store")
    );
    assert_eq!(json.body, br#"[{"id":"1","successful":true}]"#);

    let script = answer(Ended::ClosedByChannel, &collected, Some("__jsonp1__"));
    assert_eq!(
        header_of(&script, &header::CONTENT_TYPE),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(
        String::from_utf8(script.body).unwrap(),
        r#"/**/__jsonp1__([{"id":"1","successful":true}]);"#
    );
    // Line separators inside strings would end a line in older JavaScript.
    assert_eq!(
        jsonp("cb", "[\"a\u{2028}b\u{2029}\"]"),
        r#"/**/cb(["a\u2028b\u2029"]);"#
    );
}

#[test]
fn a_failed_call_or_a_stopping_server_is_503_and_a_bad_answer_502() {
    let collected = Collected::default();
    for ended in [Ended::CallFailed, Ended::SlowConsumer, Ended::ShuttingDown] {
        let response = answer(ended, &collected, None);
        assert_eq!(
            response.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{ended:?}"
        );
        assert_eq!(header_of(&response, &header::RETRY_AFTER), Some("5"));
    }
    let binary = Collected {
        frames: vec![Outbound::Binary(bytes::Bytes::from_static(b"x"))],
        overflow: false,
    };
    assert_eq!(
        answer(Ended::ClientDone, &binary, None).status,
        StatusCode::BAD_GATEWAY
    );
    let overflow = Collected {
        frames: vec![],
        overflow: true,
    };
    assert_eq!(
        answer(Ended::ClientDone, &overflow, None).status,
        StatusCode::BAD_GATEWAY
    );
}

#[test]
fn cors_reflects_the_origin_without_credentials() {
    let origin = HeaderValue::from_static("https://chat.example");
    let answered = cors(preflight(), Some(&origin));
    assert_eq!(answered.status, StatusCode::OK);
    assert_eq!(
        header_of(&answered, &header::ACCESS_CONTROL_ALLOW_ORIGIN),
        Some("https://chat.example")
    );
    assert_eq!(
        header_of(&answered, &header::ACCESS_CONTROL_ALLOW_HEADERS),
        Some("Accept, Content-Type, Pragma, X-Requested-With")
    );
    assert_eq!(
        header_of(&answered, &header::ACCESS_CONTROL_ALLOW_METHODS),
        Some("GET, POST, OPTIONS")
    );
    assert_eq!(header_of(&answered, &header::VARY), Some("Origin"));
    assert_eq!(
        header_of(&answered, &header::ACCESS_CONTROL_ALLOW_CREDENTIALS),
        None
    );
    // Same origin: nothing to allow.
    let plain = cors(preflight(), None);
    assert_eq!(
        header_of(&plain, &header::ACCESS_CONTROL_ALLOW_ORIGIN),
        None
    );
}

#[tokio::test]
async fn the_writer_keeps_frames_until_a_close_and_stops_past_the_cap() {
    let (outbox, outgoing) = outbound::queue(8);
    outbox.send(text("[1]")).unwrap();
    outbox.close(1000, "disconnect");
    outbox.send(text("[2]")).unwrap();
    let collected = collect(outgoing).await;
    assert_eq!(collected.frames, vec![text("[1]")]);
    assert!(!collected.overflow);

    let (outbox, outgoing) = outbound::queue(8);
    let big = "x".repeat(MAX_RESPONSE_BYTES / 2 + 1);
    outbox.send(text(&big)).unwrap();
    outbox.send(text(&big)).unwrap();
    drop(outbox);
    let collected = collect(outgoing).await;
    assert!(collected.overflow);
    assert_eq!(collected.frames.len(), 1);
}
