//! What upstream's web client (trigg/Rebuttal-Webapp) sends and needs, on the real core: the
//! packets exactly as its `sender.ts` writes them, and the fields its `protocol.ts` reads.

use channel_kit::core::{CoreBackend, START_MS};
use channel_kit::{Action, Backend, Channel, NewMessage};
use serde_json::{json, Value};
use wcc_interface::{Envelope, Event, Note};

use crate::codec::{self, Decoded, Packet};
use crate::tests::{admin, backend, hang_up, id, member, send, sent, session, signup, ADMIN};
use crate::{directory, handler, render, Rebuttal, CHANNEL};

/// A Rebuttal event as the gateway hands it to the render.
fn envelope(event: Event) -> String {
    Envelope::new(event, 1).to_json()
}

fn parsed(packets: Vec<String>) -> Vec<Value> {
    packets
        .iter()
        .map(|p| serde_json::from_str(p).unwrap())
        .collect()
}

/// What a local subscriber of `everyone` gets for the signals published so far from `from` on.
fn everyone_sees(backend: &CoreBackend, from: usize) -> Vec<Value> {
    let signals = backend.signals();
    let mut shown = Vec::new();
    for signal in signals.into_iter().skip(from) {
        let event = Event::Signal {
            room: signal.room,
            sender: signal.sender,
            channel: signal.channel,
            kind: signal.kind,
            content: serde_json::from_str(&signal.content).unwrap(),
        };
        shown.extend(parsed(Rebuttal::render_all(&envelope(event), backend)));
    }
    shown
}

/// The user object `user` has in a fresh `updateUsers`.
fn listed(backend: &CoreBackend, user: &str) -> Value {
    let users: Value = serde_json::from_str(&directory::users_packet(backend).unwrap()).unwrap();
    users["userList"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == user)
        .cloned()
        .unwrap_or_else(|| panic!("{user} not listed: {users}"))
}

#[test]
fn the_greeting_offers_protocol_v1_which_the_client_logs_in_with() {
    let backend = backend();
    let greeting = &sent(&handler::opened(session("c"), &backend))[0];
    assert_eq!(greeting["protocols"], json!(["v1"]), "{greeting}");
    admin(&backend);
    // `client.send.login(email, password, "v1")`.
    let login = json!({"type": "login", "email": ADMIN, "password": "correct horse",
        "protocol": "v1"});
    let outcome = send(session("c2"), login, &backend);
    assert_eq!(sent(&outcome)[0]["type"], "login");
}

/// Every follower of a room, the sender included, gets the segment holding a new message (what
/// the client draws: `updateText`) and then the message (`sendMessage`: a sound, a
/// notification), as upstream sends them.
#[test]
fn a_new_message_is_drawn_from_its_segment_then_notified() {
    let backend = backend();
    backend.add_room("general", "text");
    let boss = admin(&backend);
    let boss_id = boss.user.clone().unwrap();
    // `client.send.message(roomid, {text, tags})`.
    let outcome = send(
        boss,
        json!({"type": "message", "roomid": "general", "message": {"text": "hi all", "tags": []}}),
        &backend,
    );
    assert!(outcome.actions.is_empty(), "a follower hears the room");
    let message = backend.messages("general").pop().unwrap();
    let frames = Rebuttal::render_all(
        &envelope(Event::MessagePublished {
            message,
            author: None,
        }),
        &backend,
    );
    let frames = parsed(frames);
    assert_eq!(frames.len(), 2, "{frames:?}");
    let (update, notice) = (&frames[0], &frames[1]);
    assert_eq!(update["type"], "updateText");
    assert_eq!(
        (&update["roomid"], &update["segment"]),
        (&json!("general"), &json!(0))
    );
    let drawn = &update["messages"][0];
    assert_eq!(
        (
            &drawn["text"],
            &drawn["userid"],
            &drawn["username"],
            &drawn["idx"]
        ),
        (&json!("hi all"), &json!(boss_id), &json!("Ann"), &json!(1))
    );
    assert_eq!(notice["type"], "sendMessage");
    assert_eq!(notice["roomid"], "general");
    assert_eq!(&notice["message"], drawn, "the same message object");
}

/// A segment that cannot be read now (the store is busy) does not hold back the notification.
#[test]
fn a_message_whose_segment_cannot_be_read_is_still_notified() {
    let backend = backend();
    backend.add_room("general", "text");
    let boss = admin(&backend);
    send(
        boss,
        json!({"type": "message", "roomid": "general", "message": {"text": "hi", "tags": []}}),
        &backend,
    );
    let message = backend.messages("general").pop().unwrap();
    backend.fail("history", wcc_interface::FailureCode::Unavailable);
    let frames = parsed(Rebuttal::render_all(
        &envelope(Event::MessagePublished {
            message,
            author: None,
        }),
        &backend,
    ));
    let types: Vec<&Value> = frames.iter().map(|f| &f["type"]).collect();
    assert_eq!(types, [&json!("sendMessage")]);
}

/// The 51st message starts segment 1: the segment sent with it is that one, not the first.
#[test]
fn a_new_message_comes_with_the_segment_it_starts() {
    let backend = backend();
    backend.add_room("general", "text");
    backend.add_user("vera", None);
    backend.add_member("general", "vera");
    for n in 1..=51 {
        backend
            .process_message(NewMessage {
                origin: None,
                room: "general".into(),
                sender: "vera".into(),
                channel: "venueless".into(),
                event_type: "channel.message".into(),
                content: json!({"type": "text", "body": format!("m{n}")}).to_string(),
            })
            .unwrap();
    }
    let message = backend.messages("general").pop().unwrap();
    let frames = parsed(render::render_all(
        &envelope(Event::MessagePublished {
            message,
            author: None,
        }),
        &backend,
    ));
    assert_eq!(frames[0]["segment"], 1);
    let texts: Vec<&Value> = frames[0]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["text"])
        .collect();
    assert_eq!(texts, [&json!("m51")]);
}

/// A room this connection does not follow (created by someone else after it logged in): its
/// first message there is answered with the segment to draw, and the room is followed from then
/// on. `sendMessage` is left to the room's feed, so it cannot arrive twice.
#[test]
fn a_senders_first_message_to_a_room_it_does_not_follow_is_drawn_once() {
    let backend = backend();
    let boss = admin(&backend);
    backend.add_room("later", "text");
    let outcome = send(
        boss,
        json!({"type": "message", "roomid": "later", "message": {"text": "first", "tags": []}}),
        &backend,
    );
    let packets = sent(&outcome);
    assert_eq!(packets.len(), 1, "{packets:?}");
    assert_eq!(packets[0]["type"], "updateText");
    assert_eq!(packets[0]["messages"][0]["text"], "first");
    assert_eq!(
        backend.subscribed(&outcome.actions, outcome.session.user.as_deref()),
        ["later"]
    );
    // The next one comes from the room's feed only.
    let outcome = send(
        outcome.session,
        json!({"type": "message", "roomid": "later", "message": {"text": "second", "tags": []}}),
        &backend,
    );
    assert!(outcome.actions.is_empty(), "{:?}", outcome.actions);
}

/// `client.send.leave_room()` names no room: hanging up leaves the connection's voice room, and
/// with none (the client hangs up before every join) does nothing at all.
#[test]
fn hanging_up_without_a_room_id_leaves_the_voice_room() {
    let backend = backend();
    backend.add_room("call", "voice");
    let boss = admin(&backend);
    let boss_id = boss.user.clone().unwrap();
    let before = backend.signals().len();
    let outcome = send(boss, json!({"type": "leaveroom"}), &backend);
    assert!(outcome.actions.is_empty(), "{:?}", outcome.actions);
    assert_eq!(backend.signals().len(), before, "no one told of anything");

    let joined = send(
        outcome.session,
        json!({"type": "joinroom", "roomid": "call"}),
        &backend,
    );
    assert!(backend.is_member("call", &boss_id));
    let from = backend.signals().len();
    let outcome = send(joined.session, json!({"type": "leaveroom"}), &backend);
    assert_eq!(
        outcome.actions,
        [Action::Unsubscribe("call".into())],
        "no error, the room's signals no longer heard"
    );
    assert!(!backend.is_member("call", &boss_id));
    assert_eq!(
        everyone_sees(&backend, from),
        [json!({"type": "leaveRoom", "userid": boss_id, "roomid": "call"})]
    );
}

/// WebRTC signalling as the client sends it: `video` payloads are objects (an offer or answer
/// `{type, sdp}`, an ICE candidate, its own `{type: "callme"}`) and `letmesee.message` is a
/// boolean. Both reach the target exactly as sent, with who sent them.
#[test]
fn webrtc_offers_and_watch_requests_reach_their_target_as_sent() {
    let backend = backend();
    let boss = admin(&backend);
    let boss_id = boss.user.clone().unwrap();
    let pat_id = member(&backend, "pat@x.org", None).user.unwrap();
    let offer = json!({"type": "offer", "sdp": "v=0\r\no=- 46117 2 IN IP4 127.0.0.1\r\n"});
    let candidate = json!({"candidate": "candidate:1 1 udp 2122260223 10.0.0.2 54321 typ host",
        "sdpMid": "0", "sdpMLineIndex": 0});
    for packet in [
        json!({"type": "video", "touserid": pat_id, "payload": offer}),
        json!({"type": "video", "touserid": pat_id, "payload": candidate}),
        // `client.send.letmesee(touserid, fromuserid, watching)`.
        json!({"type": "letmesee", "touserid": pat_id, "fromuserid": boss_id, "message": true}),
    ] {
        let outcome = send(boss.clone(), packet.clone(), &backend);
        assert!(
            outcome.actions.is_empty(),
            "{packet}: {:?}",
            outcome.actions
        );
    }
    let mut pat = session("p");
    pat.user = Some(pat_id.clone());
    let shown: Vec<Value> = backend
        .user_signals()
        .into_iter()
        .map(|signal| {
            let note = Note::Signal {
                sender: signal.sender,
                channel: CHANNEL.into(),
                kind: signal.kind,
                content: serde_json::from_str(&signal.content).unwrap(),
            };
            sent(&Rebuttal::notified(pat.clone(), &note.to_json(), &backend))[0].clone()
        })
        .collect();
    assert_eq!(
        shown,
        [
            json!({"type": "video", "payload": offer, "touserid": pat_id, "fromuserid": boss_id}),
            json!({"type": "video", "payload": candidate, "touserid": pat_id,
                "fromuserid": boss_id}),
            json!({"type": "letmesee", "message": true, "touserid": pat_id,
                "fromuserid": boss_id}),
        ]
    );
    // A payload-less `video` has nothing to relay; a string `message` is no packet upstream
    // defines, and closes like any malformed one.
    let outcome = send(
        boss.clone(),
        json!({"type": "video", "touserid": pat_id}),
        &backend,
    );
    assert!(outcome.actions.is_empty());
    assert_eq!(backend.user_signals().len(), 3);
    let outcome = send(
        boss,
        json!({"type": "letmesee", "touserid": pat_id, "message": "yes"}),
        &backend,
    );
    assert!(matches!(&outcome.actions[..], [Action::Close(3001, _)]));
}

/// The client draws a voice room's tiles from its `userlist`: user objects (`user.id`,
/// `user.name`, `user.avatar`, `user.livelabel`), as in the user list.
#[test]
fn a_voice_rooms_userlist_holds_user_objects() {
    let backend = backend();
    backend.add_room("call", "voice");
    let boss = admin(&backend);
    let boss_id = boss.user.clone().unwrap();
    send(
        boss,
        json!({"type": "joinroom", "roomid": "call"}),
        &backend,
    );
    let rooms: Value = serde_json::from_str(&directory::rooms_packet(&backend).unwrap()).unwrap();
    let call = &rooms["roomList"][0];
    assert_eq!(call["userlist"], json!([listed(&backend, &boss_id)]));
    assert_eq!(call["userlist"][0]["name"], "Ann");
    assert_eq!(call["userlist"][0]["currentRoom"], "call");
    assert_eq!(call["userlist"][0]["status"], true);
}

/// `status` is whether the user is connected, a boolean, on any protocol, as presence knows.
/// A user's first sign-in and last close change it, and presence announces the user list to
/// every client each time, as upstream sends `updateUsers` to everyone after a login and a close.
/// A close also tells everyone `disconnect{userid}` (the client drops that user's call) and ends
/// a stream the connection started.
#[test]
fn signing_in_and_closing_show_in_everyones_user_list() {
    let backend = backend();
    admin(&backend);
    let list_changes = |backend: &CoreBackend| {
        backend
            .events()
            .iter()
            .filter(|(_, e)| matches!(e, Event::DirectoryChanged { part } if part == "users"))
            .count()
    };
    let code = backend
        .create_invite(&channel_kit::Principal::Operator, "crew")
        .unwrap();
    let before = list_changes(&backend);
    let pat = signup(&backend, "pat@x.org", &code);
    let pat_id = pat.session.user.clone().unwrap();
    assert!(list_changes(&backend) > before, "everyone gets the list");
    // The list sent with the login was built before the gateway published the sign-in, and
    // shows it all the same.
    let own_list = &sent(&pat)[4];
    assert_eq!(own_list["type"], "updateUsers");
    let me = own_list["userList"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == pat_id.as_str())
        .unwrap();
    assert_eq!(me["status"], true, "{me}");
    assert_eq!(listed(&backend, &id(&backend, ADMIN))["status"], true);

    // A second device, a stream from it, then it closes: still connected, the stream over.
    let login = json!({"type": "login", "email": "pat@x.org", "password": "correct horse",
        "protocol": "v1"});
    let before = list_changes(&backend);
    let phone = send(session("pat-phone"), login, &backend).session;
    assert_eq!(list_changes(&backend), before, "connected already");
    let phone = send(
        phone,
        json!({"type": "golive", "livestate": true, "livelabel": "screen"}),
        &backend,
    )
    .session;
    assert_eq!(listed(&backend, &pat_id)["livestate"], true);
    let from = backend.signals().len();
    let before = list_changes(&backend);
    hang_up(phone, &backend, false);
    let user = listed(&backend, &pat_id);
    assert_eq!(
        (&user["status"], &user["livestate"], &user["livelabel"]),
        (&json!(true), &json!(false), &json!(""))
    );
    assert_eq!(list_changes(&backend), before + 1, "the stream's end");
    assert_eq!(
        everyone_sees(&backend, from),
        [json!({"type": "disconnect", "userid": pat_id})]
    );

    // The last connection closes: not connected any more.
    hang_up(pat.session, &backend, true);
    assert_eq!(listed(&backend, &pat_id)["status"], false);
    assert_eq!(list_changes(&backend), before + 2);
}

/// A stream does not outlive the user's last Rebuttal connection, even one whose own close was
/// never seen, whether presence has heard the closing connection's logout yet or not. A
/// connection of another protocol cannot stream and does not keep it.
#[test]
fn a_stream_ends_when_the_users_last_connection_closes() {
    for logout_heard in [true, false] {
        let backend = backend();
        let boss = admin(&backend);
        let boss_id = boss.user.clone().unwrap();
        let login = json!({"type": "login", "email": ADMIN, "password": "correct horse"});
        let tablet = send(session("boss-tablet"), login, &backend).session;
        backend.session_started(&boss_id, "venueless", "boss-browser");
        // The stream was started by a connection these know nothing of (its close never seen).
        directory::set_voice_state(
            &backend,
            &channel_kit::Principal::user(&boss_id),
            &boss_id,
            |voice| {
                voice.insert("livestate".into(), json!(true));
                voice.insert("livelabel".into(), json!("screen"));
            },
        )
        .unwrap();
        hang_up(tablet, &backend, logout_heard);
        let user = listed(&backend, &boss_id);
        assert_eq!(
            user["livestate"], true,
            "another connection is open: {user}"
        );
        hang_up(boss, &backend, logout_heard);
        let user = listed(&backend, &boss_id);
        assert_eq!(
            (&user["livestate"], &user["livelabel"], &user["status"]),
            (&json!(false), &json!(""), &json!(true)),
            "the venueless tab is still connected (heard first: {logout_heard})"
        );
    }
}

/// A user signed in on another protocol is connected in a Rebuttal client's list; a gateway
/// killed outright runs no close hook and publishes no logout, so presence ends its sessions
/// once it has been silent for three heartbeats, and every client gets the list again.
#[test]
fn users_of_a_killed_gateway_show_disconnected_when_presence_ends_their_sessions() {
    let backend = backend();
    admin(&backend);
    let vera = backend.login("venueless", "vera-browser").unwrap().id;
    let users_changes = |backend: &CoreBackend| {
        backend
            .events()
            .iter()
            .filter(|(_, e)| matches!(e, Event::DirectoryChanged { part } if part == "users"))
            .count()
    };
    let beat = |gateway: &str| {
        backend.hear(Event::GatewayAlive {
            gateway: gateway.into(),
            interval_ms: 5_000,
            stats: None,
        })
    };
    beat("g1");
    beat("g2");
    let before = users_changes(&backend);
    backend.hear(Event::UserLoggedIn {
        user: vera.clone(),
        channel: "venueless".into(),
        connection: "g1-1".into(),
        gateway: "g1".into(),
    });
    assert_eq!(users_changes(&backend), before + 1);
    assert_eq!(listed(&backend, &vera)["status"], true);

    // g1 is killed; g2 beats on.
    for seconds in [5, 10, 15] {
        backend.set_now(START_MS + seconds * 1_000);
        beat("g2");
    }
    assert_eq!(listed(&backend, &vera)["status"], true, "silent for 15 s");
    backend.set_now(START_MS + 15_001);
    assert_eq!(listed(&backend, &vera)["status"], false, "overdue");
    backend.set_now(START_MS + 20_000);
    beat("g2");
    assert_eq!(
        users_changes(&backend),
        before + 2,
        "the sweep told everyone"
    );
    assert_eq!(listed(&backend, &vera)["status"], false);
    let logouts: Vec<String> = backend
        .events()
        .into_iter()
        .filter_map(|(_, e)| match e {
            Event::UserLoggedOut { connection, .. } => Some(connection),
            _ => None,
        })
        .collect();
    assert_eq!(logouts, ["g1-1"]);
}

/// `client.send.invite(group_name)` spells the group `group_name`, where upstream's packet
/// definition says `groupName`: both are read.
#[test]
fn an_invite_is_made_for_the_group_the_client_names() {
    for text in [
        r#"{"type":"invite","group_name":"crew"}"#,
        r#"{"type":"invite","groupName":"crew"}"#,
    ] {
        let Ok(Decoded::Packet(packet)) = codec::decode(text) else {
            panic!("{text} not decoded");
        };
        assert_eq!(
            *packet,
            Packet::Invite {
                group: "crew".into()
            }
        );
    }
    let backend = backend();
    let boss = admin(&backend);
    let outcome = send(
        boss,
        json!({"type": "invite", "group_name": "crew"}),
        &backend,
    );
    let code = sent(&outcome)[0]["invite_code"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        backend.redeem_invite(&code).unwrap().as_deref(),
        Some("crew")
    );
}

/// The popup shows `url` (and copies it, and draws it as a QR code); the page it names reads
/// the code from `?invite=` when opened.
#[test]
fn an_invite_carries_the_web_clients_link_when_its_page_is_configured() {
    let backend = backend();
    let boss = admin(&backend);
    let outcome = send(
        boss.clone(),
        json!({"type": "invite", "group_name": "crew"}),
        &backend,
    );
    assert!(sent(&outcome)[0].get("url").is_none(), "no page, no link");

    backend.set_setting(crate::INVITE_PAGE_KEY, "https://chat.example.org/");
    let outcome = send(
        boss,
        json!({"type": "invite", "group_name": "crew"}),
        &backend,
    );
    let reply = &sent(&outcome)[0];
    let code = reply["invite_code"].as_str().unwrap();
    assert_eq!(
        reply["url"],
        format!("https://chat.example.org/?invite={code}")
    );
}
