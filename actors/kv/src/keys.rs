//! Where each fact lives in the `wcc` bucket. Every actor that reads or writes a key builds it
//! here, so the layout is written down once.
//!
//! A [`crate::LogSet`] under prefix `p` keeps `p/seq`, `p/log/{n}` and `p/base`.

/// The bucket every core actor opens.
pub const BUCKET: &str = "wcc";

/// The bucket of sign-in throttling records ([`throttle`], [`throttle_count`]): the keyvalue
/// provider removes its entries an hour after their last write (`expiring_buckets` in
/// `wadm.yaml`), so a record per account name and address ever tried does not pile up.
pub const THROTTLE_BUCKET: &str = "wcc-throttle";

/// Room record (JSON).
pub fn room(room: &str) -> String {
    format!("room/{room}")
}

/// [`crate::LogSet`] of all room ids.
pub const ROOM_INDEX: &str = "rooms";

/// [`crate::LogSet`] of a room's members (value: joined-at millis).
pub fn room_members(room: &str) -> String {
    format!("room/{room}/members")
}

/// Present while `user` is a member of `room`: the one-read check the messages actor makes.
pub fn member_flag(room: &str, user: &str) -> String {
    format!("member/{room}/{user}")
}

/// Counter of a room's last event id.
pub fn room_seq(room: &str) -> String {
    format!("room/{room}/seq")
}

/// One persisted message of a room.
pub fn message(room: &str, event_id: u64) -> String {
    format!("{}{event_id}", message_numbered(room))
}

/// [`message`] without its event id, which [`crate::Store::append`] puts at the end.
pub fn message_numbered(room: &str) -> String {
    format!("room/{room}/msg/")
}

/// [`crate::LogSet`] of the reactions on one message: key `<user>/<reaction>` (user ids hold
/// no `/`), value `{"user", "reaction", "at"}`. Cleared when the message is removed.
pub fn message_reactions(room: &str, event_id: u64) -> String {
    format!("room/{room}/reactions/{event_id}")
}

/// [`crate::LogSet`] of `user`'s read pointers: key `<room>/<event id>`, value the event id.
/// A room may briefly hold several (concurrent marks); its pointer is the greatest, and each
/// mark removes the smaller ones it saw.
pub fn read_pointers(user: &str) -> String {
    format!("user/{user}/read")
}

/// User record (JSON).
pub fn user(user: &str) -> String {
    format!("user/{user}")
}

/// [`crate::LogSet`] of the rooms a user belongs to.
pub fn user_rooms(user: &str) -> String {
    format!("user/{user}/rooms")
}

/// The user id a protocol's client id maps to. Client ids are arbitrary strings; the keyvalue
/// provider escapes what JetStream KV keys cannot hold.
pub fn login(channel: &str, client_id: &str) -> String {
    format!("login/{channel}/{client_id}")
}

/// [`crate::LogSet`] of live sessions (key: connection id).
pub const PRESENCE_SESSIONS: &str = "presence/sessions";
/// Connections whose logout was recorded in the last minute, so that their login, delivered
/// late (by another host, or overtaken on this one), cannot bring the session back.
pub const PRESENCE_ENDED: &str = "presence/ended";

/// Where the message with id `id` (a UUID) is: `{"room", "event_id"}` JSON.
pub fn message_id(id: &str) -> String {
    format!("msgid/{id}")
}

/// A user's argon2id password hash (PHC string).
pub fn password(user: &str) -> String {
    format!("password/{user}")
}

/// A bearer token's record, `{"user", "expires_at", "epoch"}` JSON, keyed by the hex SHA-256
/// of the token: the token itself is never stored.
pub fn token(token_sha256: &str) -> String {
    format!("token/{token_sha256}")
}

/// Counter of `user`'s token epoch: a token recorded with another epoch is dead, so one
/// `increment` revokes every token of the user. Never deleted, not even with the user, so that
/// a later user of the same id does not revive the old tokens.
pub fn token_epoch(user: &str) -> String {
    format!("user/{user}/token-epoch")
}

/// Counter of the tokens ever issued to `user`: the next one takes ring slot
/// `count % MAX_TOKENS_PER_USER` (rooms actor, `accounts/tokens.rs`).
pub fn token_ring_next(user: &str) -> String {
    format!("user/{user}/token-ring")
}

/// Ring slot `slot` of `user`'s tokens: the hex SHA-256 of the token that holds it (its record
/// is [`token`]). Issuing a token into a taken slot ends the token that held it.
pub fn token_ring_slot(user: &str, slot: u64) -> String {
    format!("user/{user}/token-ring/{slot}")
}

/// [`crate::LogSet`] of the bearer tokens issued to `user` before tokens were hashed and had
/// epochs; only deleting the user still reads it, to erase them.
pub fn user_tokens(user: &str) -> String {
    format!("user/{user}/tokens")
}

/// Throttling record of one subject of password attempts: `{"base", "last_at"}` JSON. `kind` is
/// `account` (subject `<channel>/<client id>`), `address` (sign-in failures from one IP or IPv6
/// /64) or `register` (registrations from one address). In [`THROTTLE_BUCKET`], which forgets
/// it an hour after the last attempt; a record older than its kind's window counts as fresh.
pub fn throttle(kind: &str, subject: &str) -> String {
    format!("throttle/{kind}/{subject}")
}

/// Counter of the attempts ever counted against a throttled subject (see [`throttle`]); those
/// since the record's `base` are the ones that count now.
pub fn throttle_count(kind: &str, subject: &str) -> String {
    format!("throttle-count/{kind}/{subject}")
}

/// Present while `owner` bans `banned` from its direct room.
pub fn ban(owner: &str, banned: &str) -> String {
    format!("ban/{owner}/{banned}")
}

/// Present while an operator bans `user` from the whole server (`{"at": <unix ms>}` JSON):
/// every sign-in as `user` is refused. Outlives the user's deletion, so the id stays barred.
pub fn server_ban(user: &str) -> String {
    format!("banned/{user}")
}

/// A room's join rule (actionhero's authentication pattern): `{"key", "value"}` JSON, where
/// `value` is any JSON value. Absent when the room has none.
pub fn join_rule(room: &str) -> String {
    format!("room/{room}/join-rule")
}

/// [`crate::LogSet`] of every user id (value: created-at millis).
pub const USER_INDEX: &str = "users";

/// [`crate::LogSet`] of the login keys ([`login`]) that map to `user`, so deleting the user can
/// forget them.
pub fn user_logins(user: &str) -> String {
    format!("user/{user}/logins")
}

/// The name of the group `user` is in (plain text).
pub fn user_group(user: &str) -> String {
    format!("user/{user}/group")
}

/// A group record: `{"name", "permissions"}` JSON.
pub fn group(name: &str) -> String {
    format!("group/{name}")
}

/// [`crate::LogSet`] of every group name.
pub const GROUP_INDEX: &str = "groups";

/// An invite: `{"group", "by", "created_at"}` JSON.
pub fn invite(code: &str) -> String {
    format!("invite/{code}")
}

/// Counter of an invite's redemptions: the one that makes it 1 wins.
pub fn invite_uses(code: &str) -> String {
    format!("invite/{code}/uses")
}

/// Counter of founder claims: the one that makes it 1 is the founder.
pub const FOUNDER_CLAIMS: &str = "access/founder";

/// How often directory `part` (`users`, `rooms`, `groups`) has changed: an `increment` counter
/// (`rooms.directory-version`). The rooms actor moves it, and presence moves `users` when a
/// user goes online or offline; renders drop a list built while it moved.
pub fn directory_version(part: &str) -> String {
    format!("directory/{part}/version")
}
