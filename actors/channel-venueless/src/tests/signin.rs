//! What the upstream webapp (venueless `webapp/`) reads at sign-in and about users, beyond the
//! seed: the world and read state in `authenticated`, `user.fetch {ids}`, and the pushes that
//! keep a user's other sessions in step (profile, read pointers, channel list).

use wcc_interface::Note;

use super::*;
use crate::codes;
use crate::notified::notified;

fn authenticated(backend: &CoreBackend, client_id: &str) -> Value {
    let (_, actions) = send(
        backend,
        &fresh(),
        json!(["authenticate", {"client_id": client_id}]),
    );
    let frame = only(&actions);
    assert_eq!(frame[0], "authenticated", "{frame}");
    frame[1].clone()
}

fn room_ids(world: &Value) -> Vec<String> {
    world["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|room| room["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_webapp_store_finds_world_config_in_authenticated() {
    let (backend, _) = setup(true);
    backend.add_room("voice_0", "voice");
    backend.add_room("club", "private");
    backend.add_room("secret", "private");
    backend.add_member("club", "alice");
    backend.add_user("bob", None);
    let state = authenticated(&backend, "alice");
    let world = &state["world.config"];
    assert_eq!(
        world["world"],
        json!({"id": "wcc", "title": "wcc", "pretalx": {}, "profile_fields": [],
            "social_logins": [], "onsite_traits": [],
            "iframe_blockers": {"default": {"enabled": false, "policy_url": null}}})
    );
    assert_eq!(world["permissions"], json!(["world:view"]));
    // Text rooms and the private room alice may read; no voice call, no inbox, no room the
    // core keeps from her.
    let mut shown = room_ids(world);
    shown.sort();
    assert_eq!(shown, ["club", "room_0", "room_1"]);
    let room_0 = world["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|room| room["id"] == "room_0")
        .unwrap();
    assert_eq!(
        room_0,
        &json!({"id": "room_0", "name": "Room room_0", "description": "", "picture": null,
            "import_id": null, "pretalx_id": null, "force_join": false, "schedule_data": null,
            "permissions": ["room:view", "room:chat.read", "room:chat.join", "room:chat.send"],
            "modules": [{"type": "chat.native", "channel_id": "room_0",
                "config": {"volatile": false}}]})
    );
    // The store commits these unconditionally; missing ones stop the webapp.
    assert_eq!(
        state["exhibition"],
        json!({"exhibitors": [], "contact_requests": []})
    );
    assert_eq!(state["announcements"], json!([]));
    assert_eq!(
        state["chat.channels"],
        json!([{"id": "club", "unread_pointer": 0}])
    );
}

#[test]
fn a_user_who_may_change_messages_moderates_every_room() {
    let (backend, _) = setup(true);
    backend.make_admin(&Principal::Operator, "alice").unwrap();
    let state = authenticated(&backend, "alice");
    for room in state["world.config"]["rooms"].as_array().unwrap() {
        assert_eq!(room["permissions"][4], "room:chat.moderate", "{room}");
    }
}

#[test]
fn the_world_is_titled_by_a_setting() {
    let (backend, _) = setup(true);
    backend.set_setting(crate::world::WORLD_TITLE_KEY, "Our chat");
    let state = authenticated(&backend, "alice");
    assert_eq!(state["world.config"]["world"]["title"], "Our chat");
}

#[test]
fn the_sidebar_finds_read_pointers_and_unread_counts_at_sign_in() {
    let (backend, session) = joined();
    backend.add_user("bob", None);
    backend.add_member("room_0", "bob");
    for n in 1..=3 {
        post(&backend, "room_0", "bob", &format!("m{n}"));
    }
    let (_, actions) = send(
        &backend,
        &session,
        json!(["chat.mark_read", 4, {"channel": "room_0", "id": 1}]),
    );
    assert_eq!(only(&actions), json!(["success", 4, {}]));
    let state = authenticated(&backend, "alice");
    assert_eq!(
        state["chat.channels"],
        json!([{"id": "room_0", "unread_pointer": 3}])
    );
    assert_eq!(state["chat.read_pointers"], json!({"room_0": 1}));
    assert_eq!(state["chat.notification_counts"], json!({"room_0": 2}));
}

#[test]
fn user_fetch_with_ids_answers_a_map_of_profiles() {
    let (backend, session) = setup(true);
    backend.add_user("bob", Some(r#"{"display_name":"Bob"}"#));
    // The webapp asks for the sender of a removed message too, which is `null`.
    let (_, actions) = send(
        &backend,
        &session,
        json!(["user.fetch", 8, {"ids": ["bob", null, "gone", 5, "bob"]}]),
    );
    assert_eq!(
        only(&actions),
        json!(["success", 8, {
            "bob": {"id": "bob", "profile": {"display_name": "Bob"}},
            "gone": {"id": "gone", "profile": {}, "deleted": true},
        }])
    );
    let (_, actions) = send(&backend, &session, json!(["user.fetch", 9, {"ids": []}]));
    assert_eq!(only(&actions), json!(["success", 9, {}]));
    let (_, actions) = send(
        &backend,
        &session,
        json!(["user.fetch", 10, {"ids": "bob"}]),
    );
    assert_eq!(error_code(&actions), codes::PROTOCOL_MALFORMED);
}

#[test]
fn a_profile_change_reaches_the_users_other_sessions() {
    let (backend, laptop) = setup(false);
    let phone = Session {
        connection_id: "gw-2".into(),
        ..fresh_user(&laptop)
    };
    let (laptop, actions) = send(
        &backend,
        &laptop,
        json!(["user.update", 4, {"profile": {"display_name": "Al"}}]),
    );
    assert_eq!(only(&actions), json!(["success", 4, {}]));
    let signals = backend.user_signals();
    assert_eq!(signals.len(), 1);
    let signal = &signals[0];
    assert_eq!(
        (
            signal.sender.as_str(),
            signal.user.as_str(),
            signal.kind.as_str()
        ),
        ("alice", "alice", crate::auth::PROFILE_CHANGED)
    );
    let told = Note::Signal {
        sender: "alice".into(),
        channel: signal.channel.clone(),
        kind: signal.kind.clone(),
        content: serde_json::from_str(&signal.content).unwrap(),
    };
    let (phone, pushed) = note(&backend, &phone, &told);
    assert_eq!(
        pushed,
        [json!(["user.updated", {"id": "alice", "profile": {"display_name": "Al"}}])]
    );
    assert!(
        data(&phone).profile,
        "the phone may join without asking again"
    );
    // The laptop changed it and knows; as upstream, it hears nothing.
    let (_, pushed) = note(&backend, &laptop, &told);
    assert!(pushed.is_empty(), "{pushed:?}");
    // Nor does anyone else's signal of that kind make it push.
    let Note::Signal {
        channel,
        kind,
        content,
        ..
    } = told
    else {
        unreachable!()
    };
    let forged = Note::Signal {
        sender: "mallory".into(),
        channel,
        kind,
        content,
    };
    assert!(note(&backend, &phone, &forged).1.is_empty());
}

#[test]
fn an_operator_join_sends_the_channel_list_again() {
    let (backend, session) = setup(true);
    backend.add_member("room_1", "alice");
    let (session, pushed) = note(
        &backend,
        &session,
        &Note::Joined {
            room: "room_1".into(),
        },
    );
    assert_eq!(
        pushed,
        [json!(["chat.channels", {"channels": [{"id": "room_1", "unread_pointer": 0}]}])]
    );
    assert!(data(&session).is_joined("room_1"), "it may send there now");
    backend.remove_member("room_1", "alice");
    let (session, pushed) = note(
        &backend,
        &session,
        &Note::Left {
            room: "room_1".into(),
        },
    );
    assert_eq!(pushed, [json!(["chat.channels", {"channels": []}])]);
    assert!(!data(&session).is_joined("room_1"));
}

#[test]
fn notes_before_sign_in_or_unknown_show_nothing() {
    let (backend, session) = setup(true);
    let read = Note::ReadPointer {
        room: "room_0".into(),
        event_id: 1,
    };
    let outcome = notified(fresh(), &read.to_json(), &backend);
    assert!(outcome.actions.is_empty());
    let outcome = notified(session.clone(), "{\"NoSuchNote\":{}}", &backend);
    assert!(outcome.actions.is_empty());
    assert_eq!(outcome.session, session);
}
