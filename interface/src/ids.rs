//! Room and user ids become NATS subject tokens (`wcc.events.rooms.<room>`), so they are limited
//! to characters that are safe there: ASCII letters, digits, `-` and `_`.

/// The sender of messages from the server itself (operators' broadcasts). No user can hold it:
/// the rooms actor refuses to register it and never generates it.
pub const SERVER_USER: &str = "server";

/// The room-shaped feed of server-wide live events: directory changes (users, rooms, groups)
/// and signals meant for everyone connected (Rebuttal's talking, voice joins, server mutes).
/// Sessions of protocols that show such things subscribe to it like a room. No room or user can
/// take this id; any user may signal to it.
pub const EVERYONE: &str = "everyone";

/// Who an operator's console is signed in as (the channel-console actor, after it checked the
/// admin token), and the feed of lattice-wide events it hears: logins, logouts and gateway
/// heartbeats (`wcc.events`, [`crate::events::feed_subject`]). No room or user can take it.
pub const OPERATOR: &str = "operator";

/// How the id of a guest begins: the user a connection that never signed in acts as (an
/// actionhero socket), named after its connection and ended with it. No registration and no
/// room can take an id that begins so.
pub const GUEST_PREFIX: &str = "guest-";

/// The id of the guest of `connection` (a gateway connection id); `None` if that is no valid id.
pub fn guest_id(connection: &str) -> Option<String> {
    let id = format!("{GUEST_PREFIX}{connection}");
    is_valid_id(&id).then_some(id)
}

/// Whether `id` names a guest (see [`GUEST_PREFIX`]).
pub fn is_guest(id: &str) -> bool {
    id.starts_with(GUEST_PREFIX)
}

/// Whether `id` is one of the ids the core keeps for itself: `server`, `everyone`, `operator`
/// and guests'.
pub fn is_reserved(id: &str) -> bool {
    id == SERVER_USER || id == EVERYONE || id == OPERATOR || is_guest(id)
}

/// Longest id accepted.
pub const MAX_ID_LEN: usize = 128;

/// Whether `id` can name a room or a user.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_safe_ids_only() {
        assert!(is_valid_id("room_0"));
        assert!(is_valid_id("6f1c-4e2a"));
        for bad in ["", "a.b", "a b", "*", ">", "ü", &"x".repeat(MAX_ID_LEN + 1)] {
            assert!(!is_valid_id(bad), "{bad:?} accepted");
        }
    }

    #[test]
    fn guests_are_named_after_their_connection_and_reserved() {
        assert_eq!(
            guest_id("0123456789ab-7").as_deref(),
            Some("guest-0123456789ab-7")
        );
        assert_eq!(guest_id("gw/1"), None);
        assert_eq!(guest_id(&"x".repeat(MAX_ID_LEN)), None);
        assert!(is_guest("guest-0123456789ab-7"));
        assert!(is_reserved("guest-0123456789ab-7"));
        assert!(!is_reserved("guests"));
    }
}
