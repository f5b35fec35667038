//! `say`: a line reaches the room's other members on the other transport and on venueless, and
//! venueless reaches both; a sender never gets its own line or entrance back.

use anyhow::{ensure, Result};
use serde_json::json;

use crate::common::{Venueless, Wcc};
use crate::support::assert_ok;
use crate::Clients;

/// say reaches the other transport and venueless; venueless reaches both. Returns Vera's
/// venueless client, which stays signed in to the end of the story.
pub(crate) async fn say_reaches_the_other_transport_and_venueless(
    wcc: &Wcc,
    clients: &mut Clients,
) -> Result<Venueless> {
    let Clients {
        tel,
        web,
        tel_user,
        web_user,
        ..
    } = clients;
    let mut vera = wcc.venueless().await?;
    let vera_id = vera.login("vera", Some("Vera")).await?;
    let joined = vera
        .request("chat.join", json!({"channel": "lobby"}))
        .await?;
    assert_eq!(joined[0], "success", "{joined}");
    assert_eq!(
        tel.request("say hello from telnet").await?,
        json!({"status": "OK", "context": "response", "messageCount": 3})
    );
    let line = web.chat("hello from telnet").await?;
    assert_eq!(line["from"], tel_user.as_str());
    assert_eq!(line["room"], "lobby");
    assert!(line["sentAt"].as_u64().unwrap() > 0);
    let event = vera
        .chat_event(|e| e["content"]["body"] == "hello from telnet")
        .await?;
    assert_eq!(event["sender"], tel_user.as_str());
    let sent = vera
        .request("chat.send", json!({"channel": "lobby", "event_type": "channel.message", "content": {"type": "text", "body": "hi from venueless"}}))
        .await?;
    assert_eq!(sent[0], "success", "{sent}");
    for client in [&mut *tel, &mut *web] {
        let line = client.chat("hi from venueless").await?;
        assert_eq!(line["from"], vera_id.as_str());
    }
    // The sender's own line is not sent back (upstream's chat page prints it itself). A room's
    // events reach each connection in order, so one that came back would be here already.
    ensure!(
        !tel.saw("hello from telnet"),
        "the telnet sender got its own say back"
    );
    // Nor its own entrance: `web` goes upstairs, listens to the lobby (so the lobby's events
    // reach it however the race with its subscription goes) and comes back. telnet sees it
    // leave and enter; `web` hears telnet's next line, so its own lines would be here by then.
    wcc.create_room("upstairs").await?;
    assert_ok(&web.request("roomChange upstairs").await?);
    assert_ok(&web.request("listenToRoom lobby").await?);
    assert_ok(&web.request("roomChange lobby").await?);
    for line in ["I have left the room", "I have entered the room"] {
        tel.push(|v| v["message"] == line && v["from"] == web_user.as_str())
            .await?;
    }
    assert_ok(&tel.request("say welcome back downstairs").await?);
    web.chat("welcome back downstairs").await?;
    let own = format!("\"from\":\"{web_user}\"");
    ensure!(
        !web.saw(&own),
        "the websocket client heard its own entrance"
    );
    assert_ok(&web.request("silenceRoom lobby").await?);
    Ok(vera)
}

/// A telnet client that types ahead (here, 30 lines in one write) gets each `say` answered in
/// order, one `messageCount` after another, and the room hears the lines in the order typed:
/// the lines that queued while the first was handled reach the core together.
pub(crate) async fn lines_typed_ahead_are_answered_and_heard_in_order(
    clients: &mut Clients,
) -> Result<()> {
    let Clients { tel, web, .. } = clients;
    const LINES: usize = 30;
    let typed: String = (0..LINES).map(|n| format!("say ahead {n}\r\n")).collect();
    tel.send_bytes(typed.as_bytes()).await?;
    let first = tel.response().await?;
    assert_eq!(first["status"], "OK", "{first}");
    let first_count = first["messageCount"].as_u64().unwrap();
    for n in 1..LINES as u64 {
        let response = tel.response().await?;
        assert_eq!(
            response,
            json!({"status": "OK", "context": "response", "messageCount": first_count + n})
        );
    }
    for n in 0..LINES {
        let line = web
            .push(|v| {
                v["context"] == "user"
                    && v["message"]
                        .as_str()
                        .is_some_and(|m| m.starts_with("ahead "))
            })
            .await?;
        assert_eq!(line["message"], format!("ahead {n}"), "{line}");
    }
    Ok(())
}
