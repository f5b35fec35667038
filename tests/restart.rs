//! Acknowledged messages survive a host restart, and clients reconnect afterwards.

mod common;

use common::Wcc;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_a_host_restart() -> anyhow::Result<()> {
    let mut wcc = Wcc::start().await?;
    wcc.create_room("durable").await?;

    let mut client = wcc.venueless().await?;
    let user = client.login("client-durable", Some("Dora")).await?;
    assert_eq!(
        client
            .request("chat.join", json!({"channel": "durable"}))
            .await?[0],
        "success"
    );
    for n in 1..=5 {
        let reply = client
            .request("chat.send", json!({"channel": "durable", "event_type": "channel.message", "content": {"type": "text", "body": format!("kept {n}")}}))
            .await?;
        assert_eq!(reply[0], "success", "{reply}");
    }

    wcc.lattice.stop_host(0).await?;
    // The gateway went down with its host: after the frames already sent, the socket ends.
    let ended = loop {
        match client.recv().await {
            Ok(_) => continue,
            Err(e) => break format!("{e:#}"),
        }
    };
    assert!(
        !ended.contains("in time"),
        "connection outlived its host: {ended}"
    );
    wcc.lattice.restart_host(0).await?;
    wcc.wait_ready().await?;

    let mut client = wcc.venueless().await?;
    let again = client.login("client-durable", None).await?;
    assert_eq!(
        again, user,
        "the same client id is the same user after a restart"
    );
    let joined = client
        .request("chat.join", json!({"channel": "durable"}))
        .await?;
    assert_eq!(joined[2]["next_event_id"], 6, "{joined}");
    let history = client
        .request("chat.fetch", json!({"channel": "durable", "count": 50}))
        .await?;
    let bodies: Vec<_> = history[2]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["content"]["body"].clone())
        .collect();
    assert_eq!(
        bodies,
        (1..=5)
            .map(|n| json!(format!("kept {n}")))
            .collect::<Vec<_>>()
    );

    let reply = client
        .request("chat.send", json!({"channel": "durable", "event_type": "channel.message", "content": {"type": "text", "body": "after"}}))
        .await?;
    assert_eq!(reply[0], "success", "{reply}");
    let event = client
        .chat_event(|e| e["content"]["body"] == "after")
        .await?;
    assert_eq!(event["event_id"], 6);
    wcc.lattice.shutdown().await?;
    Ok(())
}
