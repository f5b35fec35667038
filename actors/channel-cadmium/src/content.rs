//! Cadmium's message types and how they are stored.
//!
//! wcc stores message content protocol-neutrally so every channel can show it: chat text is
//! `{"type": "text", "body": ...}` (what venueless sends too). Cadmium's types map to:
//!
//! | Cadmium type  | stored content                                           |
//! |---------------|----------------------------------------------------------|
//! | general       | `{"type": "text", "body": text, "media": [{url, mimeType}]}` |
//! | audio         | `{"type": "audio", "url": url, "body": url}`             |
//! | geolocation   | `{"type": "geolocation", "lat", "lon", "body": "geo:lat,lon"}` |
//!
//! plus `"reply": messageID` when the message answers another. `body` is there so a protocol
//! that shows only text still shows something meaningful (`geo:` is RFC 5870's URI).

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::codec::Error;
use crate::errors;

pub const GENERAL: &str = "urn:cadmium:chats:message-types:general";
pub const AUDIO: &str = "urn:cadmium:chats:message-types:audio";
pub const GEOLOCATION: &str = "urn:cadmium:chats:message-types:geolocation";

/// Most media attachments one message may carry.
pub const MAX_MEDIA: usize = 16;
/// Longest URL accepted (media or audio).
pub const MAX_URL_BYTES: usize = 2048;

#[derive(Clone, Debug, PartialEq)]
pub enum Content {
    General { text: String, media: Vec<Media> },
    Audio { url: String },
    Geolocation { lat: f64, lon: f64 },
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Media {
    pub url: String,
    pub mime_type: String,
}

/// The payload of `urn:cadmium:chats:private:message`, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct SendMessage {
    pub content: Content,
    /// The id of the message this one replies to.
    pub reply: Option<String>,
}

#[derive(Deserialize)]
struct Payload {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    reply: Option<String>,
    content: Value,
}

#[derive(Deserialize)]
struct General {
    text: String,
    #[serde(default)]
    media: Vec<Media>,
}

#[derive(Deserialize)]
struct Audio {
    url: String,
}

#[derive(Deserialize)]
struct Geolocation {
    lat: f64,
    lon: f64,
}

fn invalid(text: impl Into<String>) -> Error {
    Error::new(errors::INVALID_REQUEST, text)
}

fn read<T: serde::de::DeserializeOwned>(kind: &str, content: Value) -> Result<T, Error> {
    serde_json::from_value(content).map_err(|e| invalid(format!("bad {kind} content: {e}")))
}

fn check_url(url: &str) -> Result<(), Error> {
    if url.trim().is_empty() || url.len() > MAX_URL_BYTES {
        return Err(invalid(format!("a url is 1 to {MAX_URL_BYTES} bytes")));
    }
    Ok(())
}

/// Reads and checks a send-message payload.
pub fn parse(payload: Value) -> Result<SendMessage, Error> {
    let payload: Payload = serde_json::from_value(payload)
        .map_err(|e| invalid(format!("bad message payload: {e}")))?;
    let content = match payload.kind.as_str() {
        GENERAL => {
            let general: General = read("general", payload.content)?;
            if general.text.trim().is_empty() && general.media.is_empty() {
                return Err(invalid("a message needs text or media"));
            }
            if general.media.len() > MAX_MEDIA {
                return Err(invalid(format!("at most {MAX_MEDIA} media per message")));
            }
            for media in &general.media {
                check_url(&media.url)?;
                if !media.mime_type.contains('/') {
                    return Err(invalid(format!("{:?} is not a MIME type", media.mime_type)));
                }
            }
            Content::General {
                text: general.text,
                media: general.media,
            }
        }
        AUDIO => {
            let audio: Audio = read("audio", payload.content)?;
            check_url(&audio.url)?;
            Content::Audio { url: audio.url }
        }
        GEOLOCATION => {
            let geo: Geolocation = read("geolocation", payload.content)?;
            if !(-90.0..=90.0).contains(&geo.lat) || !(-180.0..=180.0).contains(&geo.lon) {
                return Err(invalid(
                    "lat must be within -90..90 and lon within -180..180",
                ));
            }
            Content::Geolocation {
                lat: geo.lat,
                lon: geo.lon,
            }
        }
        other => return Err(invalid(format!("unknown message type {other:?}"))),
    };
    Ok(SendMessage {
        content,
        reply: payload.reply,
    })
}

/// The content as wcc stores it (see the module table).
pub fn to_stored(message: &SendMessage) -> Value {
    let mut stored = match &message.content {
        Content::General { text, media } => {
            let mut v = json!({ "type": "text", "body": text });
            if !media.is_empty() {
                let media: Vec<Value> = media
                    .iter()
                    .map(|m| json!({ "url": m.url, "mimeType": m.mime_type }))
                    .collect();
                v["media"] = Value::Array(media);
            }
            v
        }
        Content::Audio { url } => json!({ "type": "audio", "url": url, "body": url }),
        Content::Geolocation { lat, lon } => {
            json!({ "type": "geolocation", "lat": lat, "lon": lon, "body": format!("geo:{lat},{lon}") })
        }
    };
    if let Some(reply) = &message.reply {
        stored["reply"] = json!(reply);
    }
    stored
}

/// Stored content (from any protocol) as a Cadmium `{type, content}`; what is not audio or a
/// location becomes a general message with whatever text the sender wrote.
pub fn from_stored(stored: &Value) -> (&'static str, Value) {
    let kind = stored["type"].as_str().unwrap_or_default();
    match kind {
        "audio" if stored["url"].is_string() => (AUDIO, json!({ "url": stored["url"] })),
        "geolocation" if stored["lat"].is_number() && stored["lon"].is_number() => (
            GEOLOCATION,
            json!({ "lat": stored["lat"], "lon": stored["lon"] }),
        ),
        _ => {
            let text = ["body", "text", "message"]
                .iter()
                .find_map(|key| stored[*key].as_str())
                .unwrap_or_default();
            let mut content = Map::new();
            content.insert("text".into(), json!(text));
            if let Some(media) = stored["media"].as_array() {
                content.insert("media".into(), Value::Array(media.clone()));
            }
            (GENERAL, Value::Object(content))
        }
    }
}
