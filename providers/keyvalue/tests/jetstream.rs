//! Drives `store.rs` against a real nats-server with JetStream (see
//! `common/mod.rs` for how the server is started and found).

mod common;

use std::sync::Arc;

use bytes::Bytes;
use common::NatsServer;
use keyvalue::config::Target;
use keyvalue::store::{Write, PAGE_SIZE};

fn target(bucket: &str) -> Target {
    Target {
        bucket: bucket.to_string(),
        replicas: 1,
        max_value_bytes: 1_048_576,
        max_age: None,
    }
}

/// Polls `key` until it is gone; the bound is a hang, not a measurement.
async fn gone_within(
    kv: &keyvalue::store::KvStore,
    t: &Target,
    key: &str,
    bound: std::time::Duration,
) -> bool {
    let deadline = tokio::time::Instant::now() + bound;
    while tokio::time::Instant::now() < deadline {
        if kv.get(t, key).await.unwrap().is_none() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn an_expiring_bucket_forgets_entries_by_age_and_keeps_fresh_ones() {
    let server = NatsServer::start().await;
    let kv = server.store().await;
    let age = std::time::Duration::from_secs(2);
    let t = Target {
        max_age: Some(age),
        ..target("expiring")
    };
    kv.set(&t, "old", Bytes::from_static(b"1")).await.unwrap();
    assert!(kv.get(&t, "old").await.unwrap().is_some());
    // Rewritten halfway: an entry lives `age` after its last write, not its first.
    tokio::time::sleep(age / 2).await;
    kv.set(&t, "rewritten", Bytes::from_static(b"1"))
        .await
        .unwrap();
    assert!(
        gone_within(&kv, &t, "old", age * 5).await,
        "old entry outlived its age"
    );
    assert!(kv.get(&t, "rewritten").await.unwrap().is_some());

    // The same bucket name without an age limit is the plain kind: nothing goes by itself.
    let plain = target("plain");
    kv.set(&plain, "k", Bytes::from_static(b"1")).await.unwrap();
    assert!(!gone_within(&kv, &plain, "k", age * 2).await);
}

#[tokio::test]
async fn a_bucket_made_without_an_age_limit_gets_it_when_configured() {
    let server = NatsServer::start().await;
    let t = target("later");
    server
        .store()
        .await
        .set(&t, "k", Bytes::from_static(b"1"))
        .await
        .unwrap();
    // A provider started later with the bucket configured as expiring (a fresh store: no cache).
    let kv = server.store().await;
    let expiring = Target {
        max_age: Some(std::time::Duration::from_secs(1)),
        ..target("later")
    };
    assert!(
        gone_within(&kv, &expiring, "k", std::time::Duration::from_secs(10)).await,
        "the existing bucket did not take the age limit"
    );
}

#[tokio::test]
async fn set_get_delete_exists() {
    let server = NatsServer::start().await;
    let kv = server.store().await;
    let t = target("basic");

    assert_eq!(kv.get(&t, "missing").await.unwrap(), None);
    assert!(!kv.exists(&t, "missing").await.unwrap());
    kv.delete(&t, "missing")
        .await
        .expect("deleting a missing key is fine");

    kv.set(&t, "greeting", Bytes::from_static(b"hello"))
        .await
        .unwrap();
    assert_eq!(
        kv.get(&t, "greeting").await.unwrap().as_deref(),
        Some(&b"hello"[..])
    );
    assert!(kv.exists(&t, "greeting").await.unwrap());
    kv.set(&t, "greeting", Bytes::from_static(b"bye"))
        .await
        .unwrap();
    assert_eq!(
        kv.get(&t, "greeting").await.unwrap().as_deref(),
        Some(&b"bye"[..])
    );

    kv.delete(&t, "greeting").await.unwrap();
    assert_eq!(kv.get(&t, "greeting").await.unwrap(), None);
    assert!(!kv.exists(&t, "greeting").await.unwrap());

    kv.set(&t, "empty", Bytes::new()).await.unwrap();
    assert_eq!(
        kv.get(&t, "empty").await.unwrap().as_deref(),
        Some(&b""[..])
    );

    // Exactly the limit is stored; one byte more is refused before NATS sees it.
    let limit = t.max_value_bytes;
    kv.set(&t, "big", Bytes::from(vec![7u8; limit]))
        .await
        .unwrap();
    assert_eq!(
        kv.get(&t, "big").await.unwrap().map(|v| v.len()),
        Some(limit)
    );
    let err = kv
        .set(&t, "big", Bytes::from(vec![7u8; limit + 1]))
        .await
        .unwrap_err();
    assert_eq!(format!("{err:#}"), "value too large");

    // Invalid bucket names are errors, not panics.
    assert!(kv.get(&target("no.dots"), "k").await.is_err());
}

#[tokio::test]
async fn escaping_through_real_kv() {
    let server = NatsServer::start().await;
    let kv = server.store().await;
    let t = target("escaping");
    let keys = [
        "a.b",
        "",
        "=",
        ".",
        "..",
        "*",
        ">",
        "sp ace",
        "ü/é 🎉",
        "a=2Eb",
        "x/y_z-0",
    ];
    for (i, key) in keys.iter().enumerate() {
        kv.set(&t, key, Bytes::from(i.to_string())).await.unwrap();
    }
    for (i, key) in keys.iter().enumerate() {
        let value = kv.get(&t, key).await.unwrap();
        assert_eq!(value, Some(Bytes::from(i.to_string())), "key {key:?}");
    }

    let (listed, cursor) = kv.list_keys(&t, None).await.unwrap();
    let mut expected: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    expected.sort();
    assert_eq!(listed, expected);
    assert_eq!(cursor, None);

    // The stored form is the documented escape, visible to other NATS tools.
    let raw = async_nats::connect(&server.url).await.unwrap();
    let raw = async_nats::jetstream::new(raw)
        .get_key_value("escaping")
        .await
        .unwrap();
    assert_eq!(raw.get("a=2Eb").await.unwrap(), Some(Bytes::from("0")));
    assert_eq!(raw.get("=").await.unwrap(), Some(Bytes::from("1")));
    assert_eq!(raw.get("a=3D2Eb").await.unwrap(), Some(Bytes::from("9")));

    // A key written by someone else is skipped by list-keys, not fatal.
    raw.put("foreign.key", Bytes::from("x")).await.unwrap();
    let (listed, _) = kv.list_keys(&t, None).await.unwrap();
    assert_eq!(listed, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn increment_is_atomic_across_callers() {
    let server = NatsServer::start().await;
    let t = target("counters");

    // Separate connections, as if 20 provider instances raced on one key.
    let mut stores = Vec::new();
    for _ in 0..20 {
        stores.push(Arc::new(server.store().await));
    }
    let tasks: Vec<_> = stores
        .into_iter()
        .map(|kv| {
            let t = t.clone();
            tokio::spawn(async move { kv.increment(&t, "hits", 1).await })
        })
        .collect();
    let mut seen = Vec::new();
    for task in tasks {
        seen.push(task.await.expect("task").expect("increment"));
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=20).collect::<Vec<u64>>());

    let kv = server.store().await;
    assert_eq!(kv.get(&t, "hits").await.unwrap(), Some(Bytes::from("20")));
    assert_eq!(kv.increment(&t, "hits", 5).await.unwrap(), 25);

    // Missing and deleted counters start from zero.
    assert_eq!(kv.increment(&t, "fresh", 7).await.unwrap(), 7);
    kv.delete(&t, "fresh").await.unwrap();
    assert_eq!(kv.increment(&t, "fresh", 3).await.unwrap(), 3);

    kv.set(&t, "text", Bytes::from("abc")).await.unwrap();
    assert!(kv.increment(&t, "text", 1).await.is_err());
    kv.set(&t, "max", Bytes::from(u64::MAX.to_string()))
        .await
        .unwrap();
    assert!(kv.increment(&t, "max", 1).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counter_moved_by_someone_else_is_read_again() {
    let server = NatsServer::start().await;
    let t = target("moved");
    let (a, b) = (server.store().await, server.store().await);

    // `a` remembers what it wrote; `b` moving the counter must not make `a` reuse a number.
    assert_eq!(a.increment(&t, "seq", 1).await.unwrap(), 1);
    assert_eq!(b.increment(&t, "seq", 1).await.unwrap(), 2);
    assert_eq!(a.increment(&t, "seq", 1).await.unwrap(), 3);
    // A delete starts it again from 0, even for the one that remembers 3.
    b.delete(&t, "seq").await.unwrap();
    assert_eq!(a.increment(&t, "seq", 1).await.unwrap(), 1);
    // A plain write over it is read as it is.
    b.set(&t, "seq", Bytes::from("40")).await.unwrap();
    assert_eq!(a.increment(&t, "seq", 2).await.unwrap(), 42);
    b.set(&t, "seq", Bytes::from("abc")).await.unwrap();
    assert!(a.increment(&t, "seq", 1).await.is_err());
}

#[tokio::test(flavor = "current_thread")]
async fn a_burst_of_increments_shares_its_writes() {
    let server = NatsServer::start().await;
    let t = target("burst");
    let kv = Arc::new(server.store().await);
    kv.increment(&t, "seq", 1).await.unwrap();
    let before = stream_state(&server.url, "burst").await.last_sequence;

    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (kv, t) = (Arc::clone(&kv), t.clone());
            tokio::spawn(async move { kv.increment(&t, "seq", 1).await })
        })
        .collect();
    let mut seen = Vec::new();
    for task in tasks {
        seen.push(task.await.expect("task").expect("increment"));
    }
    // Each caller got its own number, in the order they asked.
    assert_eq!(seen, (2..=101).collect::<Vec<u64>>());
    // The first went alone; the 99 that queued behind it went in one more write, not 99.
    let writes = stream_state(&server.url, "burst").await.last_sequence - before;
    assert!(writes <= 3, "{writes} writes for 100 increments");
}

#[tokio::test]
async fn remembered_counters_are_bounded() {
    let server = NatsServer::start().await;
    let t = target("many");
    let kv = server.store().await;
    let counters = keyvalue::counters::MAX_KEPT + 100;
    for n in 0..counters {
        kv.increment(&t, &format!("room/{n}/seq"), 1).await.unwrap();
    }
    assert!(
        kv.counters_kept() <= keyvalue::counters::MAX_KEPT + 1,
        "{} counters kept",
        kv.counters_kept()
    );
    // A forgotten counter is read again, not restarted.
    assert_eq!(kv.increment(&t, "room/0/seq", 1).await.unwrap(), 2);
}

/// A write whose key and value are their parts with the number between them (one part: none).
fn write(offset: u32, key: &[&str], value: &[&str]) -> Write {
    Write {
        offset,
        key: key[0].to_string(),
        key_ends_with_number: key.len() > 1,
        value: Bytes::from(value.concat()),
        value_number_at: (value.len() > 1).then(|| value[0].len() as u32),
    }
}

#[tokio::test]
async fn append_numbers_and_writes_in_one_call() {
    let server = NatsServer::start().await;
    let t = target("log");
    let kv = server.store().await;

    let first = kv
        .append(
            &t,
            vec![],
            "room/a/seq",
            1,
            vec![
                write(0, &["room/a/msg/", ""], &[r#"{"n":"#, "}"]),
                write(0, &["id/x"], &["at ", ""]),
            ],
        )
        .await
        .unwrap();
    assert_eq!(first, Some((1, vec![])));
    assert_eq!(
        kv.get(&t, "room/a/msg/1").await.unwrap(),
        Some(Bytes::from(r#"{"n":1}"#))
    );
    assert_eq!(kv.get(&t, "id/x").await.unwrap(), Some(Bytes::from("at 1")));

    // Only where every key named present exists.
    kv.set(&t, "room/a", Bytes::from("{}")).await.unwrap();
    let proof = vec!["room/a".to_string(), "member/a/bob".to_string()];
    let refused = kv
        .append(
            &t,
            proof.clone(),
            "room/a/seq",
            1,
            vec![write(0, &["room/a/msg/", ""], &["bob"])],
        )
        .await
        .unwrap();
    assert_eq!(refused, None);
    assert_eq!(kv.get(&t, "room/a/msg/2").await.unwrap(), None);
    kv.set(&t, "member/a/bob", Bytes::from("1")).await.unwrap();
    let first = kv
        .append(
            &t,
            proof,
            "room/a/seq",
            3,
            (0..3)
                .map(|i| write(i, &["room/a/msg/", ""], &["#", ""]))
                .collect(),
        )
        .await
        .unwrap();
    // The first of three numbers, and what the keys named present hold.
    assert_eq!(first, Some((2, vec![Bytes::from("{}"), Bytes::from("1")])));
    for n in 2..=4 {
        let found = kv.get(&t, &format!("room/a/msg/{n}")).await.unwrap();
        assert_eq!(found, Some(Bytes::from(format!("#{n}"))));
    }
    assert_eq!(
        kv.get(&t, "room/a/seq").await.unwrap(),
        Some(Bytes::from("4"))
    );

    // What cannot be done reserves nothing.
    assert!(kv
        .append(&t, vec![], "room/a/seq", 0, vec![])
        .await
        .is_err());
    assert!(kv
        .append(
            &t,
            vec![],
            "room/a/seq",
            1,
            vec![write(1, &["k/", ""], &["v"])]
        )
        .await
        .is_err());
    assert_eq!(
        kv.get(&t, "room/a/seq").await.unwrap(),
        Some(Bytes::from("4"))
    );
    // A value too large is not written; its number is spent, as after any failed write.
    let huge = "x".repeat(1_048_577);
    assert!(kv
        .append(
            &t,
            vec![],
            "room/a/seq",
            1,
            vec![write(0, &["k/", ""], &[huge.as_str()])]
        )
        .await
        .is_err());
    assert_eq!(kv.get(&t, "k/5").await.unwrap(), None);
    assert_eq!(
        kv.get(&t, "room/a/seq").await.unwrap(),
        Some(Bytes::from("5"))
    );
}

#[tokio::test]
async fn batch_operations_keep_order() {
    let server = NatsServer::start().await;
    let kv = server.store().await;
    let t = target("batch");
    let pairs = vec![
        ("k1".to_string(), Bytes::from("v1")),
        ("k.3".to_string(), Bytes::from("v3")),
    ];
    kv.set_many(&t, pairs).await.unwrap();

    let got = kv
        .get_many(
            &t,
            vec!["k.3".into(), "nope".into(), "k1".into(), "k.3".into()],
        )
        .await
        .unwrap();
    assert_eq!(
        got,
        vec![
            Some(("k.3".to_string(), Bytes::from("v3"))),
            None,
            Some(("k1".to_string(), Bytes::from("v1"))),
            Some(("k.3".to_string(), Bytes::from("v3"))),
        ]
    );

    kv.delete_many(&t, vec!["k1".into(), "never-there".into()])
        .await
        .unwrap();
    assert!(!kv.exists(&t, "k1").await.unwrap());
    assert!(kv.exists(&t, "k.3").await.unwrap());

    let too_big = vec![
        ("ok".to_string(), Bytes::from("x")),
        (
            "big".to_string(),
            Bytes::from(vec![0u8; t.max_value_bytes + 1]),
        ),
    ];
    assert!(kv.set_many(&t, too_big).await.is_err());
    assert!(
        !kv.exists(&t, "ok").await.unwrap(),
        "an oversized batch writes nothing"
    );
}

/// A get-many is one request to JetStream however many keys it names (a log set's slots, a
/// history page), and still answers every key: past the server's 1,024 subjects a request,
/// rewritten, removed by this store, and deleted by another KV client (a marker).
#[tokio::test]
async fn get_many_is_one_request_per_thousand_keys_and_answers_every_key() {
    use futures::StreamExt as _;

    let server = NatsServer::start().await;
    let kv = server.store().await;
    let t = target("many");
    let pairs: Vec<(String, Bytes)> = (0..1500)
        .map(|i| (format!("log/{i}"), Bytes::from(format!("v{i}"))))
        .collect();
    kv.set_many(&t, pairs).await.unwrap();
    kv.set(&t, "log/5", Bytes::from("rewritten")).await.unwrap();
    kv.delete(&t, "log/7").await.unwrap();
    let raw = async_nats::connect(&server.url).await.unwrap();
    async_nats::jetstream::new(raw.clone())
        .get_key_value("many")
        .await
        .unwrap()
        .delete("log/9")
        .await
        .unwrap();

    let mut requests = raw.subscribe("$JS.API.DIRECT.GET.>").await.unwrap();
    raw.flush().await.unwrap();
    let keys: Vec<String> = (0..1600).map(|i| format!("log/{i}")).collect();
    let got = kv.get_many(&t, keys.clone()).await.unwrap();

    let expected: Vec<Option<(String, Bytes)>> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let value = match i {
                5 => Some("rewritten".to_string()),
                7 | 9 => None,
                i if i < 1500 => Some(format!("v{i}")),
                _ => None,
            };
            value.map(|v| (key.clone(), Bytes::from(v)))
        })
        .collect();
    assert_eq!(got, expected);

    raw.flush().await.unwrap();
    let mut seen = 0;
    while let Ok(Some(_)) =
        tokio::time::timeout(std::time::Duration::from_millis(200), requests.next()).await
    {
        seen += 1;
    }
    assert_eq!(seen, 2, "1,600 keys are two requests of at most 1,024");

    let none = kv
        .get_many(&t, vec!["missing/1".into(), "missing/2".into()])
        .await
        .unwrap();
    assert_eq!(none, vec![None, None]);
    assert_eq!(kv.get_many(&t, Vec::new()).await.unwrap(), Vec::new());
}

#[tokio::test]
async fn list_keys_pages_in_sorted_order() {
    let server = NatsServer::start().await;
    let kv = server.store().await;
    let t = target("paging");

    assert_eq!(kv.list_keys(&t, None).await.unwrap(), (vec![], None));

    let total = 2 * PAGE_SIZE + 500;
    let mut all: Vec<String> = (0..total).map(|i| format!("key.{i}")).collect();
    let pairs = all.iter().map(|k| (k.clone(), Bytes::from("v"))).collect();
    kv.set_many(&t, pairs).await.unwrap();
    kv.delete(&t, "key.0").await.unwrap();
    all.retain(|k| k != "key.0");
    all.sort();

    let mut listed = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let (page, next) = kv.list_keys(&t, cursor).await.unwrap();
        assert!(page.len() <= PAGE_SIZE);
        listed.extend(page);
        pages += 1;
        match next {
            Some(next) => {
                assert_eq!(next, listed.len() as u64, "cursor is the offset");
                cursor = Some(next);
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(listed, all);

    let past_end = kv.list_keys(&t, Some(u64::MAX)).await.unwrap();
    assert_eq!(past_end, (vec![], None));
}

/// Message count and bytes of a bucket's stream, as the server reports them.
async fn stream_state(url: &str, bucket: &str) -> async_nats::jetstream::stream::State {
    let js = async_nats::jetstream::new(async_nats::connect(url).await.unwrap());
    let mut stream = js.get_stream(format!("KV_{bucket}")).await.unwrap();
    stream.info().await.unwrap().state.clone()
}

/// Total size of the files under `dir`.
fn disk_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => disk_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Deleting a key leaves no delete marker: after writing and deleting 1,000
/// distinct keys (compacted log slots are never reused) the bucket's stream
/// holds exactly what it held before.
#[tokio::test]
async fn deletes_leave_nothing_behind() {
    let server = NatsServer::start().await;
    let kv = server.store().await;
    let t = target("compacted");
    let raw = async_nats::jetstream::new(async_nats::connect(&server.url).await.unwrap());

    kv.set(&t, "keep", Bytes::from_static(b"survivor"))
        .await
        .unwrap();
    let before = stream_state(&server.url, &t.bucket).await;
    println!(
        "before: messages={} bytes={} subjects={} first_seq={} last_seq={}",
        before.messages,
        before.bytes,
        before.subjects_count,
        before.first_sequence,
        before.last_sequence
    );
    assert_eq!(before.messages, 1);

    let keys: Vec<String> = (0..1000).map(|n| format!("log/{n}")).collect();
    let value = Bytes::from(vec![b'x'; 100]);
    // Half through set, half through set-many.
    for key in &keys[..500] {
        kv.set(&t, key, value.clone()).await.unwrap();
    }
    let pairs = keys[500..]
        .iter()
        .map(|k| (k.clone(), value.clone()))
        .collect();
    kv.set_many(&t, pairs).await.unwrap();
    let full = stream_state(&server.url, &t.bucket).await;
    println!(
        "full: messages={} bytes={} subjects={} first_seq={} last_seq={}",
        full.messages, full.bytes, full.subjects_count, full.first_sequence, full.last_sequence
    );
    assert_eq!(full.messages, 1001);

    // Half through delete, half through delete-many.
    for key in &keys[..500] {
        kv.delete(&t, key).await.unwrap();
    }
    kv.delete_many(&t, keys[500..].to_vec()).await.unwrap();
    let after = stream_state(&server.url, &t.bucket).await;
    println!(
        "after: messages={} bytes={} subjects={} first_seq={} last_seq={} deleted={:?}",
        after.messages,
        after.bytes,
        after.subjects_count,
        after.first_sequence,
        after.last_sequence,
        after.deleted_count
    );
    assert_eq!(after.messages, before.messages, "no delete markers remain");
    assert_eq!(after.bytes, before.bytes);
    assert_eq!(after.subjects_count, before.subjects_count);
    assert_eq!(after.last_sequence, 1001, "sequences are never reused");

    for key in &keys {
        assert_eq!(kv.get(&t, key).await.unwrap(), None, "{key}");
    }
    // Not even a marker: the raw KV sees no entry at all.
    let bucket = raw.get_key_value(t.bucket.as_str()).await.unwrap();
    assert_eq!(bucket.entry("log/0").await.unwrap(), None);
    assert_eq!(
        kv.list_keys(&t, None).await.unwrap(),
        (vec!["keep".into()], None)
    );
    assert_eq!(
        kv.get(&t, "keep").await.unwrap().as_deref(),
        Some(&b"survivor"[..]),
        "deleting other keys leaves this one alone"
    );

    // A deleted key can be written again, and deleted again.
    kv.set(&t, "log/7", Bytes::from_static(b"again"))
        .await
        .unwrap();
    assert_eq!(
        kv.get(&t, "log/7").await.unwrap().as_deref(),
        Some(&b"again"[..])
    );
    kv.delete(&t, "log/7").await.unwrap();
    assert_eq!(kv.get(&t, "log/7").await.unwrap(), None);

    // A deleted counter restarts at the delta.
    assert_eq!(kv.increment(&t, "count", 40).await.unwrap(), 40);
    assert_eq!(kv.increment(&t, "count", 2).await.unwrap(), 42);
    kv.delete(&t, "count").await.unwrap();
    assert_eq!(kv.increment(&t, "count", 5).await.unwrap(), 5);
    kv.delete_many(&t, vec!["count".into()]).await.unwrap();
    assert_eq!(kv.increment(&t, "count", 3).await.unwrap(), 3);
    kv.delete(&t, "count").await.unwrap();

    // Keys that need escaping are purged by their exact escaped subject; a
    // key spelled like a wildcard purges only itself.
    for key in ["a.b", "*", ">", "", "log/*"] {
        kv.set(&t, key, Bytes::from_static(b"v")).await.unwrap();
    }
    kv.delete_many(&t, vec!["*".into(), ">".into(), "log/*".into()])
        .await
        .unwrap();
    assert_eq!(
        kv.list_keys(&t, None).await.unwrap().0,
        vec!["".to_string(), "a.b".into(), "keep".into()]
    );
    kv.delete_many(&t, vec!["a.b".into(), "".into()])
        .await
        .unwrap();

    let end = stream_state(&server.url, &t.bucket).await;
    println!(
        "end: messages={} bytes={} subjects={} first_seq={} last_seq={}",
        end.messages, end.bytes, end.subjects_count, end.first_sequence, end.last_sequence
    );
    assert_eq!((end.messages, end.bytes), (before.messages, before.bytes));
}

/// Purged keys stay gone across a server crash and restart: the server's
/// tombstones, not a marker message, remember the purge.
#[tokio::test]
async fn deletes_survive_a_restart() {
    let mut server = NatsServer::start().await;
    let t = target("restart");
    {
        let kv = server.store().await;
        kv.set(&t, "keep", Bytes::from_static(b"k")).await.unwrap();
        for n in 0..100 {
            kv.set(&t, &format!("log/{n}"), Bytes::from_static(b"v"))
                .await
                .unwrap();
        }
        kv.delete_many(&t, (0..100).map(|n| format!("log/{n}")).collect())
            .await
            .unwrap();
        assert_eq!(kv.increment(&t, "count", 4).await.unwrap(), 4);
        kv.delete(&t, "count").await.unwrap();
    }
    let before = stream_state(&server.url, &t.bucket).await;
    server.restart().await;
    let after = stream_state(&server.url, &t.bucket).await;
    println!(
        "restart: messages {} -> {}, bytes {} -> {}, last_seq {} -> {}",
        before.messages,
        after.messages,
        before.bytes,
        after.bytes,
        before.last_sequence,
        after.last_sequence
    );
    assert_eq!(
        (after.messages, after.bytes, after.last_sequence),
        (1, before.bytes, 102)
    );
    let kv = server.store().await;
    assert_eq!(kv.get(&t, "log/5").await.unwrap(), None);
    assert_eq!(kv.list_keys(&t, None).await.unwrap().0, vec!["keep"]);
    assert_eq!(kv.increment(&t, "count", 6).await.unwrap(), 6);
}

/// Deletes racing increments and sets of the same key: every call succeeds,
/// and once the racing stops a final delete leaves the stream empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deletes_racing_writes() {
    let server = NatsServer::start().await;
    let t = target("racing");
    let mut tasks = Vec::new();
    for i in 0..4 {
        let kv = Arc::new(server.store().await);
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..100u64 {
                match i {
                    0 => kv.delete(&t, "c").await.map(|_| ()),
                    1 => kv.set(&t, "c", Bytes::from(n.to_string())).await,
                    _ => kv.increment(&t, "c", 1).await.map(|_| ()),
                }
                .unwrap_or_else(|e| panic!("task {i} call {n}: {e:#}"));
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let kv = server.store().await;
    // Whatever survived is a counter or a set value: a decimal.
    if let Some(v) = kv.get(&t, "c").await.unwrap() {
        std::str::from_utf8(&v).unwrap().parse::<u64>().unwrap();
    }
    kv.delete(&t, "c").await.unwrap();
    assert_eq!(kv.get(&t, "c").await.unwrap(), None);
    assert_eq!(kv.increment(&t, "c", 9).await.unwrap(), 9);
    kv.delete(&t, "c").await.unwrap();
    let state = stream_state(&server.url, &t.bucket).await;
    assert_eq!((state.messages, state.bytes), (0, 0));
}

/// Join/leave churn as the actors produce it: every cycle appends a new log
/// slot and compacts (deletes) the oldest, so slot numbers grow forever while
/// the live window stays at 50 keys, beside one key that is never deleted
/// (and so pins the stream's first sequence and oldest message block).
/// The stream's message count and bytes must stay flat, and its files on
/// disk settle within one message block, however many cycles run.
///
/// `CHURN_CYCLES` sets the number of cycles (default 30,000, which writes
/// about twice the disk bound).
#[tokio::test]
async fn churn_keeps_bucket_bounded() {
    // Emptied message blocks are reclaimed, and tombstones dropped, at the
    // periodic sync (every two minutes by default); sync every second so the
    // test sees that happen.
    let server = NatsServer::start_syncing_every(1).await;
    let kv = server.store().await;
    let t = target("churn");
    let cycles: u64 = std::env::var("CHURN_CYCLES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(30_000);
    const WINDOW: u64 = 50;
    // nats-server's message block size for KV streams (4 MiB) plus slack.
    const DISK_BOUND: u64 = 5 * 1024 * 1024;
    let value = Bytes::from(vec![b'm'; 200]);
    kv.set(&t, "meta", Bytes::from_static(b"room"))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut first_bytes = None;
    let mut max_disk = 0;
    for n in 0..cycles {
        kv.set(&t, &format!("log/{n}"), value.clone())
            .await
            .unwrap();
        if n >= WINDOW {
            // Alternate the two delete paths.
            let old = format!("log/{}", n - WINDOW);
            if n % 2 == 0 {
                kv.delete(&t, &old).await.unwrap();
            } else {
                kv.delete_many(&t, vec![old]).await.unwrap();
            }
        }
        if (n + 1) % (cycles / 10).max(1) == 0 {
            let state = stream_state(&server.url, &t.bucket).await;
            let disk = disk_bytes(server.store_dir());
            max_disk = max_disk.max(disk);
            println!(
                "cycle {:>7}: messages={} bytes={} last_seq={} disk={} ({:.1?})",
                n + 1,
                state.messages,
                state.bytes,
                state.last_sequence,
                disk,
                started.elapsed()
            );
            assert_eq!(state.messages, 1 + WINDOW.min(n + 1));
            let first_bytes = *first_bytes.get_or_insert(state.bytes);
            // Only the digits of the live slot numbers grow.
            assert!(
                state.bytes <= first_bytes + WINDOW * 8,
                "stream bytes stay flat: {first_bytes} -> {}",
                state.bytes
            );
        }
    }
    // Between syncs a full block may wait to be reclaimed; after one, only
    // the block being written (and the pinned key's compacted block) remain.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let disk = disk_bytes(server.store_dir());
    println!("settled: disk={disk} (max seen {max_disk})");
    assert!(
        disk <= DISK_BOUND,
        "disk holds {disk} bytes, over {DISK_BOUND}"
    );
}
