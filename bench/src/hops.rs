//! `wcc-bench hops`: where one message's time goes, hop by hop, on a running wcc (`make run`).
//!
//! Every wRPC call between the gateway, the host and the providers crosses NATS, so a plain
//! subscriber to `>` sees each one: the invocation, the callee's handshake on the caller's reply
//! inbox, and the results on `<reply>.results`. This sends venueless `chat.send`s one at a
//! time on an idle server, records every NATS message around each, and prints the calls of
//! the message with the median ack: when each started and how long it took to answer, next to
//! the JetStream operations it caused (which show how little of a hop is storage).

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{ensure, Result};
use futures::StreamExt;

use crate::client;

/// One NATS message as the observer saw it.
struct Seen {
    at: Instant,
    subject: String,
    reply: Option<String>,
    bytes: usize,
}

/// Runs `messages` sends through `room` (which must exist) and prints the median one's calls;
/// returns its ack in milliseconds.
pub async fn run(
    nats: &async_nats::Client,
    addr: SocketAddr,
    room: &str,
    messages: usize,
) -> Result<f64> {
    let mut everything = nats.subscribe(">").await?;
    nats.flush().await?;
    let log: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let writer = Arc::clone(&log);
    let observer = tokio::spawn(async move {
        while let Some(msg) = everything.next().await {
            let seen = Seen {
                at: Instant::now(),
                subject: msg.subject.to_string(),
                reply: msg.reply.map(|r| r.to_string()),
                bytes: msg.payload.len(),
            };
            writer.lock().unwrap().push(seen);
        }
    });

    let measured = measure(&log, addr, room, messages).await;
    // The scenarios after this one must not feed an observer nobody reads.
    observer.abort();
    let mut runs = measured?;
    ensure!(!runs.is_empty(), "no messages to time");
    runs.sort_by_key(|(ack, ..)| *ack);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let acks: Vec<f64> = runs.iter().map(|(ack, ..)| ms(*ack)).collect();
    println!(
        "{} chat.sends, one at a time: ack p50 {:.2} ms, min {:.2}, max {:.2}",
        runs.len(),
        acks[acks.len() / 2],
        acks[0],
        acks[acks.len() - 1]
    );
    let (ack, delivered, start, seen) = &runs[runs.len() / 2];
    println!(
        "the median message: ack {:.2} ms, delivered back {:.2} ms\n",
        ms(*ack),
        ms(*delivered)
    );
    println!("{:>9}  {:>8}  call or operation", "start ms", "took ms");
    for (i, message) in seen.iter().enumerate() {
        let offset = ms(message.at.duration_since(*start));
        if let Some(call) = wrpc_call(&message.subject) {
            // The callee answers on `<reply>.results`; the first such message ends the call.
            let answered = message.reply.as_ref().and_then(|reply| {
                let results = format!("{reply}.results");
                seen[i..].iter().find(|m| m.subject == results)
            });
            let took = answered.map_or("-".to_string(), |m| {
                format!("{:.2}", ms(m.at.duration_since(message.at)))
            });
            println!("{offset:9.2}  {took:>8}  {call}");
        } else if let Some(operation) = storage_or_event(&message.subject) {
            println!(
                "{offset:9.2}  {:>8}  . {operation} ({} bytes)",
                "", message.bytes
            );
        }
    }
    Ok(ms(*ack))
}

/// One timed message: its ack, its delivery back to the sender, when it was sent, and every
/// NATS message seen meanwhile.
type Run = (Duration, Duration, Instant, Vec<Seen>);

/// Sends the messages one at a time and keeps what the observer saw around each.
async fn measure(
    log: &Mutex<Vec<Seen>>,
    addr: SocketAddr,
    room: &str,
    messages: usize,
) -> Result<Vec<Run>> {
    let mut ws = client::member(addr, format!("hops-{}", std::process::id()), room, true).await?;
    let mut runs = Vec::with_capacity(messages);
    for seq in 0..messages as u64 {
        // Let the previous message's fan-out and receipts finish: each run starts idle.
        tokio::time::sleep(Duration::from_millis(150)).await;
        log.lock().unwrap().clear();
        let id = 100 + seq;
        let start = Instant::now();
        client::send(&mut ws, client::message(id, room, 0, seq, 0)).await?;
        let (mut ack, mut delivered) = (None, None);
        while ack.is_none() || delivered.is_none() {
            let frame = client::next_json(&mut ws).await?;
            if client::is_reply_to(&frame, id) {
                ack = Some(start.elapsed());
            } else if frame[0] == "chat.event" {
                delivered = Some(start.elapsed());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let seen = std::mem::take(&mut *log.lock().unwrap());
        runs.push((
            ack.unwrap_or_default(),
            delivered.unwrap_or_default(),
            start,
            seen,
        ));
    }
    Ok(runs)
}

/// `callee function` for a wRPC invocation subject
/// (`<lattice>.<callee>.wrpc.0.0.1.<instance>.<function>`).
fn wrpc_call(subject: &str) -> Option<String> {
    let (head, tail) = subject.split_once(".wrpc.")?;
    let callee = head.split_once('.').map_or(head, |(_, callee)| callee);
    let function = tail.rsplit_once('.').map_or(tail, |(_, function)| function);
    Some(format!("{callee} {function}"))
}

/// JetStream reads and writes and room events: what a hop is for.
fn storage_or_event(subject: &str) -> Option<String> {
    if let Some(key) = subject.strip_prefix("$JS.API.DIRECT.GET.") {
        return Some(format!("read {key}"));
    }
    if let Some(key) = subject.strip_prefix("$KV.") {
        return Some(format!("write {key}"));
    }
    subject
        .starts_with("wcc.events")
        .then(|| format!("event on {subject}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_name_their_hop() {
        assert_eq!(
            wrpc_call("default.wcc-messages.wrpc.0.0.1.wcc:chat/messages@0.1.0.process-message")
                .as_deref(),
            Some("wcc-messages process-message")
        );
        assert_eq!(wrpc_call("_INBOX.abc.def.results"), None);
        assert_eq!(
            storage_or_event("$KV.wcc.room/lobby/msg/20").as_deref(),
            Some("write wcc.room/lobby/msg/20")
        );
        assert_eq!(
            storage_or_event("$JS.API.DIRECT.GET.KV_wcc.$KV.wcc.room/lobby").as_deref(),
            Some("read KV_wcc.$KV.wcc.room/lobby")
        );
        assert_eq!(storage_or_event("_INBOX.x"), None);
    }
}
