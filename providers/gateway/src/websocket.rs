//! The websocket transport: one listener for every channel actor, routed by the handshake's
//! path (`/venueless`, `/cadmium`, ...; an unknown path is refused with 404). One websocket
//! message is one frame. A connection over the caps (`limits.rs`) is answered with HTTP 503.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use futures::{
    stream::{SplitSink, SplitStream},
    SinkExt, Stream, StreamExt,
};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::{
    tungstenite::{
        handshake::server::{ErrorResponse, Request, Response},
        http::{header, HeaderValue, StatusCode},
        protocol::{frame::coding::CloseCode, CloseFrame, WebSocketConfig},
        Message,
    },
    WebSocketStream,
};
use tracing::{debug, warn};

use crate::{
    connection::{self, Peer, Server, READ_BUFFER_BYTES, WRITE_BUFFER_BYTES},
    limits::REFUSAL,
    outbound::{self, Outbound, Outgoing},
    session::Frame,
};

/// Frames beyond this never reach memory whole: the socket is closed with 1009 instead.
const TRANSPORT_MAX_BYTES: usize = 16 * 1024 * 1024;

type Socket = WebSocketStream<TcpStream>;

/// How long a refused client may take to send its upgrade request before it is dropped
/// unanswered: refused sockets hold no slot, so they must not linger.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(5);

/// Accepts connections until shutdown.
pub async fn serve(listener: TcpListener, server: Arc<Server>) {
    let mut shutdown = server.shutdown.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(handle(Arc::clone(&server), stream, remote));
                }
                Err(e) => warn!("accept failed: {e}"),
            },
            _ = shutdown.changed() => return,
        }
    }
}

/// The handshake picks the route by path; then the connection runs like any other.
async fn handle(server: Arc<Server>, stream: TcpStream, remote: SocketAddr) {
    let transport = wcc_interface::transport::WEBSOCKET;
    // Held until the connection is over, whichever way it ends.
    let Some(_slot) = server
        .limits
        .admit(remote, transport, server.fanout.stats())
    else {
        return refuse(stream, remote).await;
    };
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
    let ws_config = config();
    // Boxed, like the connection's own calls: a future is sized for its largest await, and the
    // handshake's state would otherwise stay allocated for the life of every idle connection.
    let handshake =
        tokio_tungstenite::accept_hdr_async_with_config(stream, pick_route, Some(ws_config));
    let ws = match Box::pin(handshake).await {
        Ok(ws) => ws,
        Err(e) => {
            debug!(%remote, "handshake failed: {e}");
            return;
        }
    };
    let Some(route) = route else { return };
    let (outbox, outgoing) = outbound::queue(server.config.send_queue_frames);
    let (sink, stream) = ws.split();
    let writer = tokio::spawn(write(outgoing, sink));
    let inbound = frames(stream, server.config.max_frame_bytes, remote);
    let peer = Peer { transport, remote };
    connection::run(server, route, peer, inbound, outbox, writer).await;
}

/// The websocket settings of an accepted connection.
pub fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(TRANSPORT_MAX_BYTES))
        .max_frame_size(Some(TRANSPORT_MAX_BYTES))
        // Most connections are idle: start buffers small (the defaults are 128 KiB each, per
        // connection); they grow for the rare large frame.
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
}

/// Answers the upgrade request of a client over the connection caps with 503 and a short text.
async fn refuse(stream: TcpStream, remote: SocketAddr) {
    let unavailable = |_: &Request, _: Response| -> Result<Response, ErrorResponse> {
        let body = format!("{REFUSAL}\n");
        let length = HeaderValue::from(body.len());
        let mut refusal = ErrorResponse::new(Some(body));
        *refusal.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        let headers = refusal.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        headers.insert(header::CONTENT_LENGTH, length);
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        Err(refusal)
    };
    // Small buffers: under a flood there may be many of these at once, each reading one request.
    let ws_config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(READ_BUFFER_BYTES);
    let handshake =
        tokio_tungstenite::accept_hdr_async_with_config(stream, unavailable, Some(ws_config));
    match tokio::time::timeout(REFUSAL_TIMEOUT, handshake).await {
        // The answer is the error the handshake ends with.
        Ok(Err(_)) => {}
        Ok(Ok(_)) => warn!(%remote, "a refused websocket was upgraded; dropping it"),
        Err(_) => debug!(%remote, "refused client sent no upgrade request in time"),
    }
}

/// The client's messages as frames; ends at the client's close or a read error. Pings are
/// answered by tungstenite itself.
fn frames(
    stream: SplitStream<Socket>,
    max_frame_bytes: usize,
    remote: SocketAddr,
) -> impl Stream<Item = Frame> {
    futures::stream::unfold(stream, move |mut stream| async move {
        loop {
            let message = match stream.next().await? {
                Ok(message) => message,
                Err(e) => {
                    debug!(%remote, "read failed: {e}");
                    return None;
                }
            };
            match inbound(message, max_frame_bytes) {
                Inbound::Frame(frame) => return Some((frame, stream)),
                Inbound::Skip => continue,
                Inbound::Closed => return None,
            }
        }
    })
}

/// What one message read from a client means for its connection.
#[derive(Clone, Debug, PartialEq)]
pub enum Inbound {
    /// A frame for the channel actor.
    Frame(Frame),
    /// Nothing for the actor (pings are answered by tungstenite itself).
    Skip,
    /// The client closed: no frames after this one.
    Closed,
}

/// Pure: a client's message as the connection sees it; text and binary messages over
/// `max_frame_bytes` become [`Frame::Oversize`].
pub fn inbound(message: Message, max_frame_bytes: usize) -> Inbound {
    Inbound::Frame(match message {
        Message::Text(text) if text.len() > max_frame_bytes => Frame::Oversize(text.len() as u64),
        Message::Binary(bytes) if bytes.len() > max_frame_bytes => {
            Frame::Oversize(bytes.len() as u64)
        }
        Message::Text(text) => Frame::Text(text.as_str().to_owned()),
        Message::Binary(bytes) => Frame::Binary(bytes.to_vec()),
        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => return Inbound::Skip,
        Message::Close(_) => return Inbound::Closed,
    })
}

/// Drains the send queue into the socket, one flush per burst.
async fn write(mut outgoing: Outgoing, mut sink: SplitSink<Socket, Message>) {
    'write: while let Some(first) = outgoing.recv().await {
        let mut next = Some(first);
        let mut closing = false;
        // Whatever else is already queued goes out with the same flush (one write for a burst
        // of room events instead of one per event).
        while let Some(frame) = next {
            closing = matches!(frame, Outbound::Close(..));
            if sink.feed(to_message(frame)).await.is_err() {
                break 'write;
            }
            if closing {
                break;
            }
            next = outgoing.try_recv();
        }
        if sink.flush().await.is_err() || closing {
            break;
        }
    }
    let _ = sink.close().await;
}

fn to_message(frame: Outbound) -> Message {
    match frame {
        Outbound::Text(text) => Message::Text(text),
        Outbound::Binary(bytes) => Message::Binary(bytes),
        Outbound::Close(code, reason) => Message::Close(Some(CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_connection_over_the_caps_is_answered_with_503() {
        use tokio_tungstenite::tungstenite::Error;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/venueless", listener.local_addr().unwrap());
        let server = async {
            let (stream, remote) = listener.accept().await.unwrap();
            refuse(stream, remote).await;
        };
        let (client, ()) = tokio::join!(tokio_tungstenite::connect_async(url), server);
        match client {
            Err(Error::Http(response)) => {
                assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
                assert_eq!(response.headers()[header::RETRY_AFTER], "5");
                let body = response.body().clone().unwrap_or_default();
                assert_eq!(String::from_utf8_lossy(&body), format!("{REFUSAL}\n"));
            }
            other => panic!("expected a 503, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_slow_consumer_gets_its_queued_frames_then_the_close_code() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/x", listener.local_addr().unwrap());
        let server = async {
            let (stream, _) = listener.accept().await.unwrap();
            tokio_tungstenite::accept_async(stream).await.unwrap()
        };
        let (client, server) = tokio::join!(tokio_tungstenite::connect_async(url), server);
        let (mut client, _) = client.unwrap();
        let (sink, _stream) = server.split();
        let (outbox, outgoing) = outbound::queue(2);
        outbox.send(Outbound::Text("a".into())).unwrap();
        outbox.send(Outbound::Text("b".into())).unwrap();
        assert!(outbox.send(Outbound::Text("c".into())).is_err(), "full");
        outbox.close(1008, "slow consumer: send queue full");
        drop(outbox);
        tokio::spawn(write(outgoing, sink)).await.unwrap();
        let mut received = Vec::new();
        // The close handshake would then wait for the server's read half, which the
        // connection drops once the writer is done; here the close frame is enough.
        while let Some(Ok(message)) = client.next().await {
            let closing = message.is_close();
            received.push(message);
            if closing {
                break;
            }
        }
        assert_eq!(
            received[..2],
            [Message::Text("a".into()), Message::Text("b".into())]
        );
        assert!(
            matches!(&received[2], Message::Close(Some(frame)) if frame.code == CloseCode::Policy),
            "{received:?}"
        );
    }
}
