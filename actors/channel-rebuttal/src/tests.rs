//! The Rebuttal channel on the real core (`channel_kit::core`): the handshake, permissions,
//! rooms, messages, images, voice and rendering, each as a client would see it.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
pub(crate) use channel_kit::core::sent_json as sent;
use channel_kit::core::{CoreBackend, START_MS};
use channel_kit::{Action, Backend, Frame, NewMessage, Outcome, Principal, Session};
use serde_json::{json, Value};
use wcc_interface::{ids, Envelope, Event, Note};

use crate::codec::{self, Decoded, Packet};
use crate::{handler, render, Rebuttal, CHANNEL};
use channel_kit::Channel;

pub(crate) const ADMIN: &str = "boss@example.org";

pub(crate) fn backend() -> CoreBackend {
    let backend = CoreBackend::new();
    backend.set_setting(crate::ADMIN_EMAIL_KEY, ADMIN);
    backend
}

pub(crate) fn session(id: &str) -> Session {
    Session {
        connection_id: id.into(),
        transport: "websocket".into(),
        ..Session::default()
    }
}

/// The rooms the outcome's `Subscribe` actions grant its connection, as the gateway checks them.
pub(crate) fn subscribed(backend: &CoreBackend, outcome: &Outcome) -> Vec<String> {
    backend.subscribed(&outcome.actions, outcome.session.user.as_deref())
}

pub(crate) fn types(outcome: &Outcome) -> Vec<String> {
    sent(outcome)
        .iter()
        .map(|p| p["type"].as_str().unwrap().to_owned())
        .collect()
}

/// One packet from the client, carried as the gateway carries it: if the answer signs the
/// connection in (or out), the gateway publishes that, and presence and the rooms actor hear it.
pub(crate) fn send(session: Session, packet: Value, backend: &CoreBackend) -> Outcome {
    let before = session.user.clone();
    let outcome = handler::received(session, Frame::Text(packet.to_string()), backend);
    let after = &outcome.session;
    if before != after.user {
        if let Some(user) = before {
            backend.session_ended(&user, CHANNEL, &after.connection_id);
        }
        if let Some(user) = &after.user {
            backend.session_started(user, CHANNEL, &after.connection_id);
        }
    }
    outcome
}

/// The client goes, as the gateway sees it: it publishes the logout and calls the close hook.
/// Presence handles the logout on its own time: with `logout_heard` it has before the hook runs,
/// without it the hook still finds the connection counted.
pub(crate) fn hang_up(session: Session, backend: &CoreBackend, logout_heard: bool) {
    let logout = |s: &Session| {
        if let Some(user) = &s.user {
            backend.session_ended(user, CHANNEL, &s.connection_id);
        }
    };
    if logout_heard {
        logout(&session);
    }
    Rebuttal::closed(session.clone(), backend);
    if !logout_heard {
        logout(&session);
    }
}

/// The one error an outcome sends.
pub(crate) fn error(outcome: &Outcome) -> String {
    let packets = sent(outcome);
    assert_eq!(packets.len(), 1, "{packets:?}");
    assert_eq!(packets[0]["type"], "error", "{packets:?}");
    packets[0]["message"].as_str().unwrap().to_owned()
}

pub(crate) fn signup(backend: &CoreBackend, email: &str, code: &str) -> Outcome {
    let packet = json!({"type": "signup", "userName": "Ann", "password": "correct horse",
        "signUp": code, "email": email});
    send(session(email), packet, backend)
}

/// A logged-in session of a new user in `group` (none: no group).
pub(crate) fn member(backend: &CoreBackend, email: &str, group: Option<&str>) -> Session {
    let code = backend
        .create_invite(&Principal::Operator, group.unwrap_or("nobody"))
        .unwrap();
    let outcome = signup(backend, email, &code);
    assert_eq!(types(&outcome)[0], "login", "{:?}", sent(&outcome));
    outcome.session
}

/// The user id an email logs in to.
pub(crate) fn id(backend: &CoreBackend, email: &str) -> String {
    backend.find_login(CHANNEL, email).unwrap().unwrap().id
}

pub(crate) fn admin(backend: &CoreBackend) -> Session {
    signup(backend, ADMIN, "signup").session
}

pub(crate) fn png(width: u32, height: u32) -> String {
    let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
    bytes.extend_from_slice(b"IHDR");
    bytes.extend_from_slice(&width.to_be_bytes());
    bytes.extend_from_slice(&height.to_be_bytes());
    bytes.extend_from_slice(&[8, 6, 0, 0, 0]);
    STANDARD.encode(bytes)
}

#[test]
fn packets_decode_by_upstream_field_names() {
    let text = r#"{"type":"updategroup","groupName":"mods","changes":[{"add":"renameRoom"},{"remove":"removeRoom"}]}"#;
    let Ok(Decoded::Packet(packet)) = codec::decode(text) else {
        panic!("not decoded");
    };
    let Packet::UpdateGroup { group, changes } = *packet else {
        panic!("{packet:?}");
    };
    assert_eq!(group, "mods");
    assert_eq!(changes[0].add.as_deref(), Some("renameRoom"));
    assert_eq!(changes[1].remove.as_deref(), Some("removeRoom"));

    let text = r#"{"type":"getmessages","roomid":"r","segment":null}"#;
    assert!(
        matches!(codec::decode(text), Ok(Decoded::Packet(p)) if *p == Packet::GetMessages { room: "r".into(), segment: None })
    );
    assert_eq!(
        codec::decode(r#"{"type":"teleport"}"#),
        Ok(Decoded::Unknown("teleport".into()))
    );
}

#[test]
fn unreadable_packets_close_with_3001_and_unknown_ones_are_errors() {
    let backend = backend();
    for bad in [
        "not json",
        "[1,2]",
        r#"{"no":"type"}"#,
        r#"{"type":7}"#,
        r#"{"type":"talking","talking":"yes"}"#,
        r#"{"type":"login","email":"a@b"}"#,
    ] {
        let outcome = handler::received(session("c"), Frame::Text(bad.into()), &backend);
        assert!(
            matches!(&outcome.actions[..], [Action::Close(3001, _)]),
            "{bad}: {:?}",
            outcome.actions
        );
    }
    let outcome = handler::received(session("c"), Frame::Binary(vec![0xff]), &backend);
    assert!(matches!(&outcome.actions[..], [Action::Close(3001, _)]));

    let outcome = send(session("c"), json!({"type": "teleport"}), &backend);
    assert_eq!(error(&outcome), "Unknown packet type: teleport");
    let outcome = handler::received(session("c"), Frame::Oversize(1 << 24), &backend);
    assert!(error(&outcome).contains("too large"));
}

#[test]
fn a_connection_is_greeted_and_must_log_in_first() {
    let backend = backend();
    let outcome = handler::opened(session("c"), &backend);
    assert_eq!(sent(&outcome)[0]["type"], "connect");
    assert_eq!(sent(&outcome)[0]["message"], crate::DEFAULT_WELCOME);
    let outcome = send(
        session("c"),
        json!({"type": "talking", "talking": true}),
        &backend,
    );
    assert_eq!(error(&outcome), "Log in first");
}

#[test]
fn the_bootstrap_admin_signs_up_without_invite_and_gets_the_lists() {
    let backend = backend();
    backend.add_room("general", "text");
    // Another protocol's user, with its direct room, before the admin signs up.
    backend.add_user("dm", None);
    backend.set_now(START_MS + 1_000);
    let outcome = signup(&backend, "Boss@Example.org ", "signup");
    assert_eq!(
        types(&outcome),
        [
            "login",
            "updatePerms",
            "updateGroups",
            "updateRooms",
            "updateUsers"
        ]
    );
    let packets = sent(&outcome);
    assert_eq!(packets[0]["success"], true);
    let perms = packets[1]["perms"].as_array().unwrap();
    assert_eq!(perms.len(), wcc_interface::access::PERMISSIONS.len());
    let rooms = packets[3]["roomList"].as_array().unwrap();
    assert_eq!(rooms.len(), 1, "direct rooms are not listed: {rooms:?}");
    assert_eq!(rooms[0]["type"], "text");
    let names: Vec<&Value> = packets[4]["userList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| &u["name"])
        .collect();
    assert_eq!(names, [&json!("dm"), &json!("Ann")], "oldest first");
    assert_eq!(subscribed(&backend, &outcome), [ids::EVERYONE, "general"]);
    let boss = outcome.session.user.clone().unwrap();
    assert_eq!(boss, id(&backend, ADMIN));
    assert_eq!(boss.len(), 36, "a UUID: {boss}");

    // An admin exists now: invite-less sign-up is closed, an invite works once.
    assert!(error(&signup(&backend, "eve@x.org", "signup")).contains("invite"));
    let code = backend
        .create_invite(&Principal::user(&boss), "guests")
        .unwrap();
    assert_eq!(types(&signup(&backend, "bob@x.org", &code))[0], "login");
    assert!(error(&signup(&backend, "carl@x.org", &code)).contains("invite"));
    assert_eq!(
        backend
            .user_group(&id(&backend, "bob@x.org"))
            .unwrap()
            .as_deref(),
        Some("guests")
    );
}

#[test]
fn the_first_sign_up_is_the_founder_when_no_admin_is_configured() {
    let backend = CoreBackend::new();
    signup(&backend, "first@x.org", "signup");
    assert_eq!(
        backend
            .user_group(&id(&backend, "first@x.org"))
            .unwrap()
            .as_deref(),
        Some(wcc_interface::access::ADMIN_GROUP)
    );
    backend.set_setting(crate::OPEN_SIGNUP_KEY, "true");
    assert_eq!(
        types(&signup(&backend, "second@x.org", "signup"))[0],
        "login"
    );
    assert_eq!(
        backend.permissions(&id(&backend, "second@x.org")).unwrap(),
        Vec::<String>::new()
    );
}

/// A refused login ends the connection, as upstream's does: the error says why, then 3001.
#[test]
fn login_checks_the_password_and_a_refusal_closes() {
    let backend = backend();
    admin(&backend);
    let login = |password: &str| {
        send(
            session("c"),
            json!({"type": "login", "email": ADMIN, "password": password, "protocol": "v1"}),
            &backend,
        )
    };
    let refused = login("wrong password");
    assert_eq!(error(&refused), handler::BAD_LOGIN);
    assert_eq!(
        refused.actions.last(),
        Some(&Action::Close(3001, handler::BAD_LOGIN.into()))
    );
    assert_eq!(refused.session.user, None);
    for n in 0..10 {
        backend.add_room(&format!("text_{n}"), "text");
    }
    let (batches, singles) = (
        backend.calls("grant_subscriptions"),
        backend.calls("grant_subscription"),
    );
    let accepted = login("correct horse");
    assert_eq!(types(&accepted)[0], "login");
    // The everyone feed and all ten text rooms, granted in one call to the core.
    assert_eq!(subscribed(&backend, &accepted).len(), 11);
    assert_eq!(backend.calls("grant_subscriptions") - batches, 1);
    assert_eq!(backend.calls("grant_subscription") - singles, 0);
}

#[test]
fn permissioned_packets_are_refused_without_the_permission() {
    let backend = backend();
    backend.add_room("general", "text");
    let plain = member(&backend, "pat@x.org", None);
    let pat_id = plain.user.clone().unwrap();
    // Someone who exists: the core refuses the change, not the lookup.
    let other = member(&backend, "other@x.org", None).user.unwrap();
    let cases = [
        (json!({"type": "invite", "groupName": "g"}), "inviteUserAny"),
        (
            json!({"type": "createroom", "roomType": "text", "roomName": "r"}),
            "createRoom",
        ),
        (
            json!({"type": "updateroom", "roomid": "general", "roomName": "r"}),
            "renameRoom",
        ),
        (
            json!({"type": "removeroom", "roomid": "general"}),
            "removeRoom",
        ),
        (
            json!({"type": "createuser", "userName": "u", "groupName": "g", "email": "u@x"}),
            "createUser",
        ),
        (
            json!({"type": "updateuser", "userid": other, "userName": "u"}),
            "renameUser",
        ),
        (
            json!({"type": "removeuser", "touserid": other, "withvengence": true}),
            "removeUser",
        ),
        (
            json!({"type": "message", "roomid": "general", "message": {"text": "hi"}}),
            "sendMessage",
        ),
        (
            json!({"type": "creategroup", "groupName": "g"}),
            "setGroupPerm",
        ),
        (
            json!({"type": "updategroup", "groupName": "g", "changes": []}),
            "setGroupPerm",
        ),
        (
            json!({"type": "removegroup", "groupName": "g"}),
            "setGroupPerm",
        ),
        (
            json!({"type": "setusergroup", "userid": pat_id, "groupName": "admin"}),
            "setUserGroup",
        ),
        (
            json!({"type": "servermute", "userid": "someone", "suppress": true}),
            "suppressUser",
        ),
        (
            json!({"type": "joinroom", "roomid": "general"}),
            "joinVoiceRoom",
        ),
    ];
    for (packet, permission) in cases {
        let outcome = send(plain.clone(), packet.clone(), &backend);
        assert_eq!(
            error(&outcome),
            format!("Permission denied: {permission}"),
            "{packet}"
        );
    }
    assert!(backend.messages("general").is_empty());
    // Renaming yourself needs no permission.
    let outcome = send(
        plain,
        json!({"type": "updateuser", "userid": pat_id, "userName": "Pat"}),
        &backend,
    );
    assert!(sent(&outcome).is_empty(), "{:?}", sent(&outcome));
    let pat = backend.get_user(&pat_id).unwrap().unwrap();
    assert_eq!(crate::directory::name_of(&pat), "Pat");
}

#[test]
fn messages_join_the_text_room_and_carry_checked_images() {
    let backend = backend();
    let boss = admin(&backend);
    let outcome = send(
        boss.clone(),
        json!({"type": "createroom", "roomType": "text", "roomName": "Talk"}),
        &backend,
    );
    assert!(matches!(
        outcome.actions.first(),
        Some(Action::Subscribe(_))
    ));
    let [room] = subscribed(&backend, &outcome).try_into().unwrap();
    let boss = outcome.session;
    let actor = Principal::user(boss.user.clone().unwrap());
    let image = json!({"type": "message", "roomid": room, "message": {"text": "look"},
        "filename": "cat.png", "rawfile": png(3, 2)});
    let outcome = send(boss.clone(), image, &backend);
    assert!(outcome.actions.is_empty(), "{:?}", outcome.actions);
    let stored = &backend.messages(&room)[0];
    assert_eq!(stored.content["media"][0]["width"], 3);

    let notes = STANDARD.encode(b"meeting notes");
    let fake_png = json!({"type": "message", "roomid": room, "message": {"text": "x"},
        "filename": "notes.png", "rawfile": notes});
    assert!(error(&send(boss.clone(), fake_png, &backend)).contains("image"));
    assert_eq!(backend.messages(&room).len(), 1);

    let shown = render::segment_packet(&backend, &actor, &room, 0).unwrap();
    let shown: Value = serde_json::from_str(&shown).unwrap();
    let message = &shown["messages"][0];
    assert_eq!(
        (message["width"].clone(), message["height"].clone()),
        (json!(3), json!(2))
    );
    assert!(message["img"]
        .as_str()
        .unwrap()
        .starts_with("data:image/png;base64,"));
    assert_eq!(message["text"], "look");
    assert_eq!(message["username"], "Ann");
    assert_eq!(message["idx"], 1);
}

#[test]
fn history_comes_in_segments_of_fifty() {
    let backend = backend();
    backend.add_room("general", "text");
    let boss = admin(&backend);
    for n in 1..=52 {
        let packet =
            json!({"type": "message", "roomid": "general", "message": {"text": format!("m{n}")}});
        let outcome = send(boss.clone(), packet, &backend);
        assert!(sent(&outcome).is_empty(), "{:?}", sent(&outcome));
    }
    let latest = send(
        boss.clone(),
        json!({"type": "getmessages", "roomid": "general", "segment": null}),
        &backend,
    );
    let latest = &sent(&latest)[0];
    assert_eq!(latest["segment"], 1);
    let texts: Vec<&str> = latest["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["m51", "m52"]);
    let first = send(
        boss,
        json!({"type": "getmessages", "roomid": "general", "segment": 0}),
        &backend,
    );
    let first = &sent(&first)[0]["messages"];
    assert_eq!(first.as_array().unwrap().len(), 50);
    assert_eq!(first[0]["text"], "m1");
}

#[test]
fn edits_keep_the_image_and_removals_mask_text_and_sender() {
    let backend = backend();
    backend.add_room("general", "text");
    let boss = admin(&backend);
    let actor = Principal::user(boss.user.clone().unwrap());
    send(
        boss.clone(),
        json!({"type": "message", "roomid": "general", "message": {"text": "v1"}, "rawfile": png(1, 1)}),
        &backend,
    );
    let edit = json!({"type": "updatemessage", "roomid": "general", "messageid": 1, "message": {"text": "v2"}});
    assert!(sent(&send(boss.clone(), edit, &backend)).is_empty());
    let stored = &backend.messages("general")[0];
    assert_eq!(stored.content["body"], "v2");
    assert_eq!(stored.content["media"][0]["width"], 1);

    send(
        boss,
        json!({"type": "removemessage", "roomid": "general", "messageid": 1}),
        &backend,
    );
    let shown = render::segment_packet(&backend, &actor, "general", 0).unwrap();
    let shown: Value = serde_json::from_str(&shown).unwrap();
    let message = &shown["messages"][0];
    assert_eq!(message["text"], render::REMOVED_TEXT);
    assert!(message.get("userid").is_none(), "{message}");
}

/// How Rebuttal words the core's refusal of an edit or removal.
const DENIED_CHANGE: &str = "Permission denied: changeMessage";

/// Whose message may be changed is the core's decision now, no longer the channel's
/// `changeMessage` check: its sender may, and so may a holder of `changeMessage` who can read the
/// room; anyone else is refused in upstream's words.
#[test]
fn messages_are_changed_by_their_sender_or_a_change_message_holder() {
    let backend = backend();
    backend.add_room("general", "text");
    let boss = admin(&backend);
    let pat = member(&backend, "pat@x.org", Some("chat"));
    let sam = member(&backend, "sam@x.org", Some("chat"));
    let send_message = channel_kit::GroupChange {
        add: Some("sendMessage".into()),
        remove: None,
    };
    backend
        .update_group(&Principal::Operator, "chat", &[send_message])
        .unwrap();
    let post = json!({"type": "message", "roomid": "general", "message": {"text": "pat's"}});
    assert!(sent(&send(pat.clone(), post, &backend)).is_empty());
    let edit = |text: &str| {
        json!({"type": "updatemessage", "roomid": "general", "messageid": 1,
            "message": {"text": text}})
    };
    let remove = json!({"type": "removemessage", "roomid": "general", "messageid": 1});

    assert_eq!(
        error(&send(sam.clone(), edit("sam's now"), &backend)),
        DENIED_CHANGE
    );
    assert_eq!(error(&send(sam, remove.clone(), &backend)), DENIED_CHANGE);
    assert_eq!(backend.messages("general")[0].content["body"], "pat's");

    assert!(sent(&send(pat, edit("pat's, fixed"), &backend)).is_empty());
    assert_eq!(
        backend.messages("general")[0].content["body"],
        "pat's, fixed"
    );
    assert!(sent(&send(boss, remove, &backend)).is_empty());
    let removed = &backend.messages("general")[0];
    assert_eq!(
        (removed.event_type.as_str(), removed.sender.as_str()),
        (wcc_interface::events::REMOVED_MESSAGE_TYPE, "")
    );
}

/// Another user's direct room (their inbox on every protocol) is theirs alone: Rebuttal does not
/// list it, and the core refuses reading or changing its messages even to an administrator who
/// holds `changeMessage`. Nothing is subscribed and the message stays as it was.
#[test]
fn another_users_direct_room_is_out_of_reach() {
    let backend = backend();
    let boss = admin(&backend);
    backend.add_user("dora", None);
    backend.add_user("carl", None);
    backend
        .process_message(NewMessage {
            origin: None,
            room: "dora".into(),
            sender: "carl".into(),
            channel: "test".into(),
            event_type: "channel.message".into(),
            content: r#"{"type":"text","body":"psst"}"#.into(),
        })
        .unwrap();
    let cases = [
        (
            json!({"type": "getmessages", "roomid": "dora", "segment": 0}),
            "No such room",
        ),
        (
            json!({"type": "updatemessage", "roomid": "dora", "messageid": 1,
                "message": {"text": "x"}}),
            DENIED_CHANGE,
        ),
        (
            json!({"type": "removemessage", "roomid": "dora", "messageid": 1}),
            DENIED_CHANGE,
        ),
        (
            json!({"type": "joinroom", "roomid": "dora"}),
            "Only voice rooms can be joined",
        ),
        (
            json!({"type": "message", "roomid": "dora", "message": {"text": "hi"}}),
            "No such room",
        ),
    ];
    for (packet, refusal) in cases {
        let outcome = send(boss.clone(), packet.clone(), &backend);
        assert_eq!(error(&outcome), refusal, "{packet}");
        assert_eq!(outcome.actions.len(), 1, "only the error: {packet}");
    }
    let boss_id = boss.user.unwrap();
    assert!(!backend.is_member("dora", &boss_id));
    let kept = &backend.messages("dora");
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (kept[0].sender.as_str(), &kept[0].content["body"]),
        ("carl", &json!("psst"))
    );
}

#[test]
fn one_voice_room_at_a_time_and_closing_leaves_it() {
    let backend = backend();
    backend.add_room("v1", "voice");
    backend.add_room("v2", "voice");
    let boss = admin(&backend);
    let boss = send(boss, json!({"type": "joinroom", "roomid": "v1"}), &backend).session;
    let outcome = send(boss, json!({"type": "joinroom", "roomid": "v2"}), &backend);
    let boss_id = id(&backend, ADMIN);
    assert!(backend.is_member("v2", &boss_id) && !backend.is_member("v1", &boss_id));
    let kinds: Vec<String> = backend.signals().iter().map(|s| s.kind.clone()).collect();
    assert_eq!(kinds, ["voice.joined", "voice.left", "voice.joined"]);
    let outcome = send(
        outcome.session,
        json!({"type": "chatdev", "video": true, "audio": false}),
        &backend,
    );
    assert!(outcome.actions.is_empty());
    assert_eq!(backend.signals().last().unwrap().room, "v2");

    hang_up(outcome.session, &backend, true);
    assert!(!backend.is_member("v2", &boss_id));
    assert_eq!(backend.signals().last().unwrap().kind, "voice.left");
}

/// Upstream's client reports its devices whenever anyone joins a voice room, also when it is in
/// none: there is no one to tell, nothing is sent and nothing refused.
#[test]
fn chatdev_outside_a_voice_room_is_ignored_and_text_rooms_cannot_be_joined() {
    let backend = backend();
    backend.add_room("general", "text");
    let boss = admin(&backend);
    let before = backend.signals().len();
    let outcome = send(
        boss.clone(),
        json!({"type": "chatdev", "video": true, "audio": true}),
        &backend,
    );
    assert!(outcome.actions.is_empty(), "{:?}", outcome.actions);
    assert_eq!(backend.signals().len(), before);
    let outcome = send(
        boss,
        json!({"type": "joinroom", "roomid": "general"}),
        &backend,
    );
    assert_eq!(error(&outcome), "Only voice rooms can be joined");
}

#[test]
fn webrtc_signalling_goes_to_the_target_user() {
    let backend = backend();
    let boss = admin(&backend);
    let pat_id = member(&backend, "pat@x.org", None).user.unwrap();
    let boss_id = id(&backend, ADMIN);
    send(
        boss.clone(),
        json!({"type": "video", "touserid": pat_id, "payload": {"type": "offer", "sdp": "v=0"}}),
        &backend,
    );
    send(
        boss.clone(),
        json!({"type": "letmesee", "touserid": pat_id, "message": true}),
        &backend,
    );
    let signals = backend.user_signals();
    assert_eq!(signals.len(), 2);
    assert_eq!(
        (signals[0].user.as_str(), signals[0].kind.as_str()),
        (pat_id.as_str(), "webrtc.video")
    );

    // Pat's connection shows them as upstream's packets.
    let mut pat = session("p");
    pat.user = Some(pat_id.clone());
    for signal in signals {
        let note = Note::Signal {
            sender: signal.sender,
            channel: CHANNEL.into(),
            kind: signal.kind,
            content: serde_json::from_str(&signal.content).unwrap(),
        };
        let outcome = render::notified(pat.clone(), &note.to_json(), &backend);
        let packet = &sent(&outcome)[0];
        assert_eq!(packet["fromuserid"], boss_id.as_str());
        assert_eq!(packet["touserid"], pat_id.as_str());
    }
    let outcome = send(
        boss,
        json!({"type": "video", "touserid": "nobody", "payload": {"type": "answer"}}),
        &backend,
    );
    assert_eq!(error(&outcome), "No such user");
}

#[test]
fn created_users_get_a_password_that_logs_in() {
    let backend = backend();
    let boss = admin(&backend);
    let outcome = send(
        boss,
        json!({"type": "createuser", "userName": "Neo", "groupName": "crew", "email": "neo@x.org"}),
        &backend,
    );
    let message = sent(&outcome)[0]["message"].as_str().unwrap().to_owned();
    let password = message.rsplit(' ').next().unwrap();
    let login = json!({"type": "login", "email": "neo@x.org", "password": password});
    assert_eq!(types(&send(session("n"), login, &backend))[0], "login");
    assert_eq!(
        backend
            .user_group(&id(&backend, "neo@x.org"))
            .unwrap()
            .as_deref(),
        Some("crew")
    );
}

#[test]
fn removing_a_user_with_vengeance_masks_their_messages_and_closes_their_sessions() {
    let backend = backend();
    backend.add_room("general", "text");
    let boss = admin(&backend);
    let pat = member(&backend, "pat@x.org", Some("chat"));
    let pat_id = pat.user.clone().unwrap();
    backend
        .update_group(
            &Principal::Operator,
            "chat",
            &[channel_kit::GroupChange {
                add: Some("sendMessage".into()),
                remove: None,
            }],
        )
        .unwrap();
    send(
        pat.clone(),
        json!({"type": "message", "roomid": "general", "message": {"text": "spam"}}),
        &backend,
    );
    send(
        boss,
        json!({"type": "removeuser", "touserid": pat_id, "withvengence": true}),
        &backend,
    );
    assert_eq!(backend.messages("general")[0].sender, "");
    assert!(backend.get_user(&pat_id).unwrap().is_none());
    // The core tells the removed user's sessions, on every protocol.
    let (to, note) = backend.notes().pop().unwrap();
    assert_eq!(to, wcc_interface::notes::Recipient::User(pat_id.clone()));
    assert_eq!(note, Note::AccountRemoved);
    let outcome = render::notified(pat, &note.to_json(), &backend);
    assert!(matches!(
        outcome.actions.last(),
        Some(Action::Close(1000, _))
    ));
}

#[test]
fn the_everyone_feed_renders_as_upstream_packets() {
    let backend = backend();
    let signal = |kind: &str, content: Value| {
        let event = Event::Signal {
            room: ids::EVERYONE.into(),
            sender: "u1".into(),
            channel: CHANNEL.into(),
            kind: kind.into(),
            content,
        };
        let shown = render::render(&Envelope::new(event, 1).to_json(), &backend).unwrap();
        serde_json::from_str::<Value>(&shown).unwrap()
    };
    assert_eq!(
        signal("talking", json!({"talking": true})),
        json!({"type": "talking", "userid": "u1", "talking": true})
    );
    assert_eq!(
        signal("voice.joined", json!({"roomid": "v"})),
        json!({"type": "joinRoom", "userid": "u1", "roomid": "v"})
    );
    assert_eq!(
        signal("server.mute", json!({"userid": "u2", "suppress": true})),
        json!({"type": "servermute", "userid": "u2", "message": true})
    );
    assert_eq!(
        signal(
            "live",
            json!({"livestate": true, "livelabel": "screen", "roomid": "v"})
        )["type"],
        "golive"
    );

    backend.add_room("v", "voice");
    backend.add_user(
        "u1",
        Some(r#"{"display_name":"Ann","rebuttal":{"suppress":true}}"#),
    );
    backend.add_member("v", "u1");
    let changed = Envelope::new(
        Event::DirectoryChanged {
            part: "users".into(),
        },
        1,
    )
    .to_json();
    let users: Value = serde_json::from_str(&render::render(&changed, &backend).unwrap()).unwrap();
    let ann = &users["userList"][0];
    assert_eq!(
        (
            ann["name"].clone(),
            ann["currentRoom"].clone(),
            ann["suppress"].clone()
        ),
        (json!("Ann"), json!("v"), json!(true))
    );
    let changed = Envelope::new(
        Event::DirectoryChanged {
            part: "rooms".into(),
        },
        1,
    )
    .to_json();
    let rooms: Value = serde_json::from_str(&render::render(&changed, &backend).unwrap()).unwrap();
    assert_eq!(rooms["roomList"][0]["userlist"], json!([ann]));
}

#[test]
fn changed_permissions_are_sent_to_the_user() {
    let backend = backend();
    let boss = admin(&backend);
    let outcome = render::notified(boss, &Note::PermissionsChanged.to_json(), &backend);
    let packet = &sent(&outcome)[0];
    assert_eq!(packet["type"], "updatePerms");
    assert!(packet["perms"]
        .as_array()
        .unwrap()
        .contains(&json!("setGroupPerm")));
}

/// How many DirectoryChanged the core has published so far.
fn directory_changes(backend: &CoreBackend) -> usize {
    backend
        .events()
        .iter()
        .filter(|(_, e)| matches!(e, Event::DirectoryChanged { .. }))
        .count()
}

fn changed(part: &str) -> String {
    Envelope::new(Event::DirectoryChanged { part: part.into() }, 1).to_json()
}

/// The list packet the render of a change of `part` sends, parsed.
fn rendered(backend: &CoreBackend, part: &str) -> Value {
    serde_json::from_str(&render::render(&changed(part), backend).unwrap()).unwrap()
}

/// A user list changes when an account is made, and when a user's first connection opens or
/// last one closes, on any protocol (its `status`). A second connection, a known user's login
/// on another protocol that opens no session there, and guests send other clients no list.
#[test]
fn only_new_accounts_and_first_and_last_connections_send_other_clients_a_list() {
    let backend = backend();
    backend.add_room("call", "voice");
    admin(&backend);
    let ann = member(&backend, "ann@example.org", None);
    let ann_id = ann.user.clone().unwrap();
    let vera = backend.login("venueless", "vera-browser").unwrap().id;
    let before = directory_changes(&backend);

    // Vera's browser again: a known user, nothing in any list changes.
    backend.login("venueless", "vera-browser").unwrap();
    // An actionhero socket that never signs in: its guest comes, even into the voice room, and
    // goes with its session, as a thousand such sockets would.
    for n in 0..3 {
        let connection = format!("gw-{n}");
        let guest = backend.guest(&connection).unwrap().id;
        backend.session_started(&guest, "actionhero", &connection);
        let me = Principal::user(&guest);
        backend
            .join(&me, "call", &guest, "actionhero", None)
            .unwrap();
        assert!(rendered(&backend, "users")["userList"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["id"] != json!(guest)));
        assert_eq!(
            rendered(&backend, "rooms")["roomList"][0]["userlist"],
            json!([])
        );
        backend.session_ended(&guest, "actionhero", &connection);
        assert_eq!(backend.get_user(&guest).unwrap(), None);
    }
    // Ann on a second device: she is connected already.
    let again = json!({"type": "login", "email": "ann@example.org", "password": "correct horse"});
    let second = send(session("ann-2"), again, &backend);
    assert_eq!(types(&second)[0], "login");
    assert_eq!(
        directory_changes(&backend),
        before,
        "no list was sent again"
    );

    // Vera's browser connects: her first session, on another protocol.
    let status = |user: &str| {
        let list = rendered(&backend, "users");
        let users = list["userList"].as_array().unwrap().clone();
        users.into_iter().find(|u| u["id"] == user).unwrap()["status"].clone()
    };
    assert_eq!(status(&vera), false);
    backend.session_started(&vera, "venueless", "vera-1");
    assert_eq!(directory_changes(&backend), before + 1);
    assert_eq!(status(&vera), true);

    // Ann's devices close: only the last one changes the list.
    hang_up(second.session, &backend, true);
    assert_eq!(directory_changes(&backend), before + 1);
    assert_eq!(status(&ann_id), true);
    hang_up(ann, &backend, true);
    assert_eq!(directory_changes(&backend), before + 2);
    assert_eq!(status(&ann_id), false);

    // A new account is a change of the list: upstream's clients only understand it whole.
    member(&backend, "bo@example.org", None);
    assert!(directory_changes(&backend) > before + 2);
}

#[test]
fn a_list_overtaken_by_a_later_change_is_dropped_and_the_last_one_is_sent() {
    let backend = backend();
    admin(&backend);
    let users = changed("users");
    // While this gateway builds the list for one sign-up, someone else signs up for the first
    // time: that change comes with a DirectoryChanged of its own, after this one.
    backend.meanwhile("list_users", |b| {
        b.login("venueless", "late-browser").unwrap();
    });
    assert_eq!(render::render(&users, &backend), None);
    // Its own render finds nothing newer and sends the list with both.
    let list = rendered(&backend, "users");
    assert_eq!(list["userList"].as_array().unwrap().len(), 2, "{list}");
    // A first connection moves the same count: presence announces it as a change of the users,
    // so a list built while it happened is dropped too, and the next one shows it.
    let late = backend
        .find_login("venueless", "late-browser")
        .unwrap()
        .unwrap()
        .id;
    let connects = late.clone();
    backend.meanwhile("list_users", move |b| {
        b.session_started(&connects, "venueless", "late-1");
    });
    assert_eq!(render::render(&users, &backend), None);
    let list = rendered(&backend, "users");
    assert_eq!(list["userList"][1]["id"], late.as_str(), "{list}");
    assert_eq!(list["userList"][1]["status"], true, "{list}");
    // A change of another part does not hold this one back.
    backend.meanwhile("list_users", |b| b.add_room("later", "text"));
    assert!(render::render(&users, &backend).is_some());
    // Nor does a version that cannot be read.
    backend.fail("directory_version", wcc_interface::FailureCode::Unavailable);
    assert!(render::render(&users, &backend).is_some());
}

fn json_type(packet: &str) -> String {
    let packet: Value = serde_json::from_str(packet).unwrap();
    packet["type"].as_str().unwrap_or_default().to_owned()
}

/// The gateway hands a busy feed's events over in batches: a list that changes again later in
/// the batch is built once, for the later change, and everything else in the batch still
/// arrives, in order.
#[test]
fn a_list_changed_twice_in_one_batch_is_built_once() {
    let backend = backend();
    admin(&backend);
    backend.add_room("call", "voice");
    let joined = Envelope::new(
        Event::Signal {
            room: ids::EVERYONE.into(),
            sender: "u1".into(),
            channel: CHANNEL.into(),
            kind: "voice.joined".into(),
            content: json!({"roomid": "call"}),
        },
        1,
    )
    .to_json();
    let batch = [
        changed("users"),
        changed("rooms"),
        joined,
        changed("users"),
        "not an event".to_string(),
    ];
    let lists_before = backend.calls("list_users");
    let frames = render::render_batch(&batch, &backend);
    assert_eq!(
        backend.calls("list_users") - lists_before,
        1,
        "one users list built"
    );
    let types: Vec<Vec<String>> = frames
        .iter()
        .map(|packets| packets.iter().map(|p| json_type(p)).collect())
        .collect();
    let expected: [&[&str]; 5] = [&[], &["updateRooms"], &["joinRoom"], &["updateUsers"], &[]];
    assert_eq!(types, expected);
    // Alone, each change still sends its list.
    for part in ["users", "rooms"] {
        let alone = render::render_batch(&[changed(part)], &backend);
        assert_eq!(alone[0].len(), 1, "{part}");
    }
}

#[test]
fn what_a_guest_said_keeps_its_name_after_the_guest_is_gone() {
    let backend = backend();
    let boss = admin(&backend);
    backend.add_room("general", "text");
    let guest = backend.guest("gw-9").unwrap().id;
    let me = Principal::user(&guest);
    backend
        .join(&me, "general", &guest, "actionhero", None)
        .unwrap();
    backend
        .process_message(NewMessage {
            origin: None,
            room: "general".into(),
            sender: guest.clone(),
            channel: "actionhero".into(),
            event_type: "channel.message".into(),
            content: json!({"type": "text", "body": "hi"}).to_string(),
        })
        .unwrap();
    backend.delete_user(&me, &guest).unwrap();
    let outcome = send(
        boss,
        json!({"type": "getmessages", "roomid": "general"}),
        &backend,
    );
    let message = &sent(&outcome)[0]["messages"][0];
    assert_eq!(
        (&message["userid"], &message["username"], &message["text"]),
        (&json!(guest), &json!("guest-gw-9"), &json!("hi"))
    );
}
