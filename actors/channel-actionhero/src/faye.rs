//! actionhero's browser client (v7.6.5 `public/javascript/actionheroClient.js`, on Faye 1.0)
//! over Bayeux: the session around the verbs.
//!
//! What the client sends, and what it gets:
//! 1. `/meta/handshake` -> a client id (the connection's id) and the websocket as transport,
//! 2. `/meta/subscribe` to a setup channel of its own (`/client/websocket/_incoming/<random>`)
//!    -> the connection starts (its guest, the default room) and `{id}` is delivered there: the
//!    id naming its connection channel,
//! 3. drops the setup channel and subscribes to its connection channel -> the greeting,
//! 4. publishes requests on its connection channel (`{event: "roomChange", room}`,
//!    `{event: "action", params}`, ...) -> each is acknowledged, and its reply, like every chat
//!    message, api event and note, is delivered on that channel,
//! 5. `/meta/connect`, again every `advice.interval`. Faye's server holds a connect open until it
//!    has something to deliver; on a websocket nothing waits for a connect (deliveries are
//!    written as they come) and an actor cannot hold a call, so the answer comes at once and the
//!    interval is what keeps the client from asking in a loop,
//! 6. `/meta/disconnect` -> acknowledged, and the socket closes.
//!
//! A client that reconnects keeps its ids and goes straight to step 4 on the new socket: the
//! first request starts that connection.
//!
//! Every connection's channel is the same, [`CONNECTION_CHANNEL`]: the gateway renders a room
//! event once for all of this component's connections, so what it delivers cannot name one.
//! Upstream names each connection's channel after the connection; a socket only ever carries
//! its own connection's messages, so one shared name mixes nothing up.

use channel_kit::{Action, Backend, Frame, Outcome, Session};
use serde_json::{json, Value};

use crate::bayeux::{self, Advice, Command, Message, Reply};
use crate::codec::{self, Verbs};
use crate::handler::Conn;
use crate::Framing;

/// The id every browser client is given for its connection channel.
pub const CONNECTION_ID: &str = "me";
/// Where a client publishes its requests and hears everything meant for it.
pub const CONNECTION_CHANNEL: &str = "/client/websocket/connection/me";
/// Channels a client announces itself on; each picks its own below this.
pub const SETUP_PREFIX: &str = "/client/websocket/_incoming/";

/// The pace of `/meta/connect`: a connect every 30 s, and upstream's 45 s timeout (a ping
/// every 22.5 s).
pub const ADVICE: Advice = Advice {
    interval_ms: 30_000,
    timeout_ms: 45_000,
};

/// A socket opened. Nothing is said before the client's handshake, and the connection starts
/// only when the client asks for its id: a socket may be no more than Faye testing whether
/// websockets work.
pub fn opened(session: Session, backend: &impl Backend) -> Outcome {
    let mut conn = Conn::new(session, backend, Framing::Bayeux);
    conn.state.connected_at = backend.now_ms();
    conn.finish()
}

/// One frame of Bayeux messages; each is answered in order.
pub fn received(session: Session, frame: Frame, backend: &impl Backend) -> Outcome {
    let mut conn = Conn::new(session, backend, Framing::Bayeux);
    let messages = match frame {
        Frame::Text(text) => bayeux::decode(&text),
        Frame::Binary(_) => Err(bayeux::BadFrame("frames must be UTF-8 text".into())),
        Frame::Oversize(len) => Err(bayeux::BadFrame(format!("a frame of {len} bytes"))),
    };
    match messages {
        Ok(messages) => {
            for message in messages {
                handle(&mut conn, message);
            }
        }
        Err(_) => conn.bayeux(bayeux::bad_request()),
    }
    conn.finish()
}

fn handle<B: Backend>(conn: &mut Conn<'_, B>, message: Message) {
    let Message { reply, command } = message;
    let command = match command {
        Ok(command) => command,
        Err(error) => return conn.bayeux(reply.refused(&error)),
    };
    match command {
        Command::Handshake => {
            let client_id = conn.session.connection_id.clone();
            conn.bayeux(reply.handshaken(&client_id, ADVICE));
        }
        Command::Connect => conn.bayeux(reply.connected(ADVICE)),
        Command::Subscribe(channels) => subscribe(conn, reply, channels),
        // Nothing is kept per subscription.
        Command::Unsubscribe(_) => conn.bayeux(reply.ok()),
        Command::Disconnect => {
            conn.bayeux(reply.ok());
            conn.act(Action::Close(1000, "disconnect".into()));
        }
        Command::Publish { channel, data } => publish(conn, reply, &channel, data),
    }
}

/// The client's setup channel (its id comes back there) or its connection channel (the
/// greeting comes there). No other channel has anything to deliver.
fn subscribe<B: Backend>(conn: &mut Conn<'_, B>, reply: Reply, channels: Vec<String>) {
    let served = |channel: &String| channel == CONNECTION_CHANNEL || is_setup(channel);
    if let Some(other) = channels.iter().find(|channel| !served(channel)) {
        return conn.bayeux(reply.refused(&bayeux::forbidden(other)));
    }
    conn.start();
    conn.bayeux(reply.ok());
    for channel in channels {
        if channel == CONNECTION_CHANNEL {
            let greeting = conn.welcome();
            conn.reply(greeting);
        } else {
            conn.bayeux(bayeux::delivery(&channel, json!({"id": CONNECTION_ID})));
        }
    }
}

fn is_setup(channel: &str) -> bool {
    channel
        .strip_prefix(SETUP_PREFIX)
        .is_some_and(|own| !own.is_empty())
}

/// A request on the connection channel: acknowledged, then answered there.
fn publish<B: Backend>(conn: &mut Conn<'_, B>, reply: Reply, channel: &str, data: Value) {
    if channel != CONNECTION_CHANNEL {
        return conn.bayeux(reply.refused(&bayeux::forbidden(channel)));
    }
    conn.bayeux(reply.ok());
    conn.start();
    conn.state.message_count += 1;
    conn.answer(codec::decode_event(data, Verbs::Websocket));
}
