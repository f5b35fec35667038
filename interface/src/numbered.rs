//! Keys and values that carry a number only the store knows yet. The messages actor writes each
//! message under the room's next event id in one provider call (`wcc:keyvalue/log`), so it hands
//! over a key that the number ends and a value with a place for the number, and the provider
//! writes the number in once it has reserved it. Both sides use these functions.

/// `key`, with `number` in decimal after it if `ends_with_number`: `room/a/msg/` and 17 give
/// `room/a/msg/17`.
pub fn key(key: &str, ends_with_number: bool, number: u64) -> String {
    if ends_with_number {
        format!("{key}{number}")
    } else {
        key.to_owned()
    }
}

/// `value`, with `number` in decimal inserted at byte `at` if there is one (an `at` past the end
/// appends it).
pub fn value(value: &[u8], at: Option<u32>, number: u64) -> Vec<u8> {
    let Some(at) = at else {
        return value.to_vec();
    };
    let at = usize::try_from(at).map_or(value.len(), |at| at.min(value.len()));
    let digits = number.to_string();
    let mut joined = Vec::with_capacity(value.len() + digits.len());
    joined.extend_from_slice(&value[..at]);
    joined.extend_from_slice(digits.as_bytes());
    joined.extend_from_slice(&value[at..]);
    joined
}

/// The JSON object `object` with `"field": <number>` added as its first member, as a value and
/// the place where the number goes. `object` must be a serialized JSON object (it starts with
/// `{`).
pub fn json_with_number(field: &str, object: &[u8]) -> (Vec<u8>, u32) {
    let mut joined = format!("{{{}:", serde_json::Value::from(field)).into_bytes();
    let at = u32::try_from(joined.len()).unwrap_or(u32::MAX);
    let members = object.strip_prefix(b"{").unwrap_or(object);
    // `{}` has no members to separate from.
    if members.first() != Some(&b'}') {
        joined.push(b',');
    }
    joined.extend_from_slice(members);
    (joined, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_number_ends_a_key_or_goes_into_a_value() {
        assert_eq!(key("room/a/msg/", true, 17), "room/a/msg/17");
        assert_eq!(key("msgid/x", false, 17), "msgid/x");
        assert_eq!(value(b"xy", Some(1), 123), b"x123y");
        assert_eq!(value(b"xy", Some(9), 5), b"xy5");
        assert_eq!(value(b"xy", None, 5), b"xy");
    }

    #[test]
    fn a_json_object_gets_the_number_as_a_member() {
        let (object, at) = json_with_number("event_id", br#"{"room":"a","n":[1,{"x":2}]}"#);
        let parsed: serde_json::Value =
            serde_json::from_slice(&value(&object, Some(at), 42)).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({"event_id": 42, "room": "a", "n": [1, {"x": 2}]})
        );
        let (empty, at) = json_with_number("id", b"{}");
        assert_eq!(value(&empty, Some(at), 7), br#"{"id":7}"#);
    }
}
