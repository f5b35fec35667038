//! An operator's server-wide ban: every sign-in of the banned user is refused, on each path.

use super::*;

const HOUR_SECS: u64 = 3600;

#[test]
fn a_banned_user_with_the_right_password_is_refused_and_others_learn_nothing() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let accounts = Accounts::new(&store, &publisher);
    cadmium_user(&accounts, "alice");
    assert!(server_ban::ban(&store, "alice", 9).unwrap());
    let policy = cheap();
    let refused = accounts
        .authenticate(&policy, &who("alice", PW), 10)
        .unwrap_err();
    assert_eq!(refused.code, FailureCode::Suspended);
    assert!(
        refused.message.contains("banned by an operator"),
        "{}",
        refused.message
    );
    // A wrong password is a wrong password: the ban shows only to whoever holds the right one.
    let wrong = accounts
        .authenticate(&policy, &who("alice", "not the password"), 10)
        .unwrap_err();
    assert_eq!(wrong.code, FailureCode::BadCredentials);

    assert!(server_ban::unban(&store, "alice").unwrap());
    assert_eq!(
        accounts
            .authenticate(&policy, &who("alice", PW), 11)
            .unwrap()
            .id,
        "alice"
    );
}

#[test]
fn a_banned_users_tokens_sign_no_one_in_until_the_ban_is_lifted() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let accounts = Accounts::new(&store, &publisher);
    cadmium_user(&accounts, "alice");
    let (kept, ended) = (new_token().unwrap(), new_token().unwrap());
    accounts.issue_token("alice", &kept, 6, HOUR_SECS).unwrap();
    accounts.issue_token("alice", &ended, 6, HOUR_SECS).unwrap();
    server_ban::ban(&store, "alice", 7).unwrap();
    let refused = accounts.token_user(&kept, 8).unwrap_err();
    assert_eq!(refused.code, FailureCode::Suspended);
    // Signing out still ends a token.
    assert!(accounts.revoke_token(&ended, 8).unwrap());

    server_ban::unban(&store, "alice").unwrap();
    assert_eq!(accounts.token_user(&kept, 9).unwrap(), Some("alice".into()));
    assert_eq!(accounts.token_user(&ended, 9).unwrap(), None);
}

#[test]
fn a_banned_id_cannot_be_registered_even_after_its_user_is_gone() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let accounts = Accounts::new(&store, &publisher);
    cadmium_user(&accounts, "alice");
    server_ban::ban(&store, "alice", 7).unwrap();
    assert!(Users::new(&store, &publisher)
        .delete_user("alice", 8)
        .unwrap());
    let policy = cheap();
    let refused = accounts
        .register(&policy, &who("alice", PW), Some("alice"), 9, SALT, no_id)
        .unwrap_err();
    assert_eq!(refused.code, FailureCode::Suspended);
    assert_eq!(policy.hashes(), 0, "refused before hashing");
    assert!(store
        .get(&keys::login("cadmium", "alice"))
        .unwrap()
        .is_none());
    // A generated id is new, so no ban names it.
    let fresh = accounts
        .register(&policy, &who("alice", PW), None, 9, SALT, || "a2".into())
        .unwrap();
    assert_eq!(fresh.id, "a2");
}

#[test]
fn a_ban_is_one_key_made_once_and_only_for_accounts() {
    let (store, _) = (MemoryStore::new(), RecordingPublisher::default());
    assert!(!server_ban::is_banned(&store, "bob").unwrap());
    assert!(server_ban::ban(&store, "bob", 7).unwrap());
    assert!(!server_ban::ban(&store, "bob", 8).unwrap());
    assert_eq!(
        store.get(&keys::server_ban("bob")).unwrap(),
        Some(br#"{"at":7}"#.to_vec()),
        "the first ban's time stays"
    );
    assert!(server_ban::is_banned(&store, "bob").unwrap());
    assert!(server_ban::unban(&store, "bob").unwrap());
    assert!(!server_ban::unban(&store, "bob").unwrap());
    assert!(store.keys().is_empty());
    for id in ["guest-gw1-2", "server", "everyone", "", "a/b"] {
        let refused = server_ban::ban(&store, id, 1).unwrap_err();
        assert_eq!(refused.code, FailureCode::Invalid, "{id:?}");
    }
    assert!(store.keys().is_empty());
}
