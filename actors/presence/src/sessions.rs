//! Sessions: recording logins and logouts, and answering who is online.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use wcc_interface::{Envelope, Event, Failure};
use wcc_kv::{keys, LogSet, Store};

/// One live connection of a user, stored under its connection id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub user: String,
    /// The protocol the connection speaks (`venueless`, ...).
    pub channel: String,
    /// Unix milliseconds when this actor recorded the login.
    pub since: u64,
}

/// A user with at least one live session (the WIT `online-user`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnlineUser {
    pub user: String,
    /// Sorted, distinct.
    pub channels: Vec<String>,
}

fn sessions<S: Store>(store: &S) -> LogSet<'_, S> {
    LogSet::new(store, keys::PRESENCE_SESSIONS)
}

/// Applies one NATS message body. Only UserLoggedIn/UserLoggedOut matter; anything else,
/// including bodies that are not envelopes, is ignored because other events share subjects.
pub fn handle_event<S: Store>(store: &S, body: &[u8], now_ms: u64) -> Result<(), Failure> {
    let Some(envelope) = Envelope::parse(body) else {
        return Ok(());
    };
    match envelope.event {
        Event::UserLoggedIn {
            user,
            channel,
            connection,
        } => sessions(store).add(
            &connection,
            &Session {
                user,
                channel,
                since: now_ms,
            },
        ),
        // Keyed by connection alone: the connection id is unique across the lattice.
        Event::UserLoggedOut { connection, .. } => sessions(store).remove(&connection),
        _ => Ok(()),
    }
}

/// Every online user with the channels they are connected on, sorted by user.
pub fn online_users<S: Store>(store: &S) -> Result<Vec<OnlineUser>, Failure> {
    let live: BTreeMap<String, Session> = sessions(store).entries()?;
    let mut by_user: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for session in live.into_values() {
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

/// Whether `user` has any live session.
pub fn is_online<S: Store>(store: &S, user: &str) -> Result<bool, Failure> {
    let live: BTreeMap<String, Session> = sessions(store).entries()?;
    Ok(live.values().any(|session| session.user == user))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wcc_kv::MemoryStore;

    fn login(store: &MemoryStore, user: &str, channel: &str, connection: &str) {
        let event = Event::UserLoggedIn {
            user: user.into(),
            channel: channel.into(),
            connection: connection.into(),
        };
        handle_event(store, Envelope::new(event, 1).to_json().as_bytes(), 1).unwrap();
    }

    fn logout(store: &MemoryStore, user: &str, channel: &str, connection: &str) {
        let event = Event::UserLoggedOut {
            user: user.into(),
            channel: channel.into(),
            connection: connection.into(),
        };
        handle_event(store, Envelope::new(event, 2).to_json().as_bytes(), 2).unwrap();
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
                since: 1
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
        handle_event(&store, Envelope::new(joined, 1).to_json().as_bytes(), 1).unwrap();
        handle_event(&store, b"not json", 1).unwrap();
        handle_event(&store, br#"{"v":2,"at":1,"type":"Future","data":{}}"#, 1).unwrap();
        assert!(store.keys().is_empty());
    }
}
