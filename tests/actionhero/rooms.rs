//! Rooms: who is in one (as members and the operator see it), listening to a room without
//! joining it, join rules, leaving, and a room deleted with members inside.

use anyhow::Result;
use serde_json::{json, Value};

use crate::common::Wcc;
use crate::support::{assert_failed, assert_ok, assert_refused, details};
use crate::Clients;

/// roomView and the admin's roomStatus agree.
pub(crate) async fn room_view_and_the_operators_status_agree(
    wcc: &Wcc,
    clients: &mut Clients,
) -> Result<()> {
    let Clients {
        ref mut web,
        ref tel_user,
        ref web_user,
        ..
    } = *clients;
    let view = web.request("roomView").await?;
    assert_ok(&view);
    assert_eq!(view["data"]["membersCount"], 2, "{view}");
    assert_eq!(view["data"]["members"][&tel_user]["id"], tel_user.as_str());
    let (status, body) = wcc.admin("GET", "/rooms/lobby/status", None).await?;
    assert_eq!(status, 200);
    assert_eq!(body["room"], "lobby");
    assert_eq!(body["membersCount"], 2);
    assert!(
        body["members"][&web_user]["joinedAt"].as_u64().unwrap() > 0,
        "{body}"
    );
    Ok(())
}

/// Listening hears a room without joining it; silencing stops it.
pub(crate) async fn listening_hears_a_room_without_joining_it(
    wcc: &Wcc,
    clients: &mut Clients,
) -> Result<()> {
    let Clients { tel, .. } = clients;
    wcc.create_room("news").await?;
    assert_ok(&tel.request("listenToRoom news").await?);
    let again = tel.request("listenToRoom news").await?;
    assert_refused(&again, "connection already listening to this room");
    assert_eq!(again["data"], false);
    let (status, body) = wcc
        .admin(
            "POST",
            "/rooms/news/broadcast",
            Some(json!({"message": "extra, extra"})),
        )
        .await?;
    assert_eq!(status, 201, "{body}");
    let line = tel.chat("extra, extra").await?;
    assert_eq!(
        (line["from"].as_str(), line["room"].as_str()),
        (Some("server"), Some("news"))
    );
    assert_ok(&tel.request("silenceRoom news").await?);
    assert_refused(
        &tel.request("silenceRoom news").await?,
        "connection not listening to this room",
    );
    Ok(())
}

/// Join rules: `authenticated` admits after a login action and is not checked again.
pub(crate) async fn join_rules_admit_by_login_and_by_transport(
    wcc: &Wcc,
    clients: &mut Clients,
) -> Result<()> {
    let Clients { tel, web, .. } = clients;
    wcc.create_room("vip").await?;
    let (status, body) = wcc
        .admin(
            "PUT",
            "/rooms/vip/authentication",
            Some(json!({"key": "authenticated", "value": true})),
        )
        .await?;
    assert_eq!(status, 200, "{body}");
    let (_, body) = wcc.admin("GET", "/rooms/vip/authentication", None).await?;
    assert_eq!(
        (body["key"].clone(), body["value"].clone()),
        (json!("authenticated"), json!(true))
    );
    assert_refused(
        &tel.request("roomChange vip").await?,
        "not authorized to join room",
    );
    let registered = tel
        .request(r#"{"action":"register","params":{"login":"ada","password":"correct horse"}}"#)
        .await?;
    assert!(registered.get("error").is_none(), "{registered}");
    assert_ok(&tel.request("paramAdd login=ada").await?);
    assert_ok(&tel.request("paramAdd password=wrong").await?);
    assert_failed(&tel.request("login").await?, "wrong login or password");
    let login = tel
        .request(r#"{"action":"login","params":{"login":"ada","password":"correct horse"}}"#)
        .await?;
    assert_eq!(login["authenticated"], true, "{login}");
    assert_ok(&tel.request("roomChange vip").await?);
    let (status, _) = wcc
        .admin(
            "PUT",
            "/rooms/vip/authentication",
            Some(json!({"key": "type", "value": "websocket"})),
        )
        .await?;
    assert_eq!(status, 200);
    assert_ok(&tel.request("say still inside").await?);
    // `type`: a socket client is refused where a websocket client is admitted.
    wcc.create_room("webonly").await?;
    wcc.admin(
        "PUT",
        "/rooms/webonly/authentication",
        Some(json!({"key": "type", "value": "websocket"})),
    )
    .await?;
    assert_refused(
        &tel.request("listenToRoom webonly").await?,
        "not authorized to join room",
    );
    assert_ok(&web.request("listenToRoom webonly").await?);
    Ok(())
}

/// roomLeave, in the websocket client's JSON form and as a verb.
pub(crate) async fn leaving_a_room(wcc: &Wcc, clients: &mut Clients) -> Result<()> {
    let Clients {
        ref mut web,
        ref web_user,
        ..
    } = *clients;
    assert_ok(
        &web.request(r#"{"event":"roomChange","room":"lobby"}"#)
            .await?,
    );
    assert_eq!(web.request(r#"{"event":"roomLeave"}"#).await?["data"], true);
    let view = web.request("roomView").await?;
    assert_refused(&view, "room is required");
    assert_eq!(view["data"], Value::Null);
    // Leaving no room is no error upstream; `data` says nothing was left.
    let leave = web.request("roomLeave").await?;
    assert_ok(&leave);
    assert_eq!(leave["data"], false);
    let (status, body) = wcc.admin("GET", "/rooms/lobby/status", None).await?;
    assert_eq!(status, 200);
    assert!(body["members"].get(web_user).is_none(), "{body}");
    Ok(())
}

/// A deleted room leaves its members unable to send; the connection keeps its room.
pub(crate) async fn a_deleted_room_leaves_its_members_unable_to_send(
    wcc: &Wcc,
    clients: &mut Clients,
) -> Result<()> {
    let Clients { tel, .. } = clients;
    let (status, _) = wcc.admin("DELETE", "/rooms/vip", None).await?;
    assert_eq!(status, 204);
    assert_refused(&tel.request("say hello?").await?, "room does not exist");
    assert_eq!(details(tel).await?["room"], "vip");
    Ok(())
}
