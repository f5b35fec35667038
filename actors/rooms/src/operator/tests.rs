//! Unit tests of [`Operator`] on a `MemoryStore`, a recording publisher and the messages actor's
//! real core over both.

use serde_json::json;
use wcc_interface::{Envelope, Event, FailureCode};
use wcc_kv::MemoryStore;

use super::*;
use crate::fakes::{Core, RecordingPublisher};
use crate::Users;

struct World {
    core: Core,
}

impl World {
    /// Room `lobby` and user `ada` (whose login publishes nothing: joining her own direct room
    /// does, so the recording starts after it).
    fn new() -> Self {
        let world = Self {
            core: Core::default(),
        };
        Users::new(&world.core.store, &world.core.publisher)
            .login("venueless", "ada", 1, || "ada".into())
            .unwrap();
        Rooms::new(&world.core.store, &world.core.publisher)
            .create_room("lobby", "Lobby", "text", 1)
            .unwrap();
        world.core.publisher.sent.borrow_mut().clear();
        world
    }

    fn operator(&self) -> Operator<'_, MemoryStore, RecordingPublisher, Core> {
        Operator::new(&self.core.store, &self.core.publisher, &self.core)
    }

    /// Every publish as (subject, body text).
    fn sent(&self) -> Vec<(String, String)> {
        self.core
            .publisher
            .sent
            .borrow()
            .iter()
            .map(|(s, b)| (s.clone(), String::from_utf8(b.clone()).unwrap()))
            .collect()
    }
}

#[test]
fn adding_a_member_tells_the_room_then_the_users_sessions_once() {
    let world = World::new();
    let operator = world.operator();
    assert!(operator.add_member("lobby", "ada", 5).unwrap());
    assert!(!operator.add_member("lobby", "ada", 6).unwrap());
    assert!(Rooms::new(&world.core.store, &world.core.publisher)
        .is_member("lobby", "ada")
        .unwrap());

    let sent = world.sent();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0].0, "wcc.events.rooms.lobby");
    assert_eq!(
        Envelope::parse(sent[0].1.as_bytes()).unwrap().event,
        Event::UserJoined {
            room: "lobby".into(),
            user: "ada".into(),
            channel: ADMIN_CHANNEL.into()
        }
    );
    assert_eq!(sent[1].0, "wcc.sessions.user.ada");
    assert_eq!(
        Note::parse(&sent[1].1),
        Some(Note::Joined {
            room: "lobby".into()
        })
    );
}

#[test]
fn removing_a_member_tells_the_room_then_the_users_sessions_once() {
    let world = World::new();
    let operator = world.operator();
    assert!(!operator.remove_member("lobby", "ada", 5).unwrap());
    assert!(world.sent().is_empty(), "no note for a non-member");
    operator.add_member("lobby", "ada", 6).unwrap();
    world.core.publisher.sent.borrow_mut().clear();

    assert!(operator.remove_member("lobby", "ada", 7).unwrap());
    let sent = world.sent();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(matches!(
        Envelope::parse(sent[0].1.as_bytes()).unwrap().event,
        Event::UserLeft { ref channel, .. } if channel == ADMIN_CHANNEL
    ));
    assert_eq!(
        (sent[1].0.as_str(), Note::parse(&sent[1].1)),
        (
            "wcc.sessions.user.ada",
            Some(Note::Left {
                room: "lobby".into()
            })
        )
    );
}

#[test]
fn membership_changes_need_a_room_and_a_user() {
    let world = World::new();
    let operator = world.operator();
    for (room, user, code) in [
        ("nope", "ada", FailureCode::UnknownRoom),
        ("lobby", "ghost", FailureCode::UnknownUser),
        ("lobby", "a.b", FailureCode::UnknownUser),
    ] {
        assert_eq!(operator.add_member(room, user, 1).unwrap_err().code, code);
        assert_eq!(
            operator.remove_member(room, user, 1).unwrap_err().code,
            code
        );
    }
    assert!(world.sent().is_empty());
}

#[test]
fn broadcasts_are_announced_as_chat_from_the_admin_channel() {
    let world = World::new();
    let content = r#"{"type":"text","body":"closing soon"}"#;
    let stored = world.operator().broadcast("lobby", content).unwrap();
    assert_eq!(stored.sender, ids::SERVER_USER);
    assert_eq!(
        stored.content,
        json!({"type": "text", "body": "closing soon"})
    );
    assert_eq!(
        world.core.announced.borrow().clone(),
        [(
            "lobby".to_string(),
            ADMIN_CHANNEL.to_string(),
            BROADCAST_EVENT_TYPE.to_string(),
            content.to_string()
        )]
    );
    let unknown = world.operator().broadcast("attic", content).unwrap_err();
    assert_eq!(unknown.code, FailureCode::UnknownRoom);
    for bad in ["[1]", "\"hi\"", "{", ""] {
        let refused = world.operator().broadcast("lobby", bad).unwrap_err();
        assert_eq!(refused.code, FailureCode::Invalid, "{bad}");
    }
    assert_eq!(world.core.announced.borrow().len(), 1);
    assert_eq!(
        (stored.channel.as_str(), stored.event_type.as_str()),
        (ADMIN_CHANNEL, BROADCAST_EVENT_TYPE)
    );
    assert_eq!(world.core.stored("lobby"), std::slice::from_ref(&stored));
    // The messages actor publishes the message; the operator adds nothing of its own.
    let published: Vec<(String, Event)> = world
        .core
        .publisher
        .envelopes()
        .into_iter()
        .map(|(subject, envelope)| (subject, envelope.event))
        .collect();
    assert_eq!(
        published,
        [(
            "wcc.events.rooms.lobby".to_string(),
            Event::MessagePublished {
                message: stored,
                author: None,
            }
        )]
    );
    assert_eq!(world.sent().len(), 1, "{:?}", world.sent());
}

#[test]
fn a_message_to_one_connection_is_a_note_on_its_subject() {
    let world = World::new();
    world
        .operator()
        .send_to_connection("gw1-7", r#"{"message":"hello"}"#, 42)
        .unwrap();
    let sent = world.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "wcc.sessions.connection.gw1-7");
    assert_eq!(
        Note::parse(&sent[0].1),
        Some(Note::Message {
            content: json!({"message": "hello"}),
            sent_at: 42
        })
    );

    let big = format!(r#"{{"m":"{}"}}"#, "x".repeat(MAX_NOTE_CONTENT_BYTES));
    for (id, content) in [
        ("gw1.7", "{}"),
        ("", "{}"),
        ("gw1-7", "[]"),
        ("gw1-7", "nope"),
        ("gw1-7", big.as_str()),
    ] {
        let refused = world
            .operator()
            .send_to_connection(id, content, 1)
            .unwrap_err();
        assert_eq!(refused.code, FailureCode::Invalid, "{id:?} {content:?}");
    }
    assert_eq!(world.sent().len(), 1);
}

#[test]
fn a_broker_outage_is_reported_to_the_operator() {
    let mut world = World::new();
    world.core.publisher.fail = true;
    let operator = world.operator();
    assert_eq!(
        operator
            .send_to_connection("gw1-7", "{}", 1)
            .unwrap_err()
            .code,
        FailureCode::Unavailable
    );
    assert_eq!(
        operator.add_member("lobby", "ada", 1).unwrap_err().code,
        FailureCode::Unavailable
    );
}

#[test]
fn a_disconnect_is_one_note_on_the_users_subject() {
    let world = World::new();
    world
        .operator()
        .disconnect("ada", DISCONNECT_REASON)
        .unwrap();
    let sent = world.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "wcc.sessions.user.ada");
    assert_eq!(
        Note::parse(&sent[0].1),
        Some(Note::Disconnect {
            reason: "disconnected by an operator".into()
        })
    );
    for bad in ["a.b", "a>", "*", ""] {
        let refused = world.operator().disconnect(bad, "x").unwrap_err();
        assert_eq!(refused.code, FailureCode::Invalid, "{bad:?}");
    }
    assert_eq!(world.sent().len(), 1);
}

#[test]
fn a_ban_outlasts_a_broker_outage_that_kept_its_sessions_open() {
    let mut world = World::new();
    world.core.publisher.fail = true;
    let refused = world.operator().ban("ada", 5).unwrap_err();
    assert_eq!(
        refused.code,
        FailureCode::Unavailable,
        "the operator hears of it"
    );
    assert!(
        world.operator().is_banned("ada").unwrap(),
        "and the ban holds"
    );
    world.core.publisher.fail = false;
    assert!(!world.operator().ban("ada", 6).unwrap(), "banned already");
    assert_eq!(
        world.sent(),
        [(
            "wcc.sessions.user.ada".to_string(),
            Note::Disconnect {
                reason: BAN_REASON.into()
            }
            .to_json()
        )],
        "a second ban closes its sessions again"
    );
    assert!(world.operator().unban("ada").unwrap());
    assert!(!world.operator().is_banned("ada").unwrap());
}

#[test]
fn history_is_oldest_first_and_removal_is_asked_as_the_operator() {
    let world = World::new();
    for n in 1..=3 {
        let content = format!(r#"{{"body":"m{n}"}}"#);
        world.operator().broadcast("lobby", &content).unwrap();
    }
    let page = world.operator().history("lobby", None, 2).unwrap();
    let ids: Vec<u64> = page.iter().map(|m| m.event_id).collect();
    assert_eq!(ids, [2, 3]);
    let removed = world.operator().remove_message("lobby", 3).unwrap();
    assert_eq!(removed.event_type, "message.removed");
    assert_eq!(
        world.core.stored("lobby")[2],
        removed,
        "masked where it is stored"
    );
    let last = world.core.publisher.envelopes().pop().expect("a publish");
    assert_eq!(last.1.event, Event::MessageUpdated { message: removed });
    assert_eq!(
        world.core.readers.borrow().clone(),
        [
            (Principal::Operator, "lobby".to_string()),
            (Principal::Operator, "lobby".to_string())
        ]
    );
    for refused in [
        world.operator().history("attic", None, 2).unwrap_err(),
        world.operator().remove_message("attic", 1).unwrap_err(),
    ] {
        assert_eq!(refused.code, FailureCode::UnknownRoom);
    }
    assert_eq!(world.core.readers.borrow().len(), 2);
}
