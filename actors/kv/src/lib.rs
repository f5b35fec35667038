//! The key-value store behind the core actors.
//!
//! Actor logic is written against [`Store`], so it runs natively in unit tests on
//! [`MemoryStore`] and, inside a component, on [`WasiStore`] (wasi:keyvalue@0.2.0-draft, which
//! the host forwards to the keyvalue provider on JetStream KV). [`LogSet`] builds a race-free set
//! out of the only atomic operation that interface has, `increment`, and compacts it as it goes.

pub mod keys;
mod log_set;
mod memory;
#[cfg(target_arch = "wasm32")]
mod wasi;

pub use log_set::{Contents, LogSet, COMPACT_EVERY, GAP_EXPIRY_MS};
pub use memory::{CountingStore, MemoryStore};
#[cfg(target_arch = "wasm32")]
pub use wasi::WasiStore;

use wcc_interface::{numbered, Failure};

/// A write that carries one of the numbers [`Store::append`] reserves, in decimal ([`numbered`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumberedWrite {
    /// Which of the reserved numbers: 0 for the first.
    pub offset: u32,
    pub key: String,
    /// Whether the number ends the key.
    pub key_ends_with_number: bool,
    pub value: Vec<u8>,
    /// The byte of `value` before which the number goes, if it goes in at all.
    pub value_number_at: Option<u32>,
}

impl NumberedWrite {
    /// The key and value this write makes when the first reserved number is `first`.
    pub fn render(&self, first: u64) -> (String, Vec<u8>) {
        let number = first + u64::from(self.offset);
        (
            numbered::key(&self.key, self.key_ends_with_number, number),
            numbered::value(&self.value, self.value_number_at, number),
        )
    }
}

/// What [`Store::append_reading`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    /// The first number reserved.
    pub first: u64,
    /// What the keys named present held, in order.
    pub present: Vec<Vec<u8>>,
}

/// The operations wasi:keyvalue offers, on one bucket.
pub trait Store {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Failure>;
    fn set(&self, key: &str, value: &[u8]) -> Result<(), Failure>;
    fn delete(&self, key: &str) -> Result<(), Failure>;
    /// Atomically adds `delta` and returns the new value (a missing key counts as 0).
    fn increment(&self, key: &str, delta: u64) -> Result<u64, Failure>;
    /// Values of `keys`, in order; `None` where a key is missing.
    fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, Failure>;
    /// [`Store::get_many`], refusing an answer that does not hold one value per key (so a
    /// caller may pair keys with values by position).
    fn get_each(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, Failure> {
        let values = self.get_many(keys)?;
        if values.len() != keys.len() {
            return Err(Failure::unavailable(format!(
                "key-value store answered {} values for {} keys",
                values.len(),
                keys.len()
            )));
        }
        Ok(values)
    }
    /// Writes every pair; one call to the store, however many keys (the provider writes them
    /// concurrently, so no order between them is promised).
    fn set_many(&self, entries: &[(String, Vec<u8>)]) -> Result<(), Failure>;
    /// Deletes every key (a missing one is no error). One call to the store where it has a
    /// batch delete; by default one `delete` each.
    fn delete_many(&self, keys: &[String]) -> Result<(), Failure> {
        keys.iter().try_for_each(|key| self.delete(key))
    }

    /// Reserves the next `count` numbers of the counter at `counter` and writes `writes`, each
    /// with its number; returns the first. The provider does both in one call
    /// (`wcc:keyvalue/log`).
    fn append(&self, counter: &str, count: u32, writes: &[NumberedWrite]) -> Result<u64, Failure> {
        // An empty condition always holds.
        self.append_if_present(&[], counter, count, writes)?
            .ok_or_else(|| Failure::unavailable("key-value store refused an unconditional append"))
    }

    /// [`Store::append`] if every key in `present` exists, else nothing (`None`). The keys are
    /// read before the numbers are reserved, in the same call to the provider; like a read
    /// before a write, not atomically with it.
    fn append_if_present(
        &self,
        present: &[String],
        counter: &str,
        count: u32,
        writes: &[NumberedWrite],
    ) -> Result<Option<u64>, Failure> {
        let appended = self.append_reading(present, counter, count, writes)?;
        Ok(appended.map(|appended| appended.first))
    }

    /// [`Store::append_if_present`] that also answers what the keys in `present` hold, in
    /// order: a key the caller needs can be read in the call that writes. By default:
    /// `get_many`, `increment`, `set_many`.
    fn append_reading(
        &self,
        present: &[String],
        counter: &str,
        count: u32,
        writes: &[NumberedWrite],
    ) -> Result<Option<Appended>, Failure> {
        check_append(count, writes)?;
        let Some(values) = self
            .get_each(present)?
            .into_iter()
            .collect::<Option<Vec<_>>>()
        else {
            return Ok(None);
        };
        let first = self.increment(counter, u64::from(count))? - u64::from(count) + 1;
        let rendered: Vec<_> = writes.iter().map(|w| w.render(first)).collect();
        self.set_many(&rendered)?;
        Ok(Some(Appended {
            first,
            present: values,
        }))
    }

    /// Reads a JSON value.
    fn get_json<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Failure> {
        match self.get(key)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Failure::unavailable(format!("corrupt value at {key}: {e}"))),
        }
    }

    /// Writes a JSON value.
    fn set_json<T: serde::Serialize>(&self, key: &str, value: &T) -> Result<(), Failure> {
        let bytes = serde_json::to_vec(value).map_err(|e| Failure::unavailable(e.to_string()))?;
        self.set(key, &bytes)
    }
}

/// Refuses what `append` could not do: reserve no number, or write outside the reserved ones.
pub fn check_append(count: u32, writes: &[NumberedWrite]) -> Result<(), Failure> {
    if count == 0 {
        return Err(Failure::invalid("append reserves at least one number"));
    }
    if writes.iter().any(|w| w.offset >= count) {
        return Err(Failure::invalid(
            "append writes beyond the numbers it reserves",
        ));
    }
    Ok(())
}
