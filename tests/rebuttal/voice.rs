//! Voice rooms: joining and leaving them, what goes to everyone and what only to its target,
//! WebRTC signalling as the web client sends it, hanging up, and closing while in a call.

use anyhow::{Context, Result};
use serde_json::{json, Value};

use crate::common::rebuttal::{ADMIN_EMAIL, PASSWORD};
use crate::common::Wcc;
use crate::support::{answer, assert_denied, occupants, room_named, room_with_id, set};
use crate::Cast;

/// joinroom, chatdev, video, letmesee (only to their target), golive, talking, servermute,
/// leaveroom; contextoption and windowinput accepted quietly.
pub(crate) async fn voice(cast: &mut Cast) -> Result<()> {
    let (room, call) = (cast.room.clone(), cast.call.clone());
    let (admin_id, bob_id) = (cast.admin_id.clone(), cast.bob_id.clone());
    let Cast {
        admin, bob, carol, ..
    } = cast;
    let carol = carol.as_mut().expect("carol");

    // Only voice rooms are joined. Outside one, chatdev (which upstream's client sends whenever
    // anyone joins a voice room) tells no one and is no error: the next packet is the answer to
    // the getmessages after it.
    let text_join = bob
        .refused(json!({"type": "joinroom", "roomid": room}))
        .await?;
    assert!(!text_join.is_empty());
    bob.forget();
    bob.send(json!({"type": "chatdev", "audio": true, "video": true}))
        .await?;
    answer(bob, &room).await?;
    assert!(
        bob.kept_of("error").is_empty(),
        "{:?}",
        bob.kept_of("error")
    );

    bob.send(json!({"type": "joinroom", "roomid": call}))
        .await?;
    for client in [&mut *admin, &mut *carol] {
        let joined = client
            .expect("joinRoom", |p| p["userid"] == bob_id.as_str())
            .await?;
        assert_eq!(joined["roomid"], call.as_str(), "{joined}");
        let rooms = client
            .expect("updateRooms", |p| {
                occupants(p, &call).is_some_and(|o| o == set(&[&bob_id]))
            })
            .await?;
        a_voice_rooms_userlist_holds_user_objects(&rooms, &call, &bob_id, "Bob");
    }
    admin
        .send(json!({"type": "joinroom", "roomid": call}))
        .await?;
    bob.expect("joinRoom", |p| p["userid"] == admin_id.as_str())
        .await?;
    let rooms = bob
        .expect("updateRooms", |p| {
            occupants(p, &call).is_some_and(|o| o.len() == 2)
        })
        .await?;
    assert_eq!(
        occupants(&rooms, &call).unwrap(),
        set(&[&admin_id, &bob_id]),
        "{rooms}"
    );

    // chatdev to the other member of the voice room.
    bob.send(json!({"type": "chatdev", "video": true, "audio": false}))
        .await?;
    let devices = admin
        .expect("chatdev", |p| p["userid"] == bob_id.as_str())
        .await?;
    assert_eq!(
        (devices["video"].clone(), devices["audio"].clone()),
        (json!(true), json!(false)),
        "{devices}"
    );

    // WebRTC signalling to one user, from whom it came (as the web client sends it:
    // `webrtc_offers_and_watch_requests_reach_their_target_as_sent`).
    admin
        .send(json!({"type": "video", "touserid": bob_id,
            "payload": {"type": "offer", "sdp": "v=0 offer"}}))
        .await?;
    let video = bob.expect("video", |_| true).await?;
    assert_eq!(video["fromuserid"], admin_id.as_str(), "{video}");
    assert_eq!(video["touserid"], bob_id.as_str(), "{video}");
    assert_eq!(
        video["payload"],
        json!({"type": "offer", "sdp": "v=0 offer"}),
        "{video}"
    );
    bob.send(json!({"type": "letmesee", "touserid": admin_id, "message": true}))
        .await?;
    let letmesee = admin.expect("letmesee", |_| true).await?;
    assert_eq!(letmesee["fromuserid"], bob_id.as_str(), "{letmesee}");
    assert_eq!(letmesee["touserid"], admin_id.as_str(), "{letmesee}");
    assert_eq!(letmesee["message"], true, "{letmesee}");

    // To everyone: golive, talking, servermute.
    bob.send(json!({"type": "golive", "livestate": true, "livelabel": "my screen"}))
        .await?;
    let live = carol
        .expect("golive", |p| p["userid"] == bob_id.as_str())
        .await?;
    assert_eq!(live["livestate"], true, "{live}");
    assert_eq!(live["livelabel"], "my screen", "{live}");
    assert_eq!(live["roomid"], call.as_str(), "{live}");
    admin
        .expect("golive", |p| p["userid"] == bob_id.as_str())
        .await?;
    bob.send(json!({"type": "talking", "talking": true}))
        .await?;
    for client in [&mut *admin, &mut *carol] {
        client
            .expect("talking", |p| {
                p["userid"] == bob_id.as_str() && p["talking"] == true
            })
            .await?;
    }
    admin
        .send(json!({"type": "servermute", "userid": bob_id, "suppress": true}))
        .await?;
    for client in [&mut *bob, &mut *carol] {
        let muted = client
            .expect("servermute", |p| p["userid"] == bob_id.as_str())
            .await?;
        assert_eq!(muted["message"], true, "{muted}");
    }
    let unmute = json!({"type": "servermute", "userid": bob_id, "suppress": false});
    let refusal = carol.refused(unmute.clone()).await?;
    assert_denied(&refusal, "suppressUser", &unmute);

    // Carol, outside the call, saw what was for everyone and none of what was for others:
    // a round trip of her own after all of it.
    carol.segment(&room, None).await?;
    for kind in ["video", "letmesee", "chatdev"] {
        assert!(
            carol.kept_of(kind).is_empty(),
            "carol got {kind}: {:?}",
            carol.kept_of(kind)
        );
    }

    // Context menus and custom windows are read and answered with nothing: the next packet
    // is the answer to the getmessages sent after them.
    bob.forget();
    let after = bob
        .then_segment(
            json!({"type": "contextoption", "context": "user", "option": "kick", "value": "x"}),
            &room,
        )
        .await?;
    assert_eq!(after["roomid"], room.as_str(), "{after}");
    bob.then_segment(
        json!({"type": "windowinput", "inputid": "i", "value": "v", "allinputs": "{}"}),
        &room,
    )
    .await?;
    assert!(
        bob.kept_of("error").is_empty(),
        "contextoption/windowinput: {:?}",
        bob.kept_of("error")
    );

    // leaveroom, as everyone sees it.
    admin.forget();
    bob.send(json!({"type": "leaveroom", "roomid": call}))
        .await?;
    let left = admin
        .expect("leaveRoom", |p| p["userid"] == bob_id.as_str())
        .await?;
    assert_eq!(left["roomid"], call.as_str(), "{left}");
    admin
        .expect("updateRooms", |p| {
            occupants(p, &call).is_some_and(|o| o == set(&[&admin_id]))
        })
        .await?;

    admin
        .send(json!({"type": "leaveroom", "roomid": call}))
        .await?;
    bob.expect("leaveRoom", |p| p["userid"] == admin_id.as_str())
        .await?;
    admin.forget();
    bob.forget();
    carol.forget();
    Ok(())
}

/// WebRTC signalling as the web client sends it: `video` payloads are objects (offers and
/// answers `{type, sdp}`, ICE candidates, its own `{type: "callme"}`), `letmesee.message` is
/// whether the sender now watches. Each reaches its target exactly as sent, with who sent it.
pub(crate) async fn webrtc_offers_and_watch_requests_reach_their_target_as_sent(
    cast: &mut Cast,
) -> Result<()> {
    let Cast {
        admin,
        admin_id,
        bob,
        bob_id,
        ..
    } = cast;
    let payloads = [
        json!({"type": "offer", "sdp": "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"}),
        json!({"candidate": "candidate:842163049 1 udp 1677729535 10.0.0.2 54321 typ srflx",
            "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": "fQ2b"}),
        json!({"type": "callme"}),
    ];
    for payload in &payloads {
        // `client.send.video(payload, touserid)`.
        admin
            .send(json!({"type": "video", "touserid": bob_id, "payload": payload}))
            .await?;
    }
    for payload in &payloads {
        let video = bob.expect("video", |p| p["payload"] == *payload).await?;
        assert_eq!(
            video,
            json!({"type": "video", "payload": payload, "touserid": bob_id,
                "fromuserid": admin_id})
        );
    }
    // `client.send.letmesee(touserid, fromuserid, watching)`.
    for watching in [true, false] {
        bob.send(
            json!({"type": "letmesee", "touserid": admin_id, "fromuserid": bob_id,
            "message": watching}),
        )
        .await?;
        let letmesee = admin
            .expect("letmesee", |p| p["message"] == watching)
            .await?;
        assert_eq!(
            letmesee,
            json!({"type": "letmesee", "message": watching, "touserid": admin_id,
                "fromuserid": bob_id})
        );
    }
    assert!(
        bob.kept_of("error").is_empty(),
        "{:?}",
        bob.kept_of("error")
    );
    assert!(
        admin.kept_of("error").is_empty(),
        "{:?}",
        admin.kept_of("error")
    );
    admin.forget();
    bob.forget();
    Ok(())
}

/// The web client's hang-up (`client.send.leave_room()`) names no room: it leaves the voice
/// room this connection is in, as everyone sees it. The client also hangs up before every join
/// and when in no room: that is no error, and the connection stays.
pub(crate) async fn hanging_up_without_a_room_id_leaves_the_voice_room(
    cast: &mut Cast,
) -> Result<()> {
    let Cast {
        admin,
        bob,
        bob_id,
        room,
        call,
        ..
    } = cast;
    bob.send(json!({"type": "leaveroom"})).await?;
    bob.send(json!({"type": "joinroom", "roomid": call}))
        .await?;
    admin
        .expect("joinRoom", |p| p["userid"] == bob_id.as_str())
        .await?;
    admin
        .expect("updateRooms", |p| {
            occupants(p, call).is_some_and(|o| o == set(&[bob_id]))
        })
        .await?;
    admin.forget();
    bob.send(json!({"type": "leaveroom"})).await?;
    let left = admin
        .expect("leaveRoom", |p| p["userid"] == bob_id.as_str())
        .await?;
    assert_eq!(
        left,
        json!({"type": "leaveRoom", "userid": bob_id, "roomid": call})
    );
    admin
        .expect("updateRooms", |p| {
            occupants(p, call).is_some_and(|o| o.is_empty())
        })
        .await?;
    answer(bob, room).await?;
    assert!(
        bob.kept_of("error").is_empty(),
        "{:?}",
        bob.kept_of("error")
    );
    admin.forget();
    bob.forget();
    Ok(())
}

/// Closing the connection leaves the voice room: a second connection of the admin's joins a new
/// voice room and hangs up; the first sees it leave. Last, as nothing after it depends on it.
pub(crate) async fn closing_leaves_the_voice_room(wcc: &Wcc, cast: &mut Cast) -> Result<()> {
    let Cast {
        admin, admin_id, ..
    } = cast;
    admin
        .send(json!({"type": "createroom", "roomType": "voice", "roomName": "Lounge"}))
        .await?;
    let rooms = admin
        .expect("updateRooms", |p| room_named(p, "Lounge").is_some())
        .await?;
    let lounge = room_named(&rooms, "Lounge").unwrap()["id"]
        .as_str()
        .context("room id")?
        .to_owned();
    let mut phone = wcc.rebuttal().await?;
    phone.login(ADMIN_EMAIL, PASSWORD).await?;
    phone
        .send(json!({"type": "joinroom", "roomid": lounge}))
        .await?;
    admin
        .expect("joinRoom", |p| {
            p["userid"] == admin_id.as_str() && p["roomid"] == lounge.as_str()
        })
        .await?;
    admin
        .expect("updateRooms", |p| {
            occupants(p, &lounge).is_some_and(|o| o == set(&[admin_id]))
        })
        .await?;
    phone.close().await?;
    let left = admin
        .expect("leaveRoom", |p| p["userid"] == admin_id.as_str())
        .await
        .context("closing the connection leaves the voice room")?;
    assert_eq!(left["roomid"], lounge.as_str(), "{left}");
    admin
        .expect("updateRooms", |p| {
            occupants(p, &lounge).is_some_and(|o| o.is_empty())
        })
        .await?;
    Ok(())
}

/// The web client draws a voice room's video tiles from its `userlist`: user objects, as in
/// the user list (it reads `user.id`, `user.name`, `user.avatar`, `user.livelabel`).
pub(crate) fn a_voice_rooms_userlist_holds_user_objects(
    rooms: &Value,
    call: &str,
    id: &str,
    name: &str,
) {
    let room = room_with_id(rooms, call).expect("the voice room is listed");
    let user = room["userlist"]
        .as_array()
        .and_then(|list| list.iter().find(|u| u["id"] == id))
        .unwrap_or_else(|| panic!("{id} in {room}"));
    assert_eq!(user["name"], name, "{user}");
    assert_eq!(user["currentRoom"], call, "{user}");
    assert_eq!(user["status"], true, "connected: {user}");
    for field in ["livestate", "talking", "suppress", "hidden"] {
        assert!(user[field].is_boolean(), "{field}: {user}");
    }
    assert!(user["livelabel"].is_string(), "{user}");
}
