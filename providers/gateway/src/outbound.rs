//! What goes out to a client, whatever its transport, and the bounded queue that carries it
//! from the connection loop and the room fan-out to the connection's writer task.
//!
//! Payloads are reference-counted ([`Utf8Bytes`], [`Bytes`]): the fan-out queues one rendered
//! frame to every local subscriber of a protocol, and a clone per subscriber must stay a
//! refcount bump, never a copy (or a second UTF-8 check).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use tokio::sync::Notify;
pub use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::session::Frame;

/// One outbound frame. Each transport's writer decides what it looks like on the wire: a
/// websocket message, or a line followed by `\r\n` on a TCP line socket.
#[derive(Clone, Debug, PartialEq)]
pub enum Outbound {
    Text(Utf8Bytes),
    Binary(Bytes),
    /// Flush what was queued before, then close: a websocket close frame with this code and
    /// reason; on TCP the socket just closes.
    Close(u16, String),
}

impl From<Frame> for Outbound {
    fn from(frame: Frame) -> Self {
        match frame {
            // Both take the allocation over: no copy.
            Frame::Text(text) => Outbound::Text(text.into()),
            Frame::Binary(bytes) => Outbound::Binary(bytes.into()),
            // Never rendered outbound; an empty binary frame is the harmless reading.
            Frame::Oversize(_) => Outbound::Binary(Bytes::new()),
        }
    }
}

/// A drained queue that grew past this many frames gives the rest of its memory back, so a
/// connection that once took a burst does not keep its room while idle.
const KEEP_CAPACITY: usize = 64;

/// A connection's send queue holding at most `frames` frames (the slow-consumer bound).
///
/// Not a tokio channel: one of those allocates its first block of slots (about 1.3 KiB here)
/// and a cache-padded header (512 bytes) when it is made, for every connection, idle or not.
/// This one is a `VecDeque` that allocates when frames are queued, behind a lock that is held
/// only to push or pop.
pub fn queue(frames: usize) -> (Outbox, Outgoing) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            frames: VecDeque::new(),
            senders: 1,
            receiving: true,
            last_word: None,
        }),
        readable: Notify::new(),
        capacity: frames.max(1),
    });
    (
        Outbox {
            frames: Sender {
                shared: Arc::clone(&shared),
            },
        },
        Outgoing { shared },
    )
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the writer: frames were queued, or the last sender is gone.
    readable: Notify,
    capacity: usize,
}

struct State {
    frames: VecDeque<Outbound>,
    /// Live [`Sender`]s: once none is left, the writer drains what is queued and ends.
    senders: usize,
    /// Whether the [`Outgoing`] still exists: nothing is queued for a writer that is gone.
    receiving: bool,
    /// A close that found the queue full (a slow consumer is closed exactly when its queue is
    /// full): the writer sends it after the last queued frame, once every sender is gone.
    last_word: Option<Outbound>,
}

/// Why frames were not queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The queue holds too many frames to take them all: a slow consumer.
    Full,
    /// The connection's writer is gone.
    Closed,
}

/// A sending side of a connection's queue: the connection loop's, and one per room the
/// connection hears (the fan-out's).
pub struct Sender {
    shared: Arc<Shared>,
}

impl Sender {
    /// Queues `frame` without waiting.
    pub fn try_send(&self, frame: Outbound) -> Result<(), Refused> {
        self.push(1, |queue| queue.push_back(frame))
    }

    /// Queues all of `frames`, in order, or none of them: a subscriber gets an event whole or
    /// is shed.
    pub fn try_send_all(&self, frames: &[Outbound]) -> Result<(), Refused> {
        self.push(frames.len(), |queue| queue.extend(frames.iter().cloned()))
    }

    /// Queues `count` frames with `fill` if they all fit, then wakes the writer.
    fn push(
        &self,
        count: usize,
        fill: impl FnOnce(&mut VecDeque<Outbound>),
    ) -> Result<(), Refused> {
        {
            let mut state = lock(&self.shared.state);
            room_for(&state, count, self.shared.capacity)?;
            fill(&mut state.frames);
        }
        self.shared.readable.notify_one();
        Ok(())
    }
}

fn room_for(state: &State, frames: usize, capacity: usize) -> Result<(), Refused> {
    if !state.receiving {
        Err(Refused::Closed)
    } else if state.frames.len() + frames > capacity {
        Err(Refused::Full)
    } else {
        Ok(())
    }
}

impl Clone for Sender {
    fn clone(&self) -> Self {
        lock(&self.shared.state).senders += 1;
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        let last = {
            let mut state = lock(&self.shared.state);
            state.senders -= 1;
            state.senders == 0
        };
        if last {
            self.shared.readable.notify_one();
        }
    }
}

/// The sending side, held by the connection loop; the fan-out holds clones of
/// [`Outbox::frames`].
pub struct Outbox {
    pub frames: Sender,
}

impl Outbox {
    /// Queues a frame without waiting; a full (or closed) queue is an error.
    pub fn send(&self, frame: Outbound) -> Result<(), Refused> {
        self.frames.try_send(frame)
    }

    /// Queues the close, or keeps it as the last word when the queue is full.
    pub fn close(&self, code: u16, reason: &str) {
        let close = Outbound::Close(code, reason.to_owned());
        {
            let mut state = lock(&self.frames.shared.state);
            match room_for(&state, 1, self.frames.shared.capacity) {
                Ok(()) => state.frames.push_back(close),
                Err(Refused::Full) => state.last_word = Some(close),
                Err(Refused::Closed) => return,
            }
        }
        self.frames.shared.readable.notify_one();
    }
}

/// The receiving side, drained by the transport's writer.
pub struct Outgoing {
    shared: Arc<Shared>,
}

impl Outgoing {
    /// The next frame; `None` once every sender is gone and the queue is drained (and the last
    /// word sent).
    pub async fn recv(&mut self) -> Option<Outbound> {
        loop {
            if let Some(next) = self.next() {
                return next;
            }
            // A frame queued since the look above left a permit: this returns at once.
            self.shared.readable.notified().await;
        }
    }

    /// A frame that is already queued, if any: writers flush a burst with one write.
    pub fn try_recv(&mut self) -> Option<Outbound> {
        self.next().flatten()
    }

    /// `Some(frame)` when there is an answer now (`Some(None)`: the queue is over), `None`
    /// when the writer must wait.
    fn next(&self) -> Option<Option<Outbound>> {
        let mut state = lock(&self.shared.state);
        if let Some(frame) = state.frames.pop_front() {
            if state.frames.is_empty() && state.frames.capacity() > KEEP_CAPACITY {
                state.frames.shrink_to(KEEP_CAPACITY);
            }
            return Some(Some(frame));
        }
        (state.senders == 0).then(|| state.last_word.take())
    }
}

impl Drop for Outgoing {
    fn drop(&mut self) {
        let mut state = lock(&self.shared.state);
        state.receiving = false;
        state.frames = VecDeque::new();
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // Every change under the lock is a push, a pop or a counter step: a poisoned lock holds
    // nothing half-done.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn text(t: &str) -> Outbound {
        Outbound::Text(t.to_owned().into())
    }

    #[test]
    fn an_events_frames_are_queued_whole_or_not_at_all() {
        let (outbox, mut outgoing) = queue(3);
        let fanout = outbox.frames.clone();
        fanout.try_send_all(&[text("1a"), text("1b")]).unwrap();
        assert_eq!(
            fanout.try_send_all(&[text("2a"), text("2b")]),
            Err(Refused::Full)
        );
        fanout.try_send_all(&[text("3")]).unwrap();
        let queued: Vec<_> = std::iter::from_fn(|| outgoing.try_recv()).collect();
        assert_eq!(queued, [text("1a"), text("1b"), text("3")]);
    }

    #[tokio::test]
    async fn the_writer_ends_once_every_sender_is_gone() {
        let (outbox, mut outgoing) = queue(4);
        let fanout = outbox.frames.clone();
        drop(outbox);
        fanout.try_send(text("late")).unwrap();
        assert_eq!(outgoing.recv().await, Some(text("late")));
        // One sender left: the writer waits.
        let waiting = tokio::time::timeout(Duration::from_millis(50), outgoing.recv()).await;
        assert!(waiting.is_err(), "{waiting:?}");
        drop(fanout);
        assert_eq!(outgoing.recv().await, None);
        assert_eq!(outgoing.recv().await, None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_waiting_writer_wakes_for_frames_sent_from_other_tasks() {
        let (outbox, mut outgoing) = queue(1024);
        let senders: Vec<_> = (0..4)
            .map(|n| {
                let sender = outbox.frames.clone();
                tokio::spawn(async move {
                    for i in 0..100 {
                        sender.try_send(text(&format!("{n}:{i}"))).unwrap();
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        drop(outbox);
        let mut got = Vec::new();
        while let Some(frame) = outgoing.recv().await {
            got.push(frame);
        }
        for sender in senders {
            sender.await.unwrap();
        }
        assert_eq!(got.len(), 400);
        // Each sender's frames stay in its order.
        for n in 0..4 {
            let mine: Vec<_> = got
                .iter()
                .filter_map(|f| match f {
                    Outbound::Text(t) => {
                        t.as_str().strip_prefix(&format!("{n}:")).map(str::to_owned)
                    }
                    _ => None,
                })
                .collect();
            let sent: Vec<_> = (0..100).map(|i| i.to_string()).collect();
            assert_eq!(mine, sent);
        }
    }

    #[test]
    fn nothing_is_queued_for_a_writer_that_is_gone() {
        let (outbox, outgoing) = queue(4);
        drop(outgoing);
        assert_eq!(outbox.send(text("x")), Err(Refused::Closed));
        assert_eq!(
            outbox.frames.try_send_all(&[text("y")]),
            Err(Refused::Closed)
        );
        outbox.close(1000, "bye");
    }

    #[test]
    fn an_idle_queue_holds_no_room_for_frames_and_gives_a_bursts_back() {
        let (outbox, mut outgoing) = queue(8192);
        let capacity = |outbox: &Outbox| lock(&outbox.frames.shared.state).frames.capacity();
        assert_eq!(capacity(&outbox), 0);
        for i in 0..1000 {
            outbox.send(text(&i.to_string())).unwrap();
        }
        assert!(capacity(&outbox) >= 1000);
        while outgoing.try_recv().is_some() {}
        assert!(capacity(&outbox) <= KEEP_CAPACITY, "{}", capacity(&outbox));
    }

    #[tokio::test]
    async fn a_close_on_a_full_queue_comes_after_the_queued_frames() {
        let (outbox, mut outgoing) = queue(1);
        outbox.send(Outbound::Text("a".into())).unwrap();
        assert!(outbox.send(Outbound::Text("b".into())).is_err());
        outbox.close(1008, "slow");
        drop(outbox);
        assert_eq!(outgoing.recv().await, Some(Outbound::Text("a".into())));
        assert_eq!(
            outgoing.recv().await,
            Some(Outbound::Close(1008, "slow".into()))
        );
        assert_eq!(outgoing.recv().await, None);
    }

    #[tokio::test]
    async fn a_close_with_room_is_queued_in_order() {
        let (outbox, mut outgoing) = queue(4);
        outbox
            .send(Outbound::Binary(Bytes::from_static(b"x")))
            .unwrap();
        outbox.close(1001, "bye");
        assert_eq!(
            outgoing.try_recv(),
            Some(Outbound::Binary(Bytes::from_static(b"x")))
        );
        assert_eq!(
            outgoing.try_recv(),
            Some(Outbound::Close(1001, "bye".into()))
        );
        assert_eq!(outgoing.try_recv(), None);
    }

    #[test]
    fn frames_convert_without_copying() {
        let text = String::from("hello");
        let ptr = text.as_ptr();
        let Outbound::Text(utf8) = Outbound::from(Frame::Text(text)) else {
            panic!("text stays text")
        };
        assert_eq!(utf8.as_str().as_ptr(), ptr);
        assert_eq!(
            Outbound::from(Frame::Oversize(9)),
            Outbound::Binary(Bytes::new())
        );
    }
}
