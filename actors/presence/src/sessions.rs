//! Sessions: recording logins and logouts, and answering who is online.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use wcc_interface::{ids, Failure};
use wcc_kv::{keys, LogSet, Store};

use crate::gateways;

/// One live connection of a user, stored under its connection id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub user: String,
    /// The protocol the connection speaks (`venueless`, ...).
    pub channel: String,
    /// Unix milliseconds when this actor recorded the login.
    pub since: u64,
    /// The gateway holding the connection, whose heartbeats keep the session alive. Empty for
    /// sessions of gateways without heartbeats (and those recorded before there were any):
    /// they end only with their logout.
    #[serde(default)]
    pub gateway: String,
}

/// A user with at least one live session (the WIT `online-user`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnlineUser {
    pub user: String,
    /// Sorted, distinct.
    pub channels: Vec<String>,
}

pub(crate) fn sessions<S: Store>(store: &S) -> LogSet<'_, S> {
    LogSet::new(store, keys::PRESENCE_SESSIONS)
}

/// Logouts recorded in the last [`ENDED_KEPT_MS`], by connection: the value is when.
///
/// Events are handled concurrently, and with several hosts a login and its logout may be
/// handled by different hosts: a login handled after its own logout would otherwise record a
/// session that no event ever ends while its gateway lives. Connection ids are never reused,
/// so a login of a connection in this set is stale and ignored.
pub(crate) fn ended<S: Store>(store: &S) -> LogSet<'_, S> {
    LogSet::new(store, keys::PRESENCE_ENDED)
}

/// How long a logout is remembered: far longer than any two events of one connection can be
/// reordered (each is handled within the host's 15 s cap on a call).
pub const ENDED_KEPT_MS: u64 = 60_000;

/// Records the session of `connection` (again, if the login is delivered twice). A login from a
/// gateway this actor does not know (yet, or any more) makes it known, so that its silence ends
/// this session too.
///
/// Returns whether this made the user online, the change the directory shows (guests are on no
/// list and change none). Presence is read before the session is stored, so two first logins of
/// one user at the same instant both say so (one list too many, never one too few); and, when the
/// user was online already, read again after, for a logout of the user's other session handled
/// meanwhile, which found this one not yet stored and announced the user offline.
pub fn login<S: Store>(store: &S, connection: &str, session: &Session) -> Result<bool, Failure> {
    let now = session.since;
    let before = Snapshot::read(store, now, Some(&session.gateway))?;
    sessions(store).add(connection, session, now)?;
    if !session.gateway.is_empty() {
        gateways::vouch(store, &session.gateway, now)?;
    }
    if ids::is_guest(&session.user) || !before.counts(connection, session) {
        return Ok(false);
    }
    if !before.is_online_besides(&session.user, connection) {
        return Ok(true);
    }
    let after = Snapshot::read(store, now, None)?;
    Ok(!after.is_online_besides(&session.user, connection))
}

/// Ends the session of `connection`, if there is one, and remembers that it ended.
///
/// Returns whether this made its user offline. The logout is remembered before presence is
/// read, so of two logouts of a user's last sessions at the same instant the later reader sees
/// both ended and says so. A logout of a session never recorded (delivered twice, or the
/// sweeper's own, heard back after it removed the session) changes nothing.
pub fn logout<S: Store>(store: &S, connection: &str, now_ms: u64) -> Result<bool, Failure> {
    ended(store).add(connection, &now_ms, now_ms)?;
    let after = Snapshot::read(store, now_ms, None)?;
    let Some(session) = after.recorded.get(connection) else {
        return Ok(false);
    };
    sessions(store).remove(connection, now_ms)?;
    Ok(!ids::is_guest(&session.user) && !after.is_online_besides(&session.user, connection))
}

/// Forgets logouts older than [`ENDED_KEPT_MS`], removing again any session a stale login
/// recorded after them. Heartbeats call this, so the set holds about a minute of logouts.
pub fn forget_old_logouts<S: Store>(store: &S, now_ms: u64) -> Result<(), Failure> {
    let ended = ended(store);
    let old: Vec<String> = ended
        .entries::<u64>()?
        .into_iter()
        .filter(|(_, at)| now_ms.saturating_sub(*at) > ENDED_KEPT_MS)
        .map(|(connection, _)| connection)
        .collect();
    if old.is_empty() {
        return Ok(());
    }
    let recorded = sessions(store).entries::<Session>()?;
    for connection in old {
        if recorded.contains_key(&connection) {
            sessions(store).remove(&connection, now_ms)?;
        }
        ended.remove(&connection, now_ms)?;
    }
    Ok(())
}

/// What presence holds at one moment, and which of it counts as live.
pub(crate) struct Snapshot {
    /// Every recorded session, by connection.
    recorded: BTreeMap<String, Session>,
    /// Connections whose logout was recorded lately.
    ended: BTreeMap<String, u64>,
    /// Gateways overdue for their heartbeat.
    overdue: BTreeSet<String>,
}

impl Snapshot {
    /// Reads the sessions, the recent logouts and the heartbeats of the gateways holding
    /// sessions (and of `also`, a gateway about to hold one).
    pub(crate) fn read<S: Store>(
        store: &S,
        now_ms: u64,
        also: Option<&str>,
    ) -> Result<Self, Failure> {
        let mut read = LogSet::read_together(&[&sessions(store), &ended(store)])?.into_iter();
        let recorded: BTreeMap<String, Session> = read.next().unwrap_or_default().entries();
        let ended: BTreeMap<String, u64> = read.next().unwrap_or_default().entries();
        let holders: BTreeSet<&str> = recorded
            .values()
            .map(|session| session.gateway.as_str())
            .chain(also)
            .filter(|gateway| !gateway.is_empty())
            .collect();
        let overdue = gateways::overdue(store, holders, now_ms)?;
        Ok(Self {
            recorded,
            ended,
            overdue,
        })
    }

    /// Whether `session` of `connection` counts as live: its logout was not seen, and its
    /// gateway is not overdue (its sweep may not have run yet, or cannot: no gateway is left to
    /// drive it).
    pub(crate) fn counts(&self, connection: &str, session: &Session) -> bool {
        !self.ended.contains_key(connection) && !self.overdue.contains(&session.gateway)
    }

    /// Whether `user` has a live session other than the one of `connection`.
    pub(crate) fn is_online_besides(&self, user: &str, connection: &str) -> bool {
        self.recorded.iter().any(|(other, session)| {
            other != connection && session.user == user && self.counts(other, session)
        })
    }

    /// The live sessions, by connection.
    fn live(mut self) -> BTreeMap<String, Session> {
        let recorded = std::mem::take(&mut self.recorded);
        recorded
            .into_iter()
            .filter(|(connection, session)| self.counts(connection, session))
            .collect()
    }
}

/// Every session that counts as live at `now_ms`.
fn live_sessions<S: Store>(store: &S, now_ms: u64) -> Result<BTreeMap<String, Session>, Failure> {
    Ok(Snapshot::read(store, now_ms, None)?.live())
}

/// Whether any of `users` has no live session at `now_ms` (a sweep's check).
pub(crate) fn any_offline<S: Store>(
    store: &S,
    users: &BTreeSet<String>,
    now_ms: u64,
) -> Result<bool, Failure> {
    if users.is_empty() {
        return Ok(false);
    }
    let live = live_sessions(store, now_ms)?;
    let online: BTreeSet<&str> = live.values().map(|s| s.user.as_str()).collect();
    Ok(users.iter().any(|user| !online.contains(user.as_str())))
}

/// Every online user with the channels they are connected on, sorted by user.
pub fn online_users<S: Store>(store: &S, now_ms: u64) -> Result<Vec<OnlineUser>, Failure> {
    let mut by_user: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for session in live_sessions(store, now_ms)?.into_values() {
        by_user
            .entry(session.user)
            .or_default()
            .insert(session.channel);
    }
    Ok(by_user
        .into_iter()
        .map(|(user, channels)| OnlineUser {
            user,
            channels: channels.into_iter().collect(),
        })
        .collect())
}

/// Whether `user` has any live session at `now_ms`.
pub fn is_online<S: Store>(store: &S, user: &str, now_ms: u64) -> Result<bool, Failure> {
    let live = live_sessions(store, now_ms)?;
    Ok(live.values().any(|session| session.user == user))
}

/// One live session of a user (the WIT `user-session`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSession {
    pub connection: String,
    /// The protocol it speaks.
    pub channel: String,
}

/// The live sessions of `user` at `now_ms`, on any protocol, by connection id.
pub fn user_sessions<S: Store>(
    store: &S,
    user: &str,
    now_ms: u64,
) -> Result<Vec<UserSession>, Failure> {
    Ok(live_sessions(store, now_ms)?
        .into_iter()
        .filter(|(_, session)| session.user == user)
        .map(|(connection, session)| UserSession {
            connection,
            channel: session.channel,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{handle_event, test_support::Recorder};
    use wcc_interface::{Envelope, Event};
    use wcc_kv::MemoryStore;

    fn deliver(store: &MemoryStore, event: Event, now: u64) {
        let body = Envelope::new(event, now).to_json();
        handle_event(store, &Recorder::default(), body.as_bytes(), &|| now).unwrap();
    }

    fn online_users(store: &MemoryStore) -> Result<Vec<OnlineUser>, Failure> {
        super::online_users(store, 3)
    }

    fn is_online(store: &MemoryStore, user: &str) -> Result<bool, Failure> {
        super::is_online(store, user, 3)
    }

    /// A login from a gateway without heartbeats (no `gateway` in the event).
    fn login(store: &MemoryStore, user: &str, channel: &str, connection: &str) {
        let event = Event::UserLoggedIn {
            user: user.into(),
            channel: channel.into(),
            connection: connection.into(),
            gateway: String::new(),
        };
        deliver(store, event, 1);
    }

    fn logout(store: &MemoryStore, user: &str, channel: &str, connection: &str) {
        let event = Event::UserLoggedOut {
            user: user.into(),
            channel: channel.into(),
            connection: connection.into(),
        };
        deliver(store, event, 2);
    }

    fn online(user: &str, channels: &[&str]) -> OnlineUser {
        OnlineUser {
            user: user.into(),
            channels: channels.iter().map(|c| c.to_string()).collect(),
        }
    }

    #[test]
    fn a_user_on_two_channels_stays_online_until_both_end() {
        let store = MemoryStore::new();
        login(&store, "alice", "venueless", "gw1/1");
        login(&store, "alice", "matrix", "gw2/7");
        assert_eq!(
            online_users(&store).unwrap(),
            vec![online("alice", &["matrix", "venueless"])]
        );

        logout(&store, "alice", "venueless", "gw1/1");
        assert!(is_online(&store, "alice").unwrap());
        assert_eq!(
            online_users(&store).unwrap(),
            vec![online("alice", &["matrix"])]
        );

        logout(&store, "alice", "matrix", "gw2/7");
        assert!(!is_online(&store, "alice").unwrap());
        assert!(online_users(&store).unwrap().is_empty());
    }

    #[test]
    fn two_connections_on_the_same_channel_count_once_and_both_must_end() {
        let store = MemoryStore::new();
        login(&store, "bob", "venueless", "gw1/1");
        login(&store, "bob", "venueless", "gw1/2");
        assert_eq!(
            online_users(&store).unwrap(),
            vec![online("bob", &["venueless"])]
        );

        logout(&store, "bob", "venueless", "gw1/2");
        assert_eq!(
            online_users(&store).unwrap(),
            vec![online("bob", &["venueless"])]
        );

        logout(&store, "bob", "venueless", "gw1/1");
        assert!(!is_online(&store, "bob").unwrap());
    }

    #[test]
    fn users_are_sorted_and_sessions_record_the_login_time() {
        let store = MemoryStore::new();
        login(&store, "carol", "venueless", "c1");
        login(&store, "alice", "venueless", "a1");
        let users: Vec<String> = online_users(&store)
            .unwrap()
            .into_iter()
            .map(|u| u.user)
            .collect();
        assert_eq!(users, vec!["alice", "carol"]);
        let live: BTreeMap<String, Session> = sessions(&store).entries().unwrap();
        assert_eq!(
            live["a1"],
            Session {
                user: "alice".into(),
                channel: "venueless".into(),
                since: 1,
                gateway: String::new(),
            }
        );
        assert!(!is_online(&store, "dave").unwrap());
    }

    #[test]
    fn other_events_and_garbage_are_ignored() {
        let store = MemoryStore::new();
        let joined = Event::UserJoined {
            room: "lobby".into(),
            user: "alice".into(),
            channel: "venueless".into(),
        };
        deliver(&store, joined, 1);
        let publisher = Recorder::default();
        handle_event(&store, &publisher, b"not json", &|| 1).unwrap();
        let future = br#"{"v":2,"at":1,"type":"Future","data":{}}"#;
        handle_event(&store, &publisher, future, &|| 1).unwrap();
        // A heartbeat of a gateway whose id could not be a key segment is ignored too.
        let odd = Event::GatewayAlive {
            gateway: "a/b".into(),
            interval_ms: 5_000,
            stats: None,
        };
        deliver(&store, odd, 1);
        assert!(store.keys().is_empty());
        assert!(publisher.published().is_empty());
    }

    #[test]
    fn a_login_handled_after_its_own_logout_does_not_bring_the_session_back() {
        let store = MemoryStore::new();
        logout(&store, "dora", "venueless", "gw1/9");
        login(&store, "dora", "venueless", "gw1/9");
        assert_eq!(online_users(&store).unwrap(), vec![]);
        assert!(!is_online(&store, "dora").unwrap());
    }

    #[test]
    fn heartbeats_forget_logouts_after_a_minute_and_the_stale_session_with_them() {
        let store = MemoryStore::new();
        let beat = |now| {
            let alive = Event::GatewayAlive {
                gateway: "gw1".into(),
                interval_ms: 5_000,
                stats: None,
            };
            deliver(&store, alive, now);
        };
        beat(1);
        for n in 0..100 {
            let connection = format!("c{n}");
            logout(&store, "erin", "venueless", &connection);
            login(&store, "erin", "venueless", &connection); // late, by another host
        }
        beat(30_000);
        let remembered = ended(&store).entries::<u64>().unwrap().len();
        assert_eq!(remembered, 100, "logouts are kept for a minute");
        beat(ENDED_KEPT_MS + 10);
        assert!(ended(&store).entries::<u64>().unwrap().is_empty());
        assert!(sessions(&store).entries::<Session>().unwrap().is_empty());
        assert!(!is_online(&store, "erin").unwrap());
        let log_keys = store
            .keys()
            .into_iter()
            .filter(|k| k.starts_with("presence/"))
            .count();
        assert!(
            log_keys < 3 * wcc_kv::COMPACT_EVERY as usize + 10,
            "{log_keys} keys"
        );
    }
}
