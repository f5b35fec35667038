//! Bearer tokens: 32 random bytes, shown to the client once as hex and stored only as their
//! SHA-256, so a read of the store signs no one in. A token expires (`token_ttl_secs`), ends alone
//! on logout, or with every other token of its user when the user's token epoch moves on (a
//! password change, the user's deletion): one `increment`, no index of tokens to walk.
//!
//! A user holds at most [`MAX_TOKENS_PER_USER`] tokens: each takes the next slot of a ring, and
//! the token that held that slot ends. So the store holds a bounded number of token records per
//! user, however often a client signs in without signing out (an expired token would otherwise
//! stay until someone presented it again).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wcc_interface::Failure;
use wcc_kv::{keys, Store};

use super::{unknown_user, Accounts};
use crate::Publisher;

/// How long a token lives unless the rooms actor's `token_ttl_secs` says otherwise: 30 days.
pub const DEFAULT_TOKEN_TTL_SECS: u64 = 30 * 24 * 60 * 60;

/// Tokens a user may hold at once; the next sign-in ends the oldest. Enough for every device a
/// person uses, few enough that an account's records stay small.
pub const MAX_TOKENS_PER_USER: u64 = 16;

/// Random bytes in a token; it is twice as many hex digits.
pub const TOKEN_BYTES: usize = 32;

/// What is stored under `keys::token(sha256(token))`.
#[derive(Debug, Serialize, Deserialize)]
struct TokenRecord {
    user: String,
    /// Unix ms after which the token no longer resolves.
    expires_at: u64,
    /// The user's token epoch when the token was issued.
    epoch: u64,
}

/// A fresh token: [`TOKEN_BYTES`] from the system's randomness, as lowercase hex.
pub fn new_token() -> Result<String, Failure> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| Failure::unavailable(format!("randomness: {e}")))?;
    Ok(hex(&bytes))
}

/// A fresh password salt from the system's randomness.
pub fn new_salt() -> Result<[u8; 16], Failure> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| Failure::unavailable(format!("randomness: {e}")))?;
    Ok(salt)
}

/// The token lifetime from the configured `token_ttl_secs` (unset or blank: the default). A value
/// that is not a positive number of seconds is an error, not silently the default.
pub fn token_ttl_secs(configured: Option<&str>) -> Result<u64, Failure> {
    match configured.map(str::trim) {
        None | Some("") => Ok(DEFAULT_TOKEN_TTL_SECS),
        Some(text) => text.parse().ok().filter(|&secs| secs > 0).ok_or_else(|| {
            Failure::unavailable(format!(
                "token_ttl_secs must be a positive number of seconds, not {text:?}"
            ))
        }),
    }
}

/// Ends every token of `user` at once by moving its epoch on.
pub fn revoke_all_tokens<S: Store>(store: &S, user: &str) -> Result<(), Failure> {
    store.increment(&keys::token_epoch(user), 1).map(drop)
}

/// Deletes every token record in `user`'s ring, and the ring (the user is being deleted; its
/// epoch has moved on already, so a token issued meanwhile is dead anyway).
pub fn erase_token_ring<S: Store>(store: &S, user: &str) -> Result<(), Failure> {
    let slots: Vec<String> = (0..MAX_TOKENS_PER_USER)
        .map(|slot| keys::token_ring_slot(user, slot))
        .collect();
    let mut gone: Vec<String> = store
        .get_many(&slots)?
        .into_iter()
        .flatten()
        .map(|hashed| keys::token(&String::from_utf8_lossy(&hashed)))
        .collect();
    gone.extend(slots);
    gone.push(keys::token_ring_next(user));
    store.delete_many(&gone)
}

impl<S: Store, P: Publisher> Accounts<'_, S, P> {
    /// Records `token` (from [`new_token`]) as standing for `user` for `ttl_secs`.
    pub fn issue_token(
        &self,
        user: &str,
        token: &str,
        now_ms: u64,
        ttl_secs: u64,
    ) -> Result<String, Failure> {
        match self.users.get_user(user)? {
            None => return Err(unknown_user(user)),
            // A guest ends with its connection; nothing may outlive it to sign in as it.
            Some(found) if found.guest => {
                return Err(Failure::invalid("a guest cannot have tokens"));
            }
            Some(_) => {}
        }
        if !is_token(token) {
            return Err(Failure::invalid(format!(
                "a token is {} hex digits",
                TOKEN_BYTES * 2
            )));
        }
        let record = TokenRecord {
            user: user.to_owned(),
            expires_at: now_ms.saturating_add(ttl_secs.saturating_mul(1_000)),
            epoch: self.epoch(user)?,
        };
        let hashed = hex(&Sha256::digest(token.as_bytes()));
        // `increment` is atomic, so concurrent sign-ins of one user take different slots.
        let taken = self.store.increment(&keys::token_ring_next(user), 1)?;
        let slot = keys::token_ring_slot(user, (taken - 1) % MAX_TOKENS_PER_USER);
        let evicted = self.store.get(&slot)?;
        let json = serde_json::to_vec(&record).map_err(|e| Failure::unavailable(e.to_string()))?;
        self.store.set_many(&[
            (keys::token(&hashed), json),
            (slot, hashed.clone().into_bytes()),
        ])?;
        if let Some(old) = evicted.filter(|old| *old != hashed.as_bytes()) {
            self.store
                .delete(&keys::token(&String::from_utf8_lossy(&old)))?;
        }
        Ok(token.to_owned())
    }

    /// The user `token` stands for, unless it is unknown, expired or revoked; `suspended` if an
    /// operator banned that user (the token stays: lifting the ban makes it good again). A dead
    /// record found on the way is deleted.
    pub fn token_user(&self, token: &str, now_ms: u64) -> Result<Option<String>, Failure> {
        let Some(user) = self.live_token_user(token, now_ms)? else {
            return Ok(None);
        };
        super::server_ban::refuse_banned(self.store, &user)?;
        Ok(Some(user))
    }

    /// [`Self::token_user`] without the ban: whose the token is.
    fn live_token_user(&self, token: &str, now_ms: u64) -> Result<Option<String>, Failure> {
        if !is_token(token) {
            return Ok(None);
        }
        let key = token_key(token);
        let Some(record) = self.store.get_json::<TokenRecord>(&key)? else {
            return Ok(None);
        };
        if now_ms >= record.expires_at || self.epoch(&record.user)? != record.epoch {
            self.store.delete(&key)?;
            return Ok(None);
        }
        Ok(Some(record.user))
    }

    /// Ends `token` (a logout); `false` if it did not resolve anyway. A banned user may still
    /// end its tokens.
    pub fn revoke_token(&self, token: &str, now_ms: u64) -> Result<bool, Failure> {
        if self.live_token_user(token, now_ms)?.is_none() {
            return Ok(false);
        }
        self.store.delete(&token_key(token))?;
        Ok(true)
    }

    fn epoch(&self, user: &str) -> Result<u64, Failure> {
        let key = keys::token_epoch(user);
        let Some(bytes) = self.store.get(&key)? else {
            return Ok(0);
        };
        std::str::from_utf8(&bytes)
            .ok()
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| Failure::unavailable(format!("{key} is corrupt")))
    }
}

/// Whether `token` has the shape of the tokens we issue; nothing else is looked up.
fn is_token(token: &str) -> bool {
    token.len() == TOKEN_BYTES * 2 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Where the record of `token` lives: under its SHA-256, never the token.
fn token_key(token: &str) -> String {
    keys::token(&hex(&Sha256::digest(token.as_bytes())))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
