//! A real Chromium for the console's end-to-end test: Debian's `chromium`, driven over WebDriver
//! by Debian's `chromedriver` (both installed by `tests/browser-setup.sh`) through `fantoccini`.
//!
//! Chromium runs headless with a profile in the browser's state folder. Every process it starts
//! carries a marker in its environment, so the guard that ends the driver can find and kill the
//! browser too, whichever way the test ends (passed, failed, panicked): none outlives the test.
//!
//! Waits poll the page every 100 ms until a condition holds, and fail after [`WAIT`] saying what
//! was awaited and what was there instead. Actions (click, type) are done once, never again.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::{bail, Context, Result};
use fantoccini::{Client, ClientBuilder, Locator};
use nix::{sys::signal, unistd::Pid};
use serde_json::{json, Value};
use wcc_lattice::local::free_port;

/// How long a wait in the page may take before it fails.
pub const WAIT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(100);
/// How long chromedriver may take to listen.
const DRIVER_START: Duration = Duration::from_secs(20);
const ENV_MARKER: &str = "WCC_E2E_BROWSER";

/// Headless Chromium in a WebDriver session, with a state folder for its profile, the driver's
/// log and the screenshots.
pub struct Browser {
    client: Client,
    state: PathBuf,
    // Declared last: dropped after the session, so a closed session lets Chromium exit first.
    driver: Driver,
}

impl Browser {
    /// Starts chromedriver on a free port and opens a session whose Chromium keeps its profile
    /// in `state/profile`. `state` is created if missing.
    pub async fn start(state: &Path) -> Result<Self> {
        std::fs::create_dir_all(state)?;
        let driver = Driver::start(state)?;
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--no-default-browser-check",
                    "--disable-extensions",
                    "--window-size=1440,1000",
                    format!("--user-data-dir={}", state.join("profile").display()),
                ],
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object literal")
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url)
            .await
            .with_context(|| {
                format!(
                    "no Chromium session from chromedriver (its log: {})",
                    driver.log.display()
                )
            })?;
        Ok(Self {
            client,
            state: state.to_path_buf(),
            driver,
        })
    }

    /// Ends the session (Chromium exits) and then the driver.
    pub async fn close(self) -> Result<()> {
        let Self { client, driver, .. } = self;
        let closed = client.close().await;
        drop(driver);
        closed.context("closing the browser session")
    }

    pub async fn goto(&self, url: &str) -> Result<()> {
        self.client
            .goto(url)
            .await
            .with_context(|| format!("opening {url}"))
    }

    /// The page's address now (after redirects).
    pub async fn url(&self) -> Result<String> {
        Ok(self.client.current_url().await?.to_string())
    }

    /// Clicks the element `selector` names.
    pub async fn click(&self, selector: &str) -> Result<()> {
        self.find(selector)
            .await?
            .click()
            .await
            .with_context(|| format!("clicking {selector}"))
    }

    /// Replaces the text of the input `selector` names with `text`, typed as keys.
    pub async fn fill(&self, selector: &str, text: &str) -> Result<()> {
        let input = self.find(selector).await?;
        input
            .clear()
            .await
            .with_context(|| format!("clearing {selector}"))?;
        input
            .send_keys(text)
            .await
            .with_context(|| format!("typing into {selector}"))
    }

    async fn find(&self, selector: &str) -> Result<fantoccini::elements::Element> {
        self.client
            .find(Locator::Css(selector))
            .await
            .with_context(|| format!("no element {selector} in the page"))
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page.
    pub async fn eval(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.client
            .execute(script, args)
            .await
            .with_context(|| format!("running in the page: {script}"))
    }

    /// Polls `script` until it returns something other than `null`, `false` or `undefined`
    /// and returns that; fails after [`WAIT`] naming `what` and the script's last answer.
    pub async fn wait_for(&self, what: &str, script: &str, args: Vec<Value>) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let answer = self.eval(script, args.clone()).await?;
            if !matches!(answer, Value::Null | Value::Bool(false)) {
                return Ok(answer);
            }
            if tokio::time::Instant::now() > deadline {
                bail!(
                    "waited {WAIT:?} for {what}; the page: {}",
                    self.digest().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until `selector` names an element the user can see.
    pub async fn wait_visible(&self, selector: &str) -> Result<()> {
        self.wait_for(
            &format!("{selector} to be shown"),
            "const el = document.querySelector(arguments[0]); \
             return !!el && el.checkVisibility();",
            vec![json!(selector)],
        )
        .await
        .map(drop)
    }

    /// Whether `selector` names an element the user can see now.
    pub async fn visible(&self, selector: &str) -> Result<bool> {
        let answer = self
            .eval(
                "const el = document.querySelector(arguments[0]); \
                 return !!el && el.checkVisibility();",
                vec![json!(selector)],
            )
            .await?;
        Ok(answer == json!(true))
    }

    /// The trimmed text of the element `selector` names, once it exists and `accept` takes it.
    pub async fn wait_text(
        &self,
        selector: &str,
        what: &str,
        accept: impl Fn(&str) -> bool,
    ) -> Result<String> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let text = self.text(selector).await?;
            if let Some(text) = &text {
                if accept(text) {
                    return Ok(text.clone());
                }
            }
            if tokio::time::Instant::now() > deadline {
                bail!(
                    "waited {WAIT:?} for {selector} to read {what}; it reads {text:?}; the page: {}",
                    self.digest().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The trimmed text of the element `selector` names, or None when there is none.
    pub async fn text(&self, selector: &str) -> Result<Option<String>> {
        let answer = self
            .eval(
                "const el = document.querySelector(arguments[0]); \
                 return el ? el.textContent.trim() : null;",
                vec![json!(selector)],
            )
            .await?;
        Ok(answer.as_str().map(str::to_owned))
    }

    /// Waits for a dialog (`confirm`, `alert`) and accepts it; returns its text.
    pub async fn accept_dialog(&self) -> Result<String> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match self.client.get_alert_text().await {
                Ok(text) => {
                    self.client
                        .accept_alert()
                        .await
                        .context("accepting the dialog")?;
                    return Ok(text);
                }
                Err(e) if tokio::time::Instant::now() > deadline => {
                    bail!("waited {WAIT:?} for a dialog: {e}")
                }
                Err(_) => tokio::time::sleep(POLL).await,
            }
        }
    }

    /// Saves a PNG of the window as `name` in the state folder, prints and returns its path.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let png = self
            .client
            .screenshot()
            .await
            .with_context(|| format!("taking screenshot {name}"))?;
        let path = self.state.join(name);
        std::fs::write(&path, png)?;
        println!("screenshot: {}", path.display());
        Ok(path)
    }

    /// Where the page is and its visible text, cut short: what a failed wait reports.
    async fn digest(&self) -> String {
        let script = "return location.href + '\\n' + \
                      (document.body ? document.body.innerText : '').slice(0, 3000);";
        match self.client.execute(script, vec![]).await {
            Ok(Value::String(text)) => text,
            Ok(other) => other.to_string(),
            Err(e) => format!("(unreadable: {e})"),
        }
    }

    /// The browser's state folder (profile, driver log, screenshots).
    pub fn state(&self) -> &Path {
        &self.state
    }

    /// The driver's log, for failure messages.
    pub fn driver_log(&self) -> &Path {
        &self.driver.log
    }
}

/// chromedriver and every process it started (Chromium and its helpers), ended on drop.
struct Driver {
    child: Child,
    url: String,
    log: PathBuf,
    /// The value of [`ENV_MARKER`] in the environment of every process of this browser.
    marker: String,
}

impl Driver {
    fn start(state: &Path) -> Result<Self> {
        let port = free_port()?;
        let log = state.join("chromedriver.log");
        // Its own log goes to `log`; what it and Chromium print goes beside it.
        let output = std::fs::File::create(state.join("chromedriver.out"))?;
        let marker = format!("{}-{port}", std::process::id());
        let mut command = Command::new("chromedriver");
        command
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .env(ENV_MARKER, &marker)
            .stdin(Stdio::null())
            .stdout(output.try_clone()?)
            .stderr(output);
        let child = command.spawn().context(
            "chromedriver did not start: install it with tests/browser-setup.sh \
             (Debian's chromium-driver)",
        )?;
        let mut driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            marker,
        };
        driver.wait_listening()?;
        Ok(driver)
    }

    /// Waits until chromedriver answers `/status` as ready.
    fn wait_listening(&mut self) -> Result<()> {
        let deadline = std::time::Instant::now() + DRIVER_START;
        let status = format!("{}/status", self.url);
        loop {
            if let Some(exit) = self.child.try_wait()? {
                bail!(
                    "chromedriver exited ({exit}); its log: {}",
                    self.log.display()
                );
            }
            let ready = ureq::get(&status)
                .timeout(Duration::from_secs(2))
                .call()
                .ok()
                .and_then(|response| response.into_string().ok())
                .and_then(|body| serde_json::from_str::<Value>(&body).ok())
                .is_some_and(|body| body["value"]["ready"] == true);
            if ready {
                return Ok(());
            }
            if std::time::Instant::now() > deadline {
                bail!(
                    "chromedriver not ready within {DRIVER_START:?}; its log: {}",
                    self.log.display()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// The processes whose environment carries this browser's marker (chromedriver's children
    /// inherit it, and theirs in turn), found by reading /proc.
    fn marked_processes(&self) -> Vec<i32> {
        let wanted = format!("{ENV_MARKER}={}", self.marker);
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
                    environ
                        .split(|byte| *byte == 0)
                        .any(|var| var == wanted.as_bytes())
                })
            })
            .collect()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Chromium's processes may outlive the driver (a crash handler detaches on purpose):
        // kill every marked one until none is left; a dying browser may still start a helper.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let left = self.marked_processes();
            if left.is_empty() || std::time::Instant::now() > deadline {
                if !left.is_empty() {
                    eprintln!("browser processes still running after the test: {left:?}");
                }
                return;
            }
            for pid in left {
                let _ = signal::kill(Pid::from_raw(pid), signal::Signal::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
