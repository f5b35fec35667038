//! Engine.IO 4 and Socket.IO 5 packets as they travel in websocket text frames: pure functions
//! from text to typed packets and back, so the framing is tested without a server.
//!
//! Engine.IO: one packet per frame, a type digit then its data (`0` open with the handshake
//! JSON, `1` close, `2` ping, `3` pong, `4` message, `5` upgrade, `6` noop). A Socket.IO packet
//! is the data of a message: a type digit (`0` connect, `1` disconnect, `2` event, `3` ack,
//! `4` connect error; `5`/`6` are their binary forms), then a namespace and `,` unless it is
//! `/`, then an ack id in decimal if any, then JSON (an event is `["name", args...]`).

use std::fmt;

use serde_json::Value;

/// Why a frame is not a packet this client understands.
#[derive(Debug, PartialEq, Eq)]
pub enum PacketError {
    Empty,
    UnknownType(char),
    /// Binary attachments: the benchmark's load never sends or expects any.
    Binary,
    /// A namespace other than `/`, the only one this client connects to.
    Namespace(String),
    /// An ack id too large for a u64, or an ack without one.
    AckId,
    Json(String),
    /// An event's data must be an array starting with the event's name.
    NotAnEvent,
    /// An ack's data must be an array of arguments.
    NotAnAck,
    /// The open packet's handshake has no session id.
    Handshake,
}

impl fmt::Display for PacketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "an empty frame"),
            Self::UnknownType(c) => write!(f, "unknown packet type {c:?}"),
            Self::Binary => write!(f, "a binary packet (not used by the benchmark)"),
            Self::Namespace(ns) => write!(f, "a packet for namespace {ns:?}, not \"/\""),
            Self::AckId => write!(f, "a missing or out-of-range ack id"),
            Self::Json(e) => write!(f, "bad JSON: {e}"),
            Self::NotAnEvent => write!(f, "an event that is not [\"name\", ...]"),
            Self::NotAnAck => write!(f, "an ack whose data is not an array"),
            Self::Handshake => write!(f, "an open packet without a session id"),
        }
    }
}

impl std::error::Error for PacketError {}

/// One Engine.IO packet; the data borrows the frame's text.
#[derive(Debug, PartialEq, Eq)]
pub enum EnginePacket<'a> {
    /// The handshake JSON (`sid`, `upgrades`, `pingInterval`, `pingTimeout`, `maxPayload`).
    Open(&'a str),
    Close,
    Ping(&'a str),
    Pong(&'a str),
    Message(&'a str),
    Upgrade,
    Noop,
}

impl<'a> EnginePacket<'a> {
    pub fn decode(text: &'a str) -> Result<Self, PacketError> {
        let kind = text.chars().next().ok_or(PacketError::Empty)?;
        let data = &text[kind.len_utf8()..];
        Ok(match kind {
            '0' => Self::Open(data),
            '1' => Self::Close,
            '2' => Self::Ping(data),
            '3' => Self::Pong(data),
            '4' => Self::Message(data),
            '5' => Self::Upgrade,
            '6' => Self::Noop,
            other => return Err(PacketError::UnknownType(other)),
        })
    }

    pub fn encode(&self) -> String {
        match self {
            Self::Open(data) => format!("0{data}"),
            Self::Close => "1".into(),
            Self::Ping(data) => format!("2{data}"),
            Self::Pong(data) => format!("3{data}"),
            Self::Message(data) => format!("4{data}"),
            Self::Upgrade => "5".into(),
            Self::Noop => "6".into(),
        }
    }
}

/// The session id of an open packet's handshake: proof the server speaks Engine.IO 4.
pub fn handshake_sid(open: &str) -> Result<String, PacketError> {
    let handshake: Value =
        serde_json::from_str(open).map_err(|e| PacketError::Json(e.to_string()))?;
    handshake["sid"]
        .as_str()
        .filter(|sid| !sid.is_empty())
        .map(str::to_string)
        .ok_or(PacketError::Handshake)
}

/// One Socket.IO packet on the main namespace `/`.
#[derive(Debug, PartialEq)]
pub enum SocketPacket {
    /// The client's request (optionally with an auth payload) or the server's `{"sid": ...}`.
    Connect(Option<Value>),
    Disconnect,
    Event {
        ack: Option<u64>,
        name: String,
        args: Vec<Value>,
    },
    Ack {
        id: u64,
        args: Vec<Value>,
    },
    ConnectError(Value),
}

impl SocketPacket {
    /// Decodes the data of an Engine.IO message.
    pub fn decode(data: &str) -> Result<Self, PacketError> {
        let kind = data.chars().next().ok_or(PacketError::Empty)?;
        let mut rest = &data[kind.len_utf8()..];
        if matches!(kind, '5' | '6') {
            return Err(PacketError::Binary);
        }
        if rest.starts_with('/') {
            let (namespace, after) = rest.split_once(',').unwrap_or((rest, ""));
            if namespace != "/" {
                return Err(PacketError::Namespace(namespace.to_string()));
            }
            rest = after;
        }
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let ack = match digits {
            0 => None,
            _ => Some(rest[..digits].parse().map_err(|_| PacketError::AckId)?),
        };
        let json = &rest[digits..];
        let payload = match json {
            "" => None,
            _ => Some(serde_json::from_str(json).map_err(|e| PacketError::Json(e.to_string()))?),
        };
        Ok(match kind {
            '0' => Self::Connect(payload),
            '1' => Self::Disconnect,
            '2' => {
                let Some(Value::Array(mut args)) = payload else {
                    return Err(PacketError::NotAnEvent);
                };
                if !args.first().is_some_and(Value::is_string) {
                    return Err(PacketError::NotAnEvent);
                }
                let Value::String(name) = args.remove(0) else {
                    return Err(PacketError::NotAnEvent);
                };
                Self::Event { ack, name, args }
            }
            '3' => {
                let id = ack.ok_or(PacketError::AckId)?;
                let Some(Value::Array(args)) = payload else {
                    return Err(PacketError::NotAnAck);
                };
                Self::Ack { id, args }
            }
            '4' => Self::ConnectError(payload.unwrap_or(Value::Null)),
            other => return Err(PacketError::UnknownType(other)),
        })
    }

    pub fn encode(&self) -> String {
        match self {
            Self::Connect(None) => "0".into(),
            Self::Connect(Some(auth)) => format!("0{auth}"),
            Self::Disconnect => "1".into(),
            Self::Event { ack, name, args } => {
                let mut array = Vec::with_capacity(args.len() + 1);
                array.push(Value::String(name.clone()));
                array.extend(args.iter().cloned());
                let id = ack.map(|id| id.to_string()).unwrap_or_default();
                format!("2{id}{}", Value::Array(array))
            }
            Self::Ack { id, args } => format!("3{id}{}", Value::Array(args.clone())),
            Self::ConnectError(error) => format!("4{error}"),
        }
    }

    /// The whole websocket frame: this packet as the data of an Engine.IO message.
    pub fn frame(&self) -> String {
        EnginePacket::Message(&self.encode()).encode()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn engine_packets_decode_by_their_type_digit() {
        let open = r#"0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
        let EnginePacket::Open(handshake) = EnginePacket::decode(open).unwrap() else {
            panic!("not an open packet")
        };
        assert_eq!(handshake_sid(handshake).unwrap(), "abc");
        assert_eq!(EnginePacket::decode("2").unwrap(), EnginePacket::Ping(""));
        assert_eq!(
            EnginePacket::decode("2probe").unwrap(),
            EnginePacket::Ping("probe")
        );
        assert_eq!(EnginePacket::decode("1").unwrap(), EnginePacket::Close);
        assert_eq!(
            EnginePacket::decode("40").unwrap(),
            EnginePacket::Message("0")
        );
        assert_eq!(EnginePacket::decode("6").unwrap(), EnginePacket::Noop);
    }

    #[test]
    fn a_ping_is_answered_by_a_pong_with_the_same_data() {
        for ping in ["2", "2probe"] {
            let EnginePacket::Ping(data) = EnginePacket::decode(ping).unwrap() else {
                panic!("not a ping")
            };
            assert_eq!(
                EnginePacket::Pong(data).encode(),
                ping.replacen('2', "3", 1)
            );
        }
    }

    #[test]
    fn frames_that_are_not_engine_packets_are_refused() {
        assert_eq!(EnginePacket::decode(""), Err(PacketError::Empty));
        assert_eq!(
            EnginePacket::decode("9x"),
            Err(PacketError::UnknownType('9'))
        );
        assert_eq!(
            EnginePacket::decode("é"),
            Err(PacketError::UnknownType('é'))
        );
        assert_eq!(handshake_sid("{}"), Err(PacketError::Handshake));
        assert!(matches!(handshake_sid("{"), Err(PacketError::Json(_))));
    }

    #[test]
    fn the_connect_exchange_is_40_then_40_with_the_socket_id() {
        assert_eq!(SocketPacket::Connect(None).frame(), "40");
        assert_eq!(
            SocketPacket::decode(r#"0{"sid":"xyz"}"#).unwrap(),
            SocketPacket::Connect(Some(json!({"sid": "xyz"})))
        );
        assert_eq!(
            SocketPacket::decode(r#"4{"message":"Invalid namespace"}"#).unwrap(),
            SocketPacket::ConnectError(json!({"message": "Invalid namespace"}))
        );
    }

    #[test]
    fn an_emit_with_an_ack_carries_its_id_before_the_array() {
        let say = SocketPacket::Event {
            ack: Some(12),
            name: "say".into(),
            args: vec![json!({"room": "r"}), json!("1:2:3:")],
        };
        let frame = say.frame();
        assert_eq!(frame, r#"4212["say",{"room":"r"},"1:2:3:"]"#);
        let EnginePacket::Message(data) = EnginePacket::decode(&frame).unwrap() else {
            panic!("not a message")
        };
        assert_eq!(SocketPacket::decode(data).unwrap(), say);
        let plain = SocketPacket::Event {
            ack: None,
            name: "said".into(),
            args: vec![],
        };
        assert_eq!(plain.frame(), r#"42["said"]"#);
    }

    #[test]
    fn an_ack_comes_back_as_3_id_and_its_arguments() {
        assert_eq!(
            SocketPacket::decode(r#"312[{"id":7}]"#).unwrap(),
            SocketPacket::Ack {
                id: 12,
                args: vec![json!({"id": 7})]
            }
        );
        let ack = SocketPacket::Ack {
            id: 3,
            args: vec![json!({"error": "join r first"})],
        };
        assert_eq!(SocketPacket::decode(&ack.encode()).unwrap(), ack);
    }

    #[test]
    fn the_main_namespace_may_be_spelled_out_and_others_are_refused() {
        assert_eq!(
            SocketPacket::decode(r#"2/,5["said",1]"#).unwrap(),
            SocketPacket::Event {
                ack: Some(5),
                name: "said".into(),
                args: vec![json!(1)]
            }
        );
        assert_eq!(
            SocketPacket::decode("0/admin,"),
            Err(PacketError::Namespace("/admin".into()))
        );
        assert_eq!(
            SocketPacket::decode("1/admin"),
            Err(PacketError::Namespace("/admin".into()))
        );
    }

    #[test]
    fn malformed_socket_packets_get_a_reason() {
        assert_eq!(SocketPacket::decode(""), Err(PacketError::Empty));
        assert_eq!(SocketPacket::decode("51-[]"), Err(PacketError::Binary));
        assert_eq!(
            SocketPacket::decode("7"),
            Err(PacketError::UnknownType('7'))
        );
        assert_eq!(SocketPacket::decode("2[1,2]"), Err(PacketError::NotAnEvent));
        assert_eq!(SocketPacket::decode("2"), Err(PacketError::NotAnEvent));
        assert_eq!(SocketPacket::decode("3[]"), Err(PacketError::AckId));
        assert_eq!(SocketPacket::decode("31{}"), Err(PacketError::NotAnAck));
        assert_eq!(
            SocketPacket::decode("399999999999999999999[]"),
            Err(PacketError::AckId)
        );
        assert!(matches!(
            SocketPacket::decode("2[\"say\""),
            Err(PacketError::Json(_))
        ));
        assert_eq!(SocketPacket::decode("1").unwrap(), SocketPacket::Disconnect);
    }
}
