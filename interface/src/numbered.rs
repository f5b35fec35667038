//! Keys and values that carry a number only the store knows yet: the parts of one, joined by the
//! number in decimal. The messages actor writes each message under the room's next event id in
//! one provider call (`wcc:keyvalue/log`), so it hands over parts and the provider joins them
//! once it has reserved the id. Both sides join with these functions.

/// `parts` joined by `number` in decimal: `["room/a/msg/", ""]` and 17 give `room/a/msg/17`.
/// One part has no number in it.
pub fn join_bytes<P: AsRef<[u8]>>(parts: &[P], number: u64) -> Vec<u8> {
    let digits = number.to_string();
    let len = parts.iter().map(|p| p.as_ref().len()).sum::<usize>()
        + digits.len() * parts.len().saturating_sub(1);
    let mut joined = Vec::with_capacity(len);
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            joined.extend_from_slice(digits.as_bytes());
        }
        joined.extend_from_slice(part.as_ref());
    }
    joined
}

/// [`join_bytes`] for keys.
pub fn join_str<P: AsRef<str>>(parts: &[P], number: u64) -> String {
    let digits = number.to_string();
    let mut joined = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            joined.push_str(&digits);
        }
        joined.push_str(part.as_ref());
    }
    joined
}

/// Value parts for the JSON object `object` with `"field": <number>` added as its first member.
/// `object` must be a serialized JSON object (it starts with `{`).
pub fn json_with_number(field: &str, object: &[u8]) -> Vec<Vec<u8>> {
    let head = format!("{{{}:", serde_json::Value::from(field)).into_bytes();
    let members = object.strip_prefix(b"{").unwrap_or(object);
    let mut tail = Vec::with_capacity(members.len() + 1);
    // `{}` has no members to separate from.
    if members.first() != Some(&b'}') {
        tail.push(b',');
    }
    tail.extend_from_slice(members);
    vec![head, tail]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_number_goes_between_every_two_parts() {
        assert_eq!(join_str(&["room/a/msg/", ""], 17), "room/a/msg/17");
        assert_eq!(join_str(&["a", "b", "c"], 5), "a5b5c");
        assert_eq!(join_str(&["plain"], 5), "plain");
        assert_eq!(join_bytes(&[b"x".as_slice(), b"y"], 123), b"x123y");
        assert_eq!(join_bytes::<&[u8]>(&[], 1), b"");
    }

    #[test]
    fn a_json_object_gets_the_number_as_a_member() {
        let parts = json_with_number("event_id", br#"{"room":"a","n":[1,{"x":2}]}"#);
        let value: serde_json::Value = serde_json::from_slice(&join_bytes(&parts, 42)).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"event_id": 42, "room": "a", "n": [1, {"x": 2}]})
        );
        let empty = json_with_number("id", b"{}");
        assert_eq!(join_bytes(&empty, 7), br#"{"id":7}"#);
    }
}
