//! End to end over wRPC: the provider's generated exports served through the
//! provider-sdk's `WrpcClient`, called with client bindings of the same WIT
//! the way a wasmCloud host forwards a component's `wasi:keyvalue` imports.
//! Covers the glue that `tests/jetstream.rs` cannot: type conversion, error
//! mapping and config from `init`.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use common::NatsServer;
use keyvalue::KeyValueProvider;
use wasmcloud_provider_sdk::core::secrets::SecretValue;
use wasmcloud_provider_sdk::{
    serve_provider_exports, Provider, ProviderConnection, ProviderInitConfig,
};

mod client {
    wit_bindgen_wrpc::generate!({ world: "client", path: "wit", generate_all });
}
use client::wcc::keyvalue::log;
use client::wrpc::keyvalue::{atomics, batch, store};

struct InitConfig {
    config: HashMap<String, String>,
    secrets: HashMap<String, SecretValue>,
}

impl ProviderInitConfig for InitConfig {
    fn get_provider_id(&self) -> &str {
        "test-keyvalue"
    }
    fn get_config(&self) -> &HashMap<String, String> {
        &self.config
    }
    fn get_secrets(&self) -> &HashMap<String, SecretValue> {
        &self.secrets
    }
}

/// One thread, as the host runs (docs/design.md, "No call may lose its reply"): the pinned
/// wRPC transport's reply router may drop a reply when its task waits in a thread pool's
/// queue; on one thread it always runs before the reply can arrive. A thread pool here made
/// this test hang once in a loaded `make test`.
#[tokio::test(flavor = "current_thread")]
async fn calls_over_wrpc_like_the_host() {
    let server = NatsServer::start().await;
    let provider = KeyValueProvider::default();
    let config = HashMap::from([
        ("nats_url".to_string(), server.url.clone()),
        ("bucket_prefix".to_string(), "wcc_".to_string()),
        ("max_value_bytes".to_string(), "8".to_string()),
    ]);
    provider
        .init(InitConfig {
            config,
            secrets: HashMap::new(),
        })
        .await
        .expect("init");

    let nats = async_nats::connect(&server.url)
        .await
        .expect("lattice connection");
    let conn = ProviderConnection::new(
        Arc::new(nats),
        "test-keyvalue",
        "default",
        "test-host".to_string(),
        HashMap::new(),
        nkeys::XKey::new(),
        nkeys::XKey::new(),
    )
    .expect("provider connection");
    let wrpc = conn
        .get_wrpc_client("test-keyvalue")
        .await
        .expect("wrpc client");
    let served = wrpc.clone();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop_rx.await;
        };
        serve_provider_exports(&served, provider, shutdown, keyvalue::bindings::serve).await
    });
    // Subscriptions are set up asynchronously; wait until a call goes through.
    let mut ready = false;
    for _ in 0..50 {
        if let Ok(Ok(_)) = store::exists(&wrpc, None, "rooms", "probe").await {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(ready, "provider never answered over wRPC");

    let value = Bytes::from("hi");
    store::set(&wrpc, None, "rooms", "a.b", &value)
        .await
        .unwrap()
        .unwrap();
    let got = store::get(&wrpc, None, "rooms", "a.b")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, Some(value));
    assert!(store::exists(&wrpc, None, "rooms", "a.b")
        .await
        .unwrap()
        .unwrap());

    // The prefix from the provider config applies, and keys are escaped.
    let raw = async_nats::jetstream::new(async_nats::connect(&server.url).await.unwrap());
    let bucket = raw
        .get_key_value("wcc_rooms")
        .await
        .expect("prefixed bucket");
    assert_eq!(bucket.get("a=2Eb").await.unwrap(), Some(Bytes::from("hi")));

    // Store errors come back as error::other, not as transport failures.
    let big = Bytes::from("123456789");
    match store::set(&wrpc, None, "rooms", "k", &big).await.unwrap() {
        Err(store::Error::Other(msg)) => assert_eq!(msg, "value too large"),
        other => panic!("expected other(value too large), got {other:?}"),
    }
    let bad = store::get(&wrpc, None, "bad.bucket", "k").await.unwrap();
    assert!(matches!(bad, Err(store::Error::Other(_))), "{bad:?}");

    assert_eq!(
        atomics::increment(&wrpc, None, "rooms", "n", 2)
            .await
            .unwrap()
            .unwrap(),
        2
    );
    assert_eq!(
        atomics::increment(&wrpc, None, "rooms", "n", 3)
            .await
            .unwrap()
            .unwrap(),
        5
    );

    // wcc:keyvalue/log: the counter's next number, written into a record, in one call.
    let writes = [log::NumberedWrite {
        offset: 0,
        key: "x".to_string(),
        key_ends_with_number: false,
        value: Bytes::from("v"),
        value_number_at: Some(1),
    }];
    let appended = log::append(&wrpc, None, "rooms", &["n"], "n", 1, &writes)
        .await
        .unwrap()
        .unwrap()
        .expect("n exists");
    // The number, and what the keys named present held before it was taken.
    assert_eq!(appended.first, 6);
    assert_eq!(appended.present, [Bytes::from("5")]);
    let written = store::get(&wrpc, None, "rooms", "x")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(written, Some(Bytes::from("v6")));
    let refused = log::append(&wrpc, None, "rooms", &[], "n", 0, &[])
        .await
        .unwrap();
    assert!(refused.is_err(), "{refused:?}");

    let pairs = [("x", Bytes::from("1")), ("y", Bytes::from("2"))];
    let pairs: Vec<(&str, &Bytes)> = pairs.iter().map(|(k, v)| (*k, v)).collect();
    batch::set_many(&wrpc, None, "rooms", &pairs)
        .await
        .unwrap()
        .unwrap();
    let many = batch::get_many(&wrpc, None, "rooms", &["y", "zz", "x"])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        many,
        vec![
            Some(("y".to_string(), Bytes::from("2"))),
            None,
            Some(("x".to_string(), Bytes::from("1")))
        ]
    );
    batch::delete_many(&wrpc, None, "rooms", &["x", "y"])
        .await
        .unwrap()
        .unwrap();

    let listed = store::list_keys(&wrpc, None, "rooms", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(listed.keys, vec!["a.b".to_string(), "n".to_string()]);
    assert_eq!(listed.cursor, None);

    store::delete(&wrpc, None, "rooms", "a.b")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store::get(&wrpc, None, "rooms", "a.b")
            .await
            .unwrap()
            .unwrap(),
        None
    );

    let _ = stop_tx.send(());
    serving.await.expect("serve task").expect("serve exports");
}
