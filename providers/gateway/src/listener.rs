//! The gateway's HTTP port, shared by every channel actor and routed by path (`/venueless`,
//! `/cadmium`, ...). Each connection takes its slot (`limits.rs`), sends its request head
//! within `request_timeout`, and is then what the head asks for: a websocket
//! (`websocket.rs`), or, at a route that answers HTTP, one exchange (`exchange.rs`). Anything
//! else gets a plain refusal: 503 over the caps, 404 at an unknown path, 426 for a plain request
//! at a websocket-only path.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use tokio::{
    net::{TcpListener, TcpStream},
    time::Instant,
};
use tokio_tungstenite::tungstenite::http::{header, HeaderValue, Request, StatusCode};
use tracing::{debug, warn};

use crate::{
    config::Route,
    connection::Server,
    exchange,
    http::{self, HeadError, Response},
    limits::REFUSAL,
    websocket,
};

/// How long a refused client may take to send its request before it is dropped unanswered:
/// refused connections hold no slot, so they must not linger.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(5);

/// Accepts connections until shutdown.
pub async fn serve(listener: TcpListener, server: Arc<Server>) {
    let mut shutdown = server.shutdown.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(handle(Arc::clone(&server), stream, remote));
                }
                Err(e) => warn!("accept failed: {e}"),
            },
            _ = shutdown.changed() => return,
        }
    }
}

/// Where a request goes.
#[derive(Debug, PartialEq)]
pub enum Door {
    Websocket(Route),
    Exchange(Route),
    Refused(Response),
}

/// Pure: where `request` goes, given whether its connection got a slot and the route at its
/// path.
pub fn door(request: &Request<()>, admitted: bool, route: Option<&Route>) -> Door {
    if !admitted {
        return Door::Refused(refusal());
    }
    let Some(route) = route else {
        let path = request.uri().path();
        let text = format!("no chat protocol at {path}");
        return Door::Refused(Response::text(StatusCode::NOT_FOUND, &text));
    };
    if http::wants_websocket(request) {
        Door::Websocket(route.clone())
    } else if route.http {
        Door::Exchange(route.clone())
    } else {
        let text = format!("{} speaks websocket: send an upgrade request", route.path);
        Door::Refused(
            Response::text(StatusCode::UPGRADE_REQUIRED, &text)
                .with(header::UPGRADE, HeaderValue::from_static("websocket")),
        )
    }
}

/// The answer to a client over the connection caps.
pub fn refusal() -> Response {
    Response::text(StatusCode::SERVICE_UNAVAILABLE, REFUSAL)
        .with(header::RETRY_AFTER, HeaderValue::from_static("5"))
}

async fn handle(server: Arc<Server>, mut stream: TcpStream, remote: SocketAddr) {
    let stats = server.fanout.stats();
    // Held until the connection is over, whichever way it ends.
    let slot = server.limits.admit(remote, "http", stats);
    let timeout = server.config.request_timeout;
    let deadline = Instant::now()
        + match slot {
            Some(_) => timeout,
            None => timeout.min(REFUSAL_TIMEOUT),
        };
    // Boxed, as every step before the connection runs: a future is as large as its largest
    // await, and an idle websocket would otherwise hold the state of its head's reading.
    let reading = Box::pin(http::read_head(&mut stream));
    let head = match tokio::time::timeout_at(deadline, reading).await {
        Ok(Ok(head)) => head,
        Ok(Err(HeadError::Gone)) => return,
        Ok(Err(HeadError::TooLarge)) => {
            let response = Response::text(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "request head too large",
            );
            return Box::pin(http::respond(stream, &response, timeout)).await;
        }
        Ok(Err(HeadError::Malformed(why))) => {
            debug!(%remote, "not an HTTP request: {why}");
            let response = Response::text(StatusCode::BAD_REQUEST, "not an HTTP/1.1 request");
            return Box::pin(http::respond(stream, &response, timeout)).await;
        }
        Err(_) => return debug!(%remote, "no request in time; dropped"),
    };
    let route = {
        let routes = server.routes.read().await;
        routes.get(head.request.uri().path()).cloned()
    };
    match door(&head.request, slot.is_some(), route.as_ref()) {
        Door::Websocket(route) => {
            return websocket::upgrade(server, route, stream, remote, head, slot).await;
        }
        Door::Exchange(route) => {
            Box::pin(exchange::serve(
                server, route, stream, remote, head, deadline,
            ))
            .await
        }
        Door::Refused(response) => Box::pin(http::respond(stream, &response, timeout)).await,
    }
    drop(slot);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(text: &str) -> Request<()> {
        http::parse_head(text.as_bytes()).unwrap().unwrap().request
    }

    fn route(http: bool) -> Route {
        Route {
            path: "/faye".into(),
            protocol: "actionhero".into(),
            component: "c".into(),
            line_addr: None,
            http,
            echo_to_sender: true,
        }
    }

    const UPGRADE: &str = "GET /faye HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
    const POST: &str = "POST /faye HTTP/1.1\r\nContent-Length: 2\r\n\r\n";

    #[test]
    fn requests_go_where_their_route_lets_them() {
        assert_eq!(
            door(&request(UPGRADE), true, Some(&route(false))),
            Door::Websocket(route(false))
        );
        assert_eq!(
            door(&request(UPGRADE), true, Some(&route(true))),
            Door::Websocket(route(true))
        );
        assert_eq!(
            door(&request(POST), true, Some(&route(true))),
            Door::Exchange(route(true))
        );
    }

    #[test]
    fn plain_requests_are_refused_where_http_is_off_and_everything_over_the_caps() {
        let Door::Refused(refused) = door(&request(POST), true, Some(&route(false))) else {
            panic!("a websocket-only path answered plain HTTP")
        };
        assert_eq!(refused.status, StatusCode::UPGRADE_REQUIRED);
        assert!(refused
            .headers
            .contains(&(header::UPGRADE, HeaderValue::from_static("websocket"))));
        let Door::Refused(unknown) = door(&request(UPGRADE), true, None) else {
            panic!("an unknown path was served")
        };
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        assert_eq!(unknown.body, b"no chat protocol at /faye\n");
        for text in [UPGRADE, POST] {
            assert_eq!(
                door(&request(text), false, Some(&route(true))),
                Door::Refused(refusal())
            );
        }
    }

    #[tokio::test]
    async fn a_websocket_client_over_the_caps_reads_503() {
        use tokio_tungstenite::tungstenite::Error;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/venueless", listener.local_addr().unwrap());
        let server = async {
            let (mut stream, _) = listener.accept().await.unwrap();
            http::read_head(&mut stream).await.unwrap();
            http::respond(stream, &refusal(), Duration::from_secs(5)).await;
        };
        let (client, ()) = tokio::join!(tokio_tungstenite::connect_async(url), server);
        match client {
            Err(Error::Http(response)) => {
                assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
                assert_eq!(response.headers()[header::RETRY_AFTER], "5");
                let body = response.body().clone().unwrap_or_default();
                assert_eq!(String::from_utf8_lossy(&body), format!("{REFUSAL}\n"));
            }
            other => panic!("expected a 503, got {other:?}"),
        }
    }
}
