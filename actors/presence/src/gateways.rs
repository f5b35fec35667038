//! Gateways and their heartbeats: ending the sessions of a gateway that died without logging
//! them out.
//!
//! Every gateway publishes `GatewayAlive` from its start, every 5 s. This actor keeps
//! - the set of known gateways ([`GATEWAYS`], a [`LogSet`], so instances that learn of
//!   gateways at the same moment do not lose each other's adds),
//! - each gateway's last heartbeat ([`alive_key`], one plain value, last writer wins).
//!
//! A component has no timer, so the heartbeats of the live gateways drive everything: each one
//! checks the other known gateways, and one not heard from for [`MISSED_BEATS`] intervals
//! (15 s) is dead. Each of its sessions is removed with one UserLoggedOut published, then the
//! gateway is forgotten: its keys are deleted and it leaves the set.
//!
//! **Claims.** Every presence instance on every host hears every heartbeat (and each host's
//! messaging provider delivers it once more), so several find the same dead gateway at once.
//! Only the caller that gets 1 from `increment` on the gateway's claim key sweeps it. The key
//! also names a time slot ([`SLOT_MS`]); a claimant starts only early enough in its slot and
//! stops [`SLOT_MARGIN_MS`] before the slot ends, checking the clock before every session. So
//! - one that crashed, stalled or ran out of time holds the gateway up for the rest of its slot
//!   only: the first claimant of a later slot carries on, and never beside it;
//! - each session is published and then removed before the next one, so whoever carries on
//!   finds only what is left: every logout is published once.
//!
//! A claimant deletes its claim when it stops (and the previous slot's, left by one that
//! crashed), so claims do not pile up. The sweeper publishes a logout before removing the
//! session: one that dies in between leaves that session to the next claimant, which publishes
//! it again (the only way a logout goes out twice), unless presence's own copy of the published
//! logout, which it hears like any other, has removed the session first.
//!
//! A sweep that leaves a user with no live session tells the directory once
//! ([`crate::directory`]): the lists showing that user connected are then built again.
//!
//! A gateway that stops cleanly has published every logout already; it falls silent, is found
//! dead with no sessions left and is forgotten. One that is cut off from NATS for longer than
//! the expiry loses its sessions for good: they are not announced again when it is back.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use wcc_interface::{events::GATEWAY_ALIVE_INTERVAL_MS, ids, Envelope, Event, Failure};
use wcc_kv::{LogSet, Store};

use crate::{
    directory,
    sessions::{self, sessions, Session},
    Publisher,
};

/// A gateway not heard from for this many of its intervals is dead.
pub const MISSED_BEATS: u64 = 3;

/// The longest heartbeat interval a gateway may announce; the shortest is the default
/// ([`GATEWAY_ALIVE_INTERVAL_MS`]), so no gateway expires in less than 15 s.
pub const MAX_INTERVAL_MS: u64 = 60_000;

/// Length of a claim's time slot.
pub const SLOT_MS: u64 = 10_000;

/// A claimant starts no later and works no longer than this before its slot ends. It covers
/// clock skew between hosts and one store call in flight; a slot leaves 7 s of work, well under
/// the host's 15 s cap on an invocation, and more than a heartbeat interval, so every slot sees
/// a claim while any gateway beats.
pub const SLOT_MARGIN_MS: u64 = 3_000;

// Keys. They belong in `wcc_kv::keys` with the others; they are here until that crate is free
// to change.

/// [`LogSet`] of the gateways presence knows (value: when first heard of, unix ms).
pub const GATEWAYS: &str = "presence/gateways";

/// A gateway's last heartbeat ([`Alive`] JSON).
pub fn alive_key(gateway: &str) -> String {
    format!("presence/gateway/{gateway}/alive")
}

/// The counter claiming the sweep of a dead gateway in one time slot (`unix ms / SLOT_MS`).
pub fn claim_key(gateway: &str, slot: u64) -> String {
    format!("presence/gateway/{gateway}/expired/{slot}")
}

/// A gateway's last heartbeat as presence heard it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alive {
    /// Unix milliseconds by the clock of the presence instance that recorded it.
    pub at: u64,
    /// The interval the gateway announced.
    #[serde(default)]
    pub interval_ms: u64,
}

impl Alive {
    /// How long the gateway may stay silent.
    pub fn expiry_ms(&self) -> u64 {
        MISSED_BEATS
            * self
                .interval_ms
                .clamp(GATEWAY_ALIVE_INTERVAL_MS, MAX_INTERVAL_MS)
    }

    /// Whether the gateway is dead at `now_ms`.
    pub fn overdue(&self, now_ms: u64) -> bool {
        now_ms.saturating_sub(self.at) > self.expiry_ms()
    }
}

fn known<S: Store>(store: &S) -> LogSet<'_, S> {
    LogSet::new(store, GATEWAYS)
}

/// A heartbeat record as stored; an unreadable one counts as missing.
fn alive_of(bytes: Option<Vec<u8>>) -> Option<Alive> {
    serde_json::from_slice(&bytes?).ok()
}

/// `gateway` is alive: records it (known from now on, if it was not) and ends the sessions of
/// every other gateway found dead, if this caller wins the claim.
pub fn heartbeat<S: Store, P: Publisher>(
    store: &S,
    publisher: &P,
    gateway: &str,
    interval_ms: u64,
    clock: &impl Fn() -> u64,
) -> Result<(), Failure> {
    let now = clock();
    // Before it joins the set, so a gateway in the set without one is being forgotten.
    store.set_json(
        &alive_key(gateway),
        &Alive {
            at: now,
            interval_ms,
        },
    )?;
    let gateways: BTreeMap<String, u64> = known(store).entries()?;
    if !gateways.contains_key(gateway) {
        known(store).add(gateway, &now, now)?;
    }
    let others: Vec<&str> = gateways
        .keys()
        .map(String::as_str)
        .filter(|other| *other != gateway)
        .collect();
    sweep(store, publisher, &others, clock)
}

/// A login names `gateway` at `now_ms`: makes it known if it is not. Usually its first
/// heartbeat did, but a login can be handled first (instances run side by side), or late, after
/// the gateway died and was forgotten: its silence must end this session too.
pub fn vouch<S: Store>(store: &S, gateway: &str, now_ms: u64) -> Result<(), Failure> {
    if store.get(&alive_key(gateway))?.is_some() {
        return Ok(());
    }
    let alive = Alive {
        at: now_ms,
        interval_ms: GATEWAY_ALIVE_INTERVAL_MS,
    };
    store.set_json(&alive_key(gateway), &alive)?;
    known(store).add(gateway, &now_ms, now_ms)
}

/// Which of `gateways` are dead at `now_ms`. One without a heartbeat record is not: it is new
/// (its login was handled before its heartbeat) or forgotten (its sessions are gone).
pub fn overdue<S: Store>(
    store: &S,
    gateways: BTreeSet<&str>,
    now_ms: u64,
) -> Result<BTreeSet<String>, Failure> {
    if gateways.is_empty() {
        return Ok(BTreeSet::new());
    }
    let keys: Vec<String> = gateways.iter().map(|gateway| alive_key(gateway)).collect();
    let records = store.get_many(&keys)?;
    Ok(gateways
        .into_iter()
        .zip(records)
        .filter(|(_, record)| alive_of(record.clone()).is_some_and(|a| a.overdue(now_ms)))
        .map(|(gateway, _)| gateway.to_owned())
        .collect())
}

/// Expires each of `gateways` that is dead (or half forgotten: in the set without a heartbeat
/// record). Carries on past a failure and returns the first. If that left a user of theirs with
/// no live session, the directory is told once, however many sessions and gateways ended.
fn sweep<S: Store, P: Publisher>(
    store: &S,
    publisher: &P,
    gateways: &[&str],
    clock: &impl Fn() -> u64,
) -> Result<(), Failure> {
    if gateways.is_empty() {
        return Ok(());
    }
    let keys: Vec<String> = gateways.iter().map(|gateway| alive_key(gateway)).collect();
    let records = store.get_many(&keys)?;
    let now = clock();
    let mut failed = None;
    let mut ended_users = BTreeSet::new();
    for (gateway, record) in gateways.iter().zip(records) {
        if alive_of(record).is_some_and(|alive| !alive.overdue(now)) {
            continue;
        }
        if let Err(e) = expire(store, publisher, gateway, clock, &mut ended_users) {
            failed.get_or_insert(e);
        }
    }
    ended_users.retain(|user| !ids::is_guest(user));
    // If presence cannot be read, a list too many is better than lists that stay wrong.
    if !ended_users.is_empty()
        && sessions::any_offline(store, &ended_users, clock()).unwrap_or(true)
    {
        directory::users_changed(store, publisher, clock());
    }
    failed.map_or(Ok(()), Err)
}

/// Ends the sessions of `gateway`, found dead, and forgets it, if this caller wins the claim of
/// the current slot. The users of the sessions it ended go into `ended_users`.
fn expire<S: Store, P: Publisher>(
    store: &S,
    publisher: &P,
    gateway: &str,
    clock: &impl Fn() -> u64,
    ended_users: &mut BTreeSet<String>,
) -> Result<(), Failure> {
    let now = clock();
    let slot = now / SLOT_MS;
    let deadline = (slot + 1) * SLOT_MS - SLOT_MARGIN_MS;
    if now >= deadline {
        // Too late in this slot: a heartbeat in the next one claims it.
        return Ok(());
    }
    let claim = claim_key(gateway, slot);
    if store.increment(&claim, 1)? != 1 {
        // Someone else sweeps it in this slot (or crashed doing so: the next slot's claimant
        // carries on).
        return Ok(());
    }
    let swept = (|| {
        if slot > 0 {
            // Left by a claimant that crashed in the previous slot, if any.
            store.delete(&claim_key(gateway, slot - 1))?;
        }
        if end_sessions(store, publisher, gateway, clock, deadline, ended_users)? {
            forget(store, gateway, clock())?;
        }
        Ok(())
    })();
    // Whatever happened, the claim goes last, so nobody else starts on this gateway in this slot
    // before. One who does after (time left in the slot) carries on from what is stored; if the
    // gateway was forgotten, it finds nothing left and forgets it again.
    let released = store.delete(&claim);
    swept.and(released)
}

/// Publishes and removes the sessions of `gateway` until none is left (`true`) or `deadline`
/// comes (`false`). Also `false` if the gateway turns out alive after all. The user of each
/// session removed goes into `ended_users`.
fn end_sessions<S: Store, P: Publisher>(
    store: &S,
    publisher: &P,
    gateway: &str,
    clock: &impl Fn() -> u64,
    deadline: u64,
    ended_users: &mut BTreeSet<String>,
) -> Result<bool, Failure> {
    // Read again now that the claim is ours: a heartbeat may have come in since the check (a
    // gateway that was cut off for a while); it keeps its sessions.
    let alive = alive_of(store.get(&alive_key(gateway))?);
    if alive.is_some_and(|alive| !alive.overdue(clock())) {
        return Ok(false);
    }
    let all: BTreeMap<String, Session> = sessions(store).entries()?;
    for (connection, session) in all {
        if session.gateway != gateway {
            continue;
        }
        let now = clock();
        if now >= deadline {
            return Ok(false);
        }
        let logout = Event::UserLoggedOut {
            user: session.user.clone(),
            channel: session.channel,
            connection: connection.clone(),
        };
        let body = Envelope::new(logout.clone(), now).to_json();
        publisher.publish(&logout.subject(), body.as_bytes())?;
        sessions(store).remove(&connection, now)?;
        ended_users.insert(session.user);
    }
    Ok(true)
}

/// Deletes what presence kept about `gateway`, whose sessions are all gone (but its claim,
/// which its claimant deletes last).
fn forget<S: Store>(store: &S, gateway: &str, now_ms: u64) -> Result<(), Failure> {
    // The heartbeat record first: a gateway left in the set without one counts as dead, so the
    // next heartbeat finishes the forgetting.
    store.delete(&alive_key(gateway))?;
    known(store).remove(gateway, now_ms)
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::{handle_event, online_users, test_support::Recorder};
    use wcc_interface::events::{connection_id, GLOBAL_SUBJECT};
    use wcc_kv::MemoryStore;

    /// The start of a slot, so the offsets in the tests are offsets into slots.
    const T0: u64 = 1_700_000_000_000;

    fn deliver(store: &MemoryStore, publisher: &Recorder, event: Event, now: u64) {
        let body = Envelope::new(event, now).to_json();
        handle_event(store, publisher, body.as_bytes(), &|| now).unwrap();
    }

    fn beat(store: &MemoryStore, publisher: &Recorder, gateway: &str, now: u64) {
        let alive = Event::GatewayAlive {
            gateway: gateway.into(),
            interval_ms: GATEWAY_ALIVE_INTERVAL_MS,
            stats: None,
        };
        deliver(store, publisher, alive, now);
    }

    /// Logs `user` in on connection `n` of `gateway`; returns the connection id.
    fn login(store: &MemoryStore, user: &str, gateway: &str, n: u64, now: u64) -> String {
        let connection = connection_id(gateway, n);
        let event = Event::UserLoggedIn {
            user: user.into(),
            channel: "rebuttal".into(),
            connection: connection.clone(),
            gateway: gateway.into(),
        };
        deliver(store, &Recorder::default(), event, now);
        connection
    }

    fn users(store: &MemoryStore, now: u64) -> Vec<String> {
        online_users(store, now)
            .unwrap()
            .into_iter()
            .map(|u| u.user)
            .collect()
    }

    fn known_gateways(store: &MemoryStore) -> Vec<String> {
        known(store).entries::<u64>().unwrap().into_keys().collect()
    }

    /// Every key naming `gateway` (its heartbeat and claims).
    fn keys_of(store: &MemoryStore, gateway: &str) -> Vec<String> {
        let prefix = format!("presence/gateway/{gateway}/");
        store
            .keys()
            .into_iter()
            .filter(|key| key.starts_with(&prefix))
            .collect()
    }

    /// g1 (alice, bob) and g2 (carol) beat at T0; only g2 beats after that, every 5 s up to
    /// `until` (inclusive). Returns the recorder of every heartbeat's handling.
    fn g1_dies_at_t0(store: &MemoryStore, until: u64) -> Recorder<'static> {
        let publisher = Recorder::default();
        beat(store, &publisher, "g1", T0);
        beat(store, &publisher, "g2", T0);
        login(store, "alice", "g1", 1, T0 + 1);
        login(store, "bob", "g1", 2, T0 + 2);
        login(store, "carol", "g2", 1, T0 + 3);
        let mut at = T0 + 5_000;
        while at <= until {
            beat(store, &publisher, "g2", at);
            at += 5_000;
        }
        publisher
    }

    #[test]
    fn a_silent_gateways_sessions_end_with_one_logout_each_and_it_is_forgotten() {
        let store = MemoryStore::new();
        let publisher = g1_dies_at_t0(&store, T0 + 15_000);
        // Silent for exactly three intervals: not dead yet.
        assert!(publisher.published().is_empty());
        assert_eq!(users(&store, T0 + 15_000), ["alice", "bob", "carol"]);

        beat(&store, &publisher, "g2", T0 + 20_000);
        assert_eq!(publisher.logouts(), ["g1-1", "g1-2"]);
        assert_eq!(publisher.users_changes(), 1, "one list for both");
        let (subject, first) = &publisher.published()[0];
        assert_eq!(subject, GLOBAL_SUBJECT);
        assert_eq!(
            first,
            &Event::UserLoggedOut {
                user: "alice".into(),
                channel: "rebuttal".into(),
                connection: "g1-1".into(),
            }
        );
        assert_eq!(users(&store, T0 + 20_000), ["carol"]);
        // Forgotten: no key names it, and the set holds the live gateway only.
        assert!(keys_of(&store, "g1").is_empty(), "{:?}", store.keys());
        assert_eq!(known_gateways(&store), ["g2"]);

        // Later heartbeats, each delivered twice (two hosts), publish nothing more.
        for at in [T0 + 20_000, T0 + 25_000, T0 + 25_000, T0 + 30_000] {
            beat(&store, &publisher, "g2", at);
        }
        assert_eq!(publisher.logouts().len(), 2);
        assert_eq!(publisher.users_changes(), 1);
        assert_eq!(keys_of(&store, "g2"), ["presence/gateway/g2/alive"]);
    }

    #[test]
    fn two_presence_instances_sweeping_at_once_publish_each_logout_once() {
        let store = MemoryStore::new();
        g1_dies_at_t0(&store, T0 + 15_000);
        login(&store, "dave", "g1", 3, T0 + 4);
        // Instance B handles the same heartbeat (another host's delivery) while instance A is
        // publishing its first logout, and again after A is done.
        let other = Recorder::default();
        let interleaved = Cell::new(false);
        let first = Recorder {
            during: Some(Box::new(|| {
                if !interleaved.replace(true) {
                    beat(&store, &other, "g2", T0 + 20_000);
                }
            })),
            ..Recorder::default()
        };
        beat(&store, &first, "g2", T0 + 20_000);
        assert!(interleaved.get());
        beat(&store, &other, "g2", T0 + 20_000);
        beat(&store, &other, "g2", T0 + 21_000);

        assert_eq!(first.logouts(), ["g1-1", "g1-2", "g1-3"]);
        assert!(other.logouts().is_empty());
        assert_eq!(users(&store, T0 + 21_000), ["carol"]);
        assert!(keys_of(&store, "g1").is_empty(), "{:?}", store.keys());
    }

    #[test]
    fn a_live_gateways_sessions_stay() {
        let store = MemoryStore::new();
        let publisher = Recorder::default();
        login(&store, "alice", "g1", 1, T0);
        for n in 0..=12 {
            let at = T0 + n * 5_000;
            beat(&store, &publisher, "g1", at);
            beat(&store, &publisher, "g2", at + 2_500);
        }
        assert!(publisher.published().is_empty());
        assert_eq!(users(&store, T0 + 60_000), ["alice"]);
        assert_eq!(known_gateways(&store), ["g1", "g2"]);
        // Heartbeats do not pile up keys.
        let before = store.keys();
        beat(&store, &publisher, "g1", T0 + 65_000);
        beat(&store, &publisher, "g2", T0 + 65_000);
        assert_eq!(store.keys(), before);
    }

    #[test]
    fn queries_leave_out_an_overdue_gateways_sessions_before_any_sweep() {
        let store = MemoryStore::new();
        let publisher = Recorder::default();
        beat(&store, &publisher, "g1", T0);
        login(&store, "alice", "g1", 1, T0);
        // No gateway is left to drive a sweep; the session still stops counting.
        assert!(crate::is_online(&store, "alice", T0 + 15_000).unwrap());
        assert!(!crate::is_online(&store, "alice", T0 + 15_001).unwrap());
        assert!(users(&store, T0 + 15_001).is_empty());
        assert!(publisher.published().is_empty());
    }

    #[test]
    fn a_sweep_that_runs_out_of_its_slot_is_carried_on_in_the_next() {
        let store = MemoryStore::new();
        let publisher = Recorder::default();
        beat(&store, &publisher, "g1", T0);
        for n in 1..=6 {
            login(&store, "u", "g1", n, T0);
        }
        // Every reading of the clock takes a second: the claimant runs into its deadline.
        let clock = Cell::new(T0 + 20_000);
        let slow = || clock.replace(clock.get() + 1_000);
        let alive = Envelope::new(
            Event::GatewayAlive {
                gateway: "g2".into(),
                interval_ms: 5_000,
                stats: None,
            },
            T0,
        )
        .to_json();
        handle_event(&store, &publisher, alive.as_bytes(), &slow).unwrap();
        let first = publisher.logouts().len();
        assert!(0 < first && first < 6, "{first} logouts in one slot");
        assert!(store.keys().iter().all(|key| !key.contains("/expired/")));
        // Later in the same slot nobody starts; in the next one the rest goes.
        beat(&store, &publisher, "g2", T0 + 27_500);
        assert_eq!(publisher.logouts().len(), first);
        beat(&store, &publisher, "g2", T0 + 30_000);
        let logouts = publisher.logouts();
        assert_eq!(
            logouts,
            (1..=6).map(|n| format!("g1-{n}")).collect::<Vec<_>>()
        );
        assert!(keys_of(&store, "g1").is_empty(), "{:?}", store.keys());
    }

    #[test]
    fn a_crashed_claimant_is_relieved_in_the_next_slot() {
        let store = MemoryStore::new();
        let publisher = g1_dies_at_t0(&store, T0 + 15_000);
        // A claimant of g1 in slot T0 + 20 s died before publishing anything.
        let slot = (T0 + 20_000) / SLOT_MS;
        store.increment(&claim_key("g1", slot), 1).unwrap();
        beat(&store, &publisher, "g2", T0 + 20_000);
        beat(&store, &publisher, "g2", T0 + 25_000);
        assert!(publisher.logouts().is_empty());
        assert_eq!(users(&store, T0 + 25_000), ["carol"]);

        beat(&store, &publisher, "g2", T0 + 30_000);
        assert_eq!(publisher.logouts(), ["g1-1", "g1-2"]);
        // Its leftover claim went too.
        assert!(keys_of(&store, "g1").is_empty(), "{:?}", store.keys());
    }

    #[test]
    fn a_failed_publish_is_retried_without_repeating_what_went_out() {
        let store = MemoryStore::new();
        g1_dies_at_t0(&store, T0 + 15_000);
        let failing = Recorder {
            fail_after: 1,
            ..Recorder::default()
        };
        let alive = Envelope::new(
            Event::GatewayAlive {
                gateway: "g2".into(),
                interval_ms: 5_000,
                stats: None,
            },
            T0 + 20_000,
        )
        .to_json();
        let failed = handle_event(&store, &failing, alive.as_bytes(), &|| T0 + 20_000);
        assert!(failed.is_err());
        assert_eq!(failing.logouts(), ["g1-1"]);

        let publisher = Recorder::default();
        beat(&store, &publisher, "g2", T0 + 25_000);
        assert_eq!(publisher.logouts(), ["g1-2"]);
        assert!(keys_of(&store, "g1").is_empty(), "{:?}", store.keys());
    }

    #[test]
    fn a_gateway_that_stopped_cleanly_is_forgotten_without_logouts() {
        let store = MemoryStore::new();
        let publisher = Recorder::default();
        beat(&store, &publisher, "g1", T0);
        beat(&store, &publisher, "g2", T0);
        login(&store, "alice", "g1", 1, T0);
        // The stop: g1 logs its connection out and falls silent.
        let logout = Event::UserLoggedOut {
            user: "alice".into(),
            channel: "rebuttal".into(),
            connection: "g1-1".into(),
        };
        deliver(&store, &publisher, logout, T0 + 100);
        assert_eq!(publisher.users_changes(), 1, "alice went offline");
        for n in 1..=4 {
            beat(&store, &publisher, "g2", T0 + n * 5_000);
        }
        assert!(publisher.logouts().is_empty());
        assert_eq!(publisher.users_changes(), 1);
        assert!(keys_of(&store, "g1").is_empty(), "{:?}", store.keys());
        assert_eq!(known_gateways(&store), ["g2"]);
    }

    #[test]
    fn a_gateway_heard_again_before_its_sweep_keeps_its_sessions() {
        let store = MemoryStore::new();
        let publisher = Recorder::default();
        beat(&store, &publisher, "g1", T0);
        login(&store, "alice", "g1", 1, T0);
        // Cut off for 20 s, while no other gateway beats; then back.
        beat(&store, &publisher, "g1", T0 + 20_000);
        beat(&store, &publisher, "g2", T0 + 20_500);
        assert!(publisher.published().is_empty());
        assert_eq!(users(&store, T0 + 21_000), ["alice"]);
    }

    #[test]
    fn a_late_login_of_a_forgotten_gateway_still_ends() {
        let store = MemoryStore::new();
        let publisher = g1_dies_at_t0(&store, T0 + 20_000);
        assert_eq!(publisher.logouts(), ["g1-1", "g1-2"]);
        assert!(keys_of(&store, "g1").is_empty());
        // A login g1 published before it died, handled only now (or delivered once more).
        login(&store, "erin", "g1", 9, T0 + 21_000);
        assert_eq!(users(&store, T0 + 21_000), ["carol", "erin"]);
        for n in 0..=4 {
            beat(&store, &publisher, "g2", T0 + 25_000 + n * 5_000);
        }
        assert_eq!(publisher.logouts(), ["g1-1", "g1-2", "g1-9"]);
        assert!(keys_of(&store, "g1").is_empty(), "{:?}", store.keys());
        assert_eq!(users(&store, T0 + 45_000), ["carol"]);
    }

    #[test]
    fn sessions_of_gateways_without_heartbeats_never_expire() {
        let store = MemoryStore::new();
        let publisher = Recorder::default();
        // A login as gateways published it before they had heartbeats: no `gateway`.
        let old = r#"{"v":1,"at":1,"type":"UserLoggedIn","data":{"user":"olga","channel":"venueless","connection":"0123456789ab-1"}}"#;
        handle_event(&store, &publisher, old.as_bytes(), &|| T0).unwrap();
        assert_eq!(publisher.users_changes(), 1, "olga came online");
        beat(&store, &publisher, "g2", T0);
        beat(&store, &publisher, "g2", T0 + 60_000);
        beat(&store, &publisher, "g2", T0 + 120_000);
        assert!(publisher.logouts().is_empty());
        assert_eq!(publisher.users_changes(), 1);
        assert_eq!(users(&store, T0 + 120_000), ["olga"]);
        // And a session record stored before sessions named their gateway still reads.
        let stored: Session =
            serde_json::from_str(r#"{"user":"olga","channel":"venueless","since":1}"#).unwrap();
        assert_eq!(stored.gateway, "");
    }

    #[test]
    fn a_sweep_is_announced_only_if_it_left_someone_offline() {
        let store = MemoryStore::new();
        let publisher = Recorder::default();
        beat(&store, &publisher, "g1", T0);
        beat(&store, &publisher, "g2", T0);
        // Alice is on both gateways; the guest only on the one that dies.
        login(&store, "alice", "g1", 1, T0);
        login(&store, "alice", "g2", 1, T0);
        login(&store, "guest-g1-2", "g1", 2, T0);
        for n in 1..=4 {
            beat(&store, &publisher, "g2", T0 + n * 5_000);
        }
        assert_eq!(publisher.logouts(), ["g1-1", "g1-2"]);
        assert_eq!(publisher.users_changes(), 0, "alice is still online");
        assert_eq!(users(&store, T0 + 20_000), ["alice"]);
    }

    #[test]
    fn a_longer_announced_interval_gives_more_time_and_a_shorter_one_no_less_than_15_s() {
        let alive = |interval_ms| Alive { at: 0, interval_ms };
        assert!(!alive(20_000).overdue(60_000));
        assert!(alive(20_000).overdue(60_001));
        assert!(!alive(1_000).overdue(15_000));
        assert!(alive(0).overdue(15_001));
        assert!(alive(u64::MAX).overdue(180_001));
    }
}
