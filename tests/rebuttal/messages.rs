//! Messages: text and images sent, history segments, edits and removals of messages, and how
//! every follower draws a new message (its segment, then the notification).

use anyhow::{Context, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use crate::common::rebuttal::Rebuttal;
use crate::support::{
    assert_message, assert_removed, jpeg, message_at, png, room_named, texts, REMOVED,
};
use crate::Cast;

/// message (text, a PNG, a JPEG, a text file refused), getmessages by null and by number,
/// updatemessage and removemessage, as another client sees them. Every follower draws a new
/// message from the segment sent just before it (`a_new_message_is_drawn_from_its_segment_then_
/// notified`, checked on each message here).
pub(crate) async fn messages_images_and_history(cast: &mut Cast) -> Result<()> {
    let Cast {
        admin,
        admin_id,
        bob,
        bob_id,
        room,
        ..
    } = cast;
    let room = room.as_str();

    // `client.send.message(roomid, {text, tags})`. The room was made after Bob logged in: his
    // own copy is the segment sent back (`a_senders_first_message_to_a_room_arrives_once`).
    bob.send(json!({"type": "message", "roomid": room,
        "message": {"text": "hello from bob", "tags": []}}))
        .await?;
    let seen = a_new_message_is_drawn_from_its_segment_then_notified(admin, room, "hello from bob")
        .await?;
    assert_eq!(seen["roomid"], room, "{seen}");
    assert_message(&seen["message"], "hello from bob", bob_id, "Bob", room, 1);
    assert_eq!(seen["message"]["img"], Value::Null, "{seen}");
    let own = bob
        .expect("updateText", |p| {
            p["roomid"] == room && texts(p).contains(&"hello from bob".to_owned())
        })
        .await?;
    assert_message(
        &own["messages"][0],
        "hello from bob",
        bob_id,
        "Bob",
        room,
        1,
    );

    // Real image files, judged from their bytes.
    let mut idx = 1;
    for (file, raw, mime, width, height) in [
        ("grey.png", png(3, 2), "image/png", 3, 2),
        ("grey.jpg", jpeg(5, 4), "image/jpeg", 5, 4),
    ] {
        idx += 1;
        admin
            .send(
                json!({"type": "message", "roomid": room, "message": {"text": file},
                "filename": file, "rawfile": STANDARD.encode(&raw)}),
            )
            .await?;
        let shown = a_new_message_is_drawn_from_its_segment_then_notified(bob, room, file).await?;
        let message = &shown["message"];
        assert_message(message, file, admin_id, "Root", room, idx);
        assert_eq!(
            (message["width"].clone(), message["height"].clone()),
            (json!(width), json!(height)),
            "{file}: {}",
            message["img"]
                .as_str()
                .map_or("null", |i| &i[..i.len().min(60)])
        );
        let img = message["img"].as_str().unwrap_or_default();
        let prefix = format!("data:{mime};base64,");
        assert!(
            img.starts_with(&prefix),
            "{file}: {}",
            &img[..40.min(img.len())]
        );
        assert_eq!(
            STANDARD.decode(&img[prefix.len()..])?,
            raw,
            "{file}: the image itself"
        );
    }
    // A text file is no image, whatever it is called.
    let not_an_image = admin
        .refused(
            json!({"type": "message", "roomid": room, "message": {"text": "notes"},
            "filename": "notes.png",
            "rawfile": STANDARD.encode("meeting notes: bring the projector\n")}),
        )
        .await?;
    assert!(not_an_image.contains("image"), "{not_an_image}");

    // History: the latest segment (null) and segment 0 by number hold the three, oldest first.
    // (The segments that came with each message are read; what is kept now is older.)
    bob.forget();
    let latest = bob.segment(room, None).await?;
    assert_eq!(latest["segment"], 0, "{latest}");
    assert_eq!(
        texts(&latest),
        ["hello from bob", "grey.png", "grey.jpg"],
        "nothing stored for the text file: {latest}"
    );
    assert_message(
        &latest["messages"][0],
        "hello from bob",
        bob_id,
        "Bob",
        room,
        1,
    );
    assert_eq!(latest["messages"][2]["width"], 5, "{latest}");
    let first = bob.segment(room, Some(0)).await?;
    assert_eq!(first["segment"], 0, "{first}");
    assert_eq!(first["messages"], latest["messages"]);
    let next = bob.segment(room, Some(1)).await?;
    assert_eq!(
        (next["segment"].clone(), next["messages"].clone()),
        (json!(1), json!([])),
        "{next}"
    );

    // Edits and removals (changeMessage) reach the room's followers as the segment.
    bob.forget();
    admin
        .send(
            json!({"type": "updatemessage", "roomid": room, "messageid": 2,
            "message": {"text": "grey.png, edited"}}),
        )
        .await?;
    let update = bob
        .expect("updateText", |p| {
            texts(p).contains(&"grey.png, edited".to_owned())
        })
        .await?;
    assert_eq!(update["roomid"], room, "{update}");
    assert_eq!(update["segment"], 0, "{update}");
    assert_eq!(
        texts(&update),
        ["hello from bob", "grey.png, edited", "grey.jpg"],
        "{update}"
    );
    assert_eq!(
        update["messages"][1]["width"], 3,
        "the image stays: {update}"
    );
    admin
        .send(json!({"type": "removemessage", "roomid": room, "messageid": 1}))
        .await?;
    let update = bob
        .expect("updateText", |p| {
            texts(p).first().is_some_and(|t| t == REMOVED)
        })
        .await?;
    assert_removed(&message_at(&update, 1).context("message 1")?);
    assert_eq!(
        texts(&update)[1..],
        ["grey.png, edited", "grey.jpg"],
        "{update}"
    );
    admin
        .expect("updateText", |p| {
            texts(p).first().is_some_and(|t| t == REMOVED)
        })
        .await?;
    admin.forget();
    bob.forget();
    Ok(())
}

/// A room made after a client logged in is not followed yet: the client's first message there
/// comes back as the segment to draw, and the room is followed from then on. A copy from the
/// room's feed may follow, but the message is notified (`sendMessage`) once at most. The next
/// one, sent right after, is drawn in a segment holding both: from the room's feed, or in the
/// answer when the gateway handed both messages over in one call (the room's feed reaches the
/// connection only once that call has ended).
pub(crate) async fn a_senders_first_message_to_a_room_arrives_once(cast: &mut Cast) -> Result<()> {
    let Cast {
        admin, bob, bob_id, ..
    } = cast;
    admin
        .send(json!({"type": "createroom", "roomType": "text", "roomName": "Side"}))
        .await?;
    let rooms = bob
        .expect("updateRooms", |p| room_named(p, "Side").is_some())
        .await?;
    let side = room_named(&rooms, "Side").unwrap()["id"]
        .as_str()
        .context("room id")?
        .to_owned();
    bob.forget();
    for text in ["side one", "side two"] {
        bob.send(json!({"type": "message", "roomid": side,
            "message": {"text": text, "tags": []}}))
            .await?;
    }
    let read = read_until_drawn(bob, &side, &["side one", "side two"]).await?;
    let first_drawn = read.iter().position(|p| {
        p["type"] == "updateText" && p["roomid"] == side.as_str() && texts(p) == ["side one"]
    });
    let first_drawn = first_drawn.with_context(|| format!("side one drawn: {read:?}"))?;
    assert_message(
        &read[first_drawn]["messages"][0],
        "side one",
        bob_id,
        "Bob",
        &side,
        1,
    );
    let notified = read
        .iter()
        .filter(|p| p["type"] == "sendMessage" && p["message"]["text"] == "side one")
        .count();
    assert!(
        notified <= 1,
        "side one notified {notified} times: {read:?}"
    );
    for text in ["side one", "side two"] {
        a_new_message_is_drawn_from_its_segment_then_notified(admin, &side, text).await?;
    }
    admin.forget();
    bob.forget();
    Ok(())
}

/// Every packet `client` gets up to the `sendMessage` of `text` in `room`, that one last.
pub(crate) async fn read_until_notified(
    client: &mut Rebuttal,
    room: &str,
    text: &str,
) -> Result<Vec<Value>> {
    read_until(client, &format!("the message {text:?}"), |packet| {
        packet["type"] == "sendMessage"
            && packet["roomid"] == room
            && packet["message"]["text"] == text
    })
    .await
}

/// Every packet `client` gets up to a segment of `room` that holds exactly `wanted`, that one
/// last.
async fn read_until_drawn(
    client: &mut Rebuttal,
    room: &str,
    wanted: &[&str],
) -> Result<Vec<Value>> {
    read_until(client, &format!("{wanted:?} drawn"), |packet| {
        packet["type"] == "updateText" && packet["roomid"] == room && texts(packet) == wanted
    })
    .await
}

/// Every packet `client` gets up to the first that is `done`, that one last.
async fn read_until(
    client: &mut Rebuttal,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Result<Vec<Value>> {
    let mut read = Vec::new();
    loop {
        let packet = client
            .next()
            .await
            .with_context(|| format!("waiting for {what}: {read:?}"))?;
        let last = done(&packet);
        read.push(packet);
        if last {
            return Ok(read);
        }
    }
}

/// The web client draws a room from `updateText` only; `sendMessage` plays a sound and shows a
/// notification. So every follower must get, for each new message, the segment holding it and
/// then the message, as upstream sends them. Reads `client`'s packets up to the `sendMessage`
/// of `text` in `room`, checks that the packet just before it is that segment, and returns it.
pub(crate) async fn a_new_message_is_drawn_from_its_segment_then_notified(
    client: &mut Rebuttal,
    room: &str,
    text: &str,
) -> Result<Value> {
    let mut read = read_until_notified(client, room, text).await?;
    let notice = read.pop().expect("read ends with the message");
    let segment = read.pop().unwrap_or(Value::Null);
    assert_eq!(
        segment["type"], "updateText",
        "the segment comes just before {text:?}: {segment}"
    );
    assert_eq!(segment["roomid"], room, "{segment}");
    let idx = notice["message"]["idx"].as_u64().context("idx")?;
    let drawn = message_at(&segment, idx).with_context(|| format!("{idx} in {segment}"))?;
    assert_eq!(drawn, notice["message"], "drawn as notified");
    Ok(notice)
}

/// Messages a client sends without waiting (the room's feed answers them, not the server) are
/// stored together and reach every follower once each, in the order sent, numbered one after
/// another.
pub(crate) async fn messages_sent_without_waiting_arrive_in_order(cast: &mut Cast) -> Result<()> {
    let Cast {
        admin, bob, room, ..
    } = cast;
    const COUNT: usize = 20;
    for n in 0..COUNT {
        bob.send(json!({"type": "message", "roomid": room,
            "message": {"text": format!("quick {n}"), "tags": []}}))
            .await?;
    }
    let mut notified = Vec::new();
    while notified.len() < COUNT {
        let packet = admin
            .next()
            .await
            .context("waiting for the quick messages")?;
        let text = packet["message"]["text"].as_str().unwrap_or_default();
        if packet["type"] == "sendMessage" && text.starts_with("quick ") {
            notified.push(packet);
        }
    }
    let texts: Vec<&str> = notified
        .iter()
        .map(|p| p["message"]["text"].as_str().unwrap_or_default())
        .collect();
    let sent: Vec<String> = (0..COUNT).map(|n| format!("quick {n}")).collect();
    assert_eq!(texts, sent);
    let first = notified[0]["message"]["idx"].as_u64().context("idx")?;
    for (n, packet) in notified.iter().enumerate() {
        assert_eq!(packet["message"]["idx"], first + n as u64, "{packet}");
    }
    admin.forget();
    bob.forget();
    Ok(())
}
