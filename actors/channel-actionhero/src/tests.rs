//! The actionhero state machine on the real core (`channel_kit::core`): lines in, lines and
//! actions out.

use channel_kit::core::{sent_json as sent, CoreBackend};
use channel_kit::{Action, Backend, Frame, Outcome, Principal, Session};
use serde_json::{json, Value};
use wcc_interface::{Envelope, Event, Note, StoredMessage};

use crate::codec::{self, Request, Unreadable, Verb, Verbs, VERB_NOT_FOUND};
use crate::handler::{self, unknown_action};
use crate::render;
use crate::session::State;
use crate::Framing;

fn connection(transport: &str) -> Session {
    Session {
        connection_id: "gw-1".into(),
        transport: transport.into(),
        remote: "127.0.0.2:40100".into(),
        ..Session::default()
    }
}

/// A backend whose lobby exists; the default room is made on first connect.
pub(crate) fn backend() -> CoreBackend {
    let backend = CoreBackend::new();
    backend.add_room("lobby", "text");
    backend.set_now(1_000);
    backend
}

/// A TCP connection that has been greeted.
pub(crate) fn opened(backend: &CoreBackend) -> Session {
    handler::opened(connection("tcp"), backend).session
}

/// Sends `line`; returns the new session and the one response, parsed.
pub(crate) fn line(backend: &CoreBackend, session: Session, text: &str) -> (Session, Value) {
    let outcome = handler::received(session, Frame::Text(text.into()), backend);
    let response = sent(&outcome)
        .pop()
        .unwrap_or_else(|| panic!("no response to {text:?}"));
    (outcome.session, response)
}

/// A password the core accepts (8 characters or more; the old fake took any).
const PW: &str = "pw-secret";

/// The rooms the outcome's `Subscribe` actions grant its connection, as the gateway checks them.
fn subscribed(backend: &CoreBackend, outcome: &Outcome) -> Vec<String> {
    backend.subscribed(&outcome.actions, outcome.session.user.as_deref())
}

pub(crate) fn state(session: &Session) -> State {
    State::parse(&session.data)
}

fn assert_ok(response: &Value) {
    assert_eq!(response["status"], "OK", "{response}");
    assert_eq!(response["context"], "response");
}

/// A refused verb: upstream puts the refusal in `status`.
fn assert_refused(response: &Value, text: &str) {
    assert_eq!(response["status"], text, "{response}");
    assert_eq!(response["context"], "response");
    assert!(response.get("error").is_none(), "{response}");
}

/// A failed action: upstream puts the failure in `error`.
fn assert_failed(response: &Value, text: &str) {
    assert_eq!(response["error"], text, "{response}");
    assert_eq!(response["context"], "response");
    assert!(response.get("status").is_none(), "{response}");
}

#[test]
fn verbs_words_and_json_lines_decode() {
    let verb = |text: &str| match codec::decode(text) {
        Ok(Request::Verb(verb)) => verb,
        other => panic!("{text:?} -> {other:?}"),
    };
    let action = |text: &str| match codec::decode(text) {
        Ok(Request::Action { name, params }) => (name, params),
        other => panic!("{text:?} -> {other:?}"),
    };
    assert_eq!(verb("roomChange lobby"), Verb::RoomChange("lobby".into()));
    assert_eq!(
        verb("  say  hello   there \r"),
        Verb::Say("hello   there".into())
    );
    assert_eq!(
        verb("paramAdd name=Ada L=ovelace"),
        Verb::ParamAdd {
            key: "name".into(),
            value: "Ada L=ovelace".into()
        }
    );
    assert_eq!(
        verb("paramAdd name Ada"),
        Verb::ParamAdd {
            key: "name".into(),
            value: "Ada".into()
        }
    );
    // A verb without its room or key still runs, and refuses (as upstream's do).
    assert_eq!(verb("roomChange"), Verb::RoomChange(String::new()));
    assert_eq!(verb("paramView"), Verb::ParamView(String::new()));
    assert_eq!(verb("exit"), Verb::Exit);
    assert_eq!(verb("documentation"), Verb::Documentation);
    // The websocket client's events: the other fields' values are the words.
    assert_eq!(
        verb(r#"{"event":"roomChange","room":"r"}"#),
        Verb::RoomChange("r".into())
    );
    assert_eq!(
        verb(r#"{"event":"say","message":"hi there"}"#),
        Verb::Say("hi there".into())
    );
    assert_eq!(
        verb(r#"{"event":"paramAdd","key":"k","value":"v"}"#),
        Verb::ParamAdd {
            key: "k".into(),
            value: "v".into()
        }
    );
    assert_eq!(
        action(r#"{"event":"action","params":{"action":"login","login":"ada"}}"#),
        (
            "login".into(),
            Some(
                json!({"action": "login", "login": "ada"})
                    .as_object()
                    .unwrap()
                    .clone()
            )
        )
    );
    assert!(codec::is_blank("  \r"));
    assert_eq!(
        action(r#"{"action":"login","params":{"login":"ada"}}"#),
        (
            "login".into(),
            Some(json!({"login": "ada"}).as_object().unwrap().clone())
        )
    );
    assert_eq!(action("status"), ("status".into(), None));
    // Anything else names an action, as upstream reads it: the first word, or no action.
    assert_eq!(action("{nope at all").0, "{nope");
    assert_eq!(action("[1]").0, "[1]");
    assert_eq!(action(r#"{"action": 3}"#).0, "3");
    assert_eq!(
        action(r#"{"action":"a","params":[]}"#),
        ("a".into(), Some(Default::default()))
    );
    assert_eq!(action(r#"{"hello":"world"}"#).0, "");
    for (bad, text) in [
        ("say", "say needs a message"),
        ("paramAdd =x", "paramAdd needs key=value"),
        (r#"{"event":"fly"}"#, VERB_NOT_FOUND),
        (r#"{"event":7}"#, VERB_NOT_FOUND),
    ] {
        assert_eq!(
            codec::decode(bad),
            Err(Unreadable::Verb(text.into())),
            "{bad:?}"
        );
    }
    // Upstream's websocket server has no param verbs.
    assert_eq!(
        codec::decode_event(json!({"event": "paramsView"}), Verbs::Websocket),
        Err(Unreadable::Verb(VERB_NOT_FOUND.into()))
    );
    assert_eq!(
        codec::decode_event(json!("say"), Verbs::Websocket),
        Err(Unreadable::Verb(VERB_NOT_FOUND.into()))
    );
}

#[test]
fn a_connection_is_greeted_in_the_default_room() {
    let backend = backend();
    let outcome = handler::opened(connection("tcp"), &backend);
    let greeting = &sent(&outcome)[0];
    assert_eq!(greeting["context"], "api");
    assert_eq!(greeting["room"], "defaultRoom");
    assert!(greeting["welcome"].as_str().unwrap().contains("Welcome"));
    let user = outcome.session.user.clone().expect("an anonymous user");
    assert!(backend.is_member("defaultRoom", &user));
    assert_eq!(subscribed(&backend, &outcome), ["defaultRoom"]);
    assert_eq!(state(&outcome.session).connected_at, 1_000);
    // Upstream's socket server starts every connection with these params.
    let (_, response) = line(&backend, outcome.session, "paramsView");
    assert_eq!(response["data"], json!({"limit": 100, "offset": 0}));

    backend.set_setting("default_room", "");
    let outcome = handler::opened(connection("tcp"), &backend);
    assert_eq!(sent(&outcome)[0]["room"], Value::Null);
}

#[test]
fn say_reaches_the_room_and_counts_messages() {
    let backend = backend();
    let session = opened(&backend);
    let (session, response) = line(&backend, session, "roomChange lobby");
    assert_ok(&response);
    assert_eq!(response["messageCount"], 1);
    let (session, response) = line(&backend, session, "say hello there");
    assert_eq!(
        response,
        json!({"status": "OK", "context": "response", "messageCount": 2})
    );
    let stored = backend.messages("lobby");
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].content,
        json!({"type": "text", "body": "hello there"})
    );
    assert_eq!(Some(&stored[0].sender), session.user.as_ref());
    assert_eq!(stored[0].channel, "actionhero");
    // Blank lines are telnet's Enter: no answer, not counted.
    let outcome = handler::received(session, Frame::Text("\r".into()), &backend);
    assert!(outcome.actions.is_empty());
    assert_eq!(state(&outcome.session).message_count, 2);
}

#[test]
fn room_change_moves_the_connection_and_its_membership() {
    let backend = backend();
    let session = opened(&backend);
    let user = session.user.clone().unwrap();
    let outcome = handler::received(session, Frame::Text("roomChange lobby".into()), &backend);
    assert!(outcome
        .actions
        .contains(&Action::Unsubscribe("defaultRoom".into())));
    assert_eq!(subscribed(&backend, &outcome), ["lobby"]);
    assert!(!backend.is_member("defaultRoom", &user));
    assert!(backend.is_member("lobby", &user));
    assert_eq!(sent(&outcome)[0]["data"], true);
    let (session, response) = line(&backend, outcome.session, "roomChange lobby");
    assert_refused(&response, "connection already in this room");
    assert_eq!(response["data"], false);
    let (session, response) = line(&backend, session, "roomChange nowhere");
    assert_refused(&response, "room does not exist");
    assert_eq!(response["data"], false);
    let (session, response) = line(&backend, session, "roomChange");
    assert_refused(&response, "room does not exist");
    assert_eq!(state(&session).room.as_deref(), Some("lobby"));

    let (session, response) = line(&backend, session, "roomView");
    assert_ok(&response);
    assert_eq!(response["data"]["room"], "lobby");
    assert_eq!(response["data"]["membersCount"], 1);
    assert_eq!(
        response["data"]["members"][&user],
        json!({"id": user, "joinedAt": 1_000})
    );

    let outcome = handler::received(session, Frame::Text("roomLeave".into()), &backend);
    assert_ok(&sent(&outcome)[0]);
    assert_eq!(sent(&outcome)[0]["data"], true);
    assert!(outcome
        .actions
        .contains(&Action::Unsubscribe("lobby".into())));
    assert!(!backend.is_member("lobby", &user));
    let (session, response) = line(&backend, outcome.session, "say anyone?");
    assert_eq!(
        response,
        json!({"status": "connection not in a room", "context": "response", "messageCount": 7})
    );
    // Out of every room: leaving again is no error, viewing is.
    let (session, response) = line(&backend, session, "roomLeave");
    assert_eq!(
        response,
        json!({"status": "OK", "context": "response", "data": false, "messageCount": 8})
    );
    let (_, response) = line(&backend, session, "roomView");
    assert_eq!(
        response,
        json!({"status": "room is required", "context": "response", "data": null, "messageCount": 9})
    );
}

#[test]
fn listening_hears_a_room_without_joining_it() {
    let backend = backend();
    let session = opened(&backend);
    let user = session.user.clone().unwrap();
    let outcome = handler::received(session, Frame::Text("listenToRoom lobby".into()), &backend);
    assert_ok(&sent(&outcome)[0]);
    assert_eq!(subscribed(&backend, &outcome), ["lobby"]);
    assert!(!backend.is_member("lobby", &user));
    assert_eq!(sent(&outcome)[0]["data"], true);
    let (session, response) = line(&backend, outcome.session, "listenToRoom lobby");
    assert_refused(&response, "connection already listening to this room");
    assert_eq!(response["data"], false);
    // Changing into a listened room and out again keeps hearing it.
    let (session, _) = line(&backend, session, "roomChange lobby");
    let outcome = handler::received(session, Frame::Text("roomLeave".into()), &backend);
    assert!(!outcome
        .actions
        .contains(&Action::Unsubscribe("lobby".into())));
    let outcome = handler::received(
        outcome.session,
        Frame::Text("silenceRoom lobby".into()),
        &backend,
    );
    assert!(outcome
        .actions
        .contains(&Action::Unsubscribe("lobby".into())));
    assert_eq!(sent(&outcome)[0]["data"], true);
    let (_, response) = line(&backend, outcome.session, "silenceRoom lobby");
    assert_refused(&response, "connection not listening to this room");
    assert_eq!(response["data"], false);
}

#[test]
fn a_join_rule_on_the_connection_type_is_checked_on_joining() {
    let backend = backend();
    backend.set_join_rule("lobby", "type", r#""websocket""#);
    let (_, response) = line(&backend, opened(&backend), "roomChange lobby");
    assert_refused(&response, "not authorized to join room");
    let (_, response) = line(&backend, opened(&backend), "listenToRoom lobby");
    assert_refused(&response, "not authorized to join room");
    let websocket = handler::opened(connection("websocket"), &backend).session;
    let (_, response) = line(&backend, websocket, "roomChange lobby");
    assert_ok(&response);
}

#[test]
fn authenticated_rooms_admit_after_login_and_never_check_again() {
    let backend = backend();
    backend.set_join_rule("lobby", "authenticated", "true");
    let session = opened(&backend);
    let anonymous = session.user.clone().unwrap();
    let (session, response) = line(&backend, session, "roomChange lobby");
    assert_refused(&response, "not authorized to join room");

    let (session, response) = line(
        &backend,
        session,
        &format!(r#"{{"action":"register","params":{{"login":"ada","password":"{PW}"}}}}"#),
    );
    assert_eq!(response["user"]["login"], "ada", "{response}");
    assert!(response.get("error").is_none());
    // Telnet users set params, then name the action.
    let (session, _) = line(&backend, session, "paramAdd login=ada");
    let (session, _) = line(&backend, session, "paramAdd password=wrong");
    let (session, response) = line(&backend, session, "login");
    assert_failed(&response, "wrong login or password");
    let (session, _) = line(&backend, session, &format!("paramAdd password={PW}"));
    let (session, response) = line(&backend, session, "login");
    assert_eq!(response["authenticated"], true, "{response}");
    assert_eq!(response["context"], "response");
    let ada = session.user.clone().unwrap();
    assert_ne!(ada, anonymous);
    // The membership of the default room moved to the account.
    assert!(backend.is_member("defaultRoom", &ada));
    assert!(!backend.is_member("defaultRoom", &anonymous));

    let (session, response) = line(&backend, session, "roomChange lobby");
    assert_ok(&response);
    // Tightening the rule later does not throw anyone out.
    backend.set_join_rule("lobby", "type", r#""websocket""#);
    let (session, response) = line(&backend, session, "say still here");
    assert_ok(&response);
    let (_, response) = line(&backend, session, "detailsView");
    assert_eq!(response["data"]["totalActions"], 3);
}

/// Another user's direct room is theirs alone: the core refuses a stranger's join and the grant
/// to listen, so the connection stays where it was and hears nothing new.
#[test]
fn another_users_direct_room_can_be_neither_joined_nor_heard() {
    let backend = backend();
    backend.add_user("bob", None);
    let session = opened(&backend);
    let user = session.user.clone().unwrap();
    for verb in ["roomChange bob", "listenToRoom bob"] {
        let outcome = handler::received(session.clone(), Frame::Text(verb.into()), &backend);
        assert_refused(&sent(&outcome)[0], "not authorized");
        assert!(
            outcome.actions.iter().all(|a| matches!(a, Action::Send(_))),
            "{verb}: {:?}",
            outcome.actions
        );
        let after = state(&outcome.session);
        assert_eq!(after.room.as_deref(), Some("defaultRoom"), "{verb}");
        assert!(after.listening.is_empty(), "{verb}");
    }
    assert!(!backend.is_member("bob", &user));
    assert!(backend.is_member("defaultRoom", &user));
}

#[test]
fn a_deleted_room_leaves_its_connections_unable_to_send() {
    let backend = backend();
    let (session, _) = line(&backend, opened(&backend), "roomChange lobby");
    backend.delete_room(&Principal::Operator, "lobby").unwrap();
    let (session, response) = line(&backend, session, "say hello?");
    assert_refused(&response, "room does not exist");
    // Upstream shows a deleted room as an empty one.
    let (session, response) = line(&backend, session, "roomView");
    assert_eq!(
        response["data"],
        json!({"room": "lobby", "membersCount": 0, "members": {}})
    );
    let (_, response) = line(&backend, session, "detailsView");
    assert_eq!(response["data"]["room"], "lobby");
}

#[test]
fn params_are_kept_per_connection() {
    let backend = backend();
    let (session, _) = line(&backend, opened(&backend), "paramAdd colour=blue");
    let (session, _) = line(&backend, session, "paramAdd size 10");
    let (session, response) = line(&backend, session, "paramView colour");
    assert_eq!(response["data"], "blue");
    let (session, response) = line(&backend, session, "paramsView");
    assert_eq!(
        response["data"],
        json!({"colour": "blue", "size": "10", "limit": 100, "offset": 0})
    );
    let (session, response) = line(&backend, session, "paramDelete colour");
    assert_eq!(response["data"], Value::Null);
    // A key that is not there has no `data` at all (upstream's is undefined).
    let (session, response) = line(&backend, session, "paramView colour");
    assert_eq!(
        response,
        json!({"status": "OK", "context": "response", "messageCount": 6})
    );
    let (session, _) = line(&backend, session, "paramsDelete");
    let (_, response) = line(&backend, session, "paramsView");
    assert_eq!(response["data"], json!({}));
}

#[test]
fn details_describe_the_connection() {
    let backend = backend();
    let (_, response) = line(&backend, opened(&backend), "detailsView");
    assert_eq!(
        response["data"],
        json!({
            "id": "gw-1",
            "remoteIP": "127.0.0.2",
            "remotePort": 40100,
            "params": {"limit": 100, "offset": 0},
            "connectedAt": 1_000,
            "room": "defaultRoom",
            "totalActions": 0,
            "pendingActions": 0,
        })
    );
}

#[test]
fn bad_lines_get_an_error_and_the_connection_stays() {
    let backend = backend();
    let session = opened(&backend);
    let frames = [
        (Frame::Binary(vec![0xff, 0xfe]), "lines must be UTF-8 text"),
        (
            Frame::Oversize(2_000_000),
            "a line of 2000000 bytes is over the server's limit",
        ),
        (
            Frame::Text("fly away".into()),
            "Error: fly is not a known action or that is not a valid apiVersion.",
        ),
        (
            Frame::Text(r#"{"action":"fly"}"#.into()),
            "Error: fly is not a known action or that is not a valid apiVersion.",
        ),
        (
            Frame::Text(r#"{"params":{}}"#.into()),
            "Error: {no action} is not a known action or that is not a valid apiVersion.",
        ),
    ];
    let mut session = session;
    for (n, (frame, text)) in frames.into_iter().enumerate() {
        let outcome = handler::received(session, frame, &backend);
        assert!(!outcome
            .actions
            .iter()
            .any(|a| matches!(a, Action::Close(..))));
        let response = &sent(&outcome)[0];
        assert_eq!(
            response,
            &json!({"error": text, "context": "response", "messageCount": n as u64 + 1})
        );
        session = outcome.session;
    }
    let (_, response) = line(&backend, session, "{broken json");
    assert_failed(&response, &unknown_action("{broken"));
}

#[test]
fn quit_says_bye_and_closes() {
    let backend = backend();
    let outcome = handler::received(opened(&backend), Frame::Text("quit".into()), &backend);
    assert_eq!(
        sent(&outcome),
        [json!({"status": "Bye!", "context": "api", "reason": "quit requested"})]
    );
    assert_eq!(
        outcome.actions.last(),
        Some(&Action::Close(1000, "quit".into()))
    );
    let outcome = handler::received(opened(&backend), Frame::Text("exit".into()), &backend);
    assert_eq!(sent(&outcome)[0]["reason"], "exit requested");
}

#[test]
fn operator_notes_move_the_connection_and_reach_it() {
    let backend = backend();
    let session = opened(&backend);
    let joined = Note::Joined {
        room: "lobby".into(),
    }
    .to_json();
    let outcome = handler::notified(session, &joined, &backend, Framing::Lines);
    assert_eq!(subscribed(&backend, &outcome), ["lobby"]);
    assert!(outcome
        .actions
        .contains(&Action::Unsubscribe("defaultRoom".into())));
    assert_eq!(
        sent(&outcome)[0],
        json!({"context": "api", "event": "joined", "room": "lobby"})
    );
    assert_eq!(state(&outcome.session).room.as_deref(), Some("lobby"));

    let message = Note::Message {
        content: json!({"message": "maintenance at noon"}),
        sent_at: 7,
    };
    let outcome = handler::notified(
        outcome.session,
        &message.to_json(),
        &backend,
        Framing::Lines,
    );
    assert_eq!(
        sent(&outcome)[0],
        json!({"message": "maintenance at noon", "room": null, "from": "server", "context": "user", "sentAt": 7})
    );

    let left = Note::Left {
        room: "lobby".into(),
    }
    .to_json();
    let outcome = handler::notified(outcome.session, &left, &backend, Framing::Lines);
    assert!(outcome
        .actions
        .contains(&Action::Unsubscribe("lobby".into())));
    assert_eq!(state(&outcome.session).room, None);
    let outcome = handler::notified(outcome.session, "not a note", &backend, Framing::Lines);
    assert!(outcome.actions.is_empty());
}

/// Every key of the store that names a guest.
fn guest_keys(backend: &CoreBackend) -> Vec<String> {
    backend
        .store_keys()
        .into_iter()
        .filter(|key| key.split('/').any(|segment| segment.starts_with("guest-")))
        .collect()
}

#[test]
fn closing_ends_only_anonymous_memberships() {
    let backend = backend();
    let session = opened(&backend);
    let user = session.user.clone().unwrap();
    assert_eq!(user, "guest-gw-1", "named after its connection");
    handler::closed(session, &backend);
    assert!(!backend.is_member("defaultRoom", &user));
    assert_eq!(backend.get_user(&user).unwrap(), None, "the guest is gone");
    assert_eq!(guest_keys(&backend), Vec::<String>::new());

    let session = opened(&backend);
    let (session, _) = line(
        &backend,
        session,
        &format!(r#"{{"action":"register","params":{{"login":"bo","password":"{PW}"}}}}"#),
    );
    let (session, _) = line(
        &backend,
        session,
        &format!(r#"{{"action":"login","params":{{"login":"bo","password":"{PW}"}}}}"#),
    );
    let bo = session.user.clone().unwrap();
    handler::closed(session, &backend);
    assert!(backend.is_member("defaultRoom", &bo));
}

#[test]
fn room_events_render_as_chat_lines() {
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
    let line: Value =
        serde_json::from_str(&render::render(&event, Framing::Lines).unwrap()).unwrap();
    assert_eq!(
        line,
        json!({"message": "hi all", "room": "lobby", "from": "u7", "context": "user", "sentAt": 99})
    );
    let joined = Envelope::new(
        Event::UserJoined {
            room: "lobby".into(),
            user: "u8".into(),
            channel: "venueless".into(),
        },
        5,
    )
    .to_json();
    let line: Value =
        serde_json::from_str(&render::render(&joined, Framing::Lines).unwrap()).unwrap();
    assert_eq!(line["message"], render::ENTERED);
    assert_eq!(line["from"], "u8");
    let delivered = Envelope::new(
        Event::MessageDelivered {
            room: "lobby".into(),
            event_id: 3,
            channel: "x".into(),
            recipients: 1,
        },
        5,
    )
    .to_json();
    assert_eq!(render::render(&delivered, Framing::Lines), None);
}

/// A connection `gw-<n>` that opens, says something and closes, as a telnet client would.
fn visit(backend: &CoreBackend, n: usize) -> String {
    let session = Session {
        connection_id: format!("gw-{n}"),
        ..connection("tcp")
    };
    let session = handler::opened(session, backend).session;
    let (session, response) = line(backend, session, &format!("say visit {n}"));
    assert_ok(&response);
    let user = session.user.clone().unwrap();
    handler::closed(session, backend);
    user
}

/// What the store holds besides history (`room/<room>/msg/<n>`, `msgid/<uuid>`): what was said
/// stays, everything else of a connection must go.
fn kept(backend: &CoreBackend) -> Vec<String> {
    backend
        .store_keys()
        .into_iter()
        .filter(|key| !key.starts_with("msgid/") && !key.contains("/msg/"))
        .collect()
}

#[test]
fn a_thousand_anonymous_visits_leave_only_what_they_said() {
    let backend = backend();
    // The first visit makes the default room and the counters every later one shares.
    visit(&backend, 0);
    let before = kept(&backend);
    const VISITS: usize = 1_000;
    for n in 1..=VISITS {
        visit(&backend, n);
    }
    let after = kept(&backend);
    assert_eq!(guest_keys(&backend), Vec::<String>::new());
    // The only thing that grew is the default room's member list, a log every join and leave
    // writes to; compaction (`wcc_kv::LogSet`, every 64 writes) keeps it to a snapshot and the
    // slots of the last generations, however many visits there were.
    let grown: Vec<&String> = after.iter().filter(|key| !before.contains(key)).collect();
    assert!(
        grown
            .iter()
            .all(|key| key.starts_with("room/defaultRoom/members/")),
        "{grown:?}"
    );
    assert!(
        after.len() <= before.len() + 2 * 64 + 8,
        "{} keys kept before, {} after {VISITS} visits",
        before.len(),
        after.len()
    );
    // Nothing shared went either (the member list's old slots are compaction's to retire).
    assert!(before
        .iter()
        .filter(|key| !key.starts_with("room/defaultRoom/members/log/"))
        .all(|key| after.contains(key)));
    assert!(backend
        .list_users()
        .unwrap()
        .iter()
        .all(|u| !u.id.starts_with("guest-")));
    assert!(backend
        .query_members(&Principal::Server, "defaultRoom")
        .unwrap()
        .is_empty());

    // History keeps every line, under the name the sender had: its connection's.
    let said = backend.messages("defaultRoom");
    assert_eq!(said.len(), VISITS + 1);
    assert_eq!(said[7].sender, "guest-gw-7");
    let event = Envelope::new(
        Event::MessagePublished {
            message: said[7].clone(),
            author: None,
        },
        1,
    )
    .to_json();
    let shown: Value =
        serde_json::from_str(&render::render(&event, Framing::Lines).unwrap()).unwrap();
    assert_eq!(
        (shown["from"].as_str(), shown["message"].as_str()),
        (Some("guest-gw-7"), Some("visit 7"))
    );
}

#[test]
fn a_guest_whose_close_hook_never_ran_ends_with_its_session() {
    let backend = backend();
    let session = opened(&backend);
    let (session, _) = line(&backend, session, "roomChange lobby");
    let (session, _) = line(&backend, session, "say then the gateway died");
    let guest = session.user.clone().unwrap();
    assert!(!guest_keys(&backend).is_empty());
    // No `closed`: the gateway was killed. Presence ends its sessions with a UserLoggedOut each,
    // which the core hears too.
    backend.session_ended(&guest, "actionhero", &session.connection_id);
    assert_eq!(guest_keys(&backend), Vec::<String>::new());
    assert!(!backend.is_member("lobby", &guest));
    assert_eq!(backend.messages("lobby")[0].sender, guest);
    // A close hook that runs late finds nothing left to do.
    handler::closed(session, &backend);
}

#[test]
fn a_guest_made_by_a_call_whose_answer_was_lost_goes_on_close() {
    let backend = backend();
    let outcome = handler::opened(connection("tcp"), &backend);
    let guest = outcome.session.user.clone().unwrap();
    // The gateway never took that answer (the call timed out): its session has no user.
    handler::closed(connection("tcp"), &backend);
    assert_eq!(backend.get_user(&guest).unwrap(), None);
    assert_eq!(guest_keys(&backend), Vec::<String>::new());
}

#[test]
fn logging_in_ends_the_guest() {
    let backend = backend();
    let session = opened(&backend);
    let guest = session.user.clone().unwrap();
    let (session, _) = line(
        &backend,
        session,
        &format!(r#"{{"action":"register","params":{{"login":"cy","password":"{PW}"}}}}"#),
    );
    let (session, response) = line(
        &backend,
        session,
        &format!(r#"{{"action":"login","params":{{"login":"cy","password":"{PW}"}}}}"#),
    );
    assert_eq!(response["authenticated"], true, "{response}");
    let cy = session.user.clone().unwrap();
    assert_eq!(backend.get_user(&guest).unwrap(), None);
    assert_eq!(guest_keys(&backend), Vec::<String>::new());
    assert!(backend.is_member("defaultRoom", &cy));
    // The gateway's logout of the guest that follows changes nothing.
    backend.session_ended(&guest, "actionhero", &session.connection_id);
    assert!(backend.is_member("defaultRoom", &cy));
}

#[test]
fn actions_check_their_params_and_documentation_lists_them() {
    let backend = backend();
    let session = opened(&backend);
    // A bare word runs with the connection's params, which name no login yet.
    let (session, response) = line(&backend, session, "register");
    assert_eq!(
        response,
        json!({
            "error": "Error: login is a required parameter for this action",
            "context": "response",
            "messageCount": 1,
        })
    );
    let (session, response) = line(
        &backend,
        session,
        r#"{"action":"register","params":{"login":"ada","password":""}}"#,
    );
    assert_failed(
        &response,
        "Error: password is a required parameter for this action",
    );
    // A JSON action's params are its own: the connection's stay as they were.
    let (session, response) = line(&backend, session, "paramsView");
    assert_eq!(response["data"], json!({"limit": 100, "offset": 0}));
    // `status` names the server the connection is on: its gateway.
    let (session, response) = line(&backend, session, "status");
    assert_eq!(
        response,
        json!({"id": "gw", "context": "response", "messageCount": 4})
    );
    let (_, response) = line(&backend, session, "documentation");
    assert_ok(&response);
    let documented = &response["data"];
    let names: Vec<&String> = documented.as_object().unwrap().keys().collect();
    assert_eq!(names, ["login", "register", "status"]);
    assert_eq!(
        documented["login"]["1"]["inputs"],
        json!({"required": ["login", "password"], "optional": []})
    );
    assert_eq!(documented["status"]["1"]["name"], "status");
    assert_eq!(documented["status"]["1"]["version"], 1);
    assert_eq!(
        documented["status"]["1"]["description"],
        "I will return some basic information about the API"
    );
    assert_eq!(
        documented["register"]["1"]["outputExample"]["user"]["login"],
        "ada"
    );
}

#[test]
fn params_are_bounded() {
    let backend = backend();
    backend.set_setting(channel_kit::ratelimit::RATE_LIMIT_KEY, "0");
    let mut session = opened(&backend);
    // `limit` and `offset` are two of them.
    for n in 2..handler::MAX_PARAMS {
        let (next, response) = line(&backend, session, &format!("paramAdd k{n}=v"));
        assert_ok(&response);
        session = next;
    }
    let (session, response) = line(&backend, session, "paramAdd one=more");
    assert_refused(&response, "a connection may keep 64 params");
    // Changing one that is kept is fine.
    let (session, response) = line(&backend, session, "paramAdd k2=w");
    assert_ok(&response);
    let long = "x".repeat(handler::MAX_PARAM_BYTES);
    let (session, response) = line(&backend, session, &format!("paramAdd k3={long}"));
    assert_refused(&response, "a param may hold 4096 bytes");
    let (_, response) = line(&backend, session, "paramView k3");
    assert_eq!(response["data"], "v");
}
