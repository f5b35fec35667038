//! Unit tests of [`Rooms`] on a `MemoryStore` and a recording publisher.

use wcc_interface::{Event, Failure, FailureCode, Principal};
use wcc_kv::{keys, MemoryStore, Store};

use super::*;
use crate::fakes::RecordingPublisher;

fn add_user(store: &MemoryStore, id: &str) {
    let user = crate::User {
        id: id.into(),
        profile: None,
        created_at: 1,
        guest: false,
    };
    store.set_json(&keys::user(id), &user).unwrap();
}

#[test]
fn create_is_idempotent_and_keeps_the_first_record() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let rooms = Rooms::new(&store, &publisher);
    assert!(rooms.create_room("lobby", "Lobby", "text", 10).unwrap());
    assert!(!rooms.create_room("lobby", "Other", "voice", 20).unwrap());
    let room = rooms.get_room("lobby").unwrap().unwrap();
    assert_eq!(
        room,
        Room {
            id: "lobby".into(),
            name: "Lobby".into(),
            kind: "text".into(),
            created_at: 10
        }
    );
    assert_eq!(rooms.query_rooms(None).unwrap(), vec![room]);
    assert_eq!(
        rooms
            .create_room("bad id", "x", "text", 1)
            .unwrap_err()
            .code,
        FailureCode::Invalid
    );
    assert!(
        publisher.envelopes().is_empty(),
        "creating a room publishes no room event"
    );
}

#[test]
fn delete_removes_record_index_and_every_membership() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let rooms = Rooms::new(&store, &publisher);
    add_user(&store, "ada");
    add_user(&store, "bob");
    rooms.create_room("r1", "R1", "text", 1).unwrap();
    rooms.create_room("r2", "R2", "text", 1).unwrap();
    rooms.join("r1", "ada", "venueless", 2).unwrap();
    rooms.join("r1", "bob", "venueless", 2).unwrap();
    rooms.join("r2", "ada", "venueless", 2).unwrap();

    rooms.delete_room("r1", 9).unwrap();
    assert_eq!(rooms.get_room("r1").unwrap(), None);
    assert_eq!(
        rooms
            .query_rooms(None)
            .unwrap()
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>(),
        ["r2"]
    );
    assert!(!rooms.is_member("r1", "ada").unwrap());
    assert!(!rooms.is_member("r1", "bob").unwrap());
    assert!(store
        .get(&keys::member_flag("r1", "ada"))
        .unwrap()
        .is_none());
    assert_eq!(rooms.query_rooms(Some("ada")).unwrap().len(), 1);
    assert!(rooms.query_rooms(Some("bob")).unwrap().is_empty());
    let members_log = keys::room_members("r1");
    assert!(
        store.keys().iter().all(|k| !k.starts_with(&members_log)),
        "the member list goes whole: {:?}",
        store.keys()
    );
    assert_eq!(
        rooms.delete_room("r1", 9).unwrap_err().code,
        FailureCode::UnknownRoom
    );

    // A new room of the same id starts empty: it inherits no member of the old one.
    rooms.create_room("r1", "Again", "text", 3).unwrap();
    assert!(rooms.query_members("r1").unwrap().is_empty());
}

#[test]
fn join_and_leave_publish_exactly_one_event_each() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let rooms = Rooms::new(&store, &publisher);
    add_user(&store, "ada");
    rooms.create_room("lobby", "Lobby", "text", 1).unwrap();

    assert!(rooms.join("lobby", "ada", "venueless", 5).unwrap());
    assert!(!rooms.join("lobby", "ada", "venueless", 6).unwrap());
    assert!(rooms.is_member("lobby", "ada").unwrap());
    assert_eq!(
        store
            .get(&keys::member_flag("lobby", "ada"))
            .unwrap()
            .as_deref(),
        Some(&b"1"[..])
    );
    assert_eq!(
        rooms.query_members("lobby").unwrap(),
        vec![Member {
            user: "ada".into(),
            joined_at: 5
        }]
    );
    let joined = Event::UserJoined {
        room: "lobby".into(),
        user: "ada".into(),
        channel: "venueless".into(),
    };
    let sent = publisher.envelopes();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "wcc.events.rooms.lobby");
    assert_eq!((sent[0].1.at, &sent[0].1.event), (5, &joined));

    assert!(rooms.leave("lobby", "ada", "venueless", 7).unwrap());
    assert!(!rooms.leave("lobby", "ada", "venueless", 8).unwrap());
    assert!(!rooms.is_member("lobby", "ada").unwrap());
    assert!(rooms.query_members("lobby").unwrap().is_empty());
    assert!(rooms.query_rooms(Some("ada")).unwrap().is_empty());
    let sent = publisher.envelopes();
    assert_eq!(sent.len(), 2);
    let left = Event::UserLeft {
        room: "lobby".into(),
        user: "ada".into(),
        channel: "venueless".into(),
    };
    assert_eq!(
        (sent[1].0.as_str(), sent[1].1.at, &sent[1].1.event),
        ("wcc.events.rooms.lobby", 7, &left)
    );
}

/// actionhero's routes skip the connection that entered or left (its page prints that itself):
/// the envelope names it; a join without one names none.
#[test]
fn joins_and_leaves_name_the_connection_that_asked() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let rooms = Rooms::new(&store, &publisher);
    add_user(&store, "ada");
    rooms.create_room("lobby", "Lobby", "text", 1).unwrap();
    let ada = Principal::user("ada");
    rooms
        .join_as(&ada, "lobby", "ada", "actionhero", Some("gw1-3"), 5)
        .unwrap();
    rooms
        .leave_as(&ada, "lobby", "ada", "actionhero", Some("gw1-3"), 6)
        .unwrap();
    rooms.join("lobby", "ada", "actionhero", 7).unwrap();
    let origins: Vec<Option<String>> = publisher
        .envelopes()
        .into_iter()
        .map(|(_, envelope)| envelope.origin)
        .collect();
    assert_eq!(
        origins,
        [Some("gw1-3".to_owned()), Some("gw1-3".to_owned()), None]
    );
}

#[test]
fn join_requires_an_existing_room_and_user() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let rooms = Rooms::new(&store, &publisher);
    add_user(&store, "ada");
    rooms.create_room("lobby", "Lobby", "text", 1).unwrap();
    assert_eq!(
        rooms.join("nope", "ada", "c", 1).unwrap_err().code,
        FailureCode::UnknownRoom
    );
    assert_eq!(
        rooms.join("lobby", "ghost", "c", 1).unwrap_err().code,
        FailureCode::UnknownUser
    );
    assert_eq!(
        rooms.join("lobby", "../x", "c", 1).unwrap_err().code,
        FailureCode::UnknownUser
    );
    assert_eq!(
        rooms.leave("nope", "ada", "c", 1).unwrap_err().code,
        FailureCode::UnknownRoom
    );
    assert_eq!(
        rooms.query_members("nope").unwrap_err().code,
        FailureCode::UnknownRoom
    );
    assert!(publisher.envelopes().is_empty());
}

#[test]
fn rooms_of_a_member_skip_deleted_records() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let rooms = Rooms::new(&store, &publisher);
    add_user(&store, "ada");
    rooms.create_room("a", "A", "text", 1).unwrap();
    rooms.create_room("b", "B", "voice", 1).unwrap();
    rooms.join("a", "ada", "c", 2).unwrap();
    rooms.join("b", "ada", "c", 2).unwrap();
    store.delete(&keys::room("a")).unwrap(); // as a delete that crashed before its cleanup would
    assert_eq!(
        rooms
            .query_rooms(Some("ada"))
            .unwrap()
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>(),
        ["b"]
    );
    assert_eq!(rooms.query_rooms(None).unwrap().len(), 1);
    assert!(rooms.query_rooms(Some("no/such")).unwrap().is_empty());
}

#[test]
fn a_broker_outage_is_reported_but_the_membership_stands() {
    let store = MemoryStore::new();
    let publisher = RecordingPublisher {
        fail: true,
        ..Default::default()
    };
    let rooms = Rooms::new(&store, &publisher);
    add_user(&store, "ada");
    rooms.create_room("lobby", "Lobby", "text", 1).unwrap();
    assert_eq!(
        rooms.join("lobby", "ada", "c", 2).unwrap_err().code,
        FailureCode::Unavailable
    );
    assert!(rooms.is_member("lobby", "ada").unwrap());
}

#[test]
fn join_rules_are_set_read_cleared_and_deleted_with_the_room() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let rooms = Rooms::new(&store, &publisher);
    rooms.create_room("lobby", "Lobby", "text", 1).unwrap();
    assert_eq!(rooms.get_join_rule("lobby").unwrap(), None);

    let rule = JoinRule::from_text("type", r#""websocket""#).unwrap();
    rooms.set_join_rule("lobby", Some(&rule)).unwrap();
    assert_eq!(rooms.get_join_rule("lobby").unwrap(), Some(rule));
    assert_eq!(
        store.get(&keys::join_rule("lobby")).unwrap().as_deref(),
        Some(&br#"{"key":"type","value":"websocket"}"#[..])
    );
    let flag = JoinRule::from_text("authenticated", "true").unwrap();
    rooms.set_join_rule("lobby", Some(&flag)).unwrap();
    assert_eq!(rooms.get_join_rule("lobby").unwrap(), Some(flag.clone()));
    rooms.set_join_rule("lobby", None).unwrap();
    assert_eq!(rooms.get_join_rule("lobby").unwrap(), None);

    // A room made again under the same id must not inherit the old room's rule.
    rooms.set_join_rule("lobby", Some(&flag)).unwrap();
    rooms.delete_room("lobby", 9).unwrap();
    assert!(store.get(&keys::join_rule("lobby")).unwrap().is_none());
    rooms.create_room("lobby", "Lobby", "text", 2).unwrap();
    assert_eq!(rooms.get_join_rule("lobby").unwrap(), None);
    assert!(publisher.envelopes().is_empty());
}

#[test]
fn join_rules_need_a_room_and_a_valid_rule() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let rooms = Rooms::new(&store, &publisher);
    rooms.create_room("lobby", "Lobby", "text", 1).unwrap();
    let rule = JoinRule::from_text("type", r#""tcp""#).unwrap();
    for room in ["nope", "../x"] {
        assert_eq!(
            rooms.set_join_rule(room, Some(&rule)).unwrap_err().code,
            FailureCode::UnknownRoom
        );
        assert_eq!(
            rooms.get_join_rule(room).unwrap_err().code,
            FailureCode::UnknownRoom
        );
    }
    let bad = JoinRule {
        key: "a/b".into(),
        value: serde_json::json!(1),
    };
    assert_eq!(
        rooms.set_join_rule("lobby", Some(&bad)).unwrap_err().code,
        FailureCode::Invalid
    );
    assert_eq!(rooms.get_join_rule("lobby").unwrap(), None);
}

fn room_changes(publisher: &RecordingPublisher) -> usize {
    let parts = publisher.directory_parts();
    parts.iter().filter(|part| *part == "rooms").count()
}

#[test]
fn renaming_keeps_the_room_and_unknown_rooms_are_refused() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let rooms = Rooms::new(&store, &publisher);
    rooms.create_room("r1", "Old", "text", 5).unwrap();
    let renamed = rooms.rename_room("r1", "New").unwrap();
    assert_eq!((renamed.name.as_str(), renamed.created_at), ("New", 5));
    assert_eq!(rooms.get_room("r1").unwrap().unwrap().name, "New");
    assert_eq!(
        rooms.rename_room("r2", "x").unwrap_err().code,
        FailureCode::UnknownRoom
    );
    assert_eq!(
        rooms.rename_room("r1", "").unwrap_err().code,
        FailureCode::Invalid
    );
    assert_eq!(room_changes(&publisher), 2, "create and rename");
}

#[test]
fn the_room_list_changes_with_voice_occupancy_but_not_text_membership() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let rooms = Rooms::new(&store, &publisher);
    add_user(&store, "ann");
    rooms.create_room("talk", "Talk", "text", 1).unwrap();
    rooms.create_room("call", "Call", "voice", 1).unwrap();
    rooms.create_room("ann", "ann", "direct", 1).unwrap();
    assert_eq!(room_changes(&publisher), 2);
    rooms.join("talk", "ann", "test", 2).unwrap();
    assert_eq!(room_changes(&publisher), 2);
    rooms.join("call", "ann", "test", 2).unwrap();
    rooms.leave("call", "ann", "test", 3).unwrap();
    rooms.delete_room("talk", 9).unwrap();
    assert_eq!(room_changes(&publisher), 5);
}

#[test]
fn reserved_ids_cannot_be_rooms() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let rooms = Rooms::new(&store, &publisher);
    for id in ["everyone", "server"] {
        let refused = rooms.create_room(id, "x", "text", 1).unwrap_err();
        assert_eq!(refused.code, FailureCode::Invalid, "{id}");
    }
}

#[test]
fn joining_asks_the_policy_for_the_room_kind_and_the_principal() {
    let store = MemoryStore::new();
    let publisher = RecordingPublisher::default();
    let rooms = Rooms::new(&store, &publisher);
    for user in ["alice", "mallory"] {
        add_user(&store, user);
        rooms.create_room(user, user, "direct", 1).unwrap();
    }
    rooms.create_room("lobby", "Lobby", "text", 1).unwrap();
    rooms.create_room("staff", "Staff", "private", 1).unwrap();
    let mallory = Principal::user("mallory");
    let denied = |result: Result<bool, Failure>| result.unwrap_err().code == FailureCode::Denied;

    assert!(rooms
        .join_as(&mallory, "lobby", "mallory", "test", None, 2)
        .unwrap());
    assert!(denied(
        rooms.join_as(&mallory, "alice", "mallory", "test", None, 2)
    ));
    assert!(denied(
        rooms.join_as(&mallory, "staff", "mallory", "test", None, 2)
    ));
    assert!(denied(
        rooms.join_as(&mallory, "lobby", "alice", "test", None, 2)
    ));
    assert!(denied(
        rooms.leave_as(&mallory, "lobby", "alice", "test", None, 2)
    ));
    // The operator adds members to a private room, but never to someone's inbox.
    assert!(rooms
        .join_as(&Principal::Operator, "staff", "mallory", "admin", None, 3)
        .unwrap());
    assert!(denied(rooms.join_as(
        &Principal::Operator,
        "alice",
        "mallory",
        "admin",
        None,
        3
    )));
    assert!(!rooms.is_member("alice", "mallory").unwrap());
    // Members of what they may not read are not shown to them either.
    assert!(rooms.query_members_as(&mallory, "staff").is_ok());
    let stranger = Principal::user("alice");
    assert_eq!(
        rooms
            .query_members_as(&stranger, "mallory")
            .unwrap_err()
            .code,
        FailureCode::Denied
    );
}

#[test]
fn grants_are_signed_only_for_rooms_the_user_may_read() {
    let store = MemoryStore::new();
    let publisher = RecordingPublisher::default();
    let rooms = Rooms::new(&store, &publisher);
    add_user(&store, "alice");
    rooms.create_room("alice", "alice", "direct", 1).unwrap();
    rooms.create_room("lobby", "Lobby", "text", 1).unwrap();
    let key = b"a key of sixteen bytes or more";
    let alice = Principal::user("alice");

    let grant = rooms
        .grant_subscription(&alice, "alice", key, 1_000)
        .unwrap();
    let checked = wcc_interface::grant::verify(key, &grant, Some("alice"), 1_000).unwrap();
    assert_eq!(
        (checked.room.as_str(), checked.user.as_str()),
        ("alice", "alice")
    );
    assert!(rooms.grant_subscription(&alice, "lobby", key, 1).is_ok());
    assert!(rooms
        .grant_subscription(&alice, wcc_interface::ids::EVERYONE, key, 1)
        .is_ok());

    let mallory = Principal::user("mallory");
    let refused = rooms.grant_subscription(&mallory, "alice", key, 1);
    assert_eq!(refused.unwrap_err().code, FailureCode::Denied);
    // The server has no connection to hear anything on.
    let refused = rooms.grant_subscription(&Principal::Server, "lobby", key, 1);
    assert_eq!(refused.unwrap_err().code, FailureCode::Denied);
}

#[test]
fn a_sign_in_gets_every_rooms_grant_with_one_read_each_room_answered_alone() {
    let store = wcc_kv::CountingStore::new(MemoryStore::new());
    let publisher = RecordingPublisher::default();
    let rooms = Rooms::new(&store, &publisher);
    add_user(&store.store, "alice");
    rooms.create_room("alice", "alice", "direct", 1).unwrap();
    rooms.create_room("lobby", "Lobby", "text", 1).unwrap();
    rooms.create_room("staff", "Staff", "private", 1).unwrap();
    let key = b"a key of sixteen bytes or more";
    let asked: Vec<String> = [
        "alice",
        "lobby",
        "staff",
        "nowhere",
        "bad.id",
        wcc_interface::ids::EVERYONE,
    ]
    .map(String::from)
    .to_vec();

    store.reset();
    let answers = rooms
        .grant_subscriptions(&Principal::user("alice"), &asked, key, 1_000)
        .unwrap();
    assert_eq!(store.calls(), 1, "one read decides them all");
    let codes: Vec<Option<FailureCode>> = answers
        .iter()
        .map(|answer| answer.as_ref().err().map(|f| f.code))
        .collect();
    use FailureCode::{Denied, Invalid, UnknownRoom};
    assert_eq!(
        codes,
        [
            None,
            None,
            Some(Denied),
            Some(UnknownRoom),
            Some(Invalid),
            None
        ]
    );
    // Each grant names its own room, as one asked alone would.
    for (room, answer) in asked.iter().zip(&answers) {
        if let Ok(grant) = answer {
            let checked = wcc_interface::grant::verify(key, grant, Some("alice"), 1_000).unwrap();
            assert_eq!(&checked.room, room);
        }
    }
    // Alone, each room gets the same answer.
    for (room, code) in asked.iter().zip(&codes) {
        let alone = rooms.grant_subscription(&Principal::user("alice"), room, key, 1_000);
        assert_eq!(alone.err().map(|f| f.code), *code, "{room}");
    }
    let too_many = vec!["lobby".to_owned(); MAX_GRANTS_AT_ONCE + 1];
    let refused = rooms.grant_subscriptions(&Principal::user("alice"), &too_many, key, 1);
    assert_eq!(refused.unwrap_err().code, Invalid);
}

#[test]
fn the_operators_console_hears_rooms_that_exist_and_the_lattice_feed() {
    let store = MemoryStore::new();
    let publisher = RecordingPublisher::default();
    let rooms = Rooms::new(&store, &publisher);
    rooms.create_room("lobby", "Lobby", "text", 1).unwrap();
    let key = b"a key of sixteen bytes or more";
    let operator = wcc_interface::ids::OPERATOR;

    for feed in ["lobby", operator] {
        let grant = rooms
            .grant_subscription(&Principal::Operator, feed, key, 1_000)
            .unwrap();
        let checked = wcc_interface::grant::verify(key, &grant, Some(operator), 1_000).unwrap();
        assert_eq!(
            (checked.room.as_str(), checked.user.as_str()),
            (feed, operator)
        );
        // A user's connection cannot use the operator's grant.
        assert!(wcc_interface::grant::verify(key, &grant, Some("alice"), 1_000).is_err());
    }
    let unknown = rooms.grant_subscription(&Principal::Operator, "nowhere", key, 1);
    assert_eq!(unknown.unwrap_err().code, FailureCode::UnknownRoom);
    // A user's connection does not hear the lattice feed.
    add_user(&store, "alice");
    let refused = rooms.grant_subscription(&Principal::user("alice"), operator, key, 1);
    assert!(refused.is_err());
}

#[test]
fn a_room_cannot_take_a_users_id_and_no_one_makes_direct_rooms_but_the_core() {
    let store = MemoryStore::new();
    let publisher = RecordingPublisher::default();
    let rooms = Rooms::new(&store, &publisher);
    add_user(&store, "alice");
    let taken = rooms.create_shared_room("alice", "Alice's", "text", 1);
    assert_eq!(taken.unwrap_err().code, FailureCode::Exists);
    let direct = rooms.create_shared_room("bob", "bob", "direct", 1);
    assert_eq!(direct.unwrap_err().code, FailureCode::Invalid);
    assert!(rooms.get_room("bob").unwrap().is_none());
}

#[test]
fn listing_rooms_reads_the_shared_ones_only_not_a_direct_room_per_user() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let rooms = Rooms::new(&store, &publisher);
    rooms.create_room("lobby", "Lobby", "text", 1).unwrap();
    for n in 0..50 {
        let user = format!("user{n}");
        add_user(&store, &user);
        rooms.create_room(&user, &user, "direct", 2).unwrap();
    }
    let listed: Vec<String> = rooms
        .query_rooms(None)
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(listed, ["lobby"]);
    let indexed: BTreeMap<String, serde_json::Value> =
        LogSet::new(&store, keys::ROOM_INDEX).entries().unwrap();
    assert_eq!(indexed.len(), 1, "the index holds the shared room alone");
    // A user's own direct room is still among the rooms it belongs to.
    rooms.join("user7", "user7", "venueless", 3).unwrap();
    assert!(rooms
        .query_rooms(Some("user7"))
        .unwrap()
        .iter()
        .any(|r| r.id == "user7" && r.kind == "direct"));
}

#[test]
fn direct_rooms_an_older_build_indexed_leave_the_index_at_the_first_listing() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let rooms = Rooms::new(&store, &publisher);
    rooms.create_room("lobby", "Lobby", "text", 1).unwrap();
    add_user(&store, "ada");
    rooms.create_room("ada", "ada", "direct", 1).unwrap();
    // As builds before 2026-12-02 left it.
    LogSet::new(&store, keys::ROOM_INDEX)
        .add("ada", &1u64, 1)
        .unwrap();
    let ids = |rooms: &Rooms<'_, MemoryStore, RecordingPublisher>| -> Vec<String> {
        rooms
            .query_rooms(None)
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect()
    };
    assert_eq!(ids(&rooms), ["lobby"]);
    let indexed: BTreeMap<String, serde_json::Value> =
        LogSet::new(&store, keys::ROOM_INDEX).entries().unwrap();
    assert_eq!(indexed.keys().collect::<Vec<_>>(), ["lobby"]);
    assert_eq!(ids(&rooms), ["lobby"]);
}
