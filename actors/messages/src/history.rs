//! Reading a room's history, newest first, a page at a time.
//!
//! Event ids are dense per room (`room_seq` counts them), so a page is a range of ids read with
//! one `get_many`. An id whose write never completed (its writer failed after taking the id) is
//! simply absent and skipped.

use wcc_interface::{Failure, Principal, StoredMessage};
use wcc_kv::{keys, Store};

use crate::{check_room_id, current_seq};

pub use wcc_interface::requests::MAX_HISTORY_COUNT;

/// Up to `count` (clamped to 1..=[`MAX_HISTORY_COUNT`]) messages of `room` with ids below
/// `before`, or the newest ones when `before` is `None`; newest first.
pub fn history<S: Store>(
    store: &S,
    actor: &Principal,
    room: &str,
    before: Option<u64>,
    count: u32,
) -> Result<Vec<StoredMessage>, Failure> {
    check_room_id(room)?;
    wcc_policy::may_read(store, actor, room)?;
    let seq = current_seq(store, room)?;
    // Capped at `seq` so a `before` far in the future still yields the newest page, not a
    // window of ids that do not exist yet.
    let newest = match before {
        None => seq,
        Some(before) => before.saturating_sub(1).min(seq),
    };
    let count = u64::from(count.clamp(1, MAX_HISTORY_COUNT));
    let oldest = newest.saturating_sub(count - 1).max(1);
    if newest < oldest {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = (oldest..=newest)
        .rev()
        .map(|id| keys::message(room, id))
        .collect();

    let mut messages = Vec::with_capacity(ids.len());
    for (key, value) in ids.iter().zip(store.get_many(&ids)?) {
        let Some(bytes) = value else { continue };
        match serde_json::from_slice::<StoredMessage>(&bytes) {
            Ok(message) => messages.push(message),
            // One damaged record must not make the whole room's history unreadable.
            Err(e) => eprintln!("messages: skipping corrupt {key}: {e}"),
        }
    }
    Ok(messages)
}

/// The event id the next message of `room` will get.
pub fn next_event_id<S: Store>(store: &S, actor: &Principal, room: &str) -> Result<u64, Failure> {
    check_room_id(room)?;
    wcc_policy::may_read(store, actor, room)?;
    Ok(current_seq(store, room)? + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{lobby_with_alice, RecordingPublisher};
    use crate::{process_message, Limits, NewMessage};
    use wcc_interface::FailureCode;

    /// The lobby with `n` messages from alice, ids 1..=n.
    fn lobby_with_messages(n: u64) -> wcc_kv::MemoryStore {
        let store = lobby_with_alice();
        let publisher = RecordingPublisher::default();
        for i in 1..=n {
            let msg = NewMessage {
                origin: None,
                room: "lobby".into(),
                sender: "alice".into(),
                channel: "venueless".into(),
                event_type: "channel.message".into(),
                content: format!(r#"{{"n":{i}}}"#),
            };
            process_message(&store, &publisher, Limits::default(), msg, i * 100, || {
                format!("m{i}")
            })
            .unwrap();
        }
        store
    }

    fn ids(messages: &[StoredMessage]) -> Vec<u64> {
        messages.iter().map(|m| m.event_id).collect()
    }

    #[test]
    fn pages_newest_first_with_before_and_count() {
        let store = lobby_with_messages(7);
        let page = history(&store, &Principal::Server, "lobby", None, 3).unwrap();
        assert_eq!(ids(&page), vec![7, 6, 5]);
        assert_eq!(page[0].content["n"], 7);
        let next = history(&store, &Principal::Server, "lobby", Some(5), 3).unwrap();
        assert_eq!(ids(&next), vec![4, 3, 2]);
        let last = history(&store, &Principal::Server, "lobby", Some(2), 3).unwrap();
        assert_eq!(ids(&last), vec![1]);
        assert!(history(&store, &Principal::Server, "lobby", Some(1), 3)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn count_is_clamped_and_before_is_capped_at_the_newest() {
        let store = lobby_with_messages(3);
        assert_eq!(
            ids(&history(&store, &Principal::Server, "lobby", None, 0).unwrap()),
            vec![3]
        );
        assert_eq!(
            ids(&history(&store, &Principal::Server, "lobby", None, u32::MAX).unwrap()),
            vec![3, 2, 1]
        );
        assert_eq!(
            ids(&history(&store, &Principal::Server, "lobby", Some(u64::MAX), 2).unwrap()),
            vec![3, 2]
        );
    }

    #[test]
    fn missing_ids_are_skipped() {
        let store = lobby_with_messages(3);
        store.delete(&keys::message("lobby", 2)).unwrap();
        assert_eq!(
            ids(&history(&store, &Principal::Server, "lobby", None, 10).unwrap()),
            vec![3, 1]
        );
    }

    #[test]
    fn empty_and_unknown_rooms() {
        let store = lobby_with_alice();
        assert!(history(&store, &Principal::Server, "lobby", None, 10)
            .unwrap()
            .is_empty());
        assert_eq!(
            next_event_id(&store, &Principal::Server, "lobby").unwrap(),
            1
        );
        assert_eq!(
            history(&store, &Principal::Server, "attic", None, 10)
                .unwrap_err()
                .code,
            FailureCode::UnknownRoom
        );
        assert_eq!(
            next_event_id(&store, &Principal::Server, "attic")
                .unwrap_err()
                .code,
            FailureCode::UnknownRoom
        );
    }

    #[test]
    fn next_event_id_follows_the_sequence() {
        let store = lobby_with_messages(4);
        assert_eq!(
            next_event_id(&store, &Principal::Server, "lobby").unwrap(),
            5
        );
    }
}
