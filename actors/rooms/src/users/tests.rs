//! Unit tests of [`Users`] on a `MemoryStore` and a recording publisher.

use wcc_interface::{Envelope, Event, FailureCode};
use wcc_kv::{keys, MemoryStore, Store};

use super::*;
use crate::fakes::RecordingPublisher;
use crate::Room;

fn fixed(id: &str) -> impl FnOnce() -> String + '_ {
    move || id.to_string()
}

#[test]
fn login_creates_once_and_maps_the_same_client_to_the_same_user() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let users = Users::new(&store, &publisher);
    let ada = users
        .login("venueless", "client-1", 100, new_user_id)
        .unwrap();
    assert_eq!(ada.id.len(), 32);
    assert!(ada.id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!((ada.profile.clone(), ada.created_at), (None, 100));

    let again = users
        .login("venueless", "client-1", 200, || {
            panic!("no new user on a known client")
        })
        .unwrap();
    assert_eq!(again, ada);
    let other = users
        .login("venueless", "client-2", 300, new_user_id)
        .unwrap();
    assert_ne!(other.id, ada.id);
    // The same client id on another channel is another identity.
    let elsewhere = users.login("irc", "client-1", 300, new_user_id).unwrap();
    assert_ne!(elsewhere.id, ada.id);
    assert_eq!(
        store.get(&keys::login("venueless", "client-1")).unwrap(),
        Some(ada.id.into_bytes())
    );
}

#[test]
fn a_new_user_is_a_member_of_its_direct_room() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let users = Users::new(&store, &publisher);
    let ada = users.login("venueless", "c", 100, fixed("ada")).unwrap();
    let rooms = Rooms::new(&store, &publisher);
    let room = rooms.get_room("ada").unwrap().unwrap();
    assert_eq!(
        (room.name.as_str(), room.kind.as_str(), room.created_at),
        ("ada", "direct", 100)
    );
    assert!(rooms.is_member("ada", &ada.id).unwrap());
    assert_eq!(rooms.query_rooms(Some("ada")).unwrap(), vec![room]);
    let joined = Event::UserJoined {
        room: "ada".into(),
        user: "ada".into(),
        channel: "venueless".into(),
    };
    assert_eq!(
        publisher
            .envelopes()
            .into_iter()
            .map(|(_, e)| e.event)
            .collect::<Vec<_>>(),
        vec![joined]
    );
}

#[test]
fn login_checks_its_arguments() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let users = Users::new(&store, &publisher);
    let too_long = "x".repeat(MAX_CLIENT_ID_BYTES + 1);
    for (channel, client) in [
        ("venueless", ""),
        ("venueless", too_long.as_str()),
        ("a/b", "c"),
    ] {
        let err = users.login(channel, client, 1, new_user_id).unwrap_err();
        assert_eq!(err.code, FailureCode::Invalid, "{channel:?}");
    }
    assert!(users
        .login(
            "venueless",
            &"x".repeat(MAX_CLIENT_ID_BYTES),
            1,
            new_user_id
        )
        .is_ok());
    // Any string is a client id, including ones that look like key paths.
    assert!(users.login("venueless", "a/b c", 1, new_user_id).is_ok());
}

#[test]
fn a_login_that_failed_half_way_maps_nothing() {
    let store = MemoryStore::new();
    let down = RecordingPublisher {
        fail: true,
        ..Default::default()
    };
    let users = Users::new(&store, &down);
    assert!(users.login("venueless", "c", 1, fixed("first")).is_err());
    assert_eq!(store.get(&keys::login("venueless", "c")).unwrap(), None);

    let up = RecordingPublisher::default();
    let users = Users::new(&store, &up);
    assert_eq!(
        users
            .login("venueless", "c", 2, fixed("second"))
            .unwrap()
            .id,
        "second"
    );
}

#[test]
fn profiles_are_validated_and_stored_as_json() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let users = Users::new(&store, &publisher);
    users.login("venueless", "c", 1, fixed("ada")).unwrap();
    let user = users
        .set_profile("ada", r#"{"display_name":"Ada"}"#)
        .unwrap();
    assert_eq!(
        user.profile,
        Some(serde_json::json!({"display_name": "Ada"}))
    );
    assert_eq!(users.get_user("ada").unwrap(), Some(user));
    let stored: serde_json::Value = store.get_json(&keys::user("ada")).unwrap().unwrap();
    assert_eq!(stored["profile"]["display_name"], "Ada");

    assert_eq!(
        users.set_profile("ada", "[1]").unwrap_err().code,
        FailureCode::Invalid
    );
    assert_eq!(
        users.set_profile("ada", "{").unwrap_err().code,
        FailureCode::Invalid
    );
    assert_eq!(
        users.set_profile("ghost", "{}").unwrap_err().code,
        FailureCode::UnknownUser
    );
}

#[test]
fn get_users_skips_missing_ones() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let users = Users::new(&store, &publisher);
    users.login("venueless", "1", 1, fixed("ada")).unwrap();
    users.login("venueless", "2", 1, fixed("bob")).unwrap();
    let ids: Vec<String> = ["bob", "ghost", "x/y", "ada"].map(String::from).to_vec();
    let found: Vec<String> = users
        .get_users(&ids)
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(found, ["bob", "ada"]);
    assert_eq!(users.get_user("ghost").unwrap(), None);

    // However many are asked for, the records are one read (a Rebuttal room's member list).
    let counted = wcc_kv::CountingStore::new(store);
    let found = Users::new(&counted, &publisher).get_users(&ids).unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(counted.calls(), 1);
}

#[test]
fn users_are_listed_oldest_first_and_creation_is_announced() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let users = Users::new(&store, &publisher);
    users.login("test", "late", 300, fixed("late")).unwrap();
    users.login("test", "early", 100, fixed("early")).unwrap();
    let ids: Vec<String> = users
        .list_users()
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(ids, ["early", "late"]);
    assert_eq!(
        publisher.directory_parts(),
        ["users", "users"],
        "direct rooms are not announced as room changes"
    );
}

#[test]
fn deleting_a_user_leaves_its_rooms_and_forgets_its_logins() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let users = Users::new(&store, &publisher);
    let rooms = Rooms::new(&store, &publisher);
    let ann = users.login("test", "ann-device", 1, fixed("ann")).unwrap();
    rooms.create_room("lobby", "Lobby", "text", 1).unwrap();
    rooms.join("lobby", &ann.id, "test", 2).unwrap();
    store.set(&keys::password("ann"), b"hash").unwrap();

    assert!(users.delete_user("ann", 3).unwrap());
    assert!(!users.delete_user("ann", 4).unwrap());
    assert!(!rooms.is_member("lobby", "ann").unwrap());
    assert!(
        rooms.get_room("ann").unwrap().is_none(),
        "the direct room goes too"
    );
    assert!(users.get_user("ann").unwrap().is_none());
    assert!(users.list_users().unwrap().is_empty());
    assert!(store.get(&keys::password("ann")).unwrap().is_none());
    assert!(users.find_login("test", "ann-device").unwrap().is_none());
    let left = publisher.envelopes().into_iter().any(|(_, e)| {
        matches!(&e.event, Event::UserLeft { room, user, .. } if room == "lobby" && user == "ann")
    });
    assert!(left, "the room was told");
    let again = users.login("test", "ann-device", 5, fixed("ann2")).unwrap();
    assert_eq!(again.id, "ann2", "the client id maps to a new user");
}

#[test]
fn reserved_ids_cannot_become_users() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let users = Users::new(&store, &publisher);
    let refused = users.login("test", "x", 1, fixed("everyone")).unwrap_err();
    assert_eq!(refused.code, FailureCode::Unavailable);
}

#[test]
fn profile_changes_and_deletion_are_announced_and_deletion_forgets_the_group() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let users = Users::new(&store, &publisher);
    let rooms = Rooms::new(&store, &publisher);
    users.login("test", "ann-device", 1, fixed("ann")).unwrap();
    users.login("test", "bob-device", 1, fixed("bob")).unwrap();
    rooms.create_room("call", "Call", "voice", 1).unwrap();
    rooms.join("call", "ann", "test", 2).unwrap();
    store.set(&keys::user_group("ann"), b"mods").unwrap();
    publisher.sent.borrow_mut().clear();

    users.set_profile("ann", r#"{"name":"Ann"}"#).unwrap();
    assert!(users.delete_user("ann", 3).unwrap());
    // Leaving the voice room changes the room list; the direct room is no list entry.
    assert_eq!(publisher.directory_parts(), ["users", "rooms", "users"]);
    let left: Vec<(String, String)> = publisher
        .envelopes()
        .into_iter()
        .filter_map(|(_, e)| match e.event {
            Event::UserLeft { room, channel, .. } => Some((room, channel)),
            _ => None,
        })
        .collect();
    assert_eq!(
        left,
        [
            ("ann".to_string(), "admin".to_string()),
            ("call".to_string(), "admin".to_string())
        ]
    );
    assert!(store.get(&keys::user_group("ann")).unwrap().is_none());
    let logins: BTreeMap<String, u64> = LogSet::new(&store, keys::user_logins("ann"))
        .entries()
        .unwrap();
    assert!(logins.is_empty());
    let ids: Vec<String> = users
        .list_users()
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(ids, ["bob"]);
    assert_eq!(rooms.query_members("call").unwrap(), []);
}

#[test]
fn a_known_user_whose_direct_room_is_gone_gets_it_back_at_login() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let users = Users::new(&store, &publisher);
    let rooms = Rooms::new(&store, &publisher);
    users.login("test", "ada-device", 1, fixed("ada")).unwrap();
    rooms.delete_room("ada", 9).unwrap();
    let again = users
        .login("test", "ada-device", 2, || panic!("a known client"))
        .unwrap();
    assert_eq!(again.id, "ada");
    assert_eq!(rooms.get_room("ada").unwrap().unwrap().kind, "direct");
    assert!(rooms.is_member("ada", "ada").unwrap());
}

#[test]
fn a_new_user_cannot_take_the_id_of_a_room() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let users = Users::new(&store, &publisher);
    let rooms = Rooms::new(&store, &publisher);
    for kind in ["text", "voice", "private"] {
        let id = format!("{kind}-room");
        rooms.create_room(&id, "Room", kind, 1).unwrap();
        let refused = users.login("test", &id, 2, fixed(&id)).unwrap_err();
        assert_eq!(refused.code, FailureCode::Exists, "{kind}");
        assert!(
            users.get_user(&id).unwrap().is_none(),
            "no user record is left"
        );
        assert_eq!(store.get(&keys::login("test", &id)).unwrap(), None);
        assert_eq!(rooms.get_room(&id).unwrap().unwrap().kind, kind);
    }
    assert!(users.list_users().unwrap().is_empty());
}

#[test]
fn a_known_user_whose_id_names_another_kind_of_room_cannot_sign_in() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let users = Users::new(&store, &publisher);
    let rooms = Rooms::new(&store, &publisher);
    users.login("test", "ada-device", 1, fixed("ada")).unwrap();
    rooms.delete_room("ada", 9).unwrap();
    // As a room made before rooms could not take users' ids would be.
    let squatted = Room {
        id: "ada".into(),
        name: "Ada's".into(),
        kind: "text".into(),
        created_at: 2,
    };
    store.set_json(&keys::room("ada"), &squatted).unwrap();
    let refused = users
        .login("test", "ada-device", 3, || panic!("a known client"))
        .unwrap_err();
    assert_eq!(refused.code, FailureCode::Unavailable);
    assert!(
        refused.message.contains("direct room"),
        "{}",
        refused.message
    );
}

#[test]
fn deleting_a_user_moves_its_token_epoch_on_and_keeps_it() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let users = Users::new(&store, &publisher);
    users.login("test", "ann-device", 1, fixed("ann")).unwrap();
    assert!(users.delete_user("ann", 2).unwrap());
    assert_eq!(
        store.get(&keys::token_epoch("ann")).unwrap(),
        Some(b"1".to_vec())
    );
    users.login("test", "ann-device", 3, fixed("ann")).unwrap();
    assert!(users.delete_user("ann", 4).unwrap());
    assert_eq!(
        store.get(&keys::token_epoch("ann")).unwrap(),
        Some(b"2".to_vec())
    );
}

/// Every key of the store whose path names `id`.
fn keys_naming(store: &MemoryStore, id: &str) -> Vec<String> {
    store
        .keys()
        .into_iter()
        .filter(|k| k.split('/').any(|segment| segment == id))
        .collect()
}

#[test]
fn a_guest_is_its_record_alone_and_no_directory_entry() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let users = Users::new(&store, &publisher);
    let guest = users.guest("0123456789ab-7", 5).unwrap();
    assert_eq!(guest.id, "guest-0123456789ab-7");
    assert!(guest.guest);
    assert_eq!(
        users.guest("0123456789ab-7", 6).unwrap(),
        guest,
        "one per connection"
    );
    assert_eq!(store.keys(), [keys::user(&guest.id)]);
    assert!(users.list_users().unwrap().is_empty());
    assert!(publisher.sent.borrow().is_empty(), "nothing announced");
    let json: serde_json::Value = store.get_json(&keys::user(&guest.id)).unwrap().unwrap();
    assert_eq!(json["guest"], true);
    // An account's record does not carry the field at all.
    users.login("test", "ann-device", 1, fixed("ann")).unwrap();
    let json: serde_json::Value = store.get_json(&keys::user("ann")).unwrap().unwrap();
    assert!(json.get("guest").is_none(), "{json}");

    let refused = users.guest("gw/1", 5).unwrap_err();
    assert_eq!(refused.code, FailureCode::Invalid);
    // No one else can take a guest's id: not a login, not a room.
    let refused = users.login("test", "x", 1, fixed("guest-9")).unwrap_err();
    assert_eq!(refused.code, FailureCode::Unavailable);
    let rooms = Rooms::new(&store, &publisher);
    let refused = rooms.create_room("guest-9", "G", "text", 1).unwrap_err();
    assert_eq!(refused.code, FailureCode::Invalid);
}

#[test]
fn a_deleted_guest_leaves_no_key_behind_and_tells_only_its_rooms() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let users = Users::new(&store, &publisher);
    let rooms = Rooms::new(&store, &publisher);
    rooms.create_room("lobby", "Lobby", "text", 1).unwrap();
    rooms.create_room("call", "Call", "voice", 1).unwrap();
    let guest = users.guest("gw-1", 2).unwrap();
    rooms.join("lobby", &guest.id, "actionhero", 3).unwrap();
    rooms.leave("lobby", &guest.id, "actionhero", 4).unwrap();
    rooms.join("lobby", &guest.id, "actionhero", 5).unwrap();
    rooms.join("call", &guest.id, "actionhero", 5).unwrap();
    store.set(&keys::user_group(&guest.id), b"mods").unwrap();
    // A read pointer, as the messages actor keeps one when the guest reads the lobby.
    wcc_kv::LogSet::new(&store, keys::read_pointers(&guest.id))
        .add("lobby/3", &3u64, 5)
        .unwrap();
    publisher.sent.borrow_mut().clear();

    assert!(users.delete_user(&guest.id, 6).unwrap());
    assert_eq!(keys_naming(&store, &guest.id), Vec::<String>::new());
    assert!(rooms.query_members("lobby").unwrap().is_empty());
    let left: Vec<String> = publisher
        .envelopes()
        .into_iter()
        .filter_map(|(_, e)| match e.event {
            Event::UserLeft { room, .. } => Some(room),
            _ => None,
        })
        .collect();
    assert_eq!(left, ["call", "lobby"]);
    // A guest is on no list, not even a voice room's.
    assert_eq!(publisher.directory_parts(), Vec::<String>::new());
    assert!(publisher.notes().is_empty(), "its one session is ending");
    assert!(!users.delete_user(&guest.id, 7).unwrap());
}

#[test]
fn a_guest_ends_with_its_connections_session() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let users = Users::new(&store, &publisher);
    let rooms = Rooms::new(&store, &publisher);
    rooms.create_room("lobby", "Lobby", "text", 1).unwrap();
    let guest = users.guest("gw-1", 2).unwrap();
    rooms.join("lobby", &guest.id, "actionhero", 3).unwrap();
    let ann = users.login("test", "ann-device", 1, fixed("ann")).unwrap();

    // Someone else's session, or an account's, ends nothing.
    assert!(!users.session_ended(&guest.id, "gw-2", 4).unwrap());
    assert!(!users.session_ended(&ann.id, "gw-1", 4).unwrap());
    assert!(users.get_user(&guest.id).unwrap().is_some());
    assert!(users.get_user("ann").unwrap().is_some());

    // The gateway's UserLoggedOut (a close, a sign-in as someone else, a dead gateway's sessions
    // ended by presence) as the rooms actor hears it on `wcc.events`.
    let logout = |user: &str, connection: &str| {
        Envelope::new(
            Event::UserLoggedOut {
                user: user.into(),
                channel: "actionhero".into(),
                connection: connection.into(),
            },
            5,
        )
        .to_json()
    };
    users.on_event(logout("ann", "gw-9").as_bytes(), 5).unwrap();
    users.on_event(b"not an event", 5).unwrap();
    assert!(users.get_user("ann").unwrap().is_some());
    users
        .on_event(logout(&guest.id, "gw-1").as_bytes(), 5)
        .unwrap();
    assert_eq!(keys_naming(&store, &guest.id), Vec::<String>::new());
    // Heard again (every host's messaging provider delivers it): nothing left to do.
    users
        .on_event(logout(&guest.id, "gw-1").as_bytes(), 6)
        .unwrap();
}

#[test]
fn a_deleted_account_erases_its_own_lists() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let users = Users::new(&store, &publisher);
    let rooms = Rooms::new(&store, &publisher);
    rooms.create_room("lobby", "Lobby", "text", 1).unwrap();
    users.login("test", "ann-device", 1, fixed("ann")).unwrap();
    rooms.join("lobby", "ann", "test", 2).unwrap();
    assert!(users.delete_user("ann", 3).unwrap());
    // Only the token epoch outlives the user, on purpose.
    assert_eq!(keys_naming(&store, "ann"), [keys::token_epoch("ann")]);
}

#[test]
fn profile_writes_that_change_nothing_are_not_announced_and_versions_count_changes() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let users = Users::new(&store, &publisher);
    assert_eq!(crate::directory_version(&store, "users").unwrap(), 0);
    users.login("test", "ann-device", 1, fixed("ann")).unwrap();
    users.set_profile("ann", r#"{"name":"Ann"}"#).unwrap();
    users.set_profile("ann", r#"{"name":"Ann"}"#).unwrap();
    assert_eq!(publisher.directory_parts(), ["users", "users"]);
    assert_eq!(crate::directory_version(&store, "users").unwrap(), 2);
    assert_eq!(crate::directory_version(&store, "rooms").unwrap(), 0);
    let guest = users.guest("gw-1", 2).unwrap();
    users.set_profile(&guest.id, r#"{"name":"G"}"#).unwrap();
    assert_eq!(crate::directory_version(&store, "users").unwrap(), 2);
    let refused = crate::directory_version(&store, "secrets").unwrap_err();
    assert_eq!(refused.code, FailureCode::Invalid);
}

#[test]
fn a_client_id_sign_in_of_a_banned_user_is_refused_and_changes_nothing() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let users = Users::new(&store, &publisher);
    users.login("venueless", "c", 100, fixed("ada")).unwrap();
    crate::accounts::server_ban::ban(&store, "ada", 101).unwrap();
    // Her direct room gone: a sign-in that went on would make it again.
    Rooms::new(&store, &publisher)
        .delete_room("ada", 102)
        .unwrap();
    let keys_before = store.keys();
    let refused = users
        .login("venueless", "c", 103, || {
            panic!("no new user for a known client")
        })
        .unwrap_err();
    assert_eq!(refused.code, FailureCode::Suspended);
    assert_eq!(store.keys(), keys_before);
    // Another client id is another, new user, which no ban names.
    assert_eq!(
        users.login("venueless", "d", 104, fixed("bea")).unwrap().id,
        "bea"
    );

    crate::accounts::server_ban::unban(&store, "ada").unwrap();
    assert_eq!(
        users
            .login("venueless", "c", 105, || unreachable!())
            .unwrap()
            .id,
        "ada"
    );
    assert!(Rooms::new(&store, &publisher)
        .get_room("ada")
        .unwrap()
        .is_some());
}
