//! Events on NATS: the six of the seed `wcc-interface.md` and `Signal` (live-only notes such as
//! typing), as a versioned JSON envelope any NATS client can read:
//!
//! ```json
//! {"v":1,"type":"MessagePublished","at":1700000000000,"data":{"message":{...}}}
//! ```
//!
//! Global events go to [`GLOBAL_SUBJECT`]; room events to [`room_subject`].
//!
//! Gateways also announce themselves there ([`Event::GatewayAlive`], every
//! [`GATEWAY_ALIVE_INTERVAL_MS`]) so presence can end the sessions of one that died without
//! publishing their logouts.

use serde::{Deserialize, Serialize};

/// The parts of the directory a [`Event::DirectoryChanged`] names.
pub mod directory {
    pub const USERS: &str = "users";
    pub const ROOMS: &str = "rooms";
    pub const GROUPS: &str = "groups";
}

/// The event type of a removed message (its content is `{}` and its sender empty).
pub const REMOVED_MESSAGE_TYPE: &str = "message.removed";

/// Envelope version; bumped on incompatible changes so old readers can skip what they don't know.
pub const VERSION: u32 = 1;

/// UserLoggedIn / UserLoggedOut / GatewayAlive.
pub const GLOBAL_SUBJECT: &str = "wcc.events";

/// How often a gateway publishes [`Event::GatewayAlive`].
pub const GATEWAY_ALIVE_INTERVAL_MS: u64 = 5_000;

/// A connection id: the id of the gateway process holding the socket, a dash, and a number
/// unique within that process. So a connection id is unique across the lattice.
pub fn connection_id(gateway: &str, n: u64) -> String {
    format!("{gateway}-{n}")
}

/// The gateway part of a connection id made by [`connection_id`] (the whole id if it has no
/// dash).
pub fn connection_gateway(connection: &str) -> &str {
    connection
        .rsplit_once('-')
        .map_or(connection, |(gateway, _)| gateway)
}

/// The subject prefix of room events; a room's events go to `wcc.events.rooms.<room>`.
pub const ROOM_SUBJECT_PREFIX: &str = "wcc.events.rooms.";

/// The subject of one room's events.
pub fn room_subject(room: &str) -> String {
    format!("{ROOM_SUBJECT_PREFIX}{room}")
}

/// The subject a subscription to `feed` hears: a room's events, or for
/// [`crate::ids::OPERATOR`] the lattice-wide events of [`GLOBAL_SUBJECT`] (operators' consoles).
pub fn feed_subject(feed: &str) -> String {
    if feed == crate::ids::OPERATOR {
        GLOBAL_SUBJECT.to_owned()
    } else {
        room_subject(feed)
    }
}

/// A gateway's counters since it started, and its process's usage, as its heartbeat carries
/// them (and `wcc.gateway.stats` answers them).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GatewayStats {
    /// Client connections open now.
    pub connections: u64,
    /// Room events handled.
    pub events: u64,
    /// Render calls made for them (fewer than events when a busy room's come in batches).
    pub renders: u64,
    /// Frames queued to connections.
    pub deliveries: u64,
    /// Deliveries dropped, each closing a slow consumer.
    pub shed: u64,
    /// Connections turned away over the connection caps.
    pub refused_connections: u64,
    /// Subscriptions refused for want of a valid grant.
    pub refused_subscriptions: u64,
    /// Resident memory of the gateway process.
    pub rss_bytes: u64,
    /// User and system CPU time of the gateway process.
    pub cpu_seconds: f64,
}

/// A message as persisted by the messages actor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredMessage {
    /// A UUID naming the message across rooms (what protocols with message ids show). Messages
    /// stored before ids existed have none.
    #[serde(default)]
    pub id: String,
    pub room: String,
    pub event_id: u64,
    pub sender: String,
    /// The protocol it was sent through.
    pub channel: String,
    pub event_type: String,
    /// The content object as the sender wrote it.
    pub content: serde_json::Value,
    /// Unix milliseconds.
    pub sent_at: u64,
}

/// What [`Event::MessagePublished`] says of its sender, so that a render showing the sender's
/// profile (venueless pushes do) need not ask the core for it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Author {
    /// The sender's profile, a JSON object; `None` if they have not set one.
    #[serde(default)]
    pub profile: Option<serde_json::Value>,
}

impl Author {
    /// The author a user record shows (JSON with a `profile` field; only the rooms actor writes
    /// user records, and this reads the one field it needs); `None` if it is not one.
    pub fn from_user_record(record: &[u8]) -> Option<Author> {
        serde_json::from_slice(record).ok()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum Event {
    /// A session of `user` began on `channel` (one per connection).
    UserLoggedIn {
        user: String,
        channel: String,
        connection: String,
        /// The gateway process holding the connection (its [`Event::GatewayAlive`] id). Empty
        /// in events of gateways that did not announce themselves yet (older builds): presence
        /// never expires such a session.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        gateway: String,
    },
    /// That session ended (disconnect, logout, or its gateway expired).
    UserLoggedOut {
        user: String,
        channel: String,
        connection: String,
    },
    MessagePublished {
        message: StoredMessage,
        /// The sender as the store held them when it stored the message, read in the same call
        /// (absent when the message took the slow path: a direct message, an announcement).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        author: Option<Author>,
    },
    /// A stored message was edited or removed (`event_type` `message.removed`, no sender): the
    /// message as it now is.
    MessageUpdated { message: StoredMessage },
    /// Someone added (`added`) or withdrew a reaction on a message: `reactions` are all of the
    /// message's reactions after the change, so a reader needs no state of its own.
    ReactionsChanged {
        room: String,
        event_id: u64,
        /// The message's UUID (empty for messages stored before ids existed).
        message_id: String,
        /// Who reacted.
        user: String,
        reaction: String,
        added: bool,
        reactions: crate::Reactions,
    },
    /// Something in the directory changed: `part` is `users`, `rooms` or `groups`. Published on
    /// the [`crate::ids::EVERYONE`] feed; readers fetch the part again.
    DirectoryChanged { part: String },
    /// Something for the room's live members that is never stored: typing, read receipts,
    /// call signalling. `kind` is protocol-neutral (`typing`, `read`, ...).
    Signal {
        room: String,
        sender: String,
        channel: String,
        kind: String,
        /// A JSON object.
        content: serde_json::Value,
    },
    /// A gateway wrote a published message to its local subscribers of one protocol.
    MessageDelivered {
        room: String,
        event_id: u64,
        channel: String,
        recipients: u32,
    },
    UserJoined {
        room: String,
        user: String,
        channel: String,
    },
    /// The user gave up the room for good (not a log-off).
    UserLeft {
        room: String,
        user: String,
        channel: String,
    },
    /// A gateway process is running and holds the sessions it logged in: published every
    /// `interval_ms` from its start until it stops. Presence ends the sessions of a gateway it
    /// has not heard from for three intervals.
    GatewayAlive {
        gateway: String,
        interval_ms: u64,
        /// Its figures at this beat (absent from older gateways).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stats: Option<GatewayStats>,
    },
}

impl Event {
    /// Where this event is published.
    pub fn subject(&self) -> String {
        match self {
            Event::UserLoggedIn { .. }
            | Event::UserLoggedOut { .. }
            | Event::GatewayAlive { .. } => GLOBAL_SUBJECT.to_string(),
            Event::MessagePublished { message, .. } | Event::MessageUpdated { message } => {
                room_subject(&message.room)
            }
            Event::DirectoryChanged { .. } => room_subject(crate::ids::EVERYONE),
            Event::MessageDelivered { room, .. }
            | Event::Signal { room, .. }
            | Event::ReactionsChanged { room, .. }
            | Event::UserJoined { room, .. }
            | Event::UserLeft { room, .. } => room_subject(room),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub v: u32,
    /// Unix milliseconds when the event was published.
    pub at: u64,
    /// The connection whose request caused the event, when its channel named it
    /// ([`crate::NewMessage::origin`]); gateways skip it on routes that do not echo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    #[serde(flatten)]
    pub event: Event,
}

impl Envelope {
    pub fn new(event: Event, at: u64) -> Self {
        Self {
            v: VERSION,
            at,
            origin: None,
            event,
        }
    }

    /// The envelope of an event `origin` (a connection id) caused.
    pub fn from_connection(event: Event, at: u64, origin: Option<String>) -> Self {
        Self {
            origin,
            ..Self::new(event, at)
        }
    }

    pub fn to_json(&self) -> String {
        // A struct of strings and numbers always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses an envelope; `None` for another version or a shape this build does not know.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let envelope: Self = serde_json::from_slice(bytes).ok()?;
        (envelope.v == VERSION).then_some(envelope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_is_flat_json_with_type_and_data() {
        let env = Envelope::new(
            Event::UserJoined {
                room: "lobby".into(),
                user: "u1".into(),
                channel: "venueless".into(),
            },
            42,
        );
        let json: serde_json::Value = serde_json::from_str(&env.to_json()).unwrap();
        assert_eq!(json["v"], 1);
        assert_eq!(json["at"], 42);
        assert_eq!(json["type"], "UserJoined");
        assert_eq!(json["data"]["room"], "lobby");
        assert!(json.get("origin").is_none(), "no origin, no field");
        assert_eq!(Envelope::parse(env.to_json().as_bytes()), Some(env));
    }

    #[test]
    fn an_envelope_names_the_connection_that_caused_it() {
        let event = Event::UserJoined {
            room: "lobby".into(),
            user: "u1".into(),
            channel: "actionhero".into(),
        };
        let env = Envelope::from_connection(event, 42, Some("gw1-7".into()));
        let json: serde_json::Value = serde_json::from_str(&env.to_json()).unwrap();
        assert_eq!(json["origin"], "gw1-7");
        assert_eq!(json["type"], "UserJoined");
        assert_eq!(Envelope::parse(env.to_json().as_bytes()), Some(env));
    }

    #[test]
    fn subjects_follow_the_seed() {
        let out = Event::UserLoggedOut {
            user: "u".into(),
            channel: "c".into(),
            connection: "x".into(),
        };
        assert_eq!(out.subject(), "wcc.events");
        let left = Event::UserLeft {
            room: "r1".into(),
            user: "u".into(),
            channel: "c".into(),
        };
        assert_eq!(left.subject(), "wcc.events.rooms.r1");
    }

    #[test]
    fn gateways_announce_themselves_on_the_global_subject() {
        let alive = Event::GatewayAlive {
            gateway: "0123456789ab".into(),
            interval_ms: GATEWAY_ALIVE_INTERVAL_MS,
            stats: None,
        };
        assert_eq!(alive.subject(), GLOBAL_SUBJECT);
        let env = Envelope::new(alive, 7);
        let json: serde_json::Value = serde_json::from_str(&env.to_json()).unwrap();
        assert_eq!(json["type"], "GatewayAlive");
        assert_eq!(json["data"]["gateway"], "0123456789ab");
        assert_eq!(json["data"]["interval_ms"], 5000);
        assert_eq!(Envelope::parse(env.to_json().as_bytes()), Some(env));
    }

    #[test]
    fn the_operators_feed_is_the_lattice_subject_and_rooms_are_their_own() {
        assert_eq!(feed_subject(crate::ids::OPERATOR), GLOBAL_SUBJECT);
        assert_eq!(feed_subject("lobby"), "wcc.events.rooms.lobby");
        assert_eq!(
            feed_subject(crate::ids::EVERYONE),
            "wcc.events.rooms.everyone"
        );
    }

    #[test]
    fn old_heartbeats_without_figures_still_parse() {
        let old =
            r#"{"v":1,"at":1,"type":"GatewayAlive","data":{"gateway":"g","interval_ms":5000}}"#;
        assert_eq!(
            Envelope::parse(old.as_bytes()).map(|e| e.event),
            Some(Event::GatewayAlive {
                gateway: "g".into(),
                interval_ms: 5000,
                stats: None
            })
        );
    }

    #[test]
    fn logins_name_their_gateway_and_old_logins_still_parse() {
        let login = Event::UserLoggedIn {
            user: "u".into(),
            channel: "c".into(),
            connection: connection_id("gw1", 3),
            gateway: "gw1".into(),
        };
        let json: serde_json::Value =
            serde_json::from_str(&Envelope::new(login.clone(), 1).to_json()).unwrap();
        assert_eq!(json["data"]["gateway"], "gw1");
        assert_eq!(json["data"]["connection"], "gw1-3");

        let old = r#"{"v":1,"at":1,"type":"UserLoggedIn","data":{"user":"u","channel":"c","connection":"gw1-3"}}"#;
        let Some(Envelope {
            event:
                Event::UserLoggedIn {
                    gateway,
                    connection,
                    ..
                },
            ..
        }) = Envelope::parse(old.as_bytes())
        else {
            panic!("an old login did not parse");
        };
        assert_eq!((gateway.as_str(), connection.as_str()), ("", "gw1-3"));
        // Written without the field when it is empty, as before.
        let anonymous = Event::UserLoggedIn {
            user: "u".into(),
            channel: "c".into(),
            connection: "k".into(),
            gateway: String::new(),
        };
        assert!(!Envelope::new(anonymous, 1).to_json().contains("gateway"));
    }

    #[test]
    fn connection_ids_carry_their_gateway() {
        assert_eq!(connection_id("0123456789ab", 42), "0123456789ab-42");
        assert_eq!(connection_gateway("0123456789ab-42"), "0123456789ab");
        assert_eq!(connection_gateway("a-b-7"), "a-b");
        assert_eq!(connection_gateway("plain"), "plain");
    }

    #[test]
    fn reaction_changes_go_to_the_room_with_the_whole_tally() {
        let reactions = crate::Reactions::from([
            ("👍".to_owned(), vec!["alice".to_owned(), "bob".to_owned()]),
            ("party".to_owned(), vec!["bob".to_owned()]),
        ]);
        let event = Event::ReactionsChanged {
            room: "lobby".into(),
            event_id: 7,
            message_id: "m-7".into(),
            user: "bob".into(),
            reaction: "party".into(),
            added: true,
            reactions,
        };
        assert_eq!(event.subject(), "wcc.events.rooms.lobby");
        let env = Envelope::new(event, 3);
        let json: serde_json::Value = serde_json::from_str(&env.to_json()).unwrap();
        assert_eq!(json["type"], "ReactionsChanged");
        assert_eq!(json["data"]["reactions"]["👍"][1], "bob");
        assert_eq!(json["data"]["added"], true);
        assert_eq!(Envelope::parse(env.to_json().as_bytes()), Some(env));
    }

    #[test]
    fn unknown_versions_are_skipped() {
        let json =
            r#"{"v":2,"at":1,"type":"UserLeft","data":{"room":"r","user":"u","channel":"c"}}"#;
        assert_eq!(Envelope::parse(json.as_bytes()), None);
        assert_eq!(Envelope::parse(b"not json"), None);
    }
}
