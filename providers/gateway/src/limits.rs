//! Connection caps: how many client connections this gateway holds at once, in all
//! (`max_connections`) and per remote IP (`max_connections_per_address`), websocket and TCP line
//! connections together. One client (or a flood from one address) cannot take every socket and
//! every byte of memory the gateway has.
//!
//! A connection takes a [`Slot`] when it is accepted, before its handshake, and gives it back
//! when the slot is dropped: however the connection ends (close, error, shed, shutdown, a panic
//! or an aborted task), the count cannot leak. The transports answer a refused connection in
//! their own way (`websocket.rs`: HTTP 503; `lines.rs`: one error line).

use std::{
    collections::HashMap,
    fmt,
    net::{IpAddr, SocketAddr},
    sync::{atomic::Ordering, Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use tracing::warn;

use crate::stats::Stats;

/// What a refused client is told, on either transport.
pub const REFUSAL: &str = "too many connections; try again later";

/// Under a flood, one log line per this long, saying how many refusals it stands for.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// The caps and the connections held against them; cheap to clone (shared).
#[derive(Clone)]
pub struct ConnectionLimits {
    inner: Arc<Inner>,
}

struct Inner {
    max_total: usize,
    max_per_address: usize,
    held: Mutex<Held>,
    log: Mutex<RefusalLog>,
}

#[derive(Default)]
struct Held {
    total: usize,
    /// Only addresses with a connection: an entry goes with its last slot.
    by_address: HashMap<IpAddr, usize>,
}

/// Which cap a connection ran into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Full {
    Total,
    Address,
}

impl fmt::Display for Full {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Full::Total => "max_connections reached",
            Full::Address => "max_connections_per_address reached",
        })
    }
}

/// One held connection; dropping it gives the place back.
#[must_use = "the connection's place is given back when the slot is dropped"]
pub struct Slot {
    inner: Arc<Inner>,
    address: IpAddr,
}

impl ConnectionLimits {
    pub fn new(max_total: usize, max_per_address: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                max_total,
                max_per_address,
                held: Mutex::default(),
                log: Mutex::default(),
            }),
        }
    }

    /// A place for one more connection from `address`, if both caps allow it.
    pub fn try_acquire(&self, address: IpAddr) -> Result<Slot, Full> {
        // An IPv4 client reaching a dual-stack listener shows up as `::ffff:a.b.c.d`: still one
        // address.
        let address = address.to_canonical();
        let mut held = lock(&self.inner.held);
        if held.total >= self.inner.max_total {
            return Err(Full::Total);
        }
        let from_address = held.by_address.entry(address).or_default();
        if *from_address >= self.inner.max_per_address {
            return Err(Full::Address);
        }
        *from_address += 1;
        held.total += 1;
        Ok(Slot {
            inner: Arc::clone(&self.inner),
            address,
        })
    }

    /// [`Self::try_acquire`] for an accepted socket; a refusal is counted in
    /// `refused_connections` and logged (at most once per [`LOG_EVERY`]).
    pub fn admit(&self, remote: SocketAddr, transport: &str, stats: &Stats) -> Option<Slot> {
        let full = match self.try_acquire(remote.ip()) {
            Ok(slot) => return Some(slot),
            Err(full) => full,
        };
        stats.refused_connections.fetch_add(1, Ordering::Relaxed);
        if let Some(unlogged) = lock(&self.inner.log).note(Instant::now()) {
            warn!(
                %remote,
                transport,
                reason = %full,
                refused_unlogged = unlogged,
                "connection refused: {REFUSAL}"
            );
        }
        None
    }

    /// Connections held now, in all and from `address`.
    pub fn held(&self, address: IpAddr) -> (usize, usize) {
        let held = lock(&self.inner.held);
        let from = held.by_address.get(&address.to_canonical()).copied();
        (held.total, from.unwrap_or(0))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = lock(&self.inner.held);
        held.total = held.total.saturating_sub(1);
        if let Some(from_address) = held.by_address.get_mut(&self.address) {
            *from_address = from_address.saturating_sub(1);
            if *from_address == 0 {
                held.by_address.remove(&self.address);
            }
        }
    }
}

/// When refusals are logged: the first at once, then at most one line per [`LOG_EVERY`] that
/// says how many went unlogged in between.
#[derive(Default)]
struct RefusalLog {
    last: Option<Instant>,
    unlogged: u64,
}

impl RefusalLog {
    /// A refusal at `now`: `Some(refusals not logged since the last line)` if this one is to
    /// be logged.
    fn note(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(last) if now.saturating_duration_since(last) < LOG_EVERY => {
                self.unlogged += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.unlogged))
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Each update is a few counter changes made without anything that can panic between them;
    // a poisoned lock holds consistent counts.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_total_cap_counts_every_address() {
        let limits = ConnectionLimits::new(3, 2);
        let a = limits.try_acquire(ip("10.0.0.1")).unwrap();
        let b = limits.try_acquire(ip("10.0.0.2")).unwrap();
        let c = limits.try_acquire(ip("10.0.0.3")).unwrap();
        assert_eq!(limits.try_acquire(ip("10.0.0.4")).err(), Some(Full::Total));
        assert_eq!(limits.held(ip("10.0.0.4")), (3, 0));
        drop(b);
        let d = limits.try_acquire(ip("10.0.0.4")).unwrap();
        assert_eq!(limits.held(ip("10.0.0.4")), (3, 1));
        drop((a, c, d));
        assert_eq!(limits.held(ip("10.0.0.1")), (0, 0));
    }

    #[test]
    fn the_address_cap_is_per_ip_whatever_the_port() {
        let limits = ConnectionLimits::new(100, 2);
        let first = limits.try_acquire(ip("192.0.2.7")).unwrap();
        let _second = limits.try_acquire(ip("192.0.2.7")).unwrap();
        assert_eq!(
            limits.try_acquire(ip("192.0.2.7")).err(),
            Some(Full::Address)
        );
        // The same IPv4 client seen through a dual-stack socket is the same address.
        assert_eq!(
            limits.try_acquire(ip("::ffff:192.0.2.7")).err(),
            Some(Full::Address)
        );
        // Others are not affected.
        let _other = limits.try_acquire(ip("192.0.2.8")).unwrap();
        let _v6 = limits.try_acquire(ip("2001:db8::1")).unwrap();
        drop(first);
        let _again = limits.try_acquire(ip("192.0.2.7")).unwrap();
        assert_eq!(limits.held(ip("192.0.2.7")), (4, 2));
    }

    #[test]
    fn slots_are_given_back_on_drop_however_the_holder_ends() {
        let limits = ConnectionLimits::new(1, 1);
        let address = ip("10.1.1.1");
        // A task that is aborted drops its slot with the rest of its state.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let slot = limits.try_acquire(address).unwrap();
            let task = tokio::spawn(async move {
                let _slot = slot;
                std::future::pending::<()>().await
            });
            tokio::task::yield_now().await;
            assert_eq!(limits.try_acquire(address).err(), Some(Full::Total));
            task.abort();
            let _ = task.await;
        });
        assert_eq!(limits.held(address), (0, 0));
        // A panicking holder too.
        let held = limits.clone();
        let panicked = std::thread::spawn(move || {
            let _slot = held.try_acquire(address).unwrap();
            panic!("connection task failed");
        })
        .join();
        assert!(panicked.is_err());
        assert_eq!(limits.held(address), (0, 0));
        assert!(limits.try_acquire(address).is_ok());
    }

    #[test]
    fn refusals_are_counted_every_time_and_logged_now_and_then() {
        let limits = ConnectionLimits::new(1, 1);
        let stats = Stats::default();
        let remote: SocketAddr = "10.2.2.2:1000".parse().unwrap();
        let _slot = limits.admit(remote, "tcp", &stats).unwrap();
        for _ in 0..5 {
            assert!(limits.admit(remote, "websocket", &stats).is_none());
        }
        assert_eq!(stats.refused_connections.load(Ordering::Relaxed), 5);

        let mut log = RefusalLog::default();
        let start = Instant::now();
        assert_eq!(log.note(start), Some(0));
        assert_eq!(log.note(start + Duration::from_secs(1)), None);
        assert_eq!(log.note(start + Duration::from_secs(9)), None);
        assert_eq!(log.note(start + LOG_EVERY), Some(2));
        assert_eq!(log.note(start + LOG_EVERY), None);
    }
}
