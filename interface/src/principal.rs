//! Who is asking the core. Every core call that reads or changes what a user can see names a
//! principal, and the core decides (`wcc-policy`); channels only say who their client is.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Principal {
    /// A user by id: signed in, or a protocol's per-connection anonymous user.
    User(String),
    /// The operator, through the admin API.
    Operator,
    /// The server itself: fan-out renders and housekeeping.
    Server,
}

impl Principal {
    pub fn user(id: impl Into<String>) -> Self {
        Principal::User(id.into())
    }

    /// The user id, if this principal is a user.
    pub fn as_user(&self) -> Option<&str> {
        match self {
            Principal::User(id) => Some(id),
            _ => None,
        }
    }

    /// Whether this principal is `user` itself, or one that acts for anyone (operator, server).
    pub fn acts_for(&self, user: &str) -> bool {
        match self {
            Principal::User(id) => id == user,
            Principal::Operator | Principal::Server => true,
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::User(id) => write!(f, "user {id}"),
            Principal::Operator => f.write_str("the operator"),
            Principal::Server => f.write_str("the server"),
        }
    }
}
