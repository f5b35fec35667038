//! The real core, natively, behind [`crate::Backend`]: what channels' unit tests run on
//! (feature `core`).
//!
//! [`CoreBackend`] calls the messages, rooms and presence actors' own logic (the crates
//! `messages`, `rooms` and `presence`) over one in-memory store, as their components do over
//! JetStream KV. What the gateways publish on `wcc.events` (logins, logouts, heartbeats) has no
//! gateway here to publish it: a test tells the core with [`CoreBackend::session_started`],
//! [`CoreBackend::session_ended`] or [`CoreBackend::hear`], where the gateway would. Every decision
//! (who may read, join, write, edit or remove; size limits; accounts, passwords, tokens,
//! throttling; what is stored and published) is the core's, so a channel test proves something
//! about the product. The adapter supplies only what a component's host would: the store, a
//! publisher that records instead of sending, a clock the test sets, the channel's settings,
//! randomness, new users' ids (named after their client id where it can, for readable tests)
//! and the grant key. Its one behaviour of its own is failure injection
//! ([`CoreBackend::fail`]), checked before a call is handed to the core.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use argon2::Params;
use messages::Limits;
use rooms::operator::ADMIN_CHANNEL;
use rooms::{Access, Accounts, Administration, PasswordPolicy, Rooms, Users};
use wcc_interface::grant::{self, Refused};
use wcc_interface::notes::{self, Recipient};
use wcc_interface::{ids, Envelope, Event, Failure, FailureCode, Note, StoredMessage};
use wcc_kv::MemoryStore;

use crate::backend::{Principal, Signal, UserSignal};
use crate::session::Action;
use crate::user_cache::UserCache;

/// The key grants are signed with here (the rooms actor's and gateways' `subscription_key`).
pub const GRANT_KEY: &[u8] = b"channel unit tests' grant key";

/// Where the clock starts: a plausible present, so times in messages and tokens look real.
pub const START_MS: u64 = 1_700_000_000_000;

/// The login channel of users made by [`CoreBackend::add_user`].
pub const TEST_CHANNEL: &str = "test";

/// Remembers every publish of the core as (subject, body).
#[derive(Default)]
struct Recorder {
    sent: RefCell<Vec<(String, Vec<u8>)>>,
}

impl Recorder {
    fn record(&self, subject: &str, body: &[u8]) -> Result<(), Failure> {
        self.sent
            .borrow_mut()
            .push((subject.to_owned(), body.to_vec()));
        Ok(())
    }
}

/// The one publisher trait the messages, rooms and presence actors share.
impl messages::Publisher for Recorder {
    fn publish(&self, subject: &str, body: &[u8]) -> Result<(), Failure> {
        self.record(subject, body)
    }
}

/// Something another client does while a call is under way ([`CoreBackend::meanwhile`]).
type Meanwhile = Box<dyn FnOnce(&CoreBackend)>;

/// The messages, rooms and presence actors over one [`MemoryStore`].
pub struct CoreBackend {
    store: MemoryStore,
    recorder: Recorder,
    /// Real argon2id, with the cheapest parameters: tests must not wait on 19 MiB hashes.
    passwords: PasswordPolicy,
    /// Operation name -> the failure it returns.
    failing: RefCell<BTreeMap<&'static str, Failure>>,
    /// Operation name -> what happens elsewhere, once, right before its next call.
    meanwhile: RefCell<BTreeMap<&'static str, Meanwhile>>,
    /// Operation name -> how many times it was called.
    calls: RefCell<BTreeMap<&'static str, usize>>,
    settings: RefCell<BTreeMap<String, String>>,
    now_ms: Cell<u64>,
    /// Users looked up so far, when this backend stands for a render call's imports
    /// ([`CoreBackend::remembering_users`]).
    users_seen: Option<UserCache>,
}

impl Default for CoreBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl CoreBackend {
    pub fn new() -> Self {
        let cheapest = Params::new(Params::MIN_M_COST, 1, 1, None).expect("valid argon2 params");
        Self {
            store: MemoryStore::new(),
            recorder: Recorder::default(),
            passwords: PasswordPolicy::with_params(cheapest),
            failing: RefCell::default(),
            meanwhile: RefCell::default(),
            calls: RefCell::default(),
            settings: RefCell::default(),
            now_ms: Cell::new(START_MS),
            users_seen: None,
        }
    }

    /// This backend as a render call's imports are: users it looked up are remembered for the
    /// rest of its life, and only lookups of users not seen yet reach the core (and
    /// [`Self::calls`]).
    pub fn remembering_users(self) -> Self {
        Self {
            users_seen: Some(UserCache::default()),
            ..self
        }
    }

    fn rooms(&self) -> Rooms<'_, MemoryStore, Recorder> {
        Rooms::new(&self.store, &self.recorder)
    }

    fn users(&self) -> Users<'_, MemoryStore, Recorder> {
        Users::new(&self.store, &self.recorder)
    }

    fn accounts(&self) -> Accounts<'_, MemoryStore, Recorder> {
        Accounts::new(&self.store, &self.recorder)
    }

    fn access(&self) -> Access<'_, MemoryStore, Recorder> {
        Access::new(&self.store, &self.recorder)
    }

    fn administration<'a>(
        &'a self,
        actor: &'a Principal,
    ) -> Administration<'a, MemoryStore, Recorder> {
        Administration::new(&self.store, &self.recorder, actor)
    }

    fn now(&self) -> u64 {
        self.now_ms.get()
    }

    fn check(&self, op: &'static str) -> Result<(), Failure> {
        *self.calls.borrow_mut().entry(op).or_default() += 1;
        // Taken out before it runs: it may call the backend itself.
        let meanwhile = self.meanwhile.borrow_mut().remove(op);
        if let Some(meanwhile) = meanwhile {
            meanwhile(self);
        }
        match self.failing.borrow().get(op) {
            Some(failure) => Err(failure.clone()),
            None => Ok(()),
        }
    }

    /// The id a new user gets. The rooms component draws a random UUID; here a user is named
    /// after its client id when that is a valid id no user or room has yet, so tests read
    /// `alice` rather than a UUID, and a UUID otherwise.
    fn new_user_id(&self, client_id: &str) -> String {
        let free = ids::is_valid_id(client_id)
            && !ids::is_reserved(client_id)
            && matches!(self.users().get_user(client_id), Ok(None))
            && matches!(self.rooms().get_room(client_id), Ok(None));
        if free {
            client_id.to_owned()
        } else {
            rooms::users::new_user_id()
        }
    }

    // Setting the scene, as the core's own operations do it.

    /// Creates the user `id` (with its direct room), as if it had signed in once on
    /// [`TEST_CHANNEL`], and gives it `profile` (a JSON object) if one is given.
    pub fn add_user(&self, id: &str, profile: Option<&str>) {
        assert!(
            self.new_user_id(id) == id,
            "add_user: {id:?} is taken or no valid id"
        );
        let user = self
            .users()
            .login(TEST_CHANNEL, id, self.now(), || id.into());
        assert_eq!(user.expect("add_user").id, id);
        if let Some(profile) = profile {
            self.users().set_profile(id, profile).expect("add_user");
        }
    }

    /// Creates a shared room named `Room <id>` (`text`, `voice` or `private`; direct rooms come
    /// with their users).
    pub fn add_room(&self, id: &str, kind: &str) {
        let created = self
            .rooms()
            .create_shared_room(id, &format!("Room {id}"), kind, self.now());
        assert!(created.expect("add_room"), "add_room: {id} exists");
    }

    /// Makes `user` a member of `room`, as the operator would.
    pub fn add_member(&self, room: &str, user: &str) {
        self.rooms()
            .join_as(
                &Principal::Operator,
                room,
                user,
                ADMIN_CHANNEL,
                None,
                self.now(),
            )
            .expect("add_member");
    }

    /// Ends `user`'s membership of `room` behind the channel's back, as the operator would.
    pub fn remove_member(&self, room: &str, user: &str) {
        self.rooms()
            .leave_as(
                &Principal::Operator,
                room,
                user,
                ADMIN_CHANNEL,
                None,
                self.now(),
            )
            .expect("remove_member");
    }

    /// Sets the room's join rule, as an operator would; `value` is JSON text.
    pub fn set_join_rule(&self, room: &str, key: &str, value: &str) {
        let rule = rooms::JoinRule::from_text(key, value).expect("set_join_rule");
        self.rooms()
            .set_join_rule(room, Some(&rule))
            .expect("set_join_rule");
    }

    /// Makes operation `op` (the [`crate::Backend`] method's name) fail with `code` from now on.
    pub fn fail(&self, op: &'static str, code: FailureCode) {
        let failure = Failure::new(code, format!("{op} failed"));
        self.failing.borrow_mut().insert(op, failure);
    }

    /// How many times operation `op` (the [`crate::Backend`] method's name) has been called: what
    /// a render or handler costs the core, in calls.
    pub fn calls(&self, op: &str) -> usize {
        self.calls.borrow().get(op).copied().unwrap_or(0)
    }

    /// Runs `then` (another client's doing, on this backend) right before the next call of
    /// operation `op`, once: for what a channel must cope with changing under it.
    pub fn meanwhile(&self, op: &'static str, then: impl FnOnce(&CoreBackend) + 'static) {
        self.meanwhile.borrow_mut().insert(op, Box::new(then));
    }

    /// The gateway's UserLoggedIn for `user`'s session on `connection` (a call's answer signed
    /// the connection in), from a gateway without heartbeats, so the session lasts until
    /// [`Self::session_ended`].
    pub fn session_started(&self, user: &str, channel: &str, connection: &str) {
        self.hear(Event::UserLoggedIn {
            user: user.into(),
            channel: channel.into(),
            connection: connection.into(),
            gateway: String::new(),
        });
    }

    /// The gateway's UserLoggedOut for `user`'s session on `connection` (a close, a sign-in as
    /// someone else, or presence ending the sessions of a gateway that died).
    pub fn session_ended(&self, user: &str, channel: &str, connection: &str) {
        self.hear(Event::UserLoggedOut {
            user: user.into(),
            channel: channel.into(),
            connection: connection.into(),
        });
    }

    /// An event on `wcc.events` (a login, a logout, a gateway's heartbeat) as presence and the
    /// rooms actor hear it, now. What presence publishes in turn (a dead gateway's logouts, a
    /// change of who is online) is recorded like everything the core publishes, and not heard
    /// again.
    pub fn hear(&self, event: Event) {
        let body = Envelope::new(event, self.now()).to_json();
        presence::handle_event(&self.store, &self.recorder, body.as_bytes(), &|| self.now())
            .expect("presence handles the event");
        self.users()
            .on_event(body.as_bytes(), self.now())
            .expect("the rooms actor handles the event");
    }

    pub fn set_setting(&self, key: &str, value: &str) {
        self.settings.borrow_mut().insert(key.into(), value.into());
    }

    pub fn set_now(&self, now_ms: u64) {
        self.now_ms.set(now_ms);
    }

    /// The bounds the messages actor applies here: its defaults, as a deployment without
    /// `max_message_bytes` has them.
    pub fn limits(&self) -> Limits {
        Limits::default()
    }

    // Looking at the outcome.

    /// Every key in the store, sorted: what the core keeps, for tests that it keeps no more.
    pub fn store_keys(&self) -> Vec<String> {
        self.store.keys()
    }

    pub fn is_member(&self, room: &str, user: &str) -> bool {
        self.rooms().is_member(room, user).expect("is_member")
    }

    /// The stored messages of `room`, oldest first, as the server reads them (none for a room
    /// that does not exist).
    pub fn messages(&self, room: &str) -> Vec<StoredMessage> {
        let mut all = Vec::new();
        let mut before = None;
        loop {
            let count = messages::MAX_HISTORY_COUNT;
            let page = messages::history(&self.store, &Principal::Server, room, before, count);
            let page = match page {
                Ok(page) if !page.is_empty() => page,
                _ => break,
            };
            before = page.last().map(|m| m.event_id);
            all.extend(page);
        }
        all.reverse();
        all
    }

    /// Every room event and global event the core published, with its subject, oldest first.
    pub fn events(&self) -> Vec<(String, Event)> {
        let sent = self.recorder.sent.borrow();
        sent.iter()
            .filter(|(subject, _)| !subject.starts_with(notes::SUBJECT_PREFIX))
            .filter_map(|(subject, body)| Some((subject.clone(), Envelope::parse(body)?.event)))
            .collect()
    }

    /// Every note the core published (to a user's or a connection's sessions), oldest first.
    pub fn notes(&self) -> Vec<(Recipient, Note)> {
        let sent = self.recorder.sent.borrow();
        sent.iter()
            .filter_map(|(subject, body)| {
                let note = Note::parse(std::str::from_utf8(body).ok()?)?;
                Some((Recipient::from_subject(subject)?, note))
            })
            .collect()
    }

    /// Signals published to rooms (and the `everyone` feed), oldest first.
    pub fn signals(&self) -> Vec<Signal> {
        self.events()
            .into_iter()
            .filter_map(|(_, event)| match event {
                Event::Signal {
                    room,
                    sender,
                    channel,
                    kind,
                    content,
                } => Some(Signal {
                    room,
                    sender,
                    channel,
                    kind,
                    content: content.to_string(),
                }),
                _ => None,
            })
            .collect()
    }

    /// Signals to single users published so far, oldest first.
    pub fn user_signals(&self) -> Vec<UserSignal> {
        self.notes()
            .into_iter()
            .filter_map(|(to, note)| match (to, note) {
                (
                    Recipient::User(user),
                    Note::Signal {
                        sender,
                        channel,
                        kind,
                        content,
                    },
                ) => Some(UserSignal {
                    sender,
                    user,
                    channel,
                    kind,
                    content: content.to_string(),
                }),
                _ => None,
            })
            .collect()
    }

    /// Membership changes the core published, as `join <room> <user>` / `leave <room> <user>`,
    /// including the join of each new user to its direct room.
    pub fn log(&self) -> Vec<String> {
        self.events()
            .into_iter()
            .filter_map(|(_, event)| match event {
                Event::UserJoined { room, user, .. } => Some(format!("join {room} {user}")),
                Event::UserLeft { room, user, .. } => Some(format!("leave {room} {user}")),
                _ => None,
            })
            .collect()
    }

    /// The room a subscription grant lets `session_user` hear, if the gateway would accept it
    /// now.
    pub fn granted_room(&self, grant: &str, session_user: Option<&str>) -> Result<String, Refused> {
        grant::verify(GRANT_KEY, grant, session_user, self.now()).map(|g| g.room)
    }

    /// What the `Subscribe` actions among `actions` let a connection of `session_user` hear, in
    /// order: the room of each grant, or why the gateway would refuse it.
    pub fn subscribed(&self, actions: &[Action], session_user: Option<&str>) -> Vec<String> {
        actions
            .iter()
            .filter_map(|action| match action {
                Action::Subscribe(grant) => Some(
                    self.granted_room(grant, session_user)
                        .unwrap_or_else(|refused| format!("<refused: {refused}>")),
                ),
                _ => None,
            })
            .collect()
    }
}

/// The JSON frames (or lines) `outcome` sends, in order: what a client of a JSON protocol reads.
pub fn sent_json(outcome: &crate::session::Outcome) -> Vec<serde_json::Value> {
    outcome
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(text) => Some(serde_json::from_str(text).expect("a JSON frame")),
            _ => None,
        })
        .collect()
}

mod delegate;
#[cfg(test)]
mod tests;
