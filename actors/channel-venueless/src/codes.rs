//! The error codes a venueless client can receive, in one place, and the translation of the
//! core's protocol-neutral [`Failure`]s into them.
//!
//! Codes that upstream venueless defines are used verbatim (`auth.*`, `chat.*`,
//! `channel.join.missing_profile`); the `protocol.*` and `server.*` ones are wcc's for inputs
//! upstream would have dropped the connection over, because wcc answers bad input and keeps going
//! (`protocol.denial_of_service`: over the connection's rate limit).

use wcc_interface::{Failure, FailureCode};

pub const AUTH_MISSING_ID_OR_TOKEN: &str = "auth.missing_id_or_token";
pub const AUTH_INVALID_TOKEN: &str = "auth.invalid_token";
pub const AUTH_DENIED: &str = "auth.denied";
pub const AUTH_ALREADY_AUTHENTICATED: &str = "auth.already_authenticated";

pub const PROTOCOL_INVALID_JSON: &str = "protocol.invalid_json";
pub const PROTOCOL_MALFORMED: &str = "protocol.malformed";
pub const PROTOCOL_UNKNOWN_ACTION: &str = "protocol.unknown_action";
pub const PROTOCOL_UNSUPPORTED_ENCODING: &str = "protocol.unsupported_encoding";
pub const PROTOCOL_FRAME_TOO_LARGE: &str = "protocol.frame_too_large";
pub const PROTOCOL_UNAUTHENTICATED: &str = "protocol.unauthenticated";
/// Over the connection's rate limit: not done, the connection stays; the message says when to
/// try again.
pub const PROTOCOL_DENIAL_OF_SERVICE: &str = "protocol.denial_of_service";

pub const USER_NOT_FOUND: &str = "user.not_found";
pub const USER_INVALID: &str = "user.invalid";

pub const CHANNEL_UNKNOWN: &str = "channel.unknown";
pub const CHANNEL_JOIN_MISSING_PROFILE: &str = "channel.join.missing_profile";

pub const CHAT_DENIED: &str = "chat.denied";
pub const CHAT_EMPTY: &str = "chat.empty";
pub const CHAT_INVALID: &str = "chat.invalid";
/// `chat.mark_read` without the event id it marks (upstream's code).
pub const CHAT_INVALID_BODY: &str = "chat.invalid_body";
pub const CHAT_UNSUPPORTED_EVENT_TYPE: &str = "chat.unsupported_event_type";
pub const CHAT_UNSUPPORTED_CONTENT_TYPE: &str = "chat.unsupported_content_type";

pub const SERVER_UNAVAILABLE: &str = "server.unavailable";

/// Which family of actions a failure happened in: the same core refusal reads differently to a
/// client logging in than to one chatting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    Auth,
    User,
    Chat,
}

/// The venueless code for a core failure. Storage trouble is always `server.unavailable` so a
/// client can tell "try again" from "you may not".
pub fn for_failure(failure: &Failure, context: Context) -> &'static str {
    match (failure.code, context) {
        (FailureCode::Unavailable, _) => SERVER_UNAVAILABLE,
        // A login the core refuses for any reason is a refused login, nothing more specific.
        (_, Context::Auth) => AUTH_DENIED,
        (FailureCode::Invalid, Context::User) => USER_INVALID,
        (FailureCode::Invalid, Context::Chat) => CHAT_INVALID,
        (FailureCode::UnknownRoom, _) => CHANNEL_UNKNOWN,
        (FailureCode::UnknownUser, _) => USER_NOT_FOUND,
        (
            FailureCode::NotMember
            | FailureCode::Denied
            | FailureCode::Banned
            | FailureCode::Suspended
            | FailureCode::Throttled,
            _,
        ) => CHAT_DENIED,
        (FailureCode::BadCredentials, _) => AUTH_DENIED,
        (FailureCode::Exists, Context::User) => USER_INVALID,
        (FailureCode::Exists, _) => CHAT_INVALID,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_is_always_server_unavailable() {
        for context in [Context::Auth, Context::User, Context::Chat] {
            assert_eq!(
                for_failure(&Failure::unavailable("x"), context),
                SERVER_UNAVAILABLE
            );
        }
    }

    #[test]
    fn chat_failures_map_to_chat_codes() {
        let f = |code| for_failure(&Failure::new(code, "x"), Context::Chat);
        assert_eq!(f(FailureCode::NotMember), CHAT_DENIED);
        assert_eq!(f(FailureCode::Denied), CHAT_DENIED);
        assert_eq!(f(FailureCode::UnknownRoom), CHANNEL_UNKNOWN);
        assert_eq!(f(FailureCode::Invalid), CHAT_INVALID);
        assert_eq!(f(FailureCode::UnknownUser), USER_NOT_FOUND);
    }

    #[test]
    fn auth_refusals_are_denied() {
        assert_eq!(
            for_failure(&Failure::invalid("x"), Context::Auth),
            AUTH_DENIED
        );
        assert_eq!(
            for_failure(&Failure::invalid("x"), Context::User),
            USER_INVALID
        );
    }
}
