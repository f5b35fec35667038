//! The gateway's websocket reading: tungstenite's frame parser with the gateway's own settings
//! (`websocket::config`) on a client byte stream, each message mapped by
//! `websocket::inbound` as the connection does, against a reference frame splitter
//! (RFC 6455, server side):
//!
//! - the frames the channel actor gets are exactly the client's text and binary messages in
//!   order: masked frames unmasked, fragments joined, pings and pongs skipped, nothing after
//!   a close, and nothing after the first frame that breaks the protocol (reserved bits, an
//!   unmasked frame, an unknown opcode, a fragmented or long control frame, a continuation
//!   out of place, text that is not UTF-8),
//! - a message over the cap is `Oversize(its length)`; no text or binary frame is longer.
//!
//! Input: `[cap, read, stream...]`: the cap is 0..=510 bytes (oversize is common), `read` the
//! most bytes one socket read returns (1..=256), so frames arrive split at any point.
#![no_main]

use std::io::{self, Read, Write};

use gateway::session::Frame;
use gateway::websocket::{self, Inbound};
use libfuzzer_sys::fuzz_target;
use tungstenite::protocol::{Role, WebSocket};

/// The gateway's transport cap (`max_frame_size`, `max_message_size`).
const TRANSPORT_MAX_BYTES: u64 = 16 * 1024 * 1024;

/// A client socket: reads the stream in pieces of at most `read` bytes, swallows writes
/// (pongs, the close reply).
struct Client<'a> {
    stream: &'a [u8],
    read: usize,
}

impl Read for Client<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.read.min(buf.len()).min(self.stream.len());
        buf[..n].copy_from_slice(&self.stream[..n]);
        self.stream = &self.stream[n..];
        Ok(n)
    }
}

impl Write for Client<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let [cap, read, stream @ ..] = data else {
        return;
    };
    let cap = usize::from(*cap) * 2;
    let client = Client {
        stream,
        read: usize::from(*read) + 1,
    };
    let mut socket = WebSocket::from_raw_socket(client, Role::Server, Some(websocket::config()));
    let mut frames = Vec::new();
    // Every message takes at least two bytes of the stream; the bound only guards the harness.
    for _ in 0..=stream.len() {
        let Ok(message) = socket.read() else { break };
        match websocket::inbound(message, cap) {
            Inbound::Frame(frame) => frames.push(frame),
            Inbound::Skip => {}
            Inbound::Closed => break,
        }
    }
    for frame in &frames {
        match frame {
            Frame::Text(text) => assert!(text.len() <= cap),
            Frame::Binary(bytes) => assert!(bytes.len() <= cap),
            Frame::Oversize(len) => assert!(*len > cap as u64),
        }
    }
    assert_eq!(frames, reference(stream, cap));
});

/// The client's messages up to its close or its first protocol error, split by hand.
fn reference(stream: &[u8], cap: usize) -> Vec<Frame> {
    let mut frames = Vec::new();
    let mut rest = stream;
    // A fragmented message so far: whether it is text, and its payload.
    let mut partial: Option<(bool, Vec<u8>)> = None;
    while let Some((fin, opcode, payload)) = next_frame(&mut rest) {
        let message = match opcode {
            0x0 => {
                let Some((_, so_far)) = partial.as_mut() else {
                    break; // a continuation of nothing
                };
                so_far.extend_from_slice(&payload);
                if !fin {
                    continue;
                }
                partial.take().unwrap()
            }
            0x1 | 0x2 => {
                if partial.is_some() {
                    break; // a new message inside a fragmented one
                }
                if !fin {
                    partial = Some((opcode == 0x1, payload));
                    continue;
                }
                (opcode == 0x1, payload)
            }
            // Ping and pong: answered or ignored by tungstenite, never the actor's.
            0x9 | 0xA if fin && payload.len() <= 125 => continue,
            // A close, or a control frame or opcode the protocol does not allow.
            _ => break,
        };
        let frame = match message {
            // Text that is not UTF-8 breaks the protocol, however long it is.
            (true, payload) if std::str::from_utf8(&payload).is_err() => break,
            (_, payload) if payload.len() > cap => Frame::Oversize(payload.len() as u64),
            (true, payload) => Frame::Text(String::from_utf8(payload).unwrap()),
            (false, payload) => Frame::Binary(payload),
        };
        frames.push(frame);
    }
    frames
}

/// The next complete, masked frame without reserved bits: `(fin, opcode, unmasked payload)`.
/// `None` at the end of the stream, in an incomplete frame, or at a frame the server refuses
/// whatever its opcode.
fn next_frame(rest: &mut &[u8]) -> Option<(bool, u8, Vec<u8>)> {
    let (&b0, tail) = rest.split_first()?;
    let (&b1, mut tail) = tail.split_first()?;
    let (fin, reserved, opcode) = (b0 & 0x80 != 0, b0 & 0x70, b0 & 0x0F);
    let (masked, len) = (b1 & 0x80 != 0, b1 & 0x7F);
    let mut take = |n: usize| -> Option<&[u8]> {
        let (taken, after) = tail.split_at_checked(n)?;
        tail = after;
        Some(taken)
    };
    let len = match len {
        126 => u64::from(u16::from_be_bytes(take(2)?.try_into().unwrap())),
        127 => u64::from_be_bytes(take(8)?.try_into().unwrap()),
        n => u64::from(n),
    };
    if reserved != 0 || !masked || len > TRANSPORT_MAX_BYTES {
        return None;
    }
    let mask: [u8; 4] = take(4)?.try_into().unwrap();
    let payload = take(usize::try_from(len).ok()?)?
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ mask[i % 4])
        .collect();
    *rest = tail;
    Some((fin, opcode, payload))
}
