//! Calls into channel actors over wRPC: the gateway's side of `wcc:chat/channel`.
//!
//! Every call is bounded by the configured timeout: the wRPC NATS transport this host version
//! pins can lose a reply under load, and a connection must never wait on it forever. Renders
//! are pure, so a lost one is simply asked again; the other calls change state and are not
//! repeated (the socket is closed instead, see `connection.rs`).

use std::{collections::HashMap, future::Future, sync::Arc, time::Duration};

use anyhow::{anyhow, Context, Result};
use tokio::sync::RwLock;
use wasmcloud_provider_sdk::{get_connection, provider::WrpcClient};

use crate::session::{Action, Frame, Outcome, Session};

mod bindings {
    wit_bindgen_wrpc::generate!({
        world: "gateway-provider",
        path: "../../interface/wit",
    });
}

use bindings::wcc::chat::channel as wit;

/// Attempts at rendering one event before its delivery to that protocol is given up.
const RENDER_ATTEMPTS: u32 = 3;

/// A render takes milliseconds; a lost one holds up the room's later events (delivered in
/// order), so it is asked again well before the general call timeout.
const RENDER_TIMEOUT: Duration = Duration::from_secs(2);

/// wRPC clients per channel component, made once and reused.
#[derive(Clone)]
pub struct Channels {
    clients: Arc<RwLock<HashMap<String, WrpcClient>>>,
    timeout: Duration,
}

impl Channels {
    pub fn new(timeout: Duration) -> Self {
        Self {
            clients: Arc::default(),
            timeout,
        }
    }

    async fn client(&self, component: &str) -> Result<WrpcClient> {
        if let Some(client) = self.clients.read().await.get(component) {
            return Ok(client.clone());
        }
        let client = get_connection()
            .get_wrpc_client_custom(component, Some(self.timeout))
            .await
            .context("failed to make a wRPC client")?;
        self.clients
            .write()
            .await
            .insert(component.to_string(), client.clone());
        Ok(client)
    }

    /// Runs one call, failing it once `limit` passes.
    async fn within<T>(limit: Duration, call: impl Future<Output = Result<T>>) -> Result<T> {
        tokio::time::timeout(limit, call)
            .await
            .map_err(|_| anyhow!("no answer within {limit:?}"))?
    }

    async fn bounded<T>(&self, call: impl Future<Output = Result<T>>) -> Result<T> {
        Self::within(self.timeout, call).await
    }

    pub async fn opened(&self, component: &str, session: &Session) -> Result<Outcome> {
        self.bounded(async {
            let client = self.client(component).await?;
            let outcome = wit::opened(&client, None, &to_wit_session(session)).await?;
            Ok(from_wit_outcome(outcome))
        })
        .await
    }

    pub async fn received(
        &self,
        component: &str,
        session: &Session,
        frame: Frame,
    ) -> Result<Outcome> {
        self.bounded(async {
            let client = self.client(component).await?;
            let outcome = wit::received(
                &client,
                None,
                &to_wit_session(session),
                &to_wit_frame(frame),
            )
            .await?;
            Ok(from_wit_outcome(outcome))
        })
        .await
    }

    /// A note for this connection (JSON of `wcc_interface::Note`), answered like a frame.
    pub async fn notified(
        &self,
        component: &str,
        session: &Session,
        note: &str,
    ) -> Result<Outcome> {
        self.bounded(async {
            let client = self.client(component).await?;
            let outcome = wit::notified(&client, None, &to_wit_session(session), note).await?;
            Ok(from_wit_outcome(outcome))
        })
        .await
    }

    pub async fn closed(&self, component: &str, session: &Session) -> Result<()> {
        self.bounded(async {
            let client = self.client(component).await?;
            wit::closed(&client, None, &to_wit_session(session)).await
        })
        .await
    }

    /// One rendering of a room event for every local subscriber of this protocol.
    pub async fn render(&self, component: &str, event: &str) -> Result<Option<Frame>> {
        let mut attempt = 1;
        loop {
            let rendered = Self::within(RENDER_TIMEOUT.min(self.timeout), async {
                let client = self.client(component).await?;
                Ok(wit::render(&client, None, event).await?.map(from_wit_frame))
            })
            .await;
            match rendered {
                Err(e) if attempt < RENDER_ATTEMPTS => {
                    tracing::debug!(component, attempt, "render failed, retrying: {e:#}");
                    attempt += 1;
                }
                done => return done,
            }
        }
    }
}

fn to_wit_session(s: &Session) -> wit::Session {
    wit::Session {
        connection_id: s.connection_id.clone(),
        transport: s.transport.clone(),
        remote: s.remote.clone(),
        user: s.user.clone(),
        data: s.data.clone(),
    }
}

fn to_wit_frame(frame: Frame) -> wit::Frame {
    match frame {
        Frame::Text(text) => wit::Frame::Text(text),
        Frame::Binary(bytes) => wit::Frame::Binary(bytes.into()),
        Frame::Oversize(len) => wit::Frame::Oversize(len),
    }
}

fn from_wit_frame(frame: wit::Frame) -> Frame {
    match frame {
        wit::Frame::Text(text) => Frame::Text(text),
        wit::Frame::Binary(bytes) => Frame::Binary(bytes.to_vec()),
        wit::Frame::Oversize(len) => Frame::Oversize(len),
    }
}

fn from_wit_outcome(outcome: wit::Outcome) -> Outcome {
    let session = Session {
        connection_id: outcome.session.connection_id,
        transport: outcome.session.transport,
        remote: outcome.session.remote,
        user: outcome.session.user,
        data: outcome.session.data,
    };
    let actions = outcome
        .actions
        .into_iter()
        .map(|action| match action {
            wit::Action::Send(frame) => Action::Send(from_wit_frame(frame)),
            wit::Action::Subscribe(room) => Action::Subscribe(room),
            wit::Action::Unsubscribe(room) => Action::Unsubscribe(room),
            wit::Action::Close((code, reason)) => Action::Close(code, reason),
        })
        .collect();
    Outcome { session, actions }
}
