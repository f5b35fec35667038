//! The websocket transport: an upgrade request at a channel's path (`listener.rs` routes it)
//! becomes a websocket, and one websocket message is one frame.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use futures::{
    stream::{SplitSink, SplitStream},
    SinkExt, Stream, StreamExt,
};
use tokio::{io::AsyncWriteExt, net::TcpStream};
use tokio_tungstenite::{
    tungstenite::{
        handshake::server::{create_response, write_response},
        http::{Request, StatusCode},
        protocol::{frame::coding::CloseCode, CloseFrame, Role, WebSocketConfig},
        Message,
    },
    WebSocketStream,
};
use tracing::debug;

use crate::{
    config::Route,
    connection::{self, Peer, Server, READ_BUFFER_BYTES, WRITE_BUFFER_BYTES},
    http::{self, Head, Response},
    limits::Slot,
    outbound::{self, Outbound, Outgoing},
    session::Frame,
};

/// Frames beyond this never reach memory whole: the socket is closed with 1009 instead.
pub const TRANSPORT_MAX_BYTES: usize = 16 * 1024 * 1024;

type Socket = WebSocketStream<TcpStream>;

/// Accepts the upgrade `head` asks for (a bad one gets 400), then starts the connection as a
/// task of its own, which holds `slot` until the connection ends.
pub async fn upgrade(
    server: Arc<Server>,
    route: Route,
    stream: TcpStream,
    remote: SocketAddr,
    head: Head,
    slot: Option<Slot>,
) {
    // Boxed: the handshake's state would otherwise stay allocated for the life of every idle
    // connection (a future is as large as its largest await).
    let Some(ws) = Box::pin(open(stream, head, server.config.request_timeout)).await else {
        return debug!(%remote, "websocket upgrade failed");
    };
    let (outbox, outgoing) = outbound::queue(server.config.send_queue_frames);
    let (sink, stream) = ws.split();
    let writer = tokio::spawn(write(outgoing, sink));
    let inbound = frames(stream, server.config.max_frame_bytes, remote);
    let transport = wcc_interface::transport::WEBSOCKET;
    let peer = Peer { transport, remote };
    // Not awaited here: the accepting task's future holds the request's head and route beside
    // the connection's, so an idle connection in it would cost twice the connection loop.
    tokio::spawn(async move {
        connection::run(server, route, peer, inbound, outbox, writer).await;
        drop(slot);
    });
}

/// Pure: the answer accepting the upgrade `request` asks for, or the 400 refusing it.
pub fn accept(request: &Request<()>) -> Result<Vec<u8>, Response> {
    let mut accepted = Vec::new();
    create_response(request)
        .and_then(|response| write_response(&mut accepted, &response))
        .map_err(|e| {
            let text = format!("not a websocket upgrade: {e}");
            Response::text(StatusCode::BAD_REQUEST, &text)
        })?;
    Ok(accepted)
}

/// Answers the upgrade (within `timeout`); the websocket, unless it was refused or the client
/// left.
async fn open(mut stream: TcpStream, head: Head, timeout: Duration) -> Option<Socket> {
    let accepted = match accept(&head.request) {
        Ok(accepted) => accepted,
        Err(refusal) => {
            http::respond(stream, &refusal, timeout).await;
            return None;
        }
    };
    match tokio::time::timeout(timeout, stream.write_all(&accepted)).await {
        Ok(Ok(())) => {}
        _ => return None,
    }
    // Whatever came after the head is the start of the client's first frames.
    let ws = WebSocketStream::from_partially_read(stream, head.rest, Role::Server, Some(config()));
    Some(ws.await)
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
    use tokio::net::TcpListener;

    use super::*;

    /// A client's upgrade at a server that reads the head as the listener does and opens the
    /// websocket as [`upgrade`] does.
    #[tokio::test]
    async fn an_upgrade_opens_a_websocket_that_carries_frames() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/x", listener.local_addr().unwrap());
        let server = async {
            let (mut stream, _) = listener.accept().await.unwrap();
            let head = http::read_head(&mut stream).await.unwrap();
            open(stream, head, Duration::from_secs(5)).await.unwrap()
        };
        let (client, mut server) = tokio::join!(tokio_tungstenite::connect_async(url), server);
        let (mut client, _) = client.unwrap();
        client.send(Message::text("hello")).await.unwrap();
        let received = server.next().await.unwrap().unwrap();
        assert_eq!(
            inbound(received, 100),
            Inbound::Frame(Frame::Text("hello".into()))
        );
        server.send(Message::text("hi")).await.unwrap();
        assert_eq!(client.next().await.unwrap().unwrap(), Message::text("hi"));
    }

    #[test]
    fn a_broken_upgrade_is_refused_with_400() {
        let head = "GET /x HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
        let head = http::parse_head(head.as_bytes()).unwrap().unwrap();
        let refused = accept(&head.request).unwrap_err();
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        let text = String::from_utf8(refused.body).unwrap();
        assert!(text.starts_with("not a websocket upgrade"), "{text}");
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
