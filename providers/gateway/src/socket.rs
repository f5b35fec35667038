//! The websocket listener and the life of one connection.
//!
//! Each connection runs two tasks: this read loop, which hands frames to the connection's
//! channel actor one at a time (so a protocol sees its client's frames in order), and a writer
//! that drains the connection's bounded send queue into the socket.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

use futures::{SinkExt, StreamExt};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::{mpsc, watch, Notify, RwLock},
};
use tokio_tungstenite::tungstenite::{
    handshake::server::{ErrorResponse, Request, Response},
    http::StatusCode,
    protocol::{frame::coding::CloseCode, CloseFrame, WebSocketConfig},
    Message,
};
use tracing::{debug, warn};
use wcc_interface::{clock::now_ms, events, Envelope};

use crate::{
    channels::Channels,
    config::{GatewayConfig, Route},
    fanout::{to_message, Fanout, Subscriber},
    session::{Connection, Effect, Frame},
};

/// Frames beyond this never reach memory whole: the socket is closed with 1009 instead.
const TRANSPORT_MAX_BYTES: usize = 16 * 1024 * 1024;

const READ_BUFFER_BYTES: usize = 4 * 1024;

/// Writes are flushed at the end of each burst anyway; this only caps what one burst buffers.
const WRITE_BUFFER_BYTES: usize = 16 * 1024;

/// What every connection shares.
pub struct Server {
    pub config: GatewayConfig,
    /// Websocket path -> channel actor.
    pub routes: RwLock<HashMap<String, Route>>,
    pub channels: Channels,
    pub fanout: Fanout,
    pub nats: async_nats::Client,
    /// Prefix of connection ids, unique per gateway process.
    pub instance: String,
    pub next_connection: AtomicU64,
    pub shutdown: watch::Receiver<bool>,
}

/// Accepts connections until shutdown.
pub async fn serve(listener: TcpListener, server: Arc<Server>) {
    let mut shutdown = server.shutdown.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(handle(Arc::clone(&server), stream));
                }
                Err(e) => warn!("accept failed: {e}"),
            },
            _ = shutdown.changed() => return,
        }
    }
}

async fn handle(server: Arc<Server>, stream: TcpStream) {
    let routes = server.routes.read().await.clone();
    let mut route = None;
    let pick_route = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        match routes.get(request.uri().path()) {
            Some(found) => {
                route = Some(found.clone());
                Ok(response)
            }
            None => {
                let mut refusal = ErrorResponse::new(Some(format!(
                    "no chat protocol at {}\n",
                    request.uri().path()
                )));
                *refusal.status_mut() = StatusCode::NOT_FOUND;
                Err(refusal)
            }
        }
    };
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(TRANSPORT_MAX_BYTES))
        .max_frame_size(Some(TRANSPORT_MAX_BYTES))
        // Chat frames are small and most connections are idle: start buffers small (the
        // defaults are 128 KiB each, per connection); they grow for the rare large frame.
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES);
    let ws =
        match tokio_tungstenite::accept_hdr_async_with_config(stream, pick_route, Some(ws_config))
            .await
        {
            Ok(ws) => ws,
            Err(e) => {
                debug!("handshake failed: {e}");
                return;
            }
        };
    let Some(route) = route else { return };
    let stats = server.fanout.stats();
    stats.connections.fetch_add(1, Ordering::Relaxed);
    let key = server.next_connection.fetch_add(1, Ordering::Relaxed);
    let mut connection = Connection::new(&route.protocol, format!("{}-{key}", server.instance));
    let (queue, mut outbound) = mpsc::channel::<Message>(server.config.send_queue_frames);
    let evict = Arc::new(Notify::new());
    let (mut sink, mut inbound) = ws.split();
    let writer = tokio::spawn(async move {
        'write: while let Some(message) = outbound.recv().await {
            let mut closing = matches!(message, Message::Close(_));
            if sink.feed(message).await.is_err() {
                break;
            }
            // Whatever else is already queued goes out with the same flush (one write for a
            // burst of room events instead of one per event).
            while !closing {
                let Ok(message) = outbound.try_recv() else {
                    break;
                };
                closing = matches!(message, Message::Close(_));
                if sink.feed(message).await.is_err() {
                    break 'write;
                }
            }
            if sink.flush().await.is_err() || closing {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let ctx = ConnectionContext {
        server: &server,
        route: &route,
        key,
        queue: queue.clone(),
        evict: Arc::clone(&evict),
    };

    let mut open = match server
        .channels
        .opened(&route.component, &connection.session)
        .await
    {
        Ok(outcome) => ctx.perform(connection.apply(outcome)).await,
        Err(e) => ctx.fail(&e),
    };
    let mut shutdown = server.shutdown.clone();
    while open {
        tokio::select! {
            message = inbound.next() => {
                let frame = match message {
                    Some(Ok(Message::Text(text))) if text.len() > server.config.max_frame_bytes => Frame::Oversize(text.len() as u64),
                    Some(Ok(Message::Binary(bytes))) if bytes.len() > server.config.max_frame_bytes => Frame::Oversize(bytes.len() as u64),
                    Some(Ok(Message::Text(text))) => Frame::Text(text.as_str().to_owned()),
                    Some(Ok(Message::Binary(bytes))) => Frame::Binary(bytes.to_vec()),
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                    Some(Ok(Message::Close(_))) | None => break,
                    Some(Err(e)) => {
                        debug!(connection = %connection.session.connection_id, "read failed: {e}");
                        break;
                    }
                };
                open = match server.channels.received(&route.component, &connection.session, frame).await {
                    Ok(outcome) => ctx.perform(connection.apply(outcome)).await,
                    Err(e) => ctx.fail(&e),
                };
            }
            () = evict.notified() => {
                let _ = queue.try_send(close(CloseCode::Policy, "slow consumer: send queue full"));
                break;
            }
            _ = shutdown.changed() => {
                let _ = queue.try_send(close(CloseCode::Away, "server shutting down"));
                break;
            }
        }
    }
    ctx.perform(connection.closed()).await;
    if let Err(e) = server
        .channels
        .closed(&route.component, &connection.session)
        .await
    {
        debug!("channel close hook failed: {e:#}");
    }
    drop(ctx);
    drop(queue);
    let _ = writer.await;
    stats.connections.fetch_sub(1, Ordering::Relaxed);
}

struct ConnectionContext<'a> {
    server: &'a Server,
    route: &'a Route,
    key: u64,
    queue: mpsc::Sender<Message>,
    evict: Arc<Notify>,
}

impl ConnectionContext<'_> {
    /// Performs effects in order; returns whether the connection stays open.
    async fn perform(&self, effects: Vec<Effect>) -> bool {
        for effect in effects {
            match effect {
                Effect::Send(frame) => {
                    if self.queue.try_send(to_message(frame)).is_err() {
                        self.evict.notify_one();
                    }
                }
                Effect::Subscribe(room) => {
                    let subscriber = Subscriber {
                        protocol: self.route.protocol.clone(),
                        component: self.route.component.clone(),
                        queue: self.queue.clone(),
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
                Effect::Unsubscribe(room) => self.server.fanout.unsubscribe(&room, self.key),
                Effect::Close(code, reason) => {
                    let _ = self.queue.try_send(close(CloseCode::from(code), &reason));
                    return false;
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
        true
    }

    /// The channel actor could not be reached: the client cannot be answered in its protocol,
    /// so the socket is closed with "internal error" rather than left waiting.
    fn fail(&self, error: &anyhow::Error) -> bool {
        warn!(component = %self.route.component, "channel actor call failed: {error:#}");
        let _ = self
            .queue
            .try_send(close(CloseCode::Error, "chat service unavailable"));
        false
    }
}

fn close(code: CloseCode, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.to_owned().into(),
    }))
}
