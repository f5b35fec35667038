//! Notes: messages from elsewhere on the lattice for particular live sessions (an operator
//! added a user to a room, or wrote to one connection). See `wcc_interface::notes`.
//!
//! The gateway subscribes to every note once ([`serve`]) and keeps a [`Registry`] of its local
//! connections, by id and by logged-in user. A matching note is queued to each connection's
//! small note queue; the connection loop hands it to the channel actor in order with the
//! connection's own frames. Notes are live-only: one for nobody local, or for a connection
//! whose note queue is full, is dropped.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
};

use futures::StreamExt;
use tokio::sync::mpsc::{self, error::TrySendError};
use tracing::{debug, warn};
use wcc_interface::notes::Recipient;

/// Notes waiting for one connection. Notes are rare (operator actions); a connection this far
/// behind is stuck in a channel call, and a note that old is not worth keeping.
pub const NOTE_QUEUE: usize = 32;

/// A note's JSON text, shared by every connection it goes to.
pub type NoteText = Arc<str>;

/// The local connections notes can reach.
#[derive(Default)]
pub struct Registry {
    inner: Mutex<Sessions>,
}

#[derive(Default)]
struct Sessions {
    connections: HashMap<String, Local>,
    /// user -> their local connection ids.
    users: HashMap<String, HashSet<String>>,
}

struct Local {
    notes: mpsc::Sender<NoteText>,
    user: Option<String>,
}

impl Registry {
    /// Registers a new connection; its notes arrive on the returned queue.
    pub fn open(&self, connection_id: &str) -> mpsc::Receiver<NoteText> {
        let (notes, queue) = mpsc::channel(NOTE_QUEUE);
        let mut sessions = self.lock();
        if let Some(old) = sessions
            .connections
            .insert(connection_id.to_owned(), Local { notes, user: None })
        {
            // Ids are unique per gateway; tidy up anyway rather than leave a stale user entry.
            sessions.forget_user(connection_id, old.user);
        }
        queue
    }

    /// The connection's session user is now `user` (its notes by user follow it).
    pub fn set_user(&self, connection_id: &str, user: Option<&str>) {
        let mut sessions = self.lock();
        let Some(local) = sessions.connections.get_mut(connection_id) else {
            return;
        };
        if local.user.as_deref() == user {
            return;
        }
        let before = std::mem::replace(&mut local.user, user.map(str::to_owned));
        sessions.forget_user(connection_id, before);
        if let Some(user) = user {
            sessions
                .users
                .entry(user.to_owned())
                .or_default()
                .insert(connection_id.to_owned());
        }
    }

    /// The connection is gone.
    pub fn close(&self, connection_id: &str) {
        let mut sessions = self.lock();
        if let Some(local) = sessions.connections.remove(connection_id) {
            sessions.forget_user(connection_id, local.user);
        }
    }

    /// Queues `note` to every local connection `recipient` names; returns how many took it.
    pub fn deliver(&self, recipient: &Recipient, note: &str) -> usize {
        let note: NoteText = note.into();
        let sessions = self.lock();
        let ids: Vec<&String> = match recipient {
            Recipient::Connection(id) => sessions
                .connections
                .get_key_value(id)
                .map(|(id, _)| id)
                .into_iter()
                .collect(),
            Recipient::User(user) => sessions.users.get(user).into_iter().flatten().collect(),
        };
        let mut queued = 0;
        for id in ids {
            let Some(local) = sessions.connections.get(id) else {
                continue;
            };
            match local.notes.try_send(Arc::clone(&note)) {
                Ok(()) => queued += 1,
                Err(TrySendError::Full(_)) => {
                    warn!(connection = %id, "note queue full: note dropped");
                }
                // Closing right now; its registration goes with it.
                Err(TrySendError::Closed(_)) => {}
            }
        }
        queued
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Sessions> {
        // Each update leaves both maps consistent before it can panic: still usable.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Sessions {
    fn forget_user(&mut self, connection_id: &str, user: Option<String>) {
        let Some(user) = user else { return };
        if let Some(ids) = self.users.get_mut(&user) {
            ids.remove(connection_id);
            if ids.is_empty() {
                self.users.remove(&user);
            }
        }
    }
}

/// Hands every note on `subscription` (the note wildcard) to the registry until NATS ends it.
pub async fn serve(mut subscription: async_nats::Subscriber, registry: &Registry) {
    while let Some(message) = subscription.next().await {
        let Some(recipient) = Recipient::from_subject(message.subject.as_str()) else {
            debug!(subject = %message.subject, "not a note subject");
            continue;
        };
        let Ok(note) = std::str::from_utf8(&message.payload) else {
            warn!(subject = %message.subject, "note is not UTF-8: dropped");
            continue;
        };
        let queued = registry.deliver(&recipient, note);
        debug!(subject = %message.subject, queued, "note");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str) -> Recipient {
        Recipient::User(id.into())
    }

    fn connection(id: &str) -> Recipient {
        Recipient::Connection(id.into())
    }

    fn drained(queue: &mut mpsc::Receiver<NoteText>) -> Vec<String> {
        std::iter::from_fn(|| queue.try_recv().ok())
            .map(|note| note.to_string())
            .collect()
    }

    #[test]
    fn notes_reach_a_connection_by_id_and_all_of_a_users_connections() {
        let registry = Registry::default();
        let mut a = registry.open("g-1");
        let mut b = registry.open("g-2");
        let mut c = registry.open("g-3");
        registry.set_user("g-1", Some("u"));
        registry.set_user("g-2", Some("u"));
        registry.set_user("g-3", Some("v"));
        assert_eq!(registry.deliver(&user("u"), "n1"), 2);
        assert_eq!(registry.deliver(&connection("g-3"), "n2"), 1);
        assert_eq!(registry.deliver(&connection("g-9"), "n3"), 0);
        assert_eq!(registry.deliver(&user("nobody"), "n4"), 0);
        assert_eq!(drained(&mut a), ["n1"]);
        assert_eq!(drained(&mut b), ["n1"]);
        assert_eq!(drained(&mut c), ["n2"]);
    }

    #[test]
    fn notes_follow_logins_logouts_and_closes() {
        let registry = Registry::default();
        let mut a = registry.open("g-1");
        // Before login only the connection's own subject reaches it.
        assert_eq!(registry.deliver(&user("u"), "early"), 0);
        registry.set_user("g-1", Some("u"));
        registry.set_user("g-1", Some("u"));
        assert_eq!(registry.deliver(&user("u"), "in"), 1);
        registry.set_user("g-1", Some("w"));
        assert_eq!(registry.deliver(&user("u"), "gone"), 0);
        assert_eq!(registry.deliver(&user("w"), "switched"), 1);
        registry.set_user("g-1", None);
        assert_eq!(registry.deliver(&user("w"), "out"), 0);
        assert_eq!(drained(&mut a), ["in", "switched"]);

        registry.set_user("g-1", Some("u"));
        registry.close("g-1");
        assert_eq!(registry.deliver(&user("u"), "closed"), 0);
        assert_eq!(registry.deliver(&connection("g-1"), "closed"), 0);
        let sessions = registry.lock();
        assert!(sessions.connections.is_empty() && sessions.users.is_empty());
    }

    #[test]
    fn a_full_note_queue_drops_the_note() {
        let registry = Registry::default();
        let mut a = registry.open("g-1");
        for n in 0..NOTE_QUEUE {
            assert_eq!(registry.deliver(&connection("g-1"), &n.to_string()), 1);
        }
        assert_eq!(registry.deliver(&connection("g-1"), "dropped"), 0);
        let notes = drained(&mut a);
        assert_eq!(notes.len(), NOTE_QUEUE);
        assert_eq!(notes.last(), Some(&(NOTE_QUEUE - 1).to_string()));
        assert_eq!(registry.deliver(&connection("g-1"), "again"), 1);
    }

    #[test]
    fn unknown_connections_are_ignored() {
        let registry = Registry::default();
        registry.set_user("g-7", Some("u"));
        registry.close("g-7");
        assert_eq!(registry.deliver(&user("u"), "n"), 0);
    }
}
