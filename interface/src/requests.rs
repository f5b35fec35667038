//! What a channel hands to the messages actor (the WIT `new-message`, `signal` and
//! `signal-user` arguments), shared by the channels' backend and the messages actor's core.

/// Most messages one history call returns, for every caller (channels, the operator); bounds
/// the size of a single `get_many` in the messages actor.
pub const MAX_HISTORY_COUNT: u32 = 200;

/// Most messages one `process-messages` call stores. A channel stores at most this many sends
/// that arrived together with one call, and the gateway hands a channel at most this many of a
/// connection's waiting frames at once, so a batch of sends is one call all the way down.
pub const MAX_MESSAGES_AT_ONCE: usize = 64;

/// A message to persist and publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMessage {
    pub room: String,
    pub sender: String,
    /// The protocol it arrived on.
    pub channel: String,
    /// Protocol-neutral type: `channel.message` for chat text.
    pub event_type: String,
    /// The content JSON object as text.
    pub content: String,
    /// The connection it came from (`<gateway>-<n>`), for protocols whose clients show their
    /// own line themselves: the `MessagePublished` envelope names it, and a gateway route with
    /// `echo_to_sender: false` does not send the event back to it. Not stored.
    pub origin: Option<String>,
}

/// A live-only note (typing, read receipt, call signalling): published, never stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signal {
    pub room: String,
    pub sender: String,
    pub channel: String,
    /// Protocol-neutral kind: `typing`, `read`, ...
    pub kind: String,
    /// The content JSON object as text.
    pub content: String,
}

/// A live-only note from one user to every live session of another, wherever connected
/// (WebRTC signalling): published as a `Note::Signal`, never stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSignal {
    pub sender: String,
    /// The recipient.
    pub user: String,
    pub channel: String,
    /// Protocol-neutral kind, e.g. `webrtc.video`.
    pub kind: String,
    /// The content JSON object as text.
    pub content: String,
}
