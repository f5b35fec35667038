//! Shared helpers for the end-to-end tests: a real local lattice with wcc deployed, a venueless
//! websocket client, the admin HTTP API and a plain NATS observer.

#![allow(dead_code)] // each test binary uses a different subset

pub mod actionhero;
pub mod browser;
pub mod cadmium;
pub mod rebuttal;

use std::{collections::HashMap, path::PathBuf, time::Duration};

use anyhow::{bail, Context, Result};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::{tungstenite::Message, MaybeTlsStream, WebSocketStream};
use wcc_lattice::{
    local::{free_port, LocalLattice, LocalOptions},
    secrets,
};

/// The admin API's token, chosen by the tests and passed as `WCC_ADMIN_TOKEN` (the manifest
/// carries only its SHA-256). The subscription key is not passed: `LocalLattice` generates it
/// into the test's state folder (`secrets/subscription-key`), as `wcc-lattice up` does.
pub const ADMIN_TOKEN: &str = "e2e-admin-token";
/// Generous: a cold host compiles every component on first placement.
pub const DEPLOY_TIMEOUT: Duration = Duration::from_secs(240);
/// Runs `scenario` once on a fresh wcc and returns that wcc (for a test that wants to stop it).
///
/// Nothing is tried again: a lost call, a hang or a slow deploy is a bug to fix at its cause. On
/// failure the lattice's logs are kept, and the error says whether a call lost its reply.
pub async fn run_once<F>(scenario: F) -> Result<Wcc>
where
    F: for<'a> FnOnce(&'a Wcc) -> futures::future::BoxFuture<'a, Result<()>>,
{
    let wcc = Wcc::start().await?;
    match scenario(&wcc).await {
        Ok(()) => Ok(wcc),
        Err(e) => {
            let lost = wcc.logs_contain(LOST_REPLY)? || wcc.logs_contain(HOST_CALL_TIMEOUT)?;
            let kept = wcc.keep_logs()?;
            bail!(
                "{e:#}\n(a call lost its reply: {lost}; logs kept in {})",
                kept.display()
            )
        }
    }
}

/// What the gateway logs when a call into a channel actor got no answer in time.
pub const LOST_REPLY: &str = "channel actor call failed: no answer within";
/// What the host logs when a component call (e.g. an admin HTTP request) never finished: it
/// caps each at 15 s, so admin requests wait longer than that (see `admin_request`).
pub const HOST_CALL_TIMEOUT: &str = "component invocation timed out";
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(15);

fn env_path(name: &str) -> PathBuf {
    PathBuf::from(
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set: run the end-to-end tests with `make test`")
        }),
    )
}

/// The lattice every test's wcc runs in (each on its own nats-server).
pub const LATTICE: &str = "e2e";

/// wcc running on a fresh local lattice, on free ports, with its own state folder.
pub struct Wcc {
    pub lattice: LocalLattice,
    pub gateway: String,
    pub admin: String,
    /// The actionhero channel's TCP line listener.
    pub lines: String,
    pub state: tempfile::TempDir,
}

impl Wcc {
    pub async fn start() -> Result<Self> {
        Self::start_hosts(1).await
    }

    /// wcc on a lattice of `hosts` hosts; their gateways share the addresses (SO_REUSEPORT).
    pub async fn start_hosts(hosts: usize) -> Result<Self> {
        let state = tempfile::tempdir()?;
        let gateway = format!("127.0.0.1:{}", free_port()?);
        let admin = format!("127.0.0.1:{}", free_port()?);
        let lines = format!("127.0.0.1:{}", free_port()?);
        let vars = HashMap::from([
            (
                "WCC_ARTIFACTS".to_string(),
                env_path("WCC_ARTIFACTS").to_string_lossy().into_owned(),
            ),
            ("WCC_GATEWAY_ADDR".to_string(), gateway.clone()),
            ("WCC_ADMIN_ADDR".to_string(), admin.clone()),
            (secrets::ADMIN_TOKEN.to_string(), ADMIN_TOKEN.to_string()),
            ("WCC_ACTIONHERO_LINE_ADDR".to_string(), lines.clone()),
            (
                "WCC_REBUTTAL_ADMIN_EMAIL".to_string(),
                rebuttal::ADMIN_EMAIL.to_string(),
            ),
        ]);
        let options = LocalOptions {
            state_dir: state.path().to_path_buf(),
            nats_server: env_path("NATS_SERVER"),
            launcher: env_path("WCC_LATTICE_BIN"),
            manifest: env_path("WCC_MANIFEST"),
            vars,
            nats_port: 0,
            nats_host: "127.0.0.1".into(),
            lattice: LATTICE.into(),
            inherit_output: std::env::var_os("WCC_E2E_LOGS").is_some(),
        };
        let mut lattice = LocalLattice::start(options).await?;
        for _ in 1..hosts {
            lattice.add_host().await?;
        }
        let wcc = async {
            lattice.deploy(DEPLOY_TIMEOUT).await?;
            Ok::<_, anyhow::Error>(())
        }
        .await;
        if let Err(e) = wcc {
            let logs = state.path().join("logs");
            let _ = std::mem::ManuallyDrop::new(state); // keep the logs for whoever reads this
            bail!("deploy failed ({e:#}); logs in {}", logs.display());
        }
        let wcc = Self {
            lattice,
            gateway,
            admin,
            lines,
            state,
        };
        wcc.wait_ready().await?;
        Ok(wcc)
    }

    /// Waits until the gateway serves /venueless, the Cadmium actor answers a frame, the
    /// actionhero line listener greets, and the admin API answers. wadm reports "deployed" before every host has a component's wRPC
    /// server listening; a call made in that gap waits out the gateway's call timeout.
    ///
    /// Ready means several rounds in a row: right after deploy the host is still busy (links
    /// re-put, first instantiations), and a call made then is the likeliest to lose its reply.
    pub async fn wait_ready(&self) -> Result<()> {
        const ROUNDS: u32 = 5;
        let deadline = tokio::time::Instant::now() + DEPLOY_TIMEOUT;
        let mut ready_rounds = 0;
        loop {
            let venueless = Venueless::connect(&self.gateway).await.is_ok();
            let cadmium = self.cadmium_answers().await;
            let actionhero = self.actionhero_greets().await;
            let rebuttal = self.rebuttal_greets().await;
            let admin = self
                .admin_request("GET", "/health", None, true)
                .map(|(s, _)| s == 200)
                .unwrap_or(false);
            ready_rounds = if venueless && cadmium && actionhero && rebuttal && admin {
                ready_rounds + 1
            } else {
                0
            };
            if ready_rounds == ROUNDS {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                let kept = self.keep_logs()?;
                bail!(
                    "wcc not ready (venueless {venueless}, Cadmium {cadmium}, actionhero lines \
                     {actionhero}, Rebuttal {rebuttal}, admin {admin}); logs kept in {}; the \
                     gateway's routes and the last warnings:\n{}",
                    kept.display(),
                    self.log_digest()?
                );
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Whether a Cadmium connection gets its answer to a (malformed) frame within 3 s.
    async fn cadmium_answers(&self) -> bool {
        let probe = async {
            let mut client = self.cadmium().await?;
            client.send_raw(Message::text("{}")).await?;
            client.recv().await
        };
        matches!(
            tokio::time::timeout(Duration::from_secs(3), probe).await,
            Ok(Ok(reply)) if reply["ok"] == false
        )
    }

    /// Whether a line connection is greeted within 3 s (the listener is bound when the link
    /// arrives; the greeting proves the actor's wRPC server answers too).
    async fn actionhero_greets(&self) -> bool {
        let probe = actionhero::Actionhero::lines(&self.lines);
        matches!(
            tokio::time::timeout(Duration::from_secs(3), probe).await,
            Ok(Ok(client)) if client.welcome["context"] == "api"
        )
    }

    /// Whether a Rebuttal connection is greeted within 3 s.
    async fn rebuttal_greets(&self) -> bool {
        let probe = rebuttal::Rebuttal::connect(&self.gateway);
        matches!(
            tokio::time::timeout(Duration::from_secs(3), probe).await,
            Ok(Ok(client)) if client.greeting["type"] == "connect"
        )
    }

    /// Copies the lattice logs to a folder that outlives the test (the state folder does not).
    pub fn keep_logs(&self) -> Result<PathBuf> {
        let kept = tempfile::Builder::new()
            .prefix("wcc-e2e-logs-")
            .tempdir()?
            .keep();
        for entry in std::fs::read_dir(self.state.path().join("logs"))? {
            let entry = entry?;
            std::fs::copy(entry.path(), kept.join(entry.file_name()))?;
        }
        Ok(kept)
    }

    /// What a failed readiness wait needs to be understood where only its message is kept
    /// (CI): the channels the gateway serves and the last warnings and errors of every log.
    fn log_digest(&self) -> Result<String> {
        let mut digest = String::new();
        for entry in std::fs::read_dir(self.state.path().join("logs"))? {
            let bytes = std::fs::read(entry?.path())?;
            let text = String::from_utf8_lossy(&bytes);
            let routes = text.lines().filter(|line| {
                line.contains("serving channel") || line.contains("never delivered")
            });
            let warnings: Vec<&str> = text
                .lines()
                .filter(|line| line.contains("WARN") || line.contains("ERROR"))
                .collect();
            for line in routes.chain(
                warnings[warnings.len().saturating_sub(12)..]
                    .iter()
                    .copied(),
            ) {
                digest.push_str(line);
                digest.push('\n');
            }
        }
        Ok(digest)
    }

    /// Whether any lattice log (nats-server, hosts, wadm and the providers they run) has `text`.
    /// With `WCC_E2E_LOGS` set the logs go to the terminal instead and this is always false.
    pub fn logs_contain(&self, text: &str) -> Result<bool> {
        for entry in std::fs::read_dir(self.state.path().join("logs"))? {
            let bytes = std::fs::read(entry?.path())?;
            if String::from_utf8_lossy(&bytes).contains(text) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// One admin API call: (status, JSON body or Null).
    pub fn admin_request(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        auth: bool,
    ) -> Result<(u16, Value)> {
        let agent = ureq::AgentBuilder::new()
            // Past the host's 15 s cap on a component call, so a call it cuts off is logged.
            .timeout(Duration::from_secs(20))
            .build();
        let mut request = agent.request(method, &format!("http://{}{path}", self.admin));
        if auth {
            request = request.set("Authorization", &format!("Bearer {ADMIN_TOKEN}"));
        }
        let result = match body {
            Some(body) => request
                .set("Content-Type", "application/json")
                .send_string(&body.to_string()),
            None => request.call(),
        };
        let response = match result {
            Ok(response) => response,
            Err(ureq::Error::Status(_, response)) => response,
            Err(e) => return Err(anyhow::Error::new(e)),
        };
        let status = response.status();
        let text = response.into_string()?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    pub async fn admin(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value)> {
        let (method, path) = (method.to_string(), path.to_string());
        let this: &Self = self;
        // ureq blocks; the calls are few and short.
        tokio::task::block_in_place(|| this.admin_request(&method, &path, body, true))
    }

    pub async fn create_room(&self, id: &str) -> Result<()> {
        let (status, body) = self
            .admin("POST", "/rooms", Some(json!({"id": id, "name": id})))
            .await?;
        if status != 201 && status != 200 {
            bail!("room {id} not created: {status} {body}");
        }
        Ok(())
    }

    pub async fn venueless(&self) -> Result<Venueless> {
        Venueless::connect(&self.gateway).await
    }

    pub async fn cadmium(&self) -> Result<cadmium::Cadmium> {
        cadmium::Cadmium::connect(&self.gateway).await
    }

    pub async fn actionhero_lines(&self) -> Result<actionhero::Actionhero> {
        actionhero::Actionhero::lines(&self.lines).await
    }

    pub async fn actionhero_websocket(&self) -> Result<actionhero::Actionhero> {
        actionhero::Actionhero::websocket(&self.gateway).await
    }

    pub async fn rebuttal(&self) -> Result<rebuttal::Rebuttal> {
        rebuttal::Rebuttal::connect(&self.gateway).await
    }

    pub async fn nats(&self) -> Result<async_nats::Client> {
        Ok(async_nats::connect(self.lattice.nats_url()).await?)
    }
}

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The next text frame from the server as JSON; a close, or silence for `REPLY_TIMEOUT`, fails.
pub async fn next_json(ws: &mut Socket) -> Result<Value> {
    loop {
        let message = tokio::time::timeout(REPLY_TIMEOUT, ws.next())
            .await
            .context("no frame from the server in time")?
            .context("connection closed")??;
        match message {
            Message::Text(text) => return Ok(serde_json::from_str(text.as_str())?),
            Message::Close(frame) => bail!("server closed the connection: {frame:?}"),
            _ => continue,
        }
    }
}

/// The close code the server ends the connection with; each text frame before it goes to
/// `keep` as JSON.
pub async fn closed_with(ws: &mut Socket, mut keep: impl FnMut(Value)) -> Result<u16> {
    loop {
        let frame = tokio::time::timeout(REPLY_TIMEOUT, ws.next())
            .await
            .context("the server did not close the connection")?;
        match frame {
            Some(Ok(Message::Close(Some(close)))) => return Ok(close.code.into()),
            Some(Ok(Message::Close(None))) | None => return Ok(1005),
            Some(Ok(Message::Text(text))) => keep(serde_json::from_str(&text)?),
            Some(Ok(_)) => {}
            Some(Err(e)) => bail!("connection failed before a close frame: {e}"),
        }
    }
}

/// A venueless client: `[action, id, payload]` requests, pushes buffered until asked for.
pub struct Venueless {
    ws: Socket,
    pub next_id: u64,
    pushes: Vec<Value>,
}

impl Venueless {
    pub async fn connect(addr: &str) -> Result<Self> {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/venueless")).await?;
        Ok(Self {
            ws,
            next_id: 1,
            pushes: Vec::new(),
        })
    }

    pub async fn send_raw(&mut self, message: Message) -> Result<()> {
        Ok(self.ws.send(message).await?)
    }

    /// The next frame from the server as JSON.
    pub async fn recv(&mut self) -> Result<Value> {
        next_json(&mut self.ws).await
    }

    /// Whether any frame kept so far (pushes not yet asked for) contains `text`.
    pub fn saw(&self, text: &str) -> bool {
        self.pushes
            .iter()
            .any(|frame| frame.to_string().contains(text))
    }

    /// Sends `[action, id, payload]` and returns the reply with that id (`success`/`error`).
    pub async fn request(&mut self, action: &str, payload: Value) -> Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        self.send_raw(Message::text(json!([action, id, payload]).to_string()))
            .await?;
        self.reply_to(id).await
    }

    /// Waits for the reply carrying correlation id `id`, keeping pushes for later.
    pub async fn reply_to(&mut self, id: u64) -> Result<Value> {
        loop {
            let frame = self.recv().await?;
            if frame.get(1).and_then(Value::as_u64) == Some(id)
                && frame.as_array().is_some_and(|a| a.len() == 3)
            {
                return Ok(frame);
            }
            self.pushes.push(frame);
        }
    }

    /// The next push named `name` (buffered or new).
    pub async fn push(&mut self, name: &str) -> Result<Value> {
        if let Some(pos) = self.pushes.iter().position(|p| p[0] == name) {
            return Ok(self.pushes.remove(pos));
        }
        loop {
            let frame = self.recv().await?;
            if frame[0] == name {
                return Ok(frame);
            }
            self.pushes.push(frame);
        }
    }

    /// The next `chat.event` push matching `pred`.
    pub async fn chat_event(&mut self, pred: impl Fn(&Value) -> bool) -> Result<Value> {
        if let Some(pos) = self
            .pushes
            .iter()
            .position(|p| p[0] == "chat.event" && pred(&p[1]))
        {
            return Ok(self.pushes.remove(pos)[1].clone());
        }
        loop {
            let frame = self.recv().await?;
            if frame[0] == "chat.event" && pred(&frame[1]) {
                return Ok(frame[1].clone());
            }
            self.pushes.push(frame);
        }
    }

    /// authenticate + user.update with a display name; returns the user id.
    pub async fn login(&mut self, client_id: &str, name: Option<&str>) -> Result<String> {
        self.send_raw(Message::text(
            json!(["authenticate", {"client_id": client_id}]).to_string(),
        ))
        .await?;
        let authenticated = self.push("authenticated").await?;
        let user = authenticated[1]["user"]["id"]
            .as_str()
            .context("no user id")?
            .to_string();
        if let Some(name) = name {
            let reply = self
                .request("user.update", json!({"profile": {"display_name": name}}))
                .await?;
            assert_eq!(reply[0], "success", "{reply}");
        }
        Ok(user)
    }

    pub async fn close(mut self) -> Result<()> {
        self.ws.close(None).await?;
        Ok(())
    }
}

/// Collects every event published under `wcc.events` and `wcc.events.>` (what any NATS client
/// sees), in arrival order.
pub struct Observer {
    sub: async_nats::Subscriber,
    pub seen: Vec<Value>,
}

impl Observer {
    pub async fn start(nats: &async_nats::Client) -> Result<Self> {
        // `wcc.events.>` does not match `wcc.events` itself; `>` on the prefix level does both.
        let sub = nats.subscribe("wcc.>").await?;
        nats.flush().await?;
        Ok(Self {
            sub,
            seen: Vec::new(),
        })
    }

    /// Waits until an event with `type == kind` satisfying `pred` has been seen.
    pub async fn wait_for(&mut self, kind: &str, pred: impl Fn(&Value) -> bool) -> Result<Value> {
        if let Some(found) = self.seen.iter().find(|e| e["type"] == kind && pred(e)) {
            return Ok(found.clone());
        }
        let deadline = tokio::time::Instant::now() + REPLY_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let msg = tokio::time::timeout(left, self.sub.next())
                .await
                .with_context(|| {
                    format!(
                        "no {kind} event on NATS; saw {:?}",
                        self.seen
                            .iter()
                            .map(|e| e["type"].clone())
                            .collect::<Vec<_>>()
                    )
                })?
                .context("subscription ended")?;
            let Ok(mut event) = serde_json::from_slice::<Value>(&msg.payload) else {
                continue;
            };
            event["subject"] = json!(msg.subject.to_string());
            self.seen.push(event.clone());
            if event["type"] == kind && pred(&event) {
                return Ok(event);
            }
        }
    }
}
