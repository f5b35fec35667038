//! The adapter's own duties: failure injection, the ids it supplies, grants and what it records.
//! Everything else is the core's and tested there.

use wcc_interface::{FailureCode, StoredMessage};

use super::*;
use crate::backend::{Backend, NewMessage, Reactions, ReadState};

fn text(room: &str, sender: &str, body: &str) -> NewMessage {
    NewMessage {
        origin: None,
        room: room.into(),
        sender: sender.into(),
        channel: "test".into(),
        event_type: "channel.message".into(),
        content: format!(r#"{{"type":"text","body":{body:?}}}"#),
    }
}

#[test]
fn an_injected_failure_is_answered_before_the_core_acts() {
    let core = CoreBackend::new();
    core.add_room("lobby", "text");
    core.add_user("alice", None);
    core.add_member("lobby", "alice");
    core.fail("process_message", FailureCode::Unavailable);
    let refused = core.process_message(text("lobby", "alice", "hi"));
    assert_eq!(refused.unwrap_err().code, FailureCode::Unavailable);
    assert!(core.messages("lobby").is_empty());
}

#[test]
fn users_are_named_after_their_client_id_unless_it_is_taken() {
    let core = CoreBackend::new();
    core.add_room("lobby", "text");
    assert_eq!(core.login("venueless", "alice").unwrap().id, "alice");
    assert_eq!(core.login("venueless", "alice").unwrap().id, "alice");
    let other = core.login("cadmium", "alice").unwrap().id;
    let lobby = core.login("cadmium", "lobby").unwrap().id;
    for id in [other, lobby] {
        assert_eq!(id.len(), 32, "a UUID: {id}");
    }
    assert!(
        core.is_member("alice", "alice"),
        "the direct room is the core's"
    );
}

#[test]
fn grants_name_their_room_for_their_user_only() {
    let core = CoreBackend::new();
    core.add_user("alice", None);
    let grant = core
        .grant_subscription(&Principal::user("alice"), "alice")
        .unwrap();
    assert_eq!(core.granted_room(&grant, Some("alice")), Ok("alice".into()));
    assert!(core.granted_room(&grant, Some("bob")).is_err());
    let actions = [Action::Subscribe(grant), Action::Subscribe("alice".into())];
    assert_eq!(
        core.subscribed(&actions, Some("alice")),
        ["alice", "<refused: not a grant>"]
    );
}

#[test]
fn what_the_core_published_is_recorded() {
    let core = CoreBackend::new();
    core.add_room("lobby", "text");
    core.add_user("alice", None);
    core.add_member("lobby", "alice");
    core.set_now(START_MS + 5);
    let first = core.process_message(text("lobby", "alice", "one")).unwrap();
    core.process_message(text("lobby", "alice", "two")).unwrap();
    let stored: Vec<StoredMessage> = core.messages("lobby");
    assert_eq!(stored[0], first);
    assert_eq!((first.event_id, first.sent_at), (1, START_MS + 5));
    assert_eq!(stored[1].content["body"], "two");
    assert_eq!(core.log(), ["join alice alice", "join lobby alice"]);
    core.signal(Signal {
        room: "lobby".into(),
        sender: "alice".into(),
        channel: "test".into(),
        kind: "typing".into(),
        content: "{}".into(),
    })
    .unwrap();
    assert_eq!(core.signals()[0].kind, "typing");
}

#[test]
fn reactions_and_read_pointers_are_the_cores_and_recorded() {
    let core = CoreBackend::new();
    core.add_room("lobby", "text");
    for user in ["alice", "bob"] {
        core.add_user(user, None);
        core.add_member("lobby", user);
    }
    let first = core.process_message(text("lobby", "alice", "hi")).unwrap();
    core.process_message(text("lobby", "alice", "there"))
        .unwrap();
    let bob = Principal::user("bob");

    let tally = core.react(&bob, "lobby", 1, "👍", true).unwrap();
    assert_eq!(tally, Reactions::from([("👍".into(), vec!["bob".into()])]));
    assert_eq!(
        core.reactions(&bob, "lobby", &[2, 1]).unwrap(),
        [(1, tally)]
    );
    let changed = core
        .events()
        .into_iter()
        .find_map(|(_, event)| match event {
            Event::ReactionsChanged { message_id, .. } => Some(message_id),
            _ => None,
        });
    assert_eq!(changed, Some(first.id));

    assert!(core.mark_read(&bob, "lobby", 1).unwrap());
    let state = core.read_state(&bob, &["lobby".into()]).unwrap();
    assert_eq!(
        state,
        [ReadState {
            room: "lobby".into(),
            pointer: 1,
            unread: 1
        }]
    );
    let pointer = Note::ReadPointer {
        room: "lobby".into(),
        event_id: 1,
    };
    assert_eq!(core.notes(), [(Recipient::User("bob".into()), pointer)]);

    core.fail("react", FailureCode::Unavailable);
    let refused = core.react(&bob, "lobby", 2, "👍", true).unwrap_err();
    assert_eq!(refused.code, FailureCode::Unavailable);
    assert!(core.reactions(&bob, "lobby", &[2]).unwrap().is_empty());
}

#[test]
fn sessions_the_gateway_would_publish_reach_presence() {
    let core = CoreBackend::new();
    core.add_user("alice", None);
    let users_changed = |core: &CoreBackend| {
        core.events()
            .into_iter()
            .filter(|(_, e)| matches!(e, Event::DirectoryChanged { part } if part == "users"))
            .count()
    };
    let before = users_changed(&core);
    core.session_started("alice", "venueless", "gw-1");
    core.session_started("alice", "rebuttal", "gw-2");
    let online = core.online_users().unwrap();
    assert_eq!(
        online,
        [crate::OnlineUser {
            user: "alice".into(),
            channels: vec!["rebuttal".into(), "venueless".into()],
        }]
    );
    let session = |connection: &str, channel: &str| crate::UserSession {
        connection: connection.into(),
        channel: channel.into(),
    };
    assert_eq!(
        core.user_sessions("alice").unwrap(),
        [session("gw-1", "venueless"), session("gw-2", "rebuttal")]
    );
    core.session_ended("alice", "venueless", "gw-1");
    assert_eq!(
        core.user_sessions("alice").unwrap(),
        [session("gw-2", "rebuttal")]
    );
    // Presence announced her first session only, as a change of the users.
    assert_eq!(users_changed(&core), before + 1);
    core.session_ended("alice", "rebuttal", "gw-2");
    assert!(core.online_users().unwrap().is_empty());
    assert_eq!(users_changed(&core), before + 2);

    core.fail("online_users", FailureCode::Unavailable);
    assert_eq!(
        core.online_users().unwrap_err().code,
        FailureCode::Unavailable
    );
}
