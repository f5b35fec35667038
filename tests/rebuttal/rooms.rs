//! Rooms: text and voice rooms made and renamed, as every client's room list shows them.

use anyhow::{Context, Result};
use serde_json::json;

use crate::support::{is_uuid, room_named, room_with_id};
use crate::Cast;

/// createroom (text and voice) and updateroom, seen by everyone.
pub(crate) async fn rooms(cast: &mut Cast) -> Result<()> {
    let Cast { admin, bob, .. } = cast;
    admin
        .send(json!({"type": "createroom", "roomType": "text", "roomName": "General"}))
        .await?;
    let rooms = bob
        .expect("updateRooms", |p| room_named(p, "General").is_some())
        .await?;
    let general = room_named(&rooms, "General").unwrap();
    assert_eq!(general["type"], "text", "{general}");
    assert_eq!(general["userlist"], json!([]), "{general}");
    let room = general["id"].as_str().context("room id")?.to_owned();
    assert!(is_uuid(&room), "{general}");

    admin
        .send(json!({"type": "createroom", "roomType": "voice", "roomName": "Call"}))
        .await?;
    let rooms = bob
        .expect("updateRooms", |p| room_named(p, "Call").is_some())
        .await?;
    let call = room_named(&rooms, "Call").unwrap();
    assert_eq!(call["type"], "voice", "{call}");
    assert_eq!(call["userlist"], json!([]), "{call}");
    let call = call["id"].as_str().context("room id")?.to_owned();
    assert!(is_uuid(&call) && call != room, "{rooms}");
    admin
        .expect("updateRooms", |p| room_named(p, "Call").is_some())
        .await?;

    admin
        .send(json!({"type": "updateroom", "roomid": room, "roomName": "Main"}))
        .await?;
    let renamed = bob
        .expect("updateRooms", |p| {
            room_with_id(p, &room).is_some_and(|r| r["name"] == "Main")
        })
        .await?;
    assert!(room_named(&renamed, "General").is_none(), "{renamed}");
    admin
        .expect("updateRooms", |p| room_named(p, "Main").is_some())
        .await?;
    admin.forget();
    bob.forget();
    cast.room = room;
    cast.call = call;
    Ok(())
}
