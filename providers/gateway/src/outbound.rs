//! What goes out to a client, whatever its transport, and the bounded queue that carries it
//! from the connection loop and the room fan-out to the connection's writer task.
//!
//! Payloads are reference-counted ([`Utf8Bytes`], [`Bytes`]): the fan-out queues one rendered
//! frame to every local subscriber of a protocol, and a clone per subscriber must stay a
//! refcount bump, never a copy (or a second UTF-8 check).

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::mpsc::{self, error::TryRecvError, error::TrySendError};
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

/// A connection's send queue holding at most `frames` frames (the slow-consumer bound).
pub fn queue(frames: usize) -> (Outbox, Outgoing) {
    let (sender, receiver) = mpsc::channel(frames);
    let last_word = Arc::new(Mutex::new(None));
    (
        Outbox {
            frames: sender,
            last_word: Arc::clone(&last_word),
        },
        Outgoing {
            frames: receiver,
            last_word,
        },
    )
}

/// The sending side, held by the connection loop; the fan-out holds clones of [`Outbox::frames`].
pub struct Outbox {
    pub frames: mpsc::Sender<Outbound>,
    /// A close that found the queue full (a slow consumer is closed exactly when its queue is
    /// full): the writer sends it after the last queued frame, once every sender is gone.
    last_word: Arc<Mutex<Option<Outbound>>>,
}

impl Outbox {
    /// Queues a frame without waiting; a full (or closed) queue is an error.
    pub fn send(&self, frame: Outbound) -> Result<(), TrySendError<Outbound>> {
        self.frames.try_send(frame)
    }

    /// Queues the close, or keeps it as the last word when the queue is full.
    pub fn close(&self, code: u16, reason: &str) {
        if let Err(TrySendError::Full(close)) = self
            .frames
            .try_send(Outbound::Close(code, reason.to_owned()))
        {
            *lock(&self.last_word) = Some(close);
        }
    }
}

/// The receiving side, drained by the transport's writer.
pub struct Outgoing {
    frames: mpsc::Receiver<Outbound>,
    last_word: Arc<Mutex<Option<Outbound>>>,
}

impl Outgoing {
    /// The next frame; `None` once the queue is closed and drained (and the last word sent).
    pub async fn recv(&mut self) -> Option<Outbound> {
        match self.frames.recv().await {
            Some(frame) => Some(frame),
            None => lock(&self.last_word).take(),
        }
    }

    /// A frame that is already queued, if any: writers flush a burst with one write.
    pub fn try_recv(&mut self) -> Option<Outbound> {
        match self.frames.try_recv() {
            Ok(frame) => Some(frame),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => lock(&self.last_word).take(),
        }
    }
}

fn lock(slot: &Mutex<Option<Outbound>>) -> std::sync::MutexGuard<'_, Option<Outbound>> {
    // One Option swapped whole: a poisoned lock holds nothing half-done.
    slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

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
