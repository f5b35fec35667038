//! An actionhero client over either transport: a TCP line socket (what telnet does) or the
//! websocket path. Lines the server pushes (chat, operator events) are kept until asked for.

use anyhow::{bail, Context, Result};
use futures::SinkExt;
use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{
        tcp::{OwnedReadHalf, OwnedWriteHalf},
        TcpStream,
    },
};
use tokio_tungstenite::tungstenite::Message;

use super::{next_json, Socket, REPLY_TIMEOUT};

enum Transport {
    Lines {
        reader: BufReader<OwnedReadHalf>,
        writer: OwnedWriteHalf,
    },
    Websocket(Box<Socket>),
}

pub struct Actionhero {
    transport: Transport,
    pushes: Vec<Value>,
    /// What was sent last, for failure messages.
    last_sent: String,
    /// The greeting the server sent on connect.
    pub welcome: Value,
}

impl Actionhero {
    /// Connects to the TCP line listener and reads the greeting.
    pub async fn lines(addr: &str) -> Result<Self> {
        let (read, writer) = TcpStream::connect(addr).await?.into_split();
        let transport = Transport::Lines {
            reader: BufReader::new(read),
            writer,
        };
        Self::greeted(transport).await
    }

    /// Connects to the websocket path and reads the greeting.
    pub async fn websocket(gateway: &str) -> Result<Self> {
        let (ws, _) =
            tokio_tungstenite::connect_async(format!("ws://{gateway}/actionhero")).await?;
        Self::greeted(Transport::Websocket(Box::new(ws))).await
    }

    async fn greeted(transport: Transport) -> Result<Self> {
        let mut client = Self {
            transport,
            pushes: Vec::new(),
            last_sent: String::new(),
            welcome: Value::Null,
        };
        client.welcome = client.next().await?;
        Ok(client)
    }

    /// Writes one line (websocket: one text frame).
    pub async fn send(&mut self, line: &str) -> Result<()> {
        self.last_sent = line.chars().take(80).collect();
        match &mut self.transport {
            Transport::Lines { writer, .. } => {
                writer.write_all(format!("{line}\r\n").as_bytes()).await?;
            }
            Transport::Websocket(ws) => ws.send(Message::text(line)).await?,
        }
        Ok(())
    }

    /// Writes raw bytes (websocket: one binary frame).
    pub async fn send_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        match &mut self.transport {
            Transport::Lines { writer, .. } => writer.write_all(bytes).await?,
            Transport::Websocket(ws) => ws.send(Message::binary(bytes.to_vec())).await?,
        }
        Ok(())
    }

    /// The next line from the server, as JSON.
    pub async fn next(&mut self) -> Result<Value> {
        let last = self.last_sent.clone();
        self.read()
            .await
            .with_context(|| format!("after sending {last:?}"))
    }

    async fn read(&mut self) -> Result<Value> {
        match &mut self.transport {
            Transport::Lines { reader, .. } => {
                let mut line = String::new();
                let read = tokio::time::timeout(REPLY_TIMEOUT, reader.read_line(&mut line))
                    .await
                    .context("no line from the server in time")??;
                if read == 0 {
                    bail!("server closed the connection");
                }
                if !line.ends_with("\r\n") {
                    bail!("line without CRLF: {line:?}");
                }
                Ok(serde_json::from_str(line.trim_end())?)
            }
            Transport::Websocket(ws) => next_json(ws).await,
        }
    }

    /// Sends `line` and returns the response to it (`context: response`); pushes that arrive
    /// meanwhile are kept.
    pub async fn request(&mut self, line: &str) -> Result<Value> {
        self.send(line).await?;
        self.response().await
    }

    /// The next response line, keeping pushes.
    pub async fn response(&mut self) -> Result<Value> {
        loop {
            let value = self.next().await?;
            if value["context"] == "response" {
                return Ok(value);
            }
            self.pushes.push(value);
        }
    }

    /// The next pushed line matching `pred` (kept or new).
    pub async fn push(&mut self, pred: impl Fn(&Value) -> bool) -> Result<Value> {
        if let Some(pos) = self.pushes.iter().position(&pred) {
            return Ok(self.pushes.remove(pos));
        }
        loop {
            let value = self.next().await?;
            if pred(&value) {
                return Ok(value);
            }
            self.pushes.push(value);
        }
    }

    /// Whether any frame kept so far (pushes not yet asked for) contains `text`.
    pub fn saw(&self, text: &str) -> bool {
        self.pushes
            .iter()
            .any(|frame| frame.to_string().contains(text))
    }

    /// The next chat line saying `message`.
    pub async fn chat(&mut self, message: &str) -> Result<Value> {
        self.push(|v| v["context"] == "user" && v["message"] == message)
            .await
    }

    /// Whether the server closes the connection (after any lines still in flight).
    pub async fn closed_by_server(&mut self) -> bool {
        loop {
            match self.next().await {
                Ok(value) => self.pushes.push(value),
                Err(e) => return format!("{e:#}").contains("closed the connection"),
            }
        }
    }
}
