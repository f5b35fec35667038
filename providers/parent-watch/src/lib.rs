//! A provider process must not outlive the wasmCloud host that started it.
//!
//! The host stops its providers over NATS when it shuts down cleanly, but a host killed with
//! SIGKILL (or the OOM killer) sends nothing: its providers used to live on as orphans, one of
//! them holding the gateway's port and answering every client with "unavailable". Linux
//! reparents an orphan (to init or the nearest subreaper), so a changed parent pid is the sign
//! that the host is gone, whatever killed it. `PR_SET_PDEATHSIG` would need `unsafe` and fires
//! on the death of the *thread* that forked, not the process; polling the parent pid is cheap
//! and exact.

use std::time::Duration;

/// How often the parent pid is looked at: the bound on how long an orphan lives.
pub const POLL: Duration = Duration::from_millis(500);

/// Resolves once the process that started this one has exited.
pub async fn parent_gone() {
    let parent = std::os::unix::process::parent_id();
    while still_child_of(parent) {
        tokio::time::sleep(POLL).await;
    }
}

/// Whether this process's parent is still `parent` (pid 1 is never a provider's real parent:
/// it means the parent died before we looked).
fn still_child_of(parent: u32) -> bool {
    parent != 1 && std::os::unix::process::parent_id() == parent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_living_parent_is_still_the_parent() {
        assert!(still_child_of(std::os::unix::process::parent_id()));
    }

    #[test]
    fn another_pid_or_init_means_the_parent_is_gone() {
        let parent = std::os::unix::process::parent_id();
        assert!(!still_child_of(parent + 1));
        assert!(!still_child_of(1));
    }

    #[tokio::test]
    async fn a_living_parent_keeps_the_future_pending() {
        let waited = tokio::time::timeout(POLL * 3, parent_gone()).await;
        assert!(waited.is_err(), "the test runner is still alive");
    }
}
