//! The soak's clients: the fixed identities made once in the warm-up, and one cycle (connect,
//! sign in, join, say and wait for the acknowledgement, leave, disconnect) for every protocol
//! and transport. The frames are the end-to-end tests' (tests/common/*.rs).
//!
//! Every identity connects from its own loopback address (127.1.<10 + protocol>.<1 + index>),
//! as a population of real clients would: the core throttles sign-in and registration per
//! address (20 registrations from one address, then waits), and that is for attackers, not for
//! this load.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::Duration,
};

use anyhow::{bail, Context, Result};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{
        tcp::{OwnedReadHalf, OwnedWriteHalf},
        TcpSocket,
    },
};
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, Ws, ANSWER_TIMEOUT};

/// Where one cycle's time went: each step's share, in the order the steps ran. A soak whose
/// pace is set by one protocol shows which step of it holds the time.
pub struct Steps {
    last: tokio::time::Instant,
    pub took: Vec<(&'static str, Duration)>,
}

impl Steps {
    pub fn start() -> Self {
        Self {
            last: tokio::time::Instant::now(),
            took: Vec::with_capacity(6),
        }
    }

    /// Ends the step named `step`: its share is the time since the previous mark.
    fn mark(&mut self, step: &'static str) {
        let now = tokio::time::Instant::now();
        self.took.push((step, now - self.last));
        self.last = now;
    }
}

/// Every account's password (Rebuttal wants at least 8 characters).
const PASSWORD: &str = "soak password 1234";
/// Whoever signs up to Rebuttal with this email is its admin (`WCC_REBUTTAL_ADMIN_EMAIL`).
pub const REBUTTAL_ADMIN: &str = "soak-admin@wcc.test";
/// The Rebuttal group the soak's users are invited to, with the permissions a cycle needs.
const GROUP: &str = "soak";
const CADMIUM_REGISTER: &str = "urn:cadmium:profile:register";
const CADMIUM_LOGIN: &str = "urn:cadmium:profile:login";
const CADMIUM_MESSAGE: &str = "urn:cadmium:chats:private:message";
const CADMIUM_GENERAL: &str = "urn:cadmium:chats:message-types:general";
/// Most identities per protocol: one loopback address each, plus one for the Rebuttal admin.
pub const MAX_USERS: usize = 249;

/// One of the mix: a protocol on a transport, signed in or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Venueless,
    Cadmium,
    ActionheroLines,
    ActionheroLinesAnonymous,
    ActionheroWebsocket,
    ActionheroWebsocketAnonymous,
    Rebuttal,
}

impl Kind {
    #[cfg(test)]
    pub const ALL: [Kind; 7] = [
        Kind::Venueless,
        Kind::Cadmium,
        Kind::ActionheroLines,
        Kind::ActionheroLinesAnonymous,
        Kind::ActionheroWebsocket,
        Kind::ActionheroWebsocketAnonymous,
        Kind::Rebuttal,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Venueless => "venueless",
            Kind::Cadmium => "cadmium",
            Kind::ActionheroLines => "ah-lines",
            Kind::ActionheroLinesAnonymous => "ah-lines-anon",
            Kind::ActionheroWebsocket => "ah-ws",
            Kind::ActionheroWebsocketAnonymous => "ah-ws-anon",
            Kind::Rebuttal => "rebuttal",
        }
    }
}

/// What cycle `n` does: round-robin over the five transports (venueless, Cadmium, actionhero
/// lines, actionhero websocket, Rebuttal); each round takes the next user of every pool. The
/// actionhero transports are signed in and anonymous in turn, one pass over the users each,
/// the two transports out of phase. `pass` counts the passes over the users.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    pub kind: Kind,
    pub user: usize,
    /// The text room (index into the rooms).
    pub room: usize,
    /// Close with a close frame (`quit` for actionhero) or drop the connection.
    pub graceful: bool,
}

impl Plan {
    pub fn of(n: u64, users: usize, rooms: usize) -> Plan {
        let slot = (n % 5) as usize;
        let round = (n / 5) as usize;
        let user = round % users;
        let pass = round / users;
        let kind = match slot {
            0 => Kind::Venueless,
            1 => Kind::Cadmium,
            2 if pass.is_multiple_of(2) => Kind::ActionheroLines,
            2 => Kind::ActionheroLinesAnonymous,
            3 if pass % 2 == 1 => Kind::ActionheroWebsocket,
            3 => Kind::ActionheroWebsocketAnonymous,
            _ => Kind::Rebuttal,
        };
        Plan {
            kind,
            user,
            room: (round + pass + slot) % rooms,
            graceful: (round + slot).is_multiple_of(2),
        }
    }
}

/// The identities and rooms every cycle draws from.
pub struct Cast {
    pub gateway: SocketAddr,
    pub lines: SocketAddr,
    pub text_rooms: Vec<String>,
    pub voice_room: String,
    pub users: usize,
    /// Each Cadmium user's token (signs a new connection in).
    cadmium_tokens: Vec<String>,
}

fn source(protocol: u8, index: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(
        127,
        1,
        10 + protocol,
        1 + (index % (MAX_USERS + 1)) as u8,
    ))
}

const VENUELESS: u8 = 0;
const CADMIUM: u8 = 1;
const ACTIONHERO: u8 = 2;
const REBUTTAL: u8 = 3;
const ANONYMOUS: u8 = 4;

fn venueless_id(i: usize) -> String {
    format!("soak-vl-{i}")
}
fn cadmium_name(i: usize) -> String {
    format!("soak-cd-{i}")
}
fn actionhero_login(i: usize) -> String {
    format!("soak-ah-{i}")
}
fn rebuttal_email(i: usize) -> String {
    format!("soak-rb-{i}@wcc.test")
}

impl Cast {
    /// The warm-up: every identity of every pool made (or found) once.
    pub async fn warm_up(
        gateway: SocketAddr,
        lines: SocketAddr,
        text_rooms: Vec<String>,
        voice_room: String,
        users: usize,
    ) -> Result<Cast> {
        let (cadmium_tokens, (), (), ()) = tokio::try_join!(
            async {
                let mut tokens = Vec::with_capacity(users);
                for i in 0..users {
                    let token = patiently(|| cadmium_account(gateway, i))
                        .await
                        .with_context(|| format!("Cadmium user {i}"))?;
                    tokens.push(token);
                }
                Ok::<_, anyhow::Error>(tokens)
            },
            async {
                for i in 0..users {
                    patiently(|| venueless_user(gateway, i))
                        .await
                        .with_context(|| format!("venueless user {i}"))?;
                }
                Ok(())
            },
            async {
                for i in 0..users {
                    patiently(|| actionhero_account(lines, i))
                        .await
                        .with_context(|| format!("actionhero user {i}"))?;
                }
                Ok(())
            },
            rebuttal_accounts(gateway, users),
        )?;
        Ok(Cast {
            gateway,
            lines,
            text_rooms,
            voice_room,
            users,
            cadmium_tokens,
        })
    }

    /// One cycle. The error's outermost context names the step that failed.
    pub async fn cycle(&self, n: u64, plan: Plan, t: &mut Steps) -> Result<()> {
        let room = &self.text_rooms[plan.room];
        let text = format!("soak {n}");
        match plan.kind {
            Kind::Venueless => self.venueless(plan, room, &text, t).await,
            Kind::Cadmium => self.cadmium(plan, &text, t).await,
            Kind::ActionheroLines | Kind::ActionheroLinesAnonymous => {
                let source = self.actionhero_source(plan, n);
                let conn = Actionhero::lines(self.lines, source)
                    .await
                    .context("connect")?;
                t.mark("connect");
                self.actionhero(conn, plan, room, &text, t).await
            }
            Kind::ActionheroWebsocket | Kind::ActionheroWebsocketAnonymous => {
                let source = self.actionhero_source(plan, n);
                let conn = Actionhero::websocket(self.gateway, source)
                    .await
                    .context("connect")?;
                t.mark("connect");
                self.actionhero(conn, plan, room, &text, t).await
            }
            Kind::Rebuttal => self.rebuttal(plan, &text, t).await,
        }
    }

    fn actionhero_source(&self, plan: Plan, n: u64) -> IpAddr {
        match plan.kind {
            Kind::ActionheroLinesAnonymous | Kind::ActionheroWebsocketAnonymous => {
                source(ANONYMOUS, n as usize / 5)
            }
            _ => source(ACTIONHERO, plan.user),
        }
    }

    async fn venueless(&self, plan: Plan, room: &str, text: &str, t: &mut Steps) -> Result<()> {
        let mut ws = client::connect_to(
            self.gateway,
            Some(source(VENUELESS, plan.user)),
            "venueless",
        )
        .await
        .context("connect")?;
        t.mark("connect");
        client::authenticate(&mut ws, &venueless_id(plan.user))
            .await
            .context("sign in")?;
        t.mark("sign in");
        client::request(&mut ws, 1, "chat.join", json!({"channel": room}))
            .await
            .context("join")?;
        t.mark("join");
        let say = json!({"channel": room, "event_type": "channel.message",
                         "content": {"type": "text", "body": text}});
        client::request(&mut ws, 2, "chat.send", say)
            .await
            .context("say")?;
        t.mark("say");
        client::request(&mut ws, 3, "chat.leave", json!({"channel": room}))
            .await
            .context("leave")?;
        t.mark("leave");
        disconnect(ws, plan.graceful).await;
        t.mark("disconnect");
        Ok(())
    }

    /// Cadmium has private chats only: no room to join or leave. The token from the warm-up
    /// signs the new connection in with its first request, a private message to the next user
    /// (their direct room, one per pair, made by the first message).
    async fn cadmium(&self, plan: Plan, text: &str, t: &mut Steps) -> Result<()> {
        let mut ws = client::connect_to(self.gateway, Some(source(CADMIUM, plan.user)), "cadmium")
            .await
            .context("connect")?;
        t.mark("connect");
        let peer = format!("@{}@wcc.local", cadmium_name((plan.user + 1) % self.users));
        let payload = json!({"type": CADMIUM_GENERAL, "content": {"text": text}});
        let reply = cadmium_request(
            &mut ws,
            "m1",
            CADMIUM_MESSAGE,
            &[&peer],
            Some(&self.cadmium_tokens[plan.user]),
            payload,
        )
        .await
        .context("sign in + say")?;
        if reply["ok"] != true {
            bail!("say refused: {reply}");
        }
        t.mark("sign in + say");
        disconnect(ws, plan.graceful).await;
        t.mark("disconnect");
        Ok(())
    }

    async fn actionhero(
        &self,
        mut conn: Actionhero,
        plan: Plan,
        room: &str,
        text: &str,
        t: &mut Steps,
    ) -> Result<()> {
        if matches!(plan.kind, Kind::ActionheroLines | Kind::ActionheroWebsocket) {
            let login = json!({"action": "login", "params":
                {"login": actionhero_login(plan.user), "password": PASSWORD}});
            let reply = conn.request(&login.to_string()).await.context("sign in")?;
            if reply["authenticated"] != true {
                bail!("sign in refused: {reply}");
            }
            t.mark("sign in");
        }
        conn.request(&format!("roomChange {room}"))
            .await
            .context("join")?;
        t.mark("join");
        conn.request(&format!("say {text}")).await.context("say")?;
        t.mark("say");
        conn.request("roomLeave").await.context("leave")?;
        t.mark("leave");
        if plan.graceful {
            conn.quit().await.context("quit")?;
        }
        t.mark("disconnect");
        Ok(())
    }

    /// Rebuttal's text rooms are joined by writing to them and have no leave; its voice rooms
    /// are joined and left. So: sign in, join the voice room, say in the user's own text room
    /// (one per user, so its memberships are made once, in the first pass), leave the voice
    /// room.
    async fn rebuttal(&self, plan: Plan, text: &str, t: &mut Steps) -> Result<()> {
        let mut rb = Rebuttal::connect(self.gateway, source(REBUTTAL, plan.user))
            .await
            .context("connect")?;
        t.mark("connect");
        let me = rb
            .login(&rebuttal_email(plan.user))
            .await
            .context("sign in")?;
        t.mark("sign in");
        let voice = self.voice_room.as_str();
        rb.send(json!({"type": "joinroom", "roomid": voice}))
            .await?;
        rb.expect(|p| p["type"] == "joinRoom" && p["userid"] == me && p["roomid"] == voice)
            .await
            .context("join")?;
        t.mark("join");
        let room = &self.text_rooms[plan.user % self.text_rooms.len()];
        rb.send(json!({"type": "message", "roomid": room, "message": {"text": text}}))
            .await?;
        rb.expect(|p| {
            p["type"] == "sendMessage"
                && p["roomid"] == room.as_str()
                && p["message"]["text"] == text
        })
        .await
        .context("say")?;
        t.mark("say");
        rb.send(json!({"type": "leaveroom", "roomid": voice}))
            .await?;
        rb.expect(|p| p["type"] == "leaveRoom" && p["userid"] == me && p["roomid"] == voice)
            .await
            .context("leave")?;
        t.mark("leave");
        disconnect(rb.ws, plan.graceful).await;
        t.mark("disconnect");
        Ok(())
    }
}

/// A close frame (and the server's answer), or the socket simply dropped.
async fn disconnect(mut ws: Ws, graceful: bool) {
    if graceful {
        let _ = ws.close(None).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(Ok(_)) = ws.next().await {}
        })
        .await;
    }
}

/// Warm-up steps run right after `up` reports wcc up, when an actor may not answer yet: a few
/// tries, as the end-to-end tests wait for readiness.
async fn patiently<T, F, Fut>(step: F) -> Result<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut attempt = 0;
    loop {
        match tokio::time::timeout(Duration::from_secs(60), step()).await {
            Ok(Ok(done)) => return Ok(done),
            Ok(Err(e)) if attempt >= 4 => return Err(e),
            Err(_) if attempt >= 4 => bail!("no answer in 60 s"),
            _ => {
                attempt += 1;
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
}

async fn venueless_user(gateway: SocketAddr, i: usize) -> Result<()> {
    let mut ws = client::connect_to(gateway, Some(source(VENUELESS, i)), "venueless").await?;
    client::authenticate(&mut ws, &venueless_id(i)).await?;
    let profile = json!({"profile": {"display_name": venueless_id(i)}});
    client::request(&mut ws, 1, "user.update", profile).await?;
    disconnect(ws, true).await;
    Ok(())
}

/// Registers (or, made by an earlier try, signs in) a Cadmium user; returns its token.
async fn cadmium_account(gateway: SocketAddr, i: usize) -> Result<String> {
    let mut ws = client::connect_to(gateway, Some(source(CADMIUM, i)), "cadmium").await?;
    let name = cadmium_name(i);
    let payload = json!({"username": name, "password": PASSWORD, "loginOnSuccess": true});
    let mut reply = cadmium_request(&mut ws, "r", CADMIUM_REGISTER, &[], None, payload).await?;
    if reply["payload"]["errID"] == "id_exists" {
        let payload = json!({"username": name, "password": PASSWORD});
        reply = cadmium_request(&mut ws, "l", CADMIUM_LOGIN, &[], None, payload).await?;
    }
    if reply["ok"] != true {
        bail!("{name} not registered: {reply}");
    }
    disconnect(ws, true).await;
    reply["payload"]["authToken"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no token: {reply}"))
}

/// A Cadmium request and the server's reply carrying its id (users' pushes come `from` an
/// `@` address and are skipped).
async fn cadmium_request(
    ws: &mut Ws,
    id: &str,
    kind: &str,
    to: &[&str],
    token: Option<&str>,
    payload: Value,
) -> Result<Value> {
    let mut request = json!({"id": id, "type": kind, "to": to, "payload": payload});
    if let Some(token) = token {
        request["authToken"] = json!(token);
    }
    client::send(ws, request).await?;
    loop {
        let frame = client::next_json(ws).await?;
        if frame["id"] == id && !frame["from"].as_str().unwrap_or("@").starts_with('@') {
            return Ok(frame);
        }
    }
}

async fn actionhero_account(lines: SocketAddr, i: usize) -> Result<()> {
    let mut conn = Actionhero::lines(lines, source(ACTIONHERO, i)).await?;
    let register = json!({"action": "register", "params":
        {"login": actionhero_login(i), "password": PASSWORD}});
    conn.send(&register.to_string()).await?;
    let reply = conn.response().await?;
    let taken = reply["error"].as_str().is_some_and(|e| e.contains("taken"));
    if !taken && reply.get("error").is_some() {
        bail!("not registered: {reply}");
    }
    conn.quit().await
}

/// The Rebuttal admin signs up (or in), makes the soak's group with the two permissions a
/// cycle needs, and invites every user into it; each user signs up with its invite.
async fn rebuttal_accounts(gateway: SocketAddr, users: usize) -> Result<()> {
    let mut admin = patiently(|| async {
        let mut admin = Rebuttal::connect(gateway, source(REBUTTAL, users)).await?;
        let signup = json!({"type": "signup", "userName": "Soak admin", "email": REBUTTAL_ADMIN,
                            "password": PASSWORD, "signUp": "signup"});
        admin.send(signup).await?;
        match admin.logged_in().await {
            Ok(_) => Ok(admin),
            Err(e) if format!("{e:#}").contains("already registered") => {
                let mut admin = Rebuttal::connect(gateway, source(REBUTTAL, users)).await?;
                admin.login(REBUTTAL_ADMIN).await?;
                Ok(admin)
            }
            Err(e) => Err(e),
        }
    })
    .await
    .context("Rebuttal admin")?;
    admin
        .send(json!({"type": "creategroup", "groupName": GROUP}))
        .await?;
    admin
        .send(
            json!({"type": "updategroup", "groupName": GROUP, "changes": [
            {"add": "sendMessage"}, {"add": "joinVoiceRoom"}]}),
        )
        .await?;
    admin
        .expect(|p| {
            p["type"] == "updateGroups"
                && p["groups"][GROUP]
                    .as_array()
                    .is_some_and(|perms| perms.len() == 2)
        })
        .await
        .context("the soak's Rebuttal group")?;
    for i in 0..users {
        let made = async {
            admin
                .send(json!({"type": "invite", "groupName": GROUP}))
                .await?;
            let invite = admin.expect(|p| p["type"] == "invite").await?;
            let code = invite["invite_code"].as_str().context("no invite code")?;
            let mut user = Rebuttal::connect(gateway, source(REBUTTAL, i)).await?;
            user.send(json!({"type": "signup", "userName": format!("soak-rb-{i}"),
                "email": rebuttal_email(i), "password": PASSWORD, "signUp": code}))
                .await?;
            user.logged_in().await?;
            disconnect(user.ws, true).await;
            Ok::<_, anyhow::Error>(())
        };
        made.await.with_context(|| format!("Rebuttal user {i}"))?;
    }
    disconnect(admin.ws, true).await;
    Ok(())
}

/// A Rebuttal connection: JSON packets with a `type`.
struct Rebuttal {
    ws: Ws,
}

impl Rebuttal {
    async fn connect(gateway: SocketAddr, source: IpAddr) -> Result<Self> {
        let mut ws = client::connect_to(gateway, Some(source), "rebuttal").await?;
        let greeting = client::next_json(&mut ws).await?;
        if greeting["type"] != "connect" {
            bail!("greeted with {greeting}");
        }
        Ok(Self { ws })
    }

    async fn send(&mut self, packet: Value) -> Result<()> {
        client::send(&mut self.ws, packet).await
    }

    async fn login(&mut self, email: &str) -> Result<String> {
        self.send(json!({"type": "login", "email": email, "password": PASSWORD}))
            .await?;
        self.logged_in().await
    }

    /// The `login` packet (the four lists that follow are read with everything else later).
    async fn logged_in(&mut self) -> Result<String> {
        let login = self.expect(|p| p["type"] == "login").await?;
        if login["success"] != true {
            bail!("not logged in: {login}");
        }
        Ok(login["userid"].as_str().context("no userid")?.to_owned())
    }

    /// The next packet matching `wanted`; others are dropped, and an `error` fails (errors
    /// answer only this connection's own packets).
    async fn expect(&mut self, wanted: impl Fn(&Value) -> bool) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
        loop {
            let packet = tokio::time::timeout_at(deadline, client::next_json(&mut self.ws))
                .await
                .context("no answer in time")??;
            if packet["type"] == "error" {
                bail!("refused: {}", packet["message"]);
            }
            if wanted(&packet) {
                return Ok(packet);
            }
        }
    }
}

/// An actionhero connection over TCP lines or the websocket path.
enum Actionhero {
    Lines {
        reader: BufReader<OwnedReadHalf>,
        writer: OwnedWriteHalf,
    },
    Websocket(Box<Ws>),
}

impl Actionhero {
    async fn lines(addr: SocketAddr, source: IpAddr) -> Result<Self> {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(source, 0))?;
        let stream = socket.connect(addr).await?;
        stream.set_nodelay(true)?;
        let (read, writer) = stream.into_split();
        Self::greeted(Actionhero::Lines {
            reader: BufReader::new(read),
            writer,
        })
        .await
    }

    async fn websocket(gateway: SocketAddr, source: IpAddr) -> Result<Self> {
        let ws = client::connect_to(gateway, Some(source), "actionhero").await?;
        Self::greeted(Actionhero::Websocket(Box::new(ws))).await
    }

    async fn greeted(mut conn: Self) -> Result<Self> {
        let welcome = conn.next().await?;
        if welcome["context"] != "api" {
            bail!("greeted with {welcome}");
        }
        Ok(conn)
    }

    async fn send(&mut self, line: &str) -> Result<()> {
        match self {
            Actionhero::Lines { writer, .. } => {
                writer.write_all(format!("{line}\r\n").as_bytes()).await?
            }
            Actionhero::Websocket(ws) => ws.send(Message::text(line)).await?,
        }
        Ok(())
    }

    async fn next(&mut self) -> Result<Value> {
        match self {
            Actionhero::Lines { reader, .. } => {
                let mut line = String::new();
                let read = tokio::time::timeout(ANSWER_TIMEOUT, reader.read_line(&mut line))
                    .await
                    .context("no line in time")??;
                if read == 0 {
                    bail!("server closed the connection");
                }
                Ok(serde_json::from_str(line.trim_end())?)
            }
            Actionhero::Websocket(ws) => client::next_json(ws).await,
        }
    }

    /// The next response line (every line sent gets exactly one); pushes are skipped.
    async fn response(&mut self) -> Result<Value> {
        loop {
            let value = self.next().await?;
            if value["context"] == "response" {
                return Ok(value);
            }
        }
    }

    /// Sends `line`; its response, which must not be an error (a refused verb has its reason
    /// in `status`, a failed action an `error`).
    async fn request(&mut self, line: &str) -> Result<Value> {
        self.send(line).await?;
        let reply = self.response().await?;
        let refused = reply.get("status").is_some_and(|status| status != "OK");
        if refused || reply.get("error").is_some() {
            bail!("refused: {reply}");
        }
        Ok(reply)
    }

    /// `quit`: upstream's goodbye (`{"status": "Bye!", "context": "api", ...}`, no response),
    /// then the server closes.
    async fn quit(&mut self) -> Result<()> {
        self.send("quit").await?;
        loop {
            if self.next().await?["status"] == "Bye!" {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_covers_every_kind_and_user() {
        let (users, rooms) = (50, 10);
        let plans: Vec<Plan> = (0..10 * users as u64)
            .map(|n| Plan::of(n, users, rooms))
            .collect();
        for kind in Kind::ALL {
            let of_kind: Vec<&Plan> = plans.iter().filter(|p| p.kind == kind).collect();
            let users_seen: std::collections::HashSet<usize> =
                of_kind.iter().map(|p| p.user).collect();
            assert_eq!(users_seen.len(), users, "{kind:?}");
            assert!(of_kind.iter().any(|p| p.graceful), "{kind:?}");
            assert!(of_kind.iter().any(|p| !p.graceful), "{kind:?}");
        }
        // The first two passes sign every actionhero user in on both transports.
        for kind in [Kind::ActionheroLines, Kind::ActionheroWebsocket] {
            let users_seen: std::collections::HashSet<usize> = plans
                .iter()
                .filter(|p| p.kind == kind)
                .map(|p| p.user)
                .collect();
            assert_eq!(users_seen.len(), users);
        }
        let rooms_seen: std::collections::HashSet<usize> = plans.iter().map(|p| p.room).collect();
        assert_eq!(rooms_seen.len(), rooms);
    }

    #[test]
    fn every_identity_has_its_own_loopback_address() {
        let all: std::collections::HashSet<IpAddr> = (0..5u8)
            .flat_map(|p| (0..=MAX_USERS).map(move |i| source(p, i)))
            .collect();
        assert_eq!(all.len(), 5 * (MAX_USERS + 1));
        assert!(all.iter().all(|a| a.is_loopback()));
    }
}
