//! The HTTP/1.1 the gateway's port speaks before a connection is anything else: the request
//! head every client sends first (a websocket upgrade or a plain request), and the plain
//! responses the gateway writes itself (refusals, errors, an HTTP exchange's answer).
//!
//! Bounded: a head is at most [`MAX_HEAD_BYTES`] with at most [`MAX_HEADERS`] headers, and the
//! caller puts a deadline on reading it. Every response closes the connection: one request per
//! connection keeps a connection's slot (`limits.rs`) tied to one answer.

use std::time::Duration;

use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_tungstenite::tungstenite::http::{
    header, HeaderName, HeaderValue, Method, Request, StatusCode, Version,
};

/// Largest request head read; browsers send a few hundred bytes (more with big cookies).
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Most headers a request may have.
pub const MAX_HEADERS: usize = 64;
/// How long the client's leftover input is read and dropped after a response.
const LINGER: Duration = Duration::from_secs(1);

/// Why no request head could be read.
#[derive(Debug, PartialEq, Eq)]
pub enum HeadError {
    /// Over [`MAX_HEAD_BYTES`] or [`MAX_HEADERS`]: answered with 431.
    TooLarge,
    /// Not HTTP/1.x: answered with 400.
    Malformed(String),
    /// The client went away (or the read failed) before the head was complete: nothing to answer.
    Gone,
}

/// A request head, parsed; and whatever the client sent after it (the start of a body, or of
/// websocket frames).
#[derive(Debug)]
pub struct Head {
    pub request: Request<()>,
    pub rest: Vec<u8>,
}

/// Pure: the head at the start of `bytes`, `Ok(None)` while it is incomplete.
pub fn parse_head(bytes: &[u8]) -> Result<Option<Head>, HeadError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    let len = match parsed.parse(bytes) {
        Ok(httparse::Status::Partial) if bytes.len() >= MAX_HEAD_BYTES => {
            return Err(HeadError::TooLarge)
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Ok(httparse::Status::Complete(len)) => len,
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
        Err(e) => return Err(HeadError::Malformed(e.to_string())),
    };
    if len > MAX_HEAD_BYTES {
        return Err(HeadError::TooLarge);
    }
    let malformed = |what: &str| HeadError::Malformed(what.to_owned());
    // httparse fills these in on a complete parse.
    let method = Method::from_bytes(parsed.method.unwrap_or_default().as_bytes())
        .map_err(|_| malformed("bad method"))?;
    let version = match parsed.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    let mut request = Request::builder()
        .method(method)
        .uri(parsed.path.unwrap_or_default())
        .version(version)
        .body(())
        .map_err(|_| malformed("bad request target"))?;
    let map = request.headers_mut();
    for field in parsed.headers.iter() {
        let name = HeaderName::from_bytes(field.name.as_bytes())
            .map_err(|_| malformed("bad header name"))?;
        let value = HeaderValue::from_bytes(field.value).map_err(|_| malformed("bad header"))?;
        map.append(name, value);
    }
    Ok(Some(Head {
        request,
        rest: bytes[len..].to_vec(),
    }))
}

/// Reads one request head from `stream` (the caller bounds the time).
pub async fn read_head(stream: &mut (impl AsyncRead + Unpin)) -> Result<Head, HeadError> {
    let mut bytes = Vec::with_capacity(1024);
    loop {
        bytes.reserve(1024);
        let n = stream
            .read_buf(&mut bytes)
            .await
            .map_err(|_| HeadError::Gone)?;
        if n == 0 {
            return Err(HeadError::Gone);
        }
        if let Some(head) = parse_head(&bytes)? {
            return Ok(head);
        }
    }
}

/// Whether the request asks for a websocket (`Upgrade: websocket`); the upgrade checks the rest.
pub fn wants_websocket(request: &Request<()>) -> bool {
    request
        .headers()
        .get_all(header::UPGRADE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("websocket"))
}

/// A response the gateway writes whole, then closes the connection.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    pub status: StatusCode,
    /// Besides `Content-Length` and `Connection: close`, which every response gets.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: StatusCode, content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: vec![(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
            body: body.into(),
        }
    }

    /// A short explanation for a person reading it.
    pub fn text(status: StatusCode, text: &str) -> Self {
        Self::new(status, "text/plain; charset=utf-8", format!("{text}\n"))
    }

    pub fn with(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The bytes on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        let reason = self.status.canonical_reason().unwrap_or("");
        let mut out = format!("HTTP/1.1 {} {reason}\r\n", self.status.as_u16()).into_bytes();
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        let framing = format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            self.body.len()
        );
        out.extend_from_slice(framing.as_bytes());
        out.extend_from_slice(&self.body);
        out
    }
}

/// Writes `response` (within `timeout`) and closes the connection. Whatever the client still
/// sends is read and dropped for a moment first: closing with unread input resets the
/// connection, and the client could lose the response.
pub async fn respond(mut stream: TcpStream, response: &Response, timeout: Duration) {
    let written = tokio::time::timeout(timeout, async {
        stream.write_all(&response.to_bytes()).await?;
        stream.shutdown().await
    })
    .await;
    if !matches!(written, Ok(Ok(()))) {
        return;
    }
    let mut sink = [0; 1024];
    let drain = async { while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {} };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_is_parsed_with_what_follows_it() {
        let bytes = b"POST /faye?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nX-A: 1\r\nx-a: 2\r\n\r\n[]";
        let head = parse_head(bytes).unwrap().unwrap();
        assert_eq!(head.request.method(), Method::POST);
        assert_eq!(head.request.uri().path(), "/faye");
        assert_eq!(head.request.uri().query(), Some("x=1"));
        assert_eq!(head.request.headers()[header::CONTENT_LENGTH], "2");
        assert_eq!(head.request.headers().get_all("x-a").iter().count(), 2);
        assert_eq!(head.rest, b"[]");
        // Incomplete: wait for more.
        assert!(parse_head(&bytes[..20]).unwrap().is_none());
    }

    #[test]
    fn heads_are_bounded() {
        let mut long = b"GET / HTTP/1.1\r\nX: ".to_vec();
        long.resize(MAX_HEAD_BYTES + 1, b'a');
        assert_eq!(parse_head(&long).unwrap_err(), HeadError::TooLarge);
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..=MAX_HEADERS {
            many.extend_from_slice(format!("X-{i}: 1\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(parse_head(&many).unwrap_err(), HeadError::TooLarge);
        assert!(matches!(
            parse_head(b"\x16\x03\x01 hello\r\n\r\n"),
            Err(HeadError::Malformed(_))
        ));
    }

    #[tokio::test]
    async fn a_head_is_read_across_reads_and_a_client_that_leaves_is_gone() {
        let (mut client, mut server) = tokio::io::duplex(64);
        let reading = tokio::spawn(async move { read_head(&mut server).await });
        use tokio::io::AsyncWriteExt;
        client.write_all(b"GET /a HTTP/1.1\r\n").await.unwrap();
        client
            .write_all(b"Upgrade: WebSocket\r\n\r\n")
            .await
            .unwrap();
        let head = reading.await.unwrap().unwrap();
        assert!(wants_websocket(&head.request));

        let (client, mut server) = tokio::io::duplex(64);
        drop(client);
        assert_eq!(read_head(&mut server).await.unwrap_err(), HeadError::Gone);
    }

    #[test]
    fn only_an_upgrade_to_websocket_is_one() {
        let head = |extra: &str| {
            let text = format!("GET / HTTP/1.1\r\n{extra}\r\n");
            parse_head(text.as_bytes()).unwrap().unwrap().request
        };
        assert!(wants_websocket(&head("Upgrade: websocket\r\n")));
        assert!(wants_websocket(&head("Upgrade: h2c, websocket\r\n")));
        assert!(!wants_websocket(&head("Upgrade: h2c\r\n")));
        assert!(!wants_websocket(&head("")));
    }

    #[test]
    fn a_response_has_its_length_and_closes() {
        let response = Response::text(StatusCode::NOT_FOUND, "no chat protocol at /x")
            .with(header::RETRY_AFTER, HeaderValue::from_static("5"));
        assert_eq!(
            String::from_utf8(response.to_bytes()).unwrap(),
            "HTTP/1.1 404 Not Found\r\ncontent-type: text/plain; charset=utf-8\r\n\
             retry-after: 5\r\ncontent-length: 23\r\nconnection: close\r\n\r\n\
             no chat protocol at /x\n"
        );
    }
}
