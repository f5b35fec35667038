//! Many keys with one request: JetStream's multi-subject direct get (nats-server 2.11 and
//! later; ADR-31 in nats-architecture-and-design).
//!
//! `get-many` used to send one direct get per key. Reading a log set (its base and up to a few
//! hundred slots) or a page of history then cost hundreds of NATS requests, and a soak of
//! sign-ins spent most of nats-server's and this provider's CPU on them. One request naming
//! every subject (`multi_last`) gets back the latest message of each subject that has one, in
//! stream order, followed by an end-of-batch status.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use anyhow::{bail, Context as _};
use async_nats::{header::HeaderName, HeaderMap, Message};
use bytes::Bytes;
use futures::StreamExt as _;

/// Subjects named in one request: the server refuses a request that matches more than 1,024.
const MAX_SUBJECTS: usize = 1024;

/// How long the server may take to send the next message of a batch before the read fails
/// (the JetStream context's own request timeout).
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// The latest value of each of `subjects` in `stream`, in the order asked; `None` where the
/// subject has no message or its latest is a KV delete or purge marker.
pub async fn latest(
    client: &async_nats::Client,
    stream: &str,
    subjects: &[String],
) -> anyhow::Result<Vec<Option<Bytes>>> {
    let mut values = vec![None; subjects.len()];
    let mut positions: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, subject) in subjects.iter().enumerate() {
        positions.entry(subject.as_str()).or_default().push(i);
    }
    let distinct: Vec<&str> = positions.keys().copied().collect();
    for chunk in distinct.chunks(MAX_SUBJECTS) {
        for (subject, value) in fetch(client, stream, chunk).await? {
            let Some(at) = positions.get(subject.as_str()) else {
                bail!("direct get of {stream} answered with a subject not asked for: {subject}");
            };
            for &i in at {
                values[i] = value.clone();
            }
        }
    }
    Ok(values)
}

/// One subject's latest message as the batch delivered it.
type Latest = (String, Option<Bytes>);

/// Every subject of `subjects` that has a message, with its latest value. A batch the server
/// ends early (it says how many messages are still pending) is continued with the subjects it
/// has not answered yet.
async fn fetch(
    client: &async_nats::Client,
    stream: &str,
    subjects: &[&str],
) -> anyhow::Result<Vec<Latest>> {
    let mut found = Vec::with_capacity(subjects.len());
    let mut asking: Vec<&str> = subjects.to_vec();
    loop {
        let (batch, pending) = one_batch(client, stream, &asking).await?;
        if pending == 0 {
            found.extend(batch);
            return Ok(found);
        }
        if batch.is_empty() {
            bail!("direct get of {stream} ended a batch with nothing sent and {pending} pending");
        }
        let answered: HashSet<&str> = batch.iter().map(|(subject, _)| subject.as_str()).collect();
        asking.retain(|subject| !answered.contains(subject));
        found.extend(batch);
    }
}

/// One request and its replies: what the batch held, and how many matching messages the
/// server left for another request.
async fn one_batch(
    client: &async_nats::Client,
    stream: &str,
    subjects: &[&str],
) -> anyhow::Result<(Vec<Latest>, u64)> {
    let inbox = client.new_inbox();
    // Subscribed before the request is published, on the same connection, so no reply can
    // arrive before the subscription exists.
    let mut replies = client.subscribe(inbox.clone()).await?;
    let request = serde_json::to_vec(&serde_json::json!({ "multi_last": subjects }))?;
    client
        .publish_with_reply(
            format!("$JS.API.DIRECT.GET.{stream}"),
            inbox,
            request.into(),
        )
        .await?;
    let mut batch = Vec::with_capacity(subjects.len());
    loop {
        let reply = tokio::time::timeout(REPLY_TIMEOUT, replies.next())
            .await
            .with_context(|| format!("direct get of {stream}: no reply within {REPLY_TIMEOUT:?}"))?
            .with_context(|| format!("direct get of {stream}: the subscription ended"))?;
        match reply.status.map(|status| status.as_u16()) {
            None => batch.push(entry(&reply)?),
            // End of batch.
            Some(204) => return Ok((batch, header_number(&reply, "Nats-Num-Pending"))),
            // None of the subjects has a message.
            Some(404) if batch.is_empty() => return Ok((batch, 0)),
            // A server older than 2.11 ignores `multi_last`, which leaves an empty request.
            Some(408) => bail!(
                "direct get of {stream} refused the request (408 {}): multi-subject gets need \
                 nats-server 2.11 or later",
                reply.description.as_deref().unwrap_or("")
            ),
            Some(code) => bail!(
                "direct get of {stream} failed: {code} {}",
                reply.description.as_deref().unwrap_or("")
            ),
        }
    }
}

/// A message of the batch: its subject, and its value unless it marks a delete or purge.
fn entry(message: &Message) -> anyhow::Result<Latest> {
    let headers = message
        .headers
        .as_ref()
        .context("direct get reply without headers")?;
    let subject = header(headers, "Nats-Subject")
        .context("direct get reply without Nats-Subject")?
        .to_string();
    let removed = matches!(header(headers, "KV-Operation"), Some("DEL" | "PURGE"));
    Ok((subject, (!removed).then(|| message.payload.clone())))
}

/// `name` is parsed, not passed as a `&str`: the client files the headers it knows
/// (`Nats-Subject`) under constants, which a `&str` name never equals.
fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let name: HeaderName = name.parse().ok()?;
    headers.get(name).map(|value| value.as_str())
}

fn header_number(message: &Message, name: &str) -> u64 {
    message
        .headers
        .as_ref()
        .and_then(|headers| header(headers, name))
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}
