//! [`Store`] on wasi:keyvalue@0.2.0-draft, for use inside a component.
//!
//! The bindings are generated here, once, so that every actor that links this crate imports the
//! keyvalue interfaces without naming them in its own world.

use wcc_interface::Failure;

use crate::Store;

mod bindings {
    wit_bindgen::generate!({
        world: "wasi:keyvalue/imports",
        path: "../../interface/wit/deps/keyvalue",
    });
}

mod log_bindings {
    wit_bindgen::generate!({
        world: "wcc:keyvalue/imports",
        path: "../../interface/wit/deps/wcc-keyvalue",
    });
}

use bindings::wasi::keyvalue::{atomics, batch, store};
use log_bindings::wcc::keyvalue::log;

/// One open bucket.
pub struct WasiStore {
    bucket: store::Bucket,
    /// Its name, for `wcc:keyvalue/log`, which names buckets rather than opening them.
    name: String,
}

impl WasiStore {
    /// Opens bucket `name` (the provider maps it to a JetStream KV bucket).
    pub fn open(name: &str) -> Result<Self, Failure> {
        Ok(Self {
            bucket: store::open(name).map_err(failure)?,
            name: name.to_owned(),
        })
    }
}

fn failure(e: store::Error) -> Failure {
    let reason = match e {
        store::Error::NoSuchStore => "no such store".to_string(),
        store::Error::AccessDenied => "access denied".to_string(),
        store::Error::Other(reason) => reason,
    };
    Failure::unavailable(format!("key-value store: {reason}"))
}

impl Store for WasiStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Failure> {
        self.bucket.get(key).map_err(failure)
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), Failure> {
        self.bucket.set(key, value).map_err(failure)
    }

    fn delete(&self, key: &str) -> Result<(), Failure> {
        self.bucket.delete(key).map_err(failure)
    }

    fn increment(&self, key: &str, delta: u64) -> Result<u64, Failure> {
        atomics::increment(&self.bucket, key, delta).map_err(failure)
    }

    fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, Failure> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let found = batch::get_many(&self.bucket, keys).map_err(failure)?;
        // The provider answers in request order with the key beside each value.
        Ok(found
            .into_iter()
            .map(|entry| entry.map(|(_, value)| value))
            .collect())
    }

    fn set_many(&self, entries: &[(String, Vec<u8>)]) -> Result<(), Failure> {
        if entries.is_empty() {
            return Ok(());
        }
        batch::set_many(&self.bucket, entries).map_err(failure)
    }

    fn delete_many(&self, keys: &[String]) -> Result<(), Failure> {
        if keys.is_empty() {
            return Ok(());
        }
        batch::delete_many(&self.bucket, keys).map_err(failure)
    }

    fn append_reading(
        &self,
        present: &[String],
        counter: &str,
        count: u32,
        writes: &[crate::NumberedWrite],
    ) -> Result<Option<crate::Appended>, Failure> {
        crate::check_append(count, writes)?;
        let writes: Vec<log::NumberedWrite> = writes
            .iter()
            .map(|w| log::NumberedWrite {
                offset: w.offset,
                key: w.key.clone(),
                key_ends_with_number: w.key_ends_with_number,
                value: w.value.clone(),
                value_number_at: w.value_number_at,
            })
            .collect();
        let appended = log::append(&self.name, present, counter, count, &writes)
            .map_err(|reason| Failure::unavailable(format!("key-value store: {reason}")))?;
        Ok(appended.map(|a| crate::Appended {
            first: a.first,
            present: a.present,
        }))
    }
}
