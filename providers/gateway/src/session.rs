//! One connection's state as the gateway keeps it, and what a channel actor's answer means for
//! it. Pure: the connection loop performs the [`Effect`]s this module decides on.
//!
//! This is also where a subscription is decided: a channel asks for one with a grant from the
//! core, and only a grant that verifies for the session's user becomes [`Effect::Subscribe`].

use std::collections::BTreeSet;

use wcc_interface::{
    events,
    grant::{self, Refused},
    Event,
};

use crate::config::SubscriptionKey;

/// A frame in either direction.
#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    Text(String),
    Binary(Vec<u8>),
    /// Inbound only: a frame over the size limit, with its length; it was not read.
    Oversize(u64),
}

impl Frame {
    /// Bytes this frame holds here (an oversize frame was never read, so none).
    pub fn byte_len(&self) -> usize {
        match self {
            Frame::Text(text) => text.len(),
            Frame::Binary(bytes) => bytes.len(),
            Frame::Oversize(_) => 0,
        }
    }
}

/// An instruction from the channel actor.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Send(Frame),
    /// A grant from the core (`rooms.grant-subscription`) as the actor passed it on: not a room.
    Subscribe(String),
    /// A room name.
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
    /// Deliver this room's events to the connection (a verified grant's room).
    Subscribe(String),
    Unsubscribe(String),
    Close(u16, String),
    /// Publish this login/logout event on `wcc.events`.
    Publish(Event),
    /// The actor asked to subscribe without a valid grant: nothing is subscribed; the loop logs
    /// and counts it. The grant's text is not kept, so it cannot reach a log.
    RefusedSubscription(Refused),
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
    /// A subscribe becomes [`Effect::Subscribe`] of the grant's room only if the grant verifies
    /// under `key` at `now_ms` for the session's user as this outcome leaves it (so a channel
    /// can log in and subscribe in one answer); otherwise [`Effect::RefusedSubscription`].
    /// Repeated subscribes and unsubscribes of rooms not subscribed are dropped here.
    pub fn apply(&mut self, outcome: Outcome, key: &SubscriptionKey, now_ms: u64) -> Vec<Effect> {
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
                let connection = &self.session.connection_id;
                effects.push(Effect::Publish(Event::UserLoggedIn {
                    user,
                    channel: self.protocol.clone(),
                    connection: connection.clone(),
                    // Presence expires the session with this gateway's heartbeats.
                    gateway: events::connection_gateway(connection).to_owned(),
                }));
            }
        }
        for action in outcome.actions {
            match action {
                Action::Send(frame) => effects.push(Effect::Send(frame)),
                Action::Subscribe(text) => {
                    let user = self.session.user.as_deref();
                    match grant::verify(key.bytes(), &text, user, now_ms) {
                        Ok(grant) => {
                            if self.rooms.insert(grant.room.clone()) {
                                effects.push(Effect::Subscribe(grant.room));
                            }
                        }
                        Err(refused) => effects.push(Effect::RefusedSubscription(refused)),
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
    use wcc_interface::grant::{sign, Grant};

    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";
    const NOW: u64 = 1_700_000_000_000;

    fn key() -> SubscriptionKey {
        SubscriptionKey::new(KEY).unwrap()
    }

    /// A grant for `user` to hear `room`, signed with `key`, valid until `expires_ms`.
    fn grant_with(key: &str, room: &str, user: &str, expires_ms: u64) -> String {
        let grant = Grant {
            room: room.into(),
            user: user.into(),
            expires_ms,
        };
        sign(key.as_bytes(), &grant)
    }

    fn grant(room: &str, user: &str) -> String {
        grant_with(KEY, room, user, NOW + 60_000)
    }

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

    /// The call the connection loop makes for every answer (`connection.rs`, `answer`).
    fn apply(c: &mut Connection, outcome: Outcome) -> Vec<Effect> {
        c.apply(outcome, &key(), NOW)
    }

    fn subscribed(effects: &[Effect]) -> Vec<&str> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Subscribe(room) => Some(room.as_str()),
                _ => None,
            })
            .collect()
    }

    fn refusals(effects: &[Effect]) -> Vec<Refused> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::RefusedSubscription(why) => Some(why.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn login_publishes_once_and_keeps_connection_id() {
        let mut c = Connection::new("venueless", "gw-1".into(), "tcp", "10.0.0.1:4000".into());
        let effects = apply(
            &mut c,
            outcome(Some("u1"), vec![Action::Send(Frame::Text("ok".into()))]),
        );
        assert_eq!(
            effects,
            vec![
                Effect::Publish(Event::UserLoggedIn {
                    user: "u1".into(),
                    channel: "venueless".into(),
                    connection: "gw-1".into(),
                    gateway: "gw".into(),
                }),
                Effect::Send(Frame::Text("ok".into())),
            ]
        );
        assert_eq!(c.session.connection_id, "gw-1");
        assert_eq!(c.session.transport, "tcp");
        assert_eq!(c.session.remote, "10.0.0.1:4000");
        assert_eq!(c.session.data, "{}");
        assert!(apply(&mut c, outcome(Some("u1"), vec![])).is_empty());
    }

    #[test]
    fn switching_user_logs_out_then_in() {
        let mut c = Connection::new("p", "gw-2".into(), "websocket", "[::1]:1".into());
        apply(&mut c, outcome(Some("a"), vec![]));
        let effects = apply(&mut c, outcome(Some("b"), vec![]));
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
        let effects = apply(
            &mut c,
            outcome(
                Some("u"),
                vec![
                    Action::Subscribe(grant("r1", "u")),
                    Action::Subscribe(grant("r1", "u")),
                    Action::Unsubscribe("r2".into()),
                    Action::Subscribe(grant("r2", "u")),
                ],
            ),
        );
        assert_eq!(subscribed(&effects), ["r1", "r2"]);
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

    #[test]
    fn only_a_valid_grant_for_the_sessions_user_subscribes() {
        let mut c = Connection::new("p", "gw-4".into(), "websocket", "[::1]:1".into());
        let refused = [
            ("a bare room name", "lobby".to_string(), Refused::Malformed),
            (
                "another key",
                grant_with("another key, not the gateway's", "lobby", "alice", NOW + 1),
                Refused::BadSignature,
            ),
            (
                "another user",
                grant("lobby", "mallory"),
                Refused::OtherUser,
            ),
            (
                "expired",
                grant_with(KEY, "lobby", "alice", NOW - 1),
                Refused::Expired,
            ),
        ];
        for (case, text, why) in refused {
            let effects = apply(
                &mut c,
                outcome(Some("alice"), vec![Action::Subscribe(text)]),
            );
            assert_eq!(subscribed(&effects), Vec::<&str>::new(), "{case}");
            assert_eq!(refusals(&effects), [why], "{case}");
            assert!(c.rooms.is_empty(), "{case}");
        }
        // A refused room was never subscribed, so unsubscribing it does nothing either.
        let effects = apply(
            &mut c,
            outcome(Some("alice"), vec![Action::Unsubscribe("lobby".into())]),
        );
        assert!(effects.is_empty(), "{effects:?}");

        let effects = apply(
            &mut c,
            outcome(
                Some("alice"),
                vec![Action::Subscribe(grant("lobby", "alice"))],
            ),
        );
        assert_eq!(subscribed(&effects), ["lobby"]);
        assert!(refusals(&effects).is_empty());
        assert!(c.rooms.contains("lobby"));
    }

    #[test]
    fn a_grant_is_checked_against_the_user_the_call_leaves() {
        // No user: nobody hears rooms, whoever the grant names.
        let mut c = Connection::new("p", "gw-5".into(), "tcp", "10.0.0.2:1".into());
        let effects = apply(
            &mut c,
            outcome(None, vec![Action::Subscribe(grant("lobby", "alice"))]),
        );
        assert_eq!(refusals(&effects), [Refused::NoUser]);
        assert!(subscribed(&effects).is_empty() && c.rooms.is_empty());

        // Logging in and subscribing in one answer: the grant is for the new user.
        let effects = apply(
            &mut c,
            outcome(
                Some("alice"),
                vec![Action::Subscribe(grant("lobby", "alice"))],
            ),
        );
        assert_eq!(subscribed(&effects), ["lobby"]);

        // Logging out in the same answer as a subscribe: the old user's grant no longer counts.
        let effects = apply(
            &mut c,
            outcome(None, vec![Action::Subscribe(grant("other", "alice"))]),
        );
        assert_eq!(refusals(&effects), [Refused::NoUser]);
        assert!(!c.rooms.contains("other"));
    }
}
