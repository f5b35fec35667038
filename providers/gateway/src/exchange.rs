//! Plain HTTP at a channel's path: one request is one connection's whole life with the
//! channel actor (`opened`, `received` with the request's message as one text frame, `closed`),
//! and everything the actor sent meanwhile is the response. Only routes whose link says
//! `http: true` answer (`config.rs`); Faye's clients need it, as they always handshake over
//! HTTP before they use a websocket.
//!
//! Faye's three HTTP transports, and what each gets:
//! - `long-polling` (same origin): `POST` of a JSON body (`Content-Type: application/json`),
//! - `cross-origin-long-polling`: `POST` of a form, `message=<JSON>`, after a CORS preflight
//!   (`OPTIONS`; it sends `Pragma`, which no simple request may),
//! - `callback-polling`: `GET ?message=<JSON>&jsonp=<callback>`, answered with a script that
//!   calls the callback, `/**/callback(<JSON>);`.
//!
//! The response is one JSON array of every message the actor sent: a frame that is itself an
//! array (a batch of messages, as a Bayeux actor sends them) gives its elements, any other JSON
//! frame itself. The connection goes through `connection::run` like a socket's, so logins and
//! logouts are published the same way, and its caps and limits apply: the request within
//! `request_timeout`, a body up to `max_frame_bytes` (a larger one reaches the actor as
//! `oversize`, unread, as over websockets), every call within `call_timeout`.

use std::{net::SocketAddr, sync::Arc};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::oneshot,
    time::Instant,
};
use tokio_tungstenite::tungstenite::http::{header, HeaderValue, Method, Request, StatusCode};
use tracing::debug;

use crate::{
    config::Route,
    connection::{self, Ended, Peer, Server},
    http::{Head, Response},
    outbound::{self, Outbound, Outgoing},
    session::Frame,
};

pub use wcc_interface::transport::HTTP;

/// The most an exchange's response may hold, as the largest websocket message.
pub const MAX_RESPONSE_BYTES: usize = crate::websocket::TRANSPORT_MAX_BYTES;

/// Longest JSONP callback name accepted (Faye's are `__jsonp<n>__`).
const MAX_CALLBACK_BYTES: usize = 128;

/// Methods an HTTP route answers.
const ALLOWED_METHODS: &str = "GET, POST, OPTIONS";
/// Request headers a cross-origin client may send: those Faye's transports set.
const ALLOWED_HEADERS: &str = "Accept, Content-Type, Pragma, X-Requested-With";

/// What a plain request asks for.
#[derive(Debug, PartialEq)]
pub enum Ask {
    /// A CORS preflight.
    Preflight,
    /// The frame is known from the head: a `GET`'s `message`, or a body too large to read.
    Frame {
        frame: Frame,
        /// Wrap the answer in a call of this (validated) function.
        jsonp: Option<String>,
    },
    /// The frame is a `POST` body of `length` bytes: the body itself, or its form's `message`.
    Body { length: usize, form: bool },
}

/// Pure: what `request` asks for, or the response refusing it.
pub fn ask(request: &Request<()>, max_frame_bytes: usize) -> Result<Ask, Response> {
    let bad = |text: &str| Err(Response::text(StatusCode::BAD_REQUEST, text));
    match *request.method() {
        Method::OPTIONS => Ok(Ask::Preflight),
        Method::GET => {
            let (mut message, mut jsonp) = (None, None);
            let query = request.uri().query().unwrap_or_default();
            for (name, value) in form_urlencoded::parse(query.as_bytes()) {
                match &*name {
                    "message" => message = Some(value.into_owned()),
                    "jsonp" => jsonp = Some(value.into_owned()),
                    _ => {}
                }
            }
            if jsonp.as_deref().is_some_and(|name| !valid_callback(name)) {
                return bad("bad jsonp: want a JavaScript name such as cb or a.b");
            }
            let Some(message) = message else {
                return bad("no message: send it as ?message=, or as the body of a POST");
            };
            let frame = if message.len() > max_frame_bytes {
                Frame::Oversize(message.len() as u64)
            } else {
                Frame::Text(message)
            };
            Ok(Ask::Frame { frame, jsonp })
        }
        Method::POST => {
            let headers = request.headers();
            if headers.contains_key(header::TRANSFER_ENCODING) {
                return Err(length_required());
            }
            let Some(length) = headers.get(header::CONTENT_LENGTH) else {
                return Err(length_required());
            };
            let Some(length) = length.to_str().ok().and_then(|n| n.trim().parse().ok()) else {
                return bad("bad Content-Length");
            };
            if length > max_frame_bytes {
                let frame = Frame::Oversize(length as u64);
                return Ok(Ask::Frame { frame, jsonp: None });
            }
            // As Faye's server reads them: JSON as it is, anything else as a form.
            let json = headers
                .get(header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.split(';').next())
                .is_some_and(|kind| kind.trim().eq_ignore_ascii_case("application/json"));
            Ok(Ask::Body {
                length,
                form: !json,
            })
        }
        _ => Err(
            Response::text(StatusCode::METHOD_NOT_ALLOWED, "use GET, POST or OPTIONS")
                .with(header::ALLOW, HeaderValue::from_static(ALLOWED_METHODS)),
        ),
    }
}

fn length_required() -> Response {
    Response::text(
        StatusCode::LENGTH_REQUIRED,
        "send the body with a Content-Length",
    )
}

/// Pure: the frame a `POST` body carries.
pub fn body_frame(body: Vec<u8>, form: bool) -> Result<Frame, Response> {
    if form {
        return form_urlencoded::parse(&body)
            .find(|(name, _)| name == "message")
            .map(|(_, message)| Frame::Text(message.into_owned()))
            .ok_or_else(|| {
                Response::text(StatusCode::BAD_REQUEST, "no message= in the form body")
            });
    }
    // Not UTF-8: the actor answers that in its protocol, as for a websocket's binary frame.
    Ok(match String::from_utf8(body) {
        Ok(text) => Frame::Text(text),
        Err(not_text) => Frame::Binary(not_text.into_bytes()),
    })
}

/// A callback name as Faye's server accepts it: JavaScript names joined by dots.
pub fn valid_callback(name: &str) -> bool {
    let identifier = |part: &str| {
        let mut chars = part.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    };
    name.len() <= MAX_CALLBACK_BYTES && name.split('.').all(identifier)
}

/// The answer's JSON as a script calling `callback`. The comment in front keeps the body from
/// starting with the caller's bytes (as Faye's server writes it); U+2028 and U+2029 are valid
/// in JSON strings but end a line in older JavaScript, so they are escaped.
pub fn jsonp(callback: &str, json: &str) -> String {
    let json = json
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029");
    format!("/**/{callback}({json});")
}

/// An answer that is not JSON (a binary or non-JSON text frame): an HTTP body has no frames.
#[derive(Debug, PartialEq)]
pub struct NotJson;

/// Pure: one JSON array of every message in `frames` (see the module comment). Closes are not
/// messages and are left out.
pub fn json_body(frames: &[Outbound]) -> Result<String, NotJson> {
    let mut parts = Vec::new();
    for frame in frames {
        let text = match frame {
            Outbound::Text(text) => text.as_str().trim(),
            Outbound::Binary(_) => return Err(NotJson),
            Outbound::Close(..) => continue,
        };
        match serde_json::from_str::<serde_json::Value>(text) {
            // Valid JSON that starts with `[` ends with `]`: what is between is its elements.
            Ok(serde_json::Value::Array(_)) => {
                let elements = text[1..text.len() - 1].trim();
                if !elements.is_empty() {
                    parts.push(elements);
                }
            }
            Ok(_) => parts.push(text),
            Err(_) => return Err(NotJson),
        }
    }
    Ok(format!("[{}]", parts.join(",")))
}

/// What an exchange's writer kept.
#[derive(Debug, Default)]
pub struct Collected {
    pub frames: Vec<Outbound>,
    /// More than [`MAX_RESPONSE_BYTES`] was sent; the rest was not kept.
    pub overflow: bool,
}

/// Pure: the response to an exchange that ended as `ended`, having sent `collected`.
pub fn answer(ended: Ended, collected: &Collected, jsonp_callback: Option<&str>) -> Response {
    let failed = match ended {
        Ended::ClientDone | Ended::ClosedByChannel => None,
        Ended::CallFailed | Ended::SlowConsumer => Some("chat service unavailable"),
        Ended::ShuttingDown => Some("server shutting down"),
    };
    if let Some(why) = failed {
        return Response::text(StatusCode::SERVICE_UNAVAILABLE, why)
            .with(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    let json = match (collected.overflow, json_body(&collected.frames)) {
        (false, Ok(json)) => json,
        (true, _) => return Response::text(StatusCode::BAD_GATEWAY, "answer too large"),
        (false, Err(NotJson)) => {
            return Response::text(
                StatusCode::BAD_GATEWAY,
                "the chat service's answer is not JSON",
            )
        }
    };
    let response = match jsonp_callback {
        Some(callback) => Response::new(
            StatusCode::OK,
            "text/javascript; charset=utf-8",
            jsonp(callback, &json),
        )
        // A script a browser would otherwise render or sniff as something else.
        .with(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=f.txt"),
        ),
        None => Response::new(StatusCode::OK, "application/json; charset=utf-8", json),
    };
    response
        .with(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache, no-store"),
        )
        .with(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        )
}

/// The answer to a CORS preflight: any origin may post, without credentials.
pub fn preflight() -> Response {
    let allow = |value| HeaderValue::from_static(value);
    Response::new(StatusCode::OK, "text/plain; charset=utf-8", "")
        .with(header::ACCESS_CONTROL_ALLOW_METHODS, allow(ALLOWED_METHODS))
        .with(header::ACCESS_CONTROL_ALLOW_HEADERS, allow(ALLOWED_HEADERS))
        .with(header::ACCESS_CONTROL_MAX_AGE, allow("86400"))
}

/// Lets a page of `origin` read `response`: the origin reflected (no credentials are allowed,
/// so any origin may), and caches told the answer depends on it.
pub fn cors(response: Response, origin: Option<&HeaderValue>) -> Response {
    let response = response.with(header::VARY, HeaderValue::from_static("Origin"));
    match origin {
        Some(origin) => response.with(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone()),
        None => response,
    }
}

/// Answers one plain request at `route` (which answers HTTP). `deadline` bounds reading it.
pub async fn serve(
    server: Arc<Server>,
    route: Route,
    mut stream: TcpStream,
    remote: SocketAddr,
    head: Head,
    deadline: Instant,
) {
    let origin = head.request.headers().get(header::ORIGIN).cloned();
    let timeout = server.config.request_timeout;
    let Some(response) = exchange(server, route, &mut stream, remote, head, deadline).await else {
        return debug!(%remote, "HTTP request not complete in time; dropped");
    };
    crate::http::respond(stream, &cors(response, origin.as_ref()), timeout).await;
}

/// The exchange itself; `None` if the client did not send its body in time.
async fn exchange(
    server: Arc<Server>,
    route: Route,
    stream: &mut TcpStream,
    remote: SocketAddr,
    head: Head,
    deadline: Instant,
) -> Option<Response> {
    let (frame, jsonp_callback) = match ask(&head.request, server.config.max_frame_bytes) {
        Err(refusal) => return Some(refusal),
        Ok(Ask::Preflight) => return Some(preflight()),
        Ok(Ask::Frame { frame, jsonp }) => (frame, jsonp),
        Ok(Ask::Body { length, form }) => {
            let body = read_body(stream, &head, length);
            let body = tokio::time::timeout_at(deadline, body).await.ok()??;
            match body_frame(body, form) {
                Ok(frame) => (frame, None),
                Err(refusal) => return Some(refusal),
            }
        }
    };
    let (outbox, outgoing) = outbound::queue(server.config.send_queue_frames);
    let (kept, collected) = oneshot::channel();
    let writer = tokio::spawn(async move {
        let _ = kept.send(collect(outgoing).await);
    });
    let peer = Peer {
        transport: HTTP,
        remote,
    };
    let inbound = futures::stream::iter([frame]);
    let ended = connection::run(server, route, peer, inbound, outbox, writer).await;
    let collected = collected.await.unwrap_or_default();
    Some(answer(ended, &collected, jsonp_callback.as_deref()))
}

/// The `length` bytes of body after `head` (part of it may have come with the head).
async fn read_body(stream: &mut TcpStream, head: &Head, length: usize) -> Option<Vec<u8>> {
    let expects_continue = head
        .request
        .headers()
        .get(header::EXPECT)
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let mut body = head.rest.clone();
    body.truncate(length);
    if expects_continue && body.len() < length {
        stream
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .await
            .ok()?;
    }
    let start = body.len();
    body.resize(length, 0);
    stream.read_exact(&mut body[start..]).await.ok()?;
    Some(body)
}

/// Keeps what the connection sends until it is done, or closed, or over the response cap.
async fn collect(mut outgoing: Outgoing) -> Collected {
    let mut collected = Collected::default();
    let mut bytes = 0;
    while let Some(frame) = outgoing.recv().await {
        bytes += match &frame {
            Outbound::Text(text) => text.len(),
            Outbound::Binary(data) => data.len(),
            Outbound::Close(..) => break,
        };
        if bytes > MAX_RESPONSE_BYTES {
            // Dropping the queue makes the connection's next send fail, which ends it.
            collected.overflow = true;
            break;
        }
        collected.frames.push(frame);
    }
    collected
}

#[cfg(test)]
#[path = "exchange_tests.rs"]
mod tests;
