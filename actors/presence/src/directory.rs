//! Telling directory readers that someone came online or went offline.
//!
//! Rebuttal's user list says who is connected (`status`), read from presence whenever a list is
//! built. So a user's first session starting and last session ending change that list, and
//! presence announces them as the rooms actor announces its own changes: it counts the change,
//! then publishes `DirectoryChanged { part: users }` on the `everyone` feed.
//!
//! **One counter, two writers.** The count is the rooms actor's `users` counter
//! (`wcc_kv::keys::directory_version`, read by `rooms.directory-version`), in the bucket both
//! actors share. A render reads it before and after building a list and drops the list if it
//! moved, because the change that moved it is announced later and its list shows both. That
//! holds whichever actor made the change, so both `increment` the same key: the counter needs no
//! owner, only to move on every change, and `increment` is atomic. A counter of presence's own
//! would leave renders blind to it, and they would send a list overtaken by a sign-in.
//!
//! Only transitions are announced (see [`crate::sessions::login`] and
//! [`crate::sessions::logout`]): a second tab, another protocol of a user already online, a guest
//! or an event delivered twice sends no list. A sweep of a dead gateway announces once for all
//! the sessions it ended.

use wcc_interface::events::directory;
use wcc_interface::{Envelope, Event};
use wcc_kv::{keys, Store};

use crate::Publisher;

/// Counts a change of who is online, then announces it. The change is stored already, so
/// neither step fails the event: a failure is logged and the next change corrects the lists.
pub fn users_changed<S: Store, P: Publisher>(store: &S, publisher: &P, now_ms: u64) {
    if let Err(e) = store.increment(&keys::directory_version(directory::USERS), 1) {
        eprintln!("presence: who is online changed but was not counted: {e}");
    }
    let event = Event::DirectoryChanged {
        part: directory::USERS.into(),
    };
    let body = Envelope::new(event.clone(), now_ms).to_json();
    if let Err(e) = publisher.publish(&event.subject(), body.as_bytes()) {
        eprintln!("presence: who is online changed but was not announced: {e}");
    }
}

#[cfg(test)]
mod tests {
    use wcc_interface::{Envelope, Event};
    use wcc_kv::{keys, MemoryStore, Store};

    use crate::test_support::{Interleaved, Recorder};
    use crate::{handle_event, is_online};

    fn deliver(store: &impl Store, publisher: &Recorder, event: Event) {
        let body = Envelope::new(event, 1).to_json();
        handle_event(store, publisher, body.as_bytes(), &|| 1).unwrap();
    }

    fn login(user: &str, channel: &str, connection: &str) -> Event {
        Event::UserLoggedIn {
            user: user.into(),
            channel: channel.into(),
            connection: connection.into(),
            gateway: String::new(),
        }
    }

    fn logout(user: &str, connection: &str) -> Event {
        Event::UserLoggedOut {
            user: user.into(),
            channel: "venueless".into(),
            connection: connection.into(),
        }
    }

    /// The rooms actor's count of changes of the users (`rooms.directory-version`).
    fn users_version(store: &MemoryStore) -> u64 {
        let key = keys::directory_version("users");
        store.get(&key).unwrap().map_or(0, |bytes| {
            String::from_utf8(bytes).unwrap().parse().unwrap()
        })
    }

    #[test]
    fn a_users_first_session_and_last_one_are_announced_and_counted_and_no_other() {
        let store = MemoryStore::new();
        let publisher = Recorder::default();
        let changes = |n: usize| {
            assert_eq!(publisher.users_changes(), n);
            assert_eq!(users_version(&store), n as u64, "counted before announced");
        };
        deliver(&store, &publisher, login("alice", "venueless", "c1"));
        changes(1);
        // A second tab, another protocol, the same login delivered twice: alice is online.
        deliver(&store, &publisher, login("alice", "venueless", "c2"));
        deliver(&store, &publisher, login("alice", "cadmium", "c3"));
        deliver(&store, &publisher, login("alice", "venueless", "c1"));
        changes(1);
        deliver(&store, &publisher, login("bob", "venueless", "b1"));
        changes(2);
        for connection in ["c1", "c2", "c2"] {
            deliver(&store, &publisher, logout("alice", connection));
        }
        changes(2);
        deliver(&store, &publisher, logout("alice", "c3"));
        changes(3);
        // Delivered again, or a logout of a connection never logged in: nothing changed.
        deliver(&store, &publisher, logout("alice", "c3"));
        deliver(&store, &publisher, logout("carol", "x9"));
        changes(3);
        assert!(!is_online(&store, "alice", 1).unwrap());
    }

    #[test]
    fn guests_and_stale_logins_are_not_announced() {
        let store = MemoryStore::new();
        let publisher = Recorder::default();
        deliver(
            &store,
            &publisher,
            login("guest-gw-1", "actionhero", "gw-1"),
        );
        deliver(&store, &publisher, logout("guest-gw-1", "gw-1"));
        // Another host handled this connection's logout first.
        deliver(&store, &publisher, logout("dora", "gw-2"));
        deliver(&store, &publisher, login("dora", "venueless", "gw-2"));
        assert_eq!(publisher.users_changes(), 0);
        assert!(publisher.published().is_empty());
    }

    /// Alice switches devices: the logout of her old connection is handled (on another host)
    /// after the login of the new one read presence and before it stored the session. The
    /// logout found her offline and said so; the login, reading again, says she is back.
    #[test]
    fn a_logout_handled_inside_a_login_of_the_same_user_is_made_good() {
        let store = MemoryStore::new();
        let publisher = Recorder::default();
        deliver(&store, &publisher, login("alice", "venueless", "old"));
        let other_host = Recorder::default();
        let interleaved = Interleaved::new(&store, || {
            deliver(&store, &other_host, logout("alice", "old"));
        });
        deliver(&interleaved, &publisher, login("alice", "venueless", "new"));
        assert_eq!(other_host.users_changes(), 1, "the logout saw her offline");
        assert_eq!(publisher.users_changes(), 2, "the login announced her back");
        assert!(is_online(&store, "alice", 1).unwrap());
    }

    /// Both of a user's last connections close at once, on two hosts: the one that reads
    /// presence last sees both gone and announces.
    #[test]
    fn of_two_last_logouts_at_once_one_is_announced() {
        let store = MemoryStore::new();
        let publisher = Recorder::default();
        deliver(&store, &publisher, login("alice", "venueless", "a"));
        deliver(&store, &publisher, login("alice", "venueless", "b"));
        let other_host = Recorder::default();
        let interleaved = Interleaved::new(&store, || {
            deliver(&store, &other_host, logout("alice", "b"));
        });
        deliver(&interleaved, &publisher, logout("alice", "a"));
        assert_eq!(publisher.users_changes() + other_host.users_changes(), 2);
        assert!(!is_online(&store, "alice", 1).unwrap());
    }
}
