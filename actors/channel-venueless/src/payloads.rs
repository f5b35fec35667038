//! The payload of each action -> its [`Request`], as pure functions; [`crate::codec`] has already
//! checked the frame around it (`[action, id, {payload}]`).
//!
//! Only shapes are checked here (a string where a string belongs); what the values mean (an event
//! type, a reaction, who may do it) is the handler's and the core's to judge.

use serde_json::{Map, Value};

use crate::codec::{
    malformed, ProtocolError, Request, Wanted, DEFAULT_FETCH_COUNT, MAX_FETCH_COUNT,
    MAX_FETCH_USERS,
};

type Payload = Map<String, Value>;

pub(crate) fn authenticate(id: Option<Value>, payload: &Value) -> Result<Request, ProtocolError> {
    let Value::Object(payload) = payload else {
        return Err(malformed(id, "the payload must be a JSON object"));
    };
    let text = |key: &str| payload.get(key).and_then(Value::as_str).map(str::to_owned);
    Ok(Request::Authenticate {
        id,
        client_id: text("client_id"),
        token: text("token"),
    })
}

pub(crate) fn request(
    action: &str,
    id: Value,
    payload: &Payload,
) -> Result<Request, ProtocolError> {
    match action {
        "authenticate" => authenticate(Some(id), &Value::Object(payload.clone())),
        "user.update" => match payload.get("profile") {
            Some(Value::Object(profile)) => Ok(Request::UserUpdate {
                id,
                profile: profile.clone(),
            }),
            _ => Err(malformed(Some(id), "payload.profile must be a JSON object")),
        },
        "user.fetch" => user_fetch(id, payload),
        _ => chat(action, id, payload),
    }
}

fn user_fetch(id: Value, payload: &Payload) -> Result<Request, ProtocolError> {
    let wanted = match (payload.get("ids"), payload.get("id")) {
        (Some(Value::Array(ids)), _) => Wanted::Many(
            ids.iter()
                .filter_map(Value::as_str)
                .take(MAX_FETCH_USERS)
                .map(str::to_owned)
                .collect(),
        ),
        (Some(_), _) => return Err(malformed(Some(id), "payload.ids must be a list of ids")),
        (None, Some(Value::String(user))) => Wanted::One(user.clone()),
        (None, _) => {
            return Err(malformed(
                Some(id),
                "payload.id must be a string, or payload.ids a list",
            ))
        }
    };
    Ok(Request::UserFetch { id, wanted })
}

/// The `chat.*` actions: all name a channel.
fn chat(action: &str, id: Value, payload: &Payload) -> Result<Request, ProtocolError> {
    let Some(channel) = payload
        .get("channel")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return Err(malformed(Some(id), "payload.channel must be a string"));
    };
    match action {
        "chat.join" => Ok(Request::Join { id, channel }),
        "chat.leave" => Ok(Request::Leave { id, channel }),
        "chat.subscribe" => Ok(Request::Subscribe { id, channel }),
        "chat.unsubscribe" => Ok(Request::Unsubscribe { id, channel }),
        "chat.send" => Ok(Request::Send {
            event_type: payload
                .get("event_type")
                .and_then(Value::as_str)
                .map(str::to_owned),
            content: payload.get("content").cloned().unwrap_or(Value::Null),
            replaces: payload.get("replaces").filter(|v| !v.is_null()).cloned(),
            id,
            channel,
        }),
        "chat.react" => react(id, channel, payload),
        "chat.mark_read" => Ok(Request::MarkRead {
            event_id: payload.get("id").and_then(Value::as_u64).filter(|&n| n > 0),
            id,
            channel,
        }),
        _ => fetch(id, channel, payload),
    }
}

fn react(id: Value, channel: String, payload: &Payload) -> Result<Request, ProtocolError> {
    let Some(event_id) = payload.get("event").and_then(Value::as_u64) else {
        return Err(malformed(Some(id), "payload.event must be an event id"));
    };
    let Some(reaction) = payload.get("reaction").and_then(Value::as_str) else {
        return Err(malformed(Some(id), "payload.reaction must be a string"));
    };
    let delete = match payload.get("delete") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(delete)) => *delete,
        Some(_) => return Err(malformed(Some(id), "payload.delete must be true or false")),
    };
    Ok(Request::React {
        reaction: reaction.to_owned(),
        id,
        channel,
        event_id,
        delete,
    })
}

fn fetch(id: Value, channel: String, payload: &Payload) -> Result<Request, ProtocolError> {
    let count = match payload.get("count") {
        None | Some(Value::Null) => DEFAULT_FETCH_COUNT,
        Some(v) => match v.as_u64() {
            // Clamped rather than refused: a client asking for "lots" gets a page.
            Some(n) => n.clamp(1, u64::from(MAX_FETCH_COUNT)) as u32,
            None => {
                return Err(malformed(
                    Some(id),
                    "payload.count must be a positive integer",
                ))
            }
        },
    };
    let before_id = match payload.get("before_id") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) => Some(n),
            None => return Err(malformed(Some(id), "payload.before_id must be an event id")),
        },
    };
    Ok(Request::Fetch {
        id,
        channel,
        count,
        before_id,
    })
}
