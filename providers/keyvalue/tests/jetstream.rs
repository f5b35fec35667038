//! Drives `store.rs` against a real nats-server with JetStream (see
//! `common/mod.rs` for how the server is started and found).

mod common;

use std::sync::Arc;

use bytes::Bytes;
use common::NatsServer;
use keyvalue::config::Target;
use keyvalue::store::PAGE_SIZE;

fn target(bucket: &str) -> Target {
    Target {
        bucket: bucket.to_string(),
        replicas: 1,
        max_value_bytes: 1_048_576,
    }
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
