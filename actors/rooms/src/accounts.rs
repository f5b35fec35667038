//! Accounts: users who sign in with a name and password, bearer tokens, and bans.
//!
//! Logins through `users::login` trust the protocol's client id; protocols with real sign-in
//! (Cadmium, Rebuttal) register a password with the same (channel, client id) mapping instead.
//! Passwords are kept only as argon2id PHC strings, and never logged.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use wcc_interface::{ids, Failure, FailureCode};
use wcc_kv::{keys, LogSet, Store};

use crate::model::User;
use crate::users::Users;
use crate::Publisher;

/// Longest password accepted, in bytes: hashing cost must not be the client's to choose.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// How passwords are hashed. The default is argon2id with the RFC 9106 "second recommended"
/// memory cost (19 MiB, 2 passes); tests use the cheapest parameters instead.
pub struct PasswordPolicy {
    argon2: Argon2<'static>,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self::with_params(Params::DEFAULT)
    }
}

impl PasswordPolicy {
    pub fn with_params(params: Params) -> Self {
        Self {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
        }
    }

    /// The PHC string of `password` with `salt` (16 random bytes).
    fn hash(&self, password: &str, salt: &[u8; 16]) -> Result<String, Failure> {
        let salt =
            SaltString::encode_b64(salt).map_err(|e| Failure::unavailable(format!("salt: {e}")))?;
        self.argon2
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| Failure::unavailable(format!("hashing: {e}")))
    }
}

/// The account operations, beside the user operations they extend.
pub struct Accounts<'a, S: Store, P: Publisher> {
    users: Users<'a, S, P>,
    store: &'a S,
}

impl<'a, S: Store, P: Publisher> Accounts<'a, S, P> {
    pub fn new(store: &'a S, publisher: &'a P) -> Self {
        Self {
            users: Users::new(store, publisher),
            store,
        }
    }

    /// Creates the user `client_id` names on `channel`, with `password` and the id `wanted`
    /// (or `new_id()`). Two registrations of one name racing on different hosts may both
    /// succeed (wasi:keyvalue has no compare-and-swap); the later mapping wins.
    #[allow(clippy::too_many_arguments)]
    pub fn register(
        &self,
        policy: &PasswordPolicy,
        channel: &str,
        client_id: &str,
        password: &str,
        wanted: Option<&str>,
        now_ms: u64,
        salt: [u8; 16],
        new_id: impl FnOnce() -> String,
    ) -> Result<User, Failure> {
        check_password(password)?;
        if self.users.find_login(channel, client_id)?.is_some() {
            return Err(Failure::new(
                FailureCode::Exists,
                format!("{client_id:?} is taken"),
            ));
        }
        if let Some(id) = wanted {
            if !ids::is_valid_id(id) {
                return Err(Failure::invalid(format!(
                    "{id:?} cannot be a user id: use letters, digits, - and _"
                )));
            }
            // `server` signs the server's own messages and `everyone` is the server-wide feed:
            // no one may hold them.
            if ids::is_reserved(id) || self.users.get_user(id)?.is_some() {
                return Err(Failure::new(
                    FailureCode::Exists,
                    format!("{id:?} is taken"),
                ));
            }
        }
        let hash = policy.hash(password, &salt)?;
        let id = wanted.map(str::to_owned).unwrap_or_else(new_id);
        // The hash goes first: once the login mapping exists, the account must be usable.
        self.store.set(&keys::password(&id), hash.as_bytes())?;
        self.users.login(channel, client_id, now_ms, || id)
    }

    /// The user `client_id` names on `channel`, if `password` is theirs. Unknown names and
    /// wrong passwords fail the same way, so the answer does not tell which names exist.
    pub fn authenticate(
        &self,
        channel: &str,
        client_id: &str,
        password: &str,
    ) -> Result<User, Failure> {
        let bad = || Failure::new(FailureCode::BadCredentials, "wrong name or password");
        let user = self.users.find_login(channel, client_id)?.ok_or_else(bad)?;
        let Some(stored) = self.store.get(&keys::password(&user.id))? else {
            return Err(bad());
        };
        let stored = String::from_utf8(stored).map_err(|_| bad())?;
        let hash = PasswordHash::new(&stored)
            .map_err(|e| Failure::unavailable(format!("stored hash of {}: {e}", user.id)))?;
        // Verification follows the parameters recorded in the hash, whatever the policy now is.
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .map_err(|_| bad())?;
        Ok(user)
    }

    /// Records `token` (from the caller's randomness) as standing for `user`. The user's token
    /// list is written first, so deleting the user revokes every token that can resolve.
    pub fn issue_token(&self, user: &str, token: &str, now_ms: u64) -> Result<String, Failure> {
        if self.users.get_user(user)?.is_none() {
            return Err(unknown_user(user));
        }
        if !ids::is_valid_id(token) {
            return Err(Failure::invalid("a token is a valid id"));
        }
        LogSet::new(self.store, keys::user_tokens(user)).add(token, &now_ms)?;
        self.store.set(&keys::token(token), user.as_bytes())?;
        Ok(token.to_owned())
    }

    /// The user `token` stands for, if any.
    pub fn token_user(&self, token: &str) -> Result<Option<String>, Failure> {
        // Tokens we issue are subject-safe ids; anything else must not reach a key.
        if !ids::is_valid_id(token) {
            return Ok(None);
        }
        match self.store.get(&keys::token(token))? {
            None => Ok(None),
            Some(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| Failure::unavailable(format!("corrupt token record {token}"))),
        }
    }

    /// `user` refuses direct messages and signals from `target`; `false` if it already did.
    pub fn ban(&self, user: &str, target: &str) -> Result<bool, Failure> {
        let key = self.ban_key(user, target)?;
        if self.store.get(&key)?.is_some() {
            return Ok(false);
        }
        self.store.set(&key, b"1")?;
        Ok(true)
    }

    /// Lifts a ban; `false` if there was none.
    pub fn unban(&self, user: &str, target: &str) -> Result<bool, Failure> {
        let key = self.ban_key(user, target)?;
        if self.store.get(&key)?.is_none() {
            return Ok(false);
        }
        self.store.delete(&key)?;
        Ok(true)
    }

    fn ban_key(&self, user: &str, target: &str) -> Result<String, Failure> {
        for id in [user, target] {
            if self.users.get_user(id)?.is_none() {
                return Err(unknown_user(id));
            }
        }
        if user == target {
            return Err(Failure::invalid("a user cannot ban themselves"));
        }
        Ok(keys::ban(user, target))
    }
}

fn unknown_user(id: &str) -> Failure {
    Failure::new(FailureCode::UnknownUser, format!("no user {id:?}"))
}

fn check_password(password: &str) -> Result<(), Failure> {
    if password.is_empty() || password.len() > MAX_PASSWORD_BYTES {
        return Err(Failure::invalid(format!(
            "a password is 1 to {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
