//! Why a core actor refused a request, in words every channel can map to its protocol.

use std::fmt;

/// The closed set of refusals. Channels match on these, never on message text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureCode {
    /// The request is malformed (bad id, empty or oversize content, wrong shape).
    Invalid,
    /// The room does not exist (or no longer does).
    UnknownRoom,
    /// The user does not exist.
    UnknownUser,
    /// The sender is not a member of the room.
    NotMember,
    /// The caller lacks the permission.
    Denied,
    /// Storage or messaging failed; nothing was acknowledged.
    Unavailable,
    /// The name or id asked for is taken.
    Exists,
    /// The name and password do not match a user.
    BadCredentials,
    /// The recipient has banned the sender.
    Banned,
    /// An operator banned this account from the server: it cannot sign in.
    Suspended,
    /// Too many attempts (sign-in, registration) from this address or for this account; the
    /// message says how many seconds to wait.
    Throttled,
}

impl FailureCode {
    pub const ALL: [FailureCode; 11] = [
        FailureCode::Invalid,
        FailureCode::UnknownRoom,
        FailureCode::UnknownUser,
        FailureCode::NotMember,
        FailureCode::Denied,
        FailureCode::Unavailable,
        FailureCode::Exists,
        FailureCode::BadCredentials,
        FailureCode::Banned,
        FailureCode::Suspended,
        FailureCode::Throttled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureCode::Invalid => "invalid",
            FailureCode::UnknownRoom => "unknown_room",
            FailureCode::UnknownUser => "unknown_user",
            FailureCode::NotMember => "not_member",
            FailureCode::Denied => "denied",
            FailureCode::Unavailable => "unavailable",
            FailureCode::Exists => "exists",
            FailureCode::BadCredentials => "bad_credentials",
            FailureCode::Banned => "banned",
            FailureCode::Suspended => "suspended",
            FailureCode::Throttled => "throttled",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == code)
    }
}

/// A refusal with a human-readable reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub code: FailureCode,
    pub message: String,
}

impl Failure {
    pub fn new(code: FailureCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(FailureCode::Invalid, message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(FailureCode::Unavailable, message)
    }
    pub fn denied(message: impl Into<String>) -> Self {
        Self::new(FailureCode::Denied, message)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for Failure {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for code in FailureCode::ALL {
            assert_eq!(FailureCode::parse(code.as_str()), Some(code));
        }
        assert_eq!(FailureCode::parse("nope"), None);
    }
}
