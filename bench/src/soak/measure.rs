//! What the soak measures at each point: the `wcc` bucket (its stream's own counts, and a census
//! of its keys by pattern with each key's stored size), the memory of every process of the
//! lattice, the gateway's open connections and who the core thinks is online.

use std::{
    collections::{BTreeMap, HashMap},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use async_nats::jetstream::{
    self,
    consumer::{push::OrderedConfig, DeliverPolicy, ReplayPolicy},
};
use futures::StreamExt;
use serde_json::{json, Value};

use crate::system;

/// The bucket every core actor opens (actors/kv/src/keys.rs) and its stream.
pub const BUCKET: &str = "wcc";
const STREAM: &str = "KV_wcc";

/// How a key counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// What was said: `room/*/msg/*` (one per message) and `msgid/*` (a message's UUID). It
    /// legitimately grows with every message and is left out of the bounded measures.
    History,
    /// A slot of a `LogSet` (`<set>/log/<n>`): churns with every change of its set and is
    /// bounded per set by compaction (actors/kv/src/log_set.rs), not by the set's size.
    LogSlot,
    /// Everything else: users, logins, rooms, memberships, sets' `seq` and `base`, sessions,
    /// throttles, tokens... Bounded by the soak's fixed users and rooms.
    State,
}

impl Class {
    pub fn name(self) -> &'static str {
        match self {
            Class::History => "history",
            Class::LogSlot => "log slot",
            Class::State => "state",
        }
    }
}

/// Keys and stored bytes of one pattern (or class).
#[derive(Clone, Copy, Debug, Default)]
pub struct Tally {
    pub keys: u64,
    pub bytes: u64,
}

impl Tally {
    fn add(&mut self, bytes: u64) {
        self.keys += 1;
        self.bytes += bytes;
    }
}

/// One reading of the bucket.
#[derive(Clone, Debug, Default)]
pub struct Bucket {
    /// The stream's own counts (`state.messages`, `state.bytes`, `state.num_subjects`).
    pub messages: u64,
    pub bytes: u64,
    pub subjects: u64,
    /// The census: every live key once (its last message), by pattern.
    pub patterns: BTreeMap<String, (Class, Tally)>,
    pub history: Tally,
    pub log_slots: Tally,
    pub state: Tally,
    /// The log set with the most slots stored, and how many.
    pub largest_log: (String, u64),
    pub census_seconds: f64,
}

impl Bucket {
    pub fn keys(&self) -> u64 {
        self.history.keys + self.log_slots.keys + self.state.keys
    }

    /// The bucket's bytes without what was said: the stream's `state.bytes` less the stored
    /// size of the history keys.
    pub fn bytes_without_history(&self) -> u64 {
        self.bytes.saturating_sub(self.history.bytes)
    }

    pub fn json(&self) -> Value {
        let patterns: BTreeMap<&str, Value> = self
            .patterns
            .iter()
            .map(|(p, (class, t))| {
                (
                    p.as_str(),
                    json!({"class": class.name(), "keys": t.keys, "bytes": t.bytes}),
                )
            })
            .collect();
        let tally = |t: &Tally| json!({"keys": t.keys, "bytes": t.bytes});
        json!({
            "stream": {"messages": self.messages, "bytes": self.bytes,
                       "num_subjects": self.subjects},
            "keys": self.keys(),
            "history": tally(&self.history),
            "log_slots": tally(&self.log_slots),
            "state": tally(&self.state),
            "bytes_without_history": self.bytes_without_history(),
            "census_bytes": self.history.bytes + self.log_slots.bytes + self.state.bytes,
            "largest_log": {"set": self.largest_log.0, "slots": self.largest_log.1},
            "census_seconds": self.census_seconds,
            "patterns": patterns,
        })
    }
}

/// Reads the stream's counts, then every key's last message (headers only, so the values are
/// not sent: `Nats-Msg-Size` tells each value's size).
pub async fn bucket(nats: &async_nats::Client) -> Result<Bucket> {
    let began = Instant::now();
    let js = jetstream::new(nats.clone());
    let mut stream = js
        .get_stream(STREAM)
        .await
        .with_context(|| format!("no stream {STREAM}"))?;
    let info = stream.info().await?;
    let mut out = Bucket {
        messages: info.state.messages,
        bytes: info.state.bytes,
        subjects: info.state.subjects_count,
        ..Bucket::default()
    };
    let prefix = format!("$KV.{BUCKET}.");
    let consumer = stream
        .create_consumer(OrderedConfig {
            deliver_subject: nats.new_inbox(),
            description: Some("wcc-bench soak census".into()),
            filter_subject: format!("{prefix}>"),
            headers_only: true,
            replay_policy: ReplayPolicy::Instant,
            deliver_policy: DeliverPolicy::LastPerSubject,
            ..Default::default()
        })
        .await?;
    let mut pending = consumer.cached_info().num_pending;
    let mut messages = consumer.messages().await?;
    let mut logs: HashMap<String, u64> = HashMap::new();
    while pending > 0 {
        let message = tokio::time::timeout(Duration::from_secs(30), messages.next())
            .await
            .context("the census stalled")?
            .context("the census ended early")??;
        pending = message.info().map_err(|e| anyhow::anyhow!("{e}"))?.pending;
        let Some(key) = message.subject.as_str().strip_prefix(&prefix) else {
            continue;
        };
        let headers = message.headers.as_ref();
        let header = |name: &str| headers.and_then(|h| h.get(name)).map(|v| v.as_str());
        // A delete or purge marker (written by an older provider, or another NATS tool) is
        // no key but still takes its bytes.
        let marker = matches!(header("KV-Operation"), Some("DEL" | "PURGE"));
        let value: u64 = header("Nats-Msg-Size")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        let stored = stored_size(message.subject.as_str(), header_bytes(headers), value);
        let pattern = if marker {
            format!("(delete marker) {}", pattern(key))
        } else {
            pattern(key)
        };
        let class = class_of(&pattern);
        match class {
            Class::History => out.history.add(stored),
            Class::LogSlot => {
                out.log_slots.add(stored);
                if let Some(at) = key.rfind("/log/") {
                    *logs.entry(key[..at].to_owned()).or_default() += 1;
                }
            }
            Class::State => out.state.add(stored),
        }
        out.patterns
            .entry(pattern)
            .or_insert((class, Tally::default()))
            .1
            .add(stored);
    }
    out.largest_log = logs.into_iter().max_by_key(|(_, n)| *n).unwrap_or_default();
    out.census_seconds = began.elapsed().as_secs_f64();
    Ok(out)
}

/// The bytes nats-server's file store counts for one message (`fileStoreMsgSize`): record
/// length, sequence, timestamp, subject length, subject, (header length, headers,) payload,
/// hash.
fn stored_size(subject: &str, headers: u64, value: u64) -> u64 {
    let base = 22 + subject.len() as u64 + value + 8;
    if headers == 0 {
        base
    } else {
        base + 4 + headers
    }
}

/// The size of a message's own headers as stored, from what a headers-only delivery shows
/// (it adds `Nats-Msg-Size`, which is not stored).
fn header_bytes(headers: Option<&async_nats::HeaderMap>) -> u64 {
    let Some(headers) = headers else { return 0 };
    let mut bytes = 0;
    for (name, values) in headers.iter() {
        let name: &str = name.as_ref();
        if name.eq_ignore_ascii_case("Nats-Msg-Size") {
            continue;
        }
        for value in values {
            bytes += name.len() as u64 + 2 + value.as_str().len() as u64 + 2;
        }
    }
    if bytes == 0 {
        0
    } else {
        // "NATS/1.0\r\n" ... "\r\n"
        bytes + 12
    }
}

/// A key with its ids and numbers replaced by `*`, so that keys of one kind fall together:
/// `room/soak-text-3/msg/17` is `room/*/msg/*`, `login/venueless/soak-vl-4` is
/// `login/venueless/*`. The layout is actors/kv/src/keys.rs's (keys as the keyvalue provider
/// escapes them: `/` is kept, other punctuation is `=XX`).
pub fn pattern(key: &str) -> String {
    let parts: Vec<&str> = key.split('/').collect();
    // How many segments after the first are ids, by the first segment.
    let ids = match parts[0] {
        "room" | "user" | "msgid" | "password" | "token" | "group" | "invite" => 1,
        "member" | "ban" => 2,
        // `login/<channel>/<client id>`: the channel stays.
        "login" => return format!("login/{}/*", parts.get(1).copied().unwrap_or_default()),
        // `throttle/<kind>/<subject...>`: a subject may hold `/` (`<channel>/<client id>`).
        "throttle" | "throttle-count" => {
            return format!(
                "{}/{}/*",
                parts[0],
                parts.get(1).copied().unwrap_or_default()
            )
        }
        _ => 0,
    };
    let mut out = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        let id = (1..=ids).contains(&i) || looks_like_id(part);
        out.push(if id { "*" } else { part });
    }
    out.join("/")
}

/// Numbers, and long tokens with digits (UUIDs, hashes, generated ids).
fn looks_like_id(part: &str) -> bool {
    !part.is_empty()
        && (part.bytes().all(|b| b.is_ascii_digit())
            || (part.len() >= 16 && part.bytes().any(|b| b.is_ascii_digit())))
}

pub fn class_of(pattern: &str) -> Class {
    let pattern = pattern.trim_start_matches("(delete marker) ");
    if pattern == "msgid/*" || (pattern.starts_with("room/*/msg/") && pattern.ends_with("/*")) {
        Class::History
    } else if pattern.ends_with("/log/*") || pattern == "log/*" {
        Class::LogSlot
    } else {
        Class::State
    }
}

/// One process of the lattice.
#[derive(Clone, Debug)]
pub struct Process {
    pub pid: u32,
    /// Stable over the run: `nats-server`, `wcc-lattice host`, a provider's name...
    pub label: String,
    pub rss_bytes: u64,
    pub cpu_seconds: f64,
}

/// Every process of the lattice this bench started: the `wcc-lattice up` child of this process
/// whose command line names `state`, and all of its descendants.
pub fn processes(state: &str) -> Result<Vec<Process>> {
    let me = std::process::id();
    let mut parents: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut up = None;
    for entry in std::fs::read_dir("/proc")?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Some(ppid) = parent_of(pid) else { continue };
        parents.entry(ppid).or_default().push(pid);
        if ppid == me {
            let words = cmdline(pid);
            if words.iter().any(|w| w == "up") && words.iter().any(|w| w == state) {
                up = Some(pid);
            }
        }
    }
    let Some(up) = up else {
        bail!("the `wcc-lattice up` this bench started is not running");
    };
    let mut pids = vec![up];
    let mut i = 0;
    while i < pids.len() {
        if let Some(children) = parents.get(&pids[i]) {
            pids.extend(children.iter().copied());
        }
        i += 1;
    }
    pids.sort_unstable();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for pid in pids {
        let Some((rss_bytes, cpu_seconds)) = system::process_usage(&pid.to_string()) else {
            continue;
        };
        let mut label = label_of(pid);
        let n = seen.entry(label.clone()).or_default();
        *n += 1;
        if *n > 1 {
            label = format!("{label} #{n}");
        }
        out.push(Process {
            pid,
            label,
            rss_bytes,
            cpu_seconds,
        });
    }
    Ok(out)
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 2..]
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn cmdline(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .unwrap_or_default()
        .split(|b| *b == 0)
        .filter(|w| !w.is_empty())
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect()
}

/// `wcc-lattice <subcommand>` for the launcher's own processes, else the program's file name.
fn label_of(pid: u32) -> String {
    let words = cmdline(pid);
    let program = words
        .first()
        .map(|w| w.rsplit('/').next().unwrap_or(w).to_owned())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .unwrap_or_default()
                .trim()
                .to_owned()
        });
    match words.get(1) {
        Some(sub) if program.starts_with("wcc-lattice") && !sub.starts_with('-') => {
            format!("{program} {sub}")
        }
        // A provider the host unpacked from `<artifacts>/<name>.par.gz`: its file name is the
        // archive's path with `/` and `.` as `_`.
        _ => match program.strip_suffix("_par_gz") {
            Some(path) => format!("provider {}", path.rsplit('_').next().unwrap_or(path)),
            None => program,
        },
    }
}

/// The users the core lists as online (`GET /online` on the admin API), by channel (a user on
/// two channels counts in both).
pub fn online_users(admin: &str, token: &str) -> Result<(u64, BTreeMap<String, u64>)> {
    let body = ureq::get(&format!("http://{admin}/online"))
        .set("Authorization", &format!("Bearer {token}"))
        .timeout(Duration::from_secs(20))
        .call()?
        .into_string()?;
    let list: Value = serde_json::from_str(&body)?;
    let list = list.as_array().cloned().unwrap_or_default();
    let mut by_channel = BTreeMap::new();
    for user in &list {
        for channel in user["channels"].as_array().into_iter().flatten() {
            let channel = channel.as_str().unwrap_or("?").to_owned();
            *by_channel.entry(channel).or_default() += 1;
        }
    }
    Ok((list.len() as u64, by_channel))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_fall_into_patterns() {
        let cases = [
            ("room/soak-text-3/msg/17", "room/*/msg/*", Class::History),
            (
                "msgid/3b51aa00-1234-4d2b-9f3e-000000000000",
                "msgid/*",
                Class::History,
            ),
            ("room/soak-text-3", "room/*", Class::State),
            (
                "room/soak-text-3/members/log/130",
                "room/*/members/log/*",
                Class::LogSlot,
            ),
            (
                "room/soak-text-3/members/base",
                "room/*/members/base",
                Class::State,
            ),
            ("member/soak-text-3/u1", "member/*/*", Class::State),
            ("user/u1/rooms/seq", "user/*/rooms/seq", Class::State),
            (
                "login/venueless/soak-vl-4",
                "login/venueless/*",
                Class::State,
            ),
            (
                "throttle/account/cadmium/soak-cd-1",
                "throttle/account/*",
                Class::State,
            ),
            (
                "presence/sessions/log/77",
                "presence/sessions/log/*",
                Class::LogSlot,
            ),
            (
                "presence/sessions/base",
                "presence/sessions/base",
                Class::State,
            ),
            ("rooms/log/3", "rooms/log/*", Class::LogSlot),
            ("access/founder", "access/founder", Class::State),
        ];
        for (key, want, class) in cases {
            assert_eq!(pattern(key), want, "{key}");
            assert_eq!(class_of(want), class, "{key}");
        }
    }

    #[test]
    fn stored_size_is_the_file_stores() {
        assert_eq!(stored_size("$KV.wcc.a", 0, 10), 22 + 9 + 10 + 8);
        assert_eq!(stored_size("$KV.wcc.a", 20, 10), 22 + 9 + 10 + 8 + 4 + 20);
    }
}
