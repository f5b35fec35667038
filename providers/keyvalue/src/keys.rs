//! Reversible escaping of component keys into JetStream KV keys.
//!
//! Components may use any string as a key, but JetStream KV keys are NATS
//! subjects: only `[-/_=.a-zA-Z0-9]` is allowed and `.` splits tokens, which
//! must not be empty. We therefore keep a conservative safe set (ASCII
//! letters, digits, `-`, `_`, `/`) and write every other byte of the UTF-8
//! encoding as `=` plus two uppercase hex digits. `.` is always escaped, so an
//! escaped key never contains an empty token, and `=` is always escaped, so
//! decoding is unambiguous.
//!
//! The empty key cannot be written under that rule (it would yield the empty,
//! invalid subject token), so it alone is encoded as a lone `=`, which the
//! rule never produces for any other input.
//!
//! Both directions are pure functions. [`unescape`] is strict: it accepts only
//! the canonical output of [`escape`], so the mapping is a bijection between
//! strings and the escaped keys this provider writes; anything else found in
//! a bucket (written by another tool) is reported as foreign.

use std::fmt;

/// Encoding of the empty key; see the module docs.
const EMPTY_KEY: &str = "=";

/// Why a stored key is not one this module produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey(pub String);

impl fmt::Display for ForeignKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stored key {:?} is not an escaped component key", self.0)
    }
}

impl std::error::Error for ForeignKey {}

/// Bytes kept verbatim.
fn is_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/')
}

/// Escape a component key into a valid JetStream KV key.
pub fn escape(key: &str) -> String {
    if key.is_empty() {
        return EMPTY_KEY.to_string();
    }
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(key.len());
    for &b in key.as_bytes() {
        if is_safe(b) {
            out.push(char::from(b));
        } else {
            out.push('=');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

/// Value of one uppercase hex digit; lowercase is rejected as non-canonical.
fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Recover the component key from a stored key written by [`escape`].
pub fn unescape(stored: &str) -> Result<String, ForeignKey> {
    if stored == EMPTY_KEY {
        return Ok(String::new());
    }
    let foreign = || ForeignKey(stored.to_string());
    let bytes = stored.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if is_safe(b) {
            out.push(b);
            i += 1;
        } else if b == b'=' {
            let hi = bytes.get(i + 1).copied().and_then(hex_value);
            let lo = bytes.get(i + 2).copied().and_then(hex_value);
            let (Some(hi), Some(lo)) = (hi, lo) else {
                return Err(foreign());
            };
            let decoded = (hi << 4) | lo;
            // A safe byte written escaped is not canonical: escape() keeps it.
            if is_safe(decoded) {
                return Err(foreign());
            }
            out.push(decoded);
            i += 3;
        } else {
            return Err(foreign());
        }
    }
    // The empty key has its own encoding, so nothing else may decode to "".
    if out.is_empty() {
        return Err(foreign());
    }
    String::from_utf8(out).map_err(|_| foreign())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The character set and token rules of async-nats' `is_valid_key`.
    fn valid_kv_key(k: &str) -> bool {
        !k.is_empty()
            && !k.starts_with('.')
            && !k.ends_with('.')
            && !k.contains("..")
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-/_=.".contains(&b))
    }

    #[test]
    fn safe_characters_are_kept() {
        assert_eq!(escape("room-1/member_2"), "room-1/member_2");
        assert_eq!(escape("ABCxyz0189"), "ABCxyz0189");
    }

    #[test]
    fn other_bytes_become_uppercase_hex() {
        assert_eq!(escape("a.b"), "a=2Eb");
        assert_eq!(escape("a=b"), "a=3Db");
        assert_eq!(escape("a b*>"), "a=20b=2A=3E");
        assert_eq!(escape("é"), "=C3=A9");
        assert_eq!(escape("\u{0}"), "=00");
        assert_eq!(escape("\u{7f}"), "=7F");
    }

    #[test]
    fn edge_cases_are_valid_kv_keys() {
        for key in [
            "", ".", "..", "...", "=", "==", " ", "=2E", "a.", ".a", "a..b", "/", "-",
        ] {
            let escaped = escape(key);
            assert!(valid_kv_key(&escaped), "{key:?} -> {escaped:?}");
            assert_eq!(unescape(&escaped).as_deref(), Ok(key), "{key:?}");
        }
        assert_eq!(escape(""), "=");
        assert_eq!(escape("."), "=2E");
        assert_eq!(escape("="), "=3D");
    }

    #[test]
    fn round_trips_unicode_and_punctuation() {
        let keys = [
            "user:42",
            "messages.room.7",
            "Grüße, 世界! 🎉",
            "emoji 👩‍👩‍👧 family",
            "tab\tnew\nline",
            "already=3Descaped",
            "mixed/Path-with_all.the=chars%20",
            "\u{10FFFF}\u{0}",
        ];
        for key in keys {
            let escaped = escape(key);
            assert!(valid_kv_key(&escaped), "{key:?} -> {escaped:?}");
            assert_eq!(unescape(&escaped).as_deref(), Ok(key));
        }
    }

    #[test]
    fn escaping_is_injective_on_lookalikes() {
        let keys = ["a.b", "a=2Eb", "a_b", "a/b", "", "=", "=3D"];
        let escaped: std::collections::HashSet<_> = keys.iter().map(|k| escape(k)).collect();
        assert_eq!(escaped.len(), keys.len());
    }

    #[test]
    fn unescape_rejects_non_canonical_or_foreign_keys() {
        for stored in [
            "a.b", // raw dot is never produced
            "=2e", // lowercase hex
            "=41", // 'A' would have been kept
            "=2",  // truncated escape
            "a=",  // dangling '='
            "=G0", // not hex
            "=FF", // invalid UTF-8
            "=C3", // truncated UTF-8 sequence
            "",    // empty stored key
            "ä",   // non-ASCII stored key
        ] {
            assert!(unescape(stored).is_err(), "{stored:?} should be foreign");
        }
    }
}
