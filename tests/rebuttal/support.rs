//! What the acts share: pickers of what the packets say, assertions on their shapes, real image
//! files to upload, and a round trip proving a connection has read everything sent before it.

use std::collections::BTreeSet;
use std::io::Write;

use anyhow::Result;
use serde_json::{json, Value};

use crate::common::rebuttal::Rebuttal;

// --- what the packets say ----------------------------------------------------------------------

/// The permissions the contract names, each guarding at least one packet.
pub(crate) const PERMISSIONS: [&str; 13] = [
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

pub(crate) const REMOVED: &str = "*Message Removed*";

pub(crate) fn strings(value: &Value) -> BTreeSet<String> {
    let list = value.as_array().cloned().unwrap_or_default();
    list.iter()
        .filter_map(|p| p.as_str().map(str::to_owned))
        .collect()
}

pub(crate) fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// The permissions of an `updatePerms`.
pub(crate) fn perms(packet: &Value) -> BTreeSet<String> {
    strings(&packet["perms"])
}

pub(crate) fn room_named(packet: &Value, name: &str) -> Option<Value> {
    let rooms = packet["roomList"].as_array()?;
    rooms.iter().find(|r| r["name"] == name).cloned()
}

pub(crate) fn room_with_id(packet: &Value, id: &str) -> Option<Value> {
    let rooms = packet["roomList"].as_array()?;
    rooms.iter().find(|r| r["id"] == id).cloned()
}

/// The ids in the userlist of room `id` in an `updateRooms`, if listed. The list holds user
/// objects (the client reads `user.id`); anything else there is no one.
pub(crate) fn occupants(packet: &Value, id: &str) -> Option<BTreeSet<String>> {
    let room = room_with_id(packet, id)?;
    let list = room["userlist"].as_array().cloned().unwrap_or_default();
    Some(
        list.iter()
            .filter_map(|u| u["id"].as_str().map(str::to_owned))
            .collect(),
    )
}

pub(crate) fn user_in(packet: &Value, id: &str) -> Option<Value> {
    let users = packet["userList"].as_array()?;
    users.iter().find(|u| u["id"] == id).cloned()
}

pub(crate) fn texts(update: &Value) -> Vec<String> {
    let messages = update["messages"].as_array().cloned().unwrap_or_default();
    messages
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The message numbered `idx` in an `updateText`.
pub(crate) fn message_at(update: &Value, idx: u64) -> Option<Value> {
    let messages = update["messages"].as_array()?;
    messages.iter().find(|m| m["idx"] == idx).cloned()
}

/// A UUID in its hyphenated form (Rebuttal's ids of users and rooms).
pub(crate) fn is_uuid(id: &str) -> bool {
    id.len() == 36
        && id.chars().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

pub(crate) fn assert_denied(refusal: &str, permission: &str, packet: &Value) {
    assert_eq!(
        refusal,
        format!("Permission denied: {permission}"),
        "refusal of {packet}"
    );
}

/// A message object as the contract shapes it.
pub(crate) fn assert_message(
    message: &Value,
    text: &str,
    user: &str,
    name: &str,
    room: &str,
    idx: u64,
) {
    assert_eq!(message["text"], text, "{message}");
    assert_eq!(message["userid"], user, "{message}");
    assert_eq!(message["username"], name, "{message}");
    assert_eq!(message["roomid"], room, "{message}");
    assert_eq!(message["idx"], idx, "{message}");
    assert_eq!(message["type"], "text", "{message}");
    assert_eq!(message["tags"], json!([]), "{message}");
    assert_eq!(message["url"], Value::Null, "{message}");
}

pub(crate) fn assert_removed(message: &Value) {
    assert_eq!(message["text"], REMOVED, "{message}");
    assert!(message.get("userid").is_none(), "no userid: {message}");
}

// --- real image files ----------------------------------------------------------------------------

/// A real PNG: signature, IHDR, one zlib-compressed IDAT of grey pixels, IEND, with CRCs.
pub(crate) fn png(width: u32, height: u32) -> Vec<u8> {
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
pub(crate) fn jpeg(width: u16, height: u16) -> Vec<u8> {
    let mut out = Vec::new();
    let pixels = vec![200u8; width as usize * height as usize * 3];
    jpeg_encoder::Encoder::new(&mut out, 80)
        .encode(&pixels, width, height, jpeg_encoder::ColorType::Rgb)
        .expect("to memory");
    out
}

/// A history segment no message reaches: an `updateText` of it can only answer a `getmessages`
/// for it, never come from a room's feed, which sends the segment holding a new message.
const UNREACHED_SEGMENT: u64 = 1000;

/// The answer to a `getmessages` sent now: proof that the connection read everything sent
/// before it (it answers in order); whatever those packets earned arrived first and is kept.
pub(crate) async fn answer(client: &mut Rebuttal, room: &str) -> Result<Value> {
    client
        .send(json!({"type": "getmessages", "roomid": room, "segment": UNREACHED_SEGMENT}))
        .await?;
    client
        .expect("updateText", |p| {
            p["roomid"] == room && p["segment"] == UNREACHED_SEGMENT
        })
        .await
}
