//! The life of one connection, whatever its transport.
//!
//! Each connection runs two tasks: this read loop, which hands the client's frames and the
//! connection's notes to its channel actor one call at a time (so a protocol sees them in
//! order; frames that queued during a call go together in the next),
//! and the transport's writer, which drains the connection's bounded send queue into the
//! socket. The transports (`websocket.rs`, `lines.rs`, and `exchange.rs` for a single plain
//! HTTP request) accept the socket, turn its bytes into [`Frame`]s and start the writer;
//! everything after that is here.

use std::{
    collections::HashMap,
    net::SocketAddr,
    pin::pin,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

use futures::{FutureExt, Stream, StreamExt};
use tokio::{
    sync::{watch, Notify, RwLock},
    task::JoinHandle,
};
use tracing::{debug, warn};
use wcc_interface::{clock::now_ms, events, Envelope};

use crate::{
    channels::Channels,
    config::{GatewayConfig, Route},
    fanout::{Fanout, Subscriber},
    limits::ConnectionLimits,
    lines, notes,
    outbound::{Outbound, Outbox},
    session::{Connection, Effect, Frame, Outcome},
};

/// Websocket close codes the gateway itself uses (a TCP line socket just closes).
pub const CLOSE_GOING_AWAY: u16 = 1001;
pub const CLOSE_POLICY: u16 = 1008;
pub const CLOSE_INTERNAL_ERROR: u16 = 1011;

/// Chat frames are small and most connections are idle: read buffers start small (a read
/// buffer is held for the life of a connection; a larger frame grows it).
pub const READ_BUFFER_BYTES: usize = 1024;

/// Writes are flushed at the end of each burst anyway; this only caps what one burst buffers.
pub const WRITE_BUFFER_BYTES: usize = 16 * 1024;

/// What every connection shares.
pub struct Server {
    pub config: GatewayConfig,
    /// Websocket path -> channel actor.
    pub routes: RwLock<HashMap<String, Route>>,
    /// The TCP line listeners of routes with a `line_addr`.
    pub lines: lines::Listeners,
    /// Local connections by id and user, for notes.
    pub notes: notes::Registry,
    pub channels: Channels,
    pub fanout: Fanout,
    /// `max_connections` and `max_connections_per_address`: the transports take a slot for
    /// every connection they accept.
    pub limits: ConnectionLimits,
    pub nats: async_nats::Client,
    /// Prefix of connection ids, unique per gateway process; also the gateway's id in its
    /// heartbeats (`heartbeat.rs`).
    pub instance: String,
    pub next_connection: AtomicU64,
    pub shutdown: watch::Receiver<bool>,
}

/// The socket under a connection, as the session shows it.
pub struct Peer {
    /// `wcc_interface::transport::WEBSOCKET`, `TCP` or `HTTP`.
    pub transport: &'static str,
    pub remote: SocketAddr,
}

/// Why a connection ended. A socket's transport has said it all by then (a close frame); an
/// HTTP exchange picks its status from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// The client's frames ended (it closed, or its one request was answered).
    ClientDone,
    /// The channel actor closed the connection.
    ClosedByChannel,
    /// A call into the channel actor failed (closed with 1011).
    CallFailed,
    /// Shed as a slow consumer (closed with 1008).
    SlowConsumer,
    /// The gateway is stopping (closed with 1001).
    ShuttingDown,
}

/// Runs one accepted connection until it ends: `inbound` yields the client's frames and ends
/// when the client is gone; `outbox` feeds the transport's `writer`, which ends once the queue
/// is drained and closed (or after writing a close).
pub async fn run(
    server: Arc<Server>,
    route: Route,
    peer: Peer,
    inbound: impl Stream<Item = Frame>,
    outbox: Outbox,
    writer: JoinHandle<()>,
) -> Ended {
    let stats = server.fanout.stats();
    stats.connections.fetch_add(1, Ordering::Relaxed);
    let key = server.next_connection.fetch_add(1, Ordering::Relaxed);
    let mut connection = Connection::new(
        &route.protocol,
        events::connection_id(&server.instance, key),
        peer.transport,
        peer.remote.to_string(),
    );
    let id = connection.session.connection_id.clone();
    let mut notes = server.notes.open(&id);
    let evict = Arc::new(Notify::new());
    let ctx = ConnectionContext {
        server: &server,
        route: &route,
        id: &id,
        key,
        outbox: &outbox,
        evict: Arc::clone(&evict),
    };

    // The calls and their effects are boxed: an idle connection then holds only this loop's own
    // state (a future is as large as its largest await), not a call's.
    let opened = Box::pin(
        server
            .channels
            .opened(&route.component, &connection.session),
    )
    .await;
    let mut ended = Box::pin(ctx.answer(&mut connection, opened)).await;
    let mut inbound = pin!(inbound);
    let mut shutdown = server.shutdown.clone();
    let ended = loop {
        if let Some(ended) = ended {
            break ended;
        }
        tokio::select! {
            frame = inbound.next() => {
                let Some(frame) = frame else { break Ended::ClientDone };
                let (frames, client_done) = with_ready_frames(frame, &mut inbound);
                let answer = Box::pin(server.channels.received(&route.component, &connection.session, frames)).await;
                ended = Box::pin(ctx.answer(&mut connection, answer)).await;
                if client_done && ended.is_none() {
                    break Ended::ClientDone;
                }
            }
            // The registry holds the sender until this connection closes it below.
            Some(note) = notes.recv() => {
                let answer = Box::pin(server.channels.notified(&route.component, &connection.session, &note)).await;
                ended = Box::pin(ctx.answer(&mut connection, answer)).await;
            }
            () = evict.notified() => {
                outbox.close(CLOSE_POLICY, "slow consumer: send queue full");
                break Ended::SlowConsumer;
            }
            _ = shutdown.changed() => {
                outbox.close(CLOSE_GOING_AWAY, "server shutting down");
                break Ended::ShuttingDown;
            }
        }
    };
    server.notes.close(&id);
    // The close hook sees the session as it was: `closed()` takes the user out of it, and a
    // channel tidying up (leaving a voice room) needs to know whose connection this was.
    let last = connection.session.clone();
    Box::pin(ctx.perform(connection.closed())).await;
    if let Err(e) = Box::pin(server.channels.closed(&route.component, &last)).await {
        debug!(connection = %id, "channel close hook failed: {e:#}");
    }
    // The room subscriptions (and their queue senders) went with `closed()`; this was the
    // last sender, so the writer drains what is queued and ends.
    drop(outbox);
    let _ = writer.await;
    stats.connections.fetch_sub(1, Ordering::Relaxed);
    ended
}

/// Most frames of one connection handed to its channel in one call: as many sends as a channel
/// stores with one call into the core.
pub const MAX_FRAMES_PER_CALL: usize = wcc_interface::requests::MAX_MESSAGES_AT_ONCE;

/// A call takes no more waiting frames once it carries this many bytes, so a batch of large
/// frames stays one large frame (`max_frame_bytes`) past this, however many the client queued.
pub const MAX_BATCH_BYTES: usize = 256 * 1024;

/// `first` and the frames that are already waiting behind it (they queued while the previous
/// call was in flight), up to [`MAX_FRAMES_PER_CALL`] and about [`MAX_BATCH_BYTES`]: a client
/// that pipelines pays for one call per batch, and one that waits for each answer is never held
/// back. `true` if the client's frames ended meanwhile.
fn with_ready_frames(
    first: Frame,
    inbound: &mut (impl Stream<Item = Frame> + Unpin),
) -> (Vec<Frame>, bool) {
    let mut bytes = first.byte_len();
    let mut frames = vec![first];
    while frames.len() < MAX_FRAMES_PER_CALL && bytes < MAX_BATCH_BYTES {
        match inbound.next().now_or_never() {
            Some(Some(frame)) => {
                bytes += frame.byte_len();
                frames.push(frame);
            }
            Some(None) => return (frames, true),
            None => break,
        }
    }
    (frames, false)
}

struct ConnectionContext<'a> {
    server: &'a Server,
    route: &'a Route,
    /// The connection id: for logs, and to skip the events it caused on routes that do not
    /// echo.
    id: &'a str,
    key: u64,
    outbox: &'a Outbox,
    evict: Arc<Notify>,
}

impl ConnectionContext<'_> {
    /// Takes the channel actor's answer to one call; `Some` if that ended the connection.
    async fn answer(
        &self,
        connection: &mut Connection,
        answer: anyhow::Result<Outcome>,
    ) -> Option<Ended> {
        match answer {
            Ok(outcome) => {
                // Grants are checked here, against the session this outcome leaves.
                let key = &self.server.config.subscription_key;
                let effects = connection.apply(outcome, key, now_ms());
                // Before the login event goes out, so a note sent in answer to it finds us.
                let session = &connection.session;
                self.server
                    .notes
                    .set_user(&session.connection_id, session.user.as_deref());
                self.perform(effects).await
            }
            Err(e) => Some(self.fail(&e)),
        }
    }

    /// Performs effects in order; `Some` if one closed the connection.
    async fn perform(&self, effects: Vec<Effect>) -> Option<Ended> {
        for effect in effects {
            match effect {
                Effect::Send(frame) => {
                    if self.outbox.send(Outbound::from(frame)).is_err() {
                        self.evict.notify_one();
                    }
                }
                Effect::Subscribe(room) => {
                    let subscriber = Subscriber {
                        skip_origin: (!self.route.echo_to_sender).then(|| self.id.to_owned()),
                        protocol: self.route.protocol.clone(),
                        component: self.route.component.clone(),
                        queue: self.outbox.frames.clone(),
                        evict: Arc::clone(&self.evict),
                    };
                    if let Err(e) = self
                        .server
                        .fanout
                        .subscribe(&room, self.key, subscriber)
                        .await
                    {
                        warn!(%room, "room subscription failed: {e}");
                    }
                }
                Effect::RefusedSubscription(refused) => {
                    let stats = self.server.fanout.stats();
                    stats.refused_subscriptions.fetch_add(1, Ordering::Relaxed);
                    warn!(
                        connection = %self.id,
                        protocol = %self.route.protocol,
                        reason = %refused,
                        "channel asked to subscribe without a valid grant; not subscribed"
                    );
                }
                Effect::Unsubscribe(room) => self.server.fanout.unsubscribe(&room, self.key),
                Effect::Close(code, reason) => {
                    self.outbox.close(code, &reason);
                    return Some(Ended::ClosedByChannel);
                }
                Effect::Publish(event) => {
                    let body = Envelope::new(event, now_ms()).to_json();
                    if let Err(e) = self
                        .server
                        .nats
                        .publish(events::GLOBAL_SUBJECT, body.into())
                        .await
                    {
                        warn!("failed to publish session event: {e}");
                    }
                }
            }
        }
        None
    }

    /// The channel actor could not be reached: the client cannot be answered in its protocol,
    /// so the socket is closed with "internal error" rather than left waiting.
    fn fail(&self, error: &anyhow::Error) -> Ended {
        warn!(component = %self.route.component, "channel actor call failed: {error:#}");
        self.outbox
            .close(CLOSE_INTERNAL_ERROR, "chat service unavailable");
        Ended::CallFailed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str) -> Frame {
        Frame::Text(t.into())
    }

    #[tokio::test]
    async fn frames_already_waiting_go_in_the_same_call_and_no_more() {
        let (tx, mut inbound) = futures::channel::mpsc::unbounded();
        for t in ["b", "c"] {
            tx.unbounded_send(text(t)).unwrap();
        }
        let (frames, done) = with_ready_frames(text("a"), &mut inbound);
        assert_eq!(frames, vec![text("a"), text("b"), text("c")]);
        assert!(!done, "the client is still there, only not sending");

        // One waiting for its answer is sent alone, at once.
        let (frames, done) = with_ready_frames(text("d"), &mut inbound);
        assert_eq!((frames, done), (vec![text("d")], false));

        tx.unbounded_send(text("e")).unwrap();
        drop(tx);
        let (frames, done) = with_ready_frames(text("d"), &mut inbound);
        assert_eq!((frames, done), (vec![text("d"), text("e")], true));
    }

    #[tokio::test]
    async fn a_call_takes_at_most_its_share_of_a_long_burst() {
        let burst: Vec<Frame> = (0..MAX_FRAMES_PER_CALL * 2)
            .map(|i| text(&i.to_string()))
            .collect();
        let mut inbound = futures::stream::iter(burst);
        let first = inbound.next().await.unwrap();
        let (frames, done) = with_ready_frames(first, &mut inbound);
        assert_eq!(frames.len(), MAX_FRAMES_PER_CALL);
        assert_eq!(
            frames[MAX_FRAMES_PER_CALL - 1],
            text(&(MAX_FRAMES_PER_CALL - 1).to_string())
        );
        assert!(!done);
    }

    #[tokio::test]
    async fn a_call_stops_taking_frames_once_it_carries_enough_bytes() {
        let big = "x".repeat(MAX_BATCH_BYTES / 4);
        let mut inbound = futures::stream::iter(vec![text(&big); 8]);
        let first = inbound.next().await.unwrap();
        let (frames, done) = with_ready_frames(first, &mut inbound);
        assert_eq!(
            frames.len(),
            4,
            "the frame that reaches the bound is the last one"
        );
        assert!(!done);
        let next = inbound.next().await.unwrap();
        let (frames, _) = with_ready_frames(next, &mut inbound);
        assert_eq!(frames.len(), 4, "the rest wait for the next call");
    }
}
