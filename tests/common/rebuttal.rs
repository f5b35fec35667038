//! A Rebuttal websocket client: JSON packets with a `type`. Packets that arrive while waiting
//! for another are kept until asked for.

use anyhow::{bail, Context, Result};
use futures::SinkExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::{next_json, Socket, REPLY_TIMEOUT};

/// The bootstrap admin's email in every e2e lattice (`WCC_REBUTTAL_ADMIN_EMAIL`).
pub const ADMIN_EMAIL: &str = "admin@wcc.test";
/// The password every test account uses.
pub const PASSWORD: &str = "correct horse battery";

pub struct Rebuttal {
    ws: Socket,
    kept: Vec<Value>,
    /// The `connect` greeting.
    pub greeting: Value,
    /// Set once logged in.
    pub user: String,
}

impl Rebuttal {
    /// Connects and reads the greeting.
    pub async fn connect(gateway: &str) -> Result<Self> {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{gateway}/rebuttal")).await?;
        let mut client = Self {
            ws,
            kept: Vec::new(),
            greeting: Value::Null,
            user: String::new(),
        };
        client.greeting = next_json(&mut client.ws).await?;
        Ok(client)
    }

    pub async fn send(&mut self, packet: Value) -> Result<()> {
        trace(&self.user, "->", &packet);
        Ok(self.ws.send(Message::text(packet.to_string())).await?)
    }

    pub async fn send_raw(&mut self, message: Message) -> Result<()> {
        Ok(self.ws.send(message).await?)
    }

    /// The next packet (kept ones first).
    pub async fn next(&mut self) -> Result<Value> {
        if !self.kept.is_empty() {
            return Ok(self.kept.remove(0));
        }
        next_json(&mut self.ws).await
    }

    /// The next packet of type `kind` matching `pred`; others are kept.
    pub async fn expect(&mut self, kind: &str, pred: impl Fn(&Value) -> bool) -> Result<Value> {
        let wanted = |p: &Value| p["type"] == kind && pred(p);
        if let Some(pos) = self.kept.iter().position(wanted) {
            return Ok(self.kept.remove(pos));
        }
        // One deadline for the whole wait: other packets may keep arriving meanwhile.
        let deadline = tokio::time::Instant::now() + REPLY_TIMEOUT;
        loop {
            let packet = tokio::time::timeout_at(deadline, next_json(&mut self.ws)).await;
            let packet = match packet {
                Ok(packet) => packet,
                Err(_) => Err(anyhow::anyhow!("no such packet in time")),
            };
            let packet = packet.with_context(|| {
                let kinds: Vec<&Value> = self.kept.iter().map(|p| &p["type"]).collect();
                format!("waiting for {kind}; kept {kinds:?}")
            })?;
            if wanted(&packet) {
                return Ok(packet);
            }
            self.kept.push(packet);
        }
    }

    /// Whether any frame kept so far (pushes not yet asked for) contains `text`.
    pub fn saw(&self, text: &str) -> bool {
        self.kept
            .iter()
            .any(|frame| frame.to_string().contains(text))
    }

    /// The next `error`, whatever it says.
    pub async fn error(&mut self) -> Result<String> {
        let packet = self.expect("error", |_| true).await?;
        Ok(packet["message"].as_str().unwrap_or_default().to_owned())
    }

    /// Sends `packet` and returns the error it earns.
    pub async fn refused(&mut self, packet: Value) -> Result<String> {
        self.send(packet).await?;
        self.error().await
    }

    /// Signs up; on success reads the login and the four lists and returns the user id.
    pub async fn signup(&mut self, name: &str, email: &str, code: &str) -> Result<String> {
        self.send(json!({"type": "signup", "userName": name, "email": email,
            "password": PASSWORD, "signUp": code}))
            .await?;
        self.logged_in().await
    }

    pub async fn login(&mut self, email: &str, password: &str) -> Result<String> {
        self.send(
            json!({"type": "login", "email": email, "password": password,
            "protocol": "v1"}),
        )
        .await?;
        self.logged_in().await
    }

    async fn logged_in(&mut self) -> Result<String> {
        let login = self.next().await?;
        if login["type"] != "login" || login["success"] != true {
            bail!("not logged in: {login}");
        }
        // The four lists come in this order (kept for the test to look at); a change made
        // meanwhile (an `updatePerms` for the group the login just gave, say) may come between
        // them. Read from the socket: the kept packets are older than the login.
        for kind in ["updatePerms", "updateGroups", "updateRooms", "updateUsers"] {
            loop {
                let packet = next_json(&mut self.ws)
                    .await
                    .with_context(|| format!("waiting for {kind} after login"))?;
                let found = packet["type"] == kind;
                if packet["type"] == "error" {
                    bail!("an error while logging in: {packet}");
                }
                self.kept.push(packet);
                if found {
                    break;
                }
            }
        }
        self.user = login["userid"].as_str().context("no userid")?.to_owned();
        Ok(self.user.clone())
    }

    /// Closes the connection from the client's side.
    pub async fn close(mut self) -> Result<()> {
        self.ws.close(None).await?;
        Ok(())
    }

    /// Forgets every packet kept so far (the lists sent at login, say).
    pub fn forget(&mut self) {
        self.kept.clear();
    }

    /// The close code the server ends the connection with (packets before it are kept).
    pub async fn closed_with(&mut self) -> Result<u16> {
        let kept = &mut self.kept;
        super::closed_with(&mut self.ws, |packet| kept.push(packet)).await
    }

    /// Sends `packet`, then a `getmessages` for `room`, and returns the `updateText` that
    /// answers it: proof `packet` was read without an answer of its own (errors are kept).
    pub async fn then_segment(&mut self, packet: Value, room: &str) -> Result<Value> {
        self.send(packet).await?;
        self.segment(room, None).await
    }

    /// `getmessages` and its `updateText`.
    pub async fn segment(&mut self, room: &str, segment: Option<u64>) -> Result<Value> {
        self.send(json!({"type": "getmessages", "roomid": room, "segment": segment}))
            .await?;
        self.expect("updateText", |p| p["roomid"] == room).await
    }

    /// Whether any kept packet is of type `kind`.
    pub fn kept(&self, kind: &str) -> bool {
        self.kept.iter().any(|p| p["type"] == kind)
    }

    /// Every kept packet of type `kind`.
    pub fn kept_of(&self, kind: &str) -> Vec<Value> {
        self.kept
            .iter()
            .filter(|p| p["type"] == kind)
            .cloned()
            .collect()
    }
}

/// With `WCC_E2E_TRACE` set, every packet a test client sends is printed (with the time, to
/// line up with the lattice logs of `WCC_E2E_LOGS`).
fn trace(user: &str, direction: &str, packet: &Value) {
    if std::env::var_os("WCC_E2E_TRACE").is_some() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let mut text = packet.to_string();
        text.truncate(200);
        eprintln!(
            "{}.{:03} rebuttal {} {direction} {text}",
            now.as_secs() % 86400,
            now.subsec_millis(),
            if user.is_empty() { "-" } else { user }
        );
    }
}
