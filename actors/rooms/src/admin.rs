//! The operators' admin HTTP API, as a pure function from a request to a response.
//!
//! The component serves it on wasi:http through the host's http-server provider; here it is
//! only bytes in and bytes out, so routing, auth and every JSON shape are tested natively. The
//! API is off unless the component's config sets `admin_token_sha256`: an operator must opt in.
//!
//! The config holds only the hex SHA-256 of the bearer token, never the token: wasmCloud named
//! config is readable by any provider through the control interface, and a hash read there
//! cannot be used to sign in. A request passes when the SHA-256 of its bearer token equals it
//! (compared in constant time).
//!
//! This file is the dispatch: auth, the response type and shared parsing. The routes are one
//! file per resource: [`rooms`] (`/rooms…`), [`users`] (`/users…`, `/online`, `/connections…`)
//! and [`console`] (the operator console's files, which need no token: they hold no data).

pub mod console;
mod rooms;
mod users;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;
use wcc_interface::{ids, Failure, FailureCode};
use wcc_kv::Store;
use wcc_policy::admin_token::{self, Refusal};

use crate::operator::Messages;
pub use crate::operator::ADMIN_CHANNEL;
use crate::{Operator, Publisher, Rooms, Users};

/// Who is online, as the presence actor tells it (wcc:chat/presence in the component).
pub trait Presence {
    fn online_users(&self) -> Result<Vec<OnlineUser>, Failure>;
    /// The live sessions of `user`, on any protocol.
    fn user_sessions(&self, user: &str) -> Result<Vec<UserSession>, Failure>;
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OnlineUser {
    pub user: String,
    pub channels: Vec<String>,
}

/// One live session of a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSession {
    /// The connection id, `<gateway instance>-<n>`.
    pub connection: String,
    /// The protocol it speaks.
    pub channel: String,
}

/// The console's file table: a path's content type and bytes (`crate::console_files::file`).
pub type ConsoleFiles = fn(&str) -> Option<(&'static str, &'static [u8])>;

/// An HTTP request as the shell read it.
pub struct Request<'a> {
    pub method: &'a str,
    /// Without the query, e.g. `/rooms/lobby`.
    pub path: &'a str,
    /// After the `?`, empty if none.
    pub query: &'a str,
    pub headers: &'a [(String, Vec<u8>)],
    pub body: &'a [u8],
}

/// The content type of every API answer.
pub const JSON: &str = "application/json";

/// An HTTP response for the shell to write: [`Response::all_headers`], then `body` (`None` for
/// 204 and redirects).
#[derive(Debug, PartialEq)]
pub struct Response {
    pub status: u16,
    /// The type of `body`; not sent without one.
    pub content_type: &'static str,
    pub body: Option<Vec<u8>>,
    /// Headers besides the content type and `x-content-type-options`.
    pub headers: Vec<(&'static str, String)>,
}

impl Response {
    fn json<T: Serialize>(status: u16, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => Self::bytes(status, JSON, body),
            Err(e) => Self::error(500, "internal", &e.to_string()),
        }
    }

    fn bytes(status: u16, content_type: &'static str, body: Vec<u8>) -> Self {
        Self {
            status,
            content_type,
            body: Some(body),
            headers: Vec::new(),
        }
    }

    fn empty(status: u16) -> Self {
        Self {
            status,
            content_type: JSON,
            body: None,
            headers: Vec::new(),
        }
    }

    fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// `{"error": code, "message": message}` with `status`.
    pub fn error(status: u16, code: &str, message: &str) -> Self {
        let body = json!({"error": code, "message": message});
        Self::bytes(status, JSON, body.to_string().into_bytes())
    }

    pub fn failure(failure: &Failure) -> Self {
        let status = match failure.code {
            FailureCode::Invalid => 400,
            FailureCode::BadCredentials => 401,
            FailureCode::Denied | FailureCode::Banned | FailureCode::Suspended => 403,
            FailureCode::UnknownRoom | FailureCode::UnknownUser => 404,
            FailureCode::NotMember | FailureCode::Exists => 409,
            FailureCode::Unavailable => 503,
            FailureCode::Throttled => 429,
        };
        Self::error(status, failure.code.as_str(), &failure.message)
    }

    /// Every header to send: the content type (with a body), `x-content-type-options: nosniff`
    /// (so no browser takes an answer for another type than it says), then the route's own.
    pub fn all_headers(&self) -> Vec<(&'static str, String)> {
        let mut all = Vec::with_capacity(self.headers.len() + 2);
        if self.body.is_some() {
            all.push(("content-type", self.content_type.to_owned()));
        }
        all.push(("x-content-type-options", "nosniff".to_owned()));
        all.extend(self.headers.iter().cloned());
        all
    }
}

/// Everything a request may touch.
pub struct Admin<'a, S: Store, P: Publisher, Q: Presence, M: Messages> {
    pub store: &'a S,
    pub publisher: &'a P,
    pub presence: &'a Q,
    /// The messages actor, for broadcasts, history and removals.
    pub messages: &'a M,
    /// The configured `admin_token_sha256` (hex): `Ok(None)` when unset, `Err` when config could
    /// not be read.
    pub token_sha256: Result<Option<String>, Failure>,
    /// The configured `console_feed_url`, the websocket the console's live feed opens.
    pub console_feed_url: Result<Option<String>, Failure>,
    /// The console's pages, script and style.
    pub console_files: ConsoleFiles,
}

impl<S: Store, P: Publisher, Q: Presence, M: Messages> Admin<'_, S, P, Q, M> {
    pub fn handle(&self, req: &Request, now_ms: u64) -> Response {
        if let Some(response) = self.console(req) {
            return response;
        }
        let segments: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
        if req.method == "GET" && segments == ["health"] {
            return Response::json(200, &json!({"status": "ok"}));
        }
        if let Some(refusal) = self.refuse(req) {
            return refusal;
        }
        let routed = match segments.first() {
            Some(&"rooms") => self.room_route(req, &segments, now_ms),
            Some(&"users" | &"online" | &"connections") => self.user_route(req, &segments, now_ms),
            _ => None,
        };
        match routed {
            Some(Ok(response)) => response,
            Some(Err(failure)) => Response::failure(&failure),
            None if is_known_path(&segments) => Response::error(
                405,
                "method_not_allowed",
                &format!("{} is not allowed on {}", req.method, req.path),
            ),
            None => Response::error(404, "not_found", &format!("no route {}", req.path)),
        }
    }

    /// 503 while no valid token hash is configured, 401 unless the request bears its token.
    fn refuse(&self, req: &Request) -> Option<Response> {
        let configured = match &self.token_sha256 {
            Err(failure) => return Some(Response::failure(failure)),
            Ok(configured) => configured.as_deref(),
        };
        let presented = req
            .headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("authorization"))
            .find_map(|(_, value)| value.strip_prefix(b"Bearer ".as_slice()))
            .unwrap_or_default();
        match admin_token::check(configured, presented) {
            Ok(()) => None,
            Err(Refusal::WrongToken) => Some(Response::error(
                401,
                "unauthorized",
                "a valid `Authorization: Bearer <admin token>` is required",
            )),
            Err(disabled) => Some(Response::json(503, &json!({"error": disabled.to_string()}))),
        }
    }

    fn rooms(&self) -> Rooms<'_, S, P> {
        Rooms::new(self.store, self.publisher)
    }

    fn users(&self) -> Users<'_, S, P> {
        Users::new(self.store, self.publisher)
    }

    fn operator(&self) -> Operator<'_, S, P, M> {
        Operator::new(self.store, self.publisher, self.messages)
    }
}

/// A JSON request body; `expected` names its shape in the error.
fn parse_body<T: DeserializeOwned>(body: &[u8], expected: &str) -> Result<T, Failure> {
    serde_json::from_slice(body).map_err(|e| Failure::invalid(format!("expected {expected}: {e}")))
}

/// `id` from a path, which must be a valid id (a room's or a user's).
fn path_id<'i>(what: &str, id: &'i str) -> Result<&'i str, Failure> {
    if ids::is_valid_id(id) {
        Ok(id)
    } else {
        Err(Failure::invalid(format!("invalid {what} id {id:?}")))
    }
}

/// Query parameter `name` as a number from 1 up, or `None` if absent; `invalid` if it is not one.
fn positive_param(query: &str, name: &str) -> Result<Option<u64>, Failure> {
    match query_param(query, name) {
        None => Ok(None),
        Some(text) => match text.parse::<u64>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(Failure::invalid(format!(
                "{name} must be a whole number from 1, not {text:?}"
            ))),
        },
    }
}

/// Whether some method is routed at this path (so another method earns 405, not 404).
fn is_known_path(segments: &[&str]) -> bool {
    matches!(
        segments,
        ["health"]
            | ["rooms"]
            | ["rooms", _]
            | ["rooms", _, "members" | "messages"]
            | ["rooms", _, "members" | "messages", _]
            | [
                "rooms",
                _,
                "exists" | "status" | "authentication" | "broadcast"
            ]
            | ["connections", _, "messages"]
            | ["users"]
            | ["users", _]
            | ["users", _, "rooms" | "sessions" | "disconnect" | "ban"]
            | ["online"]
    )
}

/// The raw value of `name` in a query string. Ids need no percent-decoding: an encoded
/// character is never valid in one, and the caller rejects it.
fn query_param<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

#[cfg(test)]
mod tests;
