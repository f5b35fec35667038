//! Subscription grants: how the core lets the gateway deliver a room's events to a connection.
//!
//! A channel cannot subscribe a connection by naming a room. It asks the core
//! (`rooms.grant-subscription`), which checks that the user may read the room and answers a
//! grant: the room, the user and an expiry, signed with HMAC-SHA256 under a key that only the
//! rooms actor and the gateways are configured with. The gateway subscribes only on a grant that
//! verifies, names the session's own user and has not expired, so a channel that forgets a check
//! (or is wrong) cannot make a connection hear a room the core did not allow.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::ids;

/// How long a grant may wait between the core and the gateway. Grants are used at once (the
/// gateway applies a call's actions as soon as it returns); this only bounds a replay.
pub const GRANT_TTL_MS: u64 = 60_000;

/// Shortest key accepted, in bytes: the launcher generates 32 random bytes as 64 hex digits.
pub const MIN_KEY_BYTES: usize = 16;

/// What a valid grant lets the gateway do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub room: String,
    pub user: String,
    /// Unix milliseconds after which the gateway refuses it.
    pub expires_ms: u64,
}

/// Why the gateway refused a grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refused {
    Malformed,
    BadSignature,
    Expired,
    /// Signed for a different user than the session's.
    OtherUser,
    /// The session has no user: only users hear rooms.
    NoUser,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refused::Malformed => "not a grant",
            Refused::BadSignature => "signature does not verify",
            Refused::Expired => "expired",
            Refused::OtherUser => "granted to another user",
            Refused::NoUser => "the session has no user",
        })
    }
}

fn mac(key: &[u8], room: &str, user: &str, expires_ms: u64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(format!("wcc-grant-v1\n{room}\n{user}\n{expires_ms}").as_bytes());
    mac
}

/// The grant for `user` to hear `room` until `expires_ms`, as text: `room.user.expiry.mac`
/// (ids never contain `.`).
pub fn sign(key: &[u8], grant: &Grant) -> String {
    let tag = mac(key, &grant.room, &grant.user, grant.expires_ms)
        .finalize()
        .into_bytes();
    format!(
        "{}.{}.{}.{}",
        grant.room,
        grant.user,
        grant.expires_ms,
        hex::encode(tag)
    )
}

/// The room a grant lets `session_user` hear, if it verifies under `key` at `now_ms`.
pub fn verify(
    key: &[u8],
    text: &str,
    session_user: Option<&str>,
    now_ms: u64,
) -> Result<Grant, Refused> {
    let mut parts = text.split('.');
    let (Some(room), Some(user), Some(expires), Some(tag), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(Refused::Malformed);
    };
    let expires_ms: u64 = expires.parse().map_err(|_| Refused::Malformed)?;
    if !ids::is_valid_id(room) || !ids::is_valid_id(user) {
        return Err(Refused::Malformed);
    }
    let tag = hex::decode(tag).map_err(|_| Refused::Malformed)?;
    // Constant-time comparison: `verify_slice` does not stop at the first differing byte.
    mac(key, room, user, expires_ms)
        .verify_slice(&tag)
        .map_err(|_| Refused::BadSignature)?;
    let session_user = session_user.ok_or(Refused::NoUser)?;
    if session_user != user {
        return Err(Refused::OtherUser);
    }
    if now_ms > expires_ms {
        return Err(Refused::Expired);
    }
    Ok(Grant {
        room: room.to_owned(),
        user: user.to_owned(),
        expires_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn grant() -> Grant {
        Grant {
            room: "lobby".into(),
            user: "alice".into(),
            expires_ms: 1_000,
        }
    }

    #[test]
    fn a_signed_grant_verifies_for_its_user_until_it_expires() {
        let text = sign(KEY, &grant());
        assert_eq!(verify(KEY, &text, Some("alice"), 1_000), Ok(grant()));
        assert_eq!(
            verify(KEY, &text, Some("alice"), 1_001),
            Err(Refused::Expired)
        );
        assert_eq!(
            verify(KEY, &text, Some("mallory"), 10),
            Err(Refused::OtherUser)
        );
        assert_eq!(verify(KEY, &text, None, 10), Err(Refused::NoUser));
    }

    #[test]
    fn anything_not_signed_with_the_key_is_refused() {
        let text = sign(b"another key, not the gateway's", &grant());
        assert_eq!(
            verify(KEY, &text, Some("alice"), 10),
            Err(Refused::BadSignature)
        );
        // A room name alone, as channels used to send, is no grant.
        assert_eq!(
            verify(KEY, "lobby", Some("alice"), 10),
            Err(Refused::Malformed)
        );
        // Changing the room of a valid grant breaks its signature.
        let forged = sign(KEY, &grant()).replacen("lobby", "alice", 1);
        assert_eq!(
            verify(KEY, &forged, Some("alice"), 10),
            Err(Refused::BadSignature)
        );
        let longer = format!("{}.x", sign(KEY, &grant()));
        assert_eq!(
            verify(KEY, &longer, Some("alice"), 10),
            Err(Refused::Malformed)
        );
    }
}
