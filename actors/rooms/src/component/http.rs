//! wasi:http/incoming-handler for the admin API, through the `wasi` crate's bindings: it moves
//! the request's bytes into [`crate::admin`] and the response's bytes back out, nothing more.

use wasi::http::types::{
    Fields, IncomingBody, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

use super::{admin_handle, Component};
use crate::admin::{Request, Response};

wasi::http::proxy::export!(Component);

/// Largest request body read; admin bodies are a few hundred bytes.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// wasi:io streams accept at most 4096 bytes per blocking write.
const WRITE_CHUNK: usize = 4096;

impl wasi::exports::http::incoming_handler::Guest for Component {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let response = match read_body(&request) {
            Some(body) => {
                let method = method_name(request.method());
                let target = request.path_with_query().unwrap_or_else(|| "/".to_string());
                let (path, query) = target.split_once('?').unwrap_or((target.as_str(), ""));
                let headers = request.headers().entries();
                admin_handle(&Request {
                    method: &method,
                    path,
                    query,
                    headers: &headers,
                    body: &body,
                })
            }
            None => Response::error(413, "invalid", "request body too large or unreadable"),
        };
        respond(response_out, response);
    }
}

fn method_name(method: Method) -> String {
    match method {
        Method::Get => "GET".into(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Connect => "CONNECT".into(),
        Method::Options => "OPTIONS".into(),
        Method::Trace => "TRACE".into(),
        Method::Patch => "PATCH".into(),
        Method::Other(other) => other,
    }
}

/// The whole body, or `None` if it is over [`MAX_BODY_BYTES`] or the stream fails.
fn read_body(request: &IncomingRequest) -> Option<Vec<u8>> {
    let body = request.consume().ok()?;
    let mut bytes = Vec::new();
    {
        // The stream is a child of the body and must be dropped before it.
        let stream = body.stream().ok()?;
        loop {
            match stream.blocking_read(WRITE_CHUNK as u64) {
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(wasi::io::streams::StreamError::Closed) => break,
                Err(_) => return None,
            }
            if bytes.len() > MAX_BODY_BYTES {
                return None;
            }
        }
    }
    let _trailers = IncomingBody::finish(body);
    Some(bytes)
}

fn respond(response_out: ResponseOutparam, response: Response) {
    let headers = Fields::new();
    for (name, value) in response.all_headers() {
        // Fails only for a forbidden or malformed header; the admin module's are constants and
        // configured paths.
        let _ = headers.append(name, value.as_bytes());
    }
    let outgoing = OutgoingResponse::new(headers);
    // Fails only for a status outside 100..=999, which the admin module never returns.
    let _ = outgoing.set_status_code(response.status);
    let Ok(body) = outgoing.body() else { return };
    ResponseOutparam::set(response_out, Ok(outgoing));
    if let Some(bytes) = response.body {
        if let Ok(stream) = body.write() {
            for chunk in bytes.chunks(WRITE_CHUNK) {
                // The client went away; nothing is left to tell it.
                if stream.blocking_write_and_flush(chunk).is_err() {
                    break;
                }
            }
        }
    }
    let _ = OutgoingBody::finish(body, None);
}
