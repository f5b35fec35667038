//! The console feed's frames: JSON text both ways.
//!
//! In: `{"type":"auth","token":…}` first, then `{"type":"watch","room":…}` and
//! `{"type":"unwatch","room":…}`. Out: `{"type":"ready"}`, `{"type":"watching","room":…}`,
//! `{"type":"unwatched","room":…}`, `{"type":"error","code":…,"message":…}`, and one
//! `{"type":"event","event":<envelope>}` per event heard, the envelope as wcc publishes it.

use channel_kit::Frame;
use serde::Deserialize;
use serde_json::json;

/// Longest frame read: a token or a room id, with room to spare.
pub const MAX_FRAME_BYTES: usize = 4096;

/// What a console asked for.
#[derive(Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum Command {
    Auth { token: String },
    Watch { room: String },
    Unwatch { room: String },
}

/// Why a frame is no command; `code` and `message` go to the client as they are.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

pub fn decode(frame: &Frame) -> Result<Command, Refusal> {
    let text = match frame {
        Frame::Text(text) if text.len() <= MAX_FRAME_BYTES => text,
        Frame::Text(text) => return Err(too_large(text.len() as u64)),
        Frame::Oversize(len) => return Err(too_large(*len)),
        Frame::Binary(_) => return Err(Refusal::new("invalid", "frames are JSON text")),
    };
    serde_json::from_str(text).map_err(|e| {
        Refusal::new(
            "invalid",
            format!("expected {{type: auth|watch|unwatch, …}}: {e}"),
        )
    })
}

fn too_large(len: u64) -> Refusal {
    Refusal::new(
        "too_large",
        format!("a frame of {len} bytes; at most {MAX_FRAME_BYTES}"),
    )
}

pub fn ready() -> String {
    json!({"type": "ready"}).to_string()
}

pub fn watching(room: &str) -> String {
    json!({"type": "watching", "room": room}).to_string()
}

pub fn unwatched(room: &str) -> String {
    json!({"type": "unwatched", "room": room}).to_string()
}

pub fn error(refusal: &Refusal) -> String {
    json!({"type": "error", "code": refusal.code, "message": refusal.message}).to_string()
}

/// An event envelope as the console gets it; `None` for text that is no JSON object (nothing
/// wcc publishes), so a stray publish cannot break a console's parser. The envelope goes as it
/// was published, byte for byte: re-encoding it could round a number in a message's content.
pub fn event(envelope: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(envelope).ok()?;
    Some(format!(r#"{{"type":"event","event":{}}}"#, envelope.trim()))
}
