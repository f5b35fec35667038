//! Changing stored messages: an edit replaces the content, a removal masks the message in place
//! (its event id stays taken, so history and segments keep their numbering) and forgets its
//! reactions. Both publish `MessageUpdated` after persisting, as a new message publishes
//! `MessagePublished`.

use wcc_interface::events::REMOVED_MESSAGE_TYPE;
use wcc_interface::{Envelope, Event, Failure, Principal, StoredMessage};
use wcc_kv::{keys, LogSet, Store};
use wcc_policy::{may_change, may_remove_messages_of};

use crate::process::validate_content;
use crate::{check_room_id, current_seq, require_room, Limits, Publisher};

/// Replaces the content of message `event_id` of `room`; id, sender, channel, type and time stay.
/// A removed message cannot be edited back to life. `actor` must be allowed by
/// [`wcc_policy::may_change`].
// The store, the publisher, the limits and the clock are the shell's; the rest is the request.
#[allow(clippy::too_many_arguments)]
pub fn edit_message<S: Store, P: Publisher>(
    store: &S,
    publisher: &P,
    limits: Limits,
    actor: &Principal,
    room: &str,
    event_id: u64,
    content: &str,
    now_ms: u64,
) -> Result<StoredMessage, Failure> {
    let content = validate_content(content, limits)?;
    let mut message = load(store, room, event_id)?;
    if message.event_type == REMOVED_MESSAGE_TYPE {
        // It has no sender left to check against; whoever may read the room sees it removed.
        wcc_policy::may_read(store, actor, room)?;
        return Err(Failure::invalid(format!(
            "message {event_id} of {room} was removed"
        )));
    }
    may_change(store, actor, &message)?;
    message.content = content;
    save_and_publish(store, publisher, message, now_ms)
}

/// Masks message `event_id` of `room`: no content, no sender. Removing twice is harmless.
/// Authorized as an edit.
pub fn remove_message<S: Store, P: Publisher>(
    store: &S,
    publisher: &P,
    actor: &Principal,
    room: &str,
    event_id: u64,
    now_ms: u64,
) -> Result<StoredMessage, Failure> {
    let message = load(store, room, event_id)?;
    if message.event_type == REMOVED_MESSAGE_TYPE {
        // It has no sender left to check against; anyone who may read the room sees it removed.
        wcc_policy::may_read(store, actor, room)?;
        return Ok(message);
    }
    may_change(store, actor, &message)?;
    let removed = save_and_publish(store, publisher, masked(message), now_ms)?;
    crate::reactions::clear(store, room, event_id)?;
    Ok(removed)
}

/// Masks every message `sender` wrote in the rooms they belong to; returns how many.
///
/// A full scan of those rooms: this runs when an administrator removes a user, rarely, and an
/// index of messages by sender would cost a write on every message instead.
pub fn remove_messages_by<S: Store, P: Publisher>(
    store: &S,
    publisher: &P,
    actor: &Principal,
    sender: &str,
    now_ms: u64,
) -> Result<u32, Failure> {
    if sender.is_empty() {
        return Err(Failure::invalid("sender is empty"));
    }
    may_remove_messages_of(store, actor, sender)?;
    let rooms: LogSet<'_, S> = LogSet::new(store, keys::user_rooms(sender));
    let mut count = 0;
    for room in rooms.entries::<serde_json::Value>()?.into_keys() {
        if check_room_id(&room).is_err() || require_room(store, &room).is_err() {
            continue;
        }
        let keys: Vec<String> = (1..=current_seq(store, &room)?)
            .map(|id| keys::message(&room, id))
            .collect();
        for chunk in keys.chunks(crate::MAX_HISTORY_COUNT as usize) {
            for bytes in store.get_many(chunk)?.into_iter().flatten() {
                let Ok(message) = serde_json::from_slice::<StoredMessage>(&bytes) else {
                    continue;
                };
                if message.sender == sender {
                    let removed = save_and_publish(store, publisher, masked(message), now_ms)?;
                    crate::reactions::clear(store, &removed.room, removed.event_id)?;
                    count += 1;
                }
            }
        }
    }
    Ok(count)
}

fn masked(mut message: StoredMessage) -> StoredMessage {
    message.content = serde_json::Value::Object(Default::default());
    message.event_type = REMOVED_MESSAGE_TYPE.to_owned();
    message.sender.clear();
    message
}

fn load<S: Store>(store: &S, room: &str, event_id: u64) -> Result<StoredMessage, Failure> {
    check_room_id(room)?;
    require_room(store, room)?;
    store
        .get_json(&keys::message(room, event_id))?
        .ok_or_else(|| Failure::invalid(format!("no message {event_id} in {room}")))
}

fn save_and_publish<S: Store, P: Publisher>(
    store: &S,
    publisher: &P,
    message: StoredMessage,
    now_ms: u64,
) -> Result<StoredMessage, Failure> {
    store.set_json(&keys::message(&message.room, message.event_id), &message)?;
    let event = Event::MessageUpdated {
        message: message.clone(),
    };
    let subject = event.subject();
    // Persisted already: a lost event is logged, not returned, as for new messages.
    if let Err(e) = publisher.publish(&subject, Envelope::new(event, now_ms).to_json().as_bytes()) {
        eprintln!(
            "messages: {}#{} updated but not published: {e}",
            message.room, message.event_id
        );
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{lobby_with_alice, RecordingPublisher};
    use crate::{process_message, NewMessage};
    use wcc_interface::FailureCode;

    fn post(store: &impl Store, room: &str, sender: &str, body: &str) -> StoredMessage {
        let msg = NewMessage {
            origin: None,
            room: room.into(),
            sender: sender.into(),
            channel: "test".into(),
            event_type: "channel.message".into(),
            content: format!(r#"{{"body":"{body}"}}"#),
        };
        let publisher = RecordingPublisher::default();
        process_message(store, &publisher, Limits::default(), msg, 5, || {
            format!("id-{body}")
        })
        .unwrap()
    }

    fn alice() -> Principal {
        Principal::user("alice")
    }

    #[test]
    fn only_those_the_policy_allows_change_a_message() {
        let store = lobby_with_alice();
        store.set(&keys::member_flag("lobby", "bob"), b"1").unwrap();
        post(&store, "lobby", "alice", "mine");
        let publisher = RecordingPublisher::default();
        let bob = Principal::user("bob");
        let limits = Limits::default();
        let edit = edit_message(&store, &publisher, limits, &bob, "lobby", 1, "{}", 2);
        assert_eq!(edit.unwrap_err().code, FailureCode::Denied);
        let removal = remove_message(&store, &publisher, &bob, "lobby", 1, 2);
        assert_eq!(removal.unwrap_err().code, FailureCode::Denied);
        let vengeance = remove_messages_by(&store, &publisher, &bob, "alice", 2);
        assert_eq!(vengeance.unwrap_err().code, FailureCode::Denied);
        assert!(
            updates(&publisher).is_empty(),
            "nothing changed, nothing told"
        );
        let stored: StoredMessage = store.get_json(&keys::message("lobby", 1)).unwrap().unwrap();
        assert_eq!(stored.content["body"], "mine");
    }

    fn updates(publisher: &RecordingPublisher) -> Vec<StoredMessage> {
        publisher
            .sent
            .borrow()
            .iter()
            .filter_map(|(_, body)| match Envelope::parse(body)?.event {
                Event::MessageUpdated { message } => Some(message),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn an_edit_keeps_id_sender_and_time_and_is_published() {
        let store = lobby_with_alice();
        let original = post(&store, "lobby", "alice", "v1");
        let publisher = RecordingPublisher::default();
        let edited = edit_message(
            &store,
            &publisher,
            Limits::default(),
            &alice(),
            "lobby",
            1,
            r#"{"body":"v2"}"#,
            9,
        )
        .unwrap();
        assert_eq!(edited.content["body"], "v2");
        assert_eq!(
            (&edited.id, &edited.sender, edited.sent_at),
            (&original.id, &original.sender, original.sent_at)
        );
        assert_eq!(updates(&publisher), std::slice::from_ref(&edited));
        let stored: StoredMessage = store.get_json(&keys::message("lobby", 1)).unwrap().unwrap();
        assert_eq!(stored, edited);
    }

    #[test]
    fn edits_of_missing_messages_rooms_or_bad_content_are_refused() {
        let store = lobby_with_alice();
        post(&store, "lobby", "alice", "v1");
        let publisher = RecordingPublisher::default();
        let limits = Limits::default();
        let edit = |room: &str, id: u64, content: &str| {
            edit_message(&store, &publisher, limits, &alice(), room, id, content, 1).unwrap_err()
        };
        assert_eq!(edit("lobby", 2, "{}").code, FailureCode::Invalid);
        assert_eq!(edit("nowhere", 1, "{}").code, FailureCode::UnknownRoom);
        assert_eq!(edit("lobby", 1, "[1]").code, FailureCode::Invalid);
        assert!(updates(&publisher).is_empty());
    }

    #[test]
    fn a_removal_masks_content_and_sender_and_cannot_be_edited_back() {
        let store = lobby_with_alice();
        post(&store, "lobby", "alice", "secret");
        let publisher = RecordingPublisher::default();
        let removed = remove_message(&store, &publisher, &alice(), "lobby", 1, 2).unwrap();
        assert_eq!(removed.event_type, REMOVED_MESSAGE_TYPE);
        assert_eq!(removed.sender, "");
        assert_eq!(removed.content, serde_json::json!({}));
        assert_eq!(
            remove_message(&store, &publisher, &alice(), "lobby", 1, 3).unwrap(),
            removed
        );
        assert_eq!(
            updates(&publisher).len(),
            1,
            "a second removal publishes nothing"
        );
        let limits = Limits::default();
        let revived = edit_message(
            &store,
            &publisher,
            limits,
            &alice(),
            "lobby",
            1,
            r#"{"body":"x"}"#,
            4,
        );
        assert_eq!(revived.unwrap_err().code, FailureCode::Invalid);
    }

    #[test]
    fn removing_by_sender_masks_only_their_messages_in_all_their_rooms() {
        let store = lobby_with_alice();
        store.set(&keys::room("den"), br#"{"id":"den"}"#).unwrap();
        for (room, user) in [("den", "alice"), ("lobby", "bob"), ("den", "bob")] {
            store.set(&keys::member_flag(room, user), b"1").unwrap();
        }
        let rooms = LogSet::new(&store, keys::user_rooms("alice"));
        rooms.add("lobby", &1u64, 1).unwrap();
        rooms.add("den", &1u64, 1).unwrap();
        post(&store, "lobby", "alice", "a1");
        post(&store, "lobby", "bob", "b1");
        post(&store, "den", "alice", "a2");
        post(&store, "den", "bob", "b2");

        let publisher = RecordingPublisher::default();
        assert_eq!(
            remove_messages_by(&store, &publisher, &Principal::Operator, "alice", 7).unwrap(),
            2
        );
        let remaining: Vec<String> = [("lobby", 1), ("lobby", 2), ("den", 1), ("den", 2)]
            .iter()
            .map(|(room, id)| {
                let m: StoredMessage = store.get_json(&keys::message(room, *id)).unwrap().unwrap();
                m.sender
            })
            .collect();
        assert_eq!(remaining, ["", "bob", "", "bob"]);
        assert_eq!(updates(&publisher).len(), 2);
    }
}
