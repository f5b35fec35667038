//! One connection's state as the gateway keeps it, and what a channel actor's answer means for
//! it. Pure: the connection loop performs the [`Effect`]s this module decides on.

use std::collections::BTreeSet;

use wcc_interface::Event;

/// A frame in either direction.
#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    Text(String),
    Binary(Vec<u8>),
    /// Inbound only: a frame over the size limit, with its length; it was not read.
    Oversize(u64),
}

/// An instruction from the channel actor.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Send(Frame),
    Subscribe(String),
    Unsubscribe(String),
    Close(u16, String),
}

/// The session the actor sees: the gateway stores it and passes it back on every call.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Session {
    pub connection_id: String,
    /// `websocket` or `tcp` (see `wcc_interface::transport`).
    pub transport: String,
    /// The client's `ip:port`.
    pub remote: String,
    pub user: Option<String>,
    pub data: String,
}

/// The actor's answer to one call.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub session: Session,
    pub actions: Vec<Action>,
}

/// What the connection loop does, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Send(Frame),
    Subscribe(String),
    Unsubscribe(String),
    Close(u16, String),
    /// Publish this login/logout event on `wcc.events`.
    Publish(Event),
}

/// A connection: its session and the rooms whose events it receives.
#[derive(Debug)]
pub struct Connection {
    pub protocol: String,
    pub session: Session,
    pub rooms: BTreeSet<String>,
}

impl Connection {
    pub fn new(protocol: &str, connection_id: String, transport: &str, remote: String) -> Self {
        Self {
            protocol: protocol.to_string(),
            session: Session {
                connection_id,
                transport: transport.to_string(),
                remote,
                user: None,
                data: String::new(),
            },
            rooms: BTreeSet::new(),
        }
    }

    /// Takes the actor's outcome: stores the new session and turns its actions into effects.
    /// A change of user becomes UserLoggedOut/UserLoggedIn so presence sees every session.
    /// Repeated subscribes and unsubscribes of rooms not subscribed are dropped here.
    pub fn apply(&mut self, outcome: Outcome) -> Vec<Effect> {
        let mut effects = Vec::new();
        let before = self.session.user.clone();
        // The connection id, transport and address are the gateway's: an actor cannot move a
        // session to another socket. Only the user and the actor's data are the actor's.
        let Session { user, data, .. } = outcome.session;
        self.session.user = user;
        self.session.data = data;
        if before != self.session.user {
            if let Some(user) = before {
                effects.push(Effect::Publish(self.logged_out(user)));
            }
            if let Some(user) = self.session.user.clone() {
                effects.push(Effect::Publish(Event::UserLoggedIn {
                    user,
                    channel: self.protocol.clone(),
                    connection: self.session.connection_id.clone(),
                }));
            }
        }
        for action in outcome.actions {
            match action {
                Action::Send(frame) => effects.push(Effect::Send(frame)),
                Action::Subscribe(room) => {
                    if self.rooms.insert(room.clone()) {
                        effects.push(Effect::Subscribe(room));
                    }
                }
                Action::Unsubscribe(room) => {
                    if self.rooms.remove(&room) {
                        effects.push(Effect::Unsubscribe(room));
                    }
                }
                Action::Close(code, reason) => effects.push(Effect::Close(code, reason)),
            }
        }
        effects
    }

    /// What ends with the socket: every room subscription and the logged-in session.
    pub fn closed(&mut self) -> Vec<Effect> {
        let mut effects: Vec<Effect> = std::mem::take(&mut self.rooms)
            .into_iter()
            .map(Effect::Unsubscribe)
            .collect();
        if let Some(user) = self.session.user.take() {
            effects.push(Effect::Publish(self.logged_out(user)));
        }
        effects
    }

    fn logged_out(&self, user: String) -> Event {
        Event::UserLoggedOut {
            user,
            channel: self.protocol.clone(),
            connection: self.session.connection_id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(user: Option<&str>, actions: Vec<Action>) -> Outcome {
        Outcome {
            session: Session {
                connection_id: "forged".into(),
                transport: "forged".into(),
                remote: "forged".into(),
                user: user.map(String::from),
                data: "{}".into(),
            },
            actions,
        }
    }

    #[test]
    fn login_publishes_once_and_keeps_connection_id() {
        let mut c = Connection::new("venueless", "gw-1".into(), "tcp", "10.0.0.1:4000".into());
        let effects = c.apply(outcome(
            Some("u1"),
            vec![Action::Send(Frame::Text("ok".into()))],
        ));
        assert_eq!(
            effects,
            vec![
                Effect::Publish(Event::UserLoggedIn {
                    user: "u1".into(),
                    channel: "venueless".into(),
                    connection: "gw-1".into()
                }),
                Effect::Send(Frame::Text("ok".into())),
            ]
        );
        assert_eq!(c.session.connection_id, "gw-1");
        assert_eq!(c.session.transport, "tcp");
        assert_eq!(c.session.remote, "10.0.0.1:4000");
        assert_eq!(c.session.data, "{}");
        assert!(c.apply(outcome(Some("u1"), vec![])).is_empty());
    }

    #[test]
    fn switching_user_logs_out_then_in() {
        let mut c = Connection::new("p", "gw-2".into(), "websocket", "[::1]:1".into());
        c.apply(outcome(Some("a"), vec![]));
        let effects = c.apply(outcome(Some("b"), vec![]));
        assert!(
            matches!(&effects[0], Effect::Publish(Event::UserLoggedOut { user, .. }) if user == "a")
        );
        assert!(
            matches!(&effects[1], Effect::Publish(Event::UserLoggedIn { user, .. }) if user == "b")
        );
    }

    #[test]
    fn subscriptions_are_deduplicated_and_released_on_close() {
        let mut c = Connection::new("p", "gw-3".into(), "websocket", "[::1]:1".into());
        let effects = c.apply(outcome(
            Some("u"),
            vec![
                Action::Subscribe("r1".into()),
                Action::Subscribe("r1".into()),
                Action::Unsubscribe("r2".into()),
                Action::Subscribe("r2".into()),
            ],
        ));
        let subs: Vec<_> = effects
            .iter()
            .filter(|e| matches!(e, Effect::Subscribe(_)))
            .collect();
        assert_eq!(subs.len(), 2);
        assert!(!effects.iter().any(|e| matches!(e, Effect::Unsubscribe(_))));
        let closing = c.closed();
        assert_eq!(closing.len(), 3);
        assert!(
            matches!(&closing[2], Effect::Publish(Event::UserLoggedOut { user, .. }) if user == "u")
        );
        assert!(
            c.closed().is_empty(),
            "closing twice publishes nothing more"
        );
    }
}
