//! Unit tests of [`Accounts`] on a `MemoryStore`, with the cheapest argon2 parameters.

use argon2::Params;
use wcc_interface::FailureCode;
use wcc_kv::{keys, MemoryStore, Store};

use super::*;
use crate::fakes::RecordingPublisher;
use crate::Rooms;

mod server_bans;
mod throttling;
mod tokens;

fn cheap() -> PasswordPolicy {
    PasswordPolicy::with_params(Params::new(8, 1, 1, None).unwrap())
}

const SALT: [u8; 16] = [7; 16];

/// A password long enough for the rules.
const PW: &str = "correct horse";

fn no_id() -> String {
    panic!("a wanted id was given")
}

/// `client_id` on cadmium with `password`, from one fixed address.
fn who<'r>(client_id: &'r str, password: &'r str) -> Credentials<'r> {
    Credentials {
        channel: "cadmium",
        client_id,
        password,
        remote: "192.0.2.1:40000",
    }
}

/// Registers `name` on cadmium with password [`PW`] and user id `name`.
fn cadmium_user(accounts: &Accounts<'_, MemoryStore, RecordingPublisher>, name: &str) {
    accounts
        .register(&cheap(), &who(name, PW), Some(name), 5, SALT, no_id)
        .unwrap();
}

#[test]
fn register_then_authenticate_with_the_right_password_only() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let accounts = Accounts::new(&store, &publisher);
    let alice = accounts
        .register(
            &cheap(),
            &who("alice", "s3cret-pw"),
            Some("alice"),
            5,
            SALT,
            no_id,
        )
        .unwrap();
    assert_eq!(alice.id, "alice");

    let stored = String::from_utf8(store.get(&keys::password("alice")).unwrap().unwrap()).unwrap();
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    assert!(!stored.contains("s3cret"));

    let policy = cheap();
    assert_eq!(
        accounts
            .authenticate(&policy, &who("alice", "s3cret-pw"), 6)
            .unwrap(),
        alice
    );
    for (name, password) in [("alice", "wrong"), ("nobody", "s3cret-pw"), ("alice", "")] {
        let refused = accounts
            .authenticate(&policy, &who(name, password), 6)
            .unwrap_err();
        assert_eq!(
            refused.code,
            FailureCode::BadCredentials,
            "{name}/{password}"
        );
    }
    // The same name on another protocol is another identity, without a password.
    let elsewhere = Credentials {
        channel: "venueless",
        ..who("alice", "s3cret-pw")
    };
    let refused = accounts.authenticate(&policy, &elsewhere, 6);
    assert_eq!(refused.unwrap_err().code, FailureCode::BadCredentials);
}

#[test]
fn taken_names_and_ids_and_bad_passwords_are_refused() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let accounts = Accounts::new(&store, &publisher);
    cadmium_user(&accounts, "alice");
    let again = accounts.register(&cheap(), &who("alice", PW), None, 6, SALT, || "x1".into());
    assert_eq!(again.unwrap_err().code, FailureCode::Exists);
    let rebuttal = Credentials {
        channel: "rebuttal",
        ..who("a@x", PW)
    };
    let same_id = accounts.register(&cheap(), &rebuttal, Some("alice"), 6, SALT, no_id);
    assert_eq!(same_id.unwrap_err().code, FailureCode::Exists);
    let server = accounts.register(
        &cheap(),
        &who("root", PW),
        Some(wcc_interface::ids::SERVER_USER),
        6,
        SALT,
        no_id,
    );
    assert_eq!(server.unwrap_err().code, FailureCode::Exists);
    let bad_id = accounts.register(&cheap(), &who("b", PW), Some("b.c"), 6, SALT, no_id);
    assert_eq!(bad_id.unwrap_err().code, FailureCode::Invalid);
    assert!(store
        .get(&keys::login("cadmium", "root"))
        .unwrap()
        .is_none());
}

#[test]
fn new_passwords_have_eight_characters_and_a_byte_limit() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let accounts = Accounts::new(&store, &publisher);
    let policy = cheap();
    let long = "p".repeat(MAX_PASSWORD_BYTES + 1);
    // Seven characters are too few even when they take 14 bytes.
    for password in ["", "seven77", "ééééééé", long.as_str()] {
        let refused = accounts
            .register(&policy, &who("bob", password), None, 6, SALT, || {
                "bob".into()
            })
            .unwrap_err();
        assert_eq!(refused.code, FailureCode::Invalid, "{password:?}");
        assert!(refused.message.contains("password"), "{}", refused.message);
    }
    assert_eq!(policy.hashes(), 0, "refused before hashing");
    assert!(store.get(&keys::login("cadmium", "bob")).unwrap().is_none());
    let exactly = "p".repeat(MAX_PASSWORD_BYTES);
    for (name, password) in [("bob", "éééééééé"), ("carol", exactly.as_str())] {
        accounts
            .register(&policy, &who(name, password), None, 6, SALT, || name.into())
            .unwrap();
    }
}

#[test]
fn an_id_that_names_a_room_or_is_reserved_cannot_be_registered() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let accounts = Accounts::new(&store, &publisher);
    let rooms = Rooms::new(&store, &publisher);
    rooms.create_room("lobby", "Lobby", "text", 1).unwrap();
    rooms
        .create_room("backstage", "Backstage", "private", 1)
        .unwrap();
    rooms.create_room("call", "Call", "voice", 1).unwrap();
    let policy = cheap();
    for id in ["lobby", "backstage", "call", "everyone", "server"] {
        let refused = accounts
            .register(&policy, &who(id, PW), Some(id), 6, SALT, no_id)
            .unwrap_err();
        assert_eq!(refused.code, FailureCode::Exists, "{id}");
        assert!(store.get(&keys::user(id)).unwrap().is_none(), "{id}");
        assert!(store.get(&keys::password(id)).unwrap().is_none(), "{id}");
        assert!(store.get(&keys::login("cadmium", id)).unwrap().is_none());
    }
    assert_eq!(policy.hashes(), 0, "refused before hashing");
    assert_eq!(rooms.get_room("lobby").unwrap().unwrap().kind, "text");
}

#[test]
fn a_registration_that_cannot_make_the_direct_room_fails() {
    let store = MemoryStore::new();
    let down = RecordingPublisher {
        fail: true,
        ..Default::default()
    };
    let accounts = Accounts::new(&store, &down);
    let refused = accounts.register(&cheap(), &who("dora", PW), Some("dora"), 6, SALT, no_id);
    assert!(refused.is_err());
    assert!(store
        .get(&keys::login("cadmium", "dora"))
        .unwrap()
        .is_none());
}

#[test]
fn a_password_change_needs_the_old_password_and_ends_every_token() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let accounts = Accounts::new(&store, &publisher);
    cadmium_user(&accounts, "alice");
    let policy = cheap();
    let before = [new_token().unwrap(), new_token().unwrap()];
    for token in &before {
        accounts.issue_token("alice", token, 6, 3600).unwrap();
    }

    let wrong =
        accounts.change_password(&policy, &who("alice", "not it!"), "brand new pw", 7, SALT);
    assert_eq!(wrong.unwrap_err().code, FailureCode::BadCredentials);
    let short = accounts.change_password(&policy, &who("alice", PW), "short", 7, SALT);
    assert_eq!(short.unwrap_err().code, FailureCode::Invalid);
    for token in &before {
        assert_eq!(accounts.token_user(token, 7).unwrap(), Some("alice".into()));
    }

    accounts
        .change_password(&policy, &who("alice", PW), "brand new pw", 8, SALT)
        .unwrap();
    for token in &before {
        assert_eq!(accounts.token_user(token, 9).unwrap(), None);
    }
    let refused = accounts.authenticate(&policy, &who("alice", PW), 9);
    assert_eq!(refused.unwrap_err().code, FailureCode::BadCredentials);
    accounts
        .authenticate(&policy, &who("alice", "brand new pw"), 9)
        .unwrap();
    let after = new_token().unwrap();
    accounts.issue_token("alice", &after, 9, 3600).unwrap();
    assert_eq!(
        accounts.token_user(&after, 10).unwrap(),
        Some("alice".into())
    );
}

#[test]
fn bans_are_recorded_once_and_lifted() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let accounts = Accounts::new(&store, &publisher);
    cadmium_user(&accounts, "alice");
    cadmium_user(&accounts, "bob");
    assert!(accounts.ban("bob", "alice").unwrap());
    assert!(!accounts.ban("bob", "alice").unwrap());
    assert!(store.get(&keys::ban("bob", "alice")).unwrap().is_some());
    assert!(accounts.unban("bob", "alice").unwrap());
    assert!(!accounts.unban("bob", "alice").unwrap());
    assert!(store.get(&keys::ban("bob", "alice")).unwrap().is_none());
    assert_eq!(
        accounts.ban("bob", "ghost").unwrap_err().code,
        FailureCode::UnknownUser
    );
    assert_eq!(
        accounts.ban("bob", "bob").unwrap_err().code,
        FailureCode::Invalid
    );
}

#[test]
fn guests_get_no_tokens_and_no_bans_that_would_outlive_them() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let accounts = Accounts::new(&store, &publisher);
    cadmium_user(&accounts, "bob");
    let guest = crate::Users::new(&store, &publisher)
        .guest("gw-1", 5)
        .unwrap();
    let token = "ab".repeat(TOKEN_BYTES);
    let refused = accounts
        .issue_token(&guest.id, &token, 6, 3600)
        .unwrap_err();
    assert_eq!(refused.code, FailureCode::Invalid);
    for (user, target) in [("bob", guest.id.as_str()), (guest.id.as_str(), "bob")] {
        assert_eq!(
            accounts.ban(user, target).unwrap_err().code,
            FailureCode::Invalid
        );
    }
    assert_eq!(
        store.keys().iter().filter(|k| k.contains("guest-")).count(),
        1
    );
}

#[test]
fn registered_users_are_listed_and_reserved_ids_are_taken() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let accounts = Accounts::new(&store, &publisher);
    cadmium_user(&accounts, "alice");
    let users = Users::new(&store, &publisher);
    let listed: Vec<String> = users
        .list_users()
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(listed, ["alice"]);
    assert_eq!(publisher.directory_parts(), ["users"]);
    for id in ["everyone", "server"] {
        let refused = accounts.register(&cheap(), &who(id, PW), Some(id), 6, SALT, no_id);
        assert_eq!(refused.unwrap_err().code, FailureCode::Exists, "{id}");
        assert!(users.get_user(id).unwrap().is_none());
    }
}
