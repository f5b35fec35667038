//! Bearer tokens: hashed at rest, expiring, revoked alone or by the user's epoch.

use super::*;

const HOUR_SECS: u64 = 3600;

#[test]
fn new_tokens_are_32_random_bytes_in_hex() {
    let (a, b) = (new_token().unwrap(), new_token().unwrap());
    assert_eq!(a.len(), 64);
    assert!(a
        .bytes()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_ne!(a, b);
    assert_ne!(new_salt().unwrap(), new_salt().unwrap());
}

#[test]
fn the_token_lifetime_comes_from_config_or_defaults_to_30_days() {
    assert_eq!(DEFAULT_TOKEN_TTL_SECS, 2_592_000);
    assert_eq!(token_ttl_secs(None).unwrap(), DEFAULT_TOKEN_TTL_SECS);
    assert_eq!(token_ttl_secs(Some(" ")).unwrap(), DEFAULT_TOKEN_TTL_SECS);
    assert_eq!(token_ttl_secs(Some("60")).unwrap(), 60);
    for bad in ["0", "-1", "1d", "3.5"] {
        let refused = token_ttl_secs(Some(bad)).unwrap_err();
        assert_eq!(refused.code, FailureCode::Unavailable, "{bad}");
        assert!(refused.message.contains("token_ttl_secs"));
    }
}

#[test]
fn tokens_resolve_to_their_user_and_only_their_hash_is_stored() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let accounts = Accounts::new(&store, &publisher);
    cadmium_user(&accounts, "alice");
    let token = accounts
        .issue_token("alice", &new_token().unwrap(), 6, HOUR_SECS)
        .unwrap();
    assert_eq!(
        accounts.token_user(&token, 7).unwrap(),
        Some("alice".into())
    );

    let token_keys: Vec<String> = store
        .keys()
        .into_iter()
        .filter(|k| k.starts_with("token/"))
        .collect();
    assert_eq!(token_keys.len(), 1);
    assert_eq!(token_keys[0].len(), "token/".len() + 64);
    for key in store.keys() {
        let value = store.get(&key).unwrap().unwrap();
        assert!(!key.contains(&token), "{key}");
        assert!(!String::from_utf8_lossy(&value).contains(&token), "{key}");
    }
    let record: serde_json::Value = store.get_json(&token_keys[0]).unwrap().unwrap();
    assert_eq!(
        record,
        serde_json::json!({"user": "alice", "expires_at": 6 + HOUR_SECS * 1000, "epoch": 0})
    );

    assert_eq!(accounts.token_user(&new_token().unwrap(), 7).unwrap(), None);
    for odd in [
        "",
        "t0k3n",
        "../password/alice",
        &token[..63],
        &format!("{token}0"),
    ] {
        assert_eq!(accounts.token_user(odd, 7).unwrap(), None, "{odd:?}");
    }
    let unknown = accounts.issue_token("ghost", &new_token().unwrap(), 6, HOUR_SECS);
    assert_eq!(unknown.unwrap_err().code, FailureCode::UnknownUser);
    let malformed = accounts.issue_token("alice", "t0k3n", 6, HOUR_SECS);
    assert_eq!(malformed.unwrap_err().code, FailureCode::Invalid);
}

#[test]
fn tokens_expire_and_the_expired_record_goes() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let accounts = Accounts::new(&store, &publisher);
    cadmium_user(&accounts, "alice");
    let token = accounts
        .issue_token("alice", &new_token().unwrap(), 1_000, 60)
        .unwrap();
    let expires_at = 1_000 + 60_000;
    assert_eq!(
        accounts.token_user(&token, expires_at - 1).unwrap(),
        Some("alice".into())
    );
    assert_eq!(accounts.token_user(&token, expires_at).unwrap(), None);
    assert!(store.keys().iter().all(|k| !k.starts_with("token/")));
    assert!(!accounts.revoke_token(&token, expires_at).unwrap());
}

#[test]
fn a_revoked_token_is_gone_and_others_stay() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let accounts = Accounts::new(&store, &publisher);
    cadmium_user(&accounts, "alice");
    let phone = accounts
        .issue_token("alice", &new_token().unwrap(), 6, HOUR_SECS)
        .unwrap();
    let laptop = accounts
        .issue_token("alice", &new_token().unwrap(), 6, HOUR_SECS)
        .unwrap();
    assert!(accounts.revoke_token(&phone, 7).unwrap());
    assert!(!accounts.revoke_token(&phone, 7).unwrap());
    assert!(!accounts.revoke_token("not-a-token", 7).unwrap());
    assert_eq!(accounts.token_user(&phone, 7).unwrap(), None);
    assert_eq!(
        accounts.token_user(&laptop, 7).unwrap(),
        Some("alice".into())
    );
}

#[test]
fn moving_the_epoch_on_ends_every_token_of_that_user_only() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let accounts = Accounts::new(&store, &publisher);
    cadmium_user(&accounts, "alice");
    cadmium_user(&accounts, "bob");
    let alices: Vec<String> = (0..3)
        .map(|_| {
            accounts
                .issue_token("alice", &new_token().unwrap(), 6, HOUR_SECS)
                .unwrap()
        })
        .collect();
    let bobs = accounts
        .issue_token("bob", &new_token().unwrap(), 6, HOUR_SECS)
        .unwrap();
    revoke_all_tokens(&store, "alice").unwrap();
    for token in &alices {
        assert_eq!(accounts.token_user(token, 7).unwrap(), None);
    }
    assert_eq!(accounts.token_user(&bobs, 7).unwrap(), Some("bob".into()));
    let fresh = accounts
        .issue_token("alice", &new_token().unwrap(), 7, HOUR_SECS)
        .unwrap();
    assert_eq!(
        accounts.token_user(&fresh, 8).unwrap(),
        Some("alice".into())
    );
}

#[test]
fn a_deleted_user_loses_its_password_and_tokens_even_if_its_id_is_taken_again() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let accounts = Accounts::new(&store, &publisher);
    cadmium_user(&accounts, "alice");
    let token = accounts
        .issue_token("alice", &new_token().unwrap(), 6, HOUR_SECS)
        .unwrap();
    assert!(Users::new(&store, &publisher)
        .delete_user("alice", 7)
        .unwrap());
    let policy = cheap();
    let refused = accounts
        .authenticate(&policy, &who("alice", PW), 8)
        .unwrap_err();
    assert_eq!(refused.code, FailureCode::BadCredentials);
    assert!(store.get(&keys::password("alice")).unwrap().is_none());

    // Its token records and their ring went with it.
    let left: Vec<String> = store
        .keys()
        .into_iter()
        .filter(|k| k.starts_with("token/") || k.starts_with("user/alice/token-ring"))
        .collect();
    assert_eq!(left, Vec::<String>::new());

    // Someone else registers the name, and so the id: the old token does not reach them.
    let theirs = "another password";
    accounts
        .register(
            &policy,
            &who("alice", theirs),
            Some("alice"),
            8,
            SALT,
            no_id,
        )
        .unwrap();
    assert_eq!(accounts.token_user(&token, 9).unwrap(), None);
    assert!(accounts
        .authenticate(&policy, &who("alice", PW), 9)
        .is_err());
    let again = accounts.authenticate(&policy, &who("alice", theirs), 9);
    assert_eq!(again.unwrap().id, "alice");
}

#[test]
fn a_user_holds_at_most_sixteen_tokens_and_a_new_one_ends_the_oldest() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let accounts = Accounts::new(&store, &publisher);
    cadmium_user(&accounts, "alice");
    cadmium_user(&accounts, "bob");
    let bobs = accounts
        .issue_token("bob", &new_token().unwrap(), 6, HOUR_SECS)
        .unwrap();
    let issued: Vec<String> = (0..MAX_TOKENS_PER_USER + 3)
        .map(|_| {
            accounts
                .issue_token("alice", &new_token().unwrap(), 6, HOUR_SECS)
                .unwrap()
        })
        .collect();
    let (ended, live) = issued.split_at(3);
    for token in ended {
        assert_eq!(accounts.token_user(token, 7).unwrap(), None);
    }
    for token in live {
        assert_eq!(accounts.token_user(token, 7).unwrap(), Some("alice".into()));
    }
    // Another user's token is not in alice's ring.
    assert_eq!(accounts.token_user(&bobs, 7).unwrap(), Some("bob".into()));
    let records = store
        .keys()
        .into_iter()
        .filter(|k| k.starts_with("token/"))
        .count() as u64;
    assert_eq!(records, MAX_TOKENS_PER_USER + 1);
}
