//! A Cadmium client: `{id, type, to, authToken, payload}` requests, pushes buffered until asked.

use anyhow::{bail, Result};
use futures::SinkExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::{next_json, Socket};

pub const REGISTER: &str = "urn:cadmium:profile:register";
pub const LOGIN: &str = "urn:cadmium:profile:login";
pub const MESSAGE: &str = "urn:cadmium:chats:private:message";
pub const READ: &str = "urn:cadmium:chats:private:read";
pub const TYPING: &str = "urn:cadmium:chats:private:typing";
pub const BAN: &str = "urn:cadmium:chats:private:ban";
pub const UNBAN: &str = "urn:cadmium:chats:private:unban";
pub const GENERAL: &str = "urn:cadmium:chats:message-types:general";
pub const AUDIO: &str = "urn:cadmium:chats:message-types:audio";
pub const GEOLOCATION: &str = "urn:cadmium:chats:message-types:geolocation";

pub struct Cadmium {
    ws: Socket,
    next_id: u64,
    pushes: Vec<Value>,
    /// Sent with every request once set.
    pub token: Option<String>,
}

impl Cadmium {
    pub async fn connect(addr: &str) -> Result<Self> {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/cadmium")).await?;
        Ok(Self {
            ws,
            next_id: 1,
            pushes: Vec::new(),
            token: None,
        })
    }

    pub async fn send_raw(&mut self, message: Message) -> Result<()> {
        Ok(self.ws.send(message).await?)
    }

    pub async fn recv(&mut self) -> Result<Value> {
        next_json(&mut self.ws).await
    }

    /// The close code the server ends the connection with (pushes before it are kept).
    pub async fn closed_with(&mut self) -> Result<u16> {
        let pushes = &mut self.pushes;
        super::closed_with(&mut self.ws, |push| pushes.push(push)).await
    }

    /// Whether any frame kept so far (pushes not yet asked for) contains `text`.
    pub fn saw(&self, text: &str) -> bool {
        self.pushes
            .iter()
            .any(|frame| frame.to_string().contains(text))
    }

    /// Sends a request (with the token, if any) and returns the reply echoing its id.
    pub async fn request(&mut self, kind: &str, to: &[&str], payload: Value) -> Result<Value> {
        let id = format!("q{}", self.next_id);
        self.next_id += 1;
        let mut request = json!({"id": id, "type": kind, "to": to, "payload": payload});
        if let Some(token) = &self.token {
            request["authToken"] = json!(token);
        }
        self.send_raw(Message::text(request.to_string())).await?;
        self.reply_to(&id).await
    }

    /// The reply with id `id`: a frame from the server (not a user) carrying it.
    pub async fn reply_to(&mut self, id: &str) -> Result<Value> {
        loop {
            let frame = self.recv().await?;
            if frame["id"] == id && !frame["from"].as_str().unwrap_or("@").starts_with('@') {
                return Ok(frame);
            }
            self.pushes.push(frame);
        }
    }

    /// The next push of `kind` matching `pred` (buffered or new).
    pub async fn push(&mut self, kind: &str, pred: impl Fn(&Value) -> bool) -> Result<Value> {
        let wanted = |f: &Value| f["type"] == kind && pred(f);
        if let Some(pos) = self.pushes.iter().position(wanted) {
            return Ok(self.pushes.remove(pos));
        }
        loop {
            let frame = self.recv().await?;
            if wanted(&frame) {
                return Ok(frame);
            }
            self.pushes.push(frame);
        }
    }

    /// Registers `name` with loginOnSuccess and keeps the token.
    pub async fn register(&mut self, name: &str, password: &str) -> Result<Value> {
        let payload = json!({"username": name, "password": password, "loginOnSuccess": true});
        let reply = self.request(REGISTER, &[], payload).await?;
        if reply["ok"] != true {
            bail!("registration of {name} failed: {reply}");
        }
        self.token = reply["payload"]["authToken"].as_str().map(str::to_owned);
        Ok(reply)
    }

    pub async fn login(&mut self, name: &str, password: &str) -> Result<Value> {
        let payload = json!({"username": name, "password": password});
        let reply = self.request(LOGIN, &[], payload).await?;
        if reply["ok"] == true {
            self.token = reply["payload"]["authToken"].as_str().map(str::to_owned);
        }
        Ok(reply)
    }

    /// Sends a general text message; returns the reply.
    pub async fn say(&mut self, to: &str, text: &str) -> Result<Value> {
        let payload = json!({"type": GENERAL, "content": {"text": text}});
        self.request(MESSAGE, &[to], payload).await
    }
}
