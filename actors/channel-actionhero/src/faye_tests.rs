//! The browser client's Bayeux, on the real core: the frames Faye 1.0.4 under
//! `actionheroClient.js` v7.6.5 sends over its websocket, and the frames it needs back.

// `frames`: the frames sent, each a list of Bayeux messages.
use channel_kit::core::{sent_json as frames, CoreBackend};
use channel_kit::{Action, Channel, Frame, Outcome, Session};
use serde_json::{json, Value};
use wcc_interface::{Envelope, Event, Note, StoredMessage};

use crate::bayeux::{self, Command};
use crate::faye::{ADVICE, CONNECTION_CHANNEL};
use crate::session::State;
use crate::{render, Actionhero, Framing, FRAMING_KEY};

/// The setup channel the client picked (`'/client/websocket/_incoming/' + randomString()`).
const SETUP: &str = "/client/websocket/_incoming/Zq3xW9aPLmKc8dRt2VbN7yHs4EuJ6fGo-1417046400000";

/// A component configured for Bayeux, whose lobby exists.
fn backend() -> CoreBackend {
    let backend = CoreBackend::new();
    backend.set_setting(FRAMING_KEY, "bayeux");
    backend.add_room("lobby", "text");
    backend.set_now(1_000);
    backend
}

fn socket() -> Session {
    Session {
        connection_id: "gw-1".into(),
        transport: "websocket".into(),
        remote: "127.0.0.2:40100".into(),
        ..Session::default()
    }
}

fn received(backend: &CoreBackend, session: Session, frame: &str) -> Outcome {
    Actionhero::received(session, Frame::Text(frame.into()), backend)
}

/// The one frame sent.
fn frame(outcome: &Outcome) -> Value {
    let sent = frames(outcome);
    assert_eq!(sent.len(), 1, "{:?}", outcome.actions);
    sent[0].clone()
}

fn publish(id: &str, data: Value) -> String {
    json!([{"channel": CONNECTION_CHANNEL, "data": data, "clientId": "gw-1", "id": id}]).to_string()
}

/// Publishes `data` as the client's `send()` does; returns the session and the reply
/// delivered after the acknowledgement.
fn request(backend: &CoreBackend, session: Session, id: &str, data: Value) -> (Session, Value) {
    let outcome = received(backend, session, &publish(id, data));
    let sent = frame(&outcome);
    assert_eq!(
        sent[0],
        json!({"id": id, "channel": CONNECTION_CHANNEL, "successful": true})
    );
    assert_eq!(sent[1]["channel"], CONNECTION_CHANNEL, "{sent}");
    assert_eq!(sent.as_array().unwrap().len(), 2, "{sent}");
    (outcome.session, sent[1]["data"].clone())
}

/// A client through handshake, setup and its connection channel, as `connect()` leaves it.
fn connected(backend: &CoreBackend) -> Session {
    let session = Actionhero::opened(socket(), backend).session;
    let handshake = r#"[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["websocket"],"id":"1"}]"#;
    let session = received(backend, session, handshake).session;
    let setup = json!([{"channel": "/meta/subscribe", "clientId": "gw-1", "subscription": SETUP, "id": "2"}]);
    let session = received(backend, session, &setup.to_string()).session;
    let own = json!([{"channel": "/meta/subscribe", "clientId": "gw-1", "subscription": CONNECTION_CHANNEL, "id": "3"}]);
    received(backend, session, &own.to_string()).session
}

#[test]
fn the_frames_faye_sends_decode() {
    let read = |text: &str| bayeux::decode(text).unwrap();
    assert_eq!(read("[]"), vec![]);
    let handshake = read(
        r#"[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"],"id":"1"}]"#,
    );
    assert_eq!(handshake[0].command, Ok(Command::Handshake));
    assert_eq!(handshake[0].reply.id, Some(json!("1")));
    let connect = read(
        r#"[{"channel":"/meta/connect","clientId":"c1","connectionType":"websocket","id":"3"}]"#,
    );
    assert_eq!(connect[0].command, Ok(Command::Connect));
    assert_eq!(connect[0].reply.client_id.as_deref(), Some("c1"));
    let subscribe =
        read(r#"{"channel":"/meta/subscribe","clientId":"c1","subscription":"/a/b","id":"2"}"#);
    assert_eq!(
        subscribe[0].command,
        Ok(Command::Subscribe(vec!["/a/b".into()]))
    );
    assert_eq!(subscribe[0].reply.subscription, Some(json!("/a/b")));
    let both = read(
        r#"[{"channel":"/meta/unsubscribe","clientId":"c1","subscription":["/a","/b"]},{"channel":"/meta/disconnect","clientId":"c1"}]"#,
    );
    assert_eq!(
        both[0].command,
        Ok(Command::Unsubscribe(vec!["/a".into(), "/b".into()]))
    );
    assert_eq!(both[1].command, Ok(Command::Disconnect));
    let published = read(r#"[{"channel":"/x/y","data":{"event":"say"},"clientId":"c1","id":"9"}]"#);
    assert_eq!(
        published[0].command,
        Ok(Command::Publish {
            channel: "/x/y".into(),
            data: json!({"event": "say"})
        })
    );
    // Faye's server answers a publish without the client id.
    assert_eq!(published[0].reply.client_id, None);

    for (text, error) in [
        (
            r#"{"channel":"/meta/connect","connectionType":"websocket"}"#,
            "402:clientId:Missing required parameter",
        ),
        (
            r#"{"channel":"/meta/connect","clientId":"c"}"#,
            "402:connectionType:Missing required parameter",
        ),
        (
            r#"{"channel":"/meta/connect","clientId":"c","connectionType":"pigeon"}"#,
            "301:pigeon:Connection types not supported",
        ),
        (
            r#"{"channel":"/meta/handshake","supportedConnectionTypes":["websocket"]}"#,
            "402:version:Missing required parameter",
        ),
        (
            r#"{"channel":"/meta/handshake","version":"1.0"}"#,
            "402:supportedConnectionTypes:Missing required parameter",
        ),
        (
            r#"{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["smoke"]}"#,
            "301:smoke:Connection types not supported",
        ),
        (
            r#"{"channel":"/meta/subscribe","clientId":"c"}"#,
            "402:subscription:Missing required parameter",
        ),
        (
            r#"{"channel":"/meta/subscribe","clientId":"c","subscription":"/a/*"}"#,
            bayeux::NO_WILDCARDS,
        ),
        (
            r#"{"channel":"/meta/subscribe","clientId":"c","subscription":"/**"}"#,
            bayeux::NO_WILDCARDS,
        ),
        (
            r#"{"channel":"/meta/subscribe","clientId":"c","subscription":"/meta/connect"}"#,
            "403:/meta/connect:Forbidden channel",
        ),
        (
            r#"{"channel":"/meta/subscribe","clientId":"c","subscription":"nope"}"#,
            "405:nope:Invalid channel",
        ),
        (
            r#"{"channel":"/meta/launch"}"#,
            "403:/meta/launch:Forbidden channel",
        ),
        (r#"{"channel":"/a b"}"#, "405:/a b:Invalid channel"),
        (
            r#"{"channel":"/a/b"}"#,
            "402:data:Missing required parameter",
        ),
        (r#"{"data":1}"#, "405::Invalid channel"),
        ("[7]", "400::Bad request"),
        // A channel the error grammar cannot carry is left out of the error.
        (r#"{"channel":"/a,b:c"}"#, "405::Invalid channel"),
    ] {
        assert_eq!(read(text)[0].command, Err(error.to_owned()), "{text}");
    }
    for frame in ["{", "\"hello\"", "3"] {
        assert!(bayeux::decode(frame).is_err(), "{frame}");
    }
    let too_many = Value::Array(vec![json!({"channel": "/a"}); bayeux::MAX_MESSAGES + 1]);
    assert!(bayeux::decode(&too_many.to_string()).is_err());
}

#[test]
fn bayeux_replies_carry_what_faye_reads() {
    let reply = |channel: &str| bayeux::Reply {
        id: Some(json!("4")),
        channel: Some(channel.into()),
        client_id: Some("c1".into()),
        subscription: None,
    };
    assert_eq!(
        reply(bayeux::HANDSHAKE).handshaken("c1", ADVICE),
        json!({
            "id": "4",
            "channel": "/meta/handshake",
            "successful": true,
            "version": "1.0",
            "supportedConnectionTypes": ["websocket"],
            "clientId": "c1",
            "advice": {"reconnect": "retry", "interval": 30_000, "timeout": 45_000},
        })
    );
    // A failed connect sends the client back to its handshake, as Faye's server does.
    assert_eq!(
        reply(bayeux::CONNECT).refused("401:c1:Unknown client"),
        json!({
            "id": "4",
            "channel": "/meta/connect",
            "clientId": "c1",
            "successful": false,
            "error": "401:c1:Unknown client",
            "advice": {"reconnect": "handshake"},
        })
    );
    assert_eq!(
        reply("/a").refused("403:/a:Forbidden channel"),
        json!({"id": "4", "channel": "/a", "clientId": "c1", "successful": false, "error": "403:/a:Forbidden channel"})
    );
    assert!(bayeux::is_channel_name("/client/websocket/connection/me"));
    assert!(bayeux::is_channel_name(SETUP));
    for bad in ["", "/", "a/b", "/a//b", "/a/", "/a b", "/a/*"] {
        assert!(!bayeux::is_channel_name(bad), "{bad:?}");
    }
}

/// The whole of `connect()` and the first `detailsView`, frame by frame.
#[test]
fn the_era_client_connects_and_gets_its_channel_and_greeting() {
    let backend = backend();
    // Faye opens the socket while it handshakes, to see whether websockets work: nothing is
    // said and nothing is made for it.
    let outcome = Actionhero::opened(socket(), &backend);
    assert_eq!(outcome.actions, vec![]);
    assert_eq!(outcome.session.user, None);
    // Faye's keep-alive.
    let outcome = received(&backend, outcome.session, "[]");
    assert_eq!(outcome.actions, vec![]);

    let handshake = r#"[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"],"id":"1"}]"#;
    let outcome = received(&backend, outcome.session, handshake);
    assert_eq!(
        frame(&outcome),
        json!([{
            "id": "1",
            "channel": "/meta/handshake",
            "successful": true,
            "version": "1.0",
            "supportedConnectionTypes": ["websocket"],
            "clientId": "gw-1",
            "advice": {"reconnect": "retry", "interval": 30_000, "timeout": 45_000},
        }])
    );

    // The setup subscription starts the connection: a guest in the default room, and the id
    // of its connection channel.
    let setup = json!([{"channel": "/meta/subscribe", "clientId": "gw-1", "subscription": SETUP, "id": "2"}]);
    let outcome = received(&backend, outcome.session, &setup.to_string());
    let guest = outcome.session.user.clone().expect("a guest");
    assert!(backend.is_member("defaultRoom", &guest));
    assert_eq!(
        backend.subscribed(&outcome.actions, Some(&guest)),
        ["defaultRoom"]
    );
    assert_eq!(
        frame(&outcome),
        json!([
            {"id": "2", "channel": "/meta/subscribe", "clientId": "gw-1", "subscription": SETUP, "successful": true},
            {"channel": SETUP, "data": {"id": "me"}},
        ])
    );

    // Its connect: answered at once, with the interval that keeps it from looping.
    let connect =
        r#"[{"channel":"/meta/connect","clientId":"gw-1","connectionType":"websocket","id":"3"}]"#;
    let outcome = received(&backend, outcome.session, connect);
    assert_eq!(
        frame(&outcome),
        json!([{
            "id": "3",
            "channel": "/meta/connect",
            "clientId": "gw-1",
            "successful": true,
            "advice": {"reconnect": "retry", "interval": 30_000, "timeout": 45_000},
        }])
    );

    let unsubscribe = json!([{"channel": "/meta/unsubscribe", "clientId": "gw-1", "subscription": SETUP, "id": "4"}]);
    let outcome = received(&backend, outcome.session, &unsubscribe.to_string());
    assert_eq!(
        frame(&outcome),
        json!([{"id": "4", "channel": "/meta/unsubscribe", "clientId": "gw-1", "subscription": SETUP, "successful": true}])
    );

    let own = json!([{"channel": "/meta/subscribe", "clientId": "gw-1", "subscription": CONNECTION_CHANNEL, "id": "5"}]);
    let outcome = received(&backend, outcome.session, &own.to_string());
    assert_eq!(
        frame(&outcome),
        json!([
            {"id": "5", "channel": "/meta/subscribe", "clientId": "gw-1", "subscription": CONNECTION_CHANNEL, "successful": true},
            {"channel": CONNECTION_CHANNEL, "data": {
                "welcome": crate::DEFAULT_WELCOME,
                "room": "defaultRoom",
                "context": "api",
            }},
        ])
    );
    // The connection started once: the same guest, no second join.
    assert_eq!(outcome.session.user.as_ref(), Some(&guest));
    assert!(!outcome
        .actions
        .iter()
        .any(|a| matches!(a, Action::Subscribe(_))));

    let (session, details) = request(
        &backend,
        outcome.session,
        "6",
        json!({"event": "detailsView"}),
    );
    assert_eq!(
        details,
        json!({
            "status": "OK",
            "context": "response",
            "data": {
                "id": "gw-1",
                "remoteIP": "127.0.0.2",
                "remotePort": 40100,
                "params": {},
                "connectedAt": 1_000,
                "room": "defaultRoom",
                "totalActions": 0,
                "pendingActions": 0,
            },
            "messageCount": 1,
        })
    );
    assert_eq!(State::parse(&session.data).message_count, 1);
}

#[test]
fn the_era_client_runs_its_verbs_and_actions() {
    let backend = backend();
    let session = connected(&backend);
    let guest = session.user.clone().unwrap();

    // client.roomChange('lobby')
    let outcome = received(
        &backend,
        session,
        &publish("7", json!({"event": "roomChange", "room": "lobby"})),
    );
    assert_eq!(
        backend.subscribed(&outcome.actions, Some(&guest)),
        ["lobby"]
    );
    assert!(outcome
        .actions
        .contains(&Action::Unsubscribe("defaultRoom".into())));
    assert_eq!(
        frame(&outcome)[1]["data"],
        json!({"status": "OK", "context": "response", "data": true, "messageCount": 1})
    );
    // client.say('hello')
    let (session, reply) = request(
        &backend,
        outcome.session,
        "8",
        json!({"event": "say", "message": "hello"}),
    );
    assert_eq!(
        reply,
        json!({"status": "OK", "context": "response", "messageCount": 2})
    );
    assert_eq!(backend.messages("lobby")[0].sender, guest);
    // client.roomView()
    let (session, reply) = request(&backend, session, "9", json!({"event": "roomView"}));
    assert_eq!(reply["data"]["room"], "lobby");
    assert_eq!(reply["data"]["membersCount"], 1);
    // client.listenToRoom / silenceRoom
    let (session, reply) = request(
        &backend,
        session,
        "a",
        json!({"event": "listenToRoom", "room": "defaultRoom"}),
    );
    assert_eq!(reply["data"], true, "{reply}");
    let (session, reply) = request(
        &backend,
        session,
        "b",
        json!({"event": "silenceRoom", "room": "defaultRoom"}),
    );
    assert_eq!(reply["data"], true, "{reply}");
    // client.action('register', {...}) and client.action('login', {...})
    let (session, reply) = request(
        &backend,
        session,
        "c",
        json!({"event": "action", "params": {"login": "ada", "password": "pw-secret", "action": "register"}}),
    );
    assert_eq!(reply["user"]["login"], "ada", "{reply}");
    assert_eq!(reply["context"], "response");
    assert_eq!(reply["messageCount"], 6);
    let (session, reply) = request(
        &backend,
        session,
        "d",
        json!({"event": "action", "params": {"login": "ada", "password": "pw-secret", "action": "login"}}),
    );
    assert_eq!(reply["authenticated"], true, "{reply}");
    let ada = session.user.clone().unwrap();
    assert!(backend.is_member("lobby", &ada));
    let (session, reply) = request(
        &backend,
        session,
        "e",
        json!({"event": "action", "params": {"action": "fly"}}),
    );
    assert_eq!(
        reply,
        json!({
            "error": "Error: fly is not a known action or that is not a valid apiVersion.",
            "context": "response",
            "messageCount": 8,
        })
    );
    // client.documentation()
    let (session, reply) = request(&backend, session, "f", json!({"event": "documentation"}));
    assert_eq!(reply["data"]["login"]["1"]["name"], "login");
    // Upstream's websocket server has no param verbs.
    let (session, reply) = request(&backend, session, "g", json!({"event": "paramsView"}));
    assert_eq!(
        reply,
        json!({
            "status": "verb not found or not allowed",
            "context": "response",
            "data": null,
            "messageCount": 10,
        })
    );
    // client.roomLeave()
    let (session, reply) = request(&backend, session, "h", json!({"event": "roomLeave"}));
    assert_eq!(reply["data"], true);
    assert!(!backend.is_member("lobby", &ada));
    // quit: goodbye on the channel, and the socket closes.
    let outcome = received(&backend, session, &publish("i", json!({"event": "quit"})));
    assert_eq!(
        frame(&outcome)[1]["data"],
        json!({"status": "Bye!", "context": "api", "reason": "quit requested"})
    );
    assert_eq!(
        outcome.actions.last(),
        Some(&Action::Close(1000, "quit".into()))
    );
}

/// A client whose socket dropped keeps its ids and carries on on a new socket, with no
/// handshake or setup there: its first request starts the new connection.
#[test]
fn a_reconnecting_client_is_answered_on_its_old_channel() {
    let backend = backend();
    let session = Actionhero::opened(socket(), &backend).session;
    let connect =
        r#"[{"channel":"/meta/connect","clientId":"old-7","connectionType":"websocket","id":"9"}]"#;
    let outcome = received(&backend, session, connect);
    assert_eq!(frame(&outcome)[0]["successful"], true);
    let (session, reply) = request(
        &backend,
        outcome.session,
        "a",
        json!({"event": "detailsView"}),
    );
    assert_eq!(reply["data"]["room"], "defaultRoom");
    let guest = session.user.clone().unwrap();
    assert!(backend.is_member("defaultRoom", &guest));
    // Its `roomChange` to where it was: the default room is where it already is.
    let (_, reply) = request(
        &backend,
        session,
        "b",
        json!({"event": "roomChange", "room": "defaultRoom"}),
    );
    assert_eq!(reply["status"], "connection already in this room");
}

#[test]
fn room_events_and_notes_arrive_on_the_connection_channel() {
    let message = StoredMessage {
        id: "m1".into(),
        room: "lobby".into(),
        event_id: 3,
        sender: "u7".into(),
        channel: "venueless".into(),
        event_type: "channel.message".into(),
        content: json!({"type": "text", "body": "hi all"}),
        sent_at: 99,
    };
    let event = Envelope::new(
        Event::MessagePublished {
            message,
            author: None,
        },
        100,
    )
    .to_json();
    let backend = backend();
    let rendered = Actionhero::render(&event, &backend).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&rendered).unwrap(),
        json!([{"channel": CONNECTION_CHANNEL, "data": {
            "message": "hi all", "room": "lobby", "from": "u7", "context": "user", "sentAt": 99,
        }}])
    );
    // The same event on a line component is a bare line.
    assert_eq!(
        render::render(&event, Framing::Lines).unwrap(),
        json!({"message": "hi all", "room": "lobby", "from": "u7", "context": "user", "sentAt": 99})
            .to_string()
    );

    let session = connected(&backend);
    let note = Note::Message {
        content: json!({"message": "maintenance at noon"}),
        sent_at: 7,
    };
    let outcome = Actionhero::notified(session, &note.to_json(), &backend);
    assert_eq!(
        frame(&outcome),
        json!([{"channel": CONNECTION_CHANNEL, "data": {
            "message": "maintenance at noon", "room": null, "from": "server", "context": "user", "sentAt": 7,
        }}])
    );
}

#[test]
fn bad_frames_get_bayeux_errors_and_the_socket_stays() {
    let backend = backend();
    let session = Actionhero::opened(socket(), &backend).session;
    let bad_request = json!([{"successful": false, "error": "400::Bad request"}]);
    let outcome = Actionhero::received(session, Frame::Binary(vec![0xff, 0x00]), &backend);
    assert_eq!(frame(&outcome), bad_request);
    let outcome = Actionhero::received(outcome.session, Frame::Oversize(9_000_000), &backend);
    assert_eq!(frame(&outcome), bad_request);
    let outcome = received(&backend, outcome.session, "{not json");
    assert_eq!(frame(&outcome), bad_request);
    // A publish anywhere but its own channel, or a subscription to a channel nobody serves.
    let outcome = received(
        &backend,
        outcome.session,
        r#"[{"channel":"/client/websocket/connection/someone-else","data":{"event":"say","message":"x"},"clientId":"gw-1","id":"1"}]"#,
    );
    assert_eq!(
        frame(&outcome),
        json!([{"id": "1", "channel": "/client/websocket/connection/someone-else", "successful": false, "error": "403:/client/websocket/connection/someone-else:Forbidden channel"}])
    );
    let outcome = received(
        &backend,
        outcome.session,
        r#"[{"channel":"/meta/subscribe","clientId":"gw-1","subscription":"/actionhero/chat","id":"2"}]"#,
    );
    assert_eq!(
        frame(&outcome)[0]["error"],
        "403:/actionhero/chat:Forbidden channel"
    );
    // None of that started a connection, counted a request or closed the socket.
    assert_eq!(outcome.session.user, None);
    assert_eq!(State::parse(&outcome.session.data).message_count, 0);
    // A request with no event is upstream's unknown verb.
    let (session, reply) = request(&backend, outcome.session, "3", json!({"room": "lobby"}));
    assert_eq!(reply["status"], "verb not found or not allowed");
    // Disconnect: acknowledged, then closed.
    let outcome = received(
        &backend,
        session,
        r#"[{"channel":"/meta/disconnect","clientId":"gw-1","id":"4"}]"#,
    );
    assert_eq!(
        outcome.actions,
        vec![
            Action::Send(
                json!([{"id": "4", "channel": "/meta/disconnect", "clientId": "gw-1", "successful": true}])
                    .to_string()
            ),
            Action::Close(1000, "disconnect".into()),
        ]
    );
}

#[test]
fn a_line_component_is_not_bayeux() {
    let backend = backend();
    backend.set_setting(FRAMING_KEY, "lines");
    let outcome = Actionhero::opened(socket(), &backend);
    assert_eq!(frames(&outcome)[0]["context"], "api");
    assert_eq!(Framing::of(&backend), Framing::Lines);
}

/// The rate limit counts requests, not Bayeux's own messages: over it a publish is still
/// acknowledged and its reply is upstream's refusal; connects and pings never spend a token.
#[test]
fn the_rate_limit_counts_requests_not_bayeux_messages() {
    let backend = backend();
    let mut session = connected(&backend);
    let burst = channel_kit::ratelimit::Limit::DEFAULT.burst as u64;
    let connect =
        r#"[{"channel":"/meta/connect","clientId":"gw-1","connectionType":"websocket","id":"c"}]"#;
    for _ in 0..3 * burst {
        session = received(&backend, session, connect).session;
        session = received(&backend, session, "[]").session;
    }
    for n in 1..=burst {
        let (next, reply) = request(&backend, session, "r", json!({"event": "roomView"}));
        assert_eq!(reply["status"], "OK", "request {n}: {reply}");
        session = next;
    }
    let (_, reply) = request(&backend, session, "r", json!({"event": "roomView"}));
    assert_eq!(
        reply,
        json!({
            "status": crate::handler::TOO_MANY_REQUESTS,
            "context": "response",
            "data": null,
            "messageCount": burst + 1,
        })
    );
}
