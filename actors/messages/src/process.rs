//! Accepting one message: validate, authorize, persist, then publish.
//!
//! The order matters: a message is acknowledged only once it is persisted, and it is published
//! only after that, so every MessagePublished event a subscriber sees can be found in history.

use serde::{Deserialize, Serialize};
use wcc_interface::{
    ids, notes, numbered, Author, Envelope, Event, Failure, FailureCode, Note, StoredMessage,
};
pub use wcc_interface::{NewMessage, Signal, UserSignal};
use wcc_kv::{keys, NumberedWrite, Store};

use wcc_interface::Principal;
use wcc_policy::{may_read_message, may_signal, may_write, write_proof};

use crate::{check_room_id, require_room, Limits, Publisher};

/// Longest accepted event type: it is a short protocol-neutral name like `channel.message`.
pub const MAX_EVENT_TYPE_BYTES: usize = 64;

/// Where a message id points: the value of [`keys::message_id`].
#[derive(Debug, Serialize, Deserialize)]
struct Location {
    room: String,
    event_id: u64,
}

/// Validates, authorizes, persists and publishes `msg` under the id `new_id()`; returns it as
/// stored.
///
/// A publish failure after persisting is logged, not returned: the message is in history and
/// the sender must not retry it (that would store it twice).
pub fn process_message<S: Store, P: Publisher>(
    store: &S,
    publisher: &P,
    limits: Limits,
    msg: NewMessage,
    now_ms: u64,
    new_id: impl FnMut() -> String,
) -> Result<StoredMessage, Failure> {
    let content = validate(
        &msg.room,
        &msg.sender,
        &msg.event_type,
        &msg.content,
        limits,
    )?;
    let mut stored =
        persist_run_of_one_sender(store, publisher, vec![(msg, content)], now_ms, new_id)?;
    Ok(stored.remove(0))
}

pub use wcc_interface::requests::MAX_MESSAGES_AT_ONCE;

/// [`process_message`] for each of `msgs`, answered in order, with one store call for each run
/// of messages that follow each other from one sender to one room: the run takes its event ids
/// with one increment, in order, and is written, checked and refused as one. A message that is
/// not valid answers its own failure and ends the run before it. More than
/// [`MAX_MESSAGES_AT_ONCE`] are refused, each as `invalid`.
pub fn process_messages<S: Store, P: Publisher>(
    store: &S,
    publisher: &P,
    limits: Limits,
    msgs: Vec<NewMessage>,
    now_ms: u64,
    mut new_id: impl FnMut() -> String,
) -> Vec<Result<StoredMessage, Failure>> {
    if msgs.len() > MAX_MESSAGES_AT_ONCE {
        let refusal = Failure::invalid(format!(
            "at most {MAX_MESSAGES_AT_ONCE} messages at once, not {}",
            msgs.len()
        ));
        return msgs.iter().map(|_| Err(refusal.clone())).collect();
    }
    let mut answers = Vec::with_capacity(msgs.len());
    let mut run: Vec<(NewMessage, serde_json::Value)> = Vec::new();
    let mut store_run =
        |run: &mut Vec<(NewMessage, serde_json::Value)>,
         answers: &mut Vec<Result<StoredMessage, Failure>>| {
            if run.is_empty() {
                return;
            }
            let taken = std::mem::take(run);
            let count = taken.len();
            match persist_run_of_one_sender(store, publisher, taken, now_ms, &mut new_id) {
                Ok(stored) => answers.extend(stored.into_iter().map(Ok)),
                Err(failure) => answers.extend((0..count).map(|_| Err(failure.clone()))),
            }
        };
    for msg in msgs {
        let valid = validate(
            &msg.room,
            &msg.sender,
            &msg.event_type,
            &msg.content,
            limits,
        );
        match valid {
            Ok(content) => {
                let joins = run
                    .last()
                    .is_none_or(|(last, _)| last.room == msg.room && last.sender == msg.sender);
                if !joins {
                    store_run(&mut run, &mut answers);
                }
                run.push((msg, content));
            }
            Err(failure) => {
                store_run(&mut run, &mut answers);
                answers.push(Err(failure));
            }
        }
    }
    store_run(&mut run, &mut answers);
    answers
}

/// Valid messages of one sender to one room (at least one), stored with one store call.
fn persist_run_of_one_sender<S: Store, P: Publisher>(
    store: &S,
    publisher: &P,
    run: Vec<(NewMessage, serde_json::Value)>,
    now_ms: u64,
    new_id: impl FnMut() -> String,
) -> Result<Vec<StoredMessage>, Failure> {
    // The store checks the sender's membership in the same call that stores the messages, and
    // reads the sender's record there too, for the events' author; only messages without them
    // (a direct message, or a refusal) are checked here, with their own reads.
    let (first, _) = &run[0];
    let [room, membership] = write_proof(&first.sender, &first.room)?;
    let proof = [room, membership, keys::user(&first.sender)];
    let right = Right {
        proof: &proof,
        author_at: Some(2),
        otherwise: |sender: &str, room: &str| may_write(store, sender, room),
    };
    persist_and_publish_run(store, publisher, run, now_ms, new_id, right)
}

/// A message from the server itself, as an operator's broadcast hands it over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Announcement {
    pub room: String,
    /// Where it came from (`admin` for the admin API).
    pub channel: String,
    pub event_type: String,
    /// JSON object.
    pub content: String,
}

/// Like [`process_message`] with the sender [`ids::SERVER_USER`] and no membership check: the
/// server belongs to no room, and the caller (an operator) already holds the authority. The
/// room must still exist, so a broadcast cannot create history for a room that is gone.
pub fn announce<S: Store, P: Publisher>(
    store: &S,
    publisher: &P,
    limits: Limits,
    announcement: Announcement,
    now_ms: u64,
    new_id: impl FnMut() -> String,
) -> Result<StoredMessage, Failure> {
    let msg = NewMessage {
        origin: None,
        room: announcement.room,
        sender: ids::SERVER_USER.to_owned(),
        channel: announcement.channel,
        event_type: announcement.event_type,
        content: announcement.content,
    };
    let content = validate(
        &msg.room,
        &msg.sender,
        &msg.event_type,
        &msg.content,
        limits,
    )?;
    let proof = [keys::room(&msg.room)];
    let right = Right {
        proof: &proof,
        author_at: None,
        otherwise: |_sender: &str, room: &str| require_room(store, room),
    };
    persist_and_publish(store, publisher, msg, content, now_ms, new_id, right)
}

/// The right to store a message: keys whose presence proves it, which the store checks in the
/// call that stores the message, and what decides, with reads of its own, when one is missing
/// (given the sender and the room).
struct Right<'a, F: FnOnce(&str, &str) -> Result<(), Failure>> {
    proof: &'a [String],
    /// Which key of `proof` is the sender's user record, if one is.
    author_at: Option<usize>,
    otherwise: F,
}

/// Stores a valid message under the room's next event id if `right` holds, then publishes it.
fn persist_and_publish<S: Store, P: Publisher>(
    store: &S,
    publisher: &P,
    msg: NewMessage,
    content: serde_json::Value,
    now_ms: u64,
    new_id: impl FnMut() -> String,
    right: Right<'_, impl FnOnce(&str, &str) -> Result<(), Failure>>,
) -> Result<StoredMessage, Failure> {
    let mut stored = persist_and_publish_run(
        store,
        publisher,
        vec![(msg, content)],
        now_ms,
        new_id,
        right,
    )?;
    Ok(stored.remove(0))
}

/// Stores valid messages of one sender to one room under the room's next event ids, in order,
/// with one store call if `right` holds, then publishes each. All are stored or none.
fn persist_and_publish_run<S: Store, P: Publisher>(
    store: &S,
    publisher: &P,
    run: Vec<(NewMessage, serde_json::Value)>,
    now_ms: u64,
    mut new_id: impl FnMut() -> String,
    right: Right<'_, impl FnOnce(&str, &str) -> Result<(), Failure>>,
) -> Result<Vec<StoredMessage>, Failure> {
    let mut origins = Vec::with_capacity(run.len());
    let mut stored: Vec<StoredMessage> = Vec::with_capacity(run.len());
    let mut writes = Vec::with_capacity(2 * run.len());
    for (offset, (msg, content)) in run.into_iter().enumerate() {
        origins.push(msg.origin);
        let message = StoredMessage {
            id: new_id(),
            room: msg.room,
            event_id: 0,
            sender: msg.sender,
            channel: msg.channel,
            event_type: msg.event_type,
            content,
            sent_at: now_ms,
        };
        // The message and its id's index entry both carry the event id, which the store
        // assigns: one `append` takes the room's next ids and writes both with theirs. Nobody
        // can look an id up before we return it, so the index entry need not land after the
        // message.
        let location = Location {
            room: message.room.clone(),
            event_id: 0,
        };
        let offset = offset as u32;
        let mut record = numbered_record(keys::message_numbered(&message.room), true, &message)?;
        record.offset = offset;
        writes.push(record);
        let mut index = numbered_record(keys::message_id(&message.id), false, &location)?;
        index.offset = offset;
        writes.push(index);
        stored.push(message);
    }
    let (room, sender) = (stored[0].room.clone(), stored[0].sender.clone());
    let counter = keys::room_seq(&room);
    let count = stored.len() as u32;
    let (first, author) = match store.append_reading(right.proof, &counter, count, &writes)? {
        Some(appended) => {
            let record = right.author_at.and_then(|at| appended.present.get(at));
            let author = record.and_then(|r| Author::from_user_record(r));
            (appended.first, author)
        }
        None => {
            (right.otherwise)(&sender, &room)?;
            (store.append(&counter, count, &writes)?, None)
        }
    };
    for ((offset, message), origin) in stored.iter_mut().enumerate().zip(origins) {
        message.event_id = first + offset as u64;
        let event = Event::MessagePublished {
            message: message.clone(),
            author: author.clone(),
        };
        let subject = event.subject();
        let body = Envelope::from_connection(event, now_ms, origin).to_json();
        if let Err(e) = publisher.publish(&subject, body.as_bytes()) {
            eprintln!(
                "messages: {}#{} persisted but not published on {subject}: {e}",
                message.room, message.event_id
            );
        }
    }
    Ok(stored)
}

/// A write of `record` under `key` (which the event id ends if `key_ends_with_number`), with
/// the event id `append` reserves as the record's `event_id`.
fn numbered_record<T: Serialize>(
    key: String,
    key_ends_with_number: bool,
    record: &T,
) -> Result<NumberedWrite, Failure> {
    let mut object = match serde_json::to_value(record) {
        Ok(serde_json::Value::Object(object)) => object,
        _ => return Err(Failure::unavailable("a record must be a JSON object")),
    };
    object.remove("event_id");
    let (value, at) = numbered::json_with_number("event_id", &to_json(&object)?);
    Ok(NumberedWrite {
        offset: 0,
        key,
        key_ends_with_number,
        value,
        value_number_at: Some(at),
    })
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, Failure> {
    serde_json::to_vec(value).map_err(|e| Failure::unavailable(e.to_string()))
}

/// The message `id` names; `None` for an id that names nothing, and for one in a room `actor`
/// may not read (a stranger cannot even learn that it exists).
pub fn get_message<S: Store>(
    store: &S,
    actor: &Principal,
    id: &str,
) -> Result<Option<StoredMessage>, Failure> {
    // Ids are UUIDs; anything else cannot name a message and must not reach a key.
    if !ids::is_valid_id(id) {
        return Ok(None);
    }
    let Some(location) = store.get_json::<Location>(&keys::message_id(id))? else {
        return Ok(None);
    };
    let found: Option<StoredMessage> =
        store.get_json(&keys::message(&location.room, location.event_id))?;
    Ok(found.filter(|message| may_read_message(store, actor, message).is_ok()))
}

/// Authorizes `note` as a message would be and publishes it; nothing is stored, so unlike a
/// message a failed publish is the caller's failure.
pub fn signal<S: Store, P: Publisher>(
    store: &S,
    publisher: &P,
    limits: Limits,
    note: Signal,
    now_ms: u64,
) -> Result<(), Failure> {
    let content = validate(&note.room, &note.sender, &note.kind, &note.content, limits)?;
    // The server-wide feed is no room: every user may signal there (Rebuttal's talking).
    may_signal(store, &note.sender, &note.room)?;
    let event = Event::Signal {
        room: note.room,
        sender: note.sender,
        channel: note.channel,
        kind: note.kind,
        content,
    };
    let body = Envelope::new(event.clone(), now_ms).to_json();
    publisher.publish(&event.subject(), body.as_bytes())
}

/// Publishes `signal` as a [`Note::Signal`] to its user's sessions, unless the user does not
/// exist or has banned the sender. Nothing is stored, so a failed publish is the caller's
/// failure.
pub fn signal_user<S: Store, P: Publisher>(
    store: &S,
    publisher: &P,
    limits: Limits,
    signal: UserSignal,
) -> Result<(), Failure> {
    if signal.sender.is_empty() {
        return Err(Failure::invalid("sender is empty"));
    }
    if signal.kind.is_empty() || signal.kind.len() > MAX_EVENT_TYPE_BYTES {
        return Err(Failure::invalid(format!(
            "kind must be 1 to {MAX_EVENT_TYPE_BYTES} bytes"
        )));
    }
    let content = validate_content(&signal.content, limits)?;
    // Ids become key and subject parts; an invalid one names no user.
    if !ids::is_valid_id(&signal.user) || store.get(&keys::user(&signal.user))?.is_none() {
        return Err(Failure::new(
            FailureCode::UnknownUser,
            format!("no user {:?}", signal.user),
        ));
    }
    // The same rule as a direct message: a ban on the recipient's side stops it.
    if store
        .get(&keys::ban(&signal.user, &signal.sender))?
        .is_some()
    {
        return Err(Failure::new(
            FailureCode::Banned,
            format!("{} banned {}", signal.user, signal.sender),
        ));
    }
    let note = Note::Signal {
        sender: signal.sender,
        channel: signal.channel,
        kind: signal.kind,
        content,
    };
    publisher.publish(
        &notes::user_subject(&signal.user),
        note.to_json().as_bytes(),
    )
}

/// Checks the shape of a message or signal and returns its parsed content object.
fn validate(
    room: &str,
    sender: &str,
    event_type: &str,
    content: &str,
    limits: Limits,
) -> Result<serde_json::Value, Failure> {
    check_room_id(room)?;
    if sender.is_empty() {
        return Err(Failure::invalid("sender is empty"));
    }
    if event_type.is_empty() || event_type.len() > MAX_EVENT_TYPE_BYTES {
        return Err(Failure::invalid(format!(
            "event type must be 1 to {MAX_EVENT_TYPE_BYTES} bytes"
        )));
    }
    validate_content(content, limits)
}

/// Checks a content text: within the size limit and a JSON object, which it returns parsed.
pub(crate) fn validate_content(
    content: &str,
    limits: Limits,
) -> Result<serde_json::Value, Failure> {
    // Size first, so an oversize body is refused without being parsed.
    if content.len() > limits.max_message_bytes {
        return Err(Failure::invalid(format!(
            "content is {} bytes, the limit is {}",
            content.len(),
            limits.max_message_bytes
        )));
    }
    match serde_json::from_str::<serde_json::Value>(content) {
        Ok(value @ serde_json::Value::Object(_)) => Ok(value),
        Ok(_) => Err(Failure::invalid("content is not a JSON object")),
        Err(e) => Err(Failure::invalid(format!("content is not JSON: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{lobby_with_alice, RecordingPublisher, ALICE_RECORD};
    use wcc_interface::FailureCode;

    /// The real call with ids `m<now>`: unique in these tests, and readable in failures.
    fn process_message<S: Store, P: Publisher>(
        store: &S,
        publisher: &P,
        limits: Limits,
        msg: NewMessage,
        now_ms: u64,
    ) -> Result<StoredMessage, Failure> {
        super::process_message(store, publisher, limits, msg, now_ms, || {
            format!("m{now_ms}")
        })
    }

    /// `lobby_with_alice` plus bob's direct room.
    fn with_bobs_direct_room() -> wcc_kv::MemoryStore {
        let store = lobby_with_alice();
        store
            .set(&keys::room("bob"), br#"{"id":"bob","kind":"direct"}"#)
            .unwrap();
        store
    }

    #[test]
    fn anyone_may_message_a_direct_room_until_banned() {
        let store = with_bobs_direct_room();
        let publisher = RecordingPublisher::default();
        let dm = text("bob", "alice", "psst");
        let stored = process_message(&store, &publisher, Limits::default(), dm.clone(), 3).unwrap();
        assert_eq!((stored.room.as_str(), stored.event_id), ("bob", 1));

        store.set(&keys::ban("bob", "alice"), b"1").unwrap();
        let refused = process_message(&store, &publisher, Limits::default(), dm, 4);
        assert_eq!(code(refused), FailureCode::Banned);
        assert_eq!(publisher.sent.borrow().len(), 1);
    }

    #[test]
    fn a_members_message_is_one_call_to_the_store() {
        let counted = wcc_kv::CountingStore::new(with_bobs_direct_room());
        let publisher = RecordingPublisher::default();
        let hi = text("lobby", "alice", "hi");
        let stored = process_message(&counted, &publisher, Limits::default(), hi, 3).unwrap();
        assert_eq!(counted.calls(), 1);
        assert_eq!(
            get_message(&counted.store, &Principal::user("alice"), "m3").unwrap(),
            Some(stored)
        );

        // A direct message has no membership to prove: the policy reads, then it is stored.
        counted.reset();
        let dm = text("bob", "alice", "psst");
        process_message(&counted, &publisher, Limits::default(), dm, 4).unwrap();
        assert!(counted.calls() > 1);
        // A member whose user record is gone takes the same longer way, and is stored.
        counted.store.delete(&keys::user("alice")).unwrap();
        counted.reset();
        let late = text("lobby", "alice", "still here");
        let stored = process_message(&counted, &publisher, Limits::default(), late, 6).unwrap();
        assert!(counted.calls() > 1);
        assert_eq!(stored.event_id, 2);
        counted
            .store
            .set(&keys::user("alice"), ALICE_RECORD.as_bytes())
            .unwrap();
        // A stranger is refused, and nothing is stored.
        let before = counted.store.keys();
        let refused = process_message(
            &counted,
            &publisher,
            Limits::default(),
            text("lobby", "mallory", "x"),
            5,
        );
        assert_eq!(code(refused), FailureCode::NotMember);
        assert_eq!(counted.store.keys(), before);
    }

    #[test]
    fn messages_are_found_by_id() {
        let store = lobby_with_alice();
        let publisher = RecordingPublisher::default();
        let stored = process_message(
            &store,
            &publisher,
            Limits::default(),
            text("lobby", "alice", "hi"),
            7,
        )
        .unwrap();
        assert_eq!(stored.id, "m7");
        let alice = Principal::user("alice");
        assert_eq!(get_message(&store, &alice, "m7").unwrap(), Some(stored));
        assert_eq!(get_message(&store, &alice, "m8").unwrap(), None);
        assert_eq!(get_message(&store, &alice, "../room").unwrap(), None);
    }

    #[test]
    fn a_direct_message_is_found_by_its_sender_and_recipient_only() {
        let store = lobby_with_alice();
        store
            .set(&keys::room("bob"), br#"{"id":"bob","kind":"direct"}"#)
            .unwrap();
        let publisher = RecordingPublisher::default();
        let dm = text("bob", "alice", "psst");
        let stored = process_message(&store, &publisher, Limits::default(), dm, 3).unwrap();
        for (who, found) in [("alice", true), ("bob", true), ("mallory", false)] {
            let got = get_message(&store, &Principal::user(who), &stored.id).unwrap();
            assert_eq!(got.is_some(), found, "{who}");
        }
    }

    #[test]
    fn signals_are_published_never_stored_and_authorized_like_messages() {
        let store = with_bobs_direct_room();
        let publisher = RecordingPublisher::default();
        let before = store.keys();
        let typing = |room: &str, sender: &str| Signal {
            room: room.into(),
            sender: sender.into(),
            channel: "cadmium".into(),
            kind: "typing".into(),
            content: "{}".into(),
        };
        signal(
            &store,
            &publisher,
            Limits::default(),
            typing("bob", "alice"),
            9,
        )
        .unwrap();
        assert_eq!(store.keys(), before);
        let sent = publisher.sent.borrow().clone();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].0, "wcc.events.rooms.bob");
        let envelope = Envelope::parse(&sent[0].1).unwrap();
        assert!(matches!(envelope.event, Event::Signal { ref kind, .. } if kind == "typing"));

        let refused = signal(
            &store,
            &publisher,
            Limits::default(),
            typing("lobby", "eve"),
            9,
        );
        assert_eq!(refused.unwrap_err().code, FailureCode::NotMember);
        publisher.fail.set(true);
        let lost = signal(
            &store,
            &publisher,
            Limits::default(),
            typing("bob", "alice"),
            9,
        );
        assert_eq!(lost.unwrap_err().code, FailureCode::Unavailable);
    }

    fn text(room: &str, sender: &str, body: &str) -> NewMessage {
        NewMessage {
            origin: None,
            room: room.into(),
            sender: sender.into(),
            channel: "venueless".into(),
            event_type: "channel.message".into(),
            content: format!(r#"{{"type":"text","body":{body:?}}}"#),
        }
    }

    fn code(result: Result<StoredMessage, Failure>) -> FailureCode {
        result.unwrap_err().code
    }

    /// The real batch call with ids `m<now>-<n>`.
    fn process_messages<S: Store, P: Publisher>(
        store: &S,
        publisher: &P,
        msgs: Vec<NewMessage>,
        now_ms: u64,
    ) -> Vec<Result<StoredMessage, Failure>> {
        let mut n = 0;
        super::process_messages(store, publisher, Limits::default(), msgs, now_ms, || {
            n += 1;
            format!("m{now_ms}-{n}")
        })
    }

    #[test]
    fn a_run_of_one_senders_messages_is_one_store_call_numbered_and_published_in_order() {
        let counted = wcc_kv::CountingStore::new(lobby_with_alice());
        let publisher = RecordingPublisher::default();
        let said = ["one", "two", "three"].map(|body| text("lobby", "alice", body));
        let answers = process_messages(&counted, &publisher, said.to_vec(), 7);
        assert_eq!(counted.calls(), 1);
        let stored: Vec<StoredMessage> = answers.into_iter().map(Result::unwrap).collect();
        let ids: Vec<u64> = stored.iter().map(|m| m.event_id).collect();
        assert_eq!(ids, vec![1, 2, 3]);
        for message in &stored {
            let persisted: StoredMessage = counted
                .store
                .get_json(&keys::message("lobby", message.event_id))
                .unwrap()
                .unwrap();
            assert_eq!(&persisted, message);
            let alice = Principal::user("alice");
            let by_id = get_message(&counted.store, &alice, &message.id).unwrap();
            assert_eq!(by_id.as_ref(), Some(message));
        }
        let published: Vec<Event> = publisher
            .sent
            .borrow()
            .iter()
            .map(|(_, body)| Envelope::parse(body).unwrap().event)
            .collect();
        let author = Some(Author {
            profile: Some(serde_json::json!({"display_name": "Alice"})),
        });
        let expected: Vec<Event> = stored
            .iter()
            .map(|message| Event::MessagePublished {
                message: message.clone(),
                author: author.clone(),
            })
            .collect();
        assert_eq!(published, expected);
    }

    #[test]
    fn a_batch_answers_each_message_in_its_place_and_runs_end_where_the_sender_or_room_changes() {
        let store = with_bobs_direct_room();
        let publisher = RecordingPublisher::default();
        let batch = vec![
            text("lobby", "alice", "a1"),
            text("lobby", "alice", "a2"),
            NewMessage {
                content: "not json".into(),
                ..text("lobby", "alice", "bad")
            },
            text("lobby", "mallory", "m1"),
            text("lobby", "mallory", "m2"),
            text("bob", "alice", "dm"),
            text("lobby", "alice", "a3"),
        ];
        let answers = process_messages(&store, &publisher, batch, 9);
        let shown: Vec<Result<(String, u64), FailureCode>> = answers
            .into_iter()
            .map(|a| a.map(|m| (m.room, m.event_id)).map_err(|f| f.code))
            .collect();
        assert_eq!(
            shown,
            vec![
                Ok(("lobby".into(), 1)),
                Ok(("lobby".into(), 2)),
                Err(FailureCode::Invalid),
                Err(FailureCode::NotMember),
                Err(FailureCode::NotMember),
                Ok(("bob".into(), 1)),
                Ok(("lobby".into(), 3)),
            ]
        );
        assert_eq!(
            publisher.sent.borrow().len(),
            4,
            "refused messages are not published"
        );
        let page = crate::history(&store, &Principal::user("alice"), "lobby", None, 10).unwrap();
        let bodies: Vec<&str> = page
            .iter()
            .map(|m| m.content["body"].as_str().unwrap())
            .collect();
        assert_eq!(bodies, vec!["a3", "a2", "a1"]);
    }

    #[test]
    fn more_than_a_batch_holds_is_refused_whole() {
        let store = lobby_with_alice();
        let publisher = RecordingPublisher::default();
        let many = vec![text("lobby", "alice", "x"); MAX_MESSAGES_AT_ONCE + 1];
        let answers = process_messages(&store, &publisher, many, 1);
        assert!(answers
            .iter()
            .all(|a| a.as_ref().is_err_and(|f| f.code == FailureCode::Invalid)));
        assert!(publisher.sent.borrow().is_empty());
    }

    #[test]
    fn happy_path_persists_then_publishes_one_envelope_each() {
        let store = lobby_with_alice();
        let publisher = RecordingPublisher::default();
        let first = process_message(
            &store,
            &publisher,
            Limits::default(),
            text("lobby", "alice", "hi"),
            10,
        )
        .unwrap();
        let second = process_message(
            &store,
            &publisher,
            Limits::default(),
            text("lobby", "alice", "yo"),
            20,
        )
        .unwrap();
        assert_eq!((first.event_id, second.event_id), (1, 2));
        assert_eq!(first.sent_at, 10);
        assert_eq!(first.content["body"], "hi");

        let persisted: StoredMessage = store.get_json(&keys::message("lobby", 2)).unwrap().unwrap();
        assert_eq!(persisted, second);

        let sent = publisher.sent.borrow();
        assert_eq!(sent.len(), 2);
        for ((subject, body), expected) in sent.iter().zip([&first, &second]) {
            assert_eq!(subject, "wcc.events.rooms.lobby");
            let envelope = Envelope::parse(body).unwrap();
            assert_eq!(envelope.at, expected.sent_at);
            assert_eq!(envelope.origin, None, "no connection named, none published");
            // The sender's profile, read in the call that stored the message.
            let author = Author {
                profile: Some(serde_json::json!({"display_name": "Alice"})),
            };
            assert_eq!(
                envelope.event,
                Event::MessagePublished {
                    message: expected.clone(),
                    author: Some(author),
                }
            );
        }
    }

    /// A gateway route that does not echo (actionhero) needs the sending connection on the
    /// event; history has no use for it.
    #[test]
    fn the_sending_connection_is_on_the_published_envelope_and_not_stored() {
        let store = lobby_with_alice();
        let publisher = RecordingPublisher::default();
        let said = process_message(
            &store,
            &publisher,
            Limits::default(),
            NewMessage {
                origin: Some("gw1-7".into()),
                ..text("lobby", "alice", "hi")
            },
            10,
        )
        .unwrap();
        let sent = publisher.sent.borrow();
        let envelope = Envelope::parse(&sent[0].1).unwrap();
        assert_eq!(envelope.origin.as_deref(), Some("gw1-7"));
        let stored = store
            .get(&keys::message("lobby", said.event_id))
            .unwrap()
            .unwrap();
        assert!(!String::from_utf8(stored).unwrap().contains("gw1-7"));
    }

    #[test]
    fn non_member_is_refused_with_nothing_persisted_or_published() {
        let store = lobby_with_alice();
        let before = store.keys();
        let publisher = RecordingPublisher::default();
        let result = process_message(
            &store,
            &publisher,
            Limits::default(),
            text("lobby", "mallory", "x"),
            1,
        );
        assert_eq!(code(result), FailureCode::NotMember);
        assert_eq!(store.keys(), before);
        assert!(publisher.sent.borrow().is_empty());
    }

    #[test]
    fn unknown_room_is_refused() {
        let store = lobby_with_alice();
        let publisher = RecordingPublisher::default();
        let result = process_message(
            &store,
            &publisher,
            Limits::default(),
            text("attic", "alice", "x"),
            1,
        );
        assert_eq!(code(result), FailureCode::UnknownRoom);
        assert!(publisher.sent.borrow().is_empty());
    }

    #[test]
    fn malformed_requests_are_invalid() {
        let store = lobby_with_alice();
        let publisher = RecordingPublisher::default();
        let base = text("lobby", "alice", "x");
        let cases = [
            NewMessage {
                origin: None,
                content: "[1,2]".into(),
                ..base.clone()
            },
            NewMessage {
                origin: None,
                content: "\"text\"".into(),
                ..base.clone()
            },
            NewMessage {
                origin: None,
                content: "{not json".into(),
                ..base.clone()
            },
            NewMessage {
                origin: None,
                room: "lob/by".into(),
                ..base.clone()
            },
            NewMessage {
                origin: None,
                sender: String::new(),
                ..base.clone()
            },
            NewMessage {
                origin: None,
                event_type: String::new(),
                ..base.clone()
            },
            NewMessage {
                origin: None,
                event_type: "t".repeat(MAX_EVENT_TYPE_BYTES + 1),
                ..base.clone()
            },
        ];
        for msg in cases {
            let result = process_message(&store, &publisher, Limits::default(), msg.clone(), 1);
            assert_eq!(code(result), FailureCode::Invalid, "{msg:?}");
        }
        assert!(store.get(&keys::room_seq("lobby")).unwrap().is_none());
        assert!(publisher.sent.borrow().is_empty());
    }

    #[test]
    fn oversize_content_is_invalid_and_the_limit_is_inclusive() {
        let store = lobby_with_alice();
        let publisher = RecordingPublisher::default();
        let msg = text("lobby", "alice", "0123456789");
        let limits = Limits {
            max_message_bytes: msg.content.len(),
        };
        assert!(process_message(&store, &publisher, limits, msg.clone(), 1).is_ok());
        let smaller = Limits {
            max_message_bytes: msg.content.len() - 1,
        };
        assert_eq!(
            code(process_message(&store, &publisher, smaller, msg, 2)),
            FailureCode::Invalid
        );
        assert_eq!(publisher.sent.borrow().len(), 1);
    }

    fn announcement(room: &str, content: &str) -> Announcement {
        Announcement {
            room: room.into(),
            channel: "admin".into(),
            event_type: "channel.message".into(),
            content: content.into(),
        }
    }

    #[test]
    fn announcements_come_from_the_server_without_membership() {
        let store = lobby_with_alice();
        let publisher = RecordingPublisher::default();
        let hello = announcement("lobby", r#"{"type":"text","body":"maintenance at 5"}"#);
        let stored = announce(&store, &publisher, Limits::default(), hello, 8, || {
            "a8".into()
        })
        .unwrap();
        assert_eq!(
            (stored.id.as_str(), stored.sender.as_str(), stored.event_id),
            ("a8", ids::SERVER_USER, 1)
        );
        assert_eq!((stored.channel.as_str(), stored.sent_at), ("admin", 8));
        assert_eq!(stored.content["body"], "maintenance at 5");
        assert_eq!(
            get_message(&store, &Principal::Operator, "a8").unwrap(),
            Some(stored.clone())
        );
        let sent = publisher.sent.borrow();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].0, "wcc.events.rooms.lobby");
        assert_eq!(
            Envelope::parse(&sent[0].1).unwrap().event,
            Event::MessagePublished {
                message: stored,
                author: None
            }
        );
    }

    #[test]
    fn announcements_need_a_room_and_object_content() {
        let store = lobby_with_alice();
        let publisher = RecordingPublisher::default();
        // The id is minted before the store is asked; nothing may be stored under it.
        let no_id = || -> String { "never-stored".into() };
        let cases = [
            (announcement("attic", "{}"), FailureCode::UnknownRoom),
            (announcement("lobby", "[]"), FailureCode::Invalid),
            (announcement("lob/by", "{}"), FailureCode::Invalid),
            (
                Announcement {
                    event_type: String::new(),
                    ..announcement("lobby", "{}")
                },
                FailureCode::Invalid,
            ),
        ];
        for (refused, expected) in cases {
            let result = announce(
                &store,
                &publisher,
                Limits::default(),
                refused.clone(),
                1,
                no_id,
            );
            assert_eq!(code(result), expected, "{refused:?}");
        }
        assert!(store.get(&keys::room_seq("lobby")).unwrap().is_none());
        assert!(store.get(&keys::room_seq("attic")).unwrap().is_none());
        assert!(store
            .get(&keys::message_id("never-stored"))
            .unwrap()
            .is_none());
        assert!(publisher.sent.borrow().is_empty());
    }

    #[test]
    fn publish_failure_after_persisting_still_succeeds() {
        let store = lobby_with_alice();
        let publisher = RecordingPublisher::default();
        publisher.fail.set(true);
        let stored = process_message(
            &store,
            &publisher,
            Limits::default(),
            text("lobby", "alice", "x"),
            5,
        )
        .unwrap();
        assert_eq!(stored.event_id, 1);
        assert!(store.get(&keys::message("lobby", 1)).unwrap().is_some());
    }

    fn user_signal(user: &str, content: &str) -> UserSignal {
        UserSignal {
            sender: "alice".into(),
            user: user.into(),
            channel: "rebuttal".into(),
            kind: "webrtc.video".into(),
            content: content.into(),
        }
    }

    #[test]
    fn a_user_signal_is_a_note_to_that_users_sessions() {
        let store = lobby_with_alice();
        store.set(&keys::user("bob"), br#"{"id":"bob"}"#).unwrap();
        let publisher = RecordingPublisher::default();
        let limits = Limits::default();
        signal_user(
            &store,
            &publisher,
            limits,
            user_signal("bob", r#"{"payload":"sdp"}"#),
        )
        .unwrap();
        let sent = publisher.sent.borrow();
        assert_eq!(sent[0].0, "wcc.sessions.user.bob");
        let note = Note::parse(std::str::from_utf8(&sent[0].1).unwrap()).unwrap();
        let Note::Signal {
            sender, content, ..
        } = note
        else {
            panic!("{note:?}");
        };
        assert_eq!(
            (sender.as_str(), &content["payload"]),
            ("alice", &serde_json::json!("sdp"))
        );
    }

    #[test]
    fn user_signals_to_nobody_bad_content_or_a_banning_user_are_refused() {
        let store = lobby_with_alice();
        store.set(&keys::user("bob"), br#"{"id":"bob"}"#).unwrap();
        let publisher = RecordingPublisher::default();
        let limits = Limits::default();
        let refused = |signal| {
            signal_user(&store, &publisher, limits, signal)
                .unwrap_err()
                .code
        };
        assert_eq!(
            refused(user_signal("carol", "{}")),
            FailureCode::UnknownUser
        );
        assert_eq!(
            refused(user_signal("bob", "not json")),
            FailureCode::Invalid
        );
        store.set(&keys::ban("bob", "alice"), b"1").unwrap();
        assert_eq!(refused(user_signal("bob", "{}")), FailureCode::Banned);
        assert!(publisher.sent.borrow().is_empty());
    }

    #[test]
    fn anyone_may_signal_the_everyone_feed_but_rooms_still_need_membership() {
        let store = lobby_with_alice();
        let publisher = RecordingPublisher::default();
        let to = |room: &str| Signal {
            room: room.into(),
            sender: "mallory".into(),
            channel: "rebuttal".into(),
            kind: "talking".into(),
            content: r#"{"talking":true}"#.into(),
        };
        signal(&store, &publisher, Limits::default(), to(ids::EVERYONE), 1).unwrap();
        assert_eq!(publisher.sent.borrow()[0].0, "wcc.events.rooms.everyone");
        let refused = signal(&store, &publisher, Limits::default(), to("lobby"), 1);
        assert_eq!(refused.unwrap_err().code, FailureCode::NotMember);
    }
}
