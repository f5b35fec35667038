//! Room event fan-out: the hot path of a chat server.
//!
//! For every room with at least one local subscriber the gateway holds one NATS subscription to
//! `wcc.events.rooms.<room>` (for the operators' feed, `ids::OPERATOR`, the lattice's own
//! `wcc.events`: `events::feed_subject`). Each event is rendered once per protocol present in the room (one
//! wRPC call to that protocol's channel actor, answering with the frames for that event, usually
//! one) and the same bytes are queued to every local subscriber of that protocol. There is no
//! per-recipient wasm call.
//!
//! A room's events that queue while its renders are in flight are rendered together, in one call
//! per protocol ([`RENDER_BATCH`]), and delivered in NATS order, so every subscriber sees a
//! room's events in the order they were published.
//!
//! Slow consumers: each connection has a bounded send queue. An event whose frames do not all fit
//! is not queued at all (never half of it); the connection is closed (it can reconnect and page
//! history) and counted as shed.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{atomic::Ordering, Arc, Mutex},
};

use futures::StreamExt;
use tokio::{sync::Notify, task::JoinHandle};
use tracing::warn;
use wcc_interface::{clock::now_ms, events, Envelope, Event};

use crate::{
    channels::Channels,
    outbound::{Outbound, Refused, Sender},
    stats::Stats,
};

/// Most events of one room rendered by one call. A render of a busy room's lists (Rebuttal's
/// user list) can take tens of milliseconds on a loaded host, and a call's events render one
/// after another: a small batch keeps one call short (`channels::render_timeout`).
const RENDER_BATCH: usize = 16;

/// Render calls of one room in flight at once. Events that arrive while both are out wait and
/// go together in the next call: batches form only under load, and an idle room's event is
/// rendered alone, at once.
const RENDERS_IN_FLIGHT: usize = 2;

/// A local connection subscribed to a room.
#[derive(Clone)]
pub struct Subscriber {
    pub protocol: String,
    /// The channel actor that renders for this subscriber's protocol.
    pub component: String,
    /// The connection's send queue (shared with its connection loop).
    pub queue: Sender,
    /// Notified when the connection must be closed as a slow consumer.
    pub evict: Arc<Notify>,
    /// This connection's id when its route does not echo: events it caused (an envelope's
    /// `origin`) are not delivered to it.
    pub skip_origin: Option<String>,
}

struct Room {
    subscribers: HashMap<u64, Subscriber>,
    task: JoinHandle<()>,
}

#[derive(Clone)]
pub struct Fanout {
    inner: Arc<Inner>,
}

struct Inner {
    nats: async_nats::Client,
    channels: Channels,
    rooms: Mutex<HashMap<String, Room>>,
    stats: Stats,
}

impl Fanout {
    pub fn new(nats: async_nats::Client, channels: Channels) -> Self {
        Self {
            inner: Arc::new(Inner {
                nats,
                channels,
                rooms: Mutex::default(),
                stats: Stats::default(),
            }),
        }
    }

    pub fn stats(&self) -> &Stats {
        &self.inner.stats
    }

    /// Starts delivering `room`'s events to connection `id`; the first local subscriber of a
    /// room opens its NATS subscription.
    pub async fn subscribe(
        &self,
        room: &str,
        id: u64,
        subscriber: Subscriber,
    ) -> anyhow::Result<()> {
        let new_room = {
            let mut rooms = self.lock();
            if let Some(entry) = rooms.get_mut(room) {
                entry.subscribers.insert(id, subscriber);
                return Ok(());
            }
            true
        };
        if new_room {
            // Subscribe before registering so no event published after the reply is missed.
            let sub = self
                .inner
                .nats
                .subscribe(events::feed_subject(room))
                .await?;
            self.inner.nats.flush().await?;
            let mut rooms = self.lock();
            if let Some(entry) = rooms.get_mut(room) {
                // Another connection opened the room meanwhile; ours is redundant.
                entry.subscribers.insert(id, subscriber);
                drop(sub);
                return Ok(());
            }
            let task = tokio::spawn(self.clone().pump(room.to_string(), sub));
            rooms.insert(
                room.to_string(),
                Room {
                    subscribers: HashMap::from([(id, subscriber)]),
                    task,
                },
            );
        }
        Ok(())
    }

    /// Stops delivering `room` to connection `id`; the last one closes the NATS subscription.
    pub fn unsubscribe(&self, room: &str, id: u64) {
        let mut rooms = self.lock();
        let empty = rooms.get_mut(room).is_some_and(|entry| {
            entry.subscribers.remove(&id);
            entry.subscribers.is_empty()
        });
        if empty {
            if let Some(entry) = rooms.remove(room) {
                entry.task.abort();
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Room>> {
        // A panic while holding this lock cannot leave the map half-updated in a way that
        // matters (each update is one insert or remove), so a poisoned lock is still usable.
        self.inner
            .rooms
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Renders and delivers one room's events until unsubscribed.
    async fn pump(self, room: String, sub: async_nats::Subscriber) {
        let this = self.clone();
        let room_for_render = room.clone();
        let mut rendered = sub
            .ready_chunks(RENDER_BATCH)
            .map(move |batch| {
                let this = this.clone();
                let room = room_for_render.clone();
                async move { this.render(&room, batch).await }
            })
            .buffered(RENDERS_IN_FLIGHT);
        while let Some(rendered) = rendered.next().await {
            for (event, frames) in rendered {
                self.deliver(&room, event, frames).await;
            }
        }
    }

    /// One rendering of a batch of events per protocol present in the room right now: for each
    /// event to deliver, its envelope (if this build knows its type) and each protocol's frames.
    async fn render(
        &self,
        room: &str,
        batch: Vec<async_nats::Message>,
    ) -> Vec<(Option<Envelope>, BTreeMap<String, Vec<Outbound>>)> {
        let mut envelopes = Vec::with_capacity(batch.len());
        let mut texts = Vec::with_capacity(batch.len());
        for msg in &batch {
            // An event this build does not know (a newer core's) still goes to the channels,
            // which may know it; only what this gateway does itself needs it parsed.
            let envelope = Envelope::parse(&msg.payload);
            // Our own delivery receipts share the subject; nobody renders them.
            if let Some(Envelope {
                event: Event::MessageDelivered { .. },
                ..
            }) = envelope
            {
                continue;
            }
            let Ok(text) = std::str::from_utf8(&msg.payload) else {
                continue;
            };
            envelopes.push(envelope);
            texts.push(text.to_owned());
        }
        if texts.is_empty() {
            return Vec::new();
        }
        let components: Vec<String> = {
            let rooms = self.lock();
            let Some(entry) = rooms.get(room) else {
                return Vec::new();
            };
            let mut components: Vec<String> = entry
                .subscribers
                .values()
                .map(|s| s.component.clone())
                .collect();
            components.sort();
            components.dedup();
            components
        };
        let mut frames: Vec<BTreeMap<String, Vec<Outbound>>> = vec![BTreeMap::new(); texts.len()];
        for component in components {
            self.inner.stats.renders.fetch_add(1, Ordering::Relaxed);
            match self.inner.channels.render(&component, &texts).await {
                Ok(rendered) if rendered.len() == texts.len() => {
                    for (event_frames, shown) in frames.iter_mut().zip(rendered) {
                        if !shown.is_empty() {
                            event_frames.insert(
                                component.clone(),
                                shown.into_iter().map(Outbound::from).collect(),
                            );
                        }
                    }
                }
                Ok(rendered) => warn!(
                    %room, %component,
                    "render answered {} events for {}; this batch is not shown on it",
                    rendered.len(),
                    texts.len()
                ),
                Err(e) => warn!(%room, %component, "render failed: {e:#}"),
            }
        }
        envelopes.into_iter().zip(frames).collect()
    }

    async fn deliver(
        &self,
        room: &str,
        envelope: Option<Envelope>,
        frames: BTreeMap<String, Vec<Outbound>>,
    ) {
        let stats = &self.inner.stats;
        stats.events.fetch_add(1, Ordering::Relaxed);
        let recipients: Vec<(String, u32)> = {
            let rooms = self.lock();
            let Some(entry) = rooms.get(room) else { return };
            // Counted under borrowed names: nothing is allocated per recipient.
            let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
            let origin = envelope.as_ref().and_then(|e| e.origin.as_deref());
            for subscriber in entry.subscribers.values() {
                let Some(event_frames) = frames.get(&subscriber.component) else {
                    continue;
                };
                if origin.is_some() && subscriber.skip_origin.as_deref() == origin {
                    continue;
                }
                // All of the event's frames or none, so a subscriber gets an event whole or is
                // shed.
                match subscriber.queue.try_send_all(event_frames) {
                    Ok(()) => *counts.entry(&subscriber.protocol).or_default() += 1,
                    Err(Refused::Full) => {
                        stats.shed.fetch_add(1, Ordering::Relaxed);
                        subscriber.evict.notify_one();
                    }
                    Err(Refused::Closed) => {}
                }
            }
            counts
                .into_iter()
                .map(|(protocol, count)| (protocol.to_owned(), count))
                .collect()
        };
        let delivered: u64 = recipients.iter().map(|(_, n)| u64::from(*n)).sum();
        stats.deliveries.fetch_add(delivered, Ordering::Relaxed);
        if let Some(Envelope {
            event: Event::MessagePublished { message, .. },
            ..
        }) = envelope
        {
            for (channel, count) in recipients {
                let receipt = Event::MessageDelivered {
                    room: room.to_string(),
                    event_id: message.event_id,
                    channel,
                    recipients: count,
                };
                let body = Envelope::new(receipt, now_ms()).to_json();
                if let Err(e) = self
                    .inner
                    .nats
                    .publish(events::room_subject(room), body.into())
                    .await
                {
                    warn!(%room, "failed to publish MessageDelivered: {e}");
                }
            }
        }
    }
}
