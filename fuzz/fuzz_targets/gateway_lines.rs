//! The gateway's TCP line framer (`lines::Framer`), fed a byte stream in fuzzer-chosen reads,
//! against a reference that splits the whole stream at once:
//!
//! - every line (`\n`-terminated, one `\r` before the `\n` stripped; at EOF the unterminated
//!   rest) is one frame, in order, whatever the reads were,
//! - a line longer than the cap is `Oversize(its length)` and nothing else: no text or binary
//!   frame is ever longer than the cap,
//! - a line that is not UTF-8 is `Binary` with exactly its bytes, one that is is `Text`.
//!
//! Input: `[cap, seed, eof, stream...]`: the cap (0..=255 bytes) keeps oversize lines common,
//! the seed picks read sizes of 1..=32 bytes, `eof` odd ends the input (`finish`).
#![no_main]

use gateway::lines::Framer;
use gateway::session::Frame;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [cap, seed, eof, stream @ ..] = data else {
        return;
    };
    let cap = usize::from(*cap);
    let eof = eof & 1 == 1;
    let mut framer = Framer::new(cap);
    let mut frames = Vec::new();
    let mut state = u32::from(*seed) | 0x100;
    let mut rest = stream;
    while !rest.is_empty() {
        // xorshift: read sizes that vary from read to read.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let n = (state as usize % 32 + 1).min(rest.len());
        let (read, after) = rest.split_at(n);
        framer.push(read);
        frames.extend(std::iter::from_fn(|| framer.pop()));
        rest = after;
    }
    if eof {
        framer.finish();
        frames.extend(std::iter::from_fn(|| framer.pop()));
    }
    assert_eq!(framer.pop(), None);

    for frame in &frames {
        match frame {
            Frame::Text(text) => assert!(text.len() <= cap, "a {}-byte line", text.len()),
            Frame::Binary(bytes) => assert!(bytes.len() <= cap, "a {}-byte line", bytes.len()),
            Frame::Oversize(len) => assert!(*len > cap as u64, "{len} bytes are not oversize"),
        }
    }
    assert_eq!(frames, reference(stream, cap, eof));
});

/// The frames of a whole stream, split at once.
fn reference(stream: &[u8], cap: usize, eof: bool) -> Vec<Frame> {
    let mut lines: Vec<&[u8]> = stream.split(|&b| b == b'\n').collect();
    // What follows the last `\n` is a line only at EOF, and only if there is something.
    let last = lines.pop().unwrap();
    if eof && !last.is_empty() {
        lines.push(last);
    }
    lines
        .into_iter()
        .map(|line| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.len() > cap {
                Frame::Oversize(line.len() as u64)
            } else {
                match std::str::from_utf8(line) {
                    Ok(text) => Frame::Text(text.to_owned()),
                    Err(_) => Frame::Binary(line.to_vec()),
                }
            }
        })
        .collect()
}
