//! Throttling of password attempts: thresholds, delays, resets, windows, and refusal before
//! any hashing (counted by the policy, so no timing is involved).

use std::cell::Cell;

use wcc_interface::Failure;

use super::*;

const T: u64 = 1_000_000;

fn from<'r>(client_id: &'r str, password: &'r str, remote: &'r str) -> Credentials<'r> {
    Credentials {
        remote,
        ..who(client_id, password)
    }
}

fn assert_throttled(result: Result<impl std::fmt::Debug, Failure>, seconds: u64) {
    let failure = result.unwrap_err();
    assert_eq!(failure.code, FailureCode::Throttled, "{failure}");
    assert_eq!(failure.message, format!("try again in {seconds} s"));
}

fn bad(result: Result<impl std::fmt::Debug, Failure>) {
    assert_eq!(result.unwrap_err().code, FailureCode::BadCredentials);
}

#[test]
fn throttling_records_go_to_their_own_store_only() {
    let (store, throttles, publisher) = (
        MemoryStore::new(),
        MemoryStore::new(),
        RecordingPublisher::default(),
    );
    let accounts = Accounts::new(&store, &publisher).with_throttles_in(&throttles);
    cadmium_user(&accounts, "alice");
    let policy = cheap();
    for _ in 0..5 {
        bad(accounts.authenticate(&policy, &who("alice", "guess"), T));
    }
    // The count is kept where it is read: the sixth attempt waits.
    assert_throttled(accounts.authenticate(&policy, &who("alice", PW), T), 1);
    assert!(store.keys().iter().all(|k| !k.starts_with("throttle")));
    assert_eq!(throttles.keys().len(), 2 * 3);
}

#[test]
fn the_shipped_manifest_keeps_throttling_records_at_least_as_long_as_any_window() {
    let manifest = include_str!("../../../../../wadm.yaml");
    let line = manifest
        .lines()
        .find(|l| l.trim_start().starts_with("expiring_buckets:"))
        .expect("wadm.yaml configures expiring buckets");
    let wanted = format!("{}=", wcc_kv::keys::THROTTLE_BUCKET);
    let secs: u64 = line
        .split(['"', ','])
        .find_map(|pair| pair.trim().strip_prefix(&wanted))
        .and_then(|secs| secs.parse().ok())
        .expect("the throttle bucket expires");
    for rule in [&ACCOUNT, &ADDRESS, &REGISTER] {
        // Shorter, and a subject could escape its count by waiting for the store to forget it.
        assert!(secs * 1_000 >= rule.window_ms, "{}", rule.kind);
    }
}

#[test]
fn delays_double_from_one_second_up_to_five_minutes() {
    let delays: Vec<u64> = (0..=15).map(|n| ACCOUNT.delay_ms(n)).collect();
    assert_eq!(
        delays,
        [
            0, 0, 0, 0, 0, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000,
            300_000, 300_000
        ]
    );
    assert_eq!(ACCOUNT.delay_ms(u64::MAX), MAX_DELAY_MS);
    assert_eq!(REGISTER.delay_ms(19), 0);
    assert_eq!(REGISTER.delay_ms(20), FIRST_DELAY_MS);
    for rule in [&ACCOUNT, &ADDRESS, &REGISTER] {
        assert!(rule.window_ms > MAX_DELAY_MS, "{rule:?}");
    }
}

#[test]
fn addresses_are_counted_by_ip_and_ipv6_by_its_64() {
    for (remote, subject) in [
        ("192.0.2.1:5000", "192.0.2.1"),
        ("192.0.2.7", "192.0.2.7"),
        ("[2001:db8::1]:443", "2001:db8:0:0::/64"),
        ("[2001:db8:0:0:ffff::9]:1", "2001:db8:0:0::/64"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("[2001:db8:1:2::1]", "2001:db8:1:2::/64"),
        ("[::ffff:192.0.2.1]:1", "192.0.2.1"),
        ("", "unknown"),
        ("somewhere:1", "somewhere:1"),
    ] {
        assert_eq!(address_subject(remote), subject, "{remote}");
    }
    assert_eq!(address_subject(&"é".repeat(100)).len(), 64);
}

#[test]
fn an_account_waits_after_five_failures_in_a_row_and_a_success_resets_it() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let accounts = Accounts::new(&store, &publisher);
    cadmium_user(&accounts, "alice");
    let policy = cheap();
    // From a new address each time: the account is what is counted.
    let remotes: Vec<String> = (0..20).map(|i| format!("198.51.100.{i}:1")).collect();
    for remote in &remotes[..5] {
        bad(accounts.authenticate(&policy, &from("alice", "guess", remote), T));
    }
    assert_eq!(policy.hashes(), 5);
    assert_throttled(
        accounts.authenticate(&policy, &from("alice", PW, &remotes[5]), T),
        1,
    );
    assert_throttled(
        accounts.authenticate(&policy, &from("alice", PW, &remotes[5]), T + 999),
        1,
    );
    assert_eq!(policy.hashes(), 5, "a throttled attempt hashes nothing");

    bad(accounts.authenticate(&policy, &from("alice", "guess", &remotes[6]), T + 1_000));
    assert_throttled(
        accounts.authenticate(&policy, &from("alice", PW, &remotes[7]), T + 1_000),
        2,
    );
    assert_throttled(
        accounts.change_password(
            &policy,
            &from("alice", PW, &remotes[7]),
            "new password",
            T + 2_000,
            SALT,
        ),
        1,
    );
    assert_eq!(policy.hashes(), 6);

    let alice = accounts.authenticate(&policy, &from("alice", PW, &remotes[8]), T + 3_000);
    assert_eq!(alice.unwrap().id, "alice");
    // Counting starts again: five failures in a row before the next wait.
    for remote in &remotes[9..14] {
        bad(accounts.authenticate(&policy, &from("alice", "guess", remote), T + 3_000));
    }
    assert_throttled(
        accounts.authenticate(&policy, &from("alice", PW, &remotes[14]), T + 3_000),
        1,
    );
}

#[test]
fn an_address_waits_after_five_failures_on_any_accounts() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let accounts = Accounts::new(&store, &publisher);
    cadmium_user(&accounts, "alice");
    let policy = cheap();
    let guesser = "203.0.113.9";
    for i in 0..5 {
        let name = format!("ghost{i}");
        bad(accounts.authenticate(&policy, &from(&name, PW, &format!("{guesser}:{i}")), T));
    }
    assert_throttled(
        accounts.authenticate(&policy, &from("alice", PW, &format!("{guesser}:99")), T),
        1,
    );
    assert_eq!(
        policy.hashes(),
        0,
        "unknown names and refusals hash nothing"
    );
    // Another address is not held back, and the account was not charged for the refusal.
    accounts
        .authenticate(&policy, &from("alice", PW, "203.0.113.10:1"), T)
        .unwrap();
    // Once the wait is over, a success from the address resets it.
    accounts
        .authenticate(
            &policy,
            &from("alice", PW, &format!("{guesser}:7")),
            T + 1_000,
        )
        .unwrap();
    for i in 0..5 {
        let name = format!("ghost{i}");
        bad(accounts.authenticate(&policy, &from(&name, PW, guesser), T + 1_000));
    }
    assert_throttled(
        accounts.authenticate(&policy, &from("ghost9", PW, guesser), T + 1_000),
        1,
    );
}

#[test]
fn hopping_within_an_ipv6_64_does_not_escape_the_count() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let accounts = Accounts::new(&store, &publisher);
    let policy = cheap();
    for i in 1..=5 {
        let remote = format!("[2001:db8::{i:x}]:{i}");
        bad(accounts.authenticate(&policy, &from(&format!("ghost{i}"), PW, &remote), T));
    }
    assert_throttled(
        accounts.authenticate(&policy, &from("ghost9", PW, "[2001:db8::ffff:1]:9"), T),
        1,
    );
    bad(accounts.authenticate(&policy, &from("ghost9", PW, "[2001:db8:0:1::1]:9"), T));
}

#[test]
fn a_record_older_than_its_window_counts_as_fresh() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let accounts = Accounts::new(&store, &publisher);
    cadmium_user(&accounts, "alice");
    let policy = cheap();
    for _ in 0..5 {
        bad(accounts.authenticate(&policy, &who("alice", "guess"), T));
    }
    assert_throttled(accounts.authenticate(&policy, &who("alice", PW), T), 1);
    let later = T + ACCOUNT.window_ms;
    for _ in 0..5 {
        bad(accounts.authenticate(&policy, &who("alice", "guess"), later));
    }
    assert_throttled(accounts.authenticate(&policy, &who("alice", PW), later), 1);
    // One record per subject, overwritten in place.
    let throttle_keys = store
        .keys()
        .into_iter()
        .filter(|k| k.starts_with("throttle"))
        .count();
    assert_eq!(
        throttle_keys,
        2 * 3,
        "account, address, registration address"
    );
}

#[test]
fn an_address_registers_twenty_times_then_waits_even_after_successes() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let accounts = Accounts::new(&store, &publisher);
    let policy = cheap();
    let register = |name: &str, remote: &str, now: u64| {
        let id = name.to_string();
        accounts.register(&policy, &from(name, PW, remote), None, now, SALT, || id)
    };
    for i in 0..20 {
        register(&format!("u{i}"), "192.0.2.50:1", T).unwrap();
    }
    assert_eq!(policy.hashes(), 20);
    assert_throttled(register("u20", "192.0.2.50:2", T), 1);
    assert_eq!(policy.hashes(), 20, "refused before hashing");
    register("v0", "192.0.2.51:1", T).unwrap();
    register("u20", "192.0.2.50:3", T + 1_000).unwrap();
    assert_throttled(register("u21", "192.0.2.50:4", T + 1_000), 2);
    // Ten quiet minutes and the address starts afresh.
    let later = T + 1_000 + REGISTER.window_ms;
    for i in 21..41 {
        register(&format!("u{i}"), "192.0.2.50:5", later).unwrap();
    }
    assert_throttled(register("u41", "192.0.2.50:6", later), 1);
}

#[test]
fn failed_registrations_count_against_the_account() {
    let (store, publisher) = (MemoryStore::new(), RecordingPublisher::default());
    let accounts = Accounts::new(&store, &publisher);
    cadmium_user(&accounts, "alice");
    let policy = cheap();
    for i in 0..5 {
        let remote = format!("198.51.100.{i}:1");
        let taken = accounts.register(&policy, &from("alice", PW, &remote), None, T, SALT, || {
            "x".into()
        });
        assert_eq!(taken.unwrap_err().code, FailureCode::Exists);
    }
    let refused = accounts.register(
        &policy,
        &from("alice", PW, "198.51.100.9:1"),
        None,
        T,
        SALT,
        || "x".into(),
    );
    assert_throttled(refused, 1);
}

/// A store where `others` attempts take a throttle slot between every read and increment, as
/// concurrent calls on the host would.
struct Racing {
    inner: MemoryStore,
    others: Cell<u64>,
}

impl Store for Racing {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Failure> {
        self.inner.get(key)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), Failure> {
        self.inner.set(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), Failure> {
        self.inner.delete(key)
    }
    fn increment(&self, key: &str, delta: u64) -> Result<u64, Failure> {
        if key.starts_with("throttle-count/") {
            self.inner.increment(key, self.others.get())?;
        }
        self.inner.increment(key, delta)
    }
    fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, Failure> {
        self.inner.get_many(keys)
    }
    fn set_many(&self, entries: &[(String, Vec<u8>)]) -> Result<(), Failure> {
        self.inner.set_many(entries)
    }
}

#[test]
fn a_burst_gets_the_allowance_not_one_attempt_each() {
    let store = Racing {
        inner: MemoryStore::new(),
        others: Cell::new(0),
    };
    let publisher = RecordingPublisher::default();
    let accounts = Accounts::new(&store, &publisher);
    let policy = cheap();
    accounts
        .register(&policy, &who("alice", PW), Some("alice"), 5, SALT, no_id)
        .unwrap();
    // Three others in flight: within the allowance, so this one is hashed.
    store.others.set(3);
    accounts
        .authenticate(&policy, &who("alice", PW), T)
        .unwrap();
    // Ten in flight: this attempt is the eleventh, and waits as if they had failed.
    store.others.set(10);
    let hashed = policy.hashes();
    assert_throttled(accounts.authenticate(&policy, &who("alice", PW), T), 32);
    assert_eq!(policy.hashes(), hashed);
    // And the attempts that burst counted make the next caller wait too.
    store.others.set(0);
    assert_throttled(accounts.authenticate(&policy, &who("alice", PW), T + 1), 64);
}
