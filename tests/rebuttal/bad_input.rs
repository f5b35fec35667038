//! Bad input: an unknown packet type is an error the connection survives; a malformed packet
//! closes the connection with 3001.

use anyhow::Result;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::common::rebuttal::PASSWORD;
use crate::common::Wcc;
use crate::support::answer;
use crate::Cast;

/// Malformed packets close with 3001 (each on its own connection); an unknown type is an
/// error and the connection goes on.
pub(crate) async fn bad_packets(wcc: &Wcc, cast: &mut Cast) -> Result<()> {
    let room = cast.room.clone();
    let unknown = cast.bob.refused(json!({"type": "teleport"})).await?;
    assert_eq!(unknown, "Unknown packet type: teleport");
    let still = answer(&mut cast.bob, &room).await?;
    assert_eq!(
        still["roomid"],
        room.as_str(),
        "the connection survives an unknown type: {still}"
    );

    let logged_in_bad = r#"{"type":"talking","talking":"very"}"#;
    for bad in [
        Message::text("this is not json"),
        Message::text(r#"["type", "login"]"#),
        Message::text(r#"{"type": 7}"#),
        Message::text(r#"{"type":"login","email":"a@b.c"}"#),
        Message::text(r#"{"type":"getmessages","roomid":42,"segment":null}"#),
        Message::binary(vec![0xde, 0xad]),
    ] {
        let mut client = wcc.rebuttal().await?;
        client.send_raw(bad.clone()).await?;
        assert_eq!(client.closed_with().await?, 3001, "{bad:?}");
    }
    // A wrong-typed field from a logged-in connection too.
    let mut client = wcc.rebuttal().await?;
    client.login("bob@wcc.test", PASSWORD).await?;
    client.send_raw(Message::text(logged_in_bad)).await?;
    assert_eq!(client.closed_with().await?, 3001, "{logged_in_bad}");
    Ok(())
}
