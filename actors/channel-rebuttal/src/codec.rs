//! Rebuttal's packets: JSON objects with a `type`. Decoding is a pure function from frame text
//! to a typed [`Packet`]; the server's packets are built by the small functions at the bottom.
//!
//! Upstream closes the socket (code [`MALFORMED_CLOSE`]) on a packet it cannot read: not JSON,
//! not an object, no `type`, or a known type whose fields are missing or of the wrong type. An
//! unknown `type` is only an error: newer clients may send more than this server knows.

use serde::Deserialize;
use serde_json::{json, Map, Value};

/// The close code for a malformed packet, and for a refused login.
pub const MALFORMED_CLOSE: u16 = 3001;

/// The one protocol version this server speaks, as the greeting offers it and upstream's client
/// asks for it in `login`.
pub const PROTOCOL: &str = "v1";

/// A client packet, named and shaped as upstream's.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Packet {
    Login {
        email: String,
        password: String,
    },
    Signup {
        #[serde(rename = "userName")]
        user_name: String,
        password: String,
        /// An invite code, or `signup` for an invite-less sign-up.
        #[serde(rename = "signUp")]
        code: String,
        email: String,
    },
    Invite {
        /// Upstream's packet definition says `groupName`; its web client sends `group_name`.
        #[serde(rename = "groupName", alias = "group_name")]
        group: String,
    },
    GetMessages {
        #[serde(rename = "roomid")]
        room: String,
        /// `None`: the most recent segment.
        segment: Option<u64>,
    },
    Message {
        #[serde(rename = "roomid")]
        room: String,
        message: MessageBody,
        filename: Option<String>,
        /// Base64 of an image.
        rawfile: Option<String>,
    },
    JoinRoom {
        #[serde(rename = "roomid")]
        room: String,
    },
    /// Upstream's client hangs up without naming the room: the connection's own voice room.
    LeaveRoom {
        #[serde(rename = "roomid", default)]
        room: Option<String>,
    },
    Video {
        #[serde(rename = "touserid")]
        to: String,
        /// WebRTC signalling, relayed as it came: an offer or answer (`{type, sdp}`), an ICE
        /// candidate, or the client's own `{type: "callme"}`. Nothing (`null`) is not sent on.
        #[serde(default)]
        payload: Value,
    },
    GoLive {
        #[serde(rename = "livestate")]
        live: bool,
        #[serde(rename = "livelabel", default)]
        label: String,
    },
    LetMeSee {
        #[serde(rename = "touserid")]
        to: String,
        /// Whether the sender now watches the target's stream.
        message: bool,
    },
    CreateRoom {
        #[serde(rename = "roomType")]
        kind: String,
        #[serde(rename = "roomName")]
        name: String,
    },
    CreateUser {
        #[serde(rename = "userName")]
        name: String,
        #[serde(rename = "groupName")]
        group: String,
        email: String,
    },
    UpdateRoom {
        #[serde(rename = "roomid")]
        room: String,
        #[serde(rename = "roomName")]
        name: String,
    },
    UpdateUser {
        #[serde(rename = "userid")]
        user: String,
        #[serde(rename = "userName")]
        name: String,
    },
    RemoveRoom {
        #[serde(rename = "roomid")]
        room: String,
    },
    RemoveUser {
        #[serde(rename = "touserid")]
        user: String,
        /// Upstream's spelling.
        #[serde(rename = "withvengence", default)]
        vengeance: bool,
    },
    UpdateMessage {
        #[serde(rename = "roomid")]
        room: String,
        #[serde(rename = "messageid")]
        idx: u64,
        message: MessageBody,
    },
    RemoveMessage {
        #[serde(rename = "roomid")]
        room: String,
        #[serde(rename = "messageid")]
        idx: u64,
    },
    CreateGroup {
        #[serde(rename = "groupName")]
        group: String,
    },
    UpdateGroup {
        #[serde(rename = "groupName")]
        group: String,
        changes: Vec<GroupChange>,
    },
    RemoveGroup {
        #[serde(rename = "groupName")]
        group: String,
    },
    SetUserGroup {
        #[serde(rename = "userid")]
        user: String,
        #[serde(rename = "groupName")]
        group: String,
    },
    ChatDev {
        video: bool,
        audio: bool,
    },
    ServerMute {
        #[serde(rename = "userid")]
        user: String,
        suppress: bool,
    },
    Talking {
        talking: bool,
    },
    ContextOption {
        context: String,
        option: String,
        #[serde(default)]
        value: String,
    },
    WindowInput {
        #[serde(rename = "inputid")]
        input: String,
        #[serde(default)]
        value: String,
        #[serde(rename = "allinputs", default)]
        all_inputs: String,
    },
}

/// The message object a client sends: only its text is the client's to choose.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct MessageBody {
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct GroupChange {
    pub add: Option<String>,
    pub remove: Option<String>,
}

/// Every packet type [`Packet`] reads.
pub const KNOWN_TYPES: [&str; 29] = [
    "login",
    "signup",
    "invite",
    "getmessages",
    "message",
    "joinroom",
    "leaveroom",
    "video",
    "golive",
    "letmesee",
    "createroom",
    "createuser",
    "updateroom",
    "updateuser",
    "removeroom",
    "removeuser",
    "updatemessage",
    "removemessage",
    "creategroup",
    "updategroup",
    "removegroup",
    "setusergroup",
    "chatdev",
    "servermute",
    "talking",
    "contextoption",
    "windowinput",
    // Packets upstream servers ignore from clients; read so they are not "unknown".
    "ping",
    "pong",
];

/// What a frame turned out to be.
#[derive(Clone, Debug, PartialEq)]
pub enum Decoded {
    Packet(Box<Packet>),
    /// A well-formed packet of a type this server does not know.
    Unknown(String),
    /// `ping`/`pong` keep-alives: nothing to do.
    KeepAlive,
}

/// Why a frame is malformed (the close reason).
#[derive(Clone, Debug, PartialEq)]
pub struct Malformed(pub String);

pub fn decode(text: &str) -> Result<Decoded, Malformed> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| Malformed(format!("not JSON: {e}")))?;
    let Some(kind) = value.get("type") else {
        return Err(Malformed("a packet is an object with a type".into()));
    };
    let Some(kind) = kind.as_str().map(str::to_owned) else {
        return Err(Malformed("type is not a string".into()));
    };
    let kind = kind.as_str();
    if kind == "ping" || kind == "pong" {
        return Ok(Decoded::KeepAlive);
    }
    if !KNOWN_TYPES.contains(&kind) {
        return Ok(Decoded::Unknown(kind.to_owned()));
    }
    serde_json::from_value::<Packet>(value)
        .map(|packet| Decoded::Packet(Box::new(packet)))
        .map_err(|e| Malformed(format!("bad {kind} packet: {e}")))
}

/// A server packet: `body`'s fields plus `type`.
pub fn packet(kind: &str, body: Value) -> String {
    let mut fields = match body {
        Value::Object(fields) => fields,
        _ => Map::new(),
    };
    fields.insert("type".into(), Value::String(kind.into()));
    Value::Object(fields).to_string()
}

pub fn error(message: &str) -> String {
    packet("error", json!({ "message": message }))
}

pub fn connect(welcome: &str) -> String {
    packet(
        "connect",
        json!({
            "message": welcome,
            "icon": "",
            "url": "",
            "contextmenus": {},
            "protocols": [PROTOCOL],
        }),
    )
}

pub fn login(user: &str) -> String {
    packet("login", json!({ "userid": user, "success": true }))
}

pub fn admin_message(message: &str) -> String {
    packet("adminMessage", json!({ "message": message }))
}

pub fn perms(permissions: &[String]) -> String {
    packet("updatePerms", json!({ "perms": permissions }))
}
