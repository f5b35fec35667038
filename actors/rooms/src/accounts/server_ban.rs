//! Server-wide bans: an operator bars a user id from signing in, on every protocol.
//!
//! A ban is one key (`keys::server_ban`), read once per sign-in (a password, a client id, a
//! token, or the registration of that id) and never on the message path: a banned user's live
//! sessions are closed when the ban is made (`Operator::ban`), and without a way to sign in
//! again there is nothing left to check. The key outlives the user's deletion, so the id cannot
//! be registered again until an operator lifts the ban.

use serde::Serialize;
use wcc_interface::{ids, Failure, FailureCode};
use wcc_kv::{keys, Store};

/// What a ban's key holds: when it was made, for an operator reading the store.
#[derive(Serialize)]
struct BanRecord {
    at: u64,
}

/// Whether an operator banned `user` from the server.
pub fn is_banned<S: Store>(store: &S, user: &str) -> Result<bool, Failure> {
    Ok(store.get(&keys::server_ban(user))?.is_some())
}

/// `suspended` if an operator banned `user`: what every sign-in path answers a banned user.
pub fn refuse_banned<S: Store>(store: &S, user: &str) -> Result<(), Failure> {
    if is_banned(store, user)? {
        return Err(banned(user));
    }
    Ok(())
}

/// The refusal of a sign-in as `user`.
pub fn banned(user: &str) -> Failure {
    Failure::new(
        FailureCode::Suspended,
        format!("{user:?} is banned by an operator"),
    )
}

/// Bans `user` from signing in; `false` if it already was. The user need not exist: an id may be
/// kept from registration, and a deleted user's ban stays. Guests and the core's own ids are
/// refused: they cannot sign in, so a ban of them would only be a key that never goes.
pub fn ban<S: Store>(store: &S, user: &str, now_ms: u64) -> Result<bool, Failure> {
    check_bannable(user)?;
    let key = keys::server_ban(user);
    if store.get(&key)?.is_some() {
        return Ok(false);
    }
    store.set_json(&key, &BanRecord { at: now_ms })?;
    Ok(true)
}

/// Lifts the ban of `user`; `false` if there was none.
pub fn unban<S: Store>(store: &S, user: &str) -> Result<bool, Failure> {
    check_bannable(user)?;
    let key = keys::server_ban(user);
    if store.get(&key)?.is_none() {
        return Ok(false);
    }
    store.delete(&key)?;
    Ok(true)
}

/// `invalid` unless `user` could be a signed-in user's id.
pub fn check_bannable(user: &str) -> Result<(), Failure> {
    if !ids::is_valid_id(user) {
        return Err(Failure::invalid(format!("invalid user id {user:?}")));
    }
    if ids::is_reserved(user) {
        return Err(Failure::invalid(format!(
            "{user:?} never signs in: only accounts are banned (disconnect a guest instead)"
        )));
    }
    Ok(())
}
