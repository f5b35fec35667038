//! The records the rooms actor keeps, in the JSON shape they are stored in (and that the admin
//! API returns), and the rules a value must satisfy before it is stored.

use serde::{Deserialize, Serialize};
use wcc_interface::{ids, Failure};

/// Longest room name, in characters: enough for any real name, small enough for every protocol.
pub const MAX_NAME_CHARS: usize = 200;

/// The room kinds (`wcc_policy` says who may do what in each): `text` and `voice` are public,
/// `private` rooms are for the members the operator adds, `direct` is the room named by a user's
/// id.
pub const ROOM_KINDS: [&str; 4] = ["text", "voice", "private", "direct"];

/// Longest client id a channel may log in with, in bytes (it becomes part of a KV key).
pub const MAX_CLIENT_ID_BYTES: usize = 256;

/// Largest profile JSON accepted, in bytes: profiles travel with every user lookup.
pub const MAX_PROFILE_BYTES: usize = 4096;

/// The room record at `keys::room(id)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Room {
    pub id: String,
    pub name: String,
    pub kind: String,
    /// Unix milliseconds.
    pub created_at: u64,
}

/// The user record at `keys::user(id)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    /// A JSON object set by the client, or `null` until it sets one.
    #[serde(default)]
    pub profile: Option<serde_json::Value>,
    /// Unix milliseconds.
    pub created_at: u64,
    /// A guest: the user of one connection that never signed in, ended with it
    /// (`wcc_interface::ids::GUEST_PREFIX`). Absent from the JSON of everyone else.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub guest: bool,
}

/// One entry of a room's member list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user: String,
    /// Unix milliseconds.
    pub joined_at: u64,
}

/// Longest join-rule key, in bytes: it names a connection detail like `type`.
pub const MAX_JOIN_RULE_KEY_BYTES: usize = 64;

/// Largest join-rule value, in bytes of its JSON text: a rule compares one small value.
pub const MAX_JOIN_RULE_VALUE_BYTES: usize = 1024;

/// A room's join rule at `keys::join_rule(room)`: a connection may join only if its detail
/// `key` equals `value` (actionhero's authentication pattern).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinRule {
    pub key: String,
    /// Any JSON value: `"websocket"`, `true`, ...
    pub value: serde_json::Value,
}

impl JoinRule {
    /// The rule as WIT carries it, with the value as JSON text; checked like [`validate_join_rule`].
    pub fn from_text(key: &str, value: &str) -> Result<Self, Failure> {
        // Size first, so an oversize value is refused without being parsed.
        if value.len() > MAX_JOIN_RULE_VALUE_BYTES {
            return Err(value_too_large());
        }
        let value = serde_json::from_str(value)
            .map_err(|e| Failure::invalid(format!("join rule value is not JSON: {e}")))?;
        let rule = Self {
            key: key.to_owned(),
            value,
        };
        validate_join_rule(&rule)?;
        Ok(rule)
    }

    /// The value as JSON text, as WIT carries it.
    pub fn value_text(&self) -> String {
        // A parsed JSON value always serializes.
        serde_json::to_string(&self.value).unwrap_or_default()
    }
}

/// Checks a join rule: a key of 1 to [`MAX_JOIN_RULE_KEY_BYTES`] letters, digits, `_` and `-`
/// (detail names; nothing a protocol would need to escape), and a small value.
pub fn validate_join_rule(rule: &JoinRule) -> Result<(), Failure> {
    let key = &rule.key;
    let key_ok = !key.is_empty()
        && key.len() <= MAX_JOIN_RULE_KEY_BYTES
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !key_ok {
        return Err(Failure::invalid(format!(
            "join rule key {key:?} must be 1 to {MAX_JOIN_RULE_KEY_BYTES} letters, digits, _ or -"
        )));
    }
    if rule.value_text().len() > MAX_JOIN_RULE_VALUE_BYTES {
        return Err(value_too_large());
    }
    Ok(())
}

fn value_too_large() -> Failure {
    Failure::invalid(format!(
        "join rule value is over {MAX_JOIN_RULE_VALUE_BYTES} bytes"
    ))
}

/// Checks the arguments of create-room.
pub fn validate_room(id: &str, name: &str, kind: &str) -> Result<(), Failure> {
    if !ids::is_valid_id(id) {
        return Err(Failure::invalid(format!("invalid room id {id:?}")));
    }
    if ids::is_reserved(id) {
        return Err(Failure::invalid(format!("{id:?} is reserved")));
    }
    validate_room_name(name)?;
    if !ROOM_KINDS.contains(&kind) {
        return Err(Failure::invalid(format!(
            "room kind must be one of {}",
            ROOM_KINDS.join(", ")
        )));
    }
    Ok(())
}

/// Checks a room name: 1 to [`MAX_NAME_CHARS`] characters.
pub fn validate_room_name(name: &str) -> Result<(), Failure> {
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(Failure::invalid(format!(
            "room name must be 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(())
}

/// Parses a profile: a JSON object of at most [`MAX_PROFILE_BYTES`].
pub fn parse_profile(profile: &str) -> Result<serde_json::Value, Failure> {
    if profile.len() > MAX_PROFILE_BYTES {
        return Err(Failure::invalid(format!(
            "profile is over {MAX_PROFILE_BYTES} bytes"
        )));
    }
    match serde_json::from_str::<serde_json::Value>(profile) {
        Ok(value @ serde_json::Value::Object(_)) => Ok(value),
        Ok(_) => Err(Failure::invalid("profile must be a JSON object")),
        Err(e) => Err(Failure::invalid(format!("profile is not JSON: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wcc_interface::FailureCode;

    #[test]
    fn room_arguments_are_checked() {
        assert!(validate_room("lobby", "Lobby", "text").is_ok());
        assert!(validate_room("v", &"é".repeat(MAX_NAME_CHARS), "voice").is_ok());
        for (id, name, kind) in [
            ("a.b", "x", "text"),
            ("ok", "", "text"),
            ("ok", &"x".repeat(MAX_NAME_CHARS + 1), "text"),
            ("ok", "x", "forum"),
        ] {
            let err = validate_room(id, name, kind).unwrap_err();
            assert_eq!(err.code, FailureCode::Invalid, "{id:?} {kind:?}");
        }
    }

    #[test]
    fn profiles_are_small_json_objects() {
        assert_eq!(parse_profile(r#"{"name":"Ada"}"#).unwrap()["name"], "Ada");
        let big = format!(r#"{{"x":"{}"}}"#, "a".repeat(MAX_PROFILE_BYTES));
        for bad in ["[]", "\"s\"", "null", "{", big.as_str()] {
            assert_eq!(
                parse_profile(bad).unwrap_err().code,
                FailureCode::Invalid,
                "{bad}"
            );
        }
    }

    #[test]
    fn join_rules_have_a_short_plain_key_and_a_small_json_value() {
        let rule = JoinRule::from_text("type", r#""websocket""#).unwrap();
        assert_eq!(rule.value, serde_json::json!("websocket"));
        assert_eq!(rule.value_text(), r#""websocket""#);
        assert_eq!(
            JoinRule::from_text("authenticated", " true ")
                .unwrap()
                .value_text(),
            "true"
        );
        let at_limit = format!("\"{}\"", "v".repeat(MAX_JOIN_RULE_VALUE_BYTES - 2));
        assert!(JoinRule::from_text(&"k".repeat(MAX_JOIN_RULE_KEY_BYTES), &at_limit).is_ok());
        let over = format!("\"{}\"", "v".repeat(MAX_JOIN_RULE_VALUE_BYTES - 1));
        let long_key = "k".repeat(MAX_JOIN_RULE_KEY_BYTES + 1);
        for (key, value) in [
            ("type", "websocket"),
            ("type", ""),
            ("type", over.as_str()),
            ("", "true"),
            ("a.b", "true"),
            ("a b", "true"),
            (long_key.as_str(), "true"),
        ] {
            let err = JoinRule::from_text(key, value).unwrap_err();
            assert_eq!(err.code, FailureCode::Invalid, "{key:?} {value:?}");
        }
        let big = JoinRule {
            key: "k".into(),
            value: serde_json::json!("v".repeat(MAX_JOIN_RULE_VALUE_BYTES)),
        };
        assert_eq!(
            validate_join_rule(&big).unwrap_err().code,
            FailureCode::Invalid
        );
    }

    #[test]
    fn a_new_user_stores_a_null_profile() {
        let user = User {
            id: "u".into(),
            profile: None,
            created_at: 5,
            guest: false,
        };
        let json = serde_json::to_value(&user).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"id": "u", "profile": null, "created_at": 5})
        );
    }
}
