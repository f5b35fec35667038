//! `/rooms…`: rooms, their members, join rules, broadcasts and messages.

use serde::Deserialize;
use serde_json::json;
use wcc_interface::{ids, Failure, FailureCode};
use wcc_kv::Store;

use super::{parse_body, path_id, positive_param, query_param, Admin, Presence, Request, Response};
use crate::operator::Messages;
use crate::{JoinRule, Publisher, Rooms};

/// History page size when the request names none.
const DEFAULT_HISTORY_LIMIT: u32 = 50;

/// Body of `POST /rooms`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRoom {
    id: String,
    name: Option<String>,
    kind: Option<String>,
}

/// Body of `PATCH /rooms/<id>`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rename {
    name: String,
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
pub(super) struct Text {
    pub(super) message: String,
}

impl<S: Store, P: Publisher, Q: Presence, M: Messages> Admin<'_, S, P, Q, M> {
    /// `None` when no route matches method and path.
    pub(super) fn room_route(
        &self,
        req: &Request,
        segments: &[&str],
        now_ms: u64,
    ) -> Option<Result<Response, Failure>> {
        let (rooms, operator) = (self.rooms(), self.operator());
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
                None => Err(unknown_room(id)),
            }),
            ("PATCH", ["rooms", id]) => parse_body::<Rename>(req.body, "{name}").and_then(|new| {
                let room = operator.rename_room(path_id("room", id)?, &new.name)?;
                Ok(Response::json(200, &room))
            }),
            ("DELETE", ["rooms", id]) => {
                rooms.delete_room(id, now_ms).map(|()| Response::empty(204))
            }
            ("GET", ["rooms", id, "members"]) => rooms
                .query_members(id)
                .map(|list| Response::json(200, &list)),
            ("PUT", ["rooms", id, "members", user]) => operator
                .add_member(id, user, now_ms)
                .map(|joined| Response::json(200, &json!({"joined": joined}))),
            ("DELETE", ["rooms", id, "members", user]) => operator
                .remove_member(id, user, now_ms)
                .map(|left| Response::json(200, &json!({"left": left}))),
            ("GET", ["rooms", id, "messages"]) => self.history(req, id),
            ("DELETE", ["rooms", id, "messages", event_id]) => {
                let event_id = event_id.parse::<u64>().ok().filter(|&n| n > 0);
                match event_id {
                    None => Err(Failure::invalid(format!(
                        "an event id is a whole number from 1, not {:?}",
                        segments[3]
                    ))),
                    Some(event_id) => path_id("room", id)
                        .and_then(|id| operator.remove_message(id, event_id))
                        .map(|removed| Response::json(200, &removed)),
                }
            }
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
                rooms.set_join_rule(id, None).map(|()| Response::empty(204))
            }
            ("POST", ["rooms", id, "broadcast"]) => {
                parse_body::<Text>(req.body, "{message}").and_then(|text| {
                    // Chat text in the shape every protocol renders (a `body`).
                    let content = json!({"type": "text", "body": text.message});
                    let stored = operator.broadcast(id, &content.to_string())?;
                    Ok(Response::json(201, &stored))
                })
            }
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

    /// `GET /rooms/<id>/messages?limit=&before=`: a page of stored messages, oldest first.
    fn history(&self, req: &Request, room: &str) -> Result<Response, Failure> {
        let room = path_id("room", room)?;
        let limit = positive_param(req.query, "limit")?
            // Past the largest page is the largest page: asking for more is no mistake.
            .map_or(DEFAULT_HISTORY_LIMIT, |n| {
                u32::try_from(n).unwrap_or(u32::MAX)
            });
        let before = positive_param(req.query, "before")?;
        let page = self.operator().history(room, before, limit)?;
        Ok(Response::json(200, &page))
    }
}

fn unknown_room(id: &str) -> Failure {
    Failure::new(FailureCode::UnknownRoom, format!("no room {id:?}"))
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
