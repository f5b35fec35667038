//! The storm's side: Cadmium clients sending wrong passwords, and what they were answered.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use anyhow::{bail, Result};
use serde_json::{json, Value};
use tokio::time::Instant;

use super::Logins;
use crate::client::{self, Ws};

const LOGIN: &str = "urn:cadmium:profile:login";

/// One storm client: wrong passwords, one at a time, from `start` until `until`, cycling over
/// the targets; reconnects if the server closes the connection.
pub(super) async fn attacker(
    addr: SocketAddr,
    index: usize,
    ws: Ws,
    targets: Arc<Vec<(String, bool)>>,
    start: Instant,
    until: Instant,
) -> Result<Logins> {
    let mut logins = Logins::default();
    let mut ws = Some(ws);
    tokio::time::sleep_until(start).await;
    let mut attempt = 0;
    while Instant::now() < until {
        if ws.is_none() {
            match client::connect_to(addr, Some(source(index)), "cadmium").await {
                Ok(socket) => ws = Some(socket),
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            }
        }
        let Some(socket) = ws.as_mut() else { continue };
        let (name, real) = &targets[(index + attempt) % targets.len()];
        attempt += 1;
        let payload = json!({"username": name, "password": format!("wrong-{index}-{attempt}")});
        let second = start.elapsed().as_secs() as usize;
        let Ok(reply) = cadmium(socket, &format!("a{attempt}"), LOGIN, payload).await else {
            logins.unanswered += 1;
            ws = None;
            continue;
        };
        if reply["ok"] == true {
            bail!("a wrong password for {name} was accepted: {reply}");
        }
        logins.answered += 1;
        match reply["payload"]["errID"].as_str().unwrap_or("(none)") {
            "invalid_creds" => {
                logins.invalid_creds += 1;
                if *real {
                    logins.hashed += 1;
                    if logins.hashed_by_second.len() <= second {
                        logins.hashed_by_second.resize(second + 1, 0);
                    }
                    logins.hashed_by_second[second] += 1;
                }
            }
            "ratelimit_exceed" => {
                logins.ratelimit_exceed += 1;
                if !reply["payload"]["errPayload"]["retryAfter"].is_null() {
                    logins.limiter += 1;
                }
            }
            other => *logins.other.entry(other.to_owned()).or_default() += 1,
        }
    }
    Ok(logins)
}

impl Logins {
    pub(super) fn add(&mut self, other: Logins) {
        self.answered += other.answered;
        self.invalid_creds += other.invalid_creds;
        self.hashed += other.hashed;
        self.ratelimit_exceed += other.ratelimit_exceed;
        self.limiter += other.limiter;
        self.unanswered += other.unanswered;
        for (id, n) in other.other {
            *self.other.entry(id).or_default() += n;
        }
        if self.hashed_by_second.len() < other.hashed_by_second.len() {
            self.hashed_by_second
                .resize(other.hashed_by_second.len(), 0);
        }
        for (mine, theirs) in self.hashed_by_second.iter_mut().zip(other.hashed_by_second) {
            *mine += theirs;
        }
    }
}

/// Sends a Cadmium request without a token and returns the answer carrying its id.
pub(super) async fn cadmium(ws: &mut Ws, id: &str, kind: &str, payload: Value) -> Result<Value> {
    client::send(
        ws,
        json!({"id": id, "type": kind, "to": [], "payload": payload}),
    )
    .await?;
    loop {
        let frame = client::next_json(ws).await?;
        if frame["id"] == id {
            return Ok(frame);
        }
    }
}

/// A Cadmium connection whose actor has answered a request. `up` says "wcc is up" once wadm
/// reports the app deployed, which can be before the gateway serves `/cadmium` (404 until
/// then): the first scenario to use it waits, as the end-to-end tests do.
pub(super) async fn cadmium_ready(addr: SocketAddr) -> Result<Ws> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let probe = async {
            let mut ws = client::connect_to(addr, None, "cadmium").await?;
            let reply = cadmium(&mut ws, "ready", "urn:cadmium:ready", json!({})).await?;
            anyhow::ensure!(reply["ok"] == false, "unexpected answer {reply}");
            Ok(ws)
        };
        match tokio::time::timeout(Duration::from_secs(5), probe).await {
            Ok(Ok(ws)) => return Ok(ws),
            Ok(Err(e)) if Instant::now() > deadline => return Err(e.context("no Cadmium")),
            Err(_) if Instant::now() > deadline => bail!("Cadmium never answered"),
            _ => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    }
}

/// Storm client `i`'s own loopback address: 127.0.3.1 and up.
pub(super) fn source(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(
        127,
        0,
        3 + (i / 250) as u8,
        1 + (i % 250) as u8,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_client_has_its_own_loopback_address() {
        let addresses: std::collections::HashSet<IpAddr> = (0..600).map(source).collect();
        assert_eq!(addresses.len(), 600);
        assert!(addresses.iter().all(|a| a.is_loopback()));
        assert_eq!(source(0), IpAddr::V4(Ipv4Addr::new(127, 0, 3, 1)));
    }

    #[test]
    fn answers_add_up_second_by_second() {
        let mut all = Logins {
            answered: 3,
            hashed_by_second: vec![1],
            ..Logins::default()
        };
        let mut other = Logins {
            answered: 2,
            hashed_by_second: vec![0, 2],
            unanswered: 1,
            ..Logins::default()
        };
        other.other.insert("server_error".into(), 1);
        all.add(other);
        assert_eq!((all.answered, all.unanswered), (5, 1));
        assert_eq!(all.hashed_by_second, vec![1, 2]);
        assert_eq!(all.other["server_error"], 1);
    }
}
