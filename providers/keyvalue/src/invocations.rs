//! Runs the wRPC invocations the exports accept, each as its own task, until shutdown.
//!
//! The provider SDK's `serve_provider_exports` spawns every invocation into a `JoinSet` that it
//! never joins, and a `JoinSet` keeps each finished task until it is joined: the provider's
//! memory grew by about 1.7 KiB per call, without end (34 KiB per soak cycle). This loop is the
//! same, but reaps each task as it finishes, and at shutdown lets the ones in flight end.

use std::{future::Future, time::Duration};

use futures::{stream, StreamExt};
use tokio::task::JoinSet;
use tracing::warn;
use wasmcloud_provider_sdk::provider::InvocationStreams;

/// How long invocations in flight at shutdown may take to finish.
pub const DRAIN: Duration = Duration::from_secs(5);

/// What a serving loop did, for its caller's log and for tests.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Served {
    /// Invocations accepted.
    pub accepted: usize,
    /// The most tasks held at once (finished ones not yet reaped count too).
    pub most_held: usize,
}

/// Serves `invocations` until `shutdown` resolves, then waits up to [`DRAIN`] for the
/// invocations in flight.
pub async fn serve(invocations: InvocationStreams, shutdown: impl Future<Output = ()>) -> Served {
    let mut invocations = stream::select_all(
        invocations
            .into_iter()
            .map(|(instance, name, accepted)| accepted.map(move |next| (instance, name, next))),
    );
    let mut shutdown = std::pin::pin!(shutdown);
    let mut tasks = JoinSet::new();
    let mut served = Served::default();
    loop {
        tokio::select! {
            Some((instance, name, next)) = invocations.next() => match next {
                Ok(invocation) => {
                    served.accepted += 1;
                    tasks.spawn(async move {
                        if let Err(err) = invocation.await {
                            warn!(?err, instance, name, "failed to serve invocation");
                        }
                    });
                    served.most_held = served.most_held.max(tasks.len());
                }
                Err(err) => warn!(?err, instance, name, "failed to accept invocation"),
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            () = &mut shutdown => break,
        }
    }
    let drained =
        tokio::time::timeout(DRAIN, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        warn!(
            left = tasks.len(),
            "invocations still running at shutdown are dropped"
        );
    }
    served
}

#[cfg(test)]
mod tests {
    use std::{
        pin::Pin,
        sync::{
            atomic::{AtomicUsize, Ordering},
            Arc,
        },
    };

    use super::*;

    type Invocation = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'static>>;

    /// `count` invocations that each count themselves, offered one after another.
    fn invocations(count: usize, done: Arc<AtomicUsize>) -> InvocationStreams {
        let accepted = stream::iter(0..count).then(move |_| {
            let done = Arc::clone(&done);
            async move {
                tokio::task::yield_now().await;
                let invocation: Invocation = Box::pin(async move {
                    done.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                });
                Ok(invocation)
            }
        });
        vec![("wrpc:keyvalue/store@0.2.0-draft", "get", Box::pin(accepted))]
    }

    #[tokio::test]
    async fn finished_invocations_are_not_kept() {
        let done = Arc::new(AtomicUsize::new(0));
        let finished = Arc::clone(&done);
        let shutdown = async move {
            while finished.load(Ordering::Relaxed) < 10_000 {
                tokio::task::yield_now().await;
            }
        };
        let served = serve(invocations(10_000, Arc::clone(&done)), shutdown).await;
        assert_eq!(served.accepted, 10_000);
        assert_eq!(done.load(Ordering::Relaxed), 10_000);
        assert!(
            served.most_held < 100,
            "{} finished invocations were held at once",
            served.most_held
        );
    }

    #[tokio::test]
    async fn shutdown_lets_invocations_in_flight_finish() {
        let done = Arc::new(AtomicUsize::new(0));
        let slow = Arc::clone(&done);
        let invocation: Invocation = Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            slow.fetch_add(1, Ordering::Relaxed);
            Ok(())
        });
        let accepted = stream::iter([Ok(invocation)]).chain(stream::pending());
        let streams: InvocationStreams = vec![("i", "n", Box::pin(accepted))];
        let shutdown = tokio::time::sleep(Duration::from_millis(50));
        serve(streams, shutdown).await;
        assert_eq!(done.load(Ordering::Relaxed), 1);
    }
}
