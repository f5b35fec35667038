//! The operations of wcc's core actors a channel uses, as a trait.
//!
//! Channel cores are written against [`Backend`] so they run natively in tests on the real core
//! over an in-memory store (`crate::core`, feature `core`), and inside the component on the
//! imported `wcc:chat` interfaces. The types mirror the WIT records, minus what no channel has
//! needed yet (timestamps of rooms and users).

pub use wcc_interface::access::{Group, GroupChange};
pub use wcc_interface::Principal;
use wcc_interface::{Failure, StoredMessage};
pub use wcc_interface::{NewMessage, Reactions, ReadState, Signal, UserSignal};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: String,
    /// The profile JSON object as text, if one was ever set.
    pub profile: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Room {
    pub id: String,
    pub name: String,
    /// `text`, `voice`, or `direct` for the room named by a user's id.
    pub kind: String,
}

/// One member of a room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub user: String,
    /// Unix milliseconds.
    pub joined_at: u64,
}

/// A user with at least one live session, on any protocol (presence).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnlineUser {
    pub user: String,
    /// The protocols of the user's live sessions, sorted, distinct.
    pub channels: Vec<String>,
}

/// One live session of a user (presence).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSession {
    /// The connection id the gateway gave it.
    pub connection: String,
    /// The protocol it speaks.
    pub channel: String,
}

/// A condition on connection details for joining a room (actionhero's authentication pattern).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinRule {
    /// The connection detail, e.g. `type` or `authenticated`.
    pub key: String,
    /// The JSON value it must equal, as text (`"websocket"`, `true`).
    pub value: String,
}

pub trait Backend {
    // messages. The core decides every call that names an `actor` (`wcc-policy`); a message's
    // or signal's sender is its actor.
    fn process_message(&self, msg: NewMessage) -> Result<StoredMessage, Failure>;
    /// [`Backend::process_message`] for each, answered in order, with one call to the core: a
    /// run of one sender's messages to one room is stored with one store call (at most
    /// `wcc_interface::requests::MAX_MESSAGES_AT_ONCE`).
    fn process_messages(&self, msgs: Vec<NewMessage>) -> Vec<Result<StoredMessage, Failure>>;
    /// Up to `count` messages older than `before`, newest first.
    fn history(
        &self,
        actor: &Principal,
        room: &str,
        before: Option<u64>,
        count: u32,
    ) -> Result<Vec<StoredMessage>, Failure>;
    fn next_event_id(&self, actor: &Principal, room: &str) -> Result<u64, Failure>;
    /// The message with this id (a UUID), wherever it is, if `actor` may read it.
    fn get_message(&self, actor: &Principal, id: &str) -> Result<Option<StoredMessage>, Failure>;
    /// Publishes a signal after the same authorization a message gets.
    fn signal(&self, note: Signal) -> Result<(), Failure>;
    /// New content for a stored message; sender, id and time stay.
    fn edit_message(
        &self,
        actor: &Principal,
        room: &str,
        event_id: u64,
        content: &str,
    ) -> Result<StoredMessage, Failure>;
    /// Masks a stored message: content `{}`, type `message.removed`, no sender.
    fn remove_message(
        &self,
        actor: &Principal,
        room: &str,
        event_id: u64,
    ) -> Result<StoredMessage, Failure>;
    /// Masks every message `sender` wrote in the rooms they belong to; how many.
    fn remove_messages_by(&self, actor: &Principal, sender: &str) -> Result<u32, Failure>;
    /// A live-only note to every session of `signal.user`, wherever connected.
    fn signal_user(&self, signal: UserSignal) -> Result<(), Failure>;
    /// Adds (`add`) or withdraws `actor`'s `reaction` on message `event_id` of `room`; the
    /// message's reactions after the change. Publishes `Event::ReactionsChanged` when something
    /// changed. `denied` unless the actor is a user who may read and write the room
    /// (`wcc_policy::may_react`); `invalid` for no such message (or a removed one: the code
    /// edit-message uses, as there is no `not_found`), an empty reaction, one over 64 bytes or
    /// with control characters, or a 21st distinct reaction on one message.
    fn react(
        &self,
        actor: &Principal,
        room: &str,
        event_id: u64,
        reaction: &str,
        add: bool,
    ) -> Result<Reactions, Failure>;
    /// The reactions of those of `event_ids` that have any (for history pages), in the order
    /// asked; `denied` unless the actor may read the room.
    fn reactions(
        &self,
        actor: &Principal,
        room: &str,
        event_ids: &[u64],
    ) -> Result<Vec<(u64, Reactions)>, Failure>;
    /// Moves the user's read pointer in `room` forward to `event_id` (never back; `false` if it
    /// did not move). `denied` unless the user may read the room. Tells the user's sessions with
    /// a `Note::ReadPointer`.
    fn mark_read(&self, actor: &Principal, room: &str, event_id: u64) -> Result<bool, Failure>;
    /// For each of `rooms` the user may read: its read pointer (0: never read) and how many
    /// event ids came after it (`unread`). Rooms the user may not read are left out.
    fn read_state(&self, actor: &Principal, rooms: &[String]) -> Result<Vec<ReadState>, Failure>;

    // rooms
    /// Creates a room; `false` if it already existed.
    fn create_room(
        &self,
        actor: &Principal,
        id: &str,
        name: &str,
        kind: &str,
    ) -> Result<bool, Failure>;
    fn get_room(&self, id: &str) -> Result<Option<Room>, Failure>;
    /// Rooms `member` belongs to.
    fn query_rooms(&self, member: &str) -> Result<Vec<Room>, Failure>;
    /// Every room.
    fn all_rooms(&self) -> Result<Vec<Room>, Failure>;
    fn rename_room(&self, actor: &Principal, id: &str, name: &str) -> Result<Room, Failure>;
    fn delete_room(&self, actor: &Principal, id: &str) -> Result<(), Failure>;
    /// User ids of the members of `room`.
    fn query_members(&self, actor: &Principal, room: &str) -> Result<Vec<String>, Failure>;
    /// The members of `room` with when they joined.
    fn members(&self, actor: &Principal, room: &str) -> Result<Vec<Member>, Failure>;
    /// The condition a connection must meet to join `room`, if any.
    fn get_join_rule(&self, room: &str) -> Result<Option<JoinRule>, Failure>;
    /// `false` if already a member. `origin`: the connection asking, for protocols whose clients
    /// show their own entrance themselves (the event's envelope names it; see
    /// `NewMessage::origin`).
    fn join(
        &self,
        actor: &Principal,
        room: &str,
        user: &str,
        channel: &str,
        origin: Option<&str>,
    ) -> Result<bool, Failure>;
    /// `false` if not a member. `origin` as for [`Backend::join`].
    fn leave(
        &self,
        actor: &Principal,
        room: &str,
        user: &str,
        channel: &str,
        origin: Option<&str>,
    ) -> Result<bool, Failure>;
    /// What [`crate::Action::Subscribe`] carries: the core's signed permission for a connection of
    /// `actor` to hear `room`. The gateway subscribes on nothing else.
    fn grant_subscription(&self, actor: &Principal, room: &str) -> Result<String, Failure>;
    /// [`Backend::grant_subscription`] for each of `rooms`, in order, in one call that the core
    /// decides with one read (a sign-in that follows every room of its user): one answer per
    /// room, in order. The outer error refuses them all; an inner one refuses that room alone.
    fn grant_subscriptions(
        &self,
        actor: &Principal,
        rooms: &[String],
    ) -> Result<Vec<Result<String, Failure>>, Failure>;
    /// How often directory `part` (`users`, `rooms`, `groups`) has changed so far: a render that
    /// sees it move while it builds that list drops the list, as the later change's
    /// DirectoryChanged comes after and shows both.
    fn directory_version(&self, part: &str) -> Result<u64, Failure>;

    // users
    fn login(&self, channel: &str, client_id: &str) -> Result<User, Failure>;
    /// The guest of connection `connection_id` (id `guest-<connection id>`), made on first call:
    /// the user a connection that has not signed in acts as. It is in no directory, and it ends
    /// with the connection: its channel deletes it (`delete_user` as itself) on close, and the
    /// core does when the gateway reports the session over.
    fn guest(&self, connection_id: &str) -> Result<User, Failure>;
    fn get_user(&self, id: &str) -> Result<Option<User>, Failure>;
    fn get_users(&self, ids: &[String]) -> Result<Vec<User>, Failure>;
    fn set_profile(&self, actor: &Principal, id: &str, profile: &str) -> Result<User, Failure>;
    /// Every user, oldest first.
    fn list_users(&self) -> Result<Vec<User>, Failure>;
    /// `false` if there was no such user.
    fn delete_user(&self, actor: &Principal, id: &str) -> Result<bool, Failure>;
    /// The user `client_id` names on `channel`, if any; never creates one.
    fn find_login(&self, channel: &str, client_id: &str) -> Result<Option<User>, Failure>;
    /// A new user with a password; `id`: the user id wanted (`None`: a random one). `remote`:
    /// the client's address, for throttling.
    fn register(
        &self,
        channel: &str,
        client_id: &str,
        password: &str,
        id: Option<&str>,
        remote: &str,
    ) -> Result<User, Failure>;
    /// The user if the password is theirs; `bad_credentials` otherwise, `throttled` after
    /// too many failures.
    fn authenticate(
        &self,
        channel: &str,
        client_id: &str,
        password: &str,
        remote: &str,
    ) -> Result<User, Failure>;
    fn issue_token(&self, user: &str) -> Result<String, Failure>;
    /// The user a token stands for, unless it expired or was revoked.
    fn token_user(&self, token: &str) -> Result<Option<String>, Failure>;
    /// Ends one token; `false` if it was not valid.
    fn revoke_token(&self, token: &str) -> Result<bool, Failure>;
    /// A new password for the user `client_id` names, revoking all their tokens.
    fn change_password(
        &self,
        channel: &str,
        client_id: &str,
        old_password: &str,
        new_password: &str,
        remote: &str,
    ) -> Result<(), Failure>;
    /// `false` if `user` already banned `target`.
    fn ban(&self, user: &str, target: &str) -> Result<bool, Failure>;
    /// `false` if there was no ban.
    fn unban(&self, user: &str, target: &str) -> Result<bool, Failure>;

    // access: groups, permissions, invites
    fn list_groups(&self) -> Result<Vec<Group>, Failure>;
    /// `false` if it existed.
    fn create_group(&self, actor: &Principal, name: &str) -> Result<bool, Failure>;
    fn update_group(
        &self,
        actor: &Principal,
        name: &str,
        changes: &[GroupChange],
    ) -> Result<Group, Failure>;
    /// `false` if there was no such group.
    fn remove_group(&self, actor: &Principal, name: &str) -> Result<bool, Failure>;
    fn user_group(&self, user: &str) -> Result<Option<String>, Failure>;
    fn set_user_group(&self, actor: &Principal, user: &str, group: &str) -> Result<(), Failure>;
    /// The permissions of the user's group, sorted.
    fn permissions(&self, user: &str) -> Result<Vec<String>, Failure>;
    /// A single-use code, made by `actor`, putting whoever redeems it in `group`.
    fn create_invite(&self, actor: &Principal, group: &str) -> Result<String, Failure>;
    /// The group of an unused code, using it up.
    fn redeem_invite(&self, code: &str) -> Result<Option<String>, Failure>;
    /// `true` for the first caller ever, who becomes an administrator.
    fn claim_founder(&self, actor: &Principal, user: &str) -> Result<bool, Failure>;
    fn make_admin(&self, actor: &Principal, user: &str) -> Result<(), Failure>;

    // presence: who is connected, from the gateways' logins and logouts. A connection's own
    // login is published by the gateway once the call that signed it in has answered, and its
    // logout as it closes, so during those calls presence may not know of it yet or any more.
    /// Every user with a live session, on any protocol, sorted by user.
    fn online_users(&self) -> Result<Vec<OnlineUser>, Failure>;
    /// The live sessions of `user`, on any protocol, by connection id.
    fn user_sessions(&self, user: &str) -> Result<Vec<UserSession>, Failure>;

    // the channel's own surroundings
    /// A setting of this channel from wadm.yaml (`None` if unset).
    fn setting(&self, key: &str) -> Option<String>;
    /// Now, in unix milliseconds.
    fn now_ms(&self) -> u64;
}
