//! Throttling of password attempts (sign-in, password change, registration), decided before any
//! argon2 hashing: hashing is the one expensive thing this actor does, and it runs on the host's
//! only wasm thread, so an attempt that must wait is refused with a few reads and no hash.
//!
//! Each subject (an account, an address, an address's registrations) has a counter and a record.
//! An attempt first reads both; if the subject has used its allowance (`free` attempts) it must
//! wait 1 s after the last counted attempt, doubling with every further one, up to 5 minutes.
//! Otherwise the attempt takes a slot with the store's atomic `increment` *before* hashing and
//! writes the record's `last_at`. Counting before hashing keeps bursts honest: the store has no
//! compare-and-swap, so a hundred attempts sent at once all read the same state, but each gets its
//! own slot, and those beyond the allowance are refused too. A success moves the record's `base`
//! up to its slot, which resets the count (for rules that reset).
//!
//! Counters are bounded: one pair of keys per account or address ever tried, and a record older
//! than its rule's window is treated as fresh (its attempts no longer count), so the next attempt
//! overwrites it.

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};
use wcc_interface::{Failure, FailureCode};
use wcc_kv::{keys, Store};

/// Wait after the first attempt beyond the allowance; it doubles with each further attempt.
pub const FIRST_DELAY_MS: u64 = 1_000;
/// Longest wait between two attempts of one subject.
pub const MAX_DELAY_MS: u64 = 5 * 60 * 1_000;

/// How one kind of subject is throttled.
#[derive(Debug)]
pub struct Rule {
    /// The key segment (`keys::throttle`).
    pub kind: &'static str,
    /// Attempts allowed without waiting.
    pub free: u64,
    /// A record whose last attempt is older than this counts as fresh. Longer than
    /// [`MAX_DELAY_MS`], so waiting out the longest delay does not reset the count.
    pub window_ms: u64,
    /// Whether a successful attempt resets the count (failures in a row) or not (every attempt).
    pub resets: bool,
}

/// Sign-in failures in a row for one account (channel and client id).
pub const ACCOUNT: Rule = Rule {
    kind: "account",
    free: 5,
    window_ms: 60 * 60 * 1_000,
    resets: true,
};

/// Sign-in failures in a row from one address.
pub const ADDRESS: Rule = Rule {
    kind: "address",
    free: 5,
    window_ms: 60 * 60 * 1_000,
    resets: true,
};

/// Every registration from one address, so one address cannot create accounts in bulk: 20, then
/// delays until 10 minutes pass without one.
pub const REGISTER: Rule = Rule {
    kind: "register",
    free: 20,
    window_ms: 10 * 60 * 1_000,
    resets: false,
};

impl Rule {
    /// The wait required after `attempts` counted attempts, from the last of them.
    pub fn delay_ms(&self, attempts: u64) -> u64 {
        let Some(extra) = attempts.checked_sub(self.free) else {
            return 0;
        };
        // 2^9 s already exceeds the cap, so the shift never needs more than that.
        FIRST_DELAY_MS
            .saturating_mul(1 << extra.min(16))
            .min(MAX_DELAY_MS)
    }
}

/// The stored record of a subject: the counter value at the last reset, and when the last
/// attempt was counted (unix ms).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Mark {
    base: u64,
    last_at: u64,
}

/// A subject as read before an attempt.
struct Subject {
    rule: &'static Rule,
    record_key: String,
    count_key: String,
    /// The counter value that counts as zero.
    base: u64,
    /// The counter value read.
    count: u64,
}

/// An attempt that passed the throttle and has been counted against every subject; tell it how
/// the attempt ended with [`Attempt::succeeded`] (a failure needs nothing more).
#[must_use]
pub struct Attempt {
    /// Every subject with the slot this attempt took.
    taken: Vec<(Subject, u64)>,
}

/// The subject of an account: channel (an id, so without `/`) and client id.
pub fn account_subject(channel: &str, client_id: &str) -> String {
    format!("{channel}/{client_id}")
}

/// The subject of the address in `remote` (`ip:port`, `[v6]:port` or a bare address): IPv4 as
/// is, IPv6 by its /64 (one customer's allocation, so hopping within it does not escape the
/// count), IPv4-mapped IPv6 as IPv4. Anything else is used whole (the gateway always sends an
/// address), up to 64 bytes.
pub fn address_subject(remote: &str) -> String {
    let remote = remote.trim();
    let ip = remote
        .parse::<SocketAddr>()
        .map(|a| a.ip())
        .or_else(|_| remote.trim_matches(['[', ']']).parse::<IpAddr>());
    match ip.map(|ip| ip.to_canonical()) {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Err(_) if remote.is_empty() => "unknown".into(),
        Err(_) => {
            let end = (0..=remote.len().min(64))
                .rev()
                .find(|&i| remote.is_char_boundary(i))
                .unwrap_or(0);
            remote[..end].to_string()
        }
    }
}

/// Refuses with [`FailureCode::Throttled`] if any of `subjects` must still wait; otherwise counts
/// the attempt against each of them.
pub fn begin<S: Store>(
    store: &S,
    subjects: &[(&'static Rule, String)],
    now_ms: u64,
) -> Result<Attempt, Failure> {
    let mut read_keys = Vec::with_capacity(subjects.len() * 2);
    for (rule, subject) in subjects {
        read_keys.push(keys::throttle(rule.kind, subject));
        read_keys.push(keys::throttle_count(rule.kind, subject));
    }
    let values = store.get_many(&read_keys)?;
    let mut read = Vec::with_capacity(subjects.len());
    let mut wait = 0;
    for ((rule, _), (keys, values)) in subjects
        .iter()
        .zip(read_keys.chunks(2).zip(values.chunks(2)))
    {
        let count = parse_count(&keys[1], values[1].as_deref())?;
        // An unreadable record counts as fresh and is overwritten below, like a stale one.
        let mark = values[0]
            .as_deref()
            .and_then(|bytes| serde_json::from_slice::<Mark>(bytes).ok())
            .filter(|mark| now_ms.saturating_sub(mark.last_at) < rule.window_ms);
        let base = mark.map_or(count, |mark| mark.base.min(count));
        if let Some(mark) = mark {
            let due = mark.last_at.saturating_add(rule.delay_ms(count - base));
            wait = wait.max(due.saturating_sub(now_ms));
        }
        read.push(Subject {
            rule,
            record_key: keys[0].clone(),
            count_key: keys[1].clone(),
            base,
            count,
        });
    }
    if wait > 0 {
        return Err(throttled(wait));
    }

    let mut raced = 0;
    let mut marks = Vec::with_capacity(read.len());
    let mut taken = Vec::with_capacity(read.len());
    for subject in read {
        let slot = store.increment(&subject.count_key, 1)?;
        // Slots taken since the read are attempts in flight right now: beyond the allowance,
        // this one waits as if they had already been counted.
        if slot - 1 > subject.count {
            raced = raced.max(subject.rule.delay_ms(slot - 1 - subject.base));
        }
        let mark = Mark {
            base: subject.base,
            last_at: now_ms,
        };
        marks.push((subject.record_key.clone(), to_json(&mark)?));
        taken.push((subject, slot));
    }
    store.set_many(&marks)?;
    if raced > 0 {
        return Err(throttled(raced));
    }
    Ok(Attempt { taken })
}

impl Attempt {
    /// The attempt succeeded: the subjects whose rule resets start counting again from zero. A
    /// failure to record that is logged, not returned: the attempt itself did succeed.
    pub fn succeeded<S: Store>(self, store: &S, now_ms: u64) {
        let mut marks = Vec::new();
        for (subject, slot) in &self.taken {
            if subject.rule.resets {
                let mark = Mark {
                    base: *slot,
                    last_at: now_ms,
                };
                match to_json(&mark) {
                    Ok(json) => marks.push((subject.record_key.clone(), json)),
                    Err(e) => eprintln!("rooms: throttle reset of {}: {e}", subject.record_key),
                }
            }
        }
        if !marks.is_empty() {
            if let Err(e) = store.set_many(&marks) {
                eprintln!("rooms: throttle reset not stored: {e}");
            }
        }
    }
}

fn throttled(wait_ms: u64) -> Failure {
    Failure::new(
        FailureCode::Throttled,
        format!("try again in {} s", wait_ms.div_ceil(1_000).max(1)),
    )
}

fn parse_count(key: &str, bytes: Option<&[u8]>) -> Result<u64, Failure> {
    let Some(bytes) = bytes else { return Ok(0) };
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| Failure::unavailable(format!("{key} is not a counter")))
}

fn to_json(mark: &Mark) -> Result<Vec<u8>, Failure> {
    serde_json::to_vec(mark).map_err(|e| Failure::unavailable(e.to_string()))
}
