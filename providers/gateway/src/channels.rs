//! Calls into channel actors over wRPC: the gateway's side of `wcc:chat/channel`.
//!
//! Every call runs on one thread of its own ([`CallThread`]), over a NATS connection made on
//! that thread. The wRPC NATS transport the provider SDK pins (wrpc-transport-nats 0.29) routes
//! replies in one task that picks at random between "register this call's reply subject" and
//! "route this reply". With the router on the gateway's thread pool and the SDK's NATS connection
//! on another thread, the router could be held up while a call went out and came back; it then
//! routed the reply before registering the call and dropped it, and the call hung. On one thread
//! tasks run in the order they were woken: the router (woken by the call) runs before the NATS
//! connection task writes the request, so registration always comes first.
//!
//! Every call is still bounded by the configured timeout: a connection must never wait on a lost
//! answer forever. Renders are pure, so a lost one is simply asked again; the other calls change
//! state and are not repeated (the socket is closed instead, see `connection.rs`).

use std::{collections::HashMap, future::Future, sync::Arc, time::Duration};

use anyhow::{anyhow, Context, Result};
use async_nats::HeaderMap;
use bytes::Bytes;
use tokio::{runtime::Handle, sync::RwLock};
use wasmcloud_provider_sdk::get_connection;

use crate::session::{Action, Frame, Outcome, Session};

mod bindings {
    wit_bindgen_wrpc::generate!({
        world: "gateway-provider",
        path: "../../interface/wit",
    });
}

use bindings::wcc::chat::channel as wit;

/// Attempts at rendering a batch of events before its delivery to that protocol is given up.
const RENDER_ATTEMPTS: u32 = 3;

/// A render takes milliseconds; a lost one holds up the room's later events (delivered in
/// order), so it is asked again well before the general call timeout.
const RENDER_TIMEOUT: Duration = Duration::from_secs(2);

/// More time a render call gets for each event after its first: a batch's events render one
/// after another, and a call cut short loses every event in it for that protocol.
const RENDER_TIME_PER_EVENT: Duration = Duration::from_millis(500);

/// How long a render call of `events` events may take, within the general call timeout.
fn render_timeout(events: usize, call_timeout: Duration) -> Duration {
    let extra = RENDER_TIME_PER_EVENT.saturating_mul(events.saturating_sub(1) as u32);
    (RENDER_TIMEOUT + extra).min(call_timeout)
}

/// Clients per channel component, made once and reused, all living on the call thread.
#[derive(Clone)]
pub struct Channels {
    clients: Arc<RwLock<HashMap<String, ChannelClient>>>,
    calls: CallThread,
    timeout: Duration,
}

/// A single-threaded runtime on a thread of its own, where every wRPC call, its reply router
/// and the NATS connection under them run (see the module comment for why).
#[derive(Clone)]
struct CallThread {
    handle: Handle,
    nats: Arc<async_nats::Client>,
}

impl CallThread {
    async fn start(nats_url: &str) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot build the call runtime")?;
        let handle = runtime.handle().clone();
        let (connected_tx, connected_rx) = tokio::sync::oneshot::channel();
        let url = nats_url.to_owned();
        std::thread::Builder::new()
            .name("wrpc-calls".into())
            .spawn(move || {
                runtime.block_on(async {
                    let connected = async_nats::ConnectOptions::new()
                        .name("wcc-gateway-calls")
                        .connect(&url)
                        .await
                        .with_context(|| format!("cannot reach NATS at {url}"));
                    let _ = connected_tx.send(connected);
                    std::future::pending::<()>().await
                })
            })
            .context("cannot start the call thread")?;
        let nats = connected_rx
            .await
            .context("the call thread ended before connecting")??;
        Ok(Self {
            handle,
            nats: Arc::new(nats),
        })
    }

    /// Runs `call` on the call thread; gives up on it after `limit`.
    async fn run<T, F>(&self, limit: Duration, call: F) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        let task = self.handle.spawn(call);
        let abort = task.abort_handle();
        match tokio::time::timeout(limit, task).await {
            Ok(joined) => joined.context("wRPC call task failed")?,
            Err(_) => {
                abort.abort();
                Err(anyhow!("no answer within {limit:?}"))
            }
        }
    }
}

/// wRPC to one channel component, with the headers a provider's calls carry.
#[derive(Clone)]
struct ChannelClient {
    nats: wrpc_transport_nats::Client,
    source: Arc<str>,
    target: Arc<str>,
}

impl wrpc_transport::Invoke for ChannelClient {
    type Context = Option<HeaderMap>;
    type Outgoing = <wrpc_transport_nats::Client as wrpc_transport::Invoke>::Outgoing;
    type Incoming = <wrpc_transport_nats::Client as wrpc_transport::Invoke>::Incoming;

    async fn invoke<P>(
        &self,
        cx: Self::Context,
        instance: &str,
        func: &str,
        params: Bytes,
        paths: impl AsRef<[P]> + Send,
    ) -> Result<(Self::Outgoing, Self::Incoming)>
    where
        P: AsRef<[Option<usize>]> + Send + Sync,
    {
        let mut headers = cx.unwrap_or_default();
        headers.insert("source-id", &*self.source);
        headers.insert("target-id", &*self.target);
        self.nats
            .invoke(Some(headers), instance, func, params, paths)
            .await
    }
}

impl Channels {
    /// `nats_url`: the lattice's NATS, where the channel components are served.
    pub async fn new(nats_url: &str, timeout: Duration) -> Result<Self> {
        Ok(Self {
            clients: Arc::default(),
            calls: CallThread::start(nats_url).await?,
            timeout,
        })
    }

    /// The client for `component`; made on first use. Runs on the call thread, so the client's
    /// reply router is spawned there.
    async fn client(&self, component: &str) -> Result<ChannelClient> {
        if let Some(client) = self.clients.read().await.get(component) {
            return Ok(client.clone());
        }
        let lattice = get_connection();
        let prefix: Arc<str> = Arc::from(format!("{}.{component}", lattice.lattice));
        let nats = wrpc_transport_nats::Client::new(
            Arc::clone(&self.calls.nats),
            Arc::clone(&prefix),
            Some(prefix),
        )
        .await
        .context("failed to make a wRPC client")?;
        let client = ChannelClient {
            nats,
            source: Arc::clone(&lattice.provider_id),
            target: Arc::from(component),
        };
        self.clients
            .write()
            .await
            .insert(component.to_string(), client.clone());
        Ok(client)
    }

    /// Runs `call` with `component`'s client on the call thread, failing it once `limit` passes.
    async fn call<T, F, Fut>(&self, component: &str, limit: Duration, call: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(ChannelClient) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T>> + Send,
    {
        let channels = self.clone();
        let component = component.to_owned();
        // Boxed before it is handed over: a wRPC invocation's state is about 3 KiB, and
        // unboxed it would be copied into every future that waits for the call (one per call in
        // flight, e.g. a connection storm's `opened` calls) besides the call thread's task.
        let call = Box::pin(async move {
            let client = channels.client(&component).await?;
            call(client).await
        });
        self.calls.run(limit, call).await
    }

    pub async fn opened(&self, component: &str, session: &Session) -> Result<Outcome> {
        let session = to_wit_session(session);
        self.call(component, self.timeout, |client| async move {
            let outcome = wit::opened(&client, None, &session).await?;
            Ok(from_wit_outcome(outcome))
        })
        .await
    }

    /// Frames from the client, in order, handled by one call.
    pub async fn received(
        &self,
        component: &str,
        session: &Session,
        frames: Vec<Frame>,
    ) -> Result<Outcome> {
        let session = to_wit_session(session);
        let frames: Vec<_> = frames.into_iter().map(to_wit_frame).collect();
        self.call(component, self.timeout, |client| async move {
            let outcome = wit::received(&client, None, &session, &frames).await?;
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
        let session = to_wit_session(session);
        let note = note.to_owned();
        self.call(component, self.timeout, |client| async move {
            let outcome = wit::notified(&client, None, &session, &note).await?;
            Ok(from_wit_outcome(outcome))
        })
        .await
    }

    pub async fn closed(&self, component: &str, session: &Session) -> Result<()> {
        let session = to_wit_session(session);
        self.call(component, self.timeout, |client| async move {
            wit::closed(&client, None, &session).await
        })
        .await
    }

    /// One rendering of a room's events for every local subscriber of this protocol: for each
    /// event, the frames each gets, in order (none if the protocol shows nothing for it).
    pub async fn render(&self, component: &str, events: &[String]) -> Result<Vec<Vec<Frame>>> {
        let mut attempt = 1;
        loop {
            let owned = events.to_vec();
            let rendered = self
                .call(
                    component,
                    render_timeout(events.len(), self.timeout),
                    |client| async move {
                        let events: Vec<&str> = owned.iter().map(String::as_str).collect();
                        Ok(wit::render(&client, None, &events)
                            .await?
                            .into_iter()
                            .map(|frames| frames.into_iter().map(from_wit_frame).collect())
                            .collect())
                    },
                )
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
            // A grant, not a room: `Connection::apply` verifies it before anything subscribes.
            wit::Action::Subscribe(grant) => Action::Subscribe(grant),
            wit::Action::Unsubscribe(room) => Action::Unsubscribe(room),
            wit::Action::Close((code, reason)) => Action::Close(code, reason),
        })
        .collect();
    Outcome { session, actions }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_gets_time_for_each_of_its_events_within_the_call_timeout() {
        let call = Duration::from_secs(10);
        assert_eq!(render_timeout(1, call), RENDER_TIMEOUT);
        assert_eq!(
            render_timeout(3, call),
            RENDER_TIMEOUT + RENDER_TIME_PER_EVENT * 2
        );
        assert_eq!(render_timeout(64, call), call);
        assert_eq!(
            render_timeout(1, Duration::from_secs(1)),
            Duration::from_secs(1)
        );
    }
}
