//! The fan-out publisher, in each server's protocol: joined to the room, not subscribed (its
//! own events would only add load), sending stamped bodies paced by acks or at an offered rate.
//! Either way it returns how many sends the server never acknowledged within the answer timeout.

use std::time::Duration;

use anyhow::Result;
use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crate::{
    client::{self, Ws},
    socketio_client::{self, Session},
    target::{Protocol, Server},
};

pub enum Publisher {
    /// Boxed: a websocket is ten times the size of a Session's handles.
    Venueless(Box<Ws>),
    SocketIo(Session),
}

impl Publisher {
    pub async fn connect(server: &Server, room: &str, tag: &str) -> Result<Self> {
        Ok(match server.protocol {
            Protocol::Venueless => Self::Venueless(Box::new(
                client::member(server.addr, format!("pub-{tag}"), room, false).await?,
            )),
            Protocol::SocketIo => {
                let mut ws = socketio_client::connect(server.addr).await?;
                socketio_client::join(&mut ws, room).await?;
                Self::SocketIo(Session::start(ws))
            }
        })
    }

    /// One message at a time, each sent when the previous one was acknowledged.
    pub async fn send_paced_by_acks(
        &mut self,
        room: &str,
        run: u32,
        messages: usize,
    ) -> Result<u64> {
        match self {
            Self::Venueless(ws) => venueless_paced(ws, room, run, messages).await,
            Self::SocketIo(session) => socketio_paced(session, room, run, messages).await,
        }
    }

    /// `messages` at `rate` msgs/s, whatever the acks do; acks are read meanwhile.
    pub async fn send_at_rate(
        &mut self,
        room: &str,
        run: u32,
        messages: usize,
        rate: u32,
    ) -> Result<u64> {
        let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
        match self {
            Self::Venueless(ws) => venueless_at_rate(ws, room, run, messages, interval).await,
            Self::SocketIo(session) => {
                socketio_at_rate(session, room, run, messages, interval).await
            }
        }
    }
}

async fn venueless_paced(ws: &mut Ws, room: &str, run: u32, messages: usize) -> Result<u64> {
    let mut unacked = 0;
    for seq in 0..messages {
        let id = 1000 + seq as u64;
        client::send(ws, client::message(id, room, run, seq as u64, 0)).await?;
        if client::wait_reply(ws, id).await.is_err() {
            unacked += 1;
        }
    }
    Ok(unacked)
}

async fn venueless_at_rate(
    ws: &mut Ws,
    room: &str,
    run: u32,
    messages: usize,
    interval: Duration,
) -> Result<u64> {
    let (mut sink, mut stream) = ws.split();
    let reading = async {
        let mut acked = 0usize;
        while acked < messages {
            match tokio::time::timeout(client::ANSWER_TIMEOUT, stream.next()).await {
                Ok(Some(Ok(Message::Text(text)))) if text.as_str().starts_with("[\"success\"") => {
                    acked += 1
                }
                Ok(Some(Ok(_))) => {}
                _ => break,
            }
        }
        acked
    };
    let sending = async {
        let mut next = tokio::time::Instant::now();
        for seq in 0..messages {
            let frame = client::message(1000 + seq as u64, room, run, seq as u64, 0);
            sink.send(Message::text(frame.to_string())).await?;
            next += interval;
            tokio::time::sleep_until(next).await;
        }
        anyhow::Ok(())
    };
    let (acked, sent) = tokio::join!(reading, sending);
    sent?;
    Ok((messages - acked) as u64)
}

async fn socketio_paced(
    session: &mut Session,
    room: &str,
    run: u32,
    messages: usize,
) -> Result<u64> {
    let mut unacked = 0;
    for seq in 0..messages {
        let id = session
            .emitter
            .emit_with_ack(|id| socketio_client::say(id, room, stamped(run, seq)))
            .await?;
        if !session.acks.wait_for(id).await {
            unacked += 1;
        }
    }
    Ok(unacked)
}

async fn socketio_at_rate(
    session: &mut Session,
    room: &str,
    run: u32,
    messages: usize,
    interval: Duration,
) -> Result<u64> {
    let Session { emitter, acks, .. } = session;
    let first_id = emitter.next_id();
    let reading = async {
        let (mut answered, mut acked) = (0usize, 0usize);
        while answered < messages {
            match acks.next().await {
                // Earlier ids are late acks of a past run.
                Some(ack) if ack.id >= first_id => {
                    answered += 1;
                    acked += usize::from(ack.ok);
                }
                Some(_) => {}
                None => break,
            }
        }
        acked
    };
    let sending = async {
        let mut next = tokio::time::Instant::now();
        for seq in 0..messages {
            emitter
                .emit_with_ack(|id| socketio_client::say(id, room, stamped(run, seq)))
                .await?;
            next += interval;
            tokio::time::sleep_until(next).await;
        }
        anyhow::Ok(())
    };
    let (acked, sent) = tokio::join!(reading, sending);
    sent?;
    Ok((messages - acked) as u64)
}

fn stamped(run: u32, seq: usize) -> String {
    client::stamped_body(run, seq as u64, 0)
}
