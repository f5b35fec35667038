//! The TCP line transport: for `telnet` and `nc` clients. A channel actor's link may carry
//! `line_addr`; the gateway then listens there for that actor alone. One line is one frame:
//! inbound, the line end (`\n`, or `\r\n`) is stripped; outbound, every text frame is written
//! followed by `\r\n`. There is no close frame: closing closes the socket. A connection over
//! the caps (`limits.rs`) gets one JSON error line and is closed.

use std::{
    collections::{HashMap, VecDeque},
    net::SocketAddr,
    sync::Arc,
    time::Duration,
};

use anyhow::Context;
use futures::Stream;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{
        tcp::{OwnedReadHalf, OwnedWriteHalf},
        TcpListener, TcpStream,
    },
    sync::{watch, Mutex},
    task::JoinHandle,
};
use tracing::{debug, info, warn};

use crate::{
    config::Route,
    connection::{self, Peer, Server, READ_BUFFER_BYTES, WRITE_BUFFER_BYTES},
    limits::REFUSAL,
    outbound::{self, Outbound, Outgoing},
    session::Frame,
};

/// Splits a byte stream into line frames. Pure: bytes in with [`Framer::push`], frames out
/// with [`Framer::pop`].
///
/// - a line ends at `\n`; one `\r` before it is stripped too; empty lines are frames as well
///   (the actor decides what they mean),
/// - a line longer than the limit is dropped as it streams in (never held whole) and becomes
///   [`Frame::Oversize`] with its length once its `\n` arrives,
/// - a line that is not UTF-8 becomes [`Frame::Binary`],
/// - [`Framer::finish`] (at EOF) makes a frame of an unterminated last line.
#[derive(Debug)]
pub struct Framer {
    max_frame_bytes: usize,
    /// The line so far: at most `max_frame_bytes + 1` bytes (room for a `\r` before the `\n`).
    line: Vec<u8>,
    /// Once the line has outgrown the limit: its length so far (its bytes are gone).
    oversize: Option<u64>,
    /// Whether the line so far ends in `\r`, which is part of the line end if `\n` follows.
    ends_in_cr: bool,
    ready: VecDeque<Frame>,
}

impl Framer {
    pub fn new(max_frame_bytes: usize) -> Self {
        Self {
            max_frame_bytes,
            line: Vec::new(),
            oversize: None,
            ends_in_cr: false,
            ready: VecDeque::new(),
        }
    }

    /// Takes bytes as they arrive; complete lines become frames.
    pub fn push(&mut self, mut bytes: &[u8]) {
        while let Some(end) = bytes.iter().position(|&b| b == b'\n') {
            self.extend(&bytes[..end]);
            self.end_line();
            bytes = &bytes[end + 1..];
        }
        self.extend(bytes);
    }

    /// The input ended: an unterminated last line is a frame too.
    pub fn finish(&mut self) {
        if self.oversize.is_some() || !self.line.is_empty() {
            self.end_line();
        }
    }

    /// The next complete frame, in order.
    pub fn pop(&mut self) -> Option<Frame> {
        self.ready.pop_front()
    }

    fn extend(&mut self, part: &[u8]) {
        let Some(&last) = part.last() else { return };
        self.ends_in_cr = last == b'\r';
        if let Some(len) = &mut self.oversize {
            *len += part.len() as u64;
        } else if self.line.len() + part.len() > self.max_frame_bytes + 1 {
            // Too long even if it ends in `\r\n`: stop keeping it.
            self.oversize = Some((self.line.len() + part.len()) as u64);
            self.line = Vec::new();
        } else {
            self.line.extend_from_slice(part);
        }
    }

    fn end_line(&mut self) {
        let cr = std::mem::take(&mut self.ends_in_cr);
        let frame = match self.oversize.take() {
            Some(len) => Frame::Oversize(len - u64::from(cr)),
            None => {
                let mut line = std::mem::take(&mut self.line);
                if cr {
                    line.pop();
                }
                if line.len() > self.max_frame_bytes {
                    Frame::Oversize(line.len() as u64)
                } else {
                    match String::from_utf8(line) {
                        Ok(text) => Frame::Text(text),
                        Err(not_text) => Frame::Binary(not_text.into_bytes()),
                    }
                }
            }
        };
        self.ready.push_back(frame);
    }
}

/// The line listeners, one per `line_addr`, each serving one route.
#[derive(Default)]
pub struct Listeners {
    /// Held across binds, so two link configs for one address cannot both bind it.
    bound: Mutex<HashMap<SocketAddr, Listener>>,
}

struct Listener {
    /// The route its connections get; a repeated link config may update it in place.
    route: watch::Sender<Route>,
    task: JoinHandle<()>,
}

impl Listener {
    async fn stop(self, addr: SocketAddr) {
        self.task.abort();
        // The listening socket is closed once the task is gone, so the address is free after.
        let _ = self.task.await;
        info!(%addr, "line listener stopped");
    }
}

impl Listeners {
    /// Serves `route` on its `line_addr`: binds it and runs `accept` on the socket, unless that
    /// address is already served (then its connections get this route from now on). Where the
    /// same route was served at another address before, that listener stops.
    pub async fn link(
        &self,
        route: &Route,
        accept: impl FnOnce(TcpListener, watch::Receiver<Route>) -> JoinHandle<()>,
    ) -> anyhow::Result<()> {
        let mut bound = self.bound.lock().await;
        let moved: Vec<SocketAddr> = bound
            .iter()
            .filter(|(addr, listener)| {
                let served = listener.route.borrow();
                served.component == route.component
                    && served.path == route.path
                    && route.line_addr != Some(**addr)
            })
            .map(|(addr, _)| *addr)
            .collect();
        for addr in moved {
            if let Some(listener) = bound.remove(&addr) {
                listener.stop(addr).await;
            }
        }
        let Some(addr) = route.line_addr else {
            return Ok(());
        };
        if let Some(listener) = bound.get(&addr) {
            if listener.route.borrow().component != route.component {
                warn!(%addr, component = %route.component, "line address taken over by another channel");
            }
            listener.route.send_replace(route.clone());
            return Ok(());
        }
        let socket = crate::listen::shared(addr)
            .with_context(|| format!("cannot listen for lines on {addr}"))?;
        info!(%addr, component = %route.component, "line listener");
        let (sender, receiver) = watch::channel(route.clone());
        bound.insert(
            addr,
            Listener {
                route: sender,
                task: accept(socket, receiver),
            },
        );
        Ok(())
    }

    /// Stops the listeners of a channel actor whose link is gone.
    pub async fn unlink(&self, component: &str) {
        let mut bound = self.bound.lock().await;
        let gone: Vec<SocketAddr> = bound
            .iter()
            .filter(|(_, listener)| listener.route.borrow().component == component)
            .map(|(addr, _)| *addr)
            .collect();
        for addr in gone {
            if let Some(listener) = bound.remove(&addr) {
                listener.stop(addr).await;
            }
        }
    }

    /// Stops every listener (shutdown).
    pub async fn stop_all(&self) {
        let mut bound = self.bound.lock().await;
        for (addr, listener) in bound.drain() {
            listener.stop(addr).await;
        }
    }
}

/// Accepts line connections for one route until stopped or shutdown.
pub async fn serve(listener: TcpListener, route: watch::Receiver<Route>, server: Arc<Server>) {
    let mut shutdown = server.shutdown.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    let _ = stream.set_nodelay(true);
                    let route = route.borrow().clone();
                    tokio::spawn(handle(Arc::clone(&server), route, stream, remote));
                }
                Err(e) => warn!("line accept failed: {e}"),
            },
            _ = shutdown.changed() => return,
        }
    }
}

async fn handle(server: Arc<Server>, route: Route, stream: TcpStream, remote: SocketAddr) {
    let transport = wcc_interface::transport::TCP;
    // Held until the connection is over, whichever way it ends.
    let Some(_slot) = server
        .limits
        .admit(remote, transport, server.fanout.stats())
    else {
        return refuse(stream).await;
    };
    let (read, write_half) = stream.into_split();
    let (outbox, outgoing) = outbound::queue(server.config.send_queue_frames);
    let writer = tokio::spawn(write(outgoing, write_half));
    let reader = LineReader {
        socket: read,
        framer: Framer::new(server.config.max_frame_bytes),
        buffer: vec![0; READ_BUFFER_BYTES],
        done: false,
        remote,
    };
    let peer = Peer { transport, remote };
    connection::run(server, route, peer, frames(reader), outbox, writer).await;
}

/// How long a refused line client is given to take its error line; refused sockets hold no
/// slot, so they must not linger.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(2);

/// Tells a client over the connection caps why, in one line, and closes.
async fn refuse(mut stream: TcpStream) {
    let line = format!("{}\r\n", serde_json::json!({ "error": REFUSAL }));
    let _ = tokio::time::timeout(REFUSAL_TIMEOUT, async {
        stream.write_all(line.as_bytes()).await?;
        stream.shutdown().await?;
        // Whatever the client sent first is read and dropped before the socket closes: closing
        // with unread input resets the connection, and the client could lose the line.
        let mut sink = [0; 512];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<_, std::io::Error>(())
    })
    .await;
}

struct LineReader {
    socket: OwnedReadHalf,
    framer: Framer,
    buffer: Vec<u8>,
    done: bool,
    remote: SocketAddr,
}

/// The client's lines as frames; ends after the last line once the client closes its side.
fn frames(reader: LineReader) -> impl Stream<Item = Frame> {
    futures::stream::unfold(reader, |mut reader| async move {
        loop {
            if let Some(frame) = reader.framer.pop() {
                return Some((frame, reader));
            }
            if reader.done {
                return None;
            }
            match reader.socket.read(&mut reader.buffer).await {
                Ok(0) => {
                    reader.done = true;
                    reader.framer.finish();
                }
                Ok(n) => reader.framer.push(&reader.buffer[..n]),
                Err(e) => {
                    // A reset: a half-read last line is not worth answering.
                    debug!(remote = %reader.remote, "read failed: {e}");
                    reader.done = true;
                }
            }
        }
    })
}

/// Drains the send queue into the socket, one write per burst. The client may have closed its
/// sending side only (`nc` at the end of its input): answers still go out.
async fn write(mut outgoing: Outgoing, mut socket: OwnedWriteHalf) {
    let mut batch = Vec::new();
    'write: while let Some(first) = outgoing.recv().await {
        let mut next = Some(first);
        let mut closing = false;
        while let Some(frame) = next {
            match frame {
                Outbound::Text(text) => {
                    batch.extend_from_slice(text.as_bytes());
                    batch.extend_from_slice(b"\r\n");
                }
                Outbound::Binary(bytes) => batch.extend_from_slice(&bytes),
                Outbound::Close(..) => {
                    closing = true;
                    break;
                }
            }
            if batch.len() >= WRITE_BUFFER_BYTES {
                if socket.write_all(&batch).await.is_err() {
                    break 'write;
                }
                batch.clear();
            }
            next = outgoing.try_recv();
        }
        if socket.write_all(&batch).await.is_err() || closing {
            break;
        }
        batch.clear();
        // Idle connections are most of them: do not keep a large frame's buffer around.
        if batch.capacity() > WRITE_BUFFER_BYTES {
            batch = Vec::new();
        }
    }
    let _ = socket.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(max: usize, chunks: &[&[u8]], finish: bool) -> Vec<Frame> {
        let mut framer = Framer::new(max);
        let mut frames = Vec::new();
        for chunk in chunks {
            framer.push(chunk);
            frames.extend(std::iter::from_fn(|| framer.pop()));
        }
        if finish {
            framer.finish();
            frames.extend(std::iter::from_fn(|| framer.pop()));
        }
        frames
    }

    fn text(s: &str) -> Frame {
        Frame::Text(s.into())
    }

    #[test]
    fn lines_end_at_newline_with_or_without_cr() {
        assert_eq!(
            framed(100, &[b"hello\r\nworld\n\n\r\nlast"], false),
            [text("hello"), text("world"), text(""), text("")]
        );
        // Only one `\r` is part of the line end; one in the middle is text.
        assert_eq!(
            framed(100, &[b"a\r\r\n", b"b\rc\n"], false),
            [text("a\r"), text("b\rc")]
        );
    }

    #[test]
    fn lines_may_arrive_in_pieces() {
        let bytes = b"verb one\r\nverb two\r\n";
        for split in 0..bytes.len() {
            let (a, b) = bytes.split_at(split);
            assert_eq!(
                framed(100, &[a, b], false),
                [text("verb one"), text("verb two")],
                "split at {split}"
            );
        }
        // `\r` and `\n` in different reads.
        assert_eq!(framed(100, &[b"x\r", b"\ny"], false), [text("x")]);
    }

    #[test]
    fn a_final_unterminated_line_is_delivered_at_eof() {
        assert_eq!(framed(100, &[b"a\nb"], true), [text("a"), text("b")]);
        assert_eq!(framed(100, &[b"a\nb\r"], true), [text("a"), text("b")]);
        assert_eq!(framed(100, &[b"a\n"], true), [text("a")]);
        assert_eq!(framed(100, &[], true), []);
    }

    #[test]
    fn long_lines_are_oversize_and_the_next_lines_are_read() {
        // Exactly the limit passes, with either line end.
        assert_eq!(
            framed(4, &[b"abcd\r\nabcd\n"], false),
            [text("abcd"), text("abcd")]
        );
        assert_eq!(
            framed(4, &[b"abcde\nok\n"], false),
            [Frame::Oversize(5), text("ok")]
        );
        assert_eq!(
            framed(4, &[b"abcde\r\nok\r\n"], false),
            [Frame::Oversize(5), text("ok")]
        );
        // Streaming in: the length counts every dropped byte, the line end excluded.
        assert_eq!(
            framed(4, &[b"ab", b"cdefg", b"hij", b"\r", b"\nok\n"], false),
            [Frame::Oversize(10), text("ok")]
        );
        assert_eq!(framed(4, &[b"abcdefgh"], true), [Frame::Oversize(8)]);
    }

    #[test]
    fn oversize_lines_are_never_held_whole() {
        let mut framer = Framer::new(16);
        for _ in 0..1000 {
            framer.push(&[b'x'; 1000]);
            assert!(framer.line.capacity() <= 64, "{}", framer.line.capacity());
        }
        framer.push(b"\n");
        assert_eq!(framer.pop(), Some(Frame::Oversize(1_000_000)));
    }

    #[test]
    fn lines_that_are_not_utf8_are_binary() {
        assert_eq!(
            framed(100, &[b"ok\n\xff\xfe\r\n", "é\n".as_bytes()], false),
            [text("ok"), Frame::Binary(vec![0xff, 0xfe]), text("é")]
        );
    }

    async fn socket_pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = tokio::join!(client, listener.accept());
        (client.unwrap(), accepted.unwrap().0)
    }

    #[tokio::test]
    async fn the_reader_frames_a_socket_until_eof() {
        use futures::StreamExt;
        let (mut client, server) = socket_pair().await;
        let (read, _write) = server.into_split();
        let reader = LineReader {
            socket: read,
            framer: Framer::new(8),
            buffer: vec![0; 3],
            done: false,
            remote: "127.0.0.1:1".parse().unwrap(),
        };
        client
            .write_all(
                b"one
too long line
last",
            )
            .await
            .unwrap();
        client.shutdown().await.unwrap();
        let frames: Vec<Frame> = frames(reader).collect().await;
        assert_eq!(frames, [text("one"), Frame::Oversize(13), text("last")]);
    }

    #[tokio::test]
    async fn the_writer_ends_text_with_crlf_and_closes_on_close() {
        let (mut client, server) = socket_pair().await;
        let (_read, write_half) = server.into_split();
        let (outbox, outgoing) = outbound::queue(8);
        let writer = tokio::spawn(write(outgoing, write_half));
        outbox.send(Outbound::Text("hi".into())).unwrap();
        outbox
            .send(Outbound::Binary(bytes::Bytes::from_static(b"raw")))
            .unwrap();
        outbox.close(1008, "slow consumer");
        // Nothing after the close is written.
        let _ = outbox.send(Outbound::Text("late".into()));
        writer.await.unwrap();
        let mut received = Vec::new();
        client.read_to_end(&mut received).await.unwrap();
        assert_eq!(received, b"hi\r\nraw");
    }

    #[tokio::test]
    async fn a_connection_over_the_caps_gets_one_error_line_and_is_closed() {
        let (mut client, server) = socket_pair().await;
        // A client that talks first still gets the line.
        client.write_all(b"roomAdd lobby\r\n").await.unwrap();
        let refused = tokio::spawn(refuse(server));
        let mut received = String::new();
        client.read_to_string(&mut received).await.unwrap();
        assert_eq!(
            received,
            "{\"error\":\"too many connections; try again later\"}\r\n"
        );
        drop(client);
        refused.await.unwrap();
    }

    fn route(line_addr: Option<SocketAddr>, protocol: &str) -> Route {
        Route {
            path: "/actionhero".into(),
            protocol: protocol.into(),
            component: "c1".into(),
            line_addr,
            http: false,
            echo_to_sender: true,
        }
    }

    fn free_addr() -> SocketAddr {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    }

    /// A stand-in accept loop: holds the socket and reports the routes it is given.
    fn accept_into(
        seen: tokio::sync::mpsc::UnboundedSender<String>,
    ) -> impl FnOnce(TcpListener, watch::Receiver<Route>) -> JoinHandle<()> {
        move |socket, mut route| {
            tokio::spawn(async move {
                let _socket = socket;
                loop {
                    let _ = seen.send(route.borrow_and_update().protocol.clone());
                    if route.changed().await.is_err() {
                        return;
                    }
                }
            })
        }
    }

    #[tokio::test]
    async fn a_repeated_link_binds_once_and_unlinking_frees_the_address() {
        let listeners = Listeners::default();
        let addr = free_addr();
        let (seen, mut routes) = tokio::sync::mpsc::unbounded_channel();
        listeners
            .link(&route(Some(addr), "v1"), accept_into(seen.clone()))
            .await
            .unwrap();
        assert_eq!(routes.recv().await.as_deref(), Some("v1"));
        // The second config for the same address must not bind (it would fail: in use).
        listeners
            .link(&route(Some(addr), "v2"), |_, _| panic!("bound twice"))
            .await
            .unwrap();
        assert_eq!(routes.recv().await.as_deref(), Some("v2"));
        assert!(TcpListener::bind(addr).await.is_err(), "listener is up");

        listeners.unlink("other").await;
        assert!(
            TcpListener::bind(addr).await.is_err(),
            "other links leave it"
        );
        listeners.unlink("c1").await;
        assert!(TcpListener::bind(addr).await.is_ok(), "address freed");
    }

    #[tokio::test]
    async fn a_moved_line_addr_stops_the_old_listener() {
        let listeners = Listeners::default();
        let (old, new) = (free_addr(), free_addr());
        let (seen, _routes) = tokio::sync::mpsc::unbounded_channel();
        listeners
            .link(&route(Some(old), "p"), accept_into(seen.clone()))
            .await
            .unwrap();
        listeners
            .link(&route(Some(new), "p"), accept_into(seen.clone()))
            .await
            .unwrap();
        assert!(TcpListener::bind(old).await.is_ok(), "old address freed");
        assert!(TcpListener::bind(new).await.is_err(), "new address served");
        // The same link without `line_addr` stops line service altogether.
        listeners
            .link(&route(None, "p"), |_, _| panic!("nothing to bind"))
            .await
            .unwrap();
        assert!(TcpListener::bind(new).await.is_ok());

        listeners
            .link(&route(Some(old), "p"), accept_into(seen))
            .await
            .unwrap();
        listeners.stop_all().await;
        assert!(TcpListener::bind(old).await.is_ok(), "shutdown frees it");
    }
}
