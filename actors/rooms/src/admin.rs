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

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use wcc_interface::{ids, Failure, FailureCode};
use wcc_kv::Store;

use crate::operator::Announcer;
pub use crate::operator::ADMIN_CHANNEL;
use crate::{JoinRule, Operator, Publisher, Rooms, Users};

/// Who is online, as the presence actor tells it (wcc:chat/presence in the component).
pub trait Presence {
    fn online_users(&self) -> Result<Vec<OnlineUser>, Failure>;
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OnlineUser {
    pub user: String,
    pub channels: Vec<String>,
}

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

/// An HTTP response for the shell to write; `body` is JSON, `None` for 204.
#[derive(Debug, PartialEq)]
pub struct Response {
    pub status: u16,
    pub body: Option<Vec<u8>>,
}

impl Response {
    fn json<T: Serialize>(status: u16, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => Self {
                status,
                body: Some(body),
            },
            Err(e) => Self {
                status: 500,
                body: Some(error_body("internal", &e.to_string())),
            },
        }
    }

    fn error(status: u16, code: &str, message: &str) -> Self {
        Self {
            status,
            body: Some(error_body(code, message)),
        }
    }

    pub fn failure(failure: &Failure) -> Self {
        let status = match failure.code {
            FailureCode::Invalid => 400,
            FailureCode::BadCredentials => 401,
            FailureCode::Denied | FailureCode::Banned => 403,
            FailureCode::UnknownRoom | FailureCode::UnknownUser => 404,
            FailureCode::NotMember | FailureCode::Exists => 409,
            FailureCode::Unavailable => 503,
            FailureCode::Throttled => 429,
        };
        Self::error(status, failure.code.as_str(), &failure.message)
    }
}

fn error_body(code: &str, message: &str) -> Vec<u8> {
    json!({"error": code, "message": message})
        .to_string()
        .into_bytes()
}

/// Body of `POST /rooms`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRoom {
    id: String,
    name: Option<String>,
    kind: Option<String>,
}

/// Body of `PUT /rooms/<id>/authentication`: `value` is any JSON value.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewJoinRule {
    key: String,
    value: serde_json::Value,
}

/// Body of a broadcast or of a message to one connection.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Text {
    message: String,
}

/// Everything a request may touch.
pub struct Admin<'a, S: Store, P: Publisher, Q: Presence, A: Announcer> {
    pub store: &'a S,
    pub publisher: &'a P,
    pub presence: &'a Q,
    /// The messages actor, for broadcasts.
    pub announcer: &'a A,
    /// The configured `admin_token_sha256` (hex): `Ok(None)` when unset, `Err` when config could
    /// not be read.
    pub token_sha256: Result<Option<String>, Failure>,
}

impl<S: Store, P: Publisher, Q: Presence, A: Announcer> Admin<'_, S, P, Q, A> {
    pub fn handle(&self, req: &Request, now_ms: u64) -> Response {
        let segments: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
        if req.method == "GET" && segments == ["health"] {
            return Response::json(200, &json!({"status": "ok"}));
        }
        if let Some(refusal) = self.refuse(req) {
            return refusal;
        }
        match self.route(req, &segments, now_ms) {
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
        let expected = match &self.token_sha256 {
            Err(failure) => return Some(Response::failure(failure)),
            Ok(Some(hex)) if !hex.trim().is_empty() => match sha256_from_hex(hex) {
                Some(expected) => expected,
                None => {
                    let body = json!({
                        "error": "admin API disabled: admin_token_sha256 is not 64 hex digits"
                    });
                    return Some(Response::json(503, &body));
                }
            },
            Ok(_) => {
                let body = json!({"error": "admin API disabled: no admin_token_sha256 configured"});
                return Some(Response::json(503, &body));
            }
        };
        let presented = req
            .headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("authorization"))
            .find_map(|(_, value)| value.strip_prefix(b"Bearer ".as_slice()))
            // An empty token is never the admin's, whatever hash is configured.
            .filter(|presented| !presented.is_empty());
        match presented {
            Some(presented) if bool::from(Sha256::digest(presented).ct_eq(&expected)) => None,
            _ => Some(Response::error(
                401,
                "unauthorized",
                "a valid `Authorization: Bearer <admin token>` is required",
            )),
        }
    }

    /// `None` when no route matches method and path.
    fn route(
        &self,
        req: &Request,
        segments: &[&str],
        now_ms: u64,
    ) -> Option<Result<Response, Failure>> {
        let rooms = Rooms::new(self.store, self.publisher);
        let users = Users::new(self.store, self.publisher);
        let operator = Operator::new(self.store, self.publisher, self.announcer);
        let result = match (req.method, segments) {
            ("GET", ["rooms"]) => match query_param(req.query, "member") {
                Some(member) if !ids::is_valid_id(member) => {
                    Err(Failure::invalid(format!("invalid user id {member:?}")))
                }
                member => rooms
                    .query_rooms(member)
                    .map(|list| Response::json(200, &list)),
            },
            ("POST", ["rooms"]) => self.create_room(&rooms, req.body, now_ms),
            ("GET", ["rooms", id]) => rooms.get_room(id).and_then(|room| match room {
                Some(room) => Ok(Response::json(200, &room)),
                None => Err(Failure::new(
                    FailureCode::UnknownRoom,
                    format!("no room {id:?}"),
                )),
            }),
            ("DELETE", ["rooms", id]) => rooms.delete_room(id, now_ms).map(|()| Response {
                status: 204,
                body: None,
            }),
            ("GET", ["rooms", id, "members"]) => rooms
                .query_members(id)
                .map(|list| Response::json(200, &list)),
            ("PUT", ["rooms", id, "members", user]) => operator
                .add_member(id, user, now_ms)
                .map(|joined| Response::json(200, &json!({"joined": joined}))),
            ("DELETE", ["rooms", id, "members", user]) => operator
                .remove_member(id, user, now_ms)
                .map(|left| Response::json(200, &json!({"left": left}))),
            ("GET", ["rooms", id, "exists"]) => rooms
                .get_room(id)
                .map(|room| Response::json(200, &json!({"exists": room.is_some()}))),
            ("GET", ["rooms", id, "status"]) => room_status(&rooms, id),
            ("GET", ["rooms", id, "authentication"]) => rooms
                .get_join_rule(id)
                .map(|rule| Response::json(200, &join_rule_body(id, rule.as_ref()))),
            ("PUT", ["rooms", id, "authentication"]) => {
                parse_body::<NewJoinRule>(req.body, "{key, value}").and_then(|new| {
                    let rule = JoinRule {
                        key: new.key,
                        value: new.value,
                    };
                    rooms.set_join_rule(id, Some(&rule))?;
                    Ok(Response::json(200, &join_rule_body(id, Some(&rule))))
                })
            }
            ("DELETE", ["rooms", id, "authentication"]) => {
                rooms.set_join_rule(id, None).map(|()| Response {
                    status: 204,
                    body: None,
                })
            }
            ("POST", ["rooms", id, "broadcast"]) => {
                parse_body::<Text>(req.body, "{message}").and_then(|text| {
                    // Chat text in the shape every protocol renders (a `body`).
                    let content = json!({"type": "text", "body": text.message});
                    let stored = operator.broadcast(id, &content.to_string())?;
                    Ok(Response::json(201, &stored))
                })
            }
            ("POST", ["connections", id, "messages"]) => parse_body::<Text>(req.body, "{message}")
                .and_then(|text| {
                    let content = json!({"message": text.message});
                    operator.send_to_connection(id, &content.to_string(), now_ms)?;
                    Ok(Response::json(202, &json!({"sent": true})))
                }),
            ("GET", ["users", id]) => users.get_user(id).and_then(|user| match user {
                Some(user) => Ok(Response::json(200, &user)),
                None => Err(Failure::new(
                    FailureCode::UnknownUser,
                    format!("no user {id:?}"),
                )),
            }),
            ("GET", ["online"]) => self
                .presence
                .online_users()
                .map(|list| Response::json(200, &list)),
            _ => return None,
        };
        Some(result)
    }

    fn create_room(
        &self,
        rooms: &Rooms<S, P>,
        body: &[u8],
        now_ms: u64,
    ) -> Result<Response, Failure> {
        let new: NewRoom = parse_body(body, "{id, name?, kind?}")?;
        let name = new.name.as_deref().unwrap_or(&new.id);
        let created = rooms.create_shared_room(
            &new.id,
            name,
            new.kind.as_deref().unwrap_or("text"),
            now_ms,
        )?;
        // Just written or already there; gone only if deleted in between, which reads as absent.
        let room = rooms.get_room(&new.id)?.ok_or_else(|| {
            Failure::new(
                FailureCode::UnknownRoom,
                format!("room {:?} was deleted", new.id),
            )
        })?;
        Ok(Response::json(
            if created { 201 } else { 200 },
            // `added` is the seed's answer to `add`: 1 if created, 0 if it existed.
            &json!({"created": created, "added": u8::from(created), "room": room}),
        ))
    }
}

/// The seed's roomStatus: `{room, membersCount, members: {id: {id, joinedAt}}}`.
fn room_status<S: Store, P: Publisher>(rooms: &Rooms<S, P>, id: &str) -> Result<Response, Failure> {
    let members = rooms.query_members(id)?;
    let by_id: serde_json::Map<String, serde_json::Value> = members
        .iter()
        .map(|m| {
            (
                m.user.clone(),
                json!({"id": m.user, "joinedAt": m.joined_at}),
            )
        })
        .collect();
    Ok(Response::json(
        200,
        &json!({"room": id, "membersCount": members.len(), "members": by_id}),
    ))
}

/// A room's join rule as the API shows it; `key` and `value` are `null` when it has none.
fn join_rule_body(room: &str, rule: Option<&JoinRule>) -> serde_json::Value {
    match rule {
        Some(rule) => json!({"room": room, "key": rule.key, "value": rule.value}),
        None => json!({"room": room, "key": null, "value": null}),
    }
}

/// A JSON request body; `expected` names its shape in the error.
fn parse_body<T: DeserializeOwned>(body: &[u8], expected: &str) -> Result<T, Failure> {
    serde_json::from_slice(body).map_err(|e| Failure::invalid(format!("expected {expected}: {e}")))
}

/// Whether some method is routed at this path (so another method earns 405, not 404).
fn is_known_path(segments: &[&str]) -> bool {
    matches!(
        segments,
        ["health"]
            | ["rooms"]
            | ["rooms", _]
            | ["rooms", _, "members"]
            | ["rooms", _, "members", _]
            | [
                "rooms",
                _,
                "exists" | "status" | "authentication" | "broadcast"
            ]
            | ["connections", _, "messages"]
            | ["users", _]
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

/// The 32 bytes written as 64 hex digits (either case) in `hex`, surrounding blanks ignored.
fn sha256_from_hex(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim().as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let digit = |d: u8| char::from(d).to_digit(16).map(|v| v as u8);
    let mut hash = [0u8; 32];
    for (byte, pair) in hash.iter_mut().zip(hex.chunks(2)) {
        *byte = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(hash)
}

#[cfg(test)]
mod tests;
