//! Messages crossing between Rebuttal and venueless clients in the same room.

use anyhow::Result;
use serde_json::json;

use crate::common::{Venueless, Wcc};
use crate::support::texts;
use crate::Cast;

/// A venueless client in the room Rebuttal created: messages cross both ways.
pub(crate) async fn cross_protocol(wcc: &Wcc, cast: &mut Cast) -> Result<()> {
    let room = cast.room.clone();
    let mut venueless: Venueless = wcc.venueless().await?;
    let ven_id = venueless.login("ven-device", Some("Vera")).await?;
    // Any protocol's user joins any room by its id; no operator step is needed.
    let joined = venueless
        .request("chat.join", json!({"channel": room}))
        .await?;
    assert_eq!(joined[0], "success", "{joined}");

    let sent = venueless
        .request(
            "chat.send",
            json!({"channel": room, "event_type": "channel.message",
                "content": {"type": "text", "body": "hi from venueless"}}),
        )
        .await?;
    assert_eq!(sent[0], "success", "{sent}");
    let crossed = cast
        .admin
        .expect("sendMessage", |p| {
            p["message"]["text"] == "hi from venueless"
        })
        .await?;
    assert_eq!(crossed["roomid"], room.as_str(), "{crossed}");
    assert_eq!(crossed["message"]["userid"], ven_id.as_str(), "{crossed}");
    assert_eq!(crossed["message"]["username"], "Vera", "{crossed}");
    cast.bob
        .expect("sendMessage", |p| p["message"]["userid"] == ven_id.as_str())
        .await?;

    cast.admin
        .send(json!({"type": "message", "roomid": room, "message": {"text": "hi from rebuttal"}}))
        .await?;
    let event = venueless
        .chat_event(|e| e["content"]["body"] == "hi from rebuttal")
        .await?;
    assert_eq!(event["sender"], cast.admin_id.as_str(), "{event}");
    assert_eq!(event["channel"], room.as_str(), "{event}");

    // Edits cross too: venueless edits its message (`replaces`), Rebuttal clients get the
    // segment again; a Rebuttal moderator removes it, venueless gets the deletion.
    let idx = crossed["message"]["idx"].clone();
    let edited = venueless
        .request(
            "chat.send",
            json!({"channel": room, "event_type": "channel.message", "replaces": idx,
                "content": {"type": "text", "body": "hi from venueless, edited"}}),
        )
        .await?;
    assert_eq!(edited[0], "success", "{edited}");
    cast.admin
        .expect("updateText", |p| {
            texts(p).contains(&"hi from venueless, edited".to_owned())
        })
        .await?;
    cast.admin
        .send(json!({"type": "removemessage", "roomid": room, "messageid": idx}))
        .await?;
    let deletion = venueless
        .chat_event(|e| e["replaces"] == idx && e["content"]["type"] == "deleted")
        .await?;
    assert_eq!(deletion["channel"], room.as_str(), "{deletion}");
    venueless.close().await?;
    Ok(())
}
