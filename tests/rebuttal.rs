//! The Rebuttal channel on a real lattice, per its client contract: the handshake with the
//! bootstrap admin and invites, groups and permissions (and every refusal without one), rooms,
//! messages with real PNG and JPEG uploads, history segments, edits and removals, user
//! administration, voice signalling between Rebuttal clients, bad packets, and messages crossing
//! to and from venueless.
//!
//! What upstream's web client (trigg/Rebuttal-Webapp) sends and needs has acts of its own, named
//! after the client behaviour each protects; they send the packets exactly as its `sender.ts`
//! writes them and check the fields its `protocol.ts` reads.
//!
//! One lattice for the whole story (a start costs about a minute); each act is a function run
//! in order on the same cast of clients.

mod common;

use std::collections::BTreeSet;
use std::io::Write;

use anyhow::{Context, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::rebuttal::{Rebuttal, ADMIN_EMAIL, PASSWORD};
use common::{Venueless, Wcc};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuttal_administration_text_voice_and_cross_protocol() -> Result<()> {
    common::run_once(|wcc| Box::pin(scenario(wcc)))
        .await
        .map(drop)
}

async fn scenario(wcc: &Wcc) -> Result<()> {
    let mut cast = accounts_and_groups(wcc).await?;
    the_greeting_offers_protocol_v1_and_the_client_logs_in_with_it(wcc, &mut cast).await?;
    a_wrong_password_closes_the_connection_with_3001(wcc).await?;
    rooms(&mut cast).await?;
    messages_images_and_history(&mut cast).await?;
    a_senders_first_message_to_a_room_arrives_once(&mut cast).await?;
    users_and_refusals(wcc, &mut cast).await?;
    voice(&mut cast).await?;
    webrtc_offers_and_watch_requests_reach_their_target_as_sent(&mut cast).await?;
    hanging_up_without_a_room_id_leaves_the_voice_room(&mut cast).await?;
    removals(wcc, &mut cast).await?;
    cross_protocol(wcc, &mut cast).await?;
    bad_packets(wcc, &mut cast).await?;
    closing_leaves_the_voice_room(wcc, &mut cast).await?;
    signing_in_and_closing_show_in_everyones_user_list(wcc, &mut cast).await?;
    a_user_signed_in_on_another_protocol_shows_as_connected_until_that_socket_closes(
        wcc, &mut cast,
    )
    .await?;
    Ok(())
}

/// The clients and what the acts learn about them as the story goes.
struct Cast {
    /// The bootstrap admin (every permission).
    admin: Rebuttal,
    admin_id: String,
    /// Signed up with an invite to `members`.
    bob: Rebuttal,
    bob_id: String,
    /// Created by the admin (`createuser`); joins in `users_and_refusals`.
    carol: Option<Rebuttal>,
    carol_id: String,
    carol_password: String,
    /// The text room ("General", renamed "Main").
    room: String,
    /// The voice room ("Call").
    call: String,
}

impl Cast {
    fn carol(&mut self) -> &mut Rebuttal {
        self.carol.as_mut().expect("carol is logged in")
    }
}

// --- what the packets say ----------------------------------------------------------------------

/// The permissions the contract names, each guarding at least one packet.
const PERMISSIONS: [&str; 13] = [
    "createRoom",
    "renameRoom",
    "removeRoom",
    "sendMessage",
    "changeMessage",
    "createUser",
    "renameUser",
    "removeUser",
    "inviteUserAny",
    "setGroupPerm",
    "setUserGroup",
    "joinVoiceRoom",
    "suppressUser",
];

const REMOVED: &str = "*Message Removed*";

fn strings(value: &Value) -> BTreeSet<String> {
    let list = value.as_array().cloned().unwrap_or_default();
    list.iter()
        .filter_map(|p| p.as_str().map(str::to_owned))
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// The permissions of an `updatePerms`.
fn perms(packet: &Value) -> BTreeSet<String> {
    strings(&packet["perms"])
}

fn room_named(packet: &Value, name: &str) -> Option<Value> {
    let rooms = packet["roomList"].as_array()?;
    rooms.iter().find(|r| r["name"] == name).cloned()
}

fn room_with_id(packet: &Value, id: &str) -> Option<Value> {
    let rooms = packet["roomList"].as_array()?;
    rooms.iter().find(|r| r["id"] == id).cloned()
}

/// The ids in the userlist of room `id` in an `updateRooms`, if listed. The list holds user
/// objects (the client reads `user.id`); anything else there is no one.
fn occupants(packet: &Value, id: &str) -> Option<BTreeSet<String>> {
    let room = room_with_id(packet, id)?;
    let list = room["userlist"].as_array().cloned().unwrap_or_default();
    Some(
        list.iter()
            .filter_map(|u| u["id"].as_str().map(str::to_owned))
            .collect(),
    )
}

fn user_in(packet: &Value, id: &str) -> Option<Value> {
    let users = packet["userList"].as_array()?;
    users.iter().find(|u| u["id"] == id).cloned()
}

fn texts(update: &Value) -> Vec<String> {
    let messages = update["messages"].as_array().cloned().unwrap_or_default();
    messages
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The message numbered `idx` in an `updateText`.
fn message_at(update: &Value, idx: u64) -> Option<Value> {
    let messages = update["messages"].as_array()?;
    messages.iter().find(|m| m["idx"] == idx).cloned()
}

/// A UUID in its hyphenated form (Rebuttal's ids of users and rooms).
fn is_uuid(id: &str) -> bool {
    id.len() == 36
        && id.chars().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn assert_denied(refusal: &str, permission: &str, packet: &Value) {
    assert_eq!(
        refusal,
        format!("Permission denied: {permission}"),
        "refusal of {packet}"
    );
}

/// A message object as the contract shapes it.
fn assert_message(message: &Value, text: &str, user: &str, name: &str, room: &str, idx: u64) {
    assert_eq!(message["text"], text, "{message}");
    assert_eq!(message["userid"], user, "{message}");
    assert_eq!(message["username"], name, "{message}");
    assert_eq!(message["roomid"], room, "{message}");
    assert_eq!(message["idx"], idx, "{message}");
    assert_eq!(message["type"], "text", "{message}");
    assert_eq!(message["tags"], json!([]), "{message}");
    assert_eq!(message["url"], Value::Null, "{message}");
}

fn assert_removed(message: &Value) {
    assert_eq!(message["text"], REMOVED, "{message}");
    assert!(message.get("userid").is_none(), "no userid: {message}");
}

// --- real image files ----------------------------------------------------------------------------

/// A real PNG: signature, IHDR, one zlib-compressed IDAT of grey pixels, IEND, with CRCs.
fn png(width: u32, height: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.finalize().to_be_bytes());
    }
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit greyscale
    let mut pixels = Vec::new();
    for _ in 0..height {
        pixels.push(0); // filter: none
        pixels.extend(std::iter::repeat_n(0x80, width as usize));
    }
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    zlib.write_all(&pixels).expect("to memory");
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib.finish().expect("to memory"));
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A real baseline JPEG from an encoder.
fn jpeg(width: u16, height: u16) -> Vec<u8> {
    let mut out = Vec::new();
    let pixels = vec![200u8; width as usize * height as usize * 3];
    jpeg_encoder::Encoder::new(&mut out, 80)
        .encode(&pixels, width, height, jpeg_encoder::ColorType::Rgb)
        .expect("to memory");
    out
}

// --- the acts ------------------------------------------------------------------------------------

/// The greeting, the bootstrap admin, a refused sign-up, a wrong password, groups (and an
/// unknown permission), an invite used once.
async fn accounts_and_groups(wcc: &Wcc) -> Result<Cast> {
    let mut admin = wcc.rebuttal().await?;
    let greeting = admin.greeting.clone();
    assert_eq!(greeting["type"], "connect", "{greeting}");
    assert!(greeting["message"].is_string(), "{greeting}");
    assert_eq!(greeting["protocols"], json!(["v1"]), "{greeting}");
    assert_eq!(greeting["contextmenus"], json!({}), "{greeting}");

    // Nothing but login and signup before logging in.
    let early = admin
        .refused(json!({"type": "createroom", "roomType": "text", "roomName": "x"}))
        .await?;
    assert_eq!(early, "Log in first");

    // The bootstrap admin signs up without an invite and holds every permission.
    let admin_id = admin.signup("Root", ADMIN_EMAIL, "signup").await?;
    assert!(is_uuid(&admin_id), "{admin_id}");
    let granted = admin.expect("updatePerms", |_| true).await?;
    assert!(
        perms(&granted).is_superset(&set(&PERMISSIONS)),
        "the admin holds every permission: {granted}"
    );
    let groups = admin.expect("updateGroups", |_| true).await?;
    assert!(groups["groups"]["admin"].is_array(), "{groups}");
    let rooms = admin.expect("updateRooms", |_| true).await?;
    assert!(rooms["roomList"].is_array(), "{rooms}");
    let users = admin.expect("updateUsers", |_| true).await?;
    let me = user_in(&users, &admin_id).context("the admin in the user list")?;
    assert_eq!(me["name"], "Root", "{me}");
    assert_eq!(me["currentRoom"], Value::Null, "{me}");
    assert_eq!(me["talking"], false, "{me}");
    assert_eq!(me["hidden"], false, "{me}");
    admin.forget();

    // An administrator exists and open_signup is off: "signup" is refused, no account is made.
    let mut eve = wcc.rebuttal().await?;
    eve.send(
        json!({"type": "signup", "userName": "Eve", "email": "eve@wcc.test",
        "password": PASSWORD, "signUp": "signup"}),
    )
    .await?;
    let refused = eve.next().await?;
    assert_eq!(
        refused["type"], "error",
        "signup without an invite: {refused}"
    );
    // Eve's account was never made: her login is refused (and ends that connection).
    let mut never = wcc.rebuttal().await?;
    let refused = never
        .refused(
            json!({"type": "login", "email": "eve@wcc.test", "password": PASSWORD,
            "protocol": "v1"}),
        )
        .await?;
    assert_eq!(refused, "Invalid email or password");

    // Groups: create, update (an unknown permission is refused), as everyone sees them.
    admin
        .send(json!({"type": "creategroup", "groupName": "members"}))
        .await?;
    admin
        .expect("updateGroups", |p| p["groups"]["members"].is_array())
        .await?;
    admin
        .send(
            json!({"type": "updategroup", "groupName": "members", "changes": [
            {"add": "sendMessage"}, {"add": "removeRoom"}, {"add": "joinVoiceRoom"},
            {"remove": "removeRoom"}]}),
        )
        .await?;
    let groups = admin
        .expect("updateGroups", |p| {
            strings(&p["groups"]["members"]).len() == 2
        })
        .await?;
    assert_eq!(
        strings(&groups["groups"]["members"]),
        set(&["joinVoiceRoom", "sendMessage"]),
        "{groups}"
    );
    admin.forget();
    let unknown = admin
        .refused(json!({"type": "updategroup", "groupName": "members",
            "changes": [{"add": "rootShell"}]}))
        .await?;
    assert!(!unknown.is_empty(), "an unknown permission is refused");

    // An invite puts its user in its group, once.
    admin
        .send(json!({"type": "invite", "groupName": "members"}))
        .await?;
    let invite = admin.expect("invite", |_| true).await?;
    let code = invite["invite_code"]
        .as_str()
        .with_context(|| format!("no invite_code: {invite}"))?
        .to_owned();
    let mut bob = wcc.rebuttal().await?;
    let bob_id = bob.signup("Bob", "bob@wcc.test", &code).await?;
    assert!(is_uuid(&bob_id), "{bob_id}");
    let bob_perms = bob.expect("updatePerms", |_| true).await?;
    assert_eq!(
        perms(&bob_perms),
        set(&["joinVoiceRoom", "sendMessage"]),
        "{bob_perms}"
    );
    let reused = eve
        .refused(
            json!({"type": "signup", "userName": "Eve", "email": "eve@wcc.test",
            "password": PASSWORD, "signUp": code}),
        )
        .await?;
    assert!(reused.contains("invite"), "a used invite: {reused}");
    let bogus = eve
        .refused(
            json!({"type": "signup", "userName": "Eve", "email": "eve@wcc.test",
            "password": PASSWORD, "signUp": "no-such-code"}),
        )
        .await?;
    assert!(bogus.contains("invite"), "an unknown invite: {bogus}");
    let users = admin
        .expect("updateUsers", |p| user_in(p, &bob_id).is_some())
        .await?;
    assert_eq!(user_in(&users, &bob_id).unwrap()["name"], "Bob", "{users}");

    // A change to a group reaches its logged-in members.
    bob.forget();
    admin
        .send(json!({"type": "updategroup", "groupName": "members",
            "changes": [{"add": "renameRoom"}]}))
        .await?;
    let more = bob
        .expect("updatePerms", |p| perms(p).contains("renameRoom"))
        .await?;
    assert_eq!(
        perms(&more),
        set(&["joinVoiceRoom", "renameRoom", "sendMessage"]),
        "{more}"
    );
    bob.expect("updateGroups", |p| {
        strings(&p["groups"]["members"]).contains("renameRoom")
    })
    .await?;
    admin
        .send(json!({"type": "updategroup", "groupName": "members",
            "changes": [{"remove": "renameRoom"}]}))
        .await?;
    bob.expect("updatePerms", |p| !perms(p).contains("renameRoom"))
        .await?;
    bob.forget();
    admin.forget();

    Ok(Cast {
        admin,
        admin_id,
        bob,
        bob_id,
        carol: None,
        carol_id: String::new(),
        carol_password: String::new(),
        room: String::new(),
        call: String::new(),
    })
}

/// createroom (text and voice) and updateroom, seen by everyone.
async fn rooms(cast: &mut Cast) -> Result<()> {
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

/// message (text, a PNG, a JPEG, a text file refused), getmessages by null and by number,
/// updatemessage and removemessage, as another client sees them. Every follower draws a new
/// message from the segment sent just before it (`a_new_message_is_drawn_from_its_segment_then_
/// notified`, checked on each message here).
async fn messages_images_and_history(cast: &mut Cast) -> Result<()> {
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

/// createuser (its password logs in), setusergroup (an unknown group too), every permissioned
/// packet refused to a user without permissions, updateuser of yourself and of another.
async fn users_and_refusals(wcc: &Wcc, cast: &mut Cast) -> Result<()> {
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

/// joinroom, chatdev, video, letmesee (only to their target), golive, talking, servermute,
/// leaveroom; contextoption and windowinput accepted quietly.
async fn voice(cast: &mut Cast) -> Result<()> {
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

/// removeuser with vengeance (their messages masked, their socket closed, their login gone),
/// removegroup (its members lose its permissions), removeroom.
async fn removals(wcc: &Wcc, cast: &mut Cast) -> Result<()> {
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

/// A venueless client in the room Rebuttal created: messages cross both ways.
async fn cross_protocol(wcc: &Wcc, cast: &mut Cast) -> Result<()> {
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

/// Malformed packets close with 3001 (each on its own connection); an unknown type is an
/// error and the connection goes on.
async fn bad_packets(wcc: &Wcc, cast: &mut Cast) -> Result<()> {
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

/// Closing the connection leaves the voice room: a second connection of the admin's joins a new
/// voice room and hangs up; the first sees it leave. Last, as nothing after it depends on it.
async fn closing_leaves_the_voice_room(wcc: &Wcc, cast: &mut Cast) -> Result<()> {
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

// --- what upstream's web client sends and needs ---------------------------------------------

/// A history segment no message reaches: an `updateText` of it can only answer a `getmessages`
/// for it, never come from a room's feed, which sends the segment holding a new message.
const UNREACHED_SEGMENT: u64 = 1000;

/// The answer to a `getmessages` sent now: proof that the connection read everything sent
/// before it (it answers in order); whatever those packets earned arrived first and is kept.
async fn answer(client: &mut Rebuttal, room: &str) -> Result<Value> {
    client
        .send(json!({"type": "getmessages", "roomid": room, "segment": UNREACHED_SEGMENT}))
        .await?;
    client
        .expect("updateText", |p| {
            p["roomid"] == room && p["segment"] == UNREACHED_SEGMENT
        })
        .await
}

/// Every packet `client` gets up to the `sendMessage` of `text` in `room`, that one last.
async fn read_until_notified(client: &mut Rebuttal, room: &str, text: &str) -> Result<Vec<Value>> {
    let mut read = Vec::new();
    loop {
        let packet = client
            .next()
            .await
            .with_context(|| format!("waiting for the message {text:?}"))?;
        let done = packet["type"] == "sendMessage"
            && packet["roomid"] == room
            && packet["message"]["text"] == text;
        read.push(packet);
        if done {
            return Ok(read);
        }
    }
}

/// The web client draws a room from `updateText` only; `sendMessage` plays a sound and shows a
/// notification. So every follower must get, for each new message, the segment holding it and
/// then the message, as upstream sends them. Reads `client`'s packets up to the `sendMessage`
/// of `text` in `room`, checks that the packet just before it is that segment, and returns it.
async fn a_new_message_is_drawn_from_its_segment_then_notified(
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

/// The web client draws a voice room's video tiles from its `userlist`: user objects, as in
/// the user list (it reads `user.id`, `user.name`, `user.avatar`, `user.livelabel`).
fn a_voice_rooms_userlist_holds_user_objects(rooms: &Value, call: &str, id: &str, name: &str) {
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

/// The greeting names the protocol versions the server speaks; the web client logs in with
/// `client.send.login(email, password, "v1")`.
async fn the_greeting_offers_protocol_v1_and_the_client_logs_in_with_it(
    wcc: &Wcc,
    cast: &mut Cast,
) -> Result<()> {
    let mut client = wcc.rebuttal().await?;
    assert_eq!(
        client.greeting["protocols"],
        json!(["v1"]),
        "{}",
        client.greeting
    );
    client
        .send(
            json!({"type": "login", "email": ADMIN_EMAIL, "password": PASSWORD,
            "protocol": "v1"}),
        )
        .await?;
    let login = client.expect("login", |_| true).await?;
    assert_eq!(
        login,
        json!({"type": "login", "userid": cast.admin_id, "success": true})
    );
    client.expect("updateUsers", |_| true).await?;
    client.close().await?;
    Ok(())
}

/// A refused login ends the connection as upstream's does: the `error` saying why (the web
/// client shows it), then close code 3001.
async fn a_wrong_password_closes_the_connection_with_3001(wcc: &Wcc) -> Result<()> {
    let mut client = wcc.rebuttal().await?;
    let refused = client
        .refused(
            json!({"type": "login", "email": ADMIN_EMAIL, "password": "not it",
            "protocol": "v1"}),
        )
        .await?;
    assert_eq!(refused, "Invalid email or password");
    assert_eq!(client.closed_with().await?, 3001);
    Ok(())
}

/// A room made after a client logged in is not followed yet: the client's first message there
/// comes back as the segment to draw, and the room is followed from then on. A copy from the
/// room's feed may follow, but the message is notified (`sendMessage`) once at most, and the
/// next one as every follower gets it. Everything the feed sends for the first comes before
/// the second's, as a room's events are delivered in order.
async fn a_senders_first_message_to_a_room_arrives_once(cast: &mut Cast) -> Result<()> {
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
    let read = read_until_notified(bob, &side, "side two").await?;
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
    let segment = &read[read.len() - 2];
    assert_eq!(
        texts(segment),
        ["side one", "side two"],
        "the second drawn from the feed: {segment}"
    );
    for text in ["side one", "side two"] {
        a_new_message_is_drawn_from_its_segment_then_notified(admin, &side, text).await?;
    }
    admin.forget();
    bob.forget();
    Ok(())
}

/// WebRTC signalling as the web client sends it: `video` payloads are objects (offers and
/// answers `{type, sdp}`, ICE candidates, its own `{type: "callme"}`), `letmesee.message` is
/// whether the sender now watches. Each reaches its target exactly as sent, with who sent it.
async fn webrtc_offers_and_watch_requests_reach_their_target_as_sent(
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
async fn hanging_up_without_a_room_id_leaves_the_voice_room(cast: &mut Cast) -> Result<()> {
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

/// Every client's user list says who is connected (`status`, a boolean) and is sent to
/// everyone when someone signs in and when a connection closes, as upstream's is. A close also
/// tells everyone `disconnect{userid}` (the web client drops that user's call), and a stream
/// the connection started ends with it. The invite is made as the web client asks for one
/// (`client.send.invite(group_name)`).
async fn signing_in_and_closing_show_in_everyones_user_list(
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
async fn a_user_signed_in_on_another_protocol_shows_as_connected_until_that_socket_closes(
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
