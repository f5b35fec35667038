//! Room events -> venueless pushes: `chat.event` for messages, their edits and membership,
//! `chat.event.reaction` for reactions, and after a new message `chat.unread_pointers`.
//!
//! The gateway renders each room event once for all local venueless subscribers of the room, so
//! nothing here may depend on who receives it. A lookup that fails never loses the event: what it
//! would have added (a profile, the room's position) is left out or falls back.

use serde_json::{json, Value};
use wcc_interface::ids::is_valid_id;
use wcc_interface::{Author, Envelope, Event, Principal, Reactions};

use crate::backend::{Backend, User};
use crate::codec;
use crate::views::{
    gone_user_view, member_event, message_event, reactors, replacement_event, shown_ids, user_view,
    users_map,
};

/// Every frame one room event makes: [`render`]'s, and after a new message upstream's
/// `chat.unread_pointers` with the room's newest id. A connection hears the rooms its user joined
/// (see `auth`) while it shows one of them; the webapp ignores `chat.event`s of the others and
/// takes from this push that they have something unread, which its sidebar marks.
pub fn render_all(event: &str, backend: &impl Backend) -> Vec<String> {
    let newest = match Envelope::parse(event.as_bytes()).map(|e| e.event) {
        Some(Event::MessagePublished { message, .. }) => Some((message.room, message.event_id)),
        _ => None,
    };
    let mut frames: Vec<String> = render(event, backend).into_iter().collect();
    if let Some((room, event_id)) = newest {
        frames.push(codec::push(
            "chat.unread_pointers",
            json!({ room: event_id }),
        ));
    }
    frames
}

/// Most people one batch looks up before it renders ([`render_batch`]); a batch that shows more
/// (reactions of many) looks the rest up event by event.
pub const MAX_LOOKED_UP_TOGETHER: usize = 256;

/// A batch of one room's events (the gateway sends a busy room's together): everyone the batch
/// shows is looked up in one call first, and the render call remembers them, so the users actor is
/// asked once a batch rather than once for each new sender. A failed lookup is no loss: each event
/// then asks for its own people, and falls back as [`render`] does.
pub fn render_batch(events: &[String], backend: &impl Backend) -> Vec<Vec<String>> {
    let mut people: Vec<String> = Vec::new();
    for envelope in events.iter().filter_map(|e| Envelope::parse(e.as_bytes())) {
        people.extend(people_shown(&envelope.event));
    }
    people.sort_unstable();
    people.dedup();
    people.truncate(MAX_LOOKED_UP_TOGETHER);
    if people.len() > 1 {
        let _ = backend.get_users(&people);
    }
    events
        .iter()
        .map(|event| render_all(event, backend))
        .collect()
}

/// Whose profiles the push of `event` carries.
fn people_shown(event: &Event) -> Vec<String> {
    match event {
        // A new message names its author (see `with_author`) unless it took the slow path.
        Event::MessagePublished {
            author: Some(_), ..
        } => Vec::new(),
        Event::MessagePublished { message, .. } | Event::MessageUpdated { message } => {
            shown_ids([&message.sender])
        }
        Event::UserJoined { user, .. } | Event::UserLeft { user, .. } => shown_ids([user]),
        Event::ReactionsChanged { reactions, .. } => shown_ids(reactors(reactions)),
        _ => Vec::new(),
    }
}

/// Renders one room event envelope (JSON text); `None` for events venueless does not show.
pub fn render(event: &str, backend: &impl Backend) -> Option<String> {
    let envelope = Envelope::parse(event.as_bytes())?;
    let at = envelope.at;
    let (name, payload) = match envelope.event {
        Event::MessagePublished { message, author } => {
            let event = message_event(&message, &Reactions::new());
            (
                "chat.event",
                with_author(event, message.sender, author, backend),
            )
        }
        Event::MessageUpdated { message } => {
            let position = room_position(backend, &message.room).unwrap_or(message.event_id);
            let event = replacement_event(&message, position, at);
            ("chat.event", with_users(event, &[message.sender], backend))
        }
        Event::UserJoined { room, user, .. } => (
            "chat.event",
            member_event(&room, member(&user, backend), "join", at),
        ),
        Event::UserLeft { room, user, .. } => (
            "chat.event",
            member_event(&room, member(&user, backend), "leave", at),
        ),
        Event::ReactionsChanged {
            room,
            event_id,
            reactions,
            ..
        } => {
            // The webapp reads `channel`, `event_id`, `reactions` and `users` of this push; the
            // profiles let it name who reacted.
            let reacted: Vec<String> = reactors(&reactions).cloned().collect();
            let event = json!({ "channel": room, "event_id": event_id, "reactions": reactions });
            ("chat.event.reaction", with_users(event, &reacted, backend))
        }
        Event::UserLoggedIn { .. }
        | Event::UserLoggedOut { .. }
        | Event::GatewayAlive { .. }
        | Event::MessageDelivered { .. }
        | Event::DirectoryChanged { .. }
        | Event::Signal { .. } => return None,
    };
    Some(codec::push(name, payload))
}

/// The room's newest event id (what an edit's push carries, see [`replacement_event`]).
pub(crate) fn room_position(backend: &impl Backend, room: &str) -> Option<u64> {
    let next = backend.next_event_id(&Principal::Server, room).ok()?;
    Some(next.saturating_sub(1))
}

/// `event` with upstream's `users`: the profiles of `ids`, so the webapp need not ask for them.
fn with_users(mut event: Value, ids: &[String], backend: &impl Backend) -> Value {
    event["users"] = json!(users_map(backend, ids).unwrap_or_default());
    event
}

/// `event` with upstream's `users` for a new message: its sender's profile as the event's
/// author carries it, or looked up where the event has none.
fn with_author(
    mut event: Value,
    sender: String,
    author: Option<Author>,
    backend: &impl Backend,
) -> Value {
    match author {
        Some(author) if is_valid_id(&sender) => {
            let profile = author.profile.map(|profile| profile.to_string());
            let view = user_view(&User {
                id: sender.clone(),
                profile,
            });
            event["users"] = json!({ sender: view });
            event
        }
        _ => with_users(event, &[sender], backend),
    }
}

/// The user of a membership event, by id without a profile if the lookup fails.
fn member(user: &str, backend: &impl Backend) -> Value {
    match backend.get_user(user) {
        Ok(Some(found)) => user_view(&found),
        Ok(None) => gone_user_view(user),
        Err(_) => json!({ "id": user, "profile": {} }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use channel_kit::core::{CoreBackend, START_MS};
    use serde_json::from_str;
    use wcc_interface::events::REMOVED_MESSAGE_TYPE;
    use wcc_interface::StoredMessage;

    /// When the events below were published: 2023-11-14T22:13:20.000Z plus a minute.
    const AT: u64 = START_MS + 60_000;

    fn env(event: Event) -> String {
        Envelope::new(event, AT).to_json()
    }

    fn rendered(event: Event, backend: &CoreBackend) -> Value {
        from_str(&render(&env(event), backend).expect("a frame")).unwrap()
    }

    fn stored(content: Value) -> StoredMessage {
        StoredMessage {
            id: "m1".into(),
            room: "room_0".into(),
            event_id: 4,
            sender: "u1".into(),
            channel: "venueless".into(),
            event_type: "channel.message".into(),
            content,
            sent_at: START_MS,
        }
    }

    #[test]
    fn a_published_message_is_a_whole_chat_event_with_its_senders_profile() {
        let backend = CoreBackend::new();
        backend.add_user("u1", Some(r#"{"display_name":"Ann"}"#));
        let text = json!({"type": "text", "body": "Hello world"});
        let frame = rendered(
            Event::MessagePublished {
                message: stored(text.clone()),
                author: None,
            },
            &backend,
        );
        assert_eq!(
            frame,
            json!(["chat.event", {"channel": "room_0", "event_type": "channel.message",
                "content": text, "sender": "u1", "event_id": 4,
                "timestamp": "2023-11-14T22:13:20.000+00:00", "edited": null, "replaces": null,
                "reactions": {},
                "users": {"u1": {"id": "u1", "profile": {"display_name": "Ann"}}}}])
        );
    }

    #[test]
    fn a_new_message_shows_the_profile_its_event_carries_without_asking() {
        let backend = CoreBackend::new().remembering_users();
        backend.add_user("u1", Some(r#"{"display_name":"Ann"}"#));
        let author = |profile| {
            Some(wcc_interface::Author {
                profile: Some(json!({ "display_name": profile })),
            })
        };
        let event = |author| Event::MessagePublished {
            message: stored(json!({"type": "text", "body": "hi"})),
            author,
        };
        // The profile when the message was stored, which the core read in that same call.
        let frame = rendered(event(author("Ann then")), &backend);
        assert_eq!(
            frame[1]["users"],
            json!({"u1": {"id": "u1", "profile": {"display_name": "Ann then"}}})
        );
        let batch: Vec<String> = (0..3).map(|_| env(event(author("Ann")))).collect();
        assert_eq!(render_batch(&batch, &backend).len(), 3);
        assert_eq!(backend.calls("get_users"), 0, "nobody asked");
        // An event without one (a message that took the slow path) is looked up as before.
        let frame = rendered(event(None), &backend);
        assert_eq!(frame[1]["users"]["u1"]["profile"]["display_name"], "Ann");
        assert_eq!(backend.calls("get_users"), 1);
    }

    /// An edit is pushed as upstream pushes one, a new event naming the message in `replaces`,
    /// numbered with the room's newest id so the webapp's read pointer never goes back.
    #[test]
    fn an_edit_is_a_replacing_event_at_the_rooms_newest_id() {
        let (backend, _) = crate::tests::joined();
        for n in 1..=6 {
            crate::tests::post(&backend, "room_0", "alice", &format!("m{n}"));
        }
        let mut edited = stored(json!({"type": "text", "body": "fixed typo"}));
        edited.sender = "alice".into();
        let frame = rendered(Event::MessageUpdated { message: edited }, &backend);
        assert_eq!(frame[0], "chat.event");
        let event = &frame[1];
        assert_eq!(
            (&event["event_id"], &event["replaces"]),
            (&json!(6), &json!(4)),
            "{event}"
        );
        assert_eq!(
            event["content"],
            json!({"type": "text", "body": "fixed typo"})
        );
        assert_eq!(event["edited"], "2023-11-14T22:14:20.000+00:00");
        assert_eq!(event["timestamp"], event["edited"]);
        assert_eq!(event["reactions"], json!({}));
        assert_eq!(event["sender"], "alice");
    }

    #[test]
    fn a_removal_from_any_protocol_is_a_deletion_without_sender() {
        let backend = CoreBackend::new();
        let mut removed = stored(json!({}));
        removed.event_type = REMOVED_MESSAGE_TYPE.into();
        removed.sender.clear();
        let event = rendered(Event::MessageUpdated { message: removed }, &backend)[1].clone();
        assert_eq!(
            (&event["event_type"], &event["content"], &event["sender"]),
            (
                &json!("channel.message"),
                &json!({"type": "deleted"}),
                &Value::Null
            )
        );
        // The room is gone, so its position is unknown: the message's own id stands in.
        assert_eq!(
            (&event["event_id"], &event["replaces"]),
            (&json!(4), &json!(4))
        );
        assert_eq!(event["users"], json!({}));
    }

    #[test]
    fn joins_and_leaves_become_member_events_with_profile_and_time() {
        let backend = CoreBackend::new();
        backend.add_user("u1", Some(r#"{"display_name":"Ann"}"#));
        for (event, membership) in [
            (
                Event::UserJoined {
                    room: "r".into(),
                    user: "u1".into(),
                    channel: "x".into(),
                },
                "join",
            ),
            (
                Event::UserLeft {
                    room: "r".into(),
                    user: "u1".into(),
                    channel: "x".into(),
                },
                "leave",
            ),
        ] {
            assert_eq!(
                rendered(event, &backend),
                json!(["chat.event", {"channel": "r", "event_type": "channel.member", "sender": "u1",
                    "timestamp": "2023-11-14T22:14:20.000+00:00", "edited": null,
                    "replaces": null, "reactions": {},
                    "content": {"membership": membership,
                        "user": {"id": "u1", "profile": {"display_name": "Ann"}}}}])
            );
        }
    }

    #[test]
    fn a_member_who_is_gone_is_named_by_id() {
        let backend = CoreBackend::new();
        let joined = Event::UserJoined {
            room: "r".into(),
            user: "ghost".into(),
            channel: "x".into(),
        };
        assert_eq!(
            rendered(joined.clone(), &backend)[1]["content"]["user"],
            json!({"id": "ghost", "profile": {}, "deleted": true})
        );
        // A lookup that fails does not call anyone deleted, and does not lose the event.
        backend.fail("get_user", wcc_interface::FailureCode::Unavailable);
        assert_eq!(
            rendered(joined, &backend)[1]["content"]["user"],
            json!({"id": "ghost", "profile": {}})
        );
    }

    #[test]
    fn a_reaction_change_is_pushed_with_the_tally_and_who_reacted() {
        let backend = CoreBackend::new();
        backend.add_user("u1", Some(r#"{"display_name":"Ann"}"#));
        backend.add_user("u2", None);
        let reactions: Reactions = [
            ("👍".to_owned(), vec!["u1".to_owned(), "u2".to_owned()]),
            ("🎉".to_owned(), vec!["u1".to_owned()]),
        ]
        .into_iter()
        .collect();
        let frame = rendered(
            Event::ReactionsChanged {
                room: "room_0".into(),
                event_id: 4,
                message_id: "m1".into(),
                user: "u2".into(),
                reaction: "👍".into(),
                added: true,
                reactions: reactions.clone(),
            },
            &backend,
        );
        assert_eq!(
            frame,
            json!(["chat.event.reaction", {"channel": "room_0", "event_id": 4,
                "reactions": {"👍": ["u1", "u2"], "🎉": ["u1"]},
                "users": {"u1": {"id": "u1", "profile": {"display_name": "Ann"}},
                          "u2": {"id": "u2", "profile": {}}}}])
        );
    }

    #[test]
    fn a_new_message_also_moves_the_rooms_unread_pointer() {
        let backend = CoreBackend::new();
        let event = env(Event::MessagePublished {
            message: stored(json!({"type": "text", "body": "hi"})),
            author: None,
        });
        let frames: Vec<Value> = render_all(&event, &backend)
            .iter()
            .map(|frame| from_str(frame).unwrap())
            .collect();
        assert_eq!(frames.len(), 2, "{frames:?}");
        assert_eq!(frames[0][0], "chat.event");
        assert_eq!(frames[1], json!(["chat.unread_pointers", {"room_0": 4}]));
        // An edit takes no new id, so no pointer moves; other events make one frame at most.
        let edit = env(Event::MessageUpdated {
            message: stored(json!({"type": "text", "body": "hi!"})),
        });
        assert_eq!(render_all(&edit, &backend).len(), 1);
        assert!(render_all("not json", &backend).is_empty());
    }

    /// Ten messages from five senders, a join and a reaction: what a busy room's batch holds.
    fn busy_batch(backend: &CoreBackend) -> Vec<String> {
        for n in 1..=7 {
            backend.add_user(
                &format!("u{n}"),
                Some(&format!(r#"{{"display_name":"U{n}"}}"#)),
            );
        }
        let mut events: Vec<String> = (0..10)
            .map(|n| {
                let mut message = stored(json!({"type": "text", "body": format!("m{n}")}));
                message.sender = format!("u{}", n % 5 + 1);
                message.event_id = n + 1;
                env(Event::MessagePublished {
                    message,
                    author: None,
                })
            })
            .collect();
        events.push(env(Event::UserJoined {
            room: "room_0".into(),
            user: "u6".into(),
            channel: "venueless".into(),
        }));
        let reactions: Reactions = [("👍".to_owned(), vec!["u7".to_owned(), "u1".to_owned()])]
            .into_iter()
            .collect();
        events.push(env(Event::ReactionsChanged {
            room: "room_0".into(),
            event_id: 1,
            message_id: "m1".into(),
            user: "u7".into(),
            reaction: "👍".into(),
            added: true,
            reactions,
        }));
        events
    }

    #[test]
    fn a_batch_looks_up_everyone_it_shows_in_one_call() {
        let backend = CoreBackend::new().remembering_users();
        let events = busy_batch(&backend);
        let batch = render_batch(&events, &backend);
        assert_eq!(backend.calls("get_users"), 1, "one lookup for seven people");
        assert_eq!(backend.calls("get_user"), 0);

        // The same pushes as each event rendered alone, profiles and all.
        let alone = CoreBackend::new();
        busy_batch(&alone);
        let one_by_one: Vec<Vec<String>> = events.iter().map(|e| render_all(e, &alone)).collect();
        assert_eq!(batch, one_by_one);
        let last: Value = from_str(&batch[9][0]).unwrap();
        assert_eq!(last[1]["users"]["u5"]["profile"]["display_name"], "U5");
    }

    #[test]
    fn a_batch_whose_lookup_fails_still_pushes_every_event() {
        let backend = CoreBackend::new().remembering_users();
        let events = busy_batch(&backend);
        backend.fail("get_users", wcc_interface::FailureCode::Unavailable);
        let batch = render_batch(&events, &backend);
        assert_eq!(batch.len(), events.len());
        // Ten messages with their unread pointers, the join, the reaction: none lost.
        assert_eq!(batch.iter().map(Vec::len).sum::<usize>(), 22);
        let join: Value = from_str(&batch[10][0]).unwrap();
        assert_eq!(
            join[1]["content"]["user"],
            json!({"id": "u6", "profile": {}})
        );
    }

    #[test]
    fn other_events_and_garbage_render_nothing() {
        let backend = CoreBackend::new();
        let login = Event::UserLoggedIn {
            user: "u".into(),
            channel: "c".into(),
            connection: "k".into(),
            gateway: "g".into(),
        };
        let delivered = Event::MessageDelivered {
            room: "r".into(),
            event_id: 1,
            channel: "c".into(),
            recipients: 2,
        };
        assert_eq!(render(&env(login), &backend), None);
        assert_eq!(render(&env(delivered), &backend), None);
        assert_eq!(render("not json", &backend), None);
    }
}
