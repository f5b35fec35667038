//! Accounts: users who sign in with a name and password, bearer tokens, and bans (one user's of
//! another, and an operator's of a user from the whole server: [`server_ban`]).
//!
//! Logins through `users::login` trust the protocol's client id; protocols with real sign-in
//! (Cadmium, Rebuttal) register a password with the same (channel, client id) mapping instead.
//! Passwords are kept only as argon2id PHC strings, and never logged. Every password attempt is
//! throttled per account and per address before anything is hashed ([`throttle`]); bearer tokens
//! are stored hashed and expire ([`tokens`]).

pub mod server_ban;
mod throttle;
mod tokens;

use std::cell::Cell;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use wcc_interface::{ids, Failure, FailureCode};
use wcc_kv::{keys, Store};

use crate::model::User;
use crate::users::{check_login_args, Users};
use crate::Publisher;

pub use throttle::{
    account_subject, address_subject, Rule, ACCOUNT, ADDRESS, FIRST_DELAY_MS, MAX_DELAY_MS,
    REGISTER,
};
pub use tokens::{
    erase_token_ring, new_salt, new_token, revoke_all_tokens, token_ttl_secs,
    DEFAULT_TOKEN_TTL_SECS, MAX_TOKENS_PER_USER, TOKEN_BYTES,
};

/// Longest password accepted, in bytes: hashing cost must not be the client's to choose.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Shortest new password, in characters (not bytes).
pub const MIN_PASSWORD_CHARS: usize = 8;

/// How passwords are hashed. The default is argon2id with the RFC 9106 "second recommended"
/// memory cost (19 MiB, 2 passes); tests use the cheapest parameters instead.
pub struct PasswordPolicy {
    argon2: Argon2<'static>,
    /// Hashes computed (new hashes and verifications): the expensive work a throttle must spare.
    hashes: Cell<u32>,
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
            hashes: Cell::new(0),
        }
    }

    /// How many hashes this policy has computed.
    pub fn hashes(&self) -> u32 {
        self.hashes.get()
    }

    /// The PHC string of `password` with `salt` (16 random bytes).
    fn hash(&self, password: &str, salt: &[u8; 16]) -> Result<String, Failure> {
        let salt =
            SaltString::encode_b64(salt).map_err(|e| Failure::unavailable(format!("salt: {e}")))?;
        self.hashes.set(self.hashes.get() + 1);
        self.argon2
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| Failure::unavailable(format!("hashing: {e}")))
    }

    /// Whether `password` matches `stored` (a PHC string). Verification follows the parameters
    /// recorded in the hash, whatever the policy now is.
    fn verify(&self, password: &str, stored: &PasswordHash<'_>) -> bool {
        self.hashes.set(self.hashes.get() + 1);
        Argon2::default()
            .verify_password(password.as_bytes(), stored)
            .is_ok()
    }
}

/// Who is trying to sign in, and from where.
#[derive(Debug, Clone, Copy)]
pub struct Credentials<'r> {
    pub channel: &'r str,
    pub client_id: &'r str,
    pub password: &'r str,
    /// The client's address as the gateway saw it (`ip:port`), for throttling.
    pub remote: &'r str,
}

impl Credentials<'_> {
    fn account(&self) -> (&'static Rule, String) {
        (&ACCOUNT, account_subject(self.channel, self.client_id))
    }

    fn address(&self, rule: &'static Rule) -> (&'static Rule, String) {
        (rule, address_subject(self.remote))
    }
}

/// The account operations, beside the user operations they extend.
pub struct Accounts<'a, S: Store, P: Publisher> {
    users: Users<'a, S, P>,
    store: &'a S,
    /// Where throttling records go: the component gives the expiring bucket
    /// (`keys::THROTTLE_BUCKET`); otherwise `store`.
    throttles: &'a S,
}

impl<'a, S: Store, P: Publisher> Accounts<'a, S, P> {
    pub fn new(store: &'a S, publisher: &'a P) -> Self {
        Self {
            users: Users::new(store, publisher),
            store,
            throttles: store,
        }
    }

    /// The same, with throttling records kept in `throttles`.
    pub fn with_throttles_in(self, throttles: &'a S) -> Self {
        Self { throttles, ..self }
    }

    /// Creates the user `who.client_id` names on `who.channel`, with `who.password` and the id
    /// `wanted` (or `new_id()`). Throttled per account and per address (every registration
    /// counts there). An id is taken if it names a user, a room of any kind, or is reserved.
    /// Two registrations of one name racing on different hosts may both pass the checks
    /// (wasi:keyvalue has no compare-and-swap); they are made again right before writing.
    pub fn register(
        &self,
        policy: &PasswordPolicy,
        who: &Credentials<'_>,
        wanted: Option<&str>,
        now_ms: u64,
        salt: [u8; 16],
        new_id: impl FnOnce() -> String,
    ) -> Result<User, Failure> {
        check_new_password(who.password)?;
        if let Some(id) = wanted {
            if !ids::is_valid_id(id) {
                return Err(Failure::invalid(format!(
                    "{id:?} cannot be a user id: use letters, digits, - and _"
                )));
            }
        }
        check_login_args(who.channel, who.client_id)?;
        let attempt = throttle::begin(
            self.throttles,
            &[who.account(), who.address(&REGISTER)],
            now_ms,
        )?;
        // A banned id stays barred after its user is deleted; a generated id is new.
        if let Some(id) = wanted {
            server_ban::refuse_banned(self.store, id)?;
        }
        self.check_free(who, wanted)?;
        let hash = policy.hash(who.password, &salt)?;
        // Hashing took a while; someone may have taken the name meanwhile.
        self.check_free(who, wanted)?;
        let id = wanted.map(str::to_owned).unwrap_or_else(new_id);
        // The hash goes first: once the login mapping exists, the account must be usable.
        self.store.set(&keys::password(&id), hash.as_bytes())?;
        let user = self.users.create(who.channel, who.client_id, &id, now_ms)?;
        attempt.succeeded(self.throttles, now_ms);
        Ok(user)
    }

    /// The user `who.client_id` names on `who.channel`, if `who.password` is theirs. Unknown
    /// names and wrong passwords fail the same way, so the answer does not tell which names
    /// exist. Throttled per account and per address; a success resets both. A user an operator
    /// banned is refused (`suspended`), but only once the password is right: the refusal tells no
    /// one else that the name exists.
    pub fn authenticate(
        &self,
        policy: &PasswordPolicy,
        who: &Credentials<'_>,
        now_ms: u64,
    ) -> Result<User, Failure> {
        if check_login_args(who.channel, who.client_id).is_err() {
            return Err(bad_credentials());
        }
        let attempt = throttle::begin(
            self.throttles,
            &[who.account(), who.address(&ADDRESS)],
            now_ms,
        )?;
        let user = self.verify(policy, who)?;
        attempt.succeeded(self.throttles, now_ms);
        server_ban::refuse_banned(self.store, &user.id)?;
        Ok(user)
    }

    /// Replaces the password of the user `who` names, if `who.password` is theirs, and revokes
    /// every token of the user. Throttled as [`Self::authenticate`], with which it shares counts.
    pub fn change_password(
        &self,
        policy: &PasswordPolicy,
        who: &Credentials<'_>,
        new_password: &str,
        now_ms: u64,
        salt: [u8; 16],
    ) -> Result<(), Failure> {
        check_new_password(new_password)?;
        if check_login_args(who.channel, who.client_id).is_err() {
            return Err(bad_credentials());
        }
        let attempt = throttle::begin(
            self.throttles,
            &[who.account(), who.address(&ADDRESS)],
            now_ms,
        )?;
        let user = self.verify(policy, who)?;
        let hash = policy.hash(new_password, &salt)?;
        // Tokens end first: a failure in between leaves the old password without tokens, never
        // the new password beside tokens that should have ended.
        revoke_all_tokens(self.store, &user.id)?;
        self.store.set(&keys::password(&user.id), hash.as_bytes())?;
        attempt.succeeded(self.throttles, now_ms);
        Ok(())
    }

    /// `exists` if the name, or the wanted id, is taken.
    fn check_free(&self, who: &Credentials<'_>, wanted: Option<&str>) -> Result<(), Failure> {
        let taken = |what: &str| Failure::new(FailureCode::Exists, format!("{what:?} is taken"));
        if self.users.find_login(who.channel, who.client_id)?.is_some() {
            return Err(taken(who.client_id));
        }
        if let Some(id) = wanted {
            // `server` signs the server's own messages and `everyone` is the server-wide feed; a
            // room's id would make the user's direct room someone else's room.
            if ids::is_reserved(id)
                || self.users.get_user(id)?.is_some()
                || self.users.rooms().get_room(id)?.is_some()
            {
                return Err(taken(id));
            }
        }
        Ok(())
    }

    /// The user `who` names if the password is theirs; hashes only for a known user.
    fn verify(&self, policy: &PasswordPolicy, who: &Credentials<'_>) -> Result<User, Failure> {
        if who.password.is_empty() || who.password.len() > MAX_PASSWORD_BYTES {
            return Err(bad_credentials());
        }
        let user = self
            .users
            .find_login(who.channel, who.client_id)?
            .ok_or_else(bad_credentials)?;
        let Some(stored) = self.store.get(&keys::password(&user.id))? else {
            return Err(bad_credentials());
        };
        let stored = String::from_utf8(stored).map_err(|_| bad_credentials())?;
        let hash = PasswordHash::new(&stored)
            .map_err(|e| Failure::unavailable(format!("stored hash of {}: {e}", user.id)))?;
        if !policy.verify(who.password, &hash) {
            return Err(bad_credentials());
        }
        Ok(user)
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
            match self.users.get_user(id)? {
                None => return Err(unknown_user(id)),
                // A guest has no direct room to keep anyone out of, cannot write to one, and
                // ends with its connection: a ban would only outlive it.
                Some(found) if found.guest => {
                    return Err(Failure::invalid("guests neither ban nor are banned"));
                }
                Some(_) => {}
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

fn bad_credentials() -> Failure {
    Failure::new(FailureCode::BadCredentials, "wrong name or password")
}

/// A new password: at least [`MIN_PASSWORD_CHARS`] characters, at most [`MAX_PASSWORD_BYTES`].
fn check_new_password(password: &str) -> Result<(), Failure> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Failure::invalid(format!(
            "a password needs at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Failure::invalid(format!(
            "a password is at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
