//! Unit tests of [`Accounts`] on a `MemoryStore`, with the cheapest argon2 parameters.

use argon2::Params;
use wcc_interface::FailureCode;
use wcc_kv::{keys, MemoryStore, Store};

use super::*;
use crate::fakes::RecordingPublisher;

fn cheap() -> PasswordPolicy {
    PasswordPolicy::with_params(Params::new(8, 1, 1, None).unwrap())
}

const SALT: [u8; 16] = [7; 16];

fn no_id() -> String {
    panic!("a wanted id was given")
}

/// Registers `name` on cadmium with password `pw` and user id `name`.
fn cadmium_user(accounts: &Accounts<'_, MemoryStore, RecordingPublisher>, name: &str) {
    accounts
        .register(&cheap(), "cadmium", name, "pw", Some(name), 5, SALT, no_id)
        .unwrap();
}

#[test]
fn register_then_authenticate_with_the_right_password_only() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let accounts = Accounts::new(&store, &publisher);
    let alice = accounts
        .register(
            &cheap(),
            "cadmium",
            "alice",
            "s3cret",
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

    assert_eq!(
        accounts.authenticate("cadmium", "alice", "s3cret").unwrap(),
        alice
    );
    for (name, password) in [("alice", "wrong"), ("nobody", "s3cret"), ("alice", "")] {
        let refused = accounts
            .authenticate("cadmium", name, password)
            .unwrap_err();
        assert_eq!(
            refused.code,
            FailureCode::BadCredentials,
            "{name}/{password}"
        );
    }
    // The same name on another protocol is another identity, without a password.
    let refused = accounts.authenticate("venueless", "alice", "s3cret");
    assert_eq!(refused.unwrap_err().code, FailureCode::BadCredentials);
}

#[test]
fn taken_names_and_ids_and_bad_passwords_are_refused() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let accounts = Accounts::new(&store, &publisher);
    cadmium_user(&accounts, "alice");
    let again = accounts.register(&cheap(), "cadmium", "alice", "pw", None, 6, SALT, || {
        "x1".into()
    });
    assert_eq!(again.unwrap_err().code, FailureCode::Exists);
    let same_id = accounts.register(
        &cheap(),
        "rebuttal",
        "a@x",
        "pw",
        Some("alice"),
        6,
        SALT,
        no_id,
    );
    assert_eq!(same_id.unwrap_err().code, FailureCode::Exists);
    let server = accounts.register(
        &cheap(),
        "cadmium",
        "root",
        "pw",
        Some(wcc_interface::ids::SERVER_USER),
        6,
        SALT,
        no_id,
    );
    assert_eq!(server.unwrap_err().code, FailureCode::Exists);
    let bad_id = accounts.register(&cheap(), "cadmium", "b", "pw", Some("b.c"), 6, SALT, no_id);
    assert_eq!(bad_id.unwrap_err().code, FailureCode::Invalid);
    let long = "p".repeat(MAX_PASSWORD_BYTES + 1);
    for password in ["", long.as_str()] {
        let refused =
            accounts.register(&cheap(), "cadmium", "bob", password, None, 6, SALT, || {
                "bob".into()
            });
        assert_eq!(refused.unwrap_err().code, FailureCode::Invalid);
    }
    assert!(store.get(&keys::login("cadmium", "bob")).unwrap().is_none());
    assert!(store
        .get(&keys::login("cadmium", "root"))
        .unwrap()
        .is_none());
}

#[test]
fn tokens_resolve_to_their_user() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let accounts = Accounts::new(&store, &publisher);
    cadmium_user(&accounts, "alice");
    let token = accounts.issue_token("alice", "t0k3n", 6).unwrap();
    assert_eq!(accounts.token_user(&token).unwrap(), Some("alice".into()));
    assert_eq!(accounts.token_user("other").unwrap(), None);
    assert_eq!(accounts.token_user("../password/alice").unwrap(), None);
    let unknown = accounts.issue_token("ghost", "t2", 6);
    assert_eq!(unknown.unwrap_err().code, FailureCode::UnknownUser);
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
        let refused = accounts.register(&cheap(), "cadmium", id, "pw", Some(id), 6, SALT, no_id);
        assert_eq!(refused.unwrap_err().code, FailureCode::Exists, "{id}");
        assert!(users.get_user(id).unwrap().is_none());
    }
}

#[test]
fn a_deleted_user_loses_its_password_and_tokens_even_if_its_id_is_taken_again() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let accounts = Accounts::new(&store, &publisher);
    cadmium_user(&accounts, "alice");
    let token = accounts.issue_token("alice", "t0k3n", 6).unwrap();
    assert!(Users::new(&store, &publisher)
        .delete_user("alice", 7)
        .unwrap());
    assert_eq!(accounts.token_user(&token).unwrap(), None);
    let refused = accounts.authenticate("cadmium", "alice", "pw").unwrap_err();
    assert_eq!(refused.code, FailureCode::BadCredentials);
    assert!(store.get(&keys::password("alice")).unwrap().is_none());

    // Someone else registers the name, and so the id: the old token does not reach them.
    accounts
        .register(
            &cheap(),
            "cadmium",
            "alice",
            "new",
            Some("alice"),
            8,
            SALT,
            no_id,
        )
        .unwrap();
    assert_eq!(accounts.token_user(&token).unwrap(), None);
    assert!(accounts.authenticate("cadmium", "alice", "pw").is_err());
    assert_eq!(
        accounts.authenticate("cadmium", "alice", "new").unwrap().id,
        "alice"
    );
}
