//! The operator console's files: `/` and `/console` lead to `/console/`, whose page, script and
//! style come from the built-in table, and `/console/config.json` tells the page where its live
//! feed is. No token is needed: they hold no data, and the page asks for the token itself.

use serde_json::json;
use wcc_kv::Store;

use super::{Admin, Presence, Request, Response};
use crate::operator::Messages;
use crate::Publisher;

/// Where the console lives.
pub const CONSOLE_PATH: &str = "/console/";

/// What the console's files may load: their own script and style, no inline code, websockets
/// for the feed, images inline.
pub const CONSOLE_CSP: &str =
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'";

impl<S: Store, P: Publisher, Q: Presence, M: Messages> Admin<'_, S, P, Q, M> {
    /// The answer for a console path; `None` for every other path.
    pub(super) fn console(&self, req: &Request) -> Option<Response> {
        let path = req.path;
        if !(path == "/" || path == "/console" || path.starts_with(CONSOLE_PATH)) {
            return None;
        }
        if req.method != "GET" {
            return Some(Response::error(
                405,
                "method_not_allowed",
                &format!("{} is not allowed on {path}", req.method),
            ));
        }
        Some(match path {
            "/" | "/console" => Response::empty(302).with_header("location", CONSOLE_PATH),
            "/console/config.json" => self.console_config(),
            _ => match (self.console_files)(path) {
                Some((content_type, bytes)) => Response::bytes(200, content_type, bytes.to_vec())
                    .with_header("cache-control", "no-cache")
                    .with_header("content-security-policy", CONSOLE_CSP)
                    // The console's buttons delete and ban: no other page may frame it.
                    .with_header("x-frame-options", "DENY"),
                None => Response::error(404, "not_found", &format!("no console file {path}")),
            },
        })
    }

    /// `{"feed": <console_feed_url>}`; 503 while none is configured.
    fn console_config(&self) -> Response {
        match &self.console_feed_url {
            Err(failure) => Response::failure(failure),
            Ok(Some(url)) if !url.trim().is_empty() => {
                Response::json(200, &json!({"feed": url.trim()}))
                    .with_header("cache-control", "no-cache")
            }
            Ok(_) => Response::error(
                503,
                "unavailable",
                "the console's live feed is off: no console_feed_url configured",
            ),
        }
    }
}

/// Where the console's live feed is: `configured` (`console_feed_url`, e.g. `wss://…` behind a
/// TLS proxy) when set, else the gateway's `/console` path at `gateway_addr`. A gateway listening
/// on every interface (`0.0.0.0`, `[::]`) is reached under the name the browser used for this
/// page (its `host` header), on the gateway's port.
pub fn feed_url(
    configured: Option<&str>,
    gateway_addr: Option<&str>,
    host_header: Option<&str>,
) -> Option<String> {
    if let Some(url) = configured.map(str::trim).filter(|u| !u.is_empty()) {
        return Some(url.to_owned());
    }
    let addr = gateway_addr.map(str::trim).filter(|a| !a.is_empty())?;
    let (host, port) = addr.rsplit_once(':')?;
    let host = match (host, host_header) {
        ("0.0.0.0" | "[::]", Some(page_host)) => page_host_name(page_host),
        _ => host,
    };
    Some(format!("ws://{host}:{port}/console"))
}

/// The name in a `host` header, without its port (`[::1]:8081` -> `[::1]`).
fn page_host_name(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port))
            if !name.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && (!name.starts_with('[') || name.ends_with(']')) =>
        {
            name
        }
        _ => host,
    }
}

#[cfg(test)]
mod feed_url_tests {
    use super::feed_url;

    #[test]
    fn a_configured_url_wins() {
        assert_eq!(
            feed_url(
                Some(" wss://chat.example/console "),
                Some("127.0.0.1:8080"),
                None
            )
            .as_deref(),
            Some("wss://chat.example/console")
        );
    }

    #[test]
    fn else_the_gateway_address_and_for_every_interface_the_pages_host() {
        assert_eq!(
            feed_url(Some(""), Some("127.0.0.1:8080"), Some("x:1")).as_deref(),
            Some("ws://127.0.0.1:8080/console")
        );
        assert_eq!(
            feed_url(None, Some("0.0.0.0:8080"), Some("chat.example:8081")).as_deref(),
            Some("ws://chat.example:8080/console")
        );
        assert_eq!(
            feed_url(None, Some("[::]:8080"), Some("[::1]:8081")).as_deref(),
            Some("ws://[::1]:8080/console")
        );
        assert_eq!(
            feed_url(None, Some("0.0.0.0:8080"), Some("chat.example")).as_deref(),
            Some("ws://chat.example:8080/console")
        );
        assert_eq!(feed_url(None, None, Some("x")), None);
        assert_eq!(feed_url(None, Some("nonsense"), None), None);
    }
}
