//! Removals by an administrator: a user (with vengeance), a group, a room.

use anyhow::{Context, Result};
use serde_json::json;

use crate::common::Wcc;
use crate::support::{assert_removed, message_at, perms, room_with_id, user_in};
use crate::Cast;

/// removeuser with vengeance (their messages masked, their socket closed, their login gone),
/// removegroup (its members lose its permissions), removeroom.
pub(crate) async fn removals(wcc: &Wcc, cast: &mut Cast) -> Result<()> {
    let room = cast.room.clone();
    let carol_id = cast.carol_id.clone();
    cast.carol()
        .send(json!({"type": "message", "roomid": room, "message": {"text": "carol was here"}}))
        .await?;
    let said = cast
        .admin
        .expect("sendMessage", |p| p["message"]["text"] == "carol was here")
        .await?;
    let carol_idx = said["message"]["idx"].as_u64().context("idx")?;
    assert_eq!(said["message"]["userid"], carol_id.as_str(), "{said}");
    // The segment that came with it shows carol's message as it was; what comes later is newer.
    cast.admin.forget();

    cast.admin
        .send(json!({"type": "removeuser", "touserid": carol_id, "withvengence": true}))
        .await?;
    let mut carol = cast.carol.take().expect("carol");
    let gone = carol.error().await?;
    assert_eq!(gone, "Your account was removed");
    carol
        .closed_with()
        .await
        .context("the removed user's connection is closed")?;
    cast.bob
        .expect("updateUsers", |p| {
            user_in(p, &cast.admin_id).is_some() && user_in(p, &carol_id).is_none()
        })
        .await?;
    let history = cast.admin.segment(&room, None).await?;
    assert_removed(&message_at(&history, carol_idx).context("carol's message")?);
    assert!(
        history["messages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["userid"] != carol_id.as_str()),
        "{history}"
    );
    let mut again = wcc.rebuttal().await?;
    let login = again
        .refused(json!({"type": "login", "email": "carol@wcc.test",
            "password": cast.carol_password, "protocol": "e2e"}))
        .await?;
    assert_eq!(login, "Invalid email or password");

    // Removing a group takes its permissions from its members.
    cast.bob.forget();
    cast.admin
        .send(json!({"type": "removegroup", "groupName": "members"}))
        .await?;
    cast.bob
        .expect("updatePerms", |p| perms(p).is_empty())
        .await?;
    cast.bob
        .expect("updateGroups", |p| {
            p["groups"].is_object() && p["groups"].get("members").is_none()
        })
        .await?;

    // removeroom: the voice room leaves every list.
    let call = cast.call.clone();
    cast.admin
        .send(json!({"type": "removeroom", "roomid": call}))
        .await?;
    let rooms = cast
        .bob
        .expect("updateRooms", |p| room_with_id(p, &call).is_none())
        .await?;
    assert!(room_with_id(&rooms, &room).is_some(), "{rooms}");
    cast.admin.forget();
    cast.bob.forget();
    Ok(())
}
