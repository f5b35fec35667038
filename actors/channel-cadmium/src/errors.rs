//! The `errID`s a Cadmium client can receive, in one place, and how the core's failures map to
//! them. Those of the seed and its protocol documents (`unhandled`, `invalid_creds`,
//! `id_exists`, `reg_disabled`, `banned`, `ratelimit_exceed`) are used verbatim; the rest are
//! wcc's, in the same style.

use wcc_interface::{Failure, FailureCode};

pub const MALFORMED_MESSAGE: &str = "malformed_message";
/// A request `type` the server does not implement (the protocol errors document's example).
pub const UNKNOWN_TYPE: &str = "unhandled";
pub const INVALID_REQUEST: &str = "invalid_request";
pub const UNAUTHORIZED: &str = "unauthorized";
pub const ALREADY_AUTHENTICATED: &str = "already_authenticated";
pub const INVALID_CREDS: &str = "invalid_creds";
pub const ID_EXISTS: &str = "id_exists";
pub const REG_DISABLED: &str = "reg_disabled";
pub const USER_NOT_FOUND: &str = "user_not_found";
pub const MESSAGE_NOT_FOUND: &str = "message_not_found";
pub const BANNED: &str = "banned";
pub const RATELIMIT_EXCEED: &str = "ratelimit_exceed";
pub const SERVER_ERROR: &str = "server_error";

/// The seed's text for a refused message to someone who banned the sender.
pub const BANNED_TEXT: &str = "The user banned you";

/// The `errID` and `errText` for a core failure.
pub fn for_failure(failure: &Failure) -> (&'static str, String) {
    let id = match failure.code {
        FailureCode::Invalid => INVALID_REQUEST,
        FailureCode::UnknownUser | FailureCode::UnknownRoom => USER_NOT_FOUND,
        FailureCode::Banned => return (BANNED, BANNED_TEXT.to_owned()),
        FailureCode::BadCredentials => INVALID_CREDS,
        FailureCode::Exists => ID_EXISTS,
        FailureCode::NotMember | FailureCode::Denied | FailureCode::Suspended => UNAUTHORIZED,
        FailureCode::Throttled => RATELIMIT_EXCEED,
        FailureCode::Unavailable => SERVER_ERROR,
    };
    (id, failure.message.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_failure_has_an_err_id() {
        for code in FailureCode::ALL {
            let (id, _) = for_failure(&Failure::new(code, "x"));
            assert!(!id.is_empty());
        }
        let banned = for_failure(&Failure::new(FailureCode::Banned, "internal words"));
        assert_eq!(banned, (BANNED, BANNED_TEXT.to_owned()));
        let down = for_failure(&Failure::unavailable("kv down"));
        assert_eq!(down.0, SERVER_ERROR);
    }
}
