//! Users: creating them, every permissioned packet refused to a user without permissions,
//! renames, and who is connected (on any protocol) in every client's user list.

use anyhow::{Context, Result};
use serde_json::json;

use crate::common::rebuttal::{ADMIN_EMAIL, PASSWORD};
use crate::common::{Venueless, Wcc};
use crate::support::{assert_denied, is_uuid, perms, set, user_in};
use crate::Cast;

/// createuser (its password logs in), setusergroup (an unknown group too), every permissioned
/// packet refused to a user without permissions, updateuser of yourself and of another.
pub(crate) async fn users_and_refusals(wcc: &Wcc, cast: &mut Cast) -> Result<()> {
    cast.admin
        .send(
            json!({"type": "createuser", "userName": "Carol", "groupName": "members",
            "email": "carol@wcc.test"}),
        )
        .await?;
    let created = cast.admin.expect("adminMessage", |_| true).await?;
    let words = created["message"].as_str().unwrap_or_default();
    let password = words.rsplit(' ').next().unwrap_or_default().to_owned();
    assert!(
        words.contains(&format!("password: {password}")) && password.len() >= 8,
        "{created}"
    );
    let users = cast
        .bob
        .expect("updateUsers", |p| {
            p["userList"]
                .as_array()
                .is_some_and(|l| l.iter().any(|u| u["name"] == "Carol"))
        })
        .await?;
    let mut carol = wcc.rebuttal().await?;
    let carol_id = carol.login("carol@wcc.test", &password).await?;
    assert!(is_uuid(&carol_id), "{carol_id}");
    assert_eq!(
        user_in(&users, &carol_id).context("carol listed")?["name"],
        "Carol"
    );
    let carol_perms = carol.expect("updatePerms", |_| true).await?;
    assert_eq!(
        perms(&carol_perms),
        set(&["joinVoiceRoom", "sendMessage"]),
        "created in members: {carol_perms}"
    );
    carol.forget();
    cast.carol = Some(carol);
    cast.carol_id = carol_id.clone();
    cast.carol_password = password;

    // setusergroup is never refused for an unknown group: Carol is left with no permissions.
    cast.bob.forget();
    cast.admin
        .send(json!({"type": "setusergroup", "userid": carol_id, "groupName": "nobody-yet"}))
        .await?;
    let none = cast.carol().expect("updatePerms", |_| true).await?;
    assert!(perms(&none).is_empty(), "{none}");
    cast.bob
        .expect("updateUsers", |p| user_in(p, &carol_id).is_some())
        .await?;

    // Every permissioned packet, refused to a user whose group has no permissions.
    let (room, call, admin_id, bob_id) = (
        cast.room.clone(),
        cast.call.clone(),
        cast.admin_id.clone(),
        cast.bob_id.clone(),
    );
    let before = cast.carol().segment(&room, None).await?;
    cast.carol().forget();
    let guarded = [
        (
            json!({"type": "createroom", "roomType": "text", "roomName": "x"}),
            "createRoom",
        ),
        (
            json!({"type": "updateroom", "roomid": room, "roomName": "x"}),
            "renameRoom",
        ),
        (json!({"type": "removeroom", "roomid": room}), "removeRoom"),
        (
            json!({"type": "message", "roomid": room, "message": {"text": "x"}}),
            "sendMessage",
        ),
        (
            json!({"type": "updatemessage", "roomid": room, "messageid": 2, "message": {"text": "x"}}),
            "changeMessage",
        ),
        (
            json!({"type": "removemessage", "roomid": room, "messageid": 2}),
            "changeMessage",
        ),
        (
            json!({"type": "invite", "groupName": "members"}),
            "inviteUserAny",
        ),
        (
            json!({"type": "createuser", "userName": "x", "groupName": "members", "email": "x@wcc.test"}),
            "createUser",
        ),
        (
            json!({"type": "updateuser", "userid": admin_id, "userName": "x"}),
            "renameUser",
        ),
        (
            json!({"type": "removeuser", "touserid": bob_id, "withvengence": true}),
            "removeUser",
        ),
        (
            json!({"type": "creategroup", "groupName": "x"}),
            "setGroupPerm",
        ),
        (
            json!({"type": "updategroup", "groupName": "members", "changes": [{"add": "removeUser"}]}),
            "setGroupPerm",
        ),
        (
            json!({"type": "removegroup", "groupName": "members"}),
            "setGroupPerm",
        ),
        (
            json!({"type": "setusergroup", "userid": carol_id, "groupName": "admin"}),
            "setUserGroup",
        ),
        (json!({"type": "joinroom", "roomid": call}), "joinVoiceRoom"),
        (
            json!({"type": "servermute", "userid": bob_id, "suppress": true}),
            "suppressUser",
        ),
    ];
    for (packet, permission) in &guarded {
        let refusal = cast.carol().refused(packet.clone()).await?;
        assert_denied(&refusal, permission, packet);
    }
    // Nothing changed: the same messages, and no list was sent to anyone.
    let after = cast.carol().segment(&room, None).await?;
    assert_eq!(after["messages"], before["messages"], "{after}");
    for kind in [
        "updateRooms",
        "updateGroups",
        "joinRoom",
        "servermute",
        "invite",
    ] {
        assert!(!cast.carol().kept(kind), "a refused packet changed {kind}");
    }

    // Back to members.
    cast.admin
        .send(json!({"type": "setusergroup", "userid": carol_id, "groupName": "members"}))
        .await?;
    cast.carol()
        .expect("updatePerms", |p| perms(p).contains("sendMessage"))
        .await?;

    // Renaming yourself needs no permission; renaming another needs renameUser.
    cast.bob
        .send(json!({"type": "updateuser", "userid": bob_id, "userName": "Robert"}))
        .await?;
    cast.admin
        .expect("updateUsers", |p| {
            user_in(p, &bob_id).is_some_and(|u| u["name"] == "Robert")
        })
        .await?;
    let other = json!({"type": "updateuser", "userid": carol_id, "userName": "Caz"});
    let refusal = cast.bob.refused(other.clone()).await?;
    assert_denied(&refusal, "renameUser", &other);
    cast.admin
        .send(json!({"type": "updateuser", "userid": bob_id, "userName": "Bob"}))
        .await?;
    cast.carol()
        .expect("updateUsers", |p| {
            user_in(p, &bob_id).is_some_and(|u| u["name"] == "Bob")
        })
        .await?;
    cast.admin.forget();
    cast.bob.forget();
    cast.carol().forget();
    Ok(())
}

/// Every client's user list says who is connected (`status`, a boolean) and is sent to
/// everyone when someone signs in and when a connection closes, as upstream's is. A close also
/// tells everyone `disconnect{userid}` (the web client drops that user's call), and a stream
/// the connection started ends with it. The invite is made as the web client asks for one
/// (`client.send.invite(group_name)`).
pub(crate) async fn signing_in_and_closing_show_in_everyones_user_list(
    wcc: &Wcc,
    cast: &mut Cast,
) -> Result<()> {
    let Cast {
        admin, bob, bob_id, ..
    } = cast;
    admin
        .send(json!({"type": "invite", "group_name": "guests"}))
        .await?;
    let invite = admin.expect("invite", |_| true).await?;
    let code = invite["invite_code"].as_str().context("invite_code")?;
    bob.forget();
    let mut dave = wcc.rebuttal().await?;
    let dave_id = dave.signup("Dave", "dave@wcc.test", code).await?;
    let users = bob
        .expect("updateUsers", |p| {
            user_in(p, &dave_id).is_some_and(|u| u["status"] == true)
        })
        .await?;
    assert_eq!(user_in(&users, bob_id).context("bob")?["status"], true);
    let own = dave.expect("updateUsers", |_| true).await?;
    assert_eq!(
        user_in(&own, &dave_id).context("dave")?["status"],
        true,
        "{own}"
    );

    dave.send(json!({"type": "golive", "livestate": true, "livelabel": "screen"}))
        .await?;
    bob.expect("updateUsers", |p| {
        user_in(p, &dave_id).is_some_and(|u| u["livestate"] == true)
    })
    .await?;
    dave.close().await?;
    let gone = bob
        .expect("disconnect", |p| p["userid"] == dave_id.as_str())
        .await?;
    assert_eq!(gone, json!({"type": "disconnect", "userid": dave_id}));
    // Two changes, each announced: presence hears the logout, the close hook ends the stream.
    // They happen side by side; the list announced last shows both.
    let users = bob
        .expect("updateUsers", |p| {
            user_in(p, &dave_id).is_some_and(|u| u["status"] == false && u["livestate"] == false)
        })
        .await
        .context("dave disconnected and the stream ended with its connection")?;
    let dave = user_in(&users, &dave_id).context("dave")?;
    assert_eq!(dave["livelabel"], "", "{dave}");
    Ok(())
}

/// Who is connected is presence's, whatever the protocol: a user signed in on venueless is
/// connected in every Rebuttal client's list (announced when their first session starts, and in
/// the lists a Rebuttal sign-in gets), and disconnected once that socket closes. Vera is known
/// from `cross_protocol`, so no new account announces the list here: presence does.
pub(crate) async fn a_user_signed_in_on_another_protocol_shows_as_connected_until_that_socket_closes(
    wcc: &Wcc,
    cast: &mut Cast,
) -> Result<()> {
    let Cast { bob, .. } = cast;
    bob.forget();
    let mut venueless: Venueless = wcc.venueless().await?;
    let vera = venueless.login("ven-device", Some("Vera")).await?;
    bob.expect("updateUsers", |p| {
        user_in(p, &vera).is_some_and(|u| u["status"] == true)
    })
    .await
    .context("a venueless sign-in reaches a Rebuttal client's user list")?;

    let mut phone = wcc.rebuttal().await?;
    phone.login(ADMIN_EMAIL, PASSWORD).await?;
    let own = phone.expect("updateUsers", |_| true).await?;
    assert_eq!(
        user_in(&own, &vera).context("vera")?["status"],
        true,
        "{own}"
    );
    phone.close().await?;

    // Lists rendered before her sign-in may have arrived before the one that showed it; any
    // list from now on was built after it.
    bob.forget();
    venueless.close().await?;
    let users = bob
        .expect("updateUsers", |p| {
            user_in(p, &vera).is_some_and(|u| u["status"] == false)
        })
        .await
        .context("closing the venueless socket reaches a Rebuttal client's user list")?;
    assert_eq!(user_in(&users, &vera).context("vera")?["name"], "Vera");
    Ok(())
}
