//! `/users…`, `/online` and `/connections…`: people, their sessions, disconnects and bans.

use serde_json::json;
use wcc_interface::{Failure, FailureCode};
use wcc_kv::Store;

use super::rooms::Text;
use super::{parse_body, path_id, positive_param, Admin, Presence, Request, Response};
use crate::operator::{Messages, DISCONNECT_REASON};
use crate::{Publisher, User};

/// Users listed when the request names no limit.
const DEFAULT_USER_LIMIT: usize = 200;

/// Most users one listing returns.
pub const MAX_USER_LIMIT: usize = 1000;

impl<S: Store, P: Publisher, Q: Presence, M: Messages> Admin<'_, S, P, Q, M> {
    /// `None` when no route matches method and path.
    pub(super) fn user_route(
        &self,
        req: &Request,
        segments: &[&str],
        now_ms: u64,
    ) -> Option<Result<Response, Failure>> {
        let operator = self.operator();
        let result = match (req.method, segments) {
            ("GET", ["users"]) => self.list_users(req),
            ("GET", ["users", id]) => self.user(id).map(|user| Response::json(200, &user)),
            ("DELETE", ["users", id]) => path_id("user", id)
                .and_then(|id| operator.delete_user(id, now_ms))
                .and_then(|deleted| match deleted {
                    true => Ok(Response::empty(204)),
                    false => Err(unknown_user(id)),
                }),
            ("GET", ["users", id, "rooms"]) => self.user(id).and_then(|user| {
                let rooms = self.rooms().query_rooms(Some(&user.id))?;
                Ok(Response::json(200, &rooms))
            }),
            ("GET", ["users", id, "sessions"]) => self.sessions(id),
            ("POST", ["users", id, "disconnect"]) => self.user(id).and_then(|user| {
                operator.disconnect(&user.id, DISCONNECT_REASON)?;
                Ok(Response::json(202, &json!({"disconnected": true})))
            }),
            ("GET", ["users", id, "ban"]) => {
                operator.is_banned(id).map(|banned| ban_body(id, banned))
            }
            ("PUT", ["users", id, "ban"]) => operator.ban(id, now_ms).map(|_| ban_body(id, true)),
            ("DELETE", ["users", id, "ban"]) => operator.unban(id).map(|_| ban_body(id, false)),
            ("GET", ["online"]) => self
                .presence
                .online_users()
                .map(|list| Response::json(200, &list)),
            ("POST", ["connections", id, "messages"]) => parse_body::<Text>(req.body, "{message}")
                .and_then(|text| {
                    let content = json!({"message": text.message});
                    operator.send_to_connection(id, &content.to_string(), now_ms)?;
                    Ok(Response::json(202, &json!({"sent": true})))
                }),
            _ => return None,
        };
        Some(result)
    }

    /// `GET /users?limit=`: the directory, oldest first (guests are in no directory).
    fn list_users(&self, req: &Request) -> Result<Response, Failure> {
        let limit = positive_param(req.query, "limit")?
            // Past the largest listing is the largest listing: asking for more is no mistake.
            .map_or(DEFAULT_USER_LIMIT, |n| {
                usize::try_from(n).unwrap_or(usize::MAX)
            })
            .min(MAX_USER_LIMIT);
        let users = self.users().first_users(limit)?;
        Ok(Response::json(200, &users))
    }

    /// The user `id` names: `invalid` for an id no user can have, `unknown_user` if none has it.
    fn user(&self, id: &str) -> Result<User, Failure> {
        self.users()
            .get_user(path_id("user", id)?)?
            .ok_or_else(|| unknown_user(id))
    }

    /// `GET /users/<id>/sessions`: `[{connection, channel, gateway}]`.
    fn sessions(&self, id: &str) -> Result<Response, Failure> {
        let user = self.user(id)?;
        let sessions: Vec<serde_json::Value> = self
            .presence
            .user_sessions(&user.id)?
            .into_iter()
            .map(|s| {
                let gateway = gateway_of(&s.connection);
                json!({"connection": s.connection, "channel": s.channel, "gateway": gateway})
            })
            .collect();
        Ok(Response::json(200, &sessions))
    }
}

/// The gateway a connection id names: what comes before its last dash (`<instance>-<n>`).
fn gateway_of(connection: &str) -> &str {
    connection
        .rsplit_once('-')
        .map_or("", |(gateway, _)| gateway)
}

fn ban_body(user: &str, banned: bool) -> Response {
    Response::json(200, &json!({"user": user, "banned": banned}))
}

fn unknown_user(id: &str) -> Failure {
    Failure::new(FailureCode::UnknownUser, format!("no user {id:?}"))
}
