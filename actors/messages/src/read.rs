//! Read pointers: how far each user has read each room, and what is unread after it.
//!
//! A pointer is the event id of the last message the user read, and `unread` is the room's last
//! event id minus it: two numbers the store already has, so counting costs no scan of history.
//! It counts event ids, so a removed message still counts, as do the user's own messages unless
//! their channel marks them read when sending.
//!
//! A user's pointers are one [`LogSet`] ([`keys::read_pointers`]), which keeps two sessions
//! marking at once from overwriting each other: each mark adds an entry `<room>/<event id>` and
//! removes the smaller ones of that room it saw; the pointer is the greatest entry. An entry is
//! removed only by a mark that added a greater one, so the pointer never moves back.

use std::collections::BTreeMap;

use wcc_interface::{ids, notes, Failure, Note, Principal, ReadState};
use wcc_kv::{keys, LogSet, Store};
use wcc_policy::{may_mark_read, readable_rooms};

use crate::{check_room_id, current_seq, Publisher};

/// Most rooms one [`read_state`] call answers for.
pub const MAX_READ_STATE_ROOMS: usize = 1000;

/// Moves `actor`'s read pointer in `room` forward to `event_id`, capped at the room's last event
/// id (a client cannot mark messages read before they exist); `false` if that is not past the
/// pointer. Then tells the user's sessions with a [`Note::ReadPointer`].
pub fn mark_read<S: Store, P: Publisher>(
    store: &S,
    publisher: &P,
    actor: &Principal,
    room: &str,
    event_id: u64,
    now_ms: u64,
) -> Result<bool, Failure> {
    check_room_id(room)?;
    may_mark_read(store, actor, room)?;
    let user = actor.as_user().unwrap_or_default();
    let target = event_id.min(current_seq(store, room)?);
    let set = LogSet::new(store, keys::read_pointers(user));
    let older = pointers(&set)?.remove(room).unwrap_or_default();
    if target <= older.last().copied().unwrap_or(0) {
        return Ok(false);
    }
    set.add(&entry_key(room, target), &target, now_ms)?;
    for old in older {
        set.remove(&entry_key(room, old), now_ms)?;
    }
    let note = Note::ReadPointer {
        room: room.to_owned(),
        event_id: target,
    };
    // Stored already: the user's other sessions catch up on their next read state.
    if let Err(e) = publisher.publish(&notes::user_subject(user), note.to_json().as_bytes()) {
        eprintln!("messages: read pointer of {user} in {room} stored but not told: {e}");
    }
    Ok(true)
}

/// The read state of each of `rooms` `actor` (a user) may read, in the order asked, each once;
/// the rest are left out. At most [`MAX_READ_STATE_ROOMS`] rooms.
pub fn read_state<S: Store>(
    store: &S,
    actor: &Principal,
    rooms: &[String],
) -> Result<Vec<ReadState>, Failure> {
    let Some(user) = actor.as_user() else {
        return Err(Failure::denied(format!(
            "{actor} is no user and has no read pointers"
        )));
    };
    if rooms.len() > MAX_READ_STATE_ROOMS {
        return Err(Failure::invalid(format!(
            "at most {MAX_READ_STATE_ROOMS} rooms at once"
        )));
    }
    let mut asked: Vec<String> = Vec::with_capacity(rooms.len());
    for room in rooms {
        if !asked.contains(room) {
            asked.push(room.clone());
        }
    }
    let readable = readable_rooms(store, actor, &asked)?;
    let asked: Vec<String> = asked
        .into_iter()
        .zip(readable)
        .filter_map(|(room, readable)| readable.then_some(room))
        .collect();
    if asked.is_empty() {
        return Ok(Vec::new());
    }
    let seq_keys: Vec<String> = asked.iter().map(|room| keys::room_seq(room)).collect();
    let seqs = store.get_many(&seq_keys)?;
    let marks = pointers(&LogSet::new(store, keys::read_pointers(user)))?;
    asked
        .into_iter()
        .zip(seqs)
        .map(|(room, seq)| {
            let last = match seq {
                None => 0,
                Some(bytes) => parse_counter(&bytes).ok_or_else(|| {
                    Failure::unavailable(format!("{} is not a counter", keys::room_seq(&room)))
                })?,
            };
            let pointer = marks
                .get(room.as_str())
                .and_then(|ids| ids.last())
                .copied()
                .unwrap_or(0);
            Ok(ReadState {
                unread: last.saturating_sub(pointer),
                pointer,
                room,
            })
        })
        .collect()
}

fn entry_key(room: &str, event_id: u64) -> String {
    format!("{room}/{event_id}")
}

/// Every mark of the set, by room, ascending.
fn pointers<S: Store>(set: &LogSet<'_, S>) -> Result<BTreeMap<String, Vec<u64>>, Failure> {
    let mut by_room: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (key, event_id) in set.entries::<u64>()? {
        // A key that does not read `<room>/<id>` (none is written so) is skipped, not fatal.
        let Some((room, _)) = key.split_once('/') else {
            continue;
        };
        if ids::is_valid_id(room) {
            by_room.entry(room.to_owned()).or_default().push(event_id);
        }
    }
    for marks in by_room.values_mut() {
        marks.sort_unstable();
    }
    Ok(by_room)
}

fn parse_counter(bytes: &[u8]) -> Option<u64> {
    std::str::from_utf8(bytes).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{post, seed_lobby, Interleaved, RecordingPublisher};
    use wcc_interface::notes::Recipient;
    use wcc_interface::FailureCode;

    /// The lobby (alice and bob) with 5 messages, `den` (private, alice only) with 2, alice's
    /// direct room with 1 (a DM from bob), and an empty public `hall`.
    fn world() -> Interleaved {
        let world = Interleaved::default();
        seed_lobby(&world);
        for (id, kind) in [("den", "private"), ("alice", "direct"), ("hall", "text")] {
            let record = format!(r#"{{"id":"{id}","kind":"{kind}"}}"#);
            world.set(&keys::room(id), record.as_bytes()).unwrap();
        }
        for (room, user) in [("den", "alice"), ("alice", "alice"), ("lobby", "bob")] {
            world.set(&keys::member_flag(room, user), b"1").unwrap();
        }
        for i in 0..5 {
            post(&world, "lobby", "alice", &format!("l{i}"));
        }
        post(&world, "den", "alice", "d0");
        post(&world, "den", "alice", "d1");
        post(&world, "alice", "bob", "dm");
        world
    }

    fn alice() -> Principal {
        Principal::user("alice")
    }

    fn state(store: &impl Store, who: &Principal, rooms: &[&str]) -> Vec<(String, u64, u64)> {
        let rooms: Vec<String> = rooms.iter().map(|r| r.to_string()).collect();
        read_state(store, who, &rooms)
            .unwrap()
            .into_iter()
            .map(|s| (s.room, s.pointer, s.unread))
            .collect()
    }

    fn told(publisher: &RecordingPublisher) -> Vec<(Recipient, Note)> {
        publisher
            .sent
            .borrow()
            .iter()
            .map(|(subject, body)| {
                let note = Note::parse(std::str::from_utf8(body).unwrap()).unwrap();
                (Recipient::from_subject(subject).unwrap(), note)
            })
            .collect()
    }

    #[test]
    fn the_pointer_moves_forward_only_and_the_users_sessions_are_told() {
        let store = world();
        let publisher = RecordingPublisher::default();
        let mark = |id| mark_read(&store, &publisher, &alice(), "lobby", id, 1).unwrap();
        assert!(mark(3));
        assert!(!mark(2), "never back");
        assert!(!mark(3), "nowhere");
        assert!(mark(4));
        assert!(!mark(0));
        assert_eq!(
            state(&store, &alice(), &["lobby"]),
            [("lobby".into(), 4, 1)]
        );
        let to_alice = Recipient::User("alice".into());
        let note = |event_id| Note::ReadPointer {
            room: "lobby".into(),
            event_id,
        };
        assert_eq!(
            told(&publisher),
            [(to_alice.clone(), note(3)), (to_alice, note(4))]
        );
    }

    #[test]
    fn a_pointer_past_the_last_message_stops_at_it() {
        let store = world();
        let publisher = RecordingPublisher::default();
        assert!(mark_read(&store, &publisher, &alice(), "lobby", u64::MAX, 1).unwrap());
        assert_eq!(
            state(&store, &alice(), &["lobby"]),
            [("lobby".into(), 5, 0)]
        );
        // So the next message is unread, not pre-read.
        post(&store, "lobby", "bob", "new");
        assert_eq!(
            state(&store, &alice(), &["lobby"]),
            [("lobby".into(), 5, 1)]
        );
        // An empty room has nothing to read.
        assert!(!mark_read(&store, &publisher, &alice(), "hall", 3, 1).unwrap());
    }

    #[test]
    fn unread_counts_the_event_ids_after_the_pointer_in_readable_rooms_only() {
        let store = world();
        let publisher = RecordingPublisher::default();
        mark_read(&store, &publisher, &alice(), "den", 1, 1).unwrap();
        // A removed message keeps its id, and counts.
        crate::remove_message(&store, &publisher, &alice(), "lobby", 5, 1).unwrap();
        let asked = ["den", "lobby", "alice", "hall", "nowhere", "a/b", "lobby"];
        assert_eq!(
            state(&store, &alice(), &asked),
            [
                ("den".into(), 1, 1),
                ("lobby".into(), 0, 5),
                ("alice".into(), 0, 1),
                ("hall".into(), 0, 0),
            ]
        );
        // Bob reads the public rooms only: the den and alice's inbox are left out.
        let bob = Principal::user("bob");
        assert_eq!(
            state(&store, &bob, &asked),
            [("lobby".into(), 0, 5), ("hall".into(), 0, 0)]
        );
        // Each user has their own pointers.
        mark_read(&store, &publisher, &bob, "lobby", 2, 1).unwrap();
        assert_eq!(state(&store, &bob, &["lobby"]), [("lobby".into(), 2, 3)]);
        assert_eq!(
            state(&store, &alice(), &["lobby"]),
            [("lobby".into(), 0, 5)]
        );
    }

    #[test]
    fn only_users_who_may_read_keep_pointers() {
        let store = world();
        let publisher = RecordingPublisher::default();
        let bob = Principal::user("bob");
        for (who, room) in [
            (&bob, "den"),
            (&bob, "alice"),
            (&Principal::Operator, "lobby"),
        ] {
            let refused = mark_read(&store, &publisher, who, room, 1, 1).unwrap_err();
            assert_eq!(refused.code, FailureCode::Denied, "{who} {room}");
        }
        let nowhere = mark_read(&store, &publisher, &bob, "nowhere", 1, 1).unwrap_err();
        assert_eq!(nowhere.code, FailureCode::UnknownRoom);
        assert!(told(&publisher).is_empty());
        let rooms = ["lobby".to_owned()];
        let operator = read_state(&store, &Principal::Server, &rooms).unwrap_err();
        assert_eq!(operator.code, FailureCode::Denied);
        let too_many = vec!["lobby".to_owned(); MAX_READ_STATE_ROOMS + 1];
        let refused = read_state(&store, &bob, &too_many).unwrap_err();
        assert_eq!(refused.code, FailureCode::Invalid);
    }

    #[test]
    fn concurrent_marks_keep_the_furthest_and_the_next_mark_tidies_up() {
        let store = world();
        let publisher = RecordingPublisher::default();
        mark_read(&store, &publisher, &alice(), "lobby", 1, 1).unwrap();
        // Another session marks 4 while this one, having read pointer 1, writes 3.
        store.before_increment("user/alice/read/", |store| {
            let publisher = RecordingPublisher::default();
            assert!(mark_read(store, &publisher, &alice(), "lobby", 4, 1).unwrap());
        });
        assert!(mark_read(&store, &publisher, &alice(), "lobby", 3, 1).unwrap());
        assert_eq!(
            state(&store, &alice(), &["lobby"]),
            [("lobby".into(), 4, 1)]
        );
        assert!(!mark_read(&store, &publisher, &alice(), "lobby", 4, 1).unwrap());

        assert!(mark_read(&store, &publisher, &alice(), "lobby", 5, 1).unwrap());
        let marks = LogSet::new(&store, keys::read_pointers("alice"))
            .entries::<u64>()
            .unwrap();
        assert_eq!(marks.into_keys().collect::<Vec<_>>(), ["lobby/5"]);
    }

    #[test]
    fn a_user_keeps_one_mark_per_room_however_often_they_read() {
        let store = world();
        let publisher = RecordingPublisher::default();
        for i in 0..300 {
            post(&store, "lobby", "bob", &format!("m{i}"));
            mark_read(&store, &publisher, &alice(), "lobby", 6 + i, 1).unwrap();
            mark_read(&store, &publisher, &alice(), "den", 2, 1).unwrap();
        }
        let marks = LogSet::new(&store, keys::read_pointers("alice"))
            .entries::<u64>()
            .unwrap();
        assert_eq!(marks.len(), 2);
        let stored = store
            .store
            .keys()
            .into_iter()
            .filter(|k| k.starts_with("user/alice/read/"))
            .count();
        assert!(stored < 200, "{stored} keys for two pointers");
    }
}
