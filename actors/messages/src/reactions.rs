//! Reactions on messages: who reacted how, kept beside the message and published as
//! `ReactionsChanged` with the message's whole tally, so a reader needs no state of its own.
//!
//! Many users react to one message at once and the store has no compare-and-swap, so a
//! message's reactions are a [`LogSet`] (one slot per change, [`keys::message_reactions`]) with
//! one entry per user and reaction. The bound on distinct reactions is checked against the set
//! as read before the change, so concurrent first uses of new reactions may pass it together;
//! readers therefore show only the [`MAX_REACTIONS_PER_MESSAGE`] reactions first used, which
//! makes the bound hold for everyone who looks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use wcc_interface::events::REMOVED_MESSAGE_TYPE;
use wcc_interface::reactions::{MAX_REACTIONS_PER_MESSAGE, MAX_REACTION_BYTES};
use wcc_interface::{Envelope, Event, Failure, Principal, Reactions, StoredMessage};
use wcc_kv::{keys, LogSet, Store};
use wcc_policy::{may_react, may_read};

use crate::{check_room_id, Publisher, MAX_HISTORY_COUNT};

/// One user's use of one reaction, as the set stores it.
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    user: String,
    reaction: String,
    /// When it was added (unix ms): which reactions came first, should the bound be overrun.
    at: u64,
}

fn entry_key(user: &str, reaction: &str) -> String {
    format!("{user}/{reaction}")
}

/// Adds (`add`) or withdraws `actor`'s `reaction` on message `event_id` of `room`; returns the
/// message's reactions after the change, and publishes `ReactionsChanged` if something changed
/// (adding a reaction twice, or withdrawing one never made, changes nothing).
// The store, the publisher and the clock are the shell's; the rest is the request.
#[allow(clippy::too_many_arguments)]
pub fn react<S: Store, P: Publisher>(
    store: &S,
    publisher: &P,
    actor: &Principal,
    room: &str,
    event_id: u64,
    reaction: &str,
    add: bool,
    now_ms: u64,
) -> Result<Reactions, Failure> {
    check_reaction(reaction)?;
    check_room_id(room)?;
    may_react(store, actor, room)?;
    let user = actor.as_user().unwrap_or_default();
    let message = live_message(store, room, event_id)?;
    let set = LogSet::new(store, keys::message_reactions(room, event_id));
    let entries: BTreeMap<String, Entry> = set.entries()?;
    let key = entry_key(user, reaction);
    let changed = match (add, entries.contains_key(&key)) {
        (true, false) => {
            let known = tally(entries.values());
            if !known.contains_key(reaction) && known.len() >= MAX_REACTIONS_PER_MESSAGE {
                return Err(Failure::invalid(format!(
                    "message {event_id} of {room} has {MAX_REACTIONS_PER_MESSAGE} different \
                     reactions already"
                )));
            }
            let entry = Entry {
                user: user.to_owned(),
                reaction: reaction.to_owned(),
                at: now_ms,
            };
            set.add(&key, &entry, now_ms)?;
            true
        }
        (false, true) => {
            set.remove(&key, now_ms)?;
            true
        }
        _ => false,
    };
    if !changed {
        return Ok(tally(entries.values()));
    }
    // Read again rather than patched: the event then also carries what others changed
    // meanwhile, so the last event a client sees is as fresh as can be.
    let reactions = tally(set.entries::<Entry>()?.values());
    let event = Event::ReactionsChanged {
        room: room.to_owned(),
        event_id,
        message_id: message.id,
        user: user.to_owned(),
        reaction: reaction.to_owned(),
        added: add,
        reactions: reactions.clone(),
    };
    let body = Envelope::new(event.clone(), now_ms).to_json();
    // Stored already: a lost event is logged, not returned, as for messages.
    if let Err(e) = publisher.publish(&event.subject(), body.as_bytes()) {
        eprintln!("messages: reaction on {room}#{event_id} stored but not published: {e}");
    }
    Ok(reactions)
}

/// The reactions of those of `event_ids` (at most [`MAX_HISTORY_COUNT`]: a history page) that
/// have any, in the order asked; removed and missing messages have none.
pub fn reactions<S: Store>(
    store: &S,
    actor: &Principal,
    room: &str,
    event_ids: &[u64],
) -> Result<Vec<(u64, Reactions)>, Failure> {
    check_room_id(room)?;
    may_read(store, actor, room)?;
    if event_ids.len() > MAX_HISTORY_COUNT as usize {
        return Err(Failure::invalid(format!(
            "at most {MAX_HISTORY_COUNT} messages' reactions at once"
        )));
    }
    let mut ids: Vec<u64> = Vec::with_capacity(event_ids.len());
    for &id in event_ids {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    // Most messages have no reactions: one read finds the few sets that were ever written.
    let prefixes: Vec<String> = ids
        .iter()
        .map(|&id| keys::message_reactions(room, id))
        .collect();
    let touched = LogSet::exist_many(store, &prefixes)?;
    let candidates: Vec<(u64, String)> = ids
        .into_iter()
        .zip(prefixes)
        .zip(touched)
        .filter_map(|(pair, touched)| touched.then_some(pair))
        .collect();
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    // A removed message's reactions are cleared with it; one still being cleared shows none.
    let message_keys: Vec<String> = candidates
        .iter()
        .map(|(id, _)| keys::message(room, *id))
        .collect();
    let messages = store.get_many(&message_keys)?;
    let mut found = Vec::new();
    for ((event_id, prefix), message) in candidates.into_iter().zip(messages) {
        let live = message
            .and_then(|bytes| serde_json::from_slice::<StoredMessage>(&bytes).ok())
            .is_some_and(|m| m.event_type != REMOVED_MESSAGE_TYPE);
        if !live {
            continue;
        }
        let reactions = tally(LogSet::new(store, prefix).entries::<Entry>()?.values());
        if !reactions.is_empty() {
            found.push((event_id, reactions));
        }
    }
    Ok(found)
}

/// Forgets the reactions on message `event_id` of `room` (it was removed).
pub(crate) fn clear<S: Store>(store: &S, room: &str, event_id: u64) -> Result<(), Failure> {
    LogSet::new(store, keys::message_reactions(room, event_id)).clear()
}

/// The message reactions may be made on: stored, and not removed.
fn live_message<S: Store>(store: &S, room: &str, event_id: u64) -> Result<StoredMessage, Failure> {
    let message: Option<StoredMessage> = store.get_json(&keys::message(room, event_id))?;
    match message {
        Some(message) if message.event_type != REMOVED_MESSAGE_TYPE => Ok(message),
        Some(_) => Err(Failure::invalid(format!(
            "message {event_id} of {room} was removed"
        ))),
        None => Err(Failure::invalid(format!("no message {event_id} in {room}"))),
    }
}

/// A reaction is an emoji or a short word: 1 to [`MAX_REACTION_BYTES`] bytes, no control
/// characters (they would reach other users' screens and logs).
fn check_reaction(reaction: &str) -> Result<(), Failure> {
    if reaction.is_empty() || reaction.len() > MAX_REACTION_BYTES {
        return Err(Failure::invalid(format!(
            "a reaction is 1 to {MAX_REACTION_BYTES} bytes"
        )));
    }
    if reaction.chars().any(char::is_control) {
        return Err(Failure::invalid("a reaction has no control characters"));
    }
    Ok(())
}

/// Entries as [`Reactions`]: users sorted, and only the [`MAX_REACTIONS_PER_MESSAGE`]
/// reactions first used (ties by name).
fn tally<'e>(entries: impl Iterator<Item = &'e Entry>) -> Reactions {
    let mut by_reaction: BTreeMap<&str, (u64, Vec<String>)> = BTreeMap::new();
    for entry in entries {
        let (first, users) = by_reaction
            .entry(entry.reaction.as_str())
            .or_insert((entry.at, Vec::new()));
        *first = (*first).min(entry.at);
        users.push(entry.user.clone());
    }
    let mut order: Vec<(u64, &str)> = by_reaction
        .iter()
        .map(|(reaction, (first, _))| (*first, *reaction))
        .collect();
    order.sort();
    order.truncate(MAX_REACTIONS_PER_MESSAGE);
    order
        .into_iter()
        .map(|(_, reaction)| {
            let mut users = by_reaction[reaction].1.clone();
            users.sort();
            users.dedup();
            (reaction.to_owned(), users)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{post, seed_lobby, Interleaved, RecordingPublisher};
    use wcc_interface::FailureCode;

    /// The lobby (alice and bob members, mallory not), alice's direct room, and message 1 of
    /// the lobby from alice.
    fn world() -> Interleaved {
        let world = Interleaved::default();
        seed_lobby(&world);
        for user in ["bob", "carol"] {
            world.set(&keys::member_flag("lobby", user), b"1").unwrap();
        }
        world
            .set(&keys::room("alice"), br#"{"id":"alice","kind":"direct"}"#)
            .unwrap();
        world
            .set(&keys::member_flag("alice", "alice"), b"1")
            .unwrap();
        post(&world, "lobby", "alice", "hello");
        world
    }

    fn user(id: &str) -> Principal {
        Principal::user(id)
    }

    /// `who` reacts with `reaction` on lobby message 1 (withdraws if `!add`), at time 10.
    fn react_on<S: Store>(
        store: &S,
        publisher: &RecordingPublisher,
        who: &str,
        reaction: &str,
        add: bool,
    ) -> Result<Reactions, Failure> {
        react(store, publisher, &user(who), "lobby", 1, reaction, add, 10)
    }

    fn tally_of(pairs: &[(&str, &[&str])]) -> Reactions {
        pairs
            .iter()
            .map(|(r, users)| (r.to_string(), users.iter().map(|u| u.to_string()).collect()))
            .collect()
    }

    /// The ReactionsChanged events published, as (user, reaction, added, tally).
    fn changes(publisher: &RecordingPublisher) -> Vec<(String, String, bool, Reactions)> {
        publisher
            .sent
            .borrow()
            .iter()
            .filter_map(|(subject, body)| {
                assert_eq!(subject, "wcc.events.rooms.lobby");
                match Envelope::parse(body)?.event {
                    Event::ReactionsChanged {
                        user,
                        reaction,
                        added,
                        reactions,
                        message_id,
                        event_id,
                        ..
                    } => {
                        assert_eq!((message_id.as_str(), event_id), ("id-hello", 1));
                        Some((user, reaction, added, reactions))
                    }
                    _ => None,
                }
            })
            .collect()
    }

    #[test]
    fn reactions_are_added_withdrawn_and_published_with_the_whole_tally() {
        let store = world();
        let publisher = RecordingPublisher::default();
        assert_eq!(
            react_on(&store, &publisher, "bob", "👍", true).unwrap(),
            tally_of(&[("👍", &["bob"])])
        );
        react_on(&store, &publisher, "alice", "👍", true).unwrap();
        let after = react_on(&store, &publisher, "bob", "party", true).unwrap();
        assert_eq!(
            after,
            tally_of(&[("party", &["bob"]), ("👍", &["alice", "bob"])])
        );
        let withdrawn = react_on(&store, &publisher, "bob", "👍", false).unwrap();
        assert_eq!(
            withdrawn,
            tally_of(&[("party", &["bob"]), ("👍", &["alice"])])
        );

        let published = changes(&publisher);
        assert_eq!(published.len(), 4);
        assert_eq!(
            published[3],
            ("bob".into(), "👍".into(), false, withdrawn.clone())
        );
        assert_eq!(published[2].3, after);
        // What history pages read agrees.
        let alice = user("alice");
        assert_eq!(
            reactions(&store, &alice, "lobby", &[1]).unwrap(),
            [(1, withdrawn)]
        );
    }

    #[test]
    fn repeating_or_withdrawing_what_is_not_there_changes_and_publishes_nothing() {
        let store = world();
        let publisher = RecordingPublisher::default();
        react_on(&store, &publisher, "bob", "👍", true).unwrap();
        let again = react_on(&store, &publisher, "bob", "👍", true).unwrap();
        assert_eq!(again, tally_of(&[("👍", &["bob"])]));
        let never = react_on(&store, &publisher, "carol", "👍", false).unwrap();
        assert_eq!(never, again);
        assert_eq!(changes(&publisher).len(), 1);
    }

    #[test]
    fn concurrent_reactions_on_one_message_all_survive() {
        let store = world();
        let publisher = RecordingPublisher::default();
        // Bob reacts while alice's call has read the reactions and is about to write; carol
        // does the same inside bob's. Each read a set without the others' reaction.
        store.before_increment("room/lobby/reactions/1/", |store| {
            store.before_increment("room/lobby/reactions/1/", |store| {
                let publisher = RecordingPublisher::default();
                react_on(store, &publisher, "carol", "👍", true).unwrap();
            });
            let publisher = RecordingPublisher::default();
            react_on(store, &publisher, "bob", "👍", true).unwrap();
        });
        let seen_by_alice = react_on(&store, &publisher, "alice", "👍", true).unwrap();
        let all = tally_of(&[("👍", &["alice", "bob", "carol"])]);
        assert_eq!(
            seen_by_alice, all,
            "the last writer's event carries everyone"
        );
        assert_eq!(
            reactions(&store, &user("bob"), "lobby", &[1]).unwrap(),
            [(1, all)]
        );

        // A withdrawal racing an add of the same reaction by someone else loses neither.
        store.before_increment("room/lobby/reactions/1/", |store| {
            let publisher = RecordingPublisher::default();
            react_on(store, &publisher, "carol", "🎉", true).unwrap();
        });
        react_on(&store, &publisher, "alice", "👍", false).unwrap();
        assert_eq!(
            reactions(&store, &user("bob"), "lobby", &[1]).unwrap(),
            [(
                1,
                tally_of(&[("🎉", &["carol"]), ("👍", &["bob", "carol"])])
            )]
        );
    }

    #[test]
    fn reactions_are_bounded_in_length_and_in_kinds_per_message() {
        let store = world();
        let publisher = RecordingPublisher::default();
        let long = "x".repeat(MAX_REACTION_BYTES + 1);
        for bad in ["", long.as_str(), "a\nb", "\u{7}"] {
            let refused = react_on(&store, &publisher, "bob", bad, true).unwrap_err();
            assert_eq!(refused.code, FailureCode::Invalid, "{bad:?}");
        }
        let longest = "x".repeat(MAX_REACTION_BYTES);
        react_on(&store, &publisher, "bob", &longest, true).unwrap();
        for i in 1..MAX_REACTIONS_PER_MESSAGE {
            react_on(&store, &publisher, "bob", &format!("r{i}"), true).unwrap();
        }
        let one_too_many = react_on(&store, &publisher, "carol", "new", true).unwrap_err();
        assert_eq!(one_too_many.code, FailureCode::Invalid);
        // Joining a reaction already there is still fine.
        let joined = react_on(&store, &publisher, "carol", "r1", true).unwrap();
        assert_eq!(joined.len(), MAX_REACTIONS_PER_MESSAGE);
        assert_eq!(joined["r1"], ["bob", "carol"]);
        // Once one goes, there is room for another.
        react_on(&store, &publisher, "bob", &longest, false).unwrap();
        assert!(react_on(&store, &publisher, "carol", "new", true).is_ok());
    }

    #[test]
    fn readers_see_only_the_first_reactions_if_concurrent_ones_overran_the_bound() {
        let store = world();
        let publisher = RecordingPublisher::default();
        for i in 0..MAX_REACTIONS_PER_MESSAGE - 1 {
            let at = 100 + i as u64;
            react(
                &store,
                &publisher,
                &user("bob"),
                "lobby",
                1,
                &format!("r{i:02}"),
                true,
                at,
            )
            .unwrap();
        }
        // Two new reactions at once: both checks saw 19 kinds.
        store.before_increment("room/lobby/reactions/1/", |store| {
            let publisher = RecordingPublisher::default();
            react(
                store,
                &publisher,
                &user("carol"),
                "lobby",
                1,
                "late",
                true,
                300,
            )
            .unwrap();
        });
        react(
            &store,
            &publisher,
            &user("alice"),
            "lobby",
            1,
            "early",
            true,
            200,
        )
        .unwrap();
        let shown = &reactions(&store, &user("bob"), "lobby", &[1]).unwrap()[0].1;
        assert_eq!(shown.len(), MAX_REACTIONS_PER_MESSAGE);
        assert!(shown.contains_key("early") && !shown.contains_key("late"));
    }

    #[test]
    fn who_may_react_is_the_policys_call() {
        let store = world();
        let publisher = RecordingPublisher::default();
        store
            .set(&keys::room("den"), br#"{"id":"den","kind":"private"}"#)
            .unwrap();
        store.set(&keys::member_flag("den", "alice"), b"1").unwrap();
        post(&store, "den", "alice", "secret");
        // mallory DMs alice: her message sits in alice's direct room.
        post(&store, "alice", "mallory", "dm");
        let denied = |who: Principal, room: &str| {
            react(&store, &publisher, &who, room, 1, "👍", true, 1)
                .unwrap_err()
                .code
        };
        assert_eq!(
            denied(user("mallory"), "lobby"),
            FailureCode::Denied,
            "no member"
        );
        assert_eq!(denied(user("bob"), "den"), FailureCode::Denied);
        assert_eq!(
            denied(user("mallory"), "alice"),
            FailureCode::Denied,
            "DM sender"
        );
        assert_eq!(denied(Principal::Operator, "lobby"), FailureCode::Denied);
        assert!(changes(&publisher).is_empty());
        // The owner reacts to a DM she got.
        let owner = react(
            &store,
            &publisher,
            &user("alice"),
            "alice",
            1,
            "👍",
            true,
            1,
        );
        assert_eq!(owner.unwrap(), tally_of(&[("👍", &["alice"])]));
        // Reading the reactions: readers only.
        let page = reactions(&store, &user("bob"), "den", &[1]);
        assert_eq!(page.unwrap_err().code, FailureCode::Denied);
        assert_eq!(
            reactions(&store, &user("mallory"), "alice", &[1])
                .unwrap_err()
                .code,
            FailureCode::Denied
        );
    }

    #[test]
    fn missing_and_removed_messages_take_no_reactions_and_removal_forgets_them() {
        let store = world();
        let publisher = RecordingPublisher::default();
        let missing = react(&store, &publisher, &user("bob"), "lobby", 9, "👍", true, 1);
        assert_eq!(missing.unwrap_err().code, FailureCode::Invalid);
        let nowhere = react(&store, &publisher, &user("bob"), "attic", 1, "👍", true, 1);
        assert_eq!(nowhere.unwrap_err().code, FailureCode::UnknownRoom);

        react_on(&store, &publisher, "bob", "👍", true).unwrap();
        crate::remove_message(&store, &publisher, &user("alice"), "lobby", 1, 2).unwrap();
        let leftovers: Vec<String> = store
            .store
            .keys()
            .into_iter()
            .filter(|k| k.starts_with("room/lobby/reactions/"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        assert!(reactions(&store, &user("bob"), "lobby", &[1])
            .unwrap()
            .is_empty());
        let on_removed = react_on(&store, &publisher, "bob", "👍", true);
        assert_eq!(on_removed.unwrap_err().code, FailureCode::Invalid);
    }

    #[test]
    fn removing_everything_a_user_wrote_forgets_those_messages_reactions() {
        let store = world();
        let publisher = RecordingPublisher::default();
        LogSet::new(&store, keys::user_rooms("alice"))
            .add("lobby", &1u64, 1)
            .unwrap();
        post(&store, "lobby", "bob", "mine");
        react_on(&store, &publisher, "bob", "👍", true).unwrap();
        react(
            &store,
            &publisher,
            &user("alice"),
            "lobby",
            2,
            "👀",
            true,
            1,
        )
        .unwrap();
        crate::remove_messages_by(&store, &publisher, &Principal::Operator, "alice", 3).unwrap();
        assert_eq!(
            reactions(&store, &user("bob"), "lobby", &[1, 2]).unwrap(),
            [(2, tally_of(&[("👀", &["alice"])]))]
        );
    }

    #[test]
    fn a_page_of_reactions_lists_only_messages_that_have_some_in_the_order_asked() {
        let store = world();
        let publisher = RecordingPublisher::default();
        for body in ["two", "three", "four"] {
            post(&store, "lobby", "bob", body);
        }
        for (event_id, reaction) in [(3, "a"), (1, "b")] {
            react(
                &store,
                &publisher,
                &user("carol"),
                "lobby",
                event_id,
                reaction,
                true,
                1,
            )
            .unwrap();
        }
        // One withdrawn to nothing: the set exists but shows no reaction.
        react(&store, &publisher, &user("carol"), "lobby", 4, "c", true, 1).unwrap();
        react(
            &store,
            &publisher,
            &user("carol"),
            "lobby",
            4,
            "c",
            false,
            1,
        )
        .unwrap();
        let page = reactions(&store, &user("mallory"), "lobby", &[4, 3, 2, 1, 3, 99]).unwrap();
        let ids: Vec<u64> = page.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, [3, 1]);
        let too_many: Vec<u64> = (1..=u64::from(MAX_HISTORY_COUNT) + 1).collect();
        let refused = reactions(&store, &user("bob"), "lobby", &too_many).unwrap_err();
        assert_eq!(refused.code, FailureCode::Invalid);
    }
}
